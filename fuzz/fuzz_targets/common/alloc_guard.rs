//! An allocator that aborts (a libFuzzer crash, input saved) when one
//! allocation is out of proportion to the input: 100 bytes per input byte
//! plus a fixed allowance per target (the request parser preallocates room
//! for up to 1024 arguments, 32 KiB, as Redis preallocates its argv). LZF, the densest encoding any decoder here meets, expands at
//! most 88:1 (a 3-byte back reference yields 264 bytes), so anything larger
//! was sized from a length the input claimed rather than from data it holds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Guard;

#[global_allocator]
static GUARD: Guard = Guard;

static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Sets the limit for the input about to be processed.
pub fn arm(input_len: usize, allowance: usize) {
    LIMIT.store(input_len.saturating_mul(100) + allowance, Ordering::Relaxed);
}

fn check(size: usize) {
    if size > LIMIT.load(Ordering::Relaxed) {
        LIMIT.store(usize::MAX, Ordering::Relaxed);
        let _ = std::io::stderr()
            .write_all(b"alloc_guard: one allocation out of proportion to the input\n");
        std::process::abort();
    }
}

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        System.realloc(ptr, layout, new_size)
    }
}
