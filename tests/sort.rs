//! SORT and SORT_RO (after Redis's `unit/sort.tcl`), checked against Redis 7.0.15.

mod common;

use common::{Raw, TestServer};

/// A multibulk of bulk strings (`None` is a nil bulk).
fn arr(items: &[Option<&str>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        match i {
            Some(s) => out.push_str(&format!("${}\r\n{s}\r\n", s.len())),
            None => out.push_str("$-1\r\n"),
        }
    }
    out.into_bytes()
}

fn strs(items: &[&str]) -> Vec<u8> {
    arr(&items.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

async fn range(c: &mut Raw, key: &str) -> Vec<String> {
    c.val(&["LRANGE", key, "0", "-1"]).await.strings()
}

#[tokio::test]
async fn sort_numeric_alpha_desc_limit() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "n", "3", "1", "2", "10", "1.5", "-4"], b":6\r\n")
        .await;
    c.expect(&["SORT", "n"], strs(&["-4", "1", "1.5", "2", "3", "10"]))
        .await;
    c.expect(
        &["SORT", "n", "ASC"],
        strs(&["-4", "1", "1.5", "2", "3", "10"]),
    )
    .await;
    c.expect(
        &["SORT", "n", "DESC"],
        strs(&["10", "3", "2", "1.5", "1", "-4"]),
    )
    .await;
    // ALPHA compares the bytes.
    c.expect(
        &["SORT", "n", "ALPHA"],
        strs(&["-4", "1", "1.5", "10", "2", "3"]),
    )
    .await;
    c.expect(&["SORT", "n", "LIMIT", "1", "2"], strs(&["1", "1.5"]))
        .await;
    c.expect(&["SORT", "n", "LIMIT", "-1", "2"], strs(&["-4", "1"]))
        .await;
    c.expect(
        &["SORT", "n", "LIMIT", "2", "-1"],
        strs(&["1.5", "2", "3", "10"]),
    )
    .await;
    c.expect(&["SORT", "n", "LIMIT", "10", "2"], b"*0\r\n")
        .await;
    c.expect(
        &["SORT", "n", "DESC", "LIMIT", "0", "3", "ALPHA"],
        strs(&["3", "2", "10"]),
    )
    .await;
    // SORT_RO is SORT without STORE.
    c.expect(&["SORT_RO", "n"], strs(&["-4", "1", "1.5", "2", "3", "10"]))
        .await;
    c.expect(&["SORT_RO", "n", "DESC", "LIMIT", "0", "1"], strs(&["10"]))
        .await;
    // The list itself is untouched.
    assert_eq!(range(&mut c, "n").await, ["3", "1", "2", "10", "1.5", "-4"]);
    // Numeric sorting of non-numbers fails; ALPHA works.
    c.expect(&["RPUSH", "w", "c", "a", "d", "b"], b":4\r\n")
        .await;
    c.expect(
        &["SORT", "w"],
        b"-ERR One or more scores can't be converted into double\r\n",
    )
    .await;
    c.expect(&["SORT", "w", "ALPHA"], strs(&["a", "b", "c", "d"]))
        .await;
    c.expect(&["SORT", "w", "ALPHA", "DESC"], strs(&["d", "c", "b", "a"]))
        .await;
    // Equal scores fall back to comparing the elements.
    c.expect(&["RPUSH", "ties", "1", "01", "1.0"], b":3\r\n")
        .await;
    c.expect(&["SORT", "ties"], strs(&["01", "1", "1.0"])).await;
    c.expect(&["SORT", "ties", "DESC"], strs(&["1.0", "1", "01"]))
        .await;
    // Sets sort too.
    c.expect(&["SADD", "set", "5", "3", "9"], b":3\r\n").await;
    c.expect(&["SORT", "set"], strs(&["3", "5", "9"])).await;
    c.expect(&["SORT", "set", "DESC"], strs(&["9", "5", "3"]))
        .await;
    c.expect(&["SORT", "missing"], b"*0\r\n").await;
}

#[tokio::test]
async fn sort_by_patterns_and_get() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "w", "a", "b", "c", "d"], b":4\r\n")
        .await;
    c.expect(
        &[
            "MSET", "weight_a", "3", "weight_b", "1", "weight_c", "2", "data_a", "A", "data_b", "B",
        ],
        b"+OK\r\n",
    )
    .await;
    // A missing weight counts as 0.
    c.expect(
        &["SORT", "w", "BY", "weight_*"],
        strs(&["d", "b", "c", "a"]),
    )
    .await;
    c.expect(
        &["SORT", "w", "BY", "weight_*", "GET", "#", "GET", "data_*"],
        arr(&[
            Some("d"),
            None,
            Some("b"),
            Some("B"),
            Some("c"),
            None,
            Some("a"),
            Some("A"),
        ]),
    )
    .await;
    c.expect(
        &[
            "SORT", "w", "BY", "weight_*", "DESC", "GET", "data_*", "GET", "#",
        ],
        arr(&[
            Some("A"),
            Some("a"),
            None,
            Some("c"),
            Some("B"),
            Some("b"),
            None,
            Some("d"),
        ]),
    )
    .await;
    c.expect(
        &["SORT", "w", "GET", "data_*", "BY", "weight_*"],
        arr(&[None, Some("B"), None, Some("A")]),
    )
    .await;
    c.expect(
        &[
            "SORT_RO", "w", "BY", "weight_*", "LIMIT", "1", "2", "GET", "#",
        ],
        strs(&["b", "c"]),
    )
    .await;
    // A weight that is not a number: an error, unless ALPHA compares weights as strings.
    c.expect(&["SET", "weight_d", "x"], b"+OK\r\n").await;
    c.expect(
        &["SORT", "w", "BY", "weight_*"],
        b"-ERR One or more scores can't be converted into double\r\n",
    )
    .await;
    c.expect(
        &["SORT", "w", "BY", "weight_*", "ALPHA"],
        strs(&["b", "c", "a", "d"]),
    )
    .await;
    // BY nosort: the list's own order, reversed by DESC; LIMIT applies to it.
    c.expect(&["SORT", "w", "BY", "nosort"], strs(&["a", "b", "c", "d"]))
        .await;
    c.expect(
        &["SORT", "w", "BY", "nosort", "DESC"],
        strs(&["d", "c", "b", "a"]),
    )
    .await;
    c.expect(
        &["SORT", "w", "BY", "nosort", "LIMIT", "1", "2"],
        strs(&["b", "c"]),
    )
    .await;
    c.expect(
        &["SORT", "w", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        strs(&["c", "b"]),
    )
    .await;
    c.expect(
        &["SORT", "w", "BY", "nosort", "GET", "data_*"],
        arr(&[Some("A"), Some("B"), None, None]),
    )
    .await;
    // GET of a key holding another type is nil.
    c.expect(&["RPUSH", "data_c", "x"], b":1\r\n").await;
    c.expect(
        &["SORT", "w", "BY", "nosort", "GET", "data_*"],
        arr(&[Some("A"), Some("B"), None, None]),
    )
    .await;
}

#[tokio::test]
async fn sort_store() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "w", "c", "a", "b", "d"], b":4\r\n")
        .await;
    c.expect(&["MSET", "data_a", "A", "data_b", "B"], b"+OK\r\n")
        .await;
    c.expect(&["SORT", "w", "ALPHA", "STORE", "dst"], b":4\r\n")
        .await;
    c.expect(&["TYPE", "dst"], b"+list\r\n").await;
    assert_eq!(range(&mut c, "dst").await, ["a", "b", "c", "d"]);
    // Missing GET values are stored as empty strings.
    c.expect(
        &["SORT", "w", "ALPHA", "GET", "data_*", "STORE", "dst2"],
        b":4\r\n",
    )
    .await;
    assert_eq!(range(&mut c, "dst2").await, ["A", "B", "", ""]);
    // STORE replaces whatever was there, of any type.
    c.expect(&["SET", "str", "v"], b"+OK\r\n").await;
    c.expect(
        &["SORT", "w", "ALPHA", "LIMIT", "0", "2", "STORE", "str"],
        b":2\r\n",
    )
    .await;
    assert_eq!(range(&mut c, "str").await, ["a", "b"]);
    // Storing onto the source key itself.
    c.expect(&["SORT", "w", "ALPHA", "DESC", "STORE", "w"], b":4\r\n")
        .await;
    assert_eq!(range(&mut c, "w").await, ["d", "c", "b", "a"]);
    // An empty result deletes the destination.
    c.expect(&["SORT", "missing", "STORE", "dst"], b":0\r\n")
        .await;
    c.expect(&["EXISTS", "dst"], b":0\r\n").await;
    // A set stored with BY nosort is sorted anyway (ALPHA), to be deterministic.
    c.expect(&["SADD", "set", "b", "a", "c"], b":3\r\n").await;
    c.expect(&["SORT", "set", "BY", "nosort", "STORE", "sd"], b":3\r\n")
        .await;
    assert_eq!(range(&mut c, "sd").await, ["a", "b", "c"]);
    c.expect(&["SADD", "nset", "10", "9", "100"], b":3\r\n")
        .await;
    c.expect(&["SORT", "nset", "BY", "nosort", "STORE", "sd2"], b":3\r\n")
        .await;
    assert_eq!(range(&mut c, "sd2").await, ["10", "100", "9"]);
}

#[tokio::test]
async fn sort_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "n", "2", "1"], b":2\r\n").await;
    let syntax = b"-ERR syntax error\r\n";
    c.expect(&["SORT", "n", "LIMIT", "1"], syntax).await;
    c.expect(&["SORT", "n", "FOO"], syntax).await;
    c.expect(&["SORT", "n", "GET"], syntax).await;
    c.expect(&["SORT", "n", "BY"], syntax).await;
    c.expect(&["SORT", "n", "STORE"], syntax).await;
    c.expect(&["SORT_RO", "n", "STORE", "x"], syntax).await;
    c.expect(&["EXISTS", "x"], b":0\r\n").await;
    c.expect(
        &["SORT", "n", "LIMIT", "a", "b"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    c.expect(&["SORT", "s"], wrongtype).await;
    c.expect(&["SORT_RO", "s"], wrongtype).await;
    c.expect(
        &["SORT"],
        b"-ERR wrong number of arguments for 'sort' command\r\n",
    )
    .await;
    c.expect(
        &["SORT_RO"],
        b"-ERR wrong number of arguments for 'sort_ro' command\r\n",
    )
    .await;
}
