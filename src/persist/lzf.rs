//! LZF decompression (liblzf's `lzf_decompress`, as Redis uses it for RDB
//! strings and DUMP payloads): one decoder for RDB files, a replica's full
//! sync and RESTORE.
//!
//! The uncompressed length comes from the input, so it is checked against
//! what the compressed bytes can produce before anything is allocated: an
//! LZF instruction of 3 bytes (a long back reference) yields at most 264
//! bytes, so `ulen` can be at most 88 times `clen`. A larger claim is corrupt
//! (Redis: `-ERR Bad data format`), and the output is never sized from a
//! claim the data could not back.

/// Most bytes one compressed byte can expand to (264 from a 3-byte instruction).
pub const MAX_EXPANSION: usize = 88;

/// Decompresses `input` into exactly `ulen` bytes; `None` if the data is
/// corrupt or does not produce exactly that many.
pub fn decompress(input: &[u8], ulen: usize) -> Option<Vec<u8>> {
    if ulen > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    // Bounded above: the allocation cannot fail for want of address space on
    // an input the size of a request; `try_reserve` turns a refusal into an
    // error all the same.
    out.try_reserve_exact(ulen).ok()?;
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1)?;
            if out.len() + run.len() > ulen {
                return None;
            }
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            if out.len() + len + 2 > ulen {
                return None;
            }
            // Byte by byte: the copy may overlap what it produces.
            for k in 0..len + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == ulen).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_back_references() {
        // "a" then a back reference of 8: nine a's.
        let compressed = [0x00, b'a', 0xc0, 0x00];
        assert_eq!(decompress(&compressed, 9).unwrap(), b"aaaaaaaaa");
        assert!(decompress(&compressed, 10).is_none());
        assert!(decompress(&compressed, 8).is_none());
        assert!(
            decompress(&[0x20, 0x05], 3).is_none(),
            "reference before the start"
        );
        // "abc" then a back reference of 3 at distance 3.
        assert_eq!(
            decompress(&[0x02, b'a', b'b', b'c', 0x20, 0x02], 6).unwrap(),
            b"abcabc"
        );
    }

    #[test]
    fn densest_input_reaches_the_bound_and_no_further() {
        // One literal, then long back references of 264 bytes each (distance 1).
        let refs = 100;
        let mut input = vec![0x00, b'z'];
        for _ in 0..refs {
            input.extend_from_slice(&[0xe0, 0xff, 0x00]);
        }
        let ulen = 1 + 264 * refs;
        assert!(ulen <= input.len() * MAX_EXPANSION);
        assert_eq!(decompress(&input, ulen).unwrap().len(), ulen);
        // A claim past what any input of this size can produce is refused
        // before allocating (26 GB from 200 MB was the attack).
        assert!(decompress(&input, input.len() * MAX_EXPANSION + 1).is_none());
        assert!(decompress(&[0u8; 16], usize::MAX).is_none());
    }
}
