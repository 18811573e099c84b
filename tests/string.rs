//! String commands (after Redis's `unit/type/string.tcl` and `unit/type/incr.tcl`).

mod common;

use common::TestServer;
use redis::AsyncCommands;

#[tokio::test]
async fn get_set_basics() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["GET", "k"], b"$-1\r\n").await;
    c.expect(&["SET", "k", "hello"], b"+OK\r\n").await;
    c.expect(&["GET", "k"], b"$5\r\nhello\r\n").await;
    c.expect(&["SET", "k", ""], b"+OK\r\n").await;
    c.expect(&["GET", "k"], b"$0\r\n\r\n").await;
    c.expect(&["EXISTS", "k"], b":1\r\n").await;
    // Binary-safe keys and values.
    let key = b"bin\x00key\r\n".to_vec();
    let value = (0u8..=255).collect::<Vec<u8>>();
    c.expect(&[b"SET".to_vec(), key.clone(), value.clone()], b"+OK\r\n")
        .await;
    let mut expected = b"$256\r\n".to_vec();
    expected.extend(&value);
    expected.extend(b"\r\n");
    c.expect(&[b"GET".to_vec(), key], expected).await;
    // A large value round-trips.
    let big = "abcdefgh".repeat(256 * 1024);
    c.expect(&["SET", "big", big.as_str()], b"+OK\r\n").await;
    c.expect(&["STRLEN", "big"], b":2097152\r\n").await;
    let got = c.cmd(&["GET", "big"]).await;
    assert_eq!(&got[..11], b"$2097152\r\na");
    assert_eq!(&got[11 + 2097151 - 1..], b"h\r\n");
}

#[tokio::test]
async fn incr_family() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["INCR", "n"], b":1\r\n").await;
    c.expect(&["INCR", "n"], b":2\r\n").await;
    c.expect(&["INCRBY", "n", "10"], b":12\r\n").await;
    c.expect(&["INCRBY", "n", "-20"], b":-8\r\n").await;
    c.expect(&["DECR", "n"], b":-9\r\n").await;
    c.expect(&["DECRBY", "n", "-9"], b":0\r\n").await;
    c.expect(&["DECRBY", "fresh", "5"], b":-5\r\n").await;
    c.expect(&["GET", "n"], b"$1\r\n0\r\n").await;
    c.expect(&["SET", "n", "-9223372036854775807"], b"+OK\r\n")
        .await;
    c.expect(&["DECR", "n"], b":-9223372036854775808\r\n").await;
    c.expect(&["SET", "n", "9223372036854775806"], b"+OK\r\n")
        .await;
    c.expect(&["INCR", "n"], b":9223372036854775807\r\n").await;
}

#[tokio::test]
async fn incr_errors_and_overflow() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let not_int = b"-ERR value is not an integer or out of range\r\n";
    let overflow = b"-ERR increment or decrement would overflow\r\n";
    c.expect(&["SET", "max", "9223372036854775807"], b"+OK\r\n")
        .await;
    c.expect(&["INCR", "max"], overflow).await;
    c.expect(&["INCRBY", "max", "1"], overflow).await;
    c.expect(&["GET", "max"], b"$19\r\n9223372036854775807\r\n")
        .await;
    c.expect(&["SET", "min", "-9223372036854775808"], b"+OK\r\n")
        .await;
    c.expect(&["DECR", "min"], overflow).await;
    c.expect(&["DECRBY", "min", "1"], overflow).await;
    c.expect(&["INCRBY", "min", "-1"], overflow).await;
    c.expect(
        &["DECRBY", "x", "-9223372036854775808"],
        b"-ERR decrement would overflow\r\n",
    )
    .await;
    c.expect(&["INCRBY", "x", "9223372036854775808"], not_int)
        .await;
    c.expect(&["INCRBY", "x", "abc"], not_int).await;
    c.expect(&["INCRBY", "x", "1.5"], not_int).await;
    c.expect(&["EXISTS", "x"], b":0\r\n").await;
    // Stored values must be canonical integers.
    for stored in [
        "abc",
        " 1",
        "1 ",
        "01",
        "+1",
        "1.0",
        "12345678901234567890",
        "",
        "0x10",
    ] {
        c.expect(&["SET", "s", stored], b"+OK\r\n").await;
        let got = c.cmd(&["INCR", "s"]).await;
        common::assert_bytes(&got, not_int, &format!("INCR of {stored:?}"));
    }
    c.expect(&["SET", "s", "-0"], b"+OK\r\n").await;
    c.expect(&["INCR", "s"], not_int).await;
}

#[tokio::test]
async fn incrbyfloat() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["INCRBYFLOAT", "f", "1.5"], b"$3\r\n1.5\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "f", "0.1"], b"$3\r\n1.6\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "f", "-1.6"], b"$1\r\n0\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "f", "1e10"], b"$11\r\n10000000000\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "f", "5.0e3"], b"$11\r\n10000005000\r\n")
        .await;
    c.expect(&["GET", "f"], b"$11\r\n10000005000\r\n").await;
    c.expect(&["SET", "f", "10.50"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "f", "0.1"], b"$4\r\n10.6\r\n")
        .await;
    c.expect(&["SET", "f", "3.0e3"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "f", "200"], b"$4\r\n3200\r\n")
        .await;
    c.expect(&["SET", "i", "7"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "i", "-7"], b"$1\r\n0\r\n").await;
    c.expect(&["INCRBYFLOAT", "i", "-0.5"], b"$4\r\n-0.5\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "g", "10.1"], b"$4\r\n10.1\r\n")
        .await;
    // Redis computes in long double and prints 17 decimals (as redis-server 7.0.15 does).
    c.expect(&["SET", "ld", "0.1"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "ld", "0.2"], b"$3\r\n0.3\r\n")
        .await;
    c.expect(&["SET", "ld", "1000"], b"+OK\r\n").await;
    c.expect(
        &["INCRBYFLOAT", "ld", "0.1"],
        b"$22\r\n1000.09999999999999998\r\n",
    )
    .await;
    c.expect(&["SET", "ld", "1e400"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "ld", "-1e400"], b"$1\r\n0\r\n")
        .await;
    c.expect(
        &["INCRBYFLOAT", "ld", "1e5000"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    // The result is stored as a string: INCR can't use it, INCRBYFLOAT can.
    c.expect(
        &["INCR", "g"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    // Errors.
    let not_float = b"-ERR value is not a valid float\r\n";
    c.expect(&["INCRBYFLOAT", "f", "abc"], not_float).await;
    c.expect(&["INCRBYFLOAT", "f", " 1"], not_float).await;
    c.expect(&["INCRBYFLOAT", "f", ""], not_float).await;
    c.expect(&["INCRBYFLOAT", "f", "nan"], not_float).await;
    c.expect(&["SET", "s", "text"], b"+OK\r\n").await;
    c.expect(&["INCRBYFLOAT", "s", "1"], not_float).await;
    c.expect(
        &["INCRBYFLOAT", "h", "inf"],
        b"-ERR increment would produce NaN or Infinity\r\n",
    )
    .await;
    c.expect(
        &["INCRBYFLOAT", "h", "-inf"],
        b"-ERR increment would produce NaN or Infinity\r\n",
    )
    .await;
    c.expect(&["EXISTS", "h"], b":0\r\n").await;
    c.expect(&["GET", "f"], b"$4\r\n3200\r\n").await;
}

#[tokio::test]
async fn append_and_strlen() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["STRLEN", "s"], b":0\r\n").await;
    c.expect(&["APPEND", "s", "Hello"], b":5\r\n").await;
    c.expect(&["APPEND", "s", " World"], b":11\r\n").await;
    c.expect(&["GET", "s"], b"$11\r\nHello World\r\n").await;
    c.expect(&["STRLEN", "s"], b":11\r\n").await;
    c.expect(&["APPEND", "s", ""], b":11\r\n").await;
    c.expect(&["APPEND", "e", ""], b":0\r\n").await;
    c.expect(&["EXISTS", "e"], b":1\r\n").await;
    // Appending to an integer works on its string form.
    c.expect(&["SET", "n", "12"], b"+OK\r\n").await;
    c.expect(&["APPEND", "n", "34"], b":4\r\n").await;
    c.expect(&["INCR", "n"], b":1235\r\n").await;
    c.expect(&["STRLEN", "n"], b":4\r\n").await;
}

#[tokio::test]
async fn getrange_and_substr() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["GETRANGE", "nope", "0", "-1"], b"$0\r\n\r\n")
        .await;
    c.expect(&["SET", "s", "Hello World"], b"+OK\r\n").await;
    let cases: &[(&str, &str, &str)] = &[
        ("0", "4", "Hello"),
        ("0", "-1", "Hello World"),
        ("-5", "-1", "World"),
        ("6", "100", "World"),
        ("5", "1", ""),
        ("-1", "-5", ""),
        ("100", "200", ""),
        // Redis 7.0 clamps both ends of an all-negative range to 0.
        ("-100", "-50", "H"),
        ("-100", "2", "Hel"),
        ("0", "0", "H"),
        ("10", "10", "d"),
    ];
    for (start, end, want) in cases {
        let got = c.cmd(&["GETRANGE", "s", start, end]).await;
        let expected = format!("${}\r\n{want}\r\n", want.len());
        common::assert_bytes(
            &got,
            expected.as_bytes(),
            &format!("GETRANGE s {start} {end}"),
        );
    }
    c.expect(&["SUBSTR", "s", "0", "4"], b"$5\r\nHello\r\n")
        .await;
    c.expect(
        &["GETRANGE", "s", "a", "1"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["SET", "empty", ""], b"+OK\r\n").await;
    c.expect(&["GETRANGE", "empty", "0", "-1"], b"$0\r\n\r\n")
        .await;
    // Integers are ranged over their string form.
    c.expect(&["SET", "n", "1234"], b"+OK\r\n").await;
    c.expect(&["GETRANGE", "n", "1", "2"], b"$2\r\n23\r\n")
        .await;
}

#[tokio::test]
async fn setrange() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "s", "Hello World"], b"+OK\r\n").await;
    c.expect(&["SETRANGE", "s", "6", "Redis"], b":11\r\n").await;
    c.expect(&["GET", "s"], b"$11\r\nHello Redis\r\n").await;
    // Past the end: zero padding.
    c.expect(&["SETRANGE", "p", "3", "x"], b":4\r\n").await;
    c.expect(&["GET", "p"], b"$4\r\n\x00\x00\x00x\r\n").await;
    c.expect(&["SETRANGE", "s", "12", "!"], b":13\r\n").await;
    c.expect(&["GET", "s"], b"$13\r\nHello Redis\x00!\r\n")
        .await;
    // An empty value changes nothing and creates nothing.
    c.expect(&["SETRANGE", "s", "0", ""], b":13\r\n").await;
    c.expect(&["SETRANGE", "none", "5", ""], b":0\r\n").await;
    c.expect(&["EXISTS", "none"], b":0\r\n").await;
    c.expect(&["SET", "n", "1234"], b"+OK\r\n").await;
    c.expect(&["SETRANGE", "n", "1", "x"], b":4\r\n").await;
    c.expect(&["GET", "n"], b"$4\r\n1x34\r\n").await;
    c.expect(
        &["SETRANGE", "s", "-1", "x"],
        b"-ERR offset is out of range\r\n",
    )
    .await;
    c.expect(
        &["SETRANGE", "s", "x", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    let too_long = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    c.expect(&["SETRANGE", "s", "536870911", "xx"], too_long)
        .await;
    c.expect(&["SETRANGE", "s", "9223372036854775807", "x"], too_long)
        .await;
    c.expect(&["STRLEN", "s"], b":13\r\n").await;
}

#[tokio::test]
async fn mset_msetnx_mget() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MSET", "a", "1", "b", "2", "c", "3"], b"+OK\r\n")
        .await;
    c.expect(
        &["MGET", "a", "b", "c", "nope"],
        b"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n",
    )
    .await;
    c.expect(
        &["MSET", "a", "1", "b"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    )
    .await;
    c.expect(
        &["MSET", "a"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    )
    .await;
    // The last of repeated keys wins.
    c.expect(&["MSET", "d", "1", "d", "2"], b"+OK\r\n").await;
    c.expect(&["GET", "d"], b"$1\r\n2\r\n").await;
    // MSETNX sets all or nothing.
    c.expect(&["MSETNX", "a", "x", "new1", "y"], b":0\r\n")
        .await;
    c.expect(&["MGET", "a", "new1"], b"*2\r\n$1\r\n1\r\n$-1\r\n")
        .await;
    c.expect(&["MSETNX", "new1", "x", "new2", "y"], b":1\r\n")
        .await;
    c.expect(&["MGET", "new1", "new2"], b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n")
        .await;
    c.expect(&["MSETNX", "new3", "x", "new3", "y"], b":1\r\n")
        .await;
    c.expect(&["GET", "new3"], b"$1\r\ny\r\n").await;
    c.expect(
        &["MSETNX", "a", "1", "b"],
        b"-ERR wrong number of arguments for 'msetnx' command\r\n",
    )
    .await;
}

/// MSET over keys on every shard is applied atomically.
#[tokio::test]
async fn mset_across_slots() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let keys = common::keys_on_distinct_slots(100);
    let mut mset = vec!["MSET".to_string()];
    let mut mget = vec!["MGET".to_string()];
    for (i, k) in keys.iter().enumerate() {
        mset.push(k.clone());
        mset.push(format!("v{i}"));
        mget.push(k.clone());
    }
    c.expect(&mset, b"+OK\r\n").await;
    let values = c.val(&mget).await.strings();
    let expected: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected);
    c.expect(&["DBSIZE"], b":100\r\n").await;
    let mut msetnx = vec![
        "MSETNX".to_string(),
        "brand-new".to_string(),
        "x".to_string(),
    ];
    msetnx.push(keys[57].clone());
    msetnx.push("y".into());
    c.expect(&msetnx, b":0\r\n").await;
    c.expect(&["EXISTS", "brand-new"], b":0\r\n").await;
}

#[tokio::test]
async fn getset_getdel_getex() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["GETSET", "k", "1"], b"$-1\r\n").await;
    c.expect(&["GETSET", "k", "2"], b"$1\r\n1\r\n").await;
    c.expect(&["GET", "k"], b"$1\r\n2\r\n").await;
    c.expect(&["GETDEL", "k"], b"$1\r\n2\r\n").await;
    c.expect(&["GETDEL", "k"], b"$-1\r\n").await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    c.expect(&["GETEX", "k"], b"$-1\r\n").await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["GETEX", "k", "PERSIST"], b"$1\r\nv\r\n").await;
    c.expect(&["GETEX", "k", "EX", "100"], b"$1\r\nv\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((99..=100).contains(&ttl), "{ttl}");
}

#[tokio::test]
async fn string_command_arity() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for (cmd, args) in [
        ("get", &[][..]),
        ("set", &["k"][..]),
        ("getrange", &["k", "0"][..]),
        ("setrange", &["k", "0"][..]),
        ("incrby", &["k"][..]),
        ("append", &["k"][..]),
        ("getset", &["k"][..]),
        ("setnx", &["k"][..]),
        ("setex", &["k", "10"][..]),
        ("strlen", &[][..]),
        ("mget", &[][..]),
    ] {
        let mut full = vec![cmd];
        full.extend_from_slice(args);
        let expected = format!("-ERR wrong number of arguments for '{cmd}' command\r\n");
        c.expect(&full, expected).await;
    }
}

/// The same commands through the `redis` crate, with typed replies.
#[tokio::test]
async fn strings_with_redis_crate() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = con.set("s", "hello").await.unwrap();
    let v: String = con.get("s").await.unwrap();
    assert_eq!(v, "hello");
    let missing: Option<String> = con.get("nope").await.unwrap();
    assert_eq!(missing, None);
    let n: i64 = con.incr("counter", 5).await.unwrap();
    assert_eq!(n, 5);
    let n: i64 = con.decr("counter", 2).await.unwrap();
    assert_eq!(n, 3);
    let f: f64 = con.incr("float", 1.25).await.unwrap();
    assert_eq!(f, 1.25);
    let len: i64 = con.append("s", " world").await.unwrap();
    assert_eq!(len, 11);
    let part: String = con.getrange("s", 0, 4).await.unwrap();
    assert_eq!(part, "hello");
    let _: () = con.mset(&[("a", "1"), ("b", "2")]).await.unwrap();
    let vals: Vec<Option<String>> = con.mget(&["a", "b", "c"]).await.unwrap();
    assert_eq!(
        vals,
        vec![Some("1".to_string()), Some("2".to_string()), None]
    );
    let old: Option<String> = con.getset("a", "10").await.unwrap();
    assert_eq!(old.as_deref(), Some("1"));
    let del: Option<String> = con.get_del("a").await.unwrap();
    assert_eq!(del.as_deref(), Some("10"));
    let set: bool = con.set_nx("b", "x").await.unwrap();
    assert!(!set);
    let _: () = con.set_ex("e", "v", 100).await.unwrap();
    let ttl: i64 = con.ttl("e").await.unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    let err = con.incr::<_, _, i64>("s", 1).await.unwrap_err();
    assert_eq!(
        err.detail(),
        Some("value is not an integer or out of range"),
        "{err:?}"
    );
}

/// String commands on a key holding another type.
#[tokio::test]
async fn wrongtype_on_a_list_key() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    common::make_list(&srv, &mut c, "l").await;
    c.expect(&["TYPE", "l"], b"+list\r\n").await;
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for cmd in [
        &["GET", "l"][..],
        &["GETSET", "l", "x"],
        &["GETDEL", "l"],
        &["GETEX", "l", "EX", "10"],
        &["GETRANGE", "l", "0", "-1"],
        &["SUBSTR", "l", "0", "-1"],
        &["SETRANGE", "l", "0", "x"],
        &["APPEND", "l", "x"],
        &["STRLEN", "l"],
        &["INCR", "l"],
        &["INCRBY", "l", "2"],
        &["DECR", "l"],
        &["DECRBY", "l", "2"],
        &["INCRBYFLOAT", "l", "1.5"],
        &["SET", "l", "x", "GET"],
    ] {
        let got = c.cmd(cmd).await;
        common::assert_bytes(&got, wrongtype, &format!("{cmd:?}"));
    }
    c.expect(&["TYPE", "l"], b"+list\r\n").await;
    // MGET answers nil for a non-string; SETNX/MSETNX see the key exists.
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(&["MGET", "s", "l"], b"*2\r\n$1\r\nv\r\n$-1\r\n")
        .await;
    c.expect(&["SETNX", "l", "x"], b":0\r\n").await;
    c.expect(&["MSETNX", "fresh", "1", "l", "x"], b":0\r\n")
        .await;
    c.expect(&["EXISTS", "fresh"], b":0\r\n").await;
    // Plain SET replaces the value whatever its type.
    c.expect(&["SET", "l", "now-a-string"], b"+OK\r\n").await;
    c.expect(&["TYPE", "l"], b"+string\r\n").await;
    c.expect(&["GET", "l"], b"$12\r\nnow-a-string\r\n").await;
}

#[tokio::test]
async fn setbit_and_getbit() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // Bits count from the most significant bit of the first byte.
    c.expect(&["SETBIT", "b", "7", "1"], b":0\r\n").await;
    c.expect(&["GET", "b"], b"$1\r\n\x01\r\n").await;
    c.expect(&["SETBIT", "b", "0", "1"], b":0\r\n").await;
    c.expect(&["GET", "b"], b"$1\r\n\x81\r\n").await;
    // The reply is the bit's previous value.
    c.expect(&["SETBIT", "b", "0", "1"], b":1\r\n").await;
    c.expect(&["SETBIT", "b", "0", "0"], b":1\r\n").await;
    c.expect(&["SETBIT", "b", "0", "0"], b":0\r\n").await;
    // Setting past the end grows the string with zero bytes.
    c.expect(&["SETBIT", "b", "100", "1"], b":0\r\n").await;
    c.expect(&["STRLEN", "b"], b":13\r\n").await;
    c.expect(&["GETBIT", "b", "100"], b":1\r\n").await;
    c.expect(&["GETBIT", "b", "101"], b":0\r\n").await;
    c.expect(&["GETBIT", "b", "7"], b":1\r\n").await;
    // Reading past the end, or a missing key, is 0 and changes nothing.
    c.expect(&["GETBIT", "b", "99999"], b":0\r\n").await;
    c.expect(&["GETBIT", "b", "4294967295"], b":0\r\n").await;
    c.expect(&["STRLEN", "b"], b":13\r\n").await;
    c.expect(&["GETBIT", "missing", "5"], b":0\r\n").await;
    c.expect(&["EXISTS", "missing"], b":0\r\n").await;
    // Bits of an existing string: 'A' is 0x41 = 01000001.
    c.expect(&["SET", "s", "A"], b"+OK\r\n").await;
    c.expect(&["GETBIT", "s", "0"], b":0\r\n").await;
    c.expect(&["GETBIT", "s", "1"], b":1\r\n").await;
    c.expect(&["GETBIT", "s", "6"], b":0\r\n").await;
    c.expect(&["GETBIT", "s", "7"], b":1\r\n").await;
    c.expect(&["SETBIT", "s", "6", "1"], b":0\r\n").await;
    c.expect(&["GET", "s"], b"$1\r\nC\r\n").await;
    // SETBIT keeps the TTL.
    c.expect(&["SET", "t", "v", "EX", "100"], b"+OK\r\n").await;
    c.expect(&["SETBIT", "t", "0", "1"], b":0\r\n").await;
    let ttl = c.int(&["TTL", "t"]).await;
    assert!((1..=100).contains(&ttl), "TTL after SETBIT: {ttl}");
    // Errors.
    let bad_bit = b"-ERR bit is not an integer or out of range\r\n";
    let bad_offset = b"-ERR bit offset is not an integer or out of range\r\n";
    c.expect(&["SETBIT", "b", "1", "2"], bad_bit).await;
    c.expect(&["SETBIT", "b", "1", "-1"], bad_bit).await;
    c.expect(&["SETBIT", "b", "1", "x"], bad_bit).await;
    c.expect(&["SETBIT", "b", "-1", "1"], bad_offset).await;
    c.expect(&["SETBIT", "b", "4294967296", "1"], bad_offset)
        .await;
    c.expect(&["SETBIT", "b", "x", "1"], bad_offset).await;
    c.expect(&["GETBIT", "b", "-1"], bad_offset).await;
    c.expect(&["GETBIT", "b", "4294967296"], bad_offset).await;
    c.expect(&["STRLEN", "b"], b":13\r\n").await;
    c.expect(&["RPUSH", "l", "x"], b":1\r\n").await;
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    c.expect(&["SETBIT", "l", "0", "1"], wrongtype).await;
    c.expect(&["GETBIT", "l", "0"], wrongtype).await;
    c.expect(
        &["SETBIT", "b", "1"],
        b"-ERR wrong number of arguments for 'setbit' command\r\n",
    )
    .await;
}

/// LCS replies, checked against Redis 7.0.15.
#[tokio::test]
async fn lcs() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &[
            "MSET",
            "a",
            "ohmytext",
            "b",
            "mynewtext",
            "x",
            "ABCBDAB",
            "y",
            "BDCABA",
            "e1",
            "aaaa",
            "e2",
            "aaaa",
            "n1",
            "abc",
            "n2",
            "xyz",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["LCS", "a", "b"], b"$6\r\nmytext\r\n").await;
    c.expect(&["LCS", "a", "b", "LEN"], b":6\r\n").await;
    c.expect(
        &["LCS", "a", "b", "IDX"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    c.expect(
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    c.expect(
        &["LCS", "a", "b", "IDX", "WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    c.expect(
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    // A negative MINMATCHLEN is no minimum.
    c.expect(
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "-5"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    c.expect(&["LCS", "x", "y"], b"$4\r\nBDAB\r\n").await;
    c.expect(
        &["LCS", "x", "y", "IDX", "WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n*3\r\n*2\r\n:3\r\n:4\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:4\r\n",
    )
    .await;
    c.expect(
        &["LCS", "e1", "e2", "IDX"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:3\r\n*2\r\n:0\r\n:3\r\n$3\r\nlen\r\n:4\r\n",
    )
    .await;
    c.expect(&["LCS", "n1", "n2"], b"$0\r\n\r\n").await;
    c.expect(
        &["LCS", "n1", "n2", "IDX"],
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    )
    .await;
    // A missing key is an empty string.
    c.expect(&["LCS", "missing", "a"], b"$0\r\n\r\n").await;
    c.expect(&["LCS", "missing", "a", "LEN"], b":0\r\n").await;
    // Errors.
    c.expect(
        &["LCS", "a", "b", "LEN", "IDX"],
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n",
    )
    .await;
    c.expect(&["LCS", "a", "b", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["LCS", "a", "b", "MINMATCHLEN"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["RPUSH", "l", "x"], b":1\r\n").await;
    let not_strings = b"-ERR The specified keys must contain string values\r\n";
    c.expect(&["LCS", "a", "l"], not_strings).await;
    c.expect(&["LCS", "l", "a"], not_strings).await;
    c.expect(
        &["LCS", "a"],
        b"-ERR wrong number of arguments for 'lcs' command\r\n",
    )
    .await;
    // RESP3: IDX is a map.
    c.cmd(&["HELLO", "3"]).await;
    c.expect(
        &["LCS", "a", "b", "IDX", "WITHMATCHLEN"],
        b"%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
}

/// LCS on pseudo-random strings: LEN is the DP length, the string is a common
/// subsequence of that length, and IDX's ranges are equal substrings that add
/// up to it, in decreasing order.
#[tokio::test]
async fn lcs_random_strings() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    fn lcs_len(a: &[u8], b: &[u8]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }
    fn is_subsequence(s: &[u8], of: &[u8]) -> bool {
        let mut it = of.iter();
        s.iter().all(|ch| it.any(|o| o == ch))
    }
    for round in 0..50 {
        let alphabet = if round % 2 == 0 { &b"ab"[..] } else { b"abcd" };
        let la = (next() % 30) as usize;
        let lb = (next() % 30) as usize;
        let mut gen = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        let (a, b) = (gen(la), gen(lb));
        c.cmd(&[&b"MSET"[..], b"ka", &a, b"kb", &b]).await;
        let want = lcs_len(&a, &b);
        let len = c.int(&["LCS", "ka", "kb", "LEN"]).await as usize;
        assert_eq!(len, want, "LEN of {a:?} {b:?}");
        let s = match c.val(&["LCS", "ka", "kb"]).await {
            common::Resp::Bulk(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.len(), want);
        assert!(is_subsequence(&s, &a) && is_subsequence(&s, &b), "{s:?}");
        let idx = c.val(&["LCS", "ka", "kb", "IDX", "WITHMATCHLEN"]).await;
        assert_eq!(idx.get("len"), Some(common::Resp::Int(want as i64)));
        let matches = idx.get("matches").unwrap();
        let mut total = 0;
        let mut prev_a_start = usize::MAX;
        for m in matches.items() {
            let r = m.items();
            let ra: Vec<usize> = r[0].items().iter().map(|v| v.as_int() as usize).collect();
            let rb: Vec<usize> = r[1].items().iter().map(|v| v.as_int() as usize).collect();
            let mlen = r[2].as_int() as usize;
            assert_eq!(ra[1] - ra[0] + 1, mlen);
            assert_eq!(rb[1] - rb[0] + 1, mlen);
            assert_eq!(&a[ra[0]..=ra[1]], &b[rb[0]..=rb[1]]);
            assert!(ra[1] < prev_a_start, "ranges from the end backwards");
            prev_a_start = ra[0];
            total += mlen;
        }
        assert_eq!(total, want, "IDX ranges of {a:?} {b:?}");
    }
}

/// A keyspace past the caches turns on pipeline prefetching
/// (`keyspace::prefetch`): pipelined reads and writes of the same keys,
/// two connections at once, still see exactly what was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_over_a_keyspace_past_the_caches_read_their_writes() {
    const KEYS: usize = 60_000;
    let s = TestServer::start().await;
    let Some(srv) = s.server().cloned() else {
        return; // an external server: its prefetching cannot be switched on from here
    };
    let mut r = s.raw().await;
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1000) {
        let mut batch = Vec::new();
        for i in chunk {
            batch.extend(common::encode(&[
                "SET",
                &format!("key:{i}"),
                &format!("v{i}"),
            ]));
        }
        r.send(batch).await;
        r.read_frames(chunk.len()).await;
    }
    // What the server cron does once a second.
    srv.keyspace.review_prefetch();
    assert!(srv.keyspace.prefetch_worthwhile());
    let mut tasks = Vec::new();
    for worker in 0..2usize {
        let mut r = s.raw().await;
        tasks.push(tokio::spawn(async move {
            for round in 0..20usize {
                // Runs of GETs (prefetched one ahead), each key rewritten by
                // this connection just before, with an INCR and a miss mixed in.
                let base = (worker * 20 + round) * 700 % (KEYS - 700);
                let mut batch = Vec::new();
                let mut expected = Vec::new();
                for i in base..base + 300 {
                    let key = format!("key:{i}");
                    let value = format!("w{worker}r{round}:{i}");
                    batch.extend(common::encode(&["SET", &key, &value]));
                    expected.push(common::Resp::Simple("OK".into()));
                }
                for i in base..base + 300 {
                    batch.extend(common::encode(&["GET", &format!("key:{i}")]));
                    expected.push(common::Resp::Bulk(
                        format!("w{worker}r{round}:{i}").into_bytes(),
                    ));
                }
                batch.extend(common::encode(&["GET", "absent"]));
                expected.push(common::Resp::NilBulk);
                let counter = format!("counter:{worker}");
                batch.extend(common::encode(&["INCR", &counter]));
                expected.push(common::Resp::Int(round as i64 + 1));
                r.send(batch).await;
                for want in expected {
                    assert_eq!(r.read_value().await, want);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("pipelining connection");
    }
}
