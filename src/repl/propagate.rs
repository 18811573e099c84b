//! What a command puts in the stream: its effects, not its request, as Redis's
//! `alsoPropagate` / `rewriteClientCommandVector` call sites do.
//!
//! Relative times become absolute (EXPIRE → PEXPIREAT, SET EX → SET PXAT),
//! random or blocking commands become the deterministic command that did the
//! same thing (SPOP → SREM, BLPOP → LPOP, BLMOVE → LMOVE), float arithmetic
//! becomes the value it produced (INCRBYFLOAT → SET KEEPTTL). Everything else is
//! propagated as sent. Runs after the handler, under the same shard locks, so
//! it reads the state the command left.

use bytes::Bytes;

use crate::command::Ctx;
use crate::reply::Reply;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn is(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// The expiry of `key` after the command: None if the key is gone.
fn expiry(ctx: &mut Ctx, db: usize, key: &[u8]) -> Option<u64> {
    ctx.db_of(db, key).get(key).map(|e| e.expire_at)
}

/// `PEXPIREAT key at`, `PERSIST key` or `DEL key`, whichever states the key's TTL now.
fn ttl_effect(ctx: &mut Ctx, db: usize, key: &Bytes) -> Vec<Bytes> {
    match expiry(ctx, db, key) {
        Some(0) => vec![b("PERSIST"), key.clone()],
        Some(at) => vec![b("PEXPIREAT"), key.clone(), b(&at.to_string())],
        None => vec![b("DEL"), key.clone()],
    }
}

fn bulk(r: &Reply) -> Option<Bytes> {
    match r {
        Reply::Bulk(v) => Some(v.clone()),
        _ => None,
    }
}

/// Records what the command `name` (top-level, already run) must propagate.
/// `dirty`: it changed the dataset. PUBLISH/SPUBLISH propagate regardless.
pub fn record(ctx: &mut Ctx, name: &str, args: &[Bytes], reply: &Reply, dirty: bool) {
    let db = ctx.client.db;
    if name == "publish" || name == "spublish" {
        ctx.prop.push((db, args.to_vec()));
        return;
    }
    if !dirty {
        return;
    }
    let out = rewrite(ctx, db, name, args, reply);
    ctx.prop.extend(out.into_iter().map(|a| (db, a)));
}

fn rewrite(ctx: &mut Ctx, db: usize, name: &str, args: &[Bytes], reply: &Reply) -> Vec<Vec<Bytes>> {
    let key = args.get(1).cloned().unwrap_or_default();
    if crate::family::effects::handles(name) {
        return crate::family::effects::rewrite(ctx, db, name, args, reply);
    }
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => vec![ttl_effect(ctx, db, &key)],
        "getex" => vec![ttl_effect(ctx, db, &key)],
        "setex" | "psetex" if args.len() == 4 => {
            let mut out = vec![b("SET"), key.clone(), args[3].clone()];
            if let Some(at) = expiry(ctx, db, &key).filter(|&at| at != 0) {
                out.extend([b("PXAT"), b(&at.to_string())]);
            }
            vec![out]
        }
        "set" => {
            let relative = args[3..]
                .iter()
                .any(|a| is(a, "ex") || is(a, "px") || is(a, "exat"));
            if !relative {
                return vec![args.to_vec()];
            }
            let mut out = args[..3].to_vec();
            let mut i = 3;
            while i < args.len() {
                let a = &args[i];
                if is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat") {
                    i += 2;
                    continue;
                }
                out.push(a.clone());
                i += 1;
            }
            if let Some(at) = expiry(ctx, db, &key).filter(|&at| at != 0) {
                out.extend([b("PXAT"), b(&at.to_string())]);
            }
            vec![out]
        }
        "incrbyfloat" => match ctx.db_of(db, &key).get(&key).map(|e| e.value.clone()) {
            Some(crate::keyspace::Value::Str(v)) => {
                vec![vec![b("SET"), key, v, b("KEEPTTL")]]
            }
            _ => vec![args.to_vec()],
        },
        // The float result, not the increment (Redis 7.0 propagates HSET).
        "hincrbyfloat" if args.len() == 4 => match bulk(reply) {
            Some(v) => vec![vec![b("HSET"), key, args[2].clone(), v]],
            None => vec![args.to_vec()],
        },
        "spop" => {
            if expiry(ctx, db, &key).is_none() {
                return vec![vec![b("DEL"), key]];
            }
            let mut out = vec![b("SREM"), key];
            match reply {
                Reply::Bulk(m) => out.push(m.clone()),
                Reply::Array(items) | Reply::Set(items) => {
                    out.extend(items.iter().filter_map(bulk))
                }
                _ => return Vec::new(),
            }
            if out.len() == 2 {
                return Vec::new();
            }
            vec![out]
        }
        "blpop" | "brpop" => match reply {
            Reply::Array(kv) if kv.len() == 2 => match bulk(&kv[0]) {
                Some(k) => vec![vec![b(if name == "blpop" { "LPOP" } else { "RPOP" }), k]],
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
        "blmove" if args.len() == 6 => vec![vec![
            b("LMOVE"),
            args[1].clone(),
            args[2].clone(),
            args[3].clone(),
            args[4].clone(),
        ]],
        // Sorted-set and stream effects: family::effects (handled above).
        "brpoplpush" if args.len() == 4 => {
            vec![vec![b("RPOPLPUSH"), args[1].clone(), args[2].clone()]]
        }
        "blmpop" => match crate::family::effects::mpop_popped(args, reply, "left") {
            Some((k, left, n)) => vec![vec![
                b(if left { "LPOP" } else { "RPOP" }),
                k,
                b(&n.to_string()),
            ]],
            None => Vec::new(),
        },
        // The value itself, rebuilt with plain writes: the DUMP payload is
        // Cinnabar's own format, which a redis-server replica cannot load.
        "restore" if args.len() >= 4 => rebuild(ctx, db, &key, args),
        _ => vec![args.to_vec()],
    }
}

/// Commands that recreate `key` as it is now: DEL, then one write with the
/// whole value, then its expiry (MULTI/EXEC-wrapped by the feed).
fn rebuild(ctx: &mut Ctx, db: usize, key: &Bytes, args: &[Bytes]) -> Vec<Vec<Bytes>> {
    use crate::keyspace::Value;
    let Some(entry) = ctx.db_of(db, key).get(key) else {
        return vec![vec![b("DEL"), key.clone()]];
    };
    let mut write = match &entry.value {
        Value::Str(v) => vec![b("SET"), key.clone(), v.clone()],
        Value::List(l) => {
            let mut c = vec![b("RPUSH"), key.clone()];
            c.extend(l.iter().map(Bytes::copy_from_slice));
            c
        }
        Value::Set(m) => {
            let mut c = vec![b("SADD"), key.clone()];
            c.extend(m.iter().map(|m| m.to_bytes()));
            c
        }
        Value::Hash(h) => {
            let mut c = vec![b("HSET"), key.clone()];
            for (f, v) in h.iter() {
                c.push(Bytes::copy_from_slice(f));
                c.push(Bytes::copy_from_slice(v));
            }
            c
        }
        Value::Zset(z) => {
            let mut c = vec![b("ZADD"), key.clone()];
            for (score, m) in z.iter() {
                c.push(b(&crate::reply::format_double(score)));
                c.push(Bytes::copy_from_slice(m));
            }
            c
        }
        // A stream has no plain-write form (groups, PELs): RESTORE as sent.
        Value::Stream(_) => {
            let mut out = args.to_vec();
            if !args[4..].iter().any(|a| is(a, "absttl")) {
                out[2] = b(&entry.expire_at.to_string());
                out.push(b("ABSTTL"));
            }
            return vec![out];
        }
    };
    let expire = entry.expire_at;
    let mut out = vec![vec![b("DEL"), key.clone()]];
    if expire != 0 && matches!(write[0].as_ref(), b"SET") {
        write.extend([b("PXAT"), b(&expire.to_string())]);
        out.push(write);
    } else {
        out.push(write);
        if expire != 0 {
            out.push(vec![b("PEXPIREAT"), key.clone(), b(&expire.to_string())]);
        }
    }
    out
}
