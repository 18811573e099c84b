//! Memory and CPU accounting for INFO: a counting global allocator, RSS, rusage.
//!
//! Each thread accumulates its allocation delta locally and folds it into the
//! shared counter once it passes `FLUSH_BYTES`, so worker threads do not fight
//! over one cache line on every allocation. `used_memory` is exact to within
//! `FLUSH_BYTES` per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

pub struct CountingAlloc;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
const FLUSH_BYTES: isize = 16 * 1024;

thread_local! {
    static LOCAL_DELTA: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn account(delta: isize) {
    let flushed = LOCAL_DELTA.try_with(|c| {
        let v = c.get() + delta;
        if v.abs() >= FLUSH_BYTES {
            c.set(0);
            v
        } else {
            c.set(v);
            0
        }
    });
    match flushed {
        Ok(0) => {}
        Ok(v) => {
            ALLOCATED.fetch_add(v, Ordering::Relaxed);
        }
        // Thread-local storage already torn down (thread exit): count directly.
        Err(_) => {
            ALLOCATED.fetch_add(delta, Ordering::Relaxed);
        }
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        account(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Bytes currently allocated by the process (INFO used_memory).
/// Folds this thread's pending delta into the shared count (a connection
/// ends, INFO reads memory).
pub fn flush_thread_delta() {
    if let Ok(v) = LOCAL_DELTA.try_with(|c| c.replace(0)) {
        if v != 0 {
            ALLOCATED.fetch_add(v, Ordering::Relaxed);
        }
    }
}

pub fn allocated() -> usize {
    flush_thread_delta();
    let now = ALLOCATED.load(Ordering::Relaxed).max(0) as usize;
    PEAK.fetch_max(now, Ordering::Relaxed);
    now
}

pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed).max(allocated())
}

/// Resident set size from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// The machine's memory (INFO total_system_memory), from /proc/meminfo's
/// MemTotal; 0 where unavailable.
pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// (user, system) CPU seconds of the process, from /proc/self/stat.
pub fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}

/// Bytes of idle clients' buffers freed since the allocator last gave free
/// memory back to the OS.
static IDLE_FREED: AtomicUsize = AtomicUsize::new(0);
/// Past this much freed by idle clients, free pages go back to the OS.
const TRIM_AFTER: usize = 4 << 20;

/// An idle client dropped its buffers (`conn`).
pub fn note_idle_freed(bytes: usize) {
    IDLE_FREED.fetch_add(bytes, Ordering::Relaxed);
}

/// Whether idle clients have freed enough for a trim (and resets the count).
pub fn idle_trim_due() -> bool {
    IDLE_FREED.load(Ordering::Relaxed) >= TRIM_AFTER && IDLE_FREED.swap(0, Ordering::Relaxed) > 0
}

/// Gives free heap pages back to the OS (glibc keeps freed chunks
/// resident; jemalloc, Redis's allocator, purges them by itself). Blocking:
/// run it off the connection threads.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
