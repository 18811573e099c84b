//! Regression cases: every RESTORE payload of Redis 7.0.15's
//! `tests/integration/corrupt-dump.tcl` (Debian's, with its security
//! patches), with the reason we refuse it — Redis's rdbReportCorruptRDB text
//! where Redis checks the same thing — or None for the one it accepts.
//! Their CRCs are not checked (the suite runs most of them with DEBUG
//! SET-SKIP-CHECKSUM-VALIDATION 1). Each is refused, never a panic.

use super::rdb::{decode_value, payload_body, EMPTY_KEY};

/// (test name, payload in hex, reason refused or None if accepted).
const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "hash with valid zip list header, invalid entry len",
        "0d1b1b00000016000000040000026100040262000414630004026400ff0900d910549215f55f52",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "invalid zlbytes header",
        "0d1b2500000016000000040000026100040262000402630004026400ff0900b7f76e9f434314c6",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "valid zipped hash header, dup records",
        "0d1b1b00000016000000040000026100040262000402610004026400ff0900a1983678cc8e932e",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "quicklist big ziplist prev len",
        "0e0113130000000e0000000200000261000e026200ff0900499730b20da1edaa",
        Some("Ziplist integrity check failed."),
    ),
    (
        "quicklist small ziplist prev len",
        "0e0113130000000e00000002000002610002026200ff0900c77103970775b063",
        Some("Ziplist integrity check failed."),
    ),
    (
        "quicklist ziplist wrong count",
        "0e0113130000000e00000003000002610004026200ff09004de20a2f0825df91",
        Some("Ziplist integrity check failed."),
    ),
    (
        "#3080 - quicklist",
        "0e01800000001041414141414141410200008041414141070003c71def5468ccf3",
        Some("Ziplist integrity check failed."),
    ),
    (
        "quicklist with empty ziplist",
        "0e010b0b0000000a0000000000ff0900c26937833c7ffe6f",
        Some(EMPTY_KEY),
    ),
    (
        "quicklist encoded_len is 0",
        "120101000a008fc6c0571c0ab33c",
        Some("Quicklist node of zero length"),
    ),
    (
        "quicklist listpack entry start with EOF",
        "1201020b0b0000000100816102ffff0a007ed8de5b0dd770b8",
        Some("Listpack integrity check failed."),
    ),
    (
        "#3080 - ziplist",
        "0a8000000010414141414141414102000080414141410700395b49e0c1c6dd76",
        Some("List ziplist integrity check failed."),
    ),
    (
        "listpack invalid size header",
        "0f01100000000000000002000000000000000240555f0000000f00010100010201883100000000000000098832000000000000000900010001000100010202883100000000000000098861000000000000000988320000000000000009886200000000000000090801ff0a010000090045910a872fa5f92e",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "listpack too long entry len",
        "0f0110000000000000000200000000000000024055550000000f00010100010201883100000000000000098832000000000000000900010001000100010202893100000000000000098861000000000000000988320000000000000009886200000000000000090801ff0a01000009004063c93703a2e568",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "listpack very long entry len",
        "0f0110000000000000000200000000000000024055550000000f000101000102018831000000000000000988320000000000000009000100010001000102028831000000000000000988610000000000000009883200000000000000099c6200000000000000090801ff0a0100000900636f428e7cb5a29d",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "listpack too long entry prev len",
        "0f0110000000000000000200000000000000024055550000000f00010100150201883100000000000000098832000000000000000900010001000100010202883100000000000000098861000000000000000988320000000000000009886200000000000000090801ff0a010000090006fb44240a8e75ea",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "stream with duplicate consumers",
        "0f0000000001076d7967726f757000000002046e616d652a4caa9a7d01000000046e616d652b4caa9a7d010000000a00cced8ca762eec7c8",
        Some("Duplicate stream consumer detected."),
    ),
    (
        "hash ziplist with duplicate records",
        "0d3d3d0000003a000000141300f502f502f202535f3104f302f302f702f702f802025f3704f102f102f602025f3504f402025f3304fa02025f3904f902f9ff0900b548de6231d0e563",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "hash listpack with duplicate records",
        "101717000000040082610003826200038261000382640003ff0a00c0cfa687e5a7c5be",
        Some("Hash listpack integrity check failed."),
    ),
    (
        "hash listpack with duplicate records - convert",
        "101717000000040082610003826200038261000382640003ff0a00c0cfa687e5a7c5be",
        Some("Hash listpack integrity check failed."),
    ),
    (
        "hash ziplist uneven record count",
        "0d1b1b00000016000000040000026100040262000402610004026400ff0900a1983678cc8e932e",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "hash duplicate records",
        "040201610162016101640900c69cabbc626b0c06",
        Some("Duplicate hash fields detected"),
    ),
    (
        "hash empty zipmap",
        "090200ff0900c0f1b8674c16ace3",
        Some("Zipmap integrity check failed."),
    ),
    (
        "fuzzer findings - NPD in streamIteratorGetID",
        "0f011000000173bd68487100000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000105010201000101010101825f31030501020100010201010102014801ff038100000173bd6848710201076d7967726f75708100000173bd684871000100000173bd6848710000000000000000724868bd73010000010105416c696365724868bd730100000100000173bd6848710000000000000000090080cdb0d51aceff10",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - listpack NPD on invalid stream",
        "0f011000000173dcb66bf100000000000000004042420000001800030100010201846974656d058576616c756506000102010001000101010001050102011f01000101016d5f31030501020129010001010102010501ff038100000173dcb66c1a0001076d7967726f75708100000173dcb66bf1000100000173dcb66bf100000000000000004b6cb6dc73010000010105416c6963653d6cb6dc730100000100000173dcb66bf100000000000000000900c77d1cd704ffe69d",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - NPD in quicklistIndex",
        "0e01131300000010000000031200f302025f3104f1ff0900c94b31fe61c096fe",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - encoded entry header reach outside the allocation",
        "0d191900000016000000060000f102f102f202025f31049902f3ff0900c5b810c08af916df",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - invalid ziplist encoding",
        "0e021b1b00000016000000050000025f3904f902865f3704f702025f35ff191900000016000000050000f502025f3304f302025f3104f1ff09000cfc992c23451560",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - hash crash",
        "0d191900000016000000060000f102f102f202025f3104f302f3ff090038b810c08af916df",
        None,
    ),
    (
        "fuzzer findings - uneven entry count in hash",
        "0d3d3d00000038000000140000f202025f31041c02f702f102f102f502f502f402025f3304f602025f3504f802025f3704f902f902f302f302fa02025f39ff090073b768c897248e88",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - invalid read in lzf_decompress",
        "0203025f31c002c3000900e6dc7644ffeb3dfe",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - leak in rdbloading due to dup entry in set",
        "020a025f39c006025f31c000c004025f35c002c008025f31025f3309007a5afb903ae93cbe",
        Some("Duplicate set members detected"),
    ),
    (
        "fuzzer findings - empty intset",
        "02c0c006025f39c002025f33c000025f31c004c008025f37025f350900c5d46dbaad14b7e7",
        Some(EMPTY_KEY),
    ),
    (
        "fuzzer findings - zset ziplist entry lensize is 0",
        "0c3d3d0000003a000000140000f102f102025f3104f202f302f302025f3304f402ee02f502025f3504f602f702f702025f3704f802f902f902025f3904faff0900aef9772a472433f6",
        Some("Zset ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - valgrind ziplist prevlen reaches outside the ziplist",
        "0e021b1b00000016000000050000025f3904f902025f3704f702025f35ff191900000016000000050000f502025f3304f395025f3104f1ff09000cfc992c23451560",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - valgrind - bad rdbLoadDoubleValue",
        "030111110000000a000000010000d0071ae902ff09001a06073241283a46",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - valgrind ziplist prev too big",
        "0e01131300000010000000030000f302025f31c1f1ff0900c94b31fe61c096fe",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - lzf decompression fails, avoid valgrind invalid read",
        "0f021000000173ddaa2ab90000000000000000c3404b405c185c0000002400050100010201846974656d058576616c756506401000002001000120030005201c4007050101825f3103800d4000000260194027401900336019402902010104201900ff1000000173ddaa2abc0000000000000000c3404d405e185e0000002400050100010201846974656d058576616c756506401000002001060101825f350305201e170b0301010601400b0001600d02825f376019800000086019802702825f39201900ff0a8100000173ddaa2abe0000090021857743717b1788",
        Some("Stream short read or bad length encoding"),
    ),
    (
        "fuzzer findings - stream bad lp_count",
        "0f011000000173dedf7d9b00000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000156010201220100010101825f3103050102012c010001010102010501ff038100000173dedf7dc70001076d7967726f75708100000173dedf7d9b000100000173dedf7d9b0000000000000000f97ddfde73010000010105416c696365eb7ddfde730100000100000173dedf7d9b00000000000000000900b2a8a75f1b6172d5",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - stream bad lp_count - unsanitized",
        "0f011000000173dedf7d9b00000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000156010201220100010101825f3103050102012c010001010102010501ff038100000173dedf7dc70001076d7967726f75708100000173dedf7d9b000100000173dedf7d9b0000000000000000f97ddfde73010000010105416c696365eb7ddfde730100000100000173dedf7d9b00000000000000000900b2a8a75f1b6172d5",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - stream integrity check issue",
        "0f0210000001752da290670000000000000000c3404f405c185c0000002400050100014a01846974656d058576616c756506401000002001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900ff10000001752da290670000000000000005c34056406018600000002400050100010201846974656d058576616c756506401000002001060101825f350305201e400b0301010601800b0002200b02825f376019030101dffb20050008601a200c00fc200502825f39201b00ff0a81000001752da29068010009001d6fc0698adef792",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - infinite loop",
        "0f0110000001753aa6d09300000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000105010201000101010101825f3103fd01020100010201010102010501ff0381000001753aa6d0930201076d7967726f757081000001753aa6d0930001000001753aa6d093000000000000000094d0a63a75010000010105416c69636594d0a63a7501000001000001753aa6d09300000000000000000900c409ad697eeea62f",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - hash ziplist too long entry len",
        "0d3d3d0000003a000000141300f502f502f202535f3104f302f302f702f702f802025f3704f102f102f602025f3504f402025f3304fa02025f3904f902f9ff0900b548de6231d0e563",
        Some("Hash ziplist integrity check failed."),
    ),
    (
        "oom in rdbGenericLoadStringObject",
        "0a817fffffffffffffff130000000e00000002000002610004026200ff09005704e5cdd4376c57",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - OOM in dictExpand",
        "0281025f31c000c0020900cd842cb7e8a44957",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - zset ziplist invalid tail offset",
        "0c191900000002000000060000f102f102025f3104f202f302f3ff09004d727b97cd9a70c1",
        Some("Zset ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - negative reply length",
        "0f011000000175cfa116a700000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000105010201000101010101145f31030501020100010201010102010501ff038100000175cfa116a70201076d7967726f75708100000175cfa116a7010100000175cfa116a70000000000000001a716a1cf75010000010105416c696365a716a1cf750100000100000175cfa116a7000000000000000109001b4252b8dd5ce54e",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - valgrind negative malloc",
        "0e0181d6d60000000a00000001000040c86f2f36e2dfe32e26648b87d17abdffefef6365f6f88c4eec96895688f83d965a32bdd136d802e66637cb3434c452a72ad56f2f7eeea294d9eba909383be1a960b64e09441f7024aa47a86e30e113494ea192c46cf03583d94fd99c0a0d7ae7b161f5c12ddcc30e87a6801518ba7f72dd147546440bca9c8f1c3cd7da0662187e151724ab452127c2bcbb866ed8bd8e50e0e088a49b9d152a98ff5e786c81fca8c9c8e661c8d14a7f81d6a61aad4cc1a21c9068152a8a36c058c3cca65419120feb46ff6ee3a792f8ff0900d071f79ff76ad62e",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - valgrind invalid read",
        "050a025f390000000000002240c0080000000000002040025f370000000000001c40c0060000000000001840025f330000000000001440c0040000000000001040025f330000000000000840c0020000000000000040025f31000000000000f03fc000000000000000000009003c66d714a9da3c69",
        Some("Duplicate zset fields detected"),
    ),
    (
        "fuzzer findings - empty hash ziplist",
        "04c0010900f68ab67a8587724d",
        Some(EMPTY_KEY),
    ),
    (
        "fuzzer findings - stream with no records",
        "0f0110000001784d55680900000000000000004042420000001800020101010201846974656d058576616c756506000102010001000101010001050103013e0100010101825f31030501020150010001010102010523ff0281000001784d5568590001076d7967726f757081000001784d5568470001000001784d55684700000000000000009f68554d78010000010105416c6963658568554d7801000001000001784d55684700000000000000000900f1c0727039401ea9",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - quicklist ziplist tail followed by extra data which start with 0xff",
        "0e0111110000000a000000010000f6ffb06c9cff09009c3747494dde94f5",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - dict init to huge size",
        "0281c000025f31c0020900b21be5172e15f46c",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - huge string",
        "0081010900f62bb67a8587724d",
        Some("Unexpected EOF reading RDB file"),
    ),
    (
        "fuzzer findings - stream PEL without consumer",
        "0f01100000017b08f0b2340000000000000000c33b404219420000001800020101010201846974656d058576616c7565060020100000200100012003020501032005400004825f31030560198032020501ff02810000017b08f0b2340201076d7967726f7570810000017b08f0b23401010000017b08f0b234000000000000000135b2f0087b010000010113416c69636535b2f0087b010000010000017b08f0b23400000000000000010900282fe0c504bba731",
        Some("Stream CG PEL entry without consumer"),
    ),
    (
        "fuzzer findings - stream listpack valgrind issue",
        "0f01100000017b095e94ff00000000000000004042420000001800020101010201846974656d058576616c75650600010201000100010101000105010301250100010101825f3103050102013201000101010201f001ff02810000017b095e95310001076d7967726f7570810000017b095e952400010000017b095e952400000000000000005c955e097b010000010105416c6963654b955e097b010000010000017b095e952400000000000000000900192994df76f81ac6",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - stream with bad lpFirst",
        "0f01100000017b0e52d2ec0000000000000000404242000000180002f701010201846974656d058576616c75650600010201000100010101000105010301010100010101825f31030501020101010101010102010501ff02810000017b0e52d2ed0101076d7967726f7570810000017b0e52d2ed00010000017b0e52d2ed0000000000000000edd2520e7b010000010105416c696365edd2520e7b010000010000017b0e52d2ed00000000000000000900ac05c9975d4580b3",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - stream with non-integer entry id",
        "0f03100000017b1334c3b20000000000000000c3404f405c185c0000002400050100010201846974656d058576616c756506401000802001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900ff100000017b1334c3b20000000000000005c34056406118610000002400050100010201846974656d058576616c756506401000002001060101825f350305201e400b0301010601400b030101dffb200502825f37601a200e00fc20050008c01b00fd200c02825f39201b00ff100000017b1334c3b30000000000000003c33d404a184a0000001500020100010201846974656d058576616c75650640100000200140000005600702dffd02c02309010186756e6971756507a02d020801ff0c810000017b1334c3b4000009009dbdd5b933c4c5ff",
        Some("Stream listpack integrity check failed."),
    ),
    (
        "fuzzer findings - empty quicklist",
        "0ec02b150000000a000000010000e06258eadf22000000ff0900df35d267dc0e89ab",
        Some(EMPTY_KEY),
    ),
    (
        "fuzzer findings - empty zset",
        "05c0010900f68ab67a8587724d",
        Some(EMPTY_KEY),
    ),
    (
        "fuzzer findings - hash with len of 0",
        "04c0210900f68ab67a8587724d",
        Some(EMPTY_KEY),
    ),
    (
        "fuzzer findings - hash listpack first element too long entry len",
        "1015150000000600f00100010101825f310302010201ff0a0094210afa06529f44",
        Some("Hash listpack integrity check failed."),
    ),
    (
        "fuzzer findings - stream double free listpack when insert dup node to rax returns 0",
        "0f03100000017b605a23790000000000000000c3404f405c185c0000002400050100010201846974656d058576616c756506401000002001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900ff100000017b605a23790000000000000005c34051405e185e0000002400050100010201846974656d058576616c756506401000002001060101825f350305201e400b0301010601800b0002200b02825f37a0190003200d0008a0190004200b02825f39201900ff100000017b605a23790000000000000000c33b404918490000001500020100010201846974656d058576616c7565064010000020014000000520074009c02209010186756e6971756507a02c020801ff0c810000017b605a237a01000a009c8f1ebf2e055909",
        Some("Listpack re-added with existing key"),
    ),
    (
        "fuzzer findings - gcc asan reports false leak on assert",
        "120102131300000010000000030000f3fe025f3104f1ff0a00198d3d74859429bd",
        Some("Listpack integrity check failed."),
    ),
    (
        "fuzzer findings - lpFind invalid access",
        "1039390000001400060106010301825f33030701825f370300010001040104010901825f39030501825f3503080108010101825f31030201f001ff0a0029d7e452797a9582",
        Some("Hash listpack integrity check failed."),
    ),
    (
        "fuzzer findings - invalid access in ziplist tail prevlen decoding",
        "0e021b1b00000016000000050000025f3904f902025f3704f702025f35ff191900000016000000050000f502025f3304f302025f31fef1ff0a006b43322fbb290abe",
        Some("Ziplist integrity check failed."),
    ),
    (
        "fuzzer findings - zset zslInsert with a NAN score",
        "050a025f390000000000002240c0080000000000002040025f370000000000001c40c0060000000000001840025f350000000000001440c0040000000000001040025f330000000000000840c0020000000000000040025f31000000000055f07fc00000000000000000000a00ec9486d8fd5c5fd8",
        Some("Zset with NAN score detected"),
    ),
    (
        "fuzzer findings - streamLastValidID panic",
        "13c010000001802048a0330000000000000000c3404f405c185c0000002400050100010201846974656d058576616c756506401000002001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f336019402f02010104201900ff10000001802048a0340000000000000001c34051405e185e0000002400050100010201846974656d058576616c756506401000002001060101825f350305201e400b0301010601800b0002200b02825f37a0190003200d0008a0190004200b02825f39201900ff10000001802048a0340000000000000006c33d404a184a0000001500020100010201846974656d058576616c75650640100000200140000005600702dffa02c02309010186756e6971756507a02d020801ff0c81000001802048a0350081000001802048a0330000000c000a00348b0e5b42cdd608",
        Some("Stream length inconsistent with rax entries"),
    ),
    (
        "fuzzer findings - valgrind fishy value warning",
        "13011000000181cc07dcf200000000000000004042420000001800020101010201846974656d058576616c756506000102010001000101010001050103012c0100010101825f3103050102013c010001010102010501ff02d000000181cc07dd2e008100000181cc07dcf2008100000181cc07dd1e000301076d7967726f75708100000181cc07dd1e00020100000181cc07dd1e000000000000000071dd07cc81010000010105416c69636558dd07cc810100000100000181cc07dd1e00000000000000000a002fb0d1150a97876b",
        Some("Stream length or last ID inconsistent with its entries"),
    ),
    (
        "zipmap - 5 bytes length encoding for a small field",
        "091101fe040000000100ff00040076616c31ff0900f9d5a4f77d003f1b",
        Some("Zipmap integrity check failed."),
    ),
    (
        "zipmap - 5 bytes length encoding for a small value",
        "090e01016bfe040000000076616c31ff0900d0f9e41de4fb114c",
        Some("Zipmap integrity check failed."),
    ),
    (
        "zipmap - 5 bytes length encoding and a huge field",
        "09411502046b657931040076616c31fe04000000fefffffffd0042424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242424242ff0900542f0aca4e5c499f",
        Some("Zipmap integrity check failed."),
    ),
    (
        "stream - duplicated consumer PEL entry",
        "1501100000019b0d56a9b70000000000000000c339404215420000001100020100010101866669656c6431070001400f0a00018676616c7565310704200b02cdd902e00122013207801a0432070601ff02810000019b0d56b79000810000019b0d56a9b70000000201076d7967726f7570810000019b0d56b7900002020000019b0d56a9b7000000000000000080d9560d9b010000010000019b0d56b790000000000000000080d9560d9b010000010109636f6e73756d65723180d9560d9b01000080d9560d9b010000020000019b0d56a9b700000000000000000000019b0d56a9b700000000000000000c00000000000000000009004be09930674de587",
        Some("Stream consumer PEL entry already has a consumer assigned"),
    ),
    (
        "stream with NACK shared between two consumers",
        "0f01100000000000000001000000000000000025250000000a00010100010101856669656c640600010201000100018576616c7565060401ff01010001076d7967726f7570010001000000000000000100000000000000004a79898f9f010000010209636f6e73756d6572414a79898f9f010000010000000000000001000000000000000009636f6e73756d6572425479898f9f01000001000000000000000100000000000000000900f6ea7b6cb8b8d8b4",
        Some("Stream consumer PEL entry already has a consumer assigned"),
    ),
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn corrupt_dump_payloads_are_refused_with_redis_reasons() {
    for (name, hex, want) in CASES {
        let payload = unhex(hex);
        let body = payload_body(&payload, true).expect(name);
        let got = decode_value(body).err().map(|e| e.0);
        assert_eq!(got.as_deref(), *want, "{name}");
    }
}

/// Every cut and every single-byte change of those payloads decodes or is
/// refused: never a panic (the decoders index only what they checked).
#[test]
fn mutated_payloads_never_panic() {
    for (_, hex, _) in CASES {
        let payload = unhex(hex);
        let Some(body) = payload_body(&payload, true) else {
            continue;
        };
        for cut in 0..body.len() {
            let _ = decode_value(&body[..cut]);
        }
        for i in 0..body.len().min(600) {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = body.to_vec();
                bad[i] ^= flip;
                let _ = decode_value(&bad);
            }
        }
    }
}

/// Redis's own test RDB files (tests/assets of Redis 7.0.15).
mod files {
    use super::super::rdb::{apply_hash_limits, decode, decode_detailed, Loaded};
    use crate::keyspace::Value;
    use crate::types::hash::Limits;

    fn value<'a>(loaded: &'a Loaded, key: &str) -> &'a Value {
        loaded
            .dbs
            .iter()
            .flat_map(|(_, items)| items)
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v)
            .expect(key)
    }

    /// Nine empty collections of every encoding: all skipped, and counted.
    #[test]
    fn empty_keys_are_skipped() {
        let loaded = decode(include_bytes!("testdata/corrupt_empty_keys.rdb")).expect("loads");
        assert!(loaded.dbs.iter().all(|(_, items)| items.is_empty()));
        assert_eq!(loaded.empty_keys_skipped, 9);
    }

    /// A Redis 2.x zipmap hash loads as a listpack, a table past the limits.
    #[test]
    fn zipmap_hash_loads_and_follows_limits() {
        let mut loaded = decode(include_bytes!("testdata/hash-zipmap.rdb")).expect("loads");
        let Value::Hash(h) = value(&loaded, "hash") else {
            panic!("not a hash")
        };
        assert_eq!((h.len(), h.encoding_name()), (2, "listpack"));
        assert_eq!(h.get(b"f2"), Some(&b"v2"[..]));
        let small = Limits {
            max_entries: 1,
            max_value: 64,
        };
        apply_hash_limits(&mut loaded, small);
        let Value::Hash(h) = value(&loaded, "hash") else {
            panic!("not a hash")
        };
        assert_eq!((h.len(), h.encoding_name()), (2, "hashtable"));
    }

    /// Every old encoding (zipmap-era ziplists, intsets, v1 zsets, ...).
    #[test]
    fn old_encodings_load() {
        let loaded = decode(include_bytes!("testdata/encodings.rdb")).expect("loads");
        let Value::Zset(z) = value(&loaded, "zset") else {
            panic!("not a zset")
        };
        assert_eq!(z.score(b"bbbb"), Some(5000000000.0));
        let Value::Set(s) = value(&loaded, "set_zipped_3") else {
            panic!("not a set")
        };
        assert_eq!(s.len(), 6);
        let Value::List(l) = value(&loaded, "list") else {
            panic!("not a list")
        };
        assert_eq!(l.len(), 24);
    }

    /// A corrupt ziplist: refused, with Redis's report naming the key.
    #[test]
    fn corrupt_ziplist_file_is_reported() {
        let failure =
            decode_detailed(include_bytes!("testdata/corrupt_ziplist.rdb")).expect_err("corrupt");
        let report = failure.report("corrupt_ziplist.rdb");
        let checks = report
            .iter()
            .filter(|l| l.contains("integrity check failed"))
            .count();
        assert_eq!(checks, 2, "{report:?}");
        assert!(
            report.iter().any(|l| l.contains("Reading key")),
            "{report:?}"
        );
    }
}
