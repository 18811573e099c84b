//! Pub/sub commands over the registry in `crate::pubsub`.

use bytes::Bytes;

use crate::client::Client;
use crate::command::args::eq;
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::family::keys::help_reply;
use crate::pubsub::Kind;
use crate::reply::Reply;
use crate::server::Server;

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK;

// One row per command, as in the other families' tables.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, SUB, Keys::None, subscribe).doc("pubsub", "2.0.0", "Listens for messages published to channels."),
    CommandSpec::new("unsubscribe", -1, SUB, Keys::None, unsubscribe).doc("pubsub", "2.0.0", "Stops listening to messages posted to channels."),
    CommandSpec::new("psubscribe", -2, SUB, Keys::None, psubscribe).doc("pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns."),
    CommandSpec::new("punsubscribe", -1, SUB, Keys::None, punsubscribe).doc("pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns."),
    CommandSpec::new("ssubscribe", -2, SUB, Keys::None, ssubscribe).doc("pubsub", "7.0.0", "Listens for messages published to shard channels."),
    CommandSpec::new("sunsubscribe", -1, SUB, Keys::None, sunsubscribe).doc("pubsub", "7.0.0", "Stops listening to messages posted to shard channels."),
    CommandSpec::new("publish", 3, PUB, Keys::None, publish).doc("pubsub", "2.0.0", "Posts a message to a channel."),
    CommandSpec::new("spublish", 3, PUB, Keys::None, spublish).doc("pubsub", "7.0.0", "Post a message to a shard channel"),
    CommandSpec::new("pubsub", -2, 0, Keys::None, pubsub_help).doc("pubsub", "2.8.0", "A container for Pub/Sub commands.").subs(PUBSUB_SUBS),
];

const PUB: u32 = PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE;
const PS: u32 = PUBSUB | LOADING | STALE;

#[rustfmt::skip]
static PUBSUB_SUBS: &[CommandSpec] = &[
    CommandSpec::new("channels", -2, PS, Keys::None, pubsub_channels).doc("pubsub", "2.8.0", "Returns the active channels."),
    CommandSpec::new("numsub", -2, PS, Keys::None, pubsub_numsub).doc("pubsub", "2.8.0", "Returns a count of subscribers to channels."),
    CommandSpec::new("numpat", 2, PS, Keys::None, pubsub_numpat).doc("pubsub", "2.8.0", "Returns a count of unique pattern subscriptions."),
    CommandSpec::new("shardchannels", -2, PS, Keys::None, pubsub_shardchannels).doc("pubsub", "7.0.0", "Returns the active shard channels."),
    CommandSpec::new("shardnumsub", -2, PS, Keys::None, pubsub_shardnumsub).doc("pubsub", "7.0.0", "Returns the count of subscribers of shard channels."),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, pubsub_help).doc("pubsub", "6.2.0", "Returns helpful text about the different subcommands."),
];

fn set_of(client: &mut Client, kind: Kind) -> &mut std::collections::HashSet<Bytes> {
    match kind {
        Kind::Channel => &mut client.subs.channels,
        Kind::Pattern => &mut client.subs.patterns,
        Kind::Shard => &mut client.subs.shard_channels,
    }
}

/// The count a (un)subscribe confirmation carries: shard channels count apart.
fn count_for(client: &Client, kind: Kind) -> i64 {
    match kind {
        Kind::Shard => client.subs.shard_channels.len() as i64,
        _ => (client.subs.channels.len() + client.subs.patterns.len()) as i64,
    }
}

fn sync_counts(client: &Client) {
    let mut info = client.handle.info.lock();
    info.sub = client.subs.channels.len();
    info.psub = client.subs.patterns.len();
    info.ssub = client.subs.shard_channels.len();
}

fn confirm(kind_word: &'static str, name: Option<Bytes>, count: i64) -> Reply {
    Reply::Push(vec![
        Reply::bulk_str(kind_word),
        Reply::opt_bulk(name),
        Reply::Int(count),
    ])
}

fn subscribe_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    kind: Kind,
    word: &'static str,
) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let mut replies = Vec::with_capacity(a.len() - 1);
    for name in &a[1..] {
        // Long-lived: copied out of the read buffer it was parsed from.
        let name = &Bytes::copy_from_slice(name);
        if set_of(ctx.client, kind).insert(name.clone()) {
            srv.pubsub.subscribe(kind, name, &ctx.client.handle);
        }
        replies.push(confirm(
            word,
            Some(name.clone()),
            count_for(ctx.client, kind),
        ));
    }
    sync_counts(ctx.client);
    Ok(Reply::Many(replies))
}

fn unsubscribe_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    kind: Kind,
    word: &'static str,
) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let names: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        set_of(ctx.client, kind).iter().cloned().collect()
    };
    if names.is_empty() {
        return Ok(confirm(word, None, count_for(ctx.client, kind)));
    }
    let mut replies = Vec::with_capacity(names.len());
    let id = ctx.client.id();
    for name in names {
        if set_of(ctx.client, kind).remove(&name) {
            srv.pubsub.unsubscribe(kind, &name, id);
        }
        replies.push(confirm(word, Some(name), count_for(ctx.client, kind)));
    }
    sync_counts(ctx.client);
    Ok(Reply::Many(replies))
}

/// Drops every subscription of a client (RESET, disconnect).
pub fn unsubscribe_all(srv: &Server, client: &mut Client) {
    let id = client.id();
    for (kind, set) in [
        (Kind::Channel, std::mem::take(&mut client.subs.channels)),
        (Kind::Pattern, std::mem::take(&mut client.subs.patterns)),
        (Kind::Shard, std::mem::take(&mut client.subs.shard_channels)),
    ] {
        for name in set {
            srv.pubsub.unsubscribe(kind, &name, id);
        }
    }
    sync_counts(client);
}

fn subscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, a, Kind::Channel, "subscribe")
}

fn unsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, a, Kind::Channel, "unsubscribe")
}

fn psubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, a, Kind::Pattern, "psubscribe")
}

fn punsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, a, Kind::Pattern, "punsubscribe")
}

fn ssubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.in_exec {
        return Err(CmdError::custom(
            crate::error::msg::SSUBSCRIBE_ISN_T_ALLOWED_FOR_A,
        ));
    }
    subscribe_generic(ctx, a, Kind::Shard, "ssubscribe")
}

fn sunsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, a, Kind::Shard, "sunsubscribe")
}

fn publish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        ctx.srv.pubsub.publish(ctx.srv, &a[1], &a[2]) as i64
    ))
}

fn spublish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        ctx.srv.pubsub.spublish(ctx.srv, &a[1], &a[2]) as i64
    ))
}

fn pubsub_channels(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(crate::error::msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "PUBSUB",
        ));
    }
    Ok(Reply::bulks(ctx.srv.pubsub.channel_names(
        Kind::Channel,
        a.get(2).map(|p| p.as_ref()),
    )))
}

fn pubsub_shardchannels(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(crate::error::msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "PUBSUB",
        ));
    }
    Ok(Reply::bulks(
        ctx.srv
            .pubsub
            .channel_names(Kind::Shard, a.get(2).map(|p| p.as_ref())),
    ))
}

fn numsub_generic(ctx: &mut Ctx, a: &[Bytes], kind: Kind) -> CmdResult<Reply> {
    let mut out = Vec::new();
    for ch in &a[2..] {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Int(ctx.srv.pubsub.numsub(kind, ch) as i64));
    }
    Ok(Reply::Array(out))
}

fn pubsub_numsub(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    numsub_generic(ctx, a, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    numsub_generic(ctx, a, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.pubsub.numpat() as i64))
}

fn pubsub_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "pubsub"));
    }
    Ok(help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}
