//! Criterion micro-benchmarks of the protocol hot paths:
//! request decoding (`conn::protocol::RequestParser`), reply encoding for
//! RESP2/RESP3 (`reply::encode`) and command-table lookup (`CommandTable::resolve`).
//!
//! `cargo bench --bench protocol` (add `-- --quick` for a short run).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use cinnabar::command::CommandTable;
use cinnabar::conn::protocol::{Parsed, RequestParser};
use cinnabar::reply::{encode, Reply};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `n` pipelined `SET key:i <value>` requests.
fn pipeline(n: usize, value_len: usize) -> Vec<u8> {
    let value = vec![b'v'; value_len];
    let mut out = Vec::new();
    for i in 0..n {
        out.extend(resp(&[b"SET", format!("key:{i}").as_bytes(), &value]));
    }
    out
}

fn decode_all(input: &[u8]) -> usize {
    let mut parser = RequestParser::new(512 * 1024 * 1024);
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while let Some(p) = parser.next(&mut buf).expect("valid RESP") {
        if let Parsed::Command(args) = p {
            n += args.len();
        }
    }
    n
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, input) in [
        ("small_pipeline_16x_set16", pipeline(16, 16)),
        ("large_pipeline_1000x_set16", pipeline(1000, 16)),
        ("large_values_64x_set16k", pipeline(64, 16 * 1024)),
    ] {
        assert!(decode_all(&input) > 0);
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| b.iter(|| decode_all(black_box(&input))));
    }
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let replies: Vec<(&str, Reply)> = vec![
        ("ok", Reply::Ok),
        ("int", Reply::Int(1234567)),
        (
            "bulk16",
            Reply::Bulk(Bytes::from_static(b"0123456789abcdef")),
        ),
        (
            "array100_bulk",
            Reply::Array(
                (0..100)
                    .map(|i| Reply::Bulk(Bytes::from(format!("element-{i}"))))
                    .collect(),
            ),
        ),
        (
            "map50",
            Reply::Map(
                (0..50)
                    .map(|i| (Reply::Bulk(Bytes::from(format!("field{i}"))), Reply::Int(i)))
                    .collect(),
            ),
        ),
        ("double", Reply::Double(std::f64::consts::PI)),
    ];
    for (name, r) in &replies {
        for proto in [2u8, 3u8] {
            g.bench_function(format!("{name}/resp{proto}"), |b| {
                let mut out = BytesMut::with_capacity(8192);
                b.iter(|| {
                    out.clear();
                    encode(black_box(r), proto, &mut out);
                    out.len()
                })
            });
        }
    }
    g.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let table = CommandTable::new();
    let mut g = c.benchmark_group("command_lookup");
    let cases: Vec<(&str, Vec<Bytes>)> = vec![
        (
            "get",
            vec![Bytes::from_static(b"get"), Bytes::from_static(b"k")],
        ),
        (
            "SET_upper",
            vec![
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"k"),
                Bytes::from_static(b"v"),
            ],
        ),
        (
            "client_setname_sub",
            vec![
                Bytes::from_static(b"CLIENT"),
                Bytes::from_static(b"SETNAME"),
                Bytes::from_static(b"x"),
            ],
        ),
        ("unknown", vec![Bytes::from_static(b"NOSUCHCOMMAND")]),
    ];
    for (name, args) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| table.resolve(black_box(args)).map(|r| r.stat))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_decode, bench_encode, bench_lookup);
criterion_main!(benches);
