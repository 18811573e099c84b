//! Redis's CRC-64 (Jones polynomial, reflected, init 0, no final xor): the
//! RDB trailer and the DUMP payload checksum of real Redis (src/crc64.c).

/// The Jones polynomial 0xad93d23594c935a9, bit-reversed for the reflected form.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const fn make_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u64; 256] = make_table();

/// Continues `crc` over `data` (start with 0), as Redis's `crc64(crc, s, l)`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_check_value() {
        // The value Redis's own crc64 test asserts (src/crc64.c).
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn incremental_equals_whole() {
        let data = b"This is a test of the emergency broadcast system.";
        let whole = crc64(0, data);
        let part = crc64(crc64(0, &data[..10]), &data[10..]);
        assert_eq!(whole, part);
    }
}
