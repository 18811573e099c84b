//! RESTORE payloads: Redis's format and Cinnabar's legacy one. The input
//! is a payload without its trailing checksum; the target tries it framed by
//! each format's checksum, so mutations reach the decoders instead of
//! stopping at the checksum test.
#![no_main]

use cinnabar::family::dump::{deserialize, restored_value, seal_for_fuzzing};
use cinnabar::types::hash::Limits;
use libfuzzer_sys::fuzz_target;

#[path = "common/alloc_guard.rs"]
mod alloc_guard;

fuzz_target!(|data: &[u8]| {
    alloc_guard::arm(data.len(), 16 << 10);
    let _ = restored_value(data, Limits::default());
    for framed in seal_for_fuzzing(data) {
        if let Ok(value) = restored_value(&framed, Limits::default()) {
            // What was accepted must serialize and load back.
            let again = cinnabar::family::dump::serialize(&value);
            deserialize(&again, Limits::default()).expect("a DUMP of a restored value loads");
        }
    }
});
