//! Connection and server introspection: CLIENT, CONFIG, COMMAND, INFO, DEBUG,
//! RESET, TIME, LASTSAVE, SHUTDOWN (after Redis's `unit/introspection.tcl`,
//! `unit/introspection-2.tcl` and `unit/info.tcl`).

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{assert_bytes, poll_until, server_time_ms, Raw, Resp, TestServer};

/// `key=value` fields of a CLIENT LIST / CLIENT INFO line.
fn fields(line: &str) -> Vec<(String, String)> {
    line.trim_end()
        .split(' ')
        .map(|f| {
            let (k, v) = f
                .split_once('=')
                .unwrap_or_else(|| panic!("bad field {f:?} in {line:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(line: &str, name: &str) -> String {
    fields(line)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
        .1
}

/// The CLIENT LIST line of the client with `id`.
async fn client_line(c: &mut Raw, id: i64) -> String {
    let list = c.val(&["CLIENT", "LIST"]).await;
    list.as_str()
        .lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("client {id} not listed"))
        .to_string()
}

/// INFO `section` as `field -> value`.
async fn info(c: &mut Raw, section: &str) -> HashMap<String, String> {
    let text = c.val(&["INFO", section]).await.as_str().to_string();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn help_lines(r: &Resp, cmd: &str) -> Vec<String> {
    let lines = r.strings();
    assert_eq!(
        lines[0],
        format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    assert_eq!(&lines[lines.len() - 2..], ["HELP", "    Prints this help."]);
    lines
}

// ---- CLIENT ---------------------------------------------------------------

#[tokio::test]
async fn client_id_setname_getname_info() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut d = srv.raw().await;
    let id = c.int(&["CLIENT", "ID"]).await;
    let id2 = d.int(&["CLIENT", "ID"]).await;
    assert!(id2 > id, "ids increase: {id} then {id2}");
    c.expect(&["CLIENT", "GETNAME"], b"$-1\r\n").await;
    c.expect(&["CLIENT", "SETNAME", "conn-a"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "GETNAME"], b"$6\r\nconn-a\r\n").await;
    // An empty name removes it.
    c.expect(&["CLIENT", "SETNAME", ""], b"+OK\r\n").await;
    c.expect(&["CLIENT", "GETNAME"], b"$-1\r\n").await;
    for bad in ["a b", "a\nb", "tab\there"] {
        c.expect(
            &["CLIENT", "SETNAME", bad],
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        )
        .await;
    }
    c.expect(&["CLIENT", "SETNAME", "conn-a"], b"+OK\r\n").await;
    let line = c.val(&["CLIENT", "INFO"]).await.as_str().to_string();
    assert!(line.ends_with('\n'));
    let names: Vec<String> = fields(&line).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp"
        ]
    );
    assert_eq!(field(&line, "id"), id.to_string());
    assert_eq!(field(&line, "name"), "conn-a");
    assert_eq!(field(&line, "laddr"), format!("127.0.0.1:{}", srv.port));
    assert_eq!(field(&line, "cmd"), "client|info");
    assert_eq!(field(&line, "flags"), "N");
    assert_eq!(field(&line, "user"), "default");
    assert_eq!(field(&line, "resp"), "2");
    // The other client sees the same facts in CLIENT LIST.
    let seen = client_line(&mut d, id).await;
    assert_eq!(field(&seen, "name"), "conn-a");
    assert_eq!(field(&seen, "addr"), field(&line, "addr"));
}

#[tokio::test]
async fn client_list_flags_and_filters() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut tx = srv.raw().await;
    let mut sub = srv.raw().await;
    let tx_id = tx.int(&["CLIENT", "ID"]).await;
    let sub_id = sub.int(&["CLIENT", "ID"]).await;
    tx.expect(&["SELECT", "4"], b"+OK\r\n").await;
    tx.expect(&["MULTI"], b"+OK\r\n").await;
    tx.expect(&["PING"], b"+QUEUED\r\n").await;
    tx.expect(&["PING"], b"+QUEUED\r\n").await;
    sub.send_cmd(&["SUBSCRIBE", "a", "b"]).await;
    sub.read_frames(2).await;
    sub.send_cmd(&["PSUBSCRIBE", "p*"]).await;
    sub.read_frame().await;
    let line = client_line(&mut c, tx_id).await;
    assert_eq!(field(&line, "flags"), "x");
    assert_eq!(field(&line, "db"), "4");
    assert_eq!(field(&line, "multi"), "2");
    let line = client_line(&mut c, sub_id).await;
    assert_eq!(field(&line, "flags"), "P");
    assert_eq!(field(&line, "sub"), "2");
    assert_eq!(field(&line, "psub"), "1");
    assert_eq!(field(&line, "cmd"), "psubscribe");
    // TYPE and ID filters.
    let pubsub = c.val(&["CLIENT", "LIST", "TYPE", "pubsub"]).await;
    let ids: Vec<String> = pubsub.as_str().lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, [sub_id.to_string()]);
    let normal = c.val(&["CLIENT", "LIST", "TYPE", "normal"]).await;
    let ids: BTreeSet<String> = normal.as_str().lines().map(|l| field(l, "id")).collect();
    assert!(ids.contains(&tx_id.to_string()), "{ids:?}");
    assert!(!ids.contains(&sub_id.to_string()), "{ids:?}");
    let by_id = c
        .val(&["CLIENT", "LIST", "ID", &tx_id.to_string(), "999999"])
        .await;
    let ids: Vec<String> = by_id.as_str().lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, [tx_id.to_string()]);
    c.expect(
        &["CLIENT", "LIST", "TYPE", "foo"],
        b"-ERR Unknown client type 'foo'\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "LIST", "ID", "abc"],
        b"-ERR Invalid client ID\r\n",
    )
    .await;
    c.expect(&["CLIENT", "LIST", "FOO"], b"-ERR syntax error\r\n")
        .await;
    // After EXEC the flag is gone.
    tx.expect(&["EXEC"], b"*2\r\n+PONG\r\n+PONG\r\n").await;
    let line = client_line(&mut c, tx_id).await;
    assert_eq!(field(&line, "flags"), "N");
    assert_eq!(field(&line, "multi"), "-1");
}

#[tokio::test]
async fn client_kill() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // By ID.
    let mut victim = srv.raw().await;
    let vid = victim.int(&["CLIENT", "ID"]).await;
    c.expect(&["CLIENT", "KILL", "ID", &vid.to_string()], b":1\r\n")
        .await;
    assert_bytes(
        &victim.read_to_close().await,
        b"",
        "killed client's connection",
    );
    c.expect(&["CLIENT", "KILL", "ID", &vid.to_string()], b":0\r\n")
        .await;
    // By address, new and old form.
    let mut victim = srv.raw().await;
    let vid = victim.int(&["CLIENT", "ID"]).await;
    let addr = field(&client_line(&mut c, vid).await, "addr");
    c.expect(&["CLIENT", "KILL", "ADDR", &addr], b":1\r\n")
        .await;
    assert_bytes(&victim.read_to_close().await, b"", "killed by ADDR");
    let mut victim = srv.raw().await;
    let vid = victim.int(&["CLIENT", "ID"]).await;
    let addr = field(&client_line(&mut c, vid).await, "addr");
    c.expect(&["CLIENT", "KILL", &addr], b"+OK\r\n").await;
    assert_bytes(&victim.read_to_close().await, b"", "killed by old form");
    c.expect(&["CLIENT", "KILL", &addr], b"-ERR No such client\r\n")
        .await;
    // By type: only pubsub clients.
    let mut sub = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "x"]).await;
    sub.read_frame().await;
    let mut bystander = srv.raw().await;
    c.expect(&["CLIENT", "KILL", "TYPE", "pubsub"], b":1\r\n")
        .await;
    assert_bytes(&sub.read_to_close().await, b"", "killed by TYPE pubsub");
    bystander.assert_idle().await;
    // SKIPME (default yes) spares the caller; with no, the caller is replied to and closed.
    c.expect(&["CLIENT", "KILL", "TYPE", "normal"], b":1\r\n")
        .await;
    assert_bytes(
        &bystander.read_to_close().await,
        b"",
        "bystander killed by TYPE normal",
    );
    c.assert_idle().await;
    c.send_cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"])
        .await;
    assert_bytes(&c.read_to_close().await, b":1\r\n", "SKIPME no");
    let mut c = srv.raw().await;
    c.expect(
        &["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"],
        b":0\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "KILL", "USER", "nobody"],
        b"-ERR No such user 'nobody'\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "KILL", "ID", "0"],
        b"-ERR client-id should be greater than 0\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "KILL", "SKIPME", "maybe"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(&["CLIENT", "KILL", "FOO", "bar"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["CLIENT", "KILL", "TYPE", "foo"],
        b"-ERR Unknown client type 'foo'\r\n",
    )
    .await;
}

#[tokio::test]
async fn client_reply_on_off_skip() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // SKIP: no reply to itself nor to the next command.
    c.send_cmd(&["CLIENT", "REPLY", "SKIP"]).await;
    c.send_cmd(&["SET", "a", "skipped-reply"]).await;
    c.send_cmd(&["GET", "a"]).await;
    assert_bytes(
        &c.read_frame().await,
        b"$13\r\nskipped-reply\r\n",
        "after SKIP",
    );
    // OFF: nothing until ON.
    c.send_cmd(&["CLIENT", "REPLY", "OFF"]).await;
    c.send_cmd(&["SET", "b", "1"]).await;
    c.send_cmd(&["INCR", "b"]).await;
    c.send_cmd(&["GET", "nope"]).await;
    c.expect(&["CLIENT", "REPLY", "ON"], b"+OK\r\n").await;
    c.expect(&["GET", "b"], b"$1\r\n2\r\n").await;
    c.expect(&["CLIENT", "REPLY", "FOO"], b"-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn client_other_subcommands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["CLIENT", "GETREDIR"], b":-1\r\n").await;
    c.expect(&["CLIENT", "TRACKING", "off"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "NO-EVICT", "on"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "NO-EVICT", "off"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "NO-EVICT", "maybe"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["CLIENT", "UNBLOCK", "999999"], b":0\r\n").await;
    let me = c.int(&["CLIENT", "ID"]).await;
    // A client that is not blocked is not unblocked.
    c.expect(&["CLIENT", "UNBLOCK", &me.to_string(), "ERROR"], b":0\r\n")
        .await;
    c.expect(
        &["CLIENT", "UNBLOCK", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "UNBLOCK", "1", "foo"],
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "PAUSE", "abc"],
        b"-ERR timeout is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["CLIENT", "PAUSE", "-1"], b"-ERR timeout is negative\r\n")
        .await;
    c.expect(
        &["CLIENT", "PAUSE", "100", "FOO"],
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "PAUSE", "100", "WRITE", "x"],
        b"-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n",
    )
    .await;
    c.expect(&["CLIENT", "PAUSE", "0", "WRITE"], b"+OK\r\n")
        .await;
    c.expect(&["CLIENT", "UNPAUSE"], b"+OK\r\n").await;
    let help = c.val(&["CLIENT", "HELP"]).await;
    let lines = help_lines(&help, "CLIENT");
    for sub in [
        "GETNAME",
        "ID",
        "INFO",
        "LIST [options ...]",
        "SETNAME <name>",
        "NO-EVICT (ON|OFF)",
    ] {
        assert!(
            lines.iter().any(|l| l == sub),
            "CLIENT HELP lacks {sub}: {lines:?}"
        );
    }
    c.expect(
        &["CLIENT", "FOO"],
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    )
    .await;
    c.expect(
        &["CLIENT"],
        b"-ERR wrong number of arguments for 'client' command\r\n",
    )
    .await;
}

/// Redis 7.2 connection subcommands Cinnabar accepts (clients send them).
#[tokio::test]
async fn client_redis72_subcommands() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return; // redis-server 7.0 does not have them.
    }
    let mut c = srv.raw().await;
    c.expect(&["CLIENT", "NO-TOUCH", "on"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "NO-TOUCH", "off"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "NO-TOUCH", "x"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"], b"+OK\r\n")
        .await;
    c.expect(&["CLIENT", "SETINFO", "LIB-VER", "1.2.3"], b"+OK\r\n")
        .await;
    c.expect(
        &["CLIENT", "SETINFO", "LIB-NAME", "a b"],
        b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n",
    )
    .await;
    c.expect(
        &["CLIENT", "SETINFO", "FOO", "x"],
        b"-ERR Unrecognized option 'FOO'\r\n",
    )
    .await;
}

// ---- RESET / ECHO / PING / TIME / LASTSAVE --------------------------------

#[tokio::test]
async fn reset_restores_connection_defaults() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.cmd(&["HELLO", "3"]).await;
    c.expect(&["CLIENT", "SETNAME", "before-reset"], b"+OK\r\n")
        .await;
    c.expect(&["SELECT", "3"], b"+OK\r\n").await;
    c.expect(&["WATCH", "w"], b"+OK\r\n").await;
    c.expect(
        &["SUBSCRIBE", "ch"],
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    )
    .await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["SET", "k", "v"], b"+QUEUED\r\n").await;
    c.expect(&["RESET"], b"+RESET\r\n").await;
    // RESP2 again, db 0, no name, no transaction, no subscription, no WATCH.
    c.expect(&["GET", "k"], b"$-1\r\n").await;
    c.expect(&["CLIENT", "GETNAME"], b"$-1\r\n").await;
    c.expect(&["EXEC"], b"-ERR EXEC without MULTI\r\n").await;
    other
        .expect(&["PUBSUB", "NUMSUB", "ch"], b"*2\r\n$2\r\nch\r\n:0\r\n")
        .await;
    other.expect(&["SET", "w", "changed"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["SELECT", "3"], b"+QUEUED\r\n").await;
    c.expect(&["GET", "k"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n+OK\r\n$-1\r\n").await;
    // RESET also turns CLIENT REPLY back on.
    c.send_cmd(&["CLIENT", "REPLY", "OFF"]).await;
    c.expect(&["RESET"], b"+RESET\r\n").await;
    c.expect(&["PING"], b"+PONG\r\n").await;
}

#[tokio::test]
async fn ping_echo_time_lastsave() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["PING"], b"+PONG\r\n").await;
    c.expect(&["PING", "x y"], b"$3\r\nx y\r\n").await;
    c.expect(
        &["PING", "a", "b"],
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    )
    .await;
    c.expect(&["ECHO", "hello world"], b"$11\r\nhello world\r\n")
        .await;
    c.expect(&["ECHO", ""], b"$0\r\n\r\n").await;
    c.expect(
        &["ECHO"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    )
    .await;
    let t = c.val(&["TIME"]).await.strings();
    assert_eq!(t.len(), 2);
    let secs: u64 = t[0].parse().unwrap();
    let micros: u64 = t[1].parse().unwrap();
    assert!(micros < 1_000_000);
    let local = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        secs.abs_diff(local) <= 5,
        "TIME {secs} vs local clock {local}"
    );
    let t2 = server_time_ms(&mut c).await;
    assert!(t2 >= secs * 1000, "TIME went backwards");
    let last = c.int(&["LASTSAVE"]).await;
    assert!(last > 0 && last as u64 <= t2 / 1000 + 1, "LASTSAVE {last}");
    c.expect(
        &["TIME", "x"],
        b"-ERR wrong number of arguments for 'time' command\r\n",
    )
    .await;
}

// ---- CONFIG ---------------------------------------------------------------

#[tokio::test]
async fn config_get_and_set() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "GET", "maxclients"],
        b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
    )
    .await;
    // The reply uses the name as asked.
    c.expect(
        &["CONFIG", "GET", "MaxClients"],
        b"*2\r\n$10\r\nMaxClients\r\n$5\r\n10000\r\n",
    )
    .await;
    c.expect(&["CONFIG", "GET", "no-such-param"], b"*0\r\n")
        .await;
    // Globs and several patterns at once (Redis 7), each parameter once.
    let got: BTreeSet<(String, String)> = c
        .val(&["CONFIG", "GET", "*max-*-entries*"])
        .await
        .pairs()
        .iter()
        .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("hash-max-listpack-entries", "512"),
        ("hash-max-ziplist-entries", "512"),
        ("set-max-intset-entries", "512"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-ziplist-entries", "128"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    let got = c
        .val(&["CONFIG", "GET", "hz", "maxclients", "hz"])
        .await
        .pairs();
    let names: BTreeSet<String> = got.iter().map(|(k, _)| k.as_str().to_string()).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(
        names,
        ["hz".to_string(), "maxclients".to_string()]
            .into_iter()
            .collect()
    );

    c.expect(&["CONFIG", "SET", "hz", "20"], b"+OK\r\n").await;
    c.expect(&["CONFIG", "GET", "hz"], b"*2\r\n$2\r\nhz\r\n$2\r\n20\r\n")
        .await;
    c.expect(&["CONFIG", "SET", "HZ", "15", "timeout", "300"], b"+OK\r\n")
        .await;
    c.expect(
        &["CONFIG", "GET", "timeout"],
        b"*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n",
    )
    .await;
    c.expect(&["CONFIG", "GET", "hz"], b"*2\r\n$2\r\nhz\r\n$2\r\n15\r\n")
        .await;
    // Memory units are accepted and reported in bytes.
    c.expect(&["CONFIG", "SET", "proto-max-bulk-len", "2mb"], b"+OK\r\n")
        .await;
    c.expect(
        &["CONFIG", "GET", "proto-max-bulk-len"],
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n2097152\r\n",
    )
    .await;
    // Several parameters are set all or nothing.
    c.expect(
        &["CONFIG", "SET", "hz", "11", "maxclients", "abc"],
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n",
    )
    .await;
    c.expect(&["CONFIG", "GET", "hz"], b"*2\r\n$2\r\nhz\r\n$2\r\n15\r\n")
        .await;
    c.expect(
        &["CONFIG", "SET", "hz", "11", "nosuch", "1"],
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n",
    )
    .await;
    c.expect(&["CONFIG", "GET", "hz"], b"*2\r\n$2\r\nhz\r\n$2\r\n15\r\n")
        .await;
    c.expect(
        &["CONFIG", "SET", "hz", "10", "timeout"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "hz"],
        b"-ERR wrong number of arguments for 'config|set' command\r\n",
    )
    .await;
    c.expect(&["CONFIG", "SET", "timeout", "0", "hz", "10"], b"+OK\r\n")
        .await;
    c.expect(
        &["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
        b"+OK\r\n",
    )
    .await;
    // A client following a config change: keyspace events on, then off.
    c.expect(
        &["CONFIG", "SET", "notify-keyspace-events", "Ex"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "notify-keyspace-events"],
        b"*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxE\r\n",
    )
    .await;
    c.expect(&["CONFIG", "SET", "notify-keyspace-events", ""], b"+OK\r\n")
        .await;
}

#[tokio::test]
async fn config_resetstat_rewrite_help() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "a", "1"], b"+OK\r\n").await;
    c.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
    c.expect(&["GET", "missing"], b"$-1\r\n").await;
    c.expect(
        &["NOSUCH"],
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    )
    .await;
    let stats = info(&mut c, "stats").await;
    assert!(stats["total_commands_processed"].parse::<u64>().unwrap() >= 3);
    assert_eq!(stats["keyspace_hits"], "1");
    assert_eq!(stats["keyspace_misses"], "1");
    assert_eq!(stats["total_error_replies"], "1");
    assert_eq!(
        info(&mut c, "errorstats")
            .await
            .get("errorstat_ERR")
            .map(String::as_str),
        Some("count=1")
    );
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    let stats = info(&mut c, "stats").await;
    assert_eq!(stats["keyspace_hits"], "0");
    assert_eq!(stats["keyspace_misses"], "0");
    assert_eq!(stats["total_error_replies"], "0");
    assert!(info(&mut c, "errorstats").await.is_empty());
    // Only what ran since the reset is in commandstats.
    let cmdstats = info(&mut c, "commandstats").await;
    let names: BTreeSet<&str> = cmdstats.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["cmdstat_config|resetstat", "cmdstat_info"]
            .into_iter()
            .collect(),
        "{cmdstats:?}"
    );
    assert!(cmdstats["cmdstat_config|resetstat"].starts_with("calls=1,usec="));
    // The data is untouched.
    c.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
    c.expect(
        &["CONFIG", "REWRITE"],
        b"-ERR The server is running without a config file\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "HELP"],
        b"*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n+    Return parameters matching the glob-like <pattern> and their values.\r\n+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n+REWRITE\r\n+    Rewrite the configuration file.\r\n+HELP\r\n+    Prints this help.\r\n",
    )
    .await;
}

// ---- COMMAND --------------------------------------------------------------

#[tokio::test]
async fn command_introspection() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let count = c.int(&["COMMAND", "COUNT"]).await;
    let all = c.val(&["COMMAND"]).await;
    assert_eq!(all.items().len() as i64, count);
    let names: BTreeSet<String> = all
        .items()
        .iter()
        .map(|e| e.items()[0].as_str().to_string())
        .collect();
    for n in [
        "get",
        "set",
        "client",
        "config",
        "multi",
        "exec",
        "subscribe",
        "scan",
    ] {
        assert!(names.contains(n), "COMMAND lacks {n}");
    }
    // COMMAND INFO: name, arity, flags, first key, last key, step, ACL categories.
    let info = c.val(&["COMMAND", "INFO", "get", "mset", "nosuch"]).await;
    let items = info.items();
    assert_eq!(items.len(), 3);
    assert_eq!(
        &items[0].items()[..7],
        &[
            Resp::bulk("get"),
            Resp::Int(2),
            Resp::Array(vec![
                Resp::Simple("readonly".into()),
                Resp::Simple("fast".into())
            ]),
            Resp::Int(1),
            Resp::Int(1),
            Resp::Int(1),
            Resp::Array(vec![
                Resp::Simple("@read".into()),
                Resp::Simple("@string".into()),
                Resp::Simple("@fast".into())
            ]),
        ]
    );
    assert_eq!(
        &items[1].items()[..6],
        &[
            Resp::bulk("mset"),
            Resp::Int(-3),
            Resp::Array(vec![
                Resp::Simple("write".into()),
                Resp::Simple("denyoom".into())
            ]),
            Resp::Int(1),
            Resp::Int(-1),
            Resp::Int(2),
        ]
    );
    assert_eq!(items[2], Resp::NilBulk);
    c.expect(&["COMMAND", "INFO", "nosuch"], b"*1\r\n$-1\r\n")
        .await;
    let sub = c.val(&["COMMAND", "INFO", "config|get"]).await;
    assert_eq!(sub.items()[0].items()[0], Resp::bulk("config|get"));
    assert_eq!(sub.items()[0].items()[1], Resp::Int(-3));
    // COMMAND DOCS: a map per command with its summary, since and group.
    let docs = c.val(&["COMMAND", "DOCS", "get", "nosuch"]).await;
    let pairs = docs.pairs();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].0, Resp::bulk("get"));
    let doc = &pairs[0].1;
    assert!(!doc.get("summary").unwrap().as_str().is_empty());
    assert_eq!(doc.get("since").unwrap().as_str(), "1.0.0");
    assert_eq!(doc.get("group").unwrap().as_str(), "string");
    let docs = c.val(&["COMMAND", "DOCS", "client"]).await;
    let subs = docs.pairs()[0]
        .1
        .get("subcommands")
        .expect("CLIENT has subcommand docs");
    assert!(subs.get("client|setname").is_some());
    // COMMAND LIST with filters.
    let list: BTreeSet<String> = c
        .val(&["COMMAND", "LIST"])
        .await
        .strings()
        .into_iter()
        .collect();
    assert!(list.contains("get") && list.contains("client|setname"));
    c.expect(
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"],
        b"*1\r\n$8\r\ngetrange\r\n",
    )
    .await;
    let cat: BTreeSet<String> = c
        .val(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"])
        .await
        .strings()
        .into_iter()
        .collect();
    assert!(
        cat.contains("incrbyfloat") && cat.contains("getex") && !cat.contains("del"),
        "{cat:?}"
    );
    c.expect(
        &["COMMAND", "LIST", "FILTERBY", "FOO", "x"],
        b"-ERR syntax error\r\n",
    )
    .await;
    // COMMAND GETKEYS.
    c.expect(
        &["COMMAND", "GETKEYS", "SET", "k", "v"],
        b"*1\r\n$1\r\nk\r\n",
    )
    .await;
    c.expect(
        &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    )
    .await;
    c.expect(
        &["COMMAND", "GETKEYS", "COPY", "a", "b", "DB", "1"],
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    )
    .await;
    c.expect(
        &["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"],
        b"*1\r\n$1\r\nk\r\n",
    )
    .await;
    c.expect(
        &["COMMAND", "GETKEYS", "GET"],
        b"-ERR wrong number of arguments for 'command|getkeys' command\r\n",
    )
    .await;
    let help = c.val(&["COMMAND", "HELP"]).await;
    let lines = help_lines(&help, "COMMAND");
    for sub in [
        "COUNT",
        "LIST",
        "INFO [<command-name> ...]",
        "DOCS [<command-name> ...]",
        "GETKEYS <full-command>",
    ] {
        assert!(
            lines.iter().any(|l| l == sub),
            "COMMAND HELP lacks {sub}: {lines:?}"
        );
    }
}

// ---- INFO / DBSIZE --------------------------------------------------------

#[tokio::test]
async fn info_sections() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let _other = srv.raw().await;
    let headers = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("# "))
            .map(|l| l[2..].to_string())
            .collect()
    };
    let default = c.val(&["INFO"]).await.as_str().to_string();
    assert_eq!(
        headers(&default),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    assert!(default.contains("\r\n"), "INFO lines end with CRLF");
    let all = c.val(&["INFO", "all"]).await.as_str().to_string();
    assert!(headers(&all).contains(&"Commandstats".to_string()));
    assert!(headers(&all).contains(&"Latencystats".to_string()));
    let two = c
        .val(&["INFO", "server", "CLIENTS"])
        .await
        .as_str()
        .to_string();
    assert_eq!(headers(&two), ["Server", "Clients"]);
    c.expect(&["INFO", "nosuchsection"], b"$0\r\n\r\n").await;

    let server = info(&mut c, "server").await;
    assert_eq!(server["redis_version"], "7.0.15");
    assert_eq!(server["redis_mode"], "standalone");
    assert_eq!(server["tcp_port"], srv.port.to_string());
    assert_eq!(server["run_id"].len(), 40);
    // (Polled: with an external server, the reset connection may still be closing.)
    poll_until(
        &mut c,
        &["INFO", "clients"],
        500,
        "two clients connected",
        |r| r.as_str().contains("\r\nconnected_clients:2\r\n"),
    )
    .await;
    assert_eq!(info(&mut c, "clients").await["blocked_clients"], "0");
    assert_eq!(info(&mut c, "replication").await["role"], "master");
    assert_eq!(info(&mut c, "persistence").await["loading"], "0");
    assert_eq!(info(&mut c, "cluster").await["cluster_enabled"], "0");

    // Keyspace: one line per non-empty database.
    c.expect(&["INFO", "keyspace"], b"$12\r\n# Keyspace\r\n\r\n")
        .await;
    c.expect(&["MSET", "a", "1", "b", "2"], b"+OK\r\n").await;
    c.expect(&["SET", "c", "3", "EX", "100"], b"+OK\r\n").await;
    c.expect(&["SELECT", "2"], b"+OK\r\n").await;
    c.expect(&["SET", "z", "1"], b"+OK\r\n").await;
    let ks = info(&mut c, "keyspace").await;
    assert_eq!(ks.len(), 2, "{ks:?}");
    assert!(ks["db0"].starts_with("keys=3,expires=1,"), "{ks:?}");
    assert!(ks["db2"].starts_with("keys=1,expires=0,"), "{ks:?}");
    c.expect(&["DBSIZE"], b":1\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":3\r\n").await;
    c.expect(
        &["DBSIZE", "x"],
        b"-ERR wrong number of arguments for 'dbsize' command\r\n",
    )
    .await;

    // Commandstats count calls, rejections and failures per command.
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    c.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
    c.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
    c.expect(
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    c.expect(&["INCR", "nonint"], b":1\r\n").await;
    c.expect(
        &["INCRBY", "a", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    let cs = info(&mut c, "commandstats").await;
    let get = &cs["cmdstat_get"];
    assert!(get.starts_with("calls=2,usec="), "{get}");
    assert!(get.ends_with(",rejected_calls=1,failed_calls=0"), "{get}");
    let incrby = &cs["cmdstat_incrby"];
    assert!(
        incrby.starts_with("calls=1,") && incrby.ends_with(",rejected_calls=0,failed_calls=1"),
        "{incrby}"
    );
    assert_eq!(info(&mut c, "errorstats").await["errorstat_ERR"], "count=2");
}

// ---- DEBUG / SAVE / SHUTDOWN ----------------------------------------------

#[tokio::test]
async fn debug_subcommands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DEBUG", "SLEEP", "0"], b"+OK\r\n").await;
    c.expect(&["DEBUG", "LOG", "hello from the tests"], b"+OK\r\n")
        .await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], b"+OK\r\n")
        .await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"+OK\r\n")
        .await;
    c.expect(&["SET", "k", "some value"], b"+OK\r\n").await;
    let obj = c.val(&["DEBUG", "OBJECT", "k"]).await;
    assert!(
        obj.as_str().starts_with("Value at:") && obj.as_str().contains("encoding:embstr"),
        "{obj:?}"
    );
    c.expect(&["DEBUG", "OBJECT", "nope"], b"-ERR no such key\r\n")
        .await;
    c.expect(
        &["DEBUG", "OBJECT"],
        b"-ERR unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP.\r\n",
    )
    .await;
    let help = c.val(&["DEBUG", "HELP"]).await;
    let lines = help_lines(&help, "DEBUG");
    assert!(
        lines.iter().any(|l| l.starts_with("SET-ACTIVE-EXPIRE")),
        "{lines:?}"
    );
}

/// SAVE and BGSAVE argument checks (what they write: tests/persistence.rs).
#[tokio::test]
async fn save_and_bgsave_arguments() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["SAVE", "x"],
        b"-ERR wrong number of arguments for 'save' command\r\n",
    )
    .await;
    c.expect(&["BGSAVE", "x"], b"-ERR syntax error\r\n").await;
    c.expect(&["BGSAVE", "SCHEDULE", "x"], b"-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn shutdown() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SHUTDOWN", "ABORT"], b"-ERR No shutdown in progress.\r\n")
        .await;
    c.expect(&["SHUTDOWN", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(
        &["SHUTDOWN"],
        b"-ERR Command not allowed inside a transaction\r\n",
    )
    .await;
    c.expect(&["DISCARD"], b"+OK\r\n").await;
    if srv.is_external() {
        return; // Don't stop the external server.
    }
    let mut bystander = srv.raw().await;
    bystander.assert_idle().await;
    // Success closes the connection without a reply; every client is let go.
    c.send_cmd(&["SHUTDOWN", "NOSAVE"]).await;
    assert_bytes(&c.read_to_close().await, b"", "SHUTDOWN reply");
    assert_bytes(
        &bystander.read_to_close().await,
        b"",
        "other clients at shutdown",
    );
    // Then the listener is gone (bounded wait for the accept loop to stop).
    let mut refused = false;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", srv.port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "the server still accepts connections after SHUTDOWN"
    );
}

// ---- CONFIG REWRITE, runtime port / bind -----------------------------------

/// A server started from a config file, as `cinnabar <file>` does (in-process).
struct FileServer {
    srv: std::sync::Arc<cinnabar::server::Server>,
    port: u16,
}

impl FileServer {
    async fn start(path: &std::path::Path) -> FileServer {
        let config = cinnabar::config::Config::new();
        let file = cinnabar::config::load_startup(&config, &[path.display().to_string()])
            .expect("the config file loads");
        let listeners = cinnabar::server::bind(&config).await.expect("binds");
        let port = listeners[0].local_addr().expect("bound").port();
        let srv = cinnabar::server::Server::new(config, file);
        tokio::spawn(cinnabar::server::serve(srv.clone(), listeners));
        FileServer { srv, port }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.srv.shutdown();
    }
}

/// A fresh directory for one test's files, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "cinnabar-{name}-{}-{}",
            std::process::id(),
            cinnabar::server::unix_us()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// CONFIG GET * as a map.
async fn all_config(c: &mut Raw) -> HashMap<String, String> {
    c.val(&["CONFIG", "GET", "*"])
        .await
        .strings()
        .chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

#[tokio::test]
async fn config_rewrite_updates_the_file_like_redis() {
    if common::external_port().is_some() {
        return; // Needs a server started from a file of ours.
    }
    let tmp = TempDir::new("rewrite");
    let path = tmp.0.join("redis.conf");
    std::fs::write(
        &path,
        "# Cinnabar test config\n\nport 0\nbind 127.0.0.1\nenable-debug-command yes\nsave 900 1\nsave 300 10\nhash-max-ziplist-entries 21\nrename-command flushdb badger\n  # indented comment\ntimeout 5\n",
    )
    .unwrap();
    let s = FileServer::start(&path).await;
    assert_eq!(
        s.srv.config_file.as_deref(),
        Some(path.display().to_string().as_str()),
        "the config file path is kept absolute"
    );
    let mut c = Raw::connect(s.port).await;
    // rename-command applies: the old name is gone, the new one works.
    c.expect(
        &["FLUSHDB"],
        b"-ERR unknown command 'FLUSHDB', with args beginning with: \r\n",
    )
    .await;
    c.expect(&["BADGER"], b"+OK\r\n").await;
    c.expect(
        &[
            "CONFIG",
            "SET",
            "timeout",
            "0",
            "save",
            "3600 1",
            "hash-max-listpack-entries",
            "100",
            "maxmemory",
            "1mb",
            "notify-keyspace-events",
            "KEA",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["CONFIG", "REWRITE"], b"+OK\r\n").await;
    let cwd = std::env::current_dir().unwrap().display().to_string();
    // Lines of known options are replaced in place (an alias line takes the
    // primary name, an option back at its default keeps its line), extra `save`
    // lines are blanked, comments and rename-command stay, and what differs from
    // the defaults is appended after the signature.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!(
            "# Cinnabar test config\n\nport 0\nbind 127.0.0.1\nenable-debug-command yes\nsave 3600 1\n\nhash-max-listpack-entries 100\nrename-command flushdb badger\n# indented comment\ntimeout 0\n\n# Generated by CONFIG REWRITE\ndir \"{cwd}\"\nlatency-tracking-info-percentiles 50 99 99.9\nmaxmemory 1mb\nnotify-keyspace-events \"AKE\"\nuser default on nopass ~* &* +@all\n"
        )
    );
    // A second rewrite of an unchanged configuration changes nothing.
    c.expect(&["CONFIG", "REWRITE"], b"+OK\r\n").await;
    let once = std::fs::read_to_string(&path).unwrap();
    c.expect(&["CONFIG", "REWRITE"], b"+OK\r\n").await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), once);

    // A restart from the rewritten file has the same configuration.
    let before = all_config(&mut c).await;
    let s2 = FileServer::start(&path).await;
    let mut c2 = Raw::connect(s2.port).await;
    assert_eq!(all_config(&mut c2).await, before);
    c2.expect(
        &["FLUSHDB"],
        b"-ERR unknown command 'FLUSHDB', with args beginning with: \r\n",
    )
    .await;
    c2.expect(
        &["CONFIG", "GET", "hash-max-ziplist-entries"],
        b"*2\r\n$24\r\nhash-max-ziplist-entries\r\n$3\r\n100\r\n",
    )
    .await;

    // save "" is written as such, and options back at their defaults lose the
    // lines that only they used.
    c2.expect(&["CONFIG", "SET", "save", "", "maxmemory", "0"], b"+OK\r\n")
        .await;
    c2.expect(&["CONFIG", "REWRITE"], b"+OK\r\n").await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\nsave \"\"\n"), "{text}");
    assert!(text.contains("\nmaxmemory 0\n"), "{text}");
}

#[tokio::test]
async fn debug_config_rewrite_force_all_round_trips() {
    if common::external_port().is_some() {
        return;
    }
    let tmp = TempDir::new("force-all");
    let path = tmp.0.join("redis.conf");
    std::fs::write(
        &path,
        "port 0\nbind 127.0.0.1\nenable-debug-command yes\nslave-serve-stale-data no\n",
    )
    .unwrap();
    let s = FileServer::start(&path).await;
    let mut c = Raw::connect(s.port).await;
    c.expect(
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 2kb 3",
            "shutdown-on-sigterm",
            "force nosave",
            "maxmemory-clients",
            "10%",
            "notify-keyspace-events",
            "Kx",
            "list-max-ziplist-size",
            "-3",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["DEBUG", "CONFIG-REWRITE-FORCE-ALL"], b"+OK\r\n")
        .await;
    let text = std::fs::read_to_string(&path).unwrap();
    for line in [
        "replica-serve-stale-data no",
        "timeout 0",
        "client-output-buffer-limit normal 0 0 0",
        "client-output-buffer-limit replica 256mb 64mb 60",
        "client-output-buffer-limit pubsub 1mb 2kb 3",
        "shutdown-on-sigterm nosave force",
        "maxmemory-clients 10%",
        "list-max-listpack-size -3",
        "logfile \"\"",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
    // Aliases and unset optional strings are not written.
    assert!(!text.contains("slave"), "{text}");
    assert!(!text.contains("requirepass"), "{text}");
    let before = all_config(&mut c).await;
    let s2 = FileServer::start(&path).await;
    let mut c2 = Raw::connect(s2.port).await;
    assert_eq!(all_config(&mut c2).await, before);
}

#[tokio::test]
async fn config_rewrite_errors() {
    if common::external_port().is_some() {
        return;
    }
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "REWRITE"],
        b"-ERR The server is running without a config file\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "CONFIG-REWRITE-FORCE-ALL"],
        b"-ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address\r\n",
    )
    .await;
    // A config file in a directory that is gone cannot be rewritten.
    let tmp = TempDir::new("rewrite-gone");
    let path = tmp.0.join("redis.conf");
    std::fs::write(&path, "port 0\nbind 127.0.0.1\n").unwrap();
    let s = FileServer::start(&path).await;
    std::fs::remove_dir_all(&tmp.0).unwrap();
    let mut c = Raw::connect(s.port).await;
    c.expect(
        &["CONFIG", "REWRITE"],
        b"-ERR Rewriting config file: No such file or directory\r\n",
    )
    .await;
}

#[test]
fn config_file_startup_errors() {
    let tmp = TempDir::new("startup-errors");
    let load = |text: &str| {
        let path = tmp.0.join("bad.conf");
        std::fs::write(&path, text).unwrap();
        cinnabar::config::load_startup(
            &cinnabar::config::Config::new(),
            &[path.display().to_string()],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    let err = load("rename-command nosuch x\n").unwrap_err();
    assert!(err.contains("No such command in rename-command"), "{err}");
    let err = load("rename-command get set\n").unwrap_err();
    assert!(err.contains("Target command name already exists"), "{err}");
    let err = load("rename-command get\n").unwrap_err();
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
    assert!(load("rename-command get get2\nrename-command get2 \"\"\n").is_ok());
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port")
        .port()
}

/// Waits (bounded) until nothing accepts on `port`.
async fn refused(port: u16) -> bool {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn config_set_port_and_bind_rebind_at_runtime() {
    if common::external_port().is_some() {
        return; // Would move the external server.
    }
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let new_port = free_port();
    c.expect(
        &["CONFIG", "SET", "port", &new_port.to_string()],
        b"+OK\r\n",
    )
    .await;
    // The new port accepts, the old one is closed, this connection stays.
    let mut n = Raw::connect(new_port).await;
    n.expect(&["PING"], b"+PONG\r\n").await;
    assert!(refused(srv.port).await, "the old port still accepts");
    c.expect(&["PING"], b"+PONG\r\n").await;
    assert_eq!(
        info(&mut c, "server").await["tcp_port"],
        new_port.to_string()
    );

    // A busy port: the error names it and every parameter is rolled back.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let maxmemory = c.val(&["CONFIG", "GET", "maxmemory"]).await.strings()[1].clone();
    c.expect(
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10000001",
            "port",
            &busy_port.to_string(),
            "client-query-buffer-limit",
            "10m",
        ],
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
    )
    .await;
    assert_eq!(
        c.val(&["CONFIG", "GET", "maxmemory"]).await.strings()[1],
        maxmemory
    );
    assert_eq!(
        c.val(&["CONFIG", "GET", "port"]).await.strings()[1],
        new_port.to_string()
    );
    assert_eq!(
        c.val(&["CONFIG", "GET", "client-query-buffer-limit"])
            .await
            .strings()[1],
        "1073741824"
    );
    // Still listening where it was.
    Raw::connect(new_port)
        .await
        .expect(&["PING"], b"+PONG\r\n")
        .await;
    drop(busy);

    // bind: an address this host does not have fails and is rolled back.
    c.expect(
        &["CONFIG", "SET", "bind", "192.0.2.1"],
        b"-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
    )
    .await;
    assert_eq!(
        c.val(&["CONFIG", "GET", "bind"]).await.strings()[1],
        "127.0.0.1"
    );
    Raw::connect(new_port)
        .await
        .expect(&["PING"], b"+PONG\r\n")
        .await;
    // A working bind change rebinds on the same port.
    c.expect(&["CONFIG", "SET", "bind", "127.0.0.1 -::1"], b"+OK\r\n")
        .await;
    Raw::connect(new_port)
        .await
        .expect(&["PING"], b"+PONG\r\n")
        .await;
    // A host name is resolved, as by Redis's getaddrinfo.
    c.expect(&["CONFIG", "SET", "bind", "localhost"], b"+OK\r\n")
        .await;
    Raw::connect(new_port)
        .await
        .expect(&["PING"], b"+PONG\r\n")
        .await;
    // No bind address: no TCP listener (as Redis); this connection stays and
    // can bind again.
    c.expect(&["CONFIG", "SET", "bind", ""], b"+OK\r\n").await;
    assert!(refused(new_port).await, "bind \"\" still accepts");
    c.expect(&["CONFIG", "SET", "bind", "127.0.0.1"], b"+OK\r\n")
        .await;
    Raw::connect(new_port)
        .await
        .expect(&["PING"], b"+PONG\r\n")
        .await;
    // port 0 at runtime closes TCP, as in Redis.
    c.expect(&["CONFIG", "SET", "port", "0"], b"+OK\r\n").await;
    assert!(refused(new_port).await, "port 0 still accepts");
    c.expect(&["PING"], b"+PONG\r\n").await;
}

/// SLOWLOG: what ran longer than `slowlog-log-slower-than`, newest first,
/// bounded by `slowlog-max-len`, long commands trimmed and secrets redacted.
#[tokio::test]
async fn slowlog_records_trims_and_redacts() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.send("SLOWLOG RESET\r\n").await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.send("SLOWLOG LEN\r\n").await;
    assert_eq!(c.read_frame().await, b":0\r\n");
    c.expect(
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["CONFIG", "SET", "slowlog-max-len", "3"], b"+OK\r\n")
        .await;
    c.expect(&["CLIENT", "SETNAME", "slowpoke"], b"+OK\r\n")
        .await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut sadd = vec!["SADD".to_string(), "s".to_string()];
    sadd.extend(many);
    c.val(&sadd).await;
    c.expect(&["CONFIG", "SET", "requirepass", "secret"], b"+OK\r\n")
        .await;
    c.expect(&["AUTH", "secret"], b"+OK\r\n").await;
    c.send("SLOWLOG GET -1\r\n").await;
    let log = c.read_value().await;
    let entries = log.items();
    assert_eq!(entries.len(), 3, "bounded by slowlog-max-len: {log:?}");
    // Newest first: AUTH, CONFIG SET requirepass, SADD.
    assert_eq!(entries[0].items()[3].strings(), ["AUTH", "(redacted)"]);
    assert_eq!(
        entries[1].items()[3].strings(),
        ["CONFIG", "SET", "requirepass", "(redacted)"]
    );
    let sadd_args = entries[2].items()[3].strings();
    assert_eq!(sadd_args.len(), 32);
    assert_eq!(sadd_args[31], "... (11 more arguments)");
    assert_eq!(entries[2].items()[5], Resp::bulk("slowpoke"));
    c.send("SLOWLOG GET 1\r\n").await;
    assert_eq!(c.read_value().await.items().len(), 1);
    c.send("SLOWLOG GET -2\r\n").await;
    assert_eq!(
        c.read_value().await.as_str(),
        "ERR count should be greater than or equal to -1"
    );
    c.send("SLOWLOG HELP\r\n").await;
    assert!(c.read_value().await.items()[0]
        .as_str()
        .starts_with("SLOWLOG <subcommand>"));
}

/// LATENCY: per-command histograms (every command, a container's
/// subcommands, unknown names skipped) and the latency monitor's events.
#[tokio::test]
async fn latency_histograms_and_events() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    c.expect(&["SET", "a", "b"], b"+OK\r\n").await;
    c.expect(&["SET", "c", "d"], b"+OK\r\n").await;
    c.int(&["CLIENT", "ID"]).await;
    c.send("LATENCY HISTOGRAM set client nosuch\r\n").await;
    let h = c.read_value().await;
    let set = h.get("set").expect("set's histogram");
    assert_eq!(set.get("calls"), Some(Resp::Int(2)));
    let cdf = set.get("histogram_usec").expect("buckets");
    // Cumulative: the last bucket holds every call.
    assert_eq!(
        cdf.pairs().last().map(|(_, n)| n.clone()),
        Some(Resp::Int(2))
    );
    assert!(h.get("client|id").is_some(), "{h:?}");
    assert!(h.get("nosuch").is_none());
    // Events: nothing yet (threshold 0 is off), then DEBUG SLEEP over it.
    c.send("LATENCY LATEST\r\n").await;
    assert_eq!(c.read_value().await, Resp::Array(vec![]));
    c.send("LATENCY DOCTOR\r\n").await;
    assert!(c
        .read_value()
        .await
        .as_str()
        .starts_with("I'm sorry, Dave, I can't do that."));
    c.expect(
        &["CONFIG", "SET", "latency-monitor-threshold", "10"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["DEBUG", "SLEEP", "0.02"], b"+OK\r\n").await;
    c.send("LATENCY LATEST\r\n").await;
    let latest = c.read_value().await;
    assert_eq!(latest.items()[0].items()[0], Resp::bulk("command"));
    c.send("LATENCY HISTORY command\r\n").await;
    assert_eq!(c.read_value().await.items().len(), 1);
    c.send("LATENCY GRAPH command\r\n").await;
    assert!(c.read_value().await.as_str().starts_with("command - high "));
    c.send("LATENCY DOCTOR\r\n").await;
    assert!(c.read_value().await.as_str().contains("latency spikes"));
    c.send("LATENCY RESET\r\n").await;
    assert_eq!(c.read_value().await, Resp::Int(1));
    c.send("LATENCY HELP\r\n").await;
    assert!(c.read_value().await.items()[0]
        .as_str()
        .starts_with("LATENCY <subcommand>"));
}

/// INFO's rates are sampled (every 100 ms, averaged over 16 samples, as
/// Redis's serverCron): under load they are not zero; socket reads and
/// writes are counted; latencystats has per-command percentiles.
#[tokio::test]
async fn info_rates_reads_and_latency_percentiles_follow_the_traffic() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let mut l = srv.raw().await;
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && sent < 200_000 {
                l.expect(&["SET", "k", "v"], b"+OK\r\n").await;
                sent += 1;
            }
        })
    };
    let text = |r: &Resp| r.as_str().to_string();
    let field = |info: &str, name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    poll_until(&mut c, &["INFO", "stats"], 1000, "ops/s under load", |r| {
        let info = text(r);
        field(&info, "instantaneous_ops_per_sec") > 0.0
            && field(&info, "instantaneous_input_kbps") > 0.0
            && field(&info, "instantaneous_output_kbps") > 0.0
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.await.expect("load task");
    let info = text(&c.val(&["INFO", "stats"]).await);
    assert!(field(&info, "total_reads_processed") > 0.0, "{info}");
    assert!(field(&info, "total_writes_processed") > 0.0, "{info}");
    let lat = text(&c.val(&["INFO", "latencystats"]).await);
    assert!(
        lat.lines()
            .any(|l| l.starts_with("latency_percentiles_usec_set:p50=")
                && l.contains(",p99=")
                && l.contains(",p99.9=")),
        "{lat}"
    );
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    let lat = text(&c.val(&["INFO", "latencystats"]).await);
    assert!(!lat.contains("usec_set:"), "{lat}");
}
