//! Pub/sub basics and keyspace notifications (after Redis's `unit/pubsub.tcl`
//! and `unit/pubsubshard.tcl`).

mod common;

use std::collections::BTreeSet;

use common::{assert_bytes, poll_until, Resp, TestServer};

fn subscribe_frame(kind: &str, channel: &str, count: i64) -> Vec<u8> {
    format!(
        "*3\r\n${}\r\n{kind}\r\n${}\r\n{channel}\r\n:{count}\r\n",
        kind.len(),
        channel.len()
    )
    .into_bytes()
}

fn message_frame(channel: &str, msg: &str) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{msg}\r\n",
        channel.len(),
        msg.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn subscribe_publish_unsubscribe() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "a", "b"]).await;
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            subscribe_frame("subscribe", "a", 1),
            subscribe_frame("subscribe", "b", 2),
        ]
        .concat(),
        "SUBSCRIBE a b",
    );
    publisher
        .expect(&["PUBLISH", "a", "hello"], b":1\r\n")
        .await;
    assert_bytes(
        &sub.read_frame().await,
        &message_frame("a", "hello"),
        "message on a",
    );
    publisher
        .expect(&["PUBLISH", "nobody", "x"], b":0\r\n")
        .await;
    publisher
        .expect(&["PUBLISH", "b", "world"], b":1\r\n")
        .await;
    assert_bytes(
        &sub.read_frame().await,
        &message_frame("b", "world"),
        "message on b",
    );
    // Subscribing twice to a channel does not count it twice.
    sub.send_cmd(&["SUBSCRIBE", "a"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("subscribe", "a", 2),
        "re-SUBSCRIBE a",
    );
    sub.send_cmd(&["UNSUBSCRIBE", "a"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("unsubscribe", "a", 1),
        "UNSUBSCRIBE a",
    );
    publisher.expect(&["PUBLISH", "a", "gone"], b":0\r\n").await;
    // UNSUBSCRIBE without arguments drops the rest; with none left, a nil channel.
    sub.send_cmd(&["UNSUBSCRIBE"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("unsubscribe", "b", 0),
        "UNSUBSCRIBE",
    );
    sub.send_cmd(&["UNSUBSCRIBE"]).await;
    assert_bytes(
        &sub.read_frame().await,
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
        "UNSUBSCRIBE with none",
    );
    // Out of subscribed mode, ordinary commands work again.
    sub.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    sub.expect(&["PING"], b"+PONG\r\n").await;
}

#[tokio::test]
async fn messages_arrive_in_publish_order() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "ch"]).await;
    sub.read_frame().await;
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..500 {
        req.extend(common::encode(&["PUBLISH", "ch", &format!("m{i}")]));
        expected.extend(message_frame("ch", &format!("m{i}")));
    }
    publisher.send(&req).await;
    assert_eq!(publisher.read_frames(500).await, b":1\r\n".repeat(500));
    assert_bytes(
        &sub.read_frames(500).await,
        &expected,
        "500 messages in order",
    );
}

#[tokio::test]
async fn psubscribe_and_punsubscribe() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    sub.send_cmd(&["PSUBSCRIBE", "news.*", "h?llo"]).await;
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            subscribe_frame("psubscribe", "news.*", 1),
            subscribe_frame("psubscribe", "h?llo", 2),
        ]
        .concat(),
        "PSUBSCRIBE",
    );
    publisher
        .expect(&["PUBLISH", "news.tech", "rust"], b":1\r\n")
        .await;
    assert_bytes(
        &sub.read_frame().await,
        b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$4\r\nrust\r\n",
        "pmessage",
    );
    publisher
        .expect(&["PUBLISH", "hallo", "x"], b":1\r\n")
        .await;
    assert_bytes(
        &sub.read_frame().await,
        b"*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhallo\r\n$1\r\nx\r\n",
        "pmessage h?llo",
    );
    publisher
        .expect(&["PUBLISH", "sports", "x"], b":0\r\n")
        .await;
    // A channel subscriber and a pattern both receive: PUBLISH counts deliveries.
    let mut sub2 = srv.raw().await;
    sub2.send_cmd(&["SUBSCRIBE", "news.tech"]).await;
    sub2.read_frame().await;
    publisher
        .expect(&["PUBLISH", "news.tech", "both"], b":2\r\n")
        .await;
    assert_bytes(
        &sub2.read_frame().await,
        &message_frame("news.tech", "both"),
        "channel subscriber",
    );
    sub.read_frame().await;
    publisher.expect(&["PUBSUB", "NUMPAT"], b":2\r\n").await;
    sub.send_cmd(&["PUNSUBSCRIBE", "news.*"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("punsubscribe", "news.*", 1),
        "PUNSUBSCRIBE news.*",
    );
    sub.send_cmd(&["PUNSUBSCRIBE"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("punsubscribe", "h?llo", 0),
        "PUNSUBSCRIBE",
    );
    publisher.expect(&["PUBSUB", "NUMPAT"], b":0\r\n").await;
    publisher
        .expect(&["PUBLISH", "news.tech", "one"], b":1\r\n")
        .await;
}

#[tokio::test]
async fn shard_channels() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    sub.send_cmd(&["SSUBSCRIBE", "s1"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("ssubscribe", "s1", 1),
        "SSUBSCRIBE",
    );
    publisher.expect(&["SPUBLISH", "s1", "m"], b":1\r\n").await;
    assert_bytes(
        &sub.read_frame().await,
        b"*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$1\r\nm\r\n",
        "smessage",
    );
    // Shard channels and ordinary channels are separate namespaces.
    publisher.expect(&["PUBLISH", "s1", "m"], b":0\r\n").await;
    publisher
        .expect(&["PUBSUB", "SHARDCHANNELS"], b"*1\r\n$2\r\ns1\r\n")
        .await;
    publisher
        .expect(&["PUBSUB", "SHARDCHANNELS", "x*"], b"*0\r\n")
        .await;
    publisher
        .expect(
            &["PUBSUB", "SHARDNUMSUB", "s1", "s2"],
            b"*4\r\n$2\r\ns1\r\n:1\r\n$2\r\ns2\r\n:0\r\n",
        )
        .await;
    publisher.expect(&["PUBSUB", "CHANNELS"], b"*0\r\n").await;
    sub.send_cmd(&["SUNSUBSCRIBE"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("sunsubscribe", "s1", 0),
        "SUNSUBSCRIBE",
    );
    publisher.expect(&["SPUBLISH", "s1", "m"], b":0\r\n").await;
    sub.send_cmd(&["SUNSUBSCRIBE", "x"]).await;
    assert_bytes(
        &sub.read_frame().await,
        &subscribe_frame("sunsubscribe", "x", 0),
        "SUNSUBSCRIBE x",
    );
}

#[tokio::test]
async fn pubsub_introspection() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut c = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "alpha", "beta", "gamma"]).await;
    sub.read_frames(3).await;
    sub.send_cmd(&["PSUBSCRIBE", "p*"]).await;
    sub.read_frame().await;
    let channels: BTreeSet<String> = c
        .val(&["PUBSUB", "CHANNELS"])
        .await
        .strings()
        .into_iter()
        .collect();
    assert_eq!(
        channels,
        ["alpha", "beta", "gamma"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    let channels = c.val(&["PUBSUB", "CHANNELS", "?e*"]).await.strings();
    assert_eq!(channels, ["beta"]);
    c.expect(
        &["PUBSUB", "NUMSUB", "alpha", "nope"],
        b"*4\r\n$5\r\nalpha\r\n:1\r\n$4\r\nnope\r\n:0\r\n",
    )
    .await;
    c.expect(&["PUBSUB", "NUMSUB"], b"*0\r\n").await;
    c.expect(&["PUBSUB", "NUMPAT"], b":1\r\n").await;
    let help = c.val(&["PUBSUB", "HELP"]).await.strings();
    assert_eq!(
        help[0],
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(&help[help.len() - 2..], ["HELP", "    Prints this help."]);
    c.expect(
        &["PUBSUB", "NOPE"],
        b"-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n",
    )
    .await;
    // A subscriber that disconnects is forgotten.
    drop(sub);
    poll_until(
        &mut c,
        &["PUBSUB", "NUMSUB", "alpha"],
        500,
        "disconnected subscriber removed",
        |r| r.items().get(1) == Some(&Resp::Int(0)),
    )
    .await;
    c.expect(&["PUBSUB", "NUMPAT"], b":0\r\n").await;
    c.expect(&["PUBSUB", "CHANNELS"], b"*0\r\n").await;
}

/// In RESP2 a subscribed client may only use the subscription commands,
/// PING (answered in message form), QUIT and RESET.
#[tokio::test]
async fn resp2_subscribed_mode() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "ch"]).await;
    sub.read_frame().await;
    sub.expect(&["PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    sub.expect(&["PING", "hi"], b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n")
        .await;
    sub.expect(
        &["GET", "k"],
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    )
    .await;
    sub.expect(&["RESET"], b"+RESET\r\n").await;
    sub.expect(&["GET", "k"], b"$-1\r\n").await;
    let mut c = srv.raw().await;
    c.expect(&["PUBLISH", "ch", "x"], b":0\r\n").await;
    sub.send_cmd(&["SUBSCRIBE", "ch"]).await;
    sub.read_frame().await;
    sub.send(b"QUIT\r\n").await;
    assert_bytes(
        &sub.read_to_close().await,
        b"+OK\r\n",
        "QUIT while subscribed",
    );
}

/// In RESP3 messages are pushes and any command may be used while subscribed.
#[tokio::test]
async fn resp3_pushes_and_commands_while_subscribed() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    sub.cmd(&["HELLO", "3"]).await;
    sub.expect(
        &["SUBSCRIBE", "c"],
        b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    )
    .await;
    publisher.expect(&["PUBLISH", "c", "hi"], b":1\r\n").await;
    assert_bytes(
        &sub.read_frame().await,
        b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n",
        "push message",
    );
    sub.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    sub.expect(&["GET", "k"], b"$1\r\nv\r\n").await;
    sub.expect(&["GET", "none"], b"_\r\n").await;
    sub.expect(&["PING"], b"+PONG\r\n").await;
    sub.expect(
        &["PUNSUBSCRIBE"],
        b">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n",
    )
    .await;
    sub.expect(
        &["UNSUBSCRIBE"],
        b">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n",
    )
    .await;
}

/// Keyspace notifications go through the same pub/sub machinery.
#[tokio::test]
async fn keyspace_notifications() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = srv.raw().await;
    c.expect(
        &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "notify-keyspace-events"],
        b"*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n",
    )
    .await;
    sub.send_cmd(&["PSUBSCRIBE", "__key*__:*"]).await;
    sub.read_frame().await;
    let pmsg = |channel: &str, msg: &str| -> Vec<u8> {
        format!(
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n${}\r\n{channel}\r\n${}\r\n{msg}\r\n",
            channel.len(),
            msg.len()
        )
        .into_bytes()
    };
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            pmsg("__keyspace@0__:k", "set"),
            pmsg("__keyevent@0__:set", "k"),
        ]
        .concat(),
        "SET events",
    );
    c.expect(&["EXPIRE", "k", "100"], b":1\r\n").await;
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            pmsg("__keyspace@0__:k", "expire"),
            pmsg("__keyevent@0__:expire", "k"),
        ]
        .concat(),
        "EXPIRE events",
    );
    c.expect(&["DEL", "k"], b":1\r\n").await;
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            pmsg("__keyspace@0__:k", "del"),
            pmsg("__keyevent@0__:del", "k"),
        ]
        .concat(),
        "DEL events",
    );
    // Nothing for a no-op, and the expiry of a key is announced.
    c.expect(&["DEL", "k"], b":0\r\n").await;
    c.expect(&["SET", "e", "v", "PX", "1"], b"+OK\r\n").await;
    assert_bytes(
        &sub.read_frames(4).await,
        &[
            pmsg("__keyspace@0__:e", "set"),
            pmsg("__keyevent@0__:set", "e"),
            pmsg("__keyspace@0__:e", "expire"),
            pmsg("__keyevent@0__:expire", "e"),
        ]
        .concat(),
        "SET PX events",
    );
    assert_bytes(
        &sub.read_frames(2).await,
        &[
            pmsg("__keyspace@0__:e", "expired"),
            pmsg("__keyevent@0__:expired", "e"),
        ]
        .concat(),
        "expired events",
    );
    c.expect(&["CONFIG", "SET", "notify-keyspace-events", ""], b"+OK\r\n")
        .await;
    c.expect(&["SET", "quiet", "v"], b"+OK\r\n").await;
    sub.send_cmd(&["PING"]).await;
    assert_bytes(
        &sub.read_frame().await,
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        "no event when disabled",
    );
}

// ---------------------------------------------------------------------------
// RESP2 and RESP3 subscribers, patterns, introspection
// ---------------------------------------------------------------------------

fn pmessage_frame(pattern: &str, channel: &str, msg: &str) -> Vec<u8> {
    format!(
        "*4\r\n$8\r\npmessage\r\n${}\r\n{pattern}\r\n${}\r\n{channel}\r\n${}\r\n{msg}\r\n",
        pattern.len(),
        channel.len(),
        msg.len()
    )
    .into_bytes()
}

/// The same RESP2 frame as a RESP3 push (`>` instead of `*`).
fn as_push(frame: Vec<u8>) -> Vec<u8> {
    let mut f = frame;
    assert_eq!(f[0], b'*');
    f[0] = b'>';
    f
}

/// One publish reaches RESP2 and RESP3 subscribers, each in its own framing;
/// the RESP3 one keeps running commands, and its pushes interleave with replies.
#[tokio::test]
async fn resp2_and_resp3_subscribers_together() {
    let srv = TestServer::start().await;
    let mut r2 = srv.raw().await;
    let mut r3 = srv.raw().await;
    let mut publisher = srv.raw().await;
    r3.cmd(&["HELLO", "3"]).await;
    r2.send_cmd(&["SUBSCRIBE", "news"]).await;
    assert_bytes(
        &r2.read_frame().await,
        &subscribe_frame("subscribe", "news", 1),
        "RESP2 subscribe",
    );
    r3.send_cmd(&["SUBSCRIBE", "news"]).await;
    assert_bytes(
        &r3.read_frame().await,
        &as_push(subscribe_frame("subscribe", "news", 1)),
        "RESP3 subscribe",
    );
    r3.send_cmd(&["PSUBSCRIBE", "n*"]).await;
    assert_bytes(
        &r3.read_frame().await,
        &as_push(subscribe_frame("psubscribe", "n*", 2)),
        "RESP3 psubscribe",
    );
    r3.send_cmd(&["SSUBSCRIBE", "shard"]).await;
    assert_bytes(
        &r3.read_frame().await,
        &as_push(subscribe_frame("ssubscribe", "shard", 1)),
        "RESP3 ssubscribe",
    );
    publisher
        .expect(&["PUBLISH", "news", "hi"], b":3\r\n")
        .await;
    assert_bytes(
        &r2.read_frame().await,
        &message_frame("news", "hi"),
        "RESP2 message",
    );
    assert_bytes(
        &r3.read_frames(2).await,
        &[
            as_push(message_frame("news", "hi")),
            as_push(pmessage_frame("n*", "news", "hi")),
        ]
        .concat(),
        "RESP3 message and pmessage",
    );
    publisher
        .expect(&["SPUBLISH", "shard", "s"], b":1\r\n")
        .await;
    assert_bytes(
        &r3.read_frame().await,
        b">3\r\n$8\r\nsmessage\r\n$5\r\nshard\r\n$1\r\ns\r\n",
        "RESP3 smessage",
    );
    // Commands while subscribed, RESP3 only.
    r3.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    r3.expect(&["INCR", "n"], b":1\r\n").await;
    r3.expect(&["PING"], b"+PONG\r\n").await;
    r2.expect(
        &["SET", "k", "v"],
        b"-ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    )
    .await;
    // A publish while the RESP3 client's GET is pipelined: both arrive, and
    // the reply to GET is a plain bulk, the message a push.
    publisher
        .expect(&["PUBLISH", "news", "again"], b":3\r\n")
        .await;
    r3.send_cmd(&["GET", "k"]).await;
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.push(r3.read_frame().await);
    }
    assert!(frames.contains(&b"$1\r\nv\r\n".to_vec()), "{frames:?}");
    assert!(
        frames.contains(&as_push(message_frame("news", "again"))),
        "{frames:?}"
    );
    assert!(
        frames.contains(&as_push(pmessage_frame("n*", "news", "again"))),
        "{frames:?}"
    );
    assert_bytes(
        &r2.read_frame().await,
        &message_frame("news", "again"),
        "RESP2 message 2",
    );
    // CLIENT LIST shows the subscription counts and the protocol.
    let list = publisher
        .val(&["CLIENT", "LIST"])
        .await
        .as_str()
        .to_string();
    assert!(
        list.lines()
            .any(|l| l.contains(" sub=1 psub=1 ssub=1 ") && l.contains(" resp=3")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.contains(" flags=P ") && l.contains(" sub=1 psub=0 ssub=0 ")),
        "{list}"
    );
}

/// RESP2 subscribed mode is entered by any kind of subscription, including
/// SSUBSCRIBE, and left when the last one is gone.
#[tokio::test]
async fn resp2_subscribed_mode_by_any_subscription() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let refused = b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";
    for (sub, unsub, name) in [
        ("SUBSCRIBE", "UNSUBSCRIBE", "c"),
        ("PSUBSCRIBE", "PUNSUBSCRIBE", "p*"),
        ("SSUBSCRIBE", "SUNSUBSCRIBE", "s"),
    ] {
        let lower = sub.to_ascii_lowercase();
        c.expect(&[sub, name], subscribe_frame(&lower, name, 1))
            .await;
        c.expect(&["GET", "k"], refused).await;
        c.expect(&["PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n").await;
        c.expect(
            &[unsub],
            subscribe_frame(&unsub.to_ascii_lowercase(), name, 0),
        )
        .await;
        c.expect(&["PING"], b"+PONG\r\n").await;
        c.expect(&["GET", "k"], b"$-1\r\n").await;
    }
    // With no subscriptions at all, each unsubscribe answers once with a nil name.
    c.expect(
        &["UNSUBSCRIBE"],
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    c.expect(
        &["PUNSUBSCRIBE"],
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    c.expect(
        &["SUNSUBSCRIBE"],
        b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    // Unsubscribing from a channel never subscribed still confirms it.
    c.expect(
        &["UNSUBSCRIBE", "never"],
        b"*3\r\n$11\r\nunsubscribe\r\n$5\r\nnever\r\n:0\r\n",
    )
    .await;
    // SUBSCRIBE inside MULTI is allowed, SSUBSCRIBE is not.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["SUBSCRIBE", "m"], b"+QUEUED\r\n").await;
    c.expect(&["SSUBSCRIBE", "sm"], b"+QUEUED\r\n").await;
    let mut exec = b"*2\r\n".to_vec();
    exec.extend(subscribe_frame("subscribe", "m", 1));
    exec.extend(b"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n");
    c.expect(&["EXEC"], exec).await;
    c.expect(&["GET", "k"], refused).await;
}

/// UNSUBSCRIBE / PUNSUBSCRIBE without arguments: one confirmation per
/// subscription (in no particular order), the count going down to 0.
#[tokio::test]
async fn unsubscribe_all_confirms_each() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.send_cmd(&["SUBSCRIBE", "c1", "c2", "c3"]).await;
    c.read_frames(3).await;
    c.send_cmd(&["PSUBSCRIBE", "p1", "p2"]).await;
    assert_bytes(
        &c.read_frames(2).await,
        &[
            subscribe_frame("psubscribe", "p1", 4),
            subscribe_frame("psubscribe", "p2", 5),
        ]
        .concat(),
        "the count is channels + patterns",
    );
    c.send_cmd(&["UNSUBSCRIBE"]).await;
    let mut names = BTreeSet::new();
    for expected_count in [4, 3, 2] {
        let v = c.read_value().await;
        let items = v.items();
        assert_eq!(items[0], Resp::bulk("unsubscribe"));
        assert_eq!(items[2], Resp::Int(expected_count));
        names.insert(items[1].as_str().to_string());
    }
    assert_eq!(
        names,
        ["c1", "c2", "c3"].map(String::from).into_iter().collect()
    );
    c.send_cmd(&["PUNSUBSCRIBE"]).await;
    let mut names = BTreeSet::new();
    for expected_count in [1, 0] {
        let v = c.read_value().await;
        assert_eq!(v.items()[0], Resp::bulk("punsubscribe"));
        assert_eq!(v.items()[2], Resp::Int(expected_count));
        names.insert(v.items()[1].as_str().to_string());
    }
    assert_eq!(names, ["p1", "p2"].map(String::from).into_iter().collect());
    c.assert_idle().await;
}

/// Glob patterns: `*`, `?`, `[a-z]`, `[^…]`, and backslash escapes.
#[tokio::test]
async fn psubscribe_glob_patterns() {
    let srv = TestServer::start().await;
    let mut sub = srv.raw().await;
    let mut publisher = srv.raw().await;
    let patterns = [
        "news.[a-c]*",
        "h?llo",
        r"h\?llo",
        "x[^0-9]",
        r"lit\*",
        r"a\[b",
        "[xy]z[-!]",
        "*end",
    ];
    let mut req = vec!["PSUBSCRIBE"];
    req.extend(patterns);
    sub.send_cmd(&req).await;
    sub.read_frames(patterns.len()).await;
    publisher
        .expect(&["PUBSUB", "NUMPAT"], format!(":{}\r\n", patterns.len()))
        .await;
    // channel → the patterns it matches, in subscription order.
    let cases: &[(&str, &[&str])] = &[
        ("news.a1", &["news.[a-c]*"]),
        ("news.c", &["news.[a-c]*"]),
        ("news.d1", &[]),
        ("news.", &[]),
        ("hello", &["h?llo"]),
        ("h?llo", &["h?llo", r"h\?llo"]),
        ("hllo", &[]),
        ("xa", &["x[^0-9]"]),
        ("x1", &[]),
        ("xab", &[]),
        ("lit*", &[r"lit\*"]),
        ("litx", &[]),
        ("a[b", &[r"a\[b"]),
        ("ab", &[]),
        ("xz!", &["[xy]z[-!]"]),
        ("yz-", &["[xy]z[-!]"]),
        ("zz!", &[]),
        ("the end", &["*end"]),
        ("end", &["*end"]),
        ("endx", &[]),
    ];
    for (channel, matching) in cases {
        publisher
            .expect(
                &["PUBLISH", channel, "m"],
                format!(":{}\r\n", matching.len()),
            )
            .await;
        // Several matching patterns deliver in no particular order.
        let mut got = Vec::new();
        for _ in 0..matching.len() {
            got.push(sub.read_frame().await);
        }
        got.sort();
        let mut want: Vec<Vec<u8>> = matching
            .iter()
            .map(|p| pmessage_frame(p, channel, "m"))
            .collect();
        want.sort();
        assert_eq!(
            got.iter().map(|f| common::show(f)).collect::<Vec<_>>(),
            want.iter().map(|f| common::show(f)).collect::<Vec<_>>(),
            "{channel} matches {matching:?}"
        );
    }
    assert_idle_subscribed(&mut sub).await;
    // The same pattern twice, from two clients, counts once in NUMPAT.
    let mut sub2 = srv.raw().await;
    sub2.send_cmd(&["PSUBSCRIBE", "h?llo"]).await;
    sub2.read_frame().await;
    publisher
        .expect(&["PUBSUB", "NUMPAT"], format!(":{}\r\n", patterns.len()))
        .await;
    publisher
        .expect(&["PUBLISH", "hallo", "2"], b":2\r\n")
        .await;
}

#[tokio::test]
async fn pubsub_counts_and_channel_lists() {
    let srv = TestServer::start().await;
    let mut a = srv.raw().await;
    let mut b = srv.raw().await;
    let mut c = srv.raw().await;
    a.send_cmd(&["SUBSCRIBE", "news.uk", "news.fr", "sport"])
        .await;
    a.read_frames(3).await;
    b.send_cmd(&["SUBSCRIBE", "news.uk"]).await;
    b.read_frame().await;
    b.send_cmd(&["PSUBSCRIBE", "news.*", "x"]).await;
    b.read_frames(2).await;
    a.send_cmd(&["PSUBSCRIBE", "news.*"]).await;
    a.read_frame().await;
    a.send_cmd(&["SSUBSCRIBE", "s1", "s2"]).await;
    a.read_frames(2).await;
    b.send_cmd(&["SSUBSCRIBE", "s1"]).await;
    b.read_frame().await;
    c.expect(
        &["PUBSUB", "NUMSUB", "news.uk", "news.fr", "sport", "none"],
        b"*8\r\n$7\r\nnews.uk\r\n:2\r\n$7\r\nnews.fr\r\n:1\r\n$5\r\nsport\r\n:1\r\n$4\r\nnone\r\n:0\r\n",
    )
    .await;
    // NUMSUB counts channel subscribers only; NUMPAT unique patterns.
    c.expect(
        &["PUBSUB", "NUMSUB", "news.*"],
        b"*2\r\n$6\r\nnews.*\r\n:0\r\n",
    )
    .await;
    c.expect(&["PUBSUB", "NUMPAT"], b":2\r\n").await;
    let sorted = |r: Resp| -> Vec<String> {
        let mut v = r.strings();
        v.sort();
        v
    };
    assert_eq!(
        sorted(c.val(&["PUBSUB", "CHANNELS"]).await),
        ["news.fr", "news.uk", "sport"]
    );
    assert_eq!(
        sorted(c.val(&["PUBSUB", "CHANNELS", "news.*"]).await),
        ["news.fr", "news.uk"]
    );
    assert_eq!(
        sorted(c.val(&["PUBSUB", "CHANNELS", "*[kt]"]).await),
        ["news.uk", "sport"]
    );
    c.expect(&["PUBSUB", "CHANNELS", "s1"], b"*0\r\n").await;
    assert_eq!(
        sorted(c.val(&["PUBSUB", "SHARDCHANNELS"]).await),
        ["s1", "s2"]
    );
    c.expect(&["PUBSUB", "SHARDCHANNELS", "*2"], b"*1\r\n$2\r\ns2\r\n")
        .await;
    c.expect(
        &["PUBSUB", "SHARDNUMSUB", "s1", "s2", "sport"],
        b"*6\r\n$2\r\ns1\r\n:2\r\n$2\r\ns2\r\n:1\r\n$5\r\nsport\r\n:0\r\n",
    )
    .await;
    c.expect(&["PUBSUB", "SHARDNUMSUB"], b"*0\r\n").await;
    // PUBLISH counts every delivery: 2 channel subscribers + 2 pattern matches.
    c.expect(&["PUBLISH", "news.uk", "m"], b":4\r\n").await;
    c.expect(&["SPUBLISH", "s1", "m"], b":2\r\n").await;
    // Arity errors.
    c.expect(
        &["PUBSUB", "CHANNELS", "a", "b"],
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
    )
    .await;
    c.expect(
        &["PUBSUB", "NUMPAT", "x"],
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
    )
    .await;
    c.expect(
        &["PUBLISH", "ch"],
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    )
    .await;
    // Dropping a subscriber updates every count.
    drop(a);
    poll_until(
        &mut c,
        &["PUBSUB", "NUMSUB", "news.uk"],
        500,
        "a's subscriptions dropped",
        |r| r.items().get(1) == Some(&Resp::Int(1)),
    )
    .await;
    c.expect(&["PUBSUB", "NUMPAT"], b":2\r\n").await;
    c.expect(&["PUBSUB", "SHARDCHANNELS"], b"*1\r\n$2\r\ns1\r\n")
        .await;
    c.expect(&["PUBSUB", "CHANNELS"], b"*1\r\n$7\r\nnews.uk\r\n")
        .await;
}

// ---------------------------------------------------------------------------
// Keyspace notifications, family by family
// ---------------------------------------------------------------------------

const EVENTS_PATTERN: &str = "__key*__:*";

/// Nothing pending for a RESP2 subscriber: a PING comes back as the next frame.
async fn assert_idle_subscribed(sub: &mut common::Raw) {
    sub.send_cmd(&["PING"]).await;
    assert_bytes(
        &sub.read_frame().await,
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        "next frame after PING (something unexpected was pending)",
    );
}

/// A client subscribed to every keyspace and keyevent channel, after turning
/// notifications on with `flags`.
async fn events_subscriber(srv: &TestServer, flags: &str) -> common::Raw {
    srv.event_subscriber(flags, EVENTS_PATTERN).await
}

/// Reads the keyspace then keyevent message of each `(db, event, key)`, in
/// order, then checks nothing else was sent (a PING round trip).
async fn expect_events(sub: &mut common::Raw, events: &[(u32, &str, &str)], what: &str) {
    let mut expected = Vec::new();
    for (db, event, key) in events {
        expected.extend(pmessage_frame(
            EVENTS_PATTERN,
            &format!("__keyspace@{db}__:{key}"),
            event,
        ));
        expected.extend(pmessage_frame(
            EVENTS_PATTERN,
            &format!("__keyevent@{db}__:{event}"),
            key,
        ));
    }
    let got = sub.read_frames(events.len() * 2).await;
    assert_bytes(&got, &expected, what);
    assert_idle_subscribed(sub).await;
}

#[tokio::test]
async fn keyspace_events_for_strings() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = events_subscriber(&srv, "KEA").await;
    c.expect(&["SET", "s", "10"], b"+OK\r\n").await;
    expect_events(&mut sub, &[(0, "set", "s")], "SET").await;
    c.expect(&["INCRBY", "s", "5"], b":15\r\n").await;
    c.expect(&["INCR", "s"], b":16\r\n").await;
    c.expect(&["DECR", "s"], b":15\r\n").await;
    expect_events(
        &mut sub,
        // Redis announces every INCR/DECR variant as `incrby`.
        &[(0, "incrby", "s"), (0, "incrby", "s"), (0, "incrby", "s")],
        "INCRBY / INCR / DECR",
    )
    .await;
    c.expect(&["APPEND", "s", "x"], b":3\r\n").await;
    expect_events(&mut sub, &[(0, "append", "s")], "APPEND").await;
    c.expect(&["SETRANGE", "s", "0", "ab"], b":3\r\n").await;
    expect_events(&mut sub, &[(0, "setrange", "s")], "SETRANGE").await;
    c.expect(&["EXPIRE", "s", "100"], b":1\r\n").await;
    expect_events(&mut sub, &[(0, "expire", "s")], "EXPIRE").await;
    c.expect(&["DEL", "s", "missing"], b":1\r\n").await;
    expect_events(&mut sub, &[(0, "del", "s")], "DEL").await;
    // No-ops send nothing.
    c.expect(&["DEL", "s"], b":0\r\n").await;
    c.expect(&["EXPIRE", "s", "100"], b":0\r\n").await;
    c.expect(&["SETNX", "n", "1"], b":1\r\n").await;
    c.expect(&["SETNX", "n", "2"], b":0\r\n").await;
    expect_events(&mut sub, &[(0, "set", "n")], "SETNX").await;
    // A key that expires: `expired`, announced once, whoever notices first.
    c.expect(&["SET", "e", "v"], b"+OK\r\n").await;
    c.expect(&["PEXPIRE", "e", "1"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "set", "e"), (0, "expire", "e")],
        "SET + PEXPIRE",
    )
    .await;
    poll_until(&mut c, &["EXISTS", "e"], 500, "e expired", |r| {
        *r == Resp::Int(0)
    })
    .await;
    expect_events(&mut sub, &[(0, "expired", "e")], "expired").await;
}

#[tokio::test]
async fn keyspace_events_for_lists() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = events_subscriber(&srv, "KEA").await;
    c.expect(&["RPUSH", "l", "a", "b", "c"], b":3\r\n").await;
    c.expect(&["LPUSH", "l", "z"], b":4\r\n").await;
    c.expect(&["LINSERT", "l", "BEFORE", "a", "x"], b":5\r\n")
        .await;
    c.expect(&["LSET", "l", "0", "y"], b"+OK\r\n").await;
    c.expect(&["LREM", "l", "1", "x"], b":1\r\n").await;
    c.expect(&["LTRIM", "l", "0", "2"], b"+OK\r\n").await;
    c.expect(&["LPOP", "l"], b"$1\r\ny\r\n").await;
    c.expect(&["RPOP", "l"], b"$1\r\nb\r\n").await;
    expect_events(
        &mut sub,
        &[
            (0, "rpush", "l"),
            (0, "lpush", "l"),
            (0, "linsert", "l"),
            (0, "lset", "l"),
            (0, "lrem", "l"),
            (0, "ltrim", "l"),
            (0, "lpop", "l"),
            (0, "rpop", "l"),
        ],
        "list commands",
    )
    .await;
    // No-ops.
    c.expect(&["LPUSHX", "missing", "a"], b":0\r\n").await;
    c.expect(&["LREM", "l", "0", "nope"], b":0\r\n").await;
    c.expect(&["LPOP", "missing"], b"$-1\r\n").await;
    c.expect(&["LINSERT", "l", "BEFORE", "nope", "x"], b":-1\r\n")
        .await;
    // LMOVE: the push on the destination, then the pop on the source, then
    // the source's deletion when it ran dry.
    c.expect(&["LMOVE", "l", "l2", "LEFT", "RIGHT"], b"$1\r\na\r\n")
        .await;
    expect_events(
        &mut sub,
        &[(0, "rpush", "l2"), (0, "lpop", "l"), (0, "del", "l")],
        "LMOVE",
    )
    .await;
    c.expect(&["RPOPLPUSH", "l2", "l3"], b"$1\r\na\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "lpush", "l3"), (0, "rpop", "l2"), (0, "del", "l2")],
        "RPOPLPUSH",
    )
    .await;
    // Emptying a list by LREM or LTRIM deletes it.
    c.expect(&["RPUSH", "l", "v", "w"], b":2\r\n").await;
    c.expect(&["LREM", "l", "0", "v"], b":1\r\n").await;
    c.expect(&["LTRIM", "l", "1", "0"], b"+OK\r\n").await;
    expect_events(
        &mut sub,
        &[
            (0, "rpush", "l"),
            (0, "lrem", "l"),
            (0, "ltrim", "l"),
            (0, "del", "l"),
        ],
        "LREM / LTRIM to empty",
    )
    .await;
}

#[tokio::test]
async fn keyspace_events_for_sets() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = events_subscriber(&srv, "KEA").await;
    c.expect(&["SADD", "s", "a", "b", "c"], b":3\r\n").await;
    c.expect(&["SADD", "s", "a"], b":0\r\n").await;
    c.expect(&["SREM", "s", "a", "zz"], b":1\r\n").await;
    c.expect(&["SREM", "s", "zz"], b":0\r\n").await;
    c.send_cmd(&["SPOP", "s"]).await;
    assert!(matches!(c.read_value().await, Resp::Bulk(_)));
    expect_events(
        &mut sub,
        &[(0, "sadd", "s"), (0, "srem", "s"), (0, "spop", "s")],
        "set commands",
    )
    .await;
    c.send_cmd(&["SPOP", "s", "5"]).await;
    assert_eq!(c.read_value().await.items().len(), 1);
    expect_events(
        &mut sub,
        &[(0, "spop", "s"), (0, "del", "s")],
        "SPOP emptying the set",
    )
    .await;
    c.expect(&["SADD", "t", "only"], b":1\r\n").await;
    c.expect(&["SREM", "t", "only"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "sadd", "t"), (0, "srem", "t"), (0, "del", "t")],
        "SREM emptying the set",
    )
    .await;
}

#[tokio::test]
async fn keyspace_events_for_generic_commands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = events_subscriber(&srv, "KEA").await;
    c.expect(&["SET", "a", "1"], b"+OK\r\n").await;
    c.expect(&["RENAME", "a", "b"], b"+OK\r\n").await;
    expect_events(
        &mut sub,
        &[
            (0, "set", "a"),
            (0, "rename_from", "a"),
            (0, "rename_to", "b"),
        ],
        "RENAME",
    )
    .await;
    c.expect(&["COPY", "b", "c"], b":1\r\n").await;
    expect_events(&mut sub, &[(0, "copy_to", "c")], "COPY").await;
    c.expect(&["COPY", "b", "c"], b":0\r\n").await;
    c.expect(&["COPY", "b", "c", "REPLACE"], b":1\r\n").await;
    expect_events(&mut sub, &[(0, "copy_to", "c")], "COPY REPLACE").await;
    c.expect(&["MOVE", "c", "1"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "move_from", "c"), (1, "move_to", "c")],
        "MOVE",
    )
    .await;
    c.expect(&["RENAMENX", "b", "z"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "rename_from", "b"), (0, "rename_to", "z")],
        "RENAMENX",
    )
    .await;
    c.expect(&["PERSIST", "z"], b":0\r\n").await;
    c.expect(&["EXPIRE", "z", "100"], b":1\r\n").await;
    c.expect(&["PERSIST", "z"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[(0, "expire", "z"), (0, "persist", "z")],
        "EXPIRE / PERSIST",
    )
    .await;
    // EXPIRE in the past deletes the key: a `del` event.
    c.expect(&["EXPIRE", "z", "-1"], b":1\r\n").await;
    expect_events(&mut sub, &[(0, "del", "z")], "EXPIRE in the past").await;
}

/// The `n` class: `new` when a key is created, only when asked for (`A` does
/// not include it).
#[tokio::test]
async fn keyspace_events_new_keys() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = events_subscriber(&srv, "KEA").await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    expect_events(&mut sub, &[(0, "set", "k")], "no new without n").await;
    c.expect(
        &["CONFIG", "SET", "notify-keyspace-events", "KEAn"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["SET", "k2", "v"], b"+OK\r\n").await;
    c.expect(&["SET", "k2", "w"], b"+OK\r\n").await;
    c.expect(&["RPUSH", "l", "a"], b":1\r\n").await;
    c.expect(&["RPUSH", "l", "b"], b":2\r\n").await;
    c.expect(&["SADD", "s", "a"], b":1\r\n").await;
    expect_events(
        &mut sub,
        &[
            (0, "new", "k2"),
            (0, "set", "k2"),
            (0, "set", "k2"),
            (0, "new", "l"),
            (0, "rpush", "l"),
            (0, "rpush", "l"),
            (0, "new", "s"),
            (0, "sadd", "s"),
        ],
        "new with KEAn",
    )
    .await;
    // Only `n`: nothing but the creations.
    c.expect(
        &["CONFIG", "SET", "notify-keyspace-events", "En"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["SET", "k3", "v"], b"+OK\r\n").await;
    c.expect(&["SET", "k3", "w"], b"+OK\r\n").await;
    c.expect(&["DEL", "k3"], b":1\r\n").await;
    c.expect(&["INCR", "counter"], b":1\r\n").await;
    let mut expected = pmessage_frame(EVENTS_PATTERN, "__keyevent@0__:new", "k3");
    expected.extend(pmessage_frame(
        EVENTS_PATTERN,
        "__keyevent@0__:new",
        "counter",
    ));
    assert_bytes(
        &sub.read_frames(2).await,
        &expected,
        "En: keyevent new only",
    );
    assert_idle_subscribed(&mut sub).await;
}

// ---------------------------------------------------------------------------
// A slow subscriber
// ---------------------------------------------------------------------------

async fn used_memory(c: &mut common::Raw) -> i64 {
    common::info_field(c, "memory", "used_memory").await
}

/// The payload of message `i`: its number, padded to `size` bytes.
fn payload(i: usize, size: usize) -> String {
    let mut p = format!("{i:08}:");
    while p.len() < size {
        p.push('x');
    }
    p
}

/// A subscriber that never reads is disconnected once its output passes the
/// pub/sub hard limit; the other subscriber gets every message in order, and
/// the server's memory stays bounded by the limit (plus a margin).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_subscriber_is_disconnected_and_memory_stays_bounded() {
    const HARD_LIMIT: i64 = 1 << 20;
    // Headroom for the fast subscriber's in-flight window, kernel-side copies
    // that are not ours, socket buffers of the test's own clients, and the
    // other tests of this file running in the same process.
    const MARGIN: i64 = 8 << 20;
    const MESSAGES: usize = 20_000;
    const SIZE: usize = 1024;
    const BATCH: usize = 100;
    const WINDOW: usize = 200;
    let srv =
        TestServer::start_with(&[("client-output-buffer-limit", "pubsub 1mb 512kb 60")]).await;
    let mut c = srv.raw().await;

    // The slow subscriber: a small receive buffer, and it never reads after
    // its subscription is confirmed.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock
        .connect(([127, 0, 0, 1], srv.port).into())
        .await
        .unwrap();
    let mut slow = common::Raw::from_stream(stream);
    slow.expect(&["CLIENT", "SETNAME", "slow"], b"+OK\r\n")
        .await;
    slow.expect(&["SUBSCRIBE", "ch"], subscribe_frame("subscribe", "ch", 1))
        .await;

    // The fast subscriber reads and checks everything, reporting progress.
    let mut fast = srv.raw().await;
    fast.expect(&["CLIENT", "SETNAME", "fast"], b"+OK\r\n")
        .await;
    fast.expect(&["SUBSCRIBE", "ch"], subscribe_frame("subscribe", "ch", 1))
        .await;
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let frame = fast.read_frame().await;
            if frame != message_frame("ch", &payload(i, SIZE)) {
                panic!(
                    "message {i} out of order or corrupt: {}",
                    common::show(&frame[..frame.len().min(80)])
                );
            }
            if i % 50 == 49 {
                let _ = progress_tx.send(i + 1);
            }
        }
        assert_idle_subscribed(&mut fast).await;
        fast
    });
    c.expect(&["PUBSUB", "NUMSUB", "ch"], b"*2\r\n$2\r\nch\r\n:2\r\n")
        .await;

    let before = used_memory(&mut c).await;
    let mut peak = before;
    let mut publisher = srv.raw().await;
    let mut sent = 0;
    while sent < MESSAGES {
        let mut req = Vec::with_capacity(BATCH * (SIZE + 40));
        for i in sent..sent + BATCH {
            req.extend(common::encode(&["PUBLISH", "ch", &payload(i, SIZE)]));
        }
        publisher.send(&req).await;
        for _ in 0..BATCH {
            let n = publisher.read_value().await.as_int();
            assert!(n == 1 || n == 2, "PUBLISH reached {n} subscribers");
        }
        sent += BATCH;
        // Flow control for the fast subscriber only: at most WINDOW messages
        // in flight to it, far below its own limits.
        tokio::time::timeout(
            common::IO_TIMEOUT,
            progress.wait_for(|&n| n + WINDOW >= sent),
        )
        .await
        .expect("the fast subscriber keeps up")
        .expect("the fast subscriber is alive");
        if (sent / BATCH).is_multiple_of(10) {
            peak = peak.max(used_memory(&mut c).await);
        }
    }
    // Every message arrived, in order (checked as they came); the fast
    // subscriber stays connected.
    let _fast = reader.await.unwrap();

    // The slow subscriber was disconnected by the server.
    poll_until(
        &mut c,
        &["PUBSUB", "NUMSUB", "ch"],
        500,
        "the slow subscriber is gone",
        |r| r.items().get(1) == Some(&Resp::Int(1)),
    )
    .await;
    let list = c.val(&["CLIENT", "LIST"]).await.as_str().to_string();
    assert!(!list.contains(" name=slow "), "{list}");
    assert!(list.contains(" name=fast "), "{list}");

    let after = used_memory(&mut c).await;
    let bound = before + HARD_LIMIT + MARGIN;
    println!("used_memory before {before}, peak {peak}, after {after}");
    assert!(
        peak < bound && after < bound,
        "used_memory before {before}, peak {peak}, after {after}: bound {bound} \
         (before + 1 MB limit + 8 MB margin)"
    );
    // Seen from the slow client: what the kernel had buffered, then the close.
    let got = slow.read_to_close().await;
    assert!(
        got.len() < MESSAGES * SIZE / 2,
        "the slow subscriber received {} bytes before being closed",
        got.len()
    );
}
