//! Request framing: whatever bytes a client sends, in whatever pieces, the
//! parser returns commands, asks for more, or fails with a protocol error —
//! it never panics, loops or allocates far beyond what it was given.
#![no_main]

use bytes::BytesMut;
use cinnabar::conn::protocol::{peek_name_and_first_arg, split_args, Parsed, RequestParser};
use libfuzzer_sys::fuzz_target;

#[path = "common/alloc_guard.rs"]
mod alloc_guard;

fuzz_target!(|data: &[u8]| {
    alloc_guard::arm(data.len(), 64 << 10);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // The low bits pick the read size the bytes arrive in; one bit limits
    // lengths as for a client that has not authenticated.
    let chunk = 1 + (mode & 0x3f) as usize;
    let mut parser = RequestParser::new(1 << 20);
    parser.unauthenticated = mode & 0x40 != 0;
    let mut buf = BytesMut::new();
    let mut between_requests = true;
    'feed: for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            // The pipeline's look-ahead (prefetch) reads whatever follows
            // a request: it must never panic either, and what it finds is
            // what the parser then frames.
            // (Only between requests, where the server peeks.)
            let peeked = peek_name_and_first_arg(&buf).map(|(n, k)| (n.to_vec(), k.to_vec()));
            let peeked = peeked.filter(|_| between_requests);
            match parser.next(&mut buf) {
                Ok(Some(Parsed::Command(args))) => {
                    assert!(!args.is_empty());
                    assert!(buf.len() < before, "a command consumed no input");
                    if let Some((name, key)) = peeked {
                        assert_eq!((&args[0][..], &args[1][..]), (&name[..], &key[..]));
                    }
                    between_requests = true;
                }
                Ok(Some(Parsed::Empty)) => {
                    assert!(buf.len() < before, "an empty request consumed no input");
                    between_requests = true;
                }
                Ok(None) => {
                    between_requests = false;
                    break;
                }
                Err(_) => break 'feed,
            }
        }
        // A partial request is held, never multiplied.
        assert!(buf.capacity() <= (2 << 20) + 4 * rest.len());
    }
    // The inline splitter is also the config-file and manifest splitter.
    if let Some(words) = split_args(rest) {
        assert!(words.len() <= rest.len());
    }
});
