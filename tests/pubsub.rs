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
