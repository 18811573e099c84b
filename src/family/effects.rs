//! What sorted-set and stream commands propagate (replication feed, AOF):
//! their effects, as Redis's t_zset.c / t_stream.c / blocked.c rewrite them.
//!
//! Called from `repl::propagate::rewrite` after the handler ran, under the
//! same shard locks, so it reads the state the command left:
//! - GEOADD → the ZADD it amounts to (geo.c rewrites its argv and runs ZADD);
//! - BZPOPMIN/BZPOPMAX → ZPOPMIN/ZPOPMAX key, BZMPOP → ZMPOP 1 key MIN|MAX COUNT n;
//! - XADD with `*` / `ms-*` → the concrete ID; `~` trimming (XADD, XTRIM) →
//!   exact trimming to what was kept (MAXLEN = length, MINID = first ID),
//!   LIMIT dropped (streamRewriteApproxSpecifier / streamRewriteTrimArgument);
//! - XREADGROUP → one `XCLAIM … FORCE JUSTID LASTID` per delivered entry
//!   (streamPropagateXCLAIM) then `XGROUP SETID … ENTRIESREAD`
//!   (streamPropagateGroupID), or `XGROUP CREATECONSUMER` when it only
//!   created the consumer;
//! - XCLAIM/XAUTOCLAIM → XCLAIM of each claimed ID with its exact delivery
//!   time and count, and XACK of IDs dropped from the PEL (deleted entries).

use bytes::Bytes;

use crate::command::Ctx;
use crate::keyspace::Value;
use crate::reply::Reply;
use crate::types::stream::{Stream, StreamId};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn is(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

fn bulk(r: &Reply) -> Option<Bytes> {
    match r {
        Reply::Bulk(v) => Some(v.clone()),
        _ => None,
    }
}

fn id_of(r: &Reply) -> Option<StreamId> {
    let s = bulk(r)?;
    let s = std::str::from_utf8(&s).ok()?;
    let (ms, seq) = s.split_once('-')?;
    Some(StreamId::new(ms.parse().ok()?, seq.parse().ok()?))
}

/// The commands this module rewrites.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "geoadd"
            | "bzpopmin"
            | "bzpopmax"
            | "bzmpop"
            | "xadd"
            | "xtrim"
            | "xreadgroup"
            | "xclaim"
            | "xautoclaim"
    )
}

/// The effects of `name` (one of `handles`), each a command to propagate.
pub fn rewrite(
    ctx: &mut Ctx,
    db: usize,
    name: &str,
    args: &[Bytes],
    reply: &Reply,
) -> Vec<Vec<Bytes>> {
    match name {
        "bzpopmin" | "bzpopmax" => match reply {
            Reply::Array(kv) if kv.len() == 3 => match bulk(&kv[0]) {
                Some(k) => vec![vec![
                    b(if name == "bzpopmin" {
                        "ZPOPMIN"
                    } else {
                        "ZPOPMAX"
                    }),
                    k,
                ]],
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
        "bzmpop" => match mpop_popped(args, reply, "min") {
            Some((k, min, n)) => vec![vec![
                b("ZMPOP"),
                b("1"),
                k,
                b(if min { "MIN" } else { "MAX" }),
                b("COUNT"),
                b(&n.to_string()),
            ]],
            None => Vec::new(),
        },
        "geoadd" => match crate::family::geo::geoadd_as_zadd(args) {
            // argv[0] stays "zadd", lowercase, as geo.c builds it.
            Ok(zadd) => vec![zadd],
            Err(_) => Vec::new(),
        },
        "xadd" | "xtrim" => xadd_xtrim(ctx, db, name, args, reply),
        "xreadgroup" => xreadgroup(ctx, db, args, reply),
        "xclaim" | "xautoclaim" => xclaim(ctx, db, name, args, reply),
        _ => vec![args.to_vec()],
    }
}

/// What a BLMPOP/BZMPOP (`timeout numkeys key... DIR [COUNT n]`) popped,
/// from its reply: the key, whether DIR was `first_dir` (LEFT, MIN), and how
/// many elements came off. `None` when it popped nothing.
pub fn mpop_popped(args: &[Bytes], reply: &Reply, first_dir: &str) -> Option<(Bytes, bool, usize)> {
    let Reply::Array(kv) = reply else {
        return None;
    };
    let [key, popped] = &kv[..] else {
        return None;
    };
    let numkeys: usize = std::str::from_utf8(args.get(2)?).ok()?.parse().ok()?;
    let first = args.get(3 + numkeys).is_some_and(|d| is(d, first_dir));
    let n = match popped {
        Reply::Array(items) => items.len(),
        _ => 1,
    };
    Some((bulk(key)?, first, n))
}

fn stream<'a>(ctx: &'a mut Ctx, db: usize, key: &[u8]) -> Option<&'a Stream> {
    match &ctx.db_of(db, key).get(key)?.value {
        Value::Stream(s) => Some(s),
        _ => None,
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] th [LIMIT n]] id|* f v …,
/// XTRIM key MAXLEN|MINID [=|~] th [LIMIT n].
fn xadd_xtrim(
    ctx: &mut Ctx,
    db: usize,
    name: &str,
    args: &[Bytes],
    reply: &Reply,
) -> Vec<Vec<Bytes>> {
    let key = args[1].clone();
    let (len, first) = match stream(ctx, db, &key) {
        Some(s) => (s.len(), s.first_entry_id()),
        None => return vec![args.to_vec()],
    };
    let mut out = vec![args[0].clone(), key];
    let mut i = 2;
    let mut approx = false;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nomkstream") {
            out.push(a.clone());
            i += 1;
        } else if is(a, "maxlen") || is(a, "minid") {
            let maxlen = is(a, "maxlen");
            out.push(a.clone());
            i += 1;
            if args
                .get(i)
                .is_some_and(|x| x.as_ref() == b"~" || x.as_ref() == b"=")
            {
                approx = args[i].as_ref() == b"~";
                if !approx {
                    out.push(args[i].clone());
                }
                i += 1;
            }
            if approx {
                // What was kept, exactly: the replica trims to the same point.
                out.push(b("="));
                out.push(if maxlen {
                    b(&len.to_string())
                } else {
                    first.to_bytes()
                });
            } else {
                out.extend(args.get(i).cloned());
            }
            i += 1;
        } else if is(a, "limit") {
            // Only meaningful with `~`, which became exact.
            if !approx {
                out.extend(args[i..(i + 2).min(args.len())].iter().cloned());
            }
            i += 2;
        } else {
            break;
        }
    }
    if name == "xadd" {
        match bulk(reply) {
            Some(id) => out.push(id),
            None => return Vec::new(),
        }
        out.extend(args.iter().skip(i + 1).cloned());
    }
    vec![out]
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`
/// for `id` as the group's PEL holds it now, or `XACK key group id` when the
/// PEL no longer has it.
fn claim_effect(s: &Stream, key: &Bytes, group: &Bytes, id: StreamId) -> Option<Vec<Bytes>> {
    let g = s.groups.get(group)?;
    Some(match g.pel.get(&id) {
        Some(n) => vec![
            b("XCLAIM"),
            key.clone(),
            group.clone(),
            n.consumer.clone(),
            b("0"),
            id.to_bytes(),
            b("TIME"),
            b(&n.delivery_time.to_string()),
            b("RETRYCOUNT"),
            b(&n.delivery_count.to_string()),
            b("FORCE"),
            b("JUSTID"),
            b("LASTID"),
            g.last_id.to_bytes(),
        ],
        None => vec![b("XACK"), key.clone(), group.clone(), id.to_bytes()],
    })
}

/// The entries (key → IDs) of an XREADGROUP reply, RESP-neutral.
fn delivered(reply: &Reply) -> Vec<(Bytes, Vec<StreamId>)> {
    let pairs: Vec<(&Reply, &Reply)> = match reply {
        Reply::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        Reply::Array(items) => items
            .iter()
            .filter_map(|kv| match kv {
                Reply::Array(kv) if kv.len() == 2 => Some((&kv[0], &kv[1])),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(k, v)| {
            let key = bulk(k)?;
            let ids = match v {
                Reply::Array(es) => es
                    .iter()
                    .filter_map(|e| match e {
                        Reply::Array(e) => e.first().and_then(id_of),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some((key, ids))
        })
        .collect()
}

/// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS k… id…
fn xreadgroup(ctx: &mut Ctx, db: usize, args: &[Bytes], reply: &Reply) -> Vec<Vec<Bytes>> {
    let (Some(group), Some(consumer)) = (args.get(2).cloned(), args.get(3).cloned()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, ids) in delivered(reply) {
        let Some(s) = stream(ctx, db, &key) else {
            continue;
        };
        for id in ids {
            if let Some(e) = claim_effect(s, &key, &group, id) {
                // NOACK reads leave no PEL entry: no XACK to send for them.
                if e[0].as_ref() == b"XCLAIM" {
                    out.push(e);
                }
            }
        }
        if let Some(g) = s.groups.get(&group) {
            out.push(vec![
                b("XGROUP"),
                b("SETID"),
                key.clone(),
                group.clone(),
                g.last_id.to_bytes(),
                b("ENTRIESREAD"),
                b(&g.entries_read.to_string()),
            ]);
        }
    }
    if out.is_empty() {
        // Nothing delivered, but the command changed the dataset: it created
        // the consumer (on the first key of STREAMS).
        let streams = args.iter().position(|a| is(a, "streams"));
        if let Some(key) = streams.and_then(|p| args.get(p + 1)) {
            out.push(vec![
                b("XGROUP"),
                b("CREATECONSUMER"),
                key.clone(),
                group,
                consumer,
            ]);
        }
    }
    out
}

/// XCLAIM key group consumer min-idle id… [opts] /
/// XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID].
fn xclaim(ctx: &mut Ctx, db: usize, name: &str, args: &[Bytes], reply: &Reply) -> Vec<Vec<Bytes>> {
    if args.len() < 5 {
        return Vec::new();
    }
    let (key, group, consumer) = (args[1].clone(), args[2].clone(), args[3].clone());
    let ids: Vec<StreamId> = if name == "xclaim" {
        args[5..]
            .iter()
            .map_while(|a| id_of(&Reply::Bulk(a.clone())))
            .collect()
    } else {
        // [cursor, claimed entries or IDs, deleted IDs]
        let mut ids = Vec::new();
        if let Reply::Array(parts) = reply {
            for part in parts.iter().skip(1) {
                if let Reply::Array(items) = part {
                    for it in items {
                        let id = match it {
                            Reply::Array(e) => e.first().and_then(id_of),
                            other => id_of(other),
                        };
                        ids.extend(id);
                    }
                }
            }
        }
        ids
    };
    let Some(s) = stream(ctx, db, &key) else {
        return Vec::new();
    };
    let mut out: Vec<Vec<Bytes>> = ids
        .into_iter()
        .filter_map(|id| claim_effect(s, &key, &group, id))
        .collect();
    if out.is_empty() {
        out.push(vec![b("XGROUP"), b("CREATECONSUMER"), key, group, consumer]);
    }
    out
}
