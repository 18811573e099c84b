//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching
//! as Redis 7.0's networking.c drives it (the table and the messages are
//! `crate::tracking`'s). Registered in CLIENT's subcommand table.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::Ctx;
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;
use crate::tracking::{overlapping, Flags, Mode};

/// CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN]
/// [OPTOUT] [NOLOOP]: options are parsed (and REDIRECT checked) before ON
/// or OFF is looked at, as Redis does.
pub fn client_tracking(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut mode = Mode::default();
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        let opt = &a[j];
        if eq(opt, "redirect") && more {
            j += 1;
            if mode.redirect != 0 {
                return Err(CmdError::custom(msg::TRACKING_SINGLE_REDIRECT));
            }
            let id = int(&a[j])?;
            let exists = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.srv.clients.get(id))
                .is_some_and(|c| !c.is_killed());
            if !exists {
                return Err(CmdError::custom(msg::TRACKING_NO_SUCH_REDIRECT));
            }
            mode.redirect = id as u64;
        } else if eq(opt, "bcast") {
            mode.bcast = true;
        } else if eq(opt, "optin") {
            mode.optin = true;
        } else if eq(opt, "optout") {
            mode.optout = true;
        } else if eq(opt, "noloop") {
            mode.noloop = true;
        } else if eq(opt, "prefix") && more {
            j += 1;
            prefixes.push(a[j].clone());
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if eq(&a[2], "off") {
        disable(ctx);
        return Ok(Reply::Ok);
    }
    if !eq(&a[2], "on") {
        return Err(CmdError::Syntax);
    }
    check_options(ctx, &mode, &prefixes)?;
    mode.prefixes = prefixes.into_iter().collect();
    ctx.client.tracking = Some(Flags {
        bcast: mode.bcast,
        optin: mode.optin,
        optout: mode.optout,
    });
    // enableTracking clears the CACHING flag with the others.
    ctx.client.caching = false;
    ctx.srv.tracking.enable(&ctx.client.handle, mode);
    Ok(Reply::Ok)
}

fn disable(ctx: &mut Ctx) {
    ctx.srv.tracking.disable(&ctx.client.handle);
    ctx.client.tracking = None;
    ctx.client.caching = false;
}

/// The compatibility checks of CLIENT TRACKING ON, in Redis's order.
fn check_options(ctx: &Ctx, mode: &Mode, prefixes: &[Bytes]) -> CmdResult<()> {
    let refuse = |m: &str| Err(CmdError::custom(m));
    if !mode.bcast && !prefixes.is_empty() {
        return refuse(msg::TRACKING_PREFIX_NEEDS_BCAST);
    }
    let current = ctx.client.tracking;
    if current.is_some_and(|c| c.bcast != mode.bcast) {
        return refuse(msg::TRACKING_BCAST_SWITCH);
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return refuse(msg::TRACKING_OPT_WITH_BCAST);
    }
    if mode.optin && mode.optout {
        return refuse(msg::TRACKING_OPTIN_AND_OPTOUT);
    }
    if current.is_some_and(|c| (mode.optin && c.optout) || (mode.optout && c.optin)) {
        return refuse(msg::TRACKING_OPT_SWITCH);
    }
    if mode.bcast {
        check_prefix_collisions(ctx, prefixes)?;
    }
    Ok(())
}

/// Redis's checkPrefixCollisionsOrReply: no two prefixes of one client may
/// both match a key.
fn check_prefix_collisions(ctx: &Ctx, prefixes: &[Bytes]) -> CmdResult<()> {
    let existing = existing_prefixes(ctx);
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlapping(old, p)) {
            return Err(CmdError::custom(msg::tracking_prefix_overlap(p, old, true)));
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlapping(p, o)) {
            return Err(CmdError::custom(msg::tracking_prefix_overlap(
                p, other, false,
            )));
        }
    }
    Ok(())
}

fn existing_prefixes(ctx: &Ctx) -> Vec<Bytes> {
    ctx.client
        .handle
        .tracking
        .lock()
        .as_ref()
        .map(|s| s.mode.prefixes.iter().cloned().collect())
        .unwrap_or_default()
}

/// CLIENT CACHING YES|NO: the next command (or transaction) is tracked in
/// OPTIN mode, or not tracked in OPTOUT mode.
pub fn client_caching(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let Some(flags) = ctx.client.tracking else {
        return Err(CmdError::custom(msg::CACHING_NOT_TRACKING));
    };
    if eq(&a[2], "yes") {
        if !flags.optin {
            return Err(CmdError::custom(msg::CACHING_YES_NOT_OPTIN));
        }
    } else if eq(&a[2], "no") {
        if !flags.optout {
            return Err(CmdError::custom(msg::CACHING_NO_NOT_OPTOUT));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.client.caching = true;
    Ok(Reply::Ok)
}

/// CLIENT GETREDIR: the redirect client's id, 0 without one, -1 when
/// tracking is off.
pub fn client_getredir(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        match ctx.client.handle.tracking.lock().as_ref() {
            Some(s) => s.mode.redirect as i64,
            None => -1,
        },
    ))
}

/// CLIENT TRACKINGINFO: flags (a set), redirect and prefixes.
pub fn client_trackinginfo(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let state = ctx.client.handle.tracking.lock().clone();
    let mut flags = Vec::new();
    let mut flag = |f: &'static str| flags.push(Reply::bulk_str(f));
    let (redirect, prefixes) = match &state {
        None => {
            flag("off");
            (-1, Vec::new())
        }
        Some(s) => {
            let m = &s.mode;
            flag("on");
            if m.bcast {
                flag("bcast");
            }
            if m.optin {
                flag("optin");
                if ctx.client.caching {
                    flag("caching-yes");
                }
            }
            if m.optout {
                flag("optout");
                if ctx.client.caching {
                    flag("caching-no");
                }
            }
            if m.noloop {
                flag("noloop");
            }
            if s.broken_redirect {
                flag("broken_redirect");
            }
            let prefixes = m.prefixes.iter().cloned().map(Reply::Bulk).collect();
            (m.redirect as i64, prefixes)
        }
    };
    Ok(Reply::Map(vec![
        (Reply::bulk_str("flags"), Reply::Set(flags)),
        (Reply::bulk_str("redirect"), Reply::Int(redirect)),
        (Reply::bulk_str("prefixes"), Reply::Array(prefixes)),
    ]))
}

/// CLIENT LIST / INFO: the `t`, `R` and `B` flags and `redir=`.
pub fn client_list_fields(c: &crate::client::ClientHandle) -> (String, i64) {
    match c.tracking.lock().as_ref() {
        None => (String::new(), -1),
        Some(s) => {
            let mut flags = String::from("t");
            if s.broken_redirect {
                flags.push('R');
            }
            if s.mode.bcast {
                flags.push('B');
            }
            (flags, s.mode.redirect as i64)
        }
    }
}
