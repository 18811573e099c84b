//! ACL users end to end: a worker user confined to its queues and event
//! channels, ACL LOG, revocation disconnecting subscribers, users deleted
//! under their connections, and an ACL file saved and loaded back.

mod common;

use common::{Resp, TestServer};

const NOPERM_KEYS: &str =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
const NOPERM_CHANNELS: &str =
    "NOPERM this user has no permissions to access one of the channels used as arguments";

async fn login(s: &TestServer, user: &str, pass: &str) -> common::Raw {
    let mut c = s.raw().await;
    c.expect(&["AUTH", user, pass], b"+OK\r\n").await;
    c
}

fn log_entry(log: &Resp, reason: &str, object: &str) -> Option<Resp> {
    log.items()
        .iter()
        .find(|e| {
            e.get("reason") == Some(Resp::bulk(reason))
                && e.get("object") == Some(Resp::bulk(object))
        })
        .cloned()
}

#[tokio::test]
async fn a_worker_user_reaches_its_queues_and_channels_and_nothing_else() {
    let s = TestServer::start().await;
    let mut admin = s.raw().await;
    admin
        .expect(
            &[
                "ACL",
                "SETUSER",
                "worker",
                "on",
                ">w0rker",
                "resetchannels",
                "~queue:*",
                "&events.*",
                "-@all",
                "+lpush",
                "+brpop",
                "+xadd",
                "+xgroup|create",
                "+xreadgroup",
                "+subscribe",
                "+publish",
                "+ping",
                "+multi",
                "+exec",
            ],
            b"+OK\r\n",
        )
        .await;
    let mut w = login(&s, "worker", "w0rker").await;
    // Its queue keys: a list and a stream with a consumer group.
    assert_eq!(w.int(&["LPUSH", "queue:jobs", "j1"]).await, 1);
    let popped = w.val(&["BRPOP", "queue:jobs", "0"]).await;
    assert_eq!(popped.strings(), ["queue:jobs", "j1"]);
    let id = w
        .val(&["XADD", "queue:events", "*", "kind", "created"])
        .await;
    w.expect(&["XGROUP", "CREATE", "queue:events", "g", "0"], b"+OK\r\n")
        .await;
    let read = w
        .val(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "STREAMS",
            "queue:events",
            ">",
        ])
        .await;
    let entries = read.items()[0].items()[1].items();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].items()[0], id);
    // Other keys, other commands, other channels: refused with Redis's texts.
    let e = w.val(&["LPUSH", "billing:jobs", "j"]).await;
    assert_eq!(e, Resp::Error(NOPERM_KEYS.into()));
    let e = w.val(&["GET", "queue:jobs"]).await;
    assert_eq!(
        e,
        Resp::Error("NOPERM this user has no permissions to run the 'get' command".into())
    );
    let e = w.val(&["PUBLISH", "admin.alerts", "x"]).await;
    assert_eq!(e, Resp::Error(NOPERM_CHANNELS.into()));
    assert_eq!(w.int(&["PUBLISH", "events.created", "x"]).await, 0);
    // A refused key inside MULTI fails the transaction at EXEC.
    w.expect(&["MULTI"], b"+OK\r\n").await;
    let e = w.val(&["LPUSH", "other", "x"]).await;
    assert_eq!(e, Resp::Error(NOPERM_KEYS.into()));
    let e = w.val(&["EXEC"]).await;
    assert!(e.as_str().starts_with("EXECABORT"), "{e:?}");
    // Every refusal is in ACL LOG with its reason, object and context.
    let log = admin.val(&["ACL", "LOG"]).await;
    let key = log_entry(&log, "key", "billing:jobs").expect("key entry");
    assert_eq!(key.get("username"), Some(Resp::bulk("worker")));
    assert_eq!(key.get("context"), Some(Resp::bulk("toplevel")));
    assert!(log_entry(&log, "command", "get").is_some(), "{log:?}");
    assert!(
        log_entry(&log, "channel", "admin.alerts").is_some(),
        "{log:?}"
    );
    let multi = log_entry(&log, "key", "other").expect("multi entry");
    assert_eq!(multi.get("context"), Some(Resp::bulk("multi")));
    // DRYRUN answers for the user without running anything.
    admin
        .expect(
            &["ACL", "DRYRUN", "worker", "LPUSH", "queue:x", "1"],
            b"+OK\r\n",
        )
        .await;
    let dry = admin
        .val(&["ACL", "DRYRUN", "worker", "LPUSH", "other", "1"])
        .await;
    assert_eq!(
        dry.as_str(),
        "This user has no permissions to access the 'other' key"
    );
}

#[tokio::test]
async fn subscribers_lose_their_connection_when_their_channel_is_revoked() {
    let s = TestServer::start().await;
    let mut admin = s.raw().await;
    admin
        .expect(
            &[
                "ACL",
                "SETUSER",
                "listener",
                "on",
                "nopass",
                "resetchannels",
                "&events.*",
                "+subscribe",
            ],
            b"+OK\r\n",
        )
        .await;
    let mut sub = login(&s, "listener", "any").await;
    let e = sub.val(&["SUBSCRIBE", "secret"]).await;
    assert_eq!(e, Resp::Error(NOPERM_CHANNELS.into()));
    sub.send_cmd(&["SUBSCRIBE", "events.orders"]).await;
    assert_eq!(sub.read_value().await.items().len(), 3);
    // Keeping the channel (and adding one) pardons the subscriber.
    admin
        .expect(
            &["ACL", "SETUSER", "listener", "&events.*", "&more.*"],
            b"+OK\r\n",
        )
        .await;
    assert_eq!(admin.int(&["PUBLISH", "events.orders", "m1"]).await, 1);
    let msg = sub.read_value().await;
    assert_eq!(msg.items()[2], Resp::bulk("m1"));
    // Revoking it closes the connection.
    admin
        .expect(
            &["ACL", "SETUSER", "listener", "resetchannels", "&other.*"],
            b"+OK\r\n",
        )
        .await;
    sub.read_to_close().await;
    let clients = admin.val(&["CLIENT", "LIST"]).await;
    assert!(!String::from_utf8_lossy(match &clients {
        Resp::Bulk(b) => b,
        _ => panic!("CLIENT LIST: {clients:?}"),
    })
    .contains("user=listener"));
}

#[tokio::test]
async fn deleting_a_user_closes_its_connections_and_auth_failures_are_logged() {
    let s = TestServer::start().await;
    let mut admin = s.raw().await;
    admin
        .expect(
            &["ACL", "SETUSER", "temp", "on", ">pw", "+@all", "~*"],
            b"+OK\r\n",
        )
        .await;
    let mut t = login(&s, "temp", "pw").await;
    t.expect(&["ACL", "WHOAMI"], b"$4\r\ntemp\r\n").await;
    let e = admin.val(&["AUTH", "temp", "wrong"]).await;
    assert_eq!(
        e.as_str(),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    let log = admin.val(&["ACL", "LOG", "1"]).await;
    let entry = log_entry(&log, "auth", "AUTH").expect("auth entry");
    assert_eq!(entry.get("username"), Some(Resp::bulk("temp")));
    assert_eq!(admin.int(&["ACL", "DELUSER", "temp", "nobody"]).await, 1);
    t.read_to_close().await;
    // HELLO AUTH with a username, and the default user cannot go.
    admin
        .expect(&["ACL", "SETUSER", "h", "on", ">pw", "+@all"], b"+OK\r\n")
        .await;
    let hello = admin.val(&["HELLO", "3", "AUTH", "h", "pw"]).await;
    assert_eq!(hello.get("proto"), Some(Resp::Int(3)));
    let e = admin.val(&["ACL", "DELUSER", "default"]).await;
    assert_eq!(e.as_str(), "ERR The 'default' user cannot be removed");
}

#[tokio::test]
async fn an_acl_file_round_trips_through_save_and_load() {
    let dir = std::env::temp_dir().join(format!("cinnabar-aclfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("users.acl");
    std::fs::write(&path, "user default on nopass ~* &* +@all\n").expect("write");
    let path_str = path.to_str().expect("utf-8").to_string();
    let s = TestServer::start_with(&[("aclfile", &path_str)]).await;
    let mut c = s.raw().await;
    c.expect(
        &[
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">secret",
            "~queue:*",
            "&events.*",
            "-@all",
            "+@list",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["ACL", "SAVE"], b"+OK\r\n").await;
    let saved = std::fs::read_to_string(&path).expect("saved file");
    assert!(saved.contains("user alice on #"), "{saved}");
    // A change after the save is undone by LOAD.
    c.expect(&["ACL", "SETUSER", "alice", "off", "+@all"], b"+OK\r\n")
        .await;
    c.expect(&["ACL", "LOAD"], b"+OK\r\n").await;
    let alice = c.val(&["ACL", "GETUSER", "alice"]).await;
    assert_eq!(alice.get("keys"), Some(Resp::bulk("~queue:*")));
    assert_eq!(alice.get("channels"), Some(Resp::bulk("&events.*")));
    assert_eq!(alice.get("commands"), Some(Resp::bulk("-@all +@list")));
    let mut a = login(&s, "alice", "secret").await;
    assert_eq!(a.int(&["RPUSH", "queue:a", "1"]).await, 1);
    // A broken file is refused whole: nothing changes.
    std::fs::write(&path, "user alice on +nosuchcommand\nuser bob on\n").expect("write");
    let e = c.val(&["ACL", "LOAD"]).await;
    assert!(
        e.as_str()
            .contains("Error in applying operation '+nosuchcommand'"),
        "{e:?}"
    );
    assert_eq!(a.int(&["RPUSH", "queue:a", "2"]).await, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn listing_users_categories_and_generated_passwords() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(
        &["ACL", "SETUSER", "bob", "on", "nopass", "+@set"],
        b"+OK\r\n",
    )
    .await;
    let users = c.val(&["ACL", "USERS"]).await;
    assert_eq!(users.strings(), ["bob", "default"]);
    let list = c.val(&["ACL", "LIST"]).await;
    assert_eq!(
        list.strings(),
        [
            "user bob on nopass resetchannels -@all +@set",
            "user default on nopass ~* &* +@all"
        ]
    );
    let cats = c.val(&["ACL", "CAT"]).await.strings();
    assert_eq!(cats.len(), 21);
    assert!(cats.contains(&"pubsub".to_string()));
    let set_cmds = c.val(&["ACL", "CAT", "set"]).await.strings();
    assert!(set_cmds.contains(&"sadd".to_string()) && !set_cmds.contains(&"get".to_string()));
    let e = c.val(&["ACL", "CAT", "nosuch"]).await;
    assert_eq!(e.as_str(), "ERR Unknown category 'nosuch'");
    let pass = c.val(&["ACL", "GENPASS"]).await;
    assert_eq!(pass.as_str().len(), 64);
    assert!(pass.as_str().chars().all(|ch| ch.is_ascii_hexdigit()));
    assert_eq!(c.val(&["ACL", "GENPASS", "5"]).await.as_str().len(), 2);
    let help = c.val(&["ACL", "HELP"]).await.strings();
    assert!(help[0].starts_with("ACL <subcommand>"), "{help:?}");
}

/// The key specs ACL reads, as COMMAND GETKEYSANDFLAGS shows them (what
/// redis-server 7.0 answers for the same commands).
#[tokio::test]
async fn keys_and_flags_come_from_redis_key_specs() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let r = c
        .val(&[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "LMOVE",
            "a",
            "b",
            "LEFT",
            "RIGHT",
        ])
        .await;
    let keys = r.items();
    assert_eq!(keys[0].items()[0], Resp::bulk("a"));
    assert_eq!(keys[0].items()[1].strings(), ["RW", "access", "delete"]);
    assert_eq!(keys[1].items()[0], Resp::bulk("b"));
    assert_eq!(keys[1].items()[1].strings(), ["RW", "insert"]);
    let r = c
        .val(&["COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v", "GET"])
        .await;
    assert_eq!(
        r.items()[0].items()[1].strings(),
        ["RW", "access", "update"]
    );
    let e = c.val(&["COMMAND", "GETKEYSANDFLAGS", "PING", "x"]).await;
    assert_eq!(e.as_str(), "ERR The command has no key arguments");
}

/// Permissions changing under running clients: four clients of one user
/// LPUSH / RPOP on their keys while another connection flips the user's
/// key patterns 200 times. Every reply is the command's own or NOPERM
/// (never a stale half-applied rule set), and once the last change is
/// acknowledged every client follows it.
#[tokio::test]
async fn permission_changes_race_running_clients() {
    let s = TestServer::start().await;
    let mut admin = s.raw().await;
    admin
        .expect(
            &[
                "ACL", "SETUSER", "racer", "on", "nopass", "~q:*", "+lpush", "+rpop",
            ],
            b"+OK\r\n",
        )
        .await;
    let mut workers = Vec::new();
    for w in 0..4 {
        let mut c = login(&s, "racer", "x").await;
        workers.push(tokio::spawn(async move {
            let key = format!("q:{w}");
            let (mut ok, mut denied) = (0, 0);
            for i in 0..300 {
                let r = if i % 2 == 0 {
                    c.val(&["LPUSH", &key, "v"]).await
                } else {
                    c.val(&["RPOP", &key]).await
                };
                match r {
                    Resp::Error(e) => {
                        assert_eq!(e, NOPERM_KEYS, "only a key refusal is possible");
                        denied += 1;
                    }
                    Resp::Int(_) | Resp::Bulk(_) | Resp::NilBulk => ok += 1,
                    other => panic!("unexpected reply {other:?}"),
                }
            }
            (c, key, ok + denied)
        }));
    }
    for i in 0..200 {
        let pattern = if i % 2 == 0 { "~other:*" } else { "~q:*" };
        admin
            .expect(
                &["ACL", "SETUSER", "racer", "resetkeys", pattern],
                b"+OK\r\n",
            )
            .await;
    }
    // Back to ~q:* (as the loop's last change): in force for every client.
    admin
        .expect(
            &["ACL", "SETUSER", "racer", "resetkeys", "~q:*"],
            b"+OK\r\n",
        )
        .await;
    for w in workers {
        let (mut c, key, replies) = w.await.expect("worker");
        assert_eq!(replies, 300);
        assert!(matches!(
            c.val(&["LPUSH", &key, "last"]).await,
            Resp::Int(_)
        ));
    }
    admin
        .expect(
            &["ACL", "SETUSER", "racer", "resetkeys", "~other:*"],
            b"+OK\r\n",
        )
        .await;
    let mut c = login(&s, "racer", "x").await;
    assert_eq!(
        c.val(&["LPUSH", "q:0", "v"]).await,
        Resp::Error(NOPERM_KEYS.into())
    );
}
