//! The server binary as a child process: for tests that kill it, restart
//! it, or watch its memory from outside.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use super::Raw;

/// The server binary running in `dir`, its log collected from stdout.
pub struct Proc {
    pub child: Child,
    pub port: u16,
    log: std::sync::Arc<parking_lot::Mutex<String>>,
}

/// Starts the binary; returns its exit status instead when it exits during
/// startup (a refused AOF).
pub async fn spawn(dir: &Path, args: &[&str]) -> Result<Proc, (std::process::ExitStatus, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinnabar"))
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--enable-debug-command",
            "yes",
        ])
        .args(["--dir", dir.to_str().expect("utf-8 path")])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn cinnabar");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let log = std::sync::Arc::new(parking_lot::Mutex::new(String::new()));
    let mut port = None;
    // Startup is over when it says it accepts connections (or it exits).
    while let Ok(Some(line)) = tokio::time::timeout(super::IO_TIMEOUT, lines.next_line())
        .await
        .expect("server startup timed out")
    {
        log.lock().push_str(&line);
        log.lock().push('\n');
        if let Some(p) = line.split("listening on port ").nth(1) {
            port = p.trim().parse().ok();
        }
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    let Some(port) = port else {
        let status = child.wait().await.expect("exit status");
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err).await;
        }
        let text = format!("{}{err}", log.lock());
        return Err((status, text));
    };
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().push_str(&line);
            sink.lock().push('\n');
        }
    });
    Ok(Proc { child, port, log })
}

impl Proc {
    pub async fn raw(&self) -> Raw {
        Raw::connect(self.port).await
    }
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }
    pub async fn shutdown(mut self) {
        let mut c = self.raw().await;
        c.send_cmd(&["SHUTDOWN"]).await;
        let status = self.child.wait().await.expect("exit");
        assert!(status.success(), "SHUTDOWN exit status {status}");
    }
    pub fn log(&self) -> String {
        self.log.lock().clone()
    }
}

impl Proc {
    /// Resident memory of the server process, from /proc (bytes).
    pub fn rss_bytes(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}
