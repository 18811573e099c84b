//! Geo commands (after Redis's `unit/geo.tcl`): GEOADD, GEODIST, GEOHASH,
//! GEOPOS, GEORADIUS(_RO), GEORADIUSBYMEMBER(_RO), GEOSEARCH, GEOSEARCHSTORE.
//! Every expected reply is redis-server 7.0.15's, byte for byte (generated
//! from a real server; run with `CINNABAR_TEST_EXTERNAL_PORT` to check again).

mod common;

use common::{encode, parse_frame, TestServer, IO_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn geoadd_options_scores_and_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["flushall"], b"+OK\r\n").await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        b":2\r\n",
    )
    .await;
    // An existing member is updated, not counted, unless CH.
    c.expect(
        &["geoadd", "Sicily", "13.361389", "38.115556", "Palermo"],
        b":0\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "CH", "13.4", "38.1", "Palermo"],
        b":1\r\n",
    )
    .await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "NX",
            "1",
            "1",
            "Palermo",
            "2",
            "2",
            "Agrigento",
        ],
        b":1\r\n",
    )
    .await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "XX",
            "13.361389",
            "38.115556",
            "Palermo",
            "3",
            "3",
            "Nope",
        ],
        b":0\r\n",
    )
    .await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "XX",
            "CH",
            "13.361389",
            "38.115556",
            "Palermo",
        ],
        b":0\r\n",
    )
    .await;
    // The scores are the 52-bit geohashes, as ZADD stores them.
    c.expect(&["zrange", "Sicily", "0", "-1", "WITHSCORES"], b"*6\r\n$9\r\nAgrigento\r\n$16\r\n3378191666521995\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n").await;
    c.expect(&["type", "Sicily"], b"+zset\r\n").await;
    // Errors: nothing is added.
    c.expect(
        &["geoadd", "Sicily", "XX", "NX", "1", "1", "a"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "1", "1", "a", "2"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "FOO", "1", "1", "a"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "200", "100", "a"],
        b"-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "-180.1", "0", "a"],
        b"-ERR invalid longitude,latitude pair -180.100000,0.000000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "0", "85.06", "a"],
        b"-ERR invalid longitude,latitude pair 0.000000,85.060000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "0", "-85.06", "a"],
        b"-ERR invalid longitude,latitude pair 0.000000,-85.060000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "inf", "0", "a"],
        b"-ERR invalid longitude,latitude pair inf,0.000000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "x", "0", "a"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "0", "1e400", "a"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "1", "1", "a", "2", "200", "b"],
        b"-ERR invalid longitude,latitude pair 2.000000,200.000000\r\n",
    )
    .await;
    c.expect(
        &["geoadd", "Sicily", "1", "1"],
        b"-ERR wrong number of arguments for 'geoadd' command\r\n",
    )
    .await;
    c.expect(&["zcard", "Sicily"], b":3\r\n").await;
    // The limits themselves are accepted.
    c.expect(
        &[
            "geoadd",
            "edges",
            "180",
            "85.05112878",
            "ne",
            "-180",
            "-85.05112878",
            "sw",
            "0",
            "0",
            "origin",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(&["zrange", "edges", "0", "-1", "WITHSCORES"], b"*6\r\n$2\r\nsw\r\n$1\r\n0\r\n$6\r\norigin\r\n$16\r\n3377699720527872\r\n$2\r\nne\r\n$17\r\n13510798882111488\r\n").await;
    c.expect(&["geopos", "edges", "ne", "sw", "origin"], b"*3\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n").await;
    c.expect(
        &["geohash", "edges", "ne", "sw", "origin"],
        b"*3\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\ns0000000000\r\n",
    )
    .await;
    c.expect(&["set", "str", "x"], b"+OK\r\n").await;
    c.expect(
        &["geoadd", "str", "1", "1", "a"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
}

#[tokio::test]
async fn geopos_geohash_geodist() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["flushall"], b"+OK\r\n").await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        b":2\r\n",
    )
    .await;
    c.expect(&["geopos", "Sicily", "Palermo", "Catania", "NonExisting"], b"*3\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*-1\r\n").await;
    c.expect(&["geopos", "nokey", "a"], b"*1\r\n*-1\r\n").await;
    c.expect(
        &["geohash", "Sicily", "Palermo", "Catania", "NonExisting"],
        b"*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n",
    )
    .await;
    c.expect(&["geohash", "nokey", "a", "b"], b"*2\r\n$-1\r\n$-1\r\n")
        .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania"],
        b"$11\r\n166274.1516\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania", "km"],
        b"$8\r\n166.2742\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania", "MI"],
        b"$8\r\n103.3182\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania", "ft"],
        b"$11\r\n545518.8700\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Palermo"],
        b"$6\r\n0.0000\r\n",
    )
    .await;
    c.expect(&["geodist", "Sicily", "Palermo", "NonExisting"], b"$-1\r\n")
        .await;
    c.expect(&["geodist", "nokey", "a", "b"], b"$-1\r\n").await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania", "parsec"],
        b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania", "km", "extra"],
        b"-ERR syntax error\r\n",
    )
    .await;
    // A sorted set that was not written by GEOADD still decodes.
    c.expect(
        &[
            "zadd", "plain", "-1", "neg", "0", "zero", "1e20", "big", "inf", "top",
        ],
        b":4\r\n",
    )
    .await;
    c.expect(&["geopos", "plain", "neg", "zero", "big", "top"], b"*4\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n").await;
    c.expect(&["geohash", "plain", "neg", "zero", "big", "top"], b"*4\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n").await;
    c.expect(&["set", "str", "x"], b"+OK\r\n").await;
    c.expect(
        &["geopos", "str", "a"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &["geohash", "str", "a"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &["geodist", "str", "a", "b"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
}

/// Searches: shapes, units, options, orders (ties included) and RESP3.
#[tokio::test]
async fn georadius_and_geosearch_replies() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["flushall"], b"+OK\r\n").await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
            "13.583333",
            "37.316667",
            "Agrigento",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "200", "km"],
        b"*3\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "200", "km", "ASC"],
        b"*3\r\n$7\r\nCatania\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n",
    )
    .await;
    c.expect(&["georadius", "Sicily", "15", "37", "200", "km", "DESC", "WITHDIST"], b"*3\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n").await;
    c.expect(&["georadius", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"], b"*3\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n").await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "200", "km", "COUNT", "1"],
        b"*1\r\n$7\r\nCatania\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "COUNT",
            "2",
            "DESC",
        ],
        b"*2\r\n$7\r\nPalermo\r\n$9\r\nAgrigento\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "COUNT",
            "1",
            "ANY",
        ],
        b"*1\r\n$9\r\nAgrigento\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "COUNT",
            "1",
            "ANY",
            "ASC",
        ],
        b"*1\r\n$9\r\nAgrigento\r\n",
    )
    .await;
    c.expect(&["georadius", "Sicily", "15", "37", "200000", "m", "WITHDIST"], b"*3\r\n*2\r\n$9\r\nAgrigento\r\n$11\r\n130423.4871\r\n*2\r\n$7\r\nPalermo\r\n$11\r\n190442.4298\r\n*2\r\n$7\r\nCatania\r\n$10\r\n56441.2579\r\n").await;
    c.expect(&["georadius", "Sicily", "15", "37", "124.27", "mi", "WITHDIST"], b"*3\r\n*2\r\n$9\r\nAgrigento\r\n$7\r\n81.0416\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n118.3357\r\n*2\r\n$7\r\nCatania\r\n$7\r\n35.0711\r\n").await;
    c.expect(&["georadius", "Sicily", "15", "37", "656168", "ft", "WITHDIST"], b"*3\r\n*2\r\n$9\r\nAgrigento\r\n$11\r\n427898.5796\r\n*2\r\n$7\r\nPalermo\r\n$11\r\n624811.1215\r\n*2\r\n$7\r\nCatania\r\n$11\r\n185174.7305\r\n").await;
    c.expect(&["georadius", "Sicily", "15", "37", "1", "km"], b"*0\r\n")
        .await;
    c.expect(&["georadius", "nokey", "15", "37", "1", "km"], b"*0\r\n")
        .await;
    c.expect(&["georadius_ro", "Sicily", "15", "37", "200", "km", "WITHDIST"], b"*3\r\n*2\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n").await;
    c.expect(&["georadiusbymember", "Sicily", "Palermo", "200", "km", "WITHDIST"], b"*3\r\n*2\r\n$9\r\nAgrigento\r\n$7\r\n90.9778\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n").await;
    c.expect(&["georadiusbymember_ro", "Sicily", "Agrigento", "100", "km", "WITHCOORD"], b"*2\r\n*2\r\n$9\r\nAgrigento\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n").await;
    c.expect(&["geosearch", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "ASC", "WITHDIST"], b"*3\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$9\r\nAgrigento\r\n$7\r\n90.9778\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n").await;
    c.expect(&["geosearch", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"], b"*3\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n").await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "200",
            "200",
            "km",
            "ASC",
        ],
        b"*1\r\n$7\r\nCatania\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "COUNT",
            "2",
            "DESC",
        ],
        b"*2\r\n$7\r\nPalermo\r\n$9\r\nAgrigento\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"*0\r\n",
    )
    .await;
    // Members at one point come back in Redis's (partial quicksort) order.
    c.expect(
        &[
            "geoadd", "same", "0", "0", "a", "0", "0", "b", "0", "0", "c", "0", "0", "d", "0", "0",
            "e", "0", "0", "f", "0", "0", "g", "0", "0", "h", "0.01", "0", "far",
        ],
        b":9\r\n",
    )
    .await;
    c.expect(&["georadius", "same", "0", "0", "10", "km"], b"*9\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$3\r\nfar\r\n").await;
    c.expect(&["georadius", "same", "0", "0", "10", "km", "ASC"], b"*9\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$3\r\nfar\r\n").await;
    c.expect(
        &["georadius", "same", "0", "0", "10", "km", "COUNT", "3"],
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "same",
            "0",
            "0",
            "10",
            "km",
            "COUNT",
            "3",
            "DESC",
        ],
        b"*3\r\n$3\r\nfar\r\n$1\r\nb\r\n$1\r\nc\r\n",
    )
    .await;
    c.expect(
        &["georadius", "same", "0", "0", "0", "km", "WITHDIST"],
        b"*0\r\n",
    )
    .await;
    // A box across the antimeridian, a circle across the pole.
    c.expect(
        &[
            "geoadd", "wrap", "179.5", "10", "east", "-179.5", "10", "west", "0", "10", "far",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "wrap",
            "FROMLONLAT",
            "180",
            "10",
            "BYBOX",
            "300",
            "100",
            "km",
            "ASC",
            "WITHDIST",
        ],
        b"*1\r\n*2\r\n$4\r\neast\r\n$7\r\n54.7681\r\n",
    )
    .await;
    c.expect(
        &[
            "geoadd", "polar", "0", "85", "a", "180", "85", "b", "90", "84", "c",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(
        &[
            "georadiusbymember",
            "polar",
            "a",
            "700",
            "km",
            "ASC",
            "WITHDIST",
        ],
        b"*1\r\n*2\r\n$1\r\na\r\n$6\r\n0.0000\r\n",
    )
    .await;
    c.val(&["HELLO", "3"]).await;
    c.expect(
        &["geopos", "Sicily", "Palermo", "NonExisting"],
        b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n",
    )
    .await;
    c.expect(
        &["geohash", "Sicily", "Palermo", "NonExisting"],
        b"*2\r\n$11\r\nsqc8b49rny0\r\n_\r\n",
    )
    .await;
    c.expect(
        &["geodist", "Sicily", "Palermo", "Catania"],
        b"$11\r\n166274.1516\r\n",
    )
    .await;
    c.expect(&["geodist", "Sicily", "Palermo", "NonExisting"], b"_\r\n")
        .await;
    c.expect(&["georadius", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"], b"*3\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n,13.5833314061164856\r\n,37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n").await;
    c.expect(&["georadius", "nokey", "15", "37", "200", "km"], b"*0\r\n")
        .await;
    c.val(&["HELLO", "2"]).await;
}

/// Every search error, in the order Redis checks them.
#[tokio::test]
async fn search_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["flushall"], b"+OK\r\n").await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        b":2\r\n",
    )
    .await;
    c.expect(&["set", "str", "x"], b"+OK\r\n").await;
    c.expect(
        &["georadius", "str", "15", "37", "200", "km"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &["georadius", "str", "1500", "37", "200", "km"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &["georadiusbymember", "str", "a", "1", "km"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "str",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "str",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "200", "37", "200", "km"],
        b"-ERR invalid longitude,latitude pair 200.000000,37.000000\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "x", "37", "200", "km"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "x", "km"],
        b"-ERR need numeric radius\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "-1", "km"],
        b"-ERR radius cannot be negative\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "parsec"],
        b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "COUNT", "0"],
        b"-ERR COUNT must be > 0\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "COUNT", "-5"],
        b"-ERR COUNT must be > 0\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "COUNT", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "COUNT"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "ANY"],
        b"-ERR the ANY argument requires COUNT argument\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "WITHFOO"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["georadius", "Sicily", "15", "37", "1", "km", "STORE"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(&["georadius", "Sicily", "15", "37", "1", "km", "STORE", "dst", "WITHDIST"], b"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n").await;
    c.expect(&["georadius", "Sicily", "15", "37", "1", "km", "STOREDIST", "dst", "WITHCOORD"], b"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n").await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "1",
            "km",
            "FROMMEMBER",
            "Palermo",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius_ro",
            "Sicily",
            "15",
            "37",
            "1",
            "km",
            "STORE",
            "dst",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "georadiusbymember_ro",
            "Sicily",
            "Palermo",
            "1",
            "km",
            "STOREDIST",
            "dst",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["georadiusbymember", "Sicily", "NonExisting", "1", "km"],
        b"-ERR could not decode requested zset member\r\n",
    )
    .await;
    c.expect(
        &["georadiusbymember", "nokey", "NonExisting", "x", "km"],
        b"*0\r\n",
    )
    .await;
    c.expect(
        &["georadiusbymember", "Sicily", "Palermo", "x", "km"],
        b"-ERR need numeric radius\r\n",
    )
    .await;
    c.expect(
        &[
            "georadiusbymember",
            "Sicily",
            "Palermo",
            "1",
            "km",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["geosearch", "Sicily", "BYRADIUS", "1", "km"],
        b"-ERR wrong number of arguments for 'geosearch' command\r\n",
    )
    .await;
    c.expect(
        &["geosearch", "Sicily", "FROMLONLAT", "15", "37", "WITHDIST"],
        b"-ERR wrong number of arguments for 'geosearch' command\r\n",
    )
    .await;
    c.expect(
        &["GeoSearch", "Sicily", "FROMLONLAT", "15", "37", "WITHDIST"],
        b"-ERR wrong number of arguments for 'geosearch' command\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "BYBOX",
            "1",
            "1",
            "km",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "1",
            "1",
            "km",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMMEMBER",
            "NonExisting",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR could not decode requested zset member\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "nokey",
            "FROMMEMBER",
            "NonExisting",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"*0\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "370",
            "BYRADIUS",
            "1",
            "km",
        ],
        b"-ERR invalid longitude,latitude pair 15.000000,370.000000\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "x",
            "1",
            "km",
        ],
        b"-ERR need numeric width\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "1",
            "x",
            "km",
        ],
        b"-ERR need numeric height\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "-1",
            "1",
            "km",
        ],
        b"-ERR height or width cannot be negative\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "1",
            "1",
            "parsec",
        ],
        b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "1",
            "1",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "STORE",
            "dst",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "STOREDIST",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "WITHDIST",
        ],
        b"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "STORE",
            "other",
        ],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "COUNT",
            "1",
            "ANY",
            "WITHHASH",
        ],
        b"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "km",
            "ANY",
        ],
        b"-ERR the ANY argument requires COUNT argument\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearch",
            "Sicily",
            "BYRADIUS",
            "1",
            "km",
            "WITHDIST",
            "ASC",
        ],
        b"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch\r\n",
    )
    .await;
    c.expect(
        &[
            "GeoSearch",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "WITHDIST",
            "ASC",
        ],
        b"-ERR exactly one of BYRADIUS and BYBOX can be specified for GeoSearch\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "BYRADIUS",
            "1",
            "km",
            "ASC",
            "DESC",
        ],
        b"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearchstore\r\n",
    )
    .await;
    c.expect(
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "ASC",
            "DESC",
        ],
        b"-ERR wrong number of arguments for 'geosearchstore' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn store_and_storedist() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["flushall"], b"+OK\r\n").await;
    c.expect(
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
            "13.583333",
            "37.316667",
            "Agrigento",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "dst",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(&["zrange", "dst", "0", "-1", "WITHSCORES"], b"*6\r\n$9\r\nAgrigento\r\n$16\r\n3479030013248308\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n").await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STOREDIST",
            "dst",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(&["zrange", "dst", "0", "-1", "WITHSCORES"], b"*6\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$9\r\nAgrigento\r\n$18\r\n130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n").await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "COUNT",
            "1",
            "STOREDIST",
            "dst",
        ],
        b":1\r\n",
    )
    .await;
    c.expect(
        &["zrange", "dst", "0", "-1", "WITHSCORES"],
        b"*2\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n",
    )
    .await;
    c.expect(
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "a",
            "STOREDIST",
            "b",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(&["exists", "a"], b":0\r\n").await;
    c.expect(&["zrange", "b", "0", "-1", "WITHSCORES"], b"*6\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$9\r\nAgrigento\r\n$18\r\n130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n").await;
    c.expect(
        &[
            "georadiusbymember",
            "Sicily",
            "Palermo",
            "100",
            "km",
            "DESC",
            "STOREDIST",
            "dst",
        ],
        b":2\r\n",
    )
    .await;
    c.expect(
        &["zrange", "dst", "0", "-1", "WITHSCORES"],
        b"*4\r\n$7\r\nPalermo\r\n$1\r\n0\r\n$9\r\nAgrigento\r\n$18\r\n90.977753537996037\r\n",
    )
    .await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
        ],
        b":3\r\n",
    )
    .await;
    c.expect(&["zrange", "dst", "0", "-1", "WITHSCORES"], b"*6\r\n$9\r\nAgrigento\r\n$16\r\n3479030013248308\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n").await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "STOREDIST",
            "COUNT",
            "2",
            "DESC",
        ],
        b":2\r\n",
    )
    .await;
    c.expect(&["zrange", "dst", "0", "-1", "WITHSCORES"], b"*4\r\n$9\r\nAgrigento\r\n$18\r\n130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n").await;
    // The destination loses its TTL and its old type.
    c.expect(&["expire", "dst", "100"], b":1\r\n").await;
    c.expect(&["set", "dst2", "string"], b"+OK\r\n").await;
    c.expect(
        &[
            "geosearchstore",
            "dst2",
            "Sicily",
            "FROMMEMBER",
            "Catania",
            "BYRADIUS",
            "1",
            "m",
        ],
        b":1\r\n",
    )
    .await;
    c.expect(&["type", "dst2"], b"+zset\r\n").await;
    c.expect(
        &[
            "geosearchstore",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Catania",
            "BYRADIUS",
            "1",
            "m",
        ],
        b":1\r\n",
    )
    .await;
    c.expect(&["ttl", "dst"], b":-1\r\n").await;
    // An empty result deletes the destination.
    c.expect(
        &["georadius", "Sicily", "0", "0", "1", "km", "STORE", "dst"],
        b":0\r\n",
    )
    .await;
    c.expect(&["exists", "dst"], b":0\r\n").await;
    c.expect(
        &["georadius", "nokey", "0", "0", "1", "km", "STORE", "b"],
        b":0\r\n",
    )
    .await;
    c.expect(&["exists", "b"], b":0\r\n").await;
    c.expect(
        &[
            "geosearchstore",
            "dst2",
            "nokey",
            "FROMMEMBER",
            "x",
            "BYRADIUS",
            "1",
            "km",
        ],
        b":0\r\n",
    )
    .await;
    c.expect(&["exists", "dst2"], b":0\r\n").await;
}

#[tokio::test]
async fn keyspace_events() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = srv.event_subscriber("KEA", "__keyevent@0__:*").await;
    c.cmd(&["GEOADD", "g", "1", "1", "a", "2", "2", "b"]).await;
    // No change, no event.
    c.cmd(&["GEOADD", "g", "1", "1", "a"]).await;
    c.cmd(&["GEOADD", "g", "CH", "1", "1.5", "a"]).await;
    c.cmd(&["GEORADIUS", "g", "1", "1", "500", "km", "STORE", "d"])
        .await;
    c.cmd(&[
        "GEOSEARCHSTORE",
        "d",
        "g",
        "FROMLONLAT",
        "1",
        "1",
        "BYRADIUS",
        "500",
        "km",
    ])
    .await;
    c.cmd(&["GEORADIUSBYMEMBER", "g", "a", "1", "m", "STOREDIST", "d"])
        .await;
    c.cmd(&["GEORADIUS", "g", "50", "50", "1", "km", "STORE", "d"])
        .await;
    let want = [
        "zadd:g",
        "zadd:g",
        "georadiusstore:d",
        "geosearchstore:d",
        "georadiusstore:d",
        "del:d",
    ];
    let mut events = Vec::new();
    for _ in 0..want.len() {
        let items = sub.read_value().await.strings();
        let event = items[2].rsplit(':').next().unwrap_or("").to_string();
        events.push(format!("{event}:{}", items[3]));
    }
    assert_eq!(events, want);
}

/// GEOADD reaches replicas (and the AOF) as the ZADD it amounts to, as
/// geo.c rewrites it; the searches that store are propagated as sent.
#[tokio::test]
async fn geoadd_propagates_as_zadd() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let mut c = srv.raw().await;
    let mut link = TcpStream::connect(("127.0.0.1", srv.port))
        .await
        .expect("connect");
    link.write_all(&encode(&["PSYNC", "?", "-1"]))
        .await
        .expect("write");
    let mut buf = Vec::new();
    let next_line = |buf: &mut Vec<u8>| {
        let i = buf.windows(2).position(|w| w == b"\r\n")?;
        let l: Vec<u8> = buf.drain(..i + 2).collect();
        Some(String::from_utf8_lossy(&l[..i]).into_owned())
    };
    let mut chunk = [0u8; 16384];
    let mut read = async |link: &mut TcpStream, buf: &mut Vec<u8>| {
        let n = tokio::time::timeout(IO_TIMEOUT, link.read(&mut chunk))
            .await
            .expect("data in time")
            .expect("read");
        assert!(n > 0, "link closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    // +FULLRESYNC, then the RDB payload.
    let rdb_len = loop {
        match next_line(&mut buf) {
            Some(l) if l.starts_with('$') => break l[1..].parse::<usize>().expect("length"),
            Some(_) => continue,
            None => read(&mut link, &mut buf).await,
        }
    };
    while buf.len() < rdb_len {
        read(&mut link, &mut buf).await;
    }
    buf.drain(..rdb_len);

    c.expect(
        &[
            "GEOADD",
            "Sicily",
            "CH",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        b":2\r\n",
    )
    .await;
    c.expect(&["GEOADD", "Sicily", "NX", "1", "1", "Palermo"], b":0\r\n")
        .await;
    c.expect(
        &[
            "GEOSEARCHSTORE",
            "d",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
        b":2\r\n",
    )
    .await;
    let want: [&[&str]; 3] = [
        &["SELECT", "0"],
        &[
            "zadd",
            "Sicily",
            "CH",
            "3479099956230698",
            "Palermo",
            "3479447370796909",
            "Catania",
        ],
        &[
            "GEOSEARCHSTORE",
            "d",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
    ];
    for w in want {
        let got = loop {
            if let Some((v, n)) = parse_frame(&buf) {
                buf.drain(..n);
                let words = v.strings();
                if words
                    .first()
                    .is_some_and(|c| c.eq_ignore_ascii_case("ping"))
                {
                    continue;
                }
                break words;
            }
            read(&mut link, &mut buf).await;
        };
        assert_eq!(got, w);
    }
}
