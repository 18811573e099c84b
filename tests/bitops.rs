//! BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO: replies as
//! redis-server 7.0.15 gives them for the same commands (recorded side by
//! side), byte and bit ranges, overflow modes and errors.

mod common;

use common::TestServer;

#[tokio::test]
async fn bit_counts_positions_and_operations_are_redis_s() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["SET", "s", "foobar"], b"+OK\r\n").await;
    let cases: &[(&[&str], &[u8])] = &[
        (&["BITCOUNT", "s"], b":26\r\n"),
        (&["BITCOUNT", "s", "1", "1"], b":6\r\n"),
        (&["BITCOUNT", "s", "5", "30", "BIT"], b":17\r\n"),
        (&["BITCOUNT", "missing"], b":0\r\n"),
        (&["BITCOUNT", "s", "1"], b"-ERR syntax error\r\n"),
        (&["BITPOS", "s", "1"], b":1\r\n"),
        (&["BITPOS", "s", "0", "2"], b":16\r\n"),
        (&["BITPOS", "s", "1", "7", "15", "BIT"], b":9\r\n"),
        (&["BITPOS", "missing", "0"], b":0\r\n"),
        (
            &["BITPOS", "s", "2"],
            b"-ERR The bit argument must be 1 or 0.\r\n",
        ),
        (&["BITOP", "AND", "d", "s", "missing"], b":6\r\n"),
        (&["GET", "d"], b"$6\r\n\0\0\0\0\0\0\r\n"),
        (&["BITOP", "NOT", "n", "s"], b":6\r\n"),
        (
            &["BITOP", "NOT", "n", "s", "s"],
            b"-ERR BITOP NOT must be called with a single source key.\r\n",
        ),
        (&["BITOP", "OR", "gone", "missing"], b":0\r\n"),
        (&["EXISTS", "gone"], b":0\r\n"),
    ];
    for (cmd, expected) in cases {
        c.expect(cmd, expected).await;
    }
}

#[tokio::test]
async fn bitfield_overflow_modes_and_read_only_form() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(
        &[
            "BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "INCRBY", "u2", "100",
            "1", "OVERFLOW", "SAT", "INCRBY", "i4", "100", "-20",
        ],
        b"*4\r\n:0\r\n:255\r\n:1\r\n:-8\r\n",
    )
    .await;
    c.expect(
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "4",
        ],
        b"*1\r\n$-1\r\n",
    )
    .await;
    c.expect(&["BITFIELD_RO", "bf", "GET", "i8", "#0"], b"*1\r\n:-1\r\n")
        .await;
    c.expect(
        &["BITFIELD_RO", "bf", "SET", "u8", "0", "1"],
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n",
    )
    .await;
    c.expect(
        &["BITFIELD", "bf", "GET", "u64", "0"],
        b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n",
    )
    .await;
    c.expect(
        &["BITFIELD", "bf", "OVERFLOW", "WHAT"],
        b"-ERR Invalid OVERFLOW type specified\r\n",
    )
    .await;
    // GETs alone on a missing key read zeros and create nothing.
    c.expect(&["BITFIELD", "none", "GET", "u4", "0"], b"*1\r\n:0\r\n")
        .await;
    c.expect(&["EXISTS", "none"], b":0\r\n").await;
}
