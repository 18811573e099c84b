//! Redis Cluster key slots: CRC16/XMODEM of the key, or of its `{hash tag}`.

pub const SLOTS: u16 = 16384;

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16: [u16; 256] = crc16_table();

/// Slicing-by-8 tables: `T[k][i]` is the CRC contribution of byte `i`
/// followed by `k` zero bytes, so eight bytes fold with independent lookups.
const fn slice_tables() -> [[u16; 256]; 8] {
    let mut t = [[0u16; 256]; 8];
    t[0] = crc16_table();
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static SLICES: [[u16; 256]; 8] = slice_tables();

/// CRC16/XMODEM, the one Redis Cluster uses for key slots.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = crc ^ u16::from_be_bytes([c[0], c[1]]);
        crc = SLICES[7][(x >> 8) as usize]
            ^ SLICES[6][(x & 0xff) as usize]
            ^ SLICES[5][c[2] as usize]
            ^ SLICES[4][c[3] as usize]
            ^ SLICES[3][c[4] as usize]
            ^ SLICES[2][c[5] as usize]
            ^ SLICES[1][c[6] as usize]
            ^ SLICES[0][c[7] as usize];
    }
    chunks.remainder().iter().fold(crc, |crc, &b| {
        (crc << 8) ^ CRC16[((crc >> 8) as u8 ^ b) as usize]
    })
}

/// The slot of `key`, honouring `{tag}` exactly as `keyHashSlot` does: the first
/// `{` and the first `}` after it, and only when the tag is non-empty.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(0) | None => key,
            Some(len) => &key[open + 1..open + 1 + len],
        },
        None => key,
    };
    crc16(hashed) & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc16_bytewise(data: &[u8]) -> u16 {
        data.iter().fold(0u16, |crc, &b| {
            (crc << 8) ^ CRC16[((crc >> 8) as u8 ^ b) as usize]
        })
    }

    #[test]
    fn sliced_crc_matches_bytewise() {
        let mut x = 0x1234_5678_u64;
        for len in 0..100 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_eq!(crc16(&data), crc16_bytewise(&data), "len {len}");
        }
    }

    #[test]
    fn known_slots() {
        // Values from `CLUSTER KEYSLOT` on redis-server.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }
}
