//! RDB files (snapshots, a replica's full sync, an AOF's preamble): any bytes
//! load or fail with an error, never panic or allocate past the input.
#![no_main]

use cinnabar::persist::rdb::decode;
use libfuzzer_sys::fuzz_target;

#[path = "common/alloc_guard.rs"]
mod alloc_guard;

fuzz_target!(|data: &[u8]| {
    alloc_guard::arm(data.len(), 16 << 10);
    let _ = decode(data);
});
