//! Hostile input on many connections at once, against the real binary: random
//! bytes, NULs, truncated frames and oversized length prefixes from 300
//! connections while one well-behaved client keeps checking its answers, and
//! the server's resident memory, read from /proc, stays bounded.
//!
//! Bounded in count (every connection sends a fixed script) and in time
//! (every socket operation has a deadline); loopback only.

mod common;

use std::time::Duration;

use common::process::spawn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ABUSERS: usize = 300;
const SENDS_PER_ABUSER: usize = 24;
const CHECKED_OPS: usize = 2_000;
/// Most the server may grow, over its idle size, while under attack.
const RSS_GROWTH_LIMIT: u64 = 256 << 20;
/// Deadline for any one socket operation of an abuser.
const OP_DEADLINE: Duration = Duration::from_secs(10);

/// xorshift64*: a fixed stream of choices per connection, so a failure
/// replays the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One piece of hostile input.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    match rng.below(9) {
        0 => {
            let n = 1 + rng.below(4096) as usize;
            rng.bytes(n)
        }
        1 => b"PING\x00\r\n".to_vec(),
        2 => vec![0u8; 1 + rng.below(2048) as usize],
        3 => b"*3\r\n$3\r\nSET\r\n$1\r\nk".to_vec(),
        4 => b"*2147483647\r\n$4\r\nPING\r\n".to_vec(),
        5 => {
            let mut v = b"*2\r\n$4\r\nECHO\r\n$536870912\r\n".to_vec();
            let n = rng.below(1024) as usize;
            v.extend(rng.bytes(n));
            v
        }
        6 => b"*1\r\n$-5\r\n*-7\r\n$\r\n*x\r\n".to_vec(),
        7 => {
            // Valid requests with garbage spliced in at a random place.
            let mut v = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec();
            let at = rng.below(v.len() as u64) as usize;
            let n = 1 + rng.below(16) as usize;
            let junk = rng.bytes(n);
            v.splice(at..at, junk);
            v
        }
        _ => {
            let mut v = b"SET k \"unterminated".to_vec();
            v.extend(std::iter::repeat_n(b'x', rng.below(70_000) as usize));
            v
        }
    }
}

/// Sends its script, reading (and dropping) whatever comes back, until the
/// script ends or the server closes the connection. Half keep the connection
/// open until told to go, holding whatever partial request they left.
async fn abuser(port: u16, seed: u64, hold: tokio::sync::watch::Receiver<bool>) {
    let mut rng = Rng(seed | 1);
    let Ok(Ok(mut s)) =
        tokio::time::timeout(OP_DEADLINE, TcpStream::connect(("127.0.0.1", port))).await
    else {
        panic!("abuser {seed}: cannot connect");
    };
    let mut sink = vec![0u8; 16 * 1024];
    for _ in 0..SENDS_PER_ABUSER {
        let data = hostile(&mut rng);
        match tokio::time::timeout(OP_DEADLINE, s.write_all(&data)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return, // closed by the server after a protocol error
            Err(_) => panic!("abuser {seed}: a write stalled for {OP_DEADLINE:?}"),
        }
        // Drain replies without waiting for any.
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::ZERO, s.read(&mut sink)).await {
            if n == 0 {
                return;
            }
        }
    }
    if seed.is_multiple_of(2) {
        let mut hold = hold;
        let _ = tokio::time::timeout(Duration::from_secs(120), hold.wait_for(|go| *go)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_connections_do_not_disturb_a_normal_client() {
    let dir = std::env::temp_dir().join(format!("cinnabar-abuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let server = spawn(&dir, &[]).await.expect("server starts");
    let mut c = server.raw().await;
    c.expect(&["PING"], b"+PONG\r\n").await;
    let idle_rss = server.rss_bytes();
    let (release, hold) = tokio::sync::watch::channel(false);
    let abusers: Vec<_> = (0..ABUSERS)
        .map(|i| {
            tokio::spawn(abuser(
                server.port,
                0x9E37_79B9_7F4A_7C15 ^ i as u64,
                hold.clone(),
            ))
        })
        .collect();
    let mut peak = idle_rss;
    for i in 0..CHECKED_OPS {
        let key = format!("key:{i}");
        let value = format!("value-{i}");
        c.expect(&["SET", &key, &value], b"+OK\r\n").await;
        c.expect(&["GET", &key], format!("${}\r\n{value}\r\n", value.len()))
            .await;
        assert_eq!(c.int(&["INCR", "counter"]).await, i as i64 + 1);
        if i % 50 == 0 {
            peak = peak.max(server.rss_bytes());
        }
    }
    let mut finished = 0;
    let mut held = Vec::new();
    for a in abusers {
        if a.is_finished() {
            a.await.expect("abuser task");
            finished += 1;
        } else {
            held.push(a);
        }
    }
    peak = peak.max(server.rss_bytes());
    // Every held connection is still there, and the server still answers.
    c.expect(&["PING"], b"+PONG\r\n").await;
    let _ = release.send(true);
    for a in held {
        a.await.expect("abuser task");
    }
    for i in (0..CHECKED_OPS).step_by(97) {
        let value = format!("value-{i}");
        c.expect(
            &["GET", &format!("key:{i}")],
            format!("${}\r\n{value}\r\n", value.len()),
        )
        .await;
    }
    assert_eq!(c.int(&["INCR", "counter"]).await, CHECKED_OPS as i64 + 1);
    assert!(
        peak < idle_rss + RSS_GROWTH_LIMIT,
        "RSS went from {idle_rss} to {peak} bytes under {ABUSERS} hostile connections \
         ({finished} had finished when the checked client was done)"
    );
    server.kill9().await;
    let _ = std::fs::remove_dir_all(&dir);
}
