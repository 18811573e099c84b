//! The crash report: on a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
//! SIGABRT) the server writes a bug report with a stack trace to its log,
//! as Redis's sigsegvHandler does, then dies of the same signal.
//!
//! The report allocates (formatting, the backtrace): not async-signal-safe,
//! like Redis's own. The process is going down anyway; what matters is that
//! most crashes leave a trace, and the signal is re-raised with its default
//! action whatever happens here.

use std::io::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};

/// Where the report goes: the log file, or standard output (the log's
/// default destination).
static LOG_FD: AtomicI32 = AtomicI32::new(libc::STDOUT_FILENO);

const FATAL: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
];

/// Installs the handler for the fatal signals; `logfile` as configured
/// (empty: standard output).
pub fn install(logfile: &str) {
    if !logfile.is_empty() {
        if let Ok(f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
        {
            use std::os::fd::IntoRawFd as _;
            LOG_FD.store(f.into_raw_fd(), Ordering::Relaxed);
        }
    }
    for sig in FATAL {
        // SAFETY: a zeroed sigaction with our handler, flags and an empty
        // mask is a valid argument; the handler has the SA_SIGINFO signature.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as *const () as usize;
            // Not on the alternate signal stack: it is far too small for a
            // backtrace (a stack overflow is then reported by nothing, as
            // with Redis). SA_RESETHAND: a crash inside the report ends the
            // process with the default action.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESETHAND | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_fatal_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    let report = format!(
        "\n\n=== CINNABAR BUG REPORT START: Cut & paste starting from here ===\n\
         {} Cinnabar {} (redis_version {}) crashed by signal: {sig}, si_code: {code}\n\
         \n------ STACK TRACE ------\n{}\n\
         === CINNABAR BUG REPORT END. Make sure to include from START to END. ===\n",
        std::process::id(),
        crate::VERSION,
        crate::REDIS_VERSION,
        std::backtrace::Backtrace::force_capture(),
    );
    let fd = LOG_FD.load(Ordering::Relaxed);
    // SAFETY: the descriptor is ours (or standard output) and stays open;
    // ManuallyDrop keeps the File from closing it.
    let mut out = std::mem::ManuallyDrop::new(unsafe {
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
    });
    let _ = out.write_all(report.as_bytes());
    // SAFETY: back to the default action (SA_RESETHAND did it already for
    // this signal; done again in case) and die of the same signal.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// DEBUG SEGFAULT: crashes the server on purpose (the crash report's test).
pub fn segfault() -> ! {
    // SAFETY: raising a signal; the handler above reports and re-raises it.
    unsafe {
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort()
}
