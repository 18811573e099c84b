//! `cinnabar [/path/to/redis.conf] [--port N] [--bind ADDR …] [--directive value …]`

use std::sync::atomic::Ordering;

use cinnabar::alloc::CountingAlloc;
use cinnabar::config::{load_startup, Config, StartupError};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::new();
    let config_file = match load_startup(&config, &args) {
        Ok(f) => f,
        Err(StartupError::Exit(msg)) => {
            println!("{msg}");
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if config.get("daemonize").as_deref() == Some("yes") {
        daemonize();
    }
    init_logging(&config);
    cinnabar::crash::install(&config.get("logfile").unwrap_or_default());
    adjust_open_files_limit(&config);
    for name in config.stored_only_changes() {
        tracing::warn!(
            "Config '{name}' is accepted and reported by CONFIG GET but has no effect in Cinnabar"
        );
    }
    // `threads N` (Cinnabar's own directive) sets the worker count; 0 means
    // one per core but one (`default_workers`). Redis's `io-threads N` with
    // N > 1 is honoured the same way.
    let threads = match config.get_int("threads") {
        n if n > 0 => n as usize,
        _ => match config.get_int("io-threads") {
            n if n > 1 => n as usize,
            _ => default_workers(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
            ),
        },
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    rt.worker_threads(threads);
    let runtime = match rt.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("failed to start runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(run(config, config_file));
    std::process::exit(code);
}

/// Workers when none are configured: one per core but one, and at least
/// one. The core left over is the kernel's (every request and reply crosses
/// its TCP path, half of the server's CPU in the profiles) and the clients'
/// on the same host: on 2 cores, two workers next to a client process made
/// three busy threads on two CPUs and lost 10-30 % of throughput on every
/// core workload against one worker (benches/RESULTS.md, benches/PROFILE.md).
fn default_workers(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Redis's adjustOpenFilesLimit: room for `maxclients` connections plus
/// 32 descriptors of the server's own, raising the soft limit up to the
/// hard one; if that is not enough, `maxclients` comes down to fit.
fn adjust_open_files_limit(config: &Config) {
    const RESERVED_FDS: u64 = 32;
    let maxclients = config.maxclients.load(std::sync::atomic::Ordering::Relaxed) as u64;
    let wanted = maxclients + RESERVED_FDS;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur >= wanted {
        return;
    }
    let target = wanted.min(lim.rlim_max);
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    let limit = if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        target
    } else {
        lim.rlim_cur
    };
    if limit < wanted {
        let fit = limit.saturating_sub(RESERVED_FDS).max(1);
        tracing::warn!(
            "Server can't set maximum open files to {wanted}. Current maximum open files is {limit}. maxclients has been reduced to {fit} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
        );
        config
            .maxclients
            .store(fit as usize, std::sync::atomic::Ordering::Relaxed);
    } else {
        tracing::info!(
            "Increased maximum number of open files to {limit} (it was originally set to {}).",
            lim.rlim_cur
        );
    }
}

/// `daemonize yes`, as Redis's daemonize(): the parent exits, the child
/// leaves the terminal's session and its standard streams go to /dev/null
/// (logs then go to `logfile`, or nowhere). Called before any thread exists.
fn daemonize() {
    // SAFETY: the process is single-threaded here (no runtime, no logger
    // yet), so fork duplicates nothing half-done; the calls are plain libc.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!(
                    "daemonize: fork failed: {}",
                    std::io::Error::last_os_error()
                );
                std::process::exit(1);
            }
            0 => {}
            _ => std::process::exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
}

fn init_logging(config: &Config) {
    let level = match config.get("loglevel").as_deref() {
        Some("debug") => tracing::Level::DEBUG,
        Some("verbose") => tracing::Level::INFO,
        Some("warning") => tracing::Level::WARN,
        Some("nothing") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let logfile = config.get("logfile").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    if logfile.is_empty() {
        builder.init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&logfile)
        {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    }
}

async fn run(config: Config, config_file: Option<String>) -> i32 {
    let pid = std::process::id();
    tracing::info!("oO0OoO0OoO0Oo Cinnabar is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "Cinnabar version={}, redis_version={}, bits=64, PID: {pid}, just started",
        cinnabar::VERSION,
        cinnabar::REDIS_VERSION
    );
    let mut pidfile = config.get("pidfile").unwrap_or_default();
    if pidfile.is_empty() && config.get("daemonize").as_deref() == Some("yes") {
        // Redis writes one whenever it daemonizes.
        pidfile = "/var/run/redis.pid".to_string();
    }
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{pid}\n")) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    let dir = config.get("dir").unwrap_or_default();
    if !dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&dir) {
            tracing::error!("Can't chdir to '{dir}': {e}");
            return 1;
        }
    }
    let listeners = match cinnabar::server::bind(&config).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "Failed listening on port {} (tcp), aborting: {e}",
                config.get("port").unwrap_or_default()
            );
            return 1;
        }
    };
    let srv = cinnabar::server::Server::new(config, config_file);
    if let Err(e) = srv.acl.startup(&srv.config) {
        tracing::error!("{e}");
        return 1;
    }
    let tls_port = match cinnabar::conn::tls::apply(&srv) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return 1;
        }
    };
    if let Err(e) = cinnabar::http::apply(&srv) {
        tracing::error!(
            "Failed listening on http-port {} (http-bind {}), aborting: {e}",
            srv.config.get("http-port").unwrap_or_default(),
            srv.config.get("http-bind").unwrap_or_default()
        );
        return 1;
    }
    // As Redis: with the AOF on, the AOF is the dataset and the RDB file is not read.
    let loaded = if srv.config.get("appendonly").as_deref() == Some("yes") {
        cinnabar::persist::aof::load_and_open_at_startup(&srv)
    } else {
        cinnabar::persist::load_at_startup(&srv)
    };
    if let Err(e) = loaded {
        tracing::error!("{e}");
        return 1;
    }
    let port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(tls_port, |a| a.port());
    tracing::info!(
        "Server initialized, {} shards, listening on port {port}",
        srv.keyspace.shard_count()
    );
    let unixsocket = srv.config.get("unixsocket").unwrap_or_default();
    if !unixsocket.is_empty() {
        let perm = srv.config.get("unixsocketperm").unwrap_or_default();
        let Some(perm) = cinnabar::conn::unix::parse_perm(&perm) else {
            tracing::error!("Invalid unixsocketperm '{perm}'");
            return 1;
        };
        match cinnabar::conn::unix::bind(&unixsocket, perm) {
            Ok(listener) => {
                tokio::spawn(cinnabar::conn::unix::accept_loop(
                    srv.clone(),
                    listener,
                    unixsocket.clone(),
                ));
            }
            Err(e) => {
                tracing::error!("Failed opening Unix socket: {e}");
                return 1;
            }
        }
    }
    // Both listeners are bound before either is announced.
    tracing::info!("Ready to accept connections tcp");
    if !unixsocket.is_empty() {
        tracing::info!("Ready to accept connections unix");
    }
    tokio::spawn(cinnabar::shutdown::watch_signals(srv.clone()));
    cinnabar::server::serve(srv.clone(), listeners).await;
    if !unixsocket.is_empty() {
        // Here, as Redis's prepareForShutdown unlinks it: the accept loop
        // removes it too, but may not run again before the process exits.
        let _ = std::fs::remove_file(&unixsocket);
    }
    srv.aof.flush_all();
    // SIGTERM/SIGINT: the final snapshot Redis takes when save points are set.
    if !srv
        .shutdown_saved
        .load(std::sync::atomic::Ordering::Acquire)
    {
        if let Err(e) = cinnabar::persist::save_on_shutdown(&srv, false, false) {
            tracing::warn!("Error trying to save the DB: {e}");
        }
    }
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    tracing::warn!("Cinnabar is now ready to exit, bye bye...");
    let _ = srv.port.load(Ordering::Relaxed);
    0
}

#[cfg(test)]
mod tests {
    use super::default_workers;

    #[test]
    fn one_core_is_left_to_the_kernel_and_the_clients() {
        assert_eq!(default_workers(1), 1);
        assert_eq!(default_workers(2), 1);
        assert_eq!(default_workers(8), 7);
        assert_eq!(default_workers(0), 1);
    }
}
