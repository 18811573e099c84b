//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.
//!
//! EXEC locks every shard (its table entry says ALL_SHARDS), so the queued
//! commands run atomically with respect to every other client, across shards.

use std::sync::Arc;

use bytes::Bytes;

use crate::client::{MultiState, WatchedKey};
use crate::command::flags::*;
use crate::command::{run_queued, CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{WatchRef, WatchState};
use crate::reply::Reply;

const TX: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("multi", 1, TX, Keys::None, multi).doc(
        "transactions",
        "1.2.0",
        "Starts a transaction.",
    ),
    CommandSpec::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | ALL_SHARDS,
        Keys::None,
        exec,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
    ),
    CommandSpec::new("discard", 1, TX, Keys::None, discard).doc(
        "transactions",
        "2.0.0",
        "Discards a transaction.",
    ),
    CommandSpec::new("watch", -2, TX, Keys::Range(1, -1, 1), watch).doc(
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
    ),
    CommandSpec::new("unwatch", 1, TX, Keys::None, unwatch).doc(
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
    ),
];

fn multi(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::NestedMulti);
    }
    ctx.client.multi = Some(MultiState::new());
    ctx.client.handle.info.lock().multi = 0;
    Ok(Reply::Ok)
}

fn discard(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::DiscardWithoutMulti);
    }
    ctx.client.handle.info.lock().multi = -1;
    ctx.client.unwatch();
    Ok(Reply::Ok)
}

fn exec(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(CmdError::ExecWithoutMulti);
    };
    ctx.client.handle.info.lock().multi = -1;
    if multi.aborted {
        ctx.client.unwatch();
        return Err(CmdError::ExecAbort);
    }
    let dirty = ctx.client.watch.as_ref().is_some_and(|w| w.is_dirty()) || watched_key_expired(ctx);
    ctx.client.unwatch();
    if dirty {
        return Ok(Reply::NilArray);
    }
    Ok(run_queued(ctx, multi))
}

/// Redis 7: a watched key that was alive at WATCH and has expired since fails EXEC.
fn watched_key_expired(ctx: &mut Ctx) -> bool {
    let now = ctx.now_ms;
    let keys: Vec<(usize, Bytes)> = ctx
        .client
        .watched_keys
        .iter()
        .filter(|w| !w.expired_at_watch)
        .map(|w| (w.db, w.key.clone()))
        .collect();
    keys.iter()
        .any(|(db, key)| ctx.db_of(*db, key).is_expired(key, now))
}

fn watch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::WatchInMulti);
    }
    let state = ctx
        .client
        .watch
        .get_or_insert_with(|| Arc::new(WatchState::default()))
        .clone();
    let db = ctx.client.db;
    let now = ctx.now_ms;
    for key in &a[1..] {
        if ctx
            .client
            .watched_keys
            .iter()
            .any(|w| w.db == db && w.key == key)
        {
            continue;
        }
        // Kept until UNWATCH/EXEC: copied out of the read buffer.
        let key = &Bytes::copy_from_slice(key);
        let d = ctx.db_of(db, key);
        let expired = d.is_expired(key, now);
        d.add_watch(
            key.clone(),
            WatchRef {
                state: Arc::downgrade(&state),
                expired_at_watch: expired,
            },
        );
        ctx.client.watched_keys.push(WatchedKey {
            db,
            key: key.clone(),
            expired_at_watch: expired,
        });
    }
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    ctx.client.unwatch();
    Ok(Reply::Ok)
}
