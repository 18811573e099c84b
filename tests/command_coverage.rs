//! Every command in the command table must be exercised by some test.
//!
//! The check is textual: the string literals of every `tests/*.rs` file (this
//! one excluded) are split into words, and each command name must appear as a
//! word (case-insensitively); a subcommand `parent|sub` must appear as the two
//! consecutive words `parent sub`, as in `["CLIENT", "SETNAME", …]` or
//! `"CLIENT SETNAME x\r\n"`. Comments and Rust identifiers do not count.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use common::TestServer;

/// The contents of the string literals of a Rust source file, in order.
fn string_literals(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !is_ident(b[i - 1]) || b[i - 1] == b'b') =>
            {
                // Raw string r"…" / r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let mut end = start;
                loop {
                    if end >= b.len() {
                        break;
                    }
                    if b[end] == b'"'
                        && b[end + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|c| **c == b'#')
                            .count()
                            == hashes
                    {
                        break;
                    }
                    end += 1;
                }
                out.push(String::from_utf8_lossy(&b[start..end.min(b.len())]).into_owned());
                i = end + 1 + hashes;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        // Escapes become separators, except an escaped quote or backslash.
                        match b[i + 1] {
                            b'"' | b'\\' => s.push(b[i + 1]),
                            _ => s.push(b' '),
                        }
                        i += 2;
                    } else {
                        s.push(b[i]);
                        i += 1;
                    }
                }
                out.push(String::from_utf8_lossy(&s).into_owned());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Lowercase words of the literals, in order; numbers are left out so that
/// `$7\r\nSETNAME` in a raw request still reads `… client setname …`.
fn words(literals: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for lit in literals {
        for w in lit.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            if !w.is_empty() && !w.bytes().all(|c| c.is_ascii_digit()) {
                out.push(w.to_ascii_lowercase());
            }
        }
    }
    out
}

/// Every test file's words, except this file's.
fn test_words() -> (Vec<String>, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut all = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/ is readable") {
        let path = entry.unwrap().path();
        let is_rs = path.extension().is_some_and(|e| e == "rs");
        if !is_rs || path.file_name().is_some_and(|n| n == "command_coverage.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        all.extend(words(&string_literals(&src)));
        // Files are separate streams: no pair spans two files.
        all.push(String::new());
        files += 1;
    }
    (all, files)
}

/// `name` or `parent|sub` for every entry of the command table.
fn table_names() -> Vec<String> {
    cinnabar::command::CommandTable::new()
        .all
        .iter()
        .map(|(parent, spec)| match parent {
            Some(p) => format!("{}|{}", p.name, spec.name),
            None => spec.name.to_string(),
        })
        .collect()
}

#[test]
fn literal_scanner_reads_rust_strings() {
    let src = r##"
        // c.expect(&["IN_COMMENT"]);
        let x = 'a'; let q = '"'; fn f<'a>() {}
        c.expect(&["CLIENT", "SETNAME", "x"], b"+OK\r\n");
        c.send(b"*2\r\n$6\r\nCONFIG\r\n$9\r\nRESETSTAT\r\n");
        let r = r#"raw "DBSIZE" here"#;
        let esc = "say \"LASTSAVE\"";
    "##;
    let w = words(&string_literals(src));
    let text = w.join(" ");
    assert!(!text.contains("in_comment"), "{text}");
    assert!(text.contains("client setname x ok"), "{text}");
    assert!(text.contains("config resetstat"), "{text}");
    assert!(text.contains("raw dbsize here"), "{text}");
    assert!(text.contains("say lastsave"), "{text}");
}

#[test]
fn every_command_is_exercised_by_a_test() {
    let (words, files) = test_words();
    assert!(files >= 5, "found only {files} test files");
    let single: HashSet<&str> = words.iter().map(String::as_str).collect();
    let pairs: HashSet<(&str, &str)> = words
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect();
    let mut missing = BTreeSet::new();
    for name in table_names() {
        let covered = match name.split_once('|') {
            Some((parent, sub)) => pairs.contains(&(parent, sub)),
            None => single.contains(name.as_str()),
        };
        if !covered {
            missing.insert(name);
        }
    }
    assert!(
        missing.is_empty(),
        "{} command(s) in the command table are not exercised by any test in tests/*.rs \
         (no string literal names them; subcommands need 'PARENT SUB'): {}",
        missing.len(),
        missing.into_iter().collect::<Vec<_>>().join(", ")
    );
}

/// COMMAND LIST over the wire reports exactly the table the coverage check uses.
#[tokio::test]
async fn command_list_matches_the_table() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let mut c = srv.raw().await;
    let listed: BTreeSet<String> = c
        .val(&["COMMAND", "LIST"])
        .await
        .strings()
        .into_iter()
        .collect();
    let table: BTreeSet<String> = table_names().into_iter().collect();
    assert_eq!(listed, table);
    let top = table.iter().filter(|n| !n.contains('|')).count();
    c.expect(&["COMMAND", "COUNT"], format!(":{top}\r\n")).await;
}
