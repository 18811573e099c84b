//! Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS(_RO),
//! GEORADIUSBYMEMBER(_RO), GEOSEARCH, GEOSEARCHSTORE, as Redis 7.0's `geo.c`.
//!
//! A geo index is a plain sorted set whose scores are 52-bit geohashes
//! (`crate::types::geohash`): GEOADD is ZADD with computed scores (and is
//! propagated as that ZADD, see `geoadd_as_zadd`), the searches scan the score
//! ranges of the centre cell and its eight neighbours, as Redis does, so that
//! the members found, their order and COUNT ANY's early stop are Redis's.
//! GEORADIUS … STORE and GEOSEARCHSTORE are propagated as sent.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{geo as E, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::reply::Reply;
use crate::types::geohash::{self as gh, Shape, ShapeKind};
use crate::types::zset::Zset;

use super::zset::parse_score_strict;

const K1: Keys = Keys::Range(1, 1, 1);
const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("geoadd", -5, W, K1, geoadd).doc("geo", "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set"),
    CommandSpec::new("geodist", -4, READONLY, K1, geodist).doc("geo", "3.2.0", "Returns the distance between two members of a geospatial index"),
    CommandSpec::new("geohash", -2, READONLY, K1, geohash).doc("geo", "3.2.0", "Returns members of a geospatial index as standard geohash strings"),
    CommandSpec::new("geopos", -2, READONLY, K1, geopos).doc("geo", "3.2.0", "Returns longitude and latitude of members of a geospatial index"),
    CommandSpec::new("georadius", -6, W, Keys::Movable(georadius_keys), georadius).doc("geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"),
    CommandSpec::new("georadius_ro", -6, READONLY, K1, georadius_ro).doc("geo", "3.2.10", "A read-only variant for GEORADIUS"),
    CommandSpec::new("georadiusbymember", -5, W, Keys::Movable(georadiusbymember_keys), georadiusbymember).doc("geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"),
    CommandSpec::new("georadiusbymember_ro", -5, READONLY, K1, georadiusbymember_ro).doc("geo", "3.2.10", "A read-only variant for GEORADIUSBYMEMBER"),
    CommandSpec::new("geosearch", -7, READONLY, K1, geosearch).doc("geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."),
    CommandSpec::new("geosearchstore", -8, W, Keys::Range(1, 2, 1), geosearchstore).doc("geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."),
];

/// GEORADIUS keys: as its key specs find them (the source, the key after the
/// first STORE and the one after the first STOREDIST, searched from the
/// seventh argument), plus the key the command really writes if another
/// (the last STORE/STOREDIST wins, `georadiusGetKeys`): every key it touches
/// is locked, and COMMAND GETKEYS answers as Redis.
fn georadius_keys(args: &[Bytes]) -> Vec<usize> {
    keys_from(args, 6)
}

/// GEORADIUSBYMEMBER keys: as GEORADIUS's, searched from the sixth argument.
fn georadiusbymember_keys(args: &[Bytes]) -> Vec<usize> {
    keys_from(args, 5)
}

fn keys_from(args: &[Bytes], start: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for kw in ["store", "storedist"] {
        let found = args
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, a)| eq(a, kw))
            .map(|(i, _)| i + 1);
        if let Some(k) = found.filter(|&k| k < args.len()) {
            keys.push(k);
        }
    }
    if let Some(k) = store_key_position(args) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// The key a GEORADIUS(BYMEMBER) with STORE/STOREDIST writes: the one after
/// the last of them from the sixth argument on (`georadiusGetKeys`).
fn store_key_position(args: &[Bytes]) -> Option<usize> {
    let mut stored = None;
    let mut i = 5;
    while i < args.len() {
        if (eq(&args[i], "store") || eq(&args[i], "storedist")) && i + 1 < args.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    stored
}

// ---- argument helpers ------------------------------------------------------

/// `getDoubleFromObjectOrReply`: `msg` replaces "value is not a valid float".
fn double(arg: &[u8], msg: Option<&'static str>) -> CmdResult<f64> {
    parse_score_strict(arg).ok_or_else(|| match msg {
        Some(m) => CmdError::custom(m),
        None => CmdError::NotFloat,
    })
}

/// `extractLongLatOrReply`: `[longitude, latitude]`, range-checked.
fn lonlat(lon: &[u8], lat: &[u8]) -> CmdResult<[f64; 2]> {
    let x = double(lon, None)?;
    let y = double(lat, None)?;
    if !gh::valid_lonlat(x, y) {
        return Err(CmdError::custom(E::invalid_pair(x, y)));
    }
    Ok([x, y])
}

/// `extractUnitOrReply`: meters per unit.
fn unit(arg: &[u8]) -> CmdResult<f64> {
    if eq(arg, "m") {
        Ok(1.0)
    } else if eq(arg, "km") {
        Ok(1000.0)
    } else if eq(arg, "ft") {
        Ok(0.3048)
    } else if eq(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::custom(E::UNIT))
    }
}

/// `extractDistanceOrReply`: radius and meters per unit.
fn radius(r: &[u8], u: &[u8]) -> CmdResult<(f64, f64)> {
    let d = double(r, Some(E::NEED_RADIUS))?;
    if d < 0.0 {
        return Err(CmdError::custom(E::RADIUS_NEGATIVE));
    }
    Ok((d, unit(u)?))
}

/// `extractBoxOrReply`: width, height and meters per unit.
fn box_args(w: &[u8], h: &[u8], u: &[u8]) -> CmdResult<(f64, f64, f64)> {
    let w = double(w, Some(E::NEED_WIDTH))?;
    let h = double(h, Some(E::NEED_HEIGHT))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::custom(E::BOX_NEGATIVE));
    }
    Ok((w, h, unit(u)?))
}

/// The sorted set at `key` for a read (hits and misses counted): `Ok(None)`
/// if absent, WRONGTYPE for another type.
fn zset_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c Zset>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Zset(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set at `key`, already looked up once by the command.
fn zset_again<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c Zset> {
    match ctx.lookup(key) {
        Some(e) => match &e.value {
            Value::Zset(z) => Some(z),
            _ => None,
        },
        None => None,
    }
}

/// `longLatFromMember`.
fn member_lonlat(z: &Zset, member: &[u8]) -> Option<[f64; 2]> {
    gh::decode_score(z.score(member)?)
}

// ---- GEOADD ------------------------------------------------------------------

/// Where GEOADD's options end (`longidx`).
fn geoadd_options_end(a: &[Bytes]) -> (usize, bool, bool) {
    let (mut nx, mut xx) = (false, false);
    let mut i = 2;
    while i < a.len() {
        if eq(&a[i], "nx") {
            nx = true;
        } else if eq(&a[i], "xx") {
            xx = true;
        } else if !eq(&a[i], "ch") {
            break;
        }
        i += 1;
    }
    (i, nx, xx)
}

/// The ZADD that GEOADD `a` amounts to (`ZADD key [options] score member …`),
/// as Redis rewrites the command before running ZADD; errors as GEOADD's.
pub fn geoadd_as_zadd(a: &[Bytes]) -> CmdResult<Vec<Bytes>> {
    let (longidx, nx, xx) = geoadd_options_end(a);
    if !(a.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return Err(CmdError::Syntax);
    }
    let mut argv = Vec::with_capacity(longidx + (a.len() - longidx) / 3 * 2);
    argv.push(Bytes::from_static(b"zadd"));
    argv.extend_from_slice(&a[1..longidx]);
    for t in a[longidx..].chunks(3) {
        let [x, y] = lonlat(&t[0], &t[1])?;
        let score = gh::score_of(x, y).ok_or_else(|| CmdError::custom(E::invalid_pair(x, y)))?;
        argv.push(Bytes::from(score.to_string()));
        argv.push(t[2].clone());
    }
    Ok(argv)
}

fn geoadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let argv = geoadd_as_zadd(a)?;
    super::zset::zadd_generic(ctx, &argv, false)
}

// ---- GEODIST / GEOHASH / GEOPOS ---------------------------------------------

fn geodist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let to_meter = match a.len() {
        5 => unit(&a[4])?,
        n if n > 5 => return Err(CmdError::Syntax),
        _ => 1.0,
    };
    let Some(z) = zset_read(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    let (Some(s1), Some(s2)) = (z.score(&a[2]), z.score(&a[3])) else {
        return Ok(Reply::Nil);
    };
    let (Some([x1, y1]), Some([x2, y2])) = (gh::decode_score(s1), gh::decode_score(s2)) else {
        return Ok(Reply::Nil);
    };
    let d = gh::distance(x1, y1, x2, y2) / to_meter;
    Ok(Reply::bulk(gh::format_distance(d)))
}

fn geohash(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = zset_read(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .and_then(gh::hash_string)
                    .map_or(Reply::Nil, |s| Reply::Bulk(Bytes::copy_from_slice(&s)))
            })
            .collect(),
    ))
}

fn geopos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = zset_read(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| member_lonlat(z, m))
                    .map_or(Reply::NilArray, |[x, y]| {
                        Reply::Array(vec![Reply::HumanDouble(x), Reply::HumanDouble(y)])
                    })
            })
            .collect(),
    ))
}

// ---- the searches -------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Radius,
    RadiusRo,
    ByMember,
    ByMemberRo,
    Search,
    SearchStore,
}

impl Variant {
    fn coords(self) -> bool {
        matches!(self, Variant::Radius | Variant::RadiusRo)
    }
    fn member(self) -> bool {
        matches!(self, Variant::ByMember | Variant::ByMemberRo)
    }
    fn nostore(self) -> bool {
        matches!(self, Variant::RadiusRo | Variant::ByMemberRo)
    }
    fn search(self) -> bool {
        matches!(self, Variant::Search | Variant::SearchStore)
    }
}

fn georadius(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::Radius)
}

fn georadius_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::RadiusRo)
}

fn georadiusbymember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::ByMember)
}

fn georadiusbymember_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::ByMemberRo)
}

fn geosearch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::Search)
}

fn geosearchstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, a, Variant::SearchStore)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A member found by a search (`geoPoint`).
struct Point {
    member: Bytes,
    xy: [f64; 2],
    dist: f64,
    score: f64,
}

/// `georadiusGeneric`.
fn search_generic(ctx: &mut Ctx, a: &[Bytes], v: Variant) -> CmdResult<Reply> {
    let src_idx = if v == Variant::SearchStore { 2 } else { 1 };
    let src = a[src_idx].clone();
    let mut storekey: Option<usize> = (v == Variant::SearchStore).then_some(1);
    let mut storedist = false;

    let exists = zset_read(ctx, &src)?.is_some();
    let mut xy = [0.0f64; 2];
    let mut conversion = 0.0;
    let mut kind = ShapeKind::Radius(0.0);
    let base_args;
    if v.coords() {
        base_args = 6;
        xy = lonlat(&a[2], &a[3])?;
        let (r, c) = radius(&a[4], &a[5])?;
        kind = ShapeKind::Radius(r);
        conversion = c;
    } else if v.member() {
        base_args = 5;
        if exists {
            xy = zset_again(ctx, &src)
                .and_then(|z| member_lonlat(z, &a[2]))
                .ok_or_else(|| CmdError::custom(E::MEMBER))?;
            let (r, c) = radius(&a[3], &a[4])?;
            kind = ShapeKind::Radius(r);
            conversion = c;
        }
    } else {
        base_args = if v == Variant::SearchStore { 3 } else { 2 };
    }

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let opts = &a[base_args.min(a.len())..];
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let arg = &opts[i];
        if eq(arg, "withdist") {
            withdist = true;
        } else if eq(arg, "withhash") {
            withhash = true;
        } else if eq(arg, "withcoord") {
            withcoords = true;
        } else if eq(arg, "any") {
            any = true;
        } else if eq(arg, "asc") {
            sort = Sort::Asc;
        } else if eq(arg, "desc") {
            sort = Sort::Desc;
        } else if eq(arg, "count") && i + 1 < remaining {
            count = int(&opts[i + 1])?;
            if count <= 0 {
                return Err(CmdError::custom(E::COUNT_POSITIVE));
            }
            i += 1;
        } else if (eq(arg, "store") || eq(arg, "storedist"))
            && i + 1 < remaining
            && !v.nostore()
            && !v.search()
        {
            storekey = Some(base_args + i + 1);
            storedist = eq(arg, "storedist");
            i += 1;
        } else if eq(arg, "storedist") && v == Variant::SearchStore {
            storedist = true;
        } else if eq(arg, "frommember") && i + 1 < remaining && v.search() && !fromloc {
            if exists {
                xy = zset_again(ctx, &src)
                    .and_then(|z| member_lonlat(z, &opts[i + 1]))
                    .ok_or_else(|| CmdError::custom(E::MEMBER))?;
            }
            frommember = true;
            i += 1;
        } else if eq(arg, "fromlonlat") && i + 2 < remaining && v.search() && !frommember {
            xy = lonlat(&opts[i + 1], &opts[i + 2])?;
            fromloc = true;
            i += 2;
        } else if eq(arg, "byradius") && i + 2 < remaining && v.search() && !bybox {
            let (r, c) = radius(&opts[i + 1], &opts[i + 2])?;
            kind = ShapeKind::Radius(r);
            conversion = c;
            byradius = true;
            i += 2;
        } else if eq(arg, "bybox") && i + 3 < remaining && v.search() && !byradius {
            let (w, h, c) = box_args(&opts[i + 1], &opts[i + 2], &opts[i + 3])?;
            kind = ShapeKind::Box(w, h);
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }

    if storekey.is_some() && (withdist || withhash || withcoords) {
        return Err(CmdError::custom(E::store_incompatible(
            v == Variant::SearchStore,
        )));
    }
    let name = || String::from_utf8_lossy(&a[0]).into_owned();
    if v.search() && !(frommember || fromloc) {
        return Err(CmdError::custom(E::from_needed(&name())));
    }
    if v.search() && !(byradius || bybox) {
        return Err(CmdError::custom(E::by_needed(&name())));
    }
    if any && count == 0 {
        return Err(CmdError::custom(E::ANY_WITHOUT_COUNT));
    }
    // The store key is one the dispatcher locked (a safety net: the key
    // positions and this parser agree on every accepted command).
    if let Some(k) = storekey {
        let declared = match v {
            Variant::Radius => georadius_keys(a),
            Variant::ByMember => georadiusbymember_keys(a),
            _ => vec![1],
        };
        if !declared.contains(&k) {
            return Err(CmdError::Syntax);
        }
    }
    let store = storekey.map(|k| a[k].clone());

    if !exists {
        return Ok(match store {
            Some(dst) => {
                super::zset::store_empty(ctx, &dst);
                Reply::Int(0)
            }
            None => Reply::Array(Vec::new()),
        });
    }

    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        xy,
        conversion,
        kind,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = match zset_again(ctx, &src) {
        Some(z) => members_of_all_neighbors(z, &shape, limit),
        None => Vec::new(),
    };

    if points.is_empty() && store.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    let result_length = points.len();
    let returned = if count == 0 || (result_length as i64) < count {
        result_length
    } else {
        count as usize
    };
    // sort_gp_asc / sort_gp_desc: glibc's qsort is a stable merge sort;
    // with COUNT below the matches, Redis's partial quicksort (`pqsort`).
    let asc = |p: &Point, q: &Point| {
        if p.dist > q.dist {
            1
        } else if p.dist == q.dist {
            0
        } else {
            -1
        }
    };
    let cmp = |p: &Point, q: &Point| match sort {
        Sort::Desc => -asc(p, q),
        _ => asc(p, q),
    };
    if sort != Sort::None {
        if returned == result_length {
            points.sort_by(|p, q| cmp(p, q).cmp(&0));
        } else {
            gh::pqsort(&mut points, &cmp, 0, returned - 1);
        }
    }
    points.truncate(returned);

    let Some(dst) = store else {
        let options = withdist as usize + withhash as usize + withcoords as usize;
        return Ok(Reply::Array(
            points
                .into_iter()
                .map(|p| {
                    let member = Reply::Bulk(p.member);
                    if options == 0 {
                        return member;
                    }
                    let mut item = Vec::with_capacity(options + 1);
                    item.push(member);
                    if withdist {
                        item.push(Reply::bulk(gh::format_distance(p.dist / conversion)));
                    }
                    if withhash {
                        item.push(Reply::Int(p.score as i64));
                    }
                    if withcoords {
                        item.push(Reply::Array(vec![
                            Reply::HumanDouble(p.xy[0]),
                            Reply::HumanDouble(p.xy[1]),
                        ]));
                    }
                    Reply::Array(item)
                })
                .collect(),
        ));
    };
    if returned == 0 {
        super::zset::store_empty(ctx, &dst);
        return Ok(Reply::Int(0));
    }
    let items: Vec<(Bytes, f64)> = points
        .into_iter()
        .map(|p| {
            let score = if storedist {
                p.dist / conversion
            } else {
                p.score
            };
            (p.member, score)
        })
        .collect();
    let z = Zset::from_entries(items, super::zset::limits(ctx));
    let event = if v.search() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    super::zset::store_result(ctx, &dst, z, event);
    ctx.mark_dirty(returned as u64 - 1);
    Ok(Reply::Int(returned as i64))
}

/// `membersOfAllNeighbors`: the members inside the shape, cell by cell (the
/// centre, then N, S, E, W, NE, NW, SE, SW), each cell in score order;
/// `limit` (COUNT … ANY) stops the scan once that many were found.
fn members_of_all_neighbors(z: &Zset, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = gh::areas_by_shape(shape);
    let mut out = Vec::new();
    let mut last_processed = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last_processed != 0 && *cell == cells[last_processed] {
            continue;
        }
        if !out.is_empty() && limit != 0 && out.len() >= limit {
            break;
        }
        let (min, max) = gh::score_range(*cell);
        points_in_range(z, min, max, shape, &mut out, limit);
        last_processed = i;
    }
    out
}

/// `geoGetPointsInRange`: members with `min <= score < max` inside the shape.
fn points_in_range(
    z: &Zset,
    min: f64,
    max: f64,
    shape: &Shape,
    out: &mut Vec<Point>,
    limit: usize,
) {
    let start = z.partition_point(|s, _| s < min);
    for (score, member) in z.iter_from(start) {
        if score >= max {
            break;
        }
        if let Some((xy, dist)) = gh::within_shape(shape, score) {
            out.push(Point {
                member: Bytes::copy_from_slice(member),
                xy,
                dist,
                score,
            });
        }
        if !out.is_empty() && limit != 0 && out.len() >= limit {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn store_keys_as_redis_finds_them_and_the_one_written() {
        assert_eq!(georadius_keys(&args("GEORADIUS k 0 0 1 km")), [1]);
        assert_eq!(
            georadius_keys(&args("GEORADIUS k 0 0 1 km STORE d")),
            [1, 7]
        );
        assert_eq!(
            georadius_keys(&args("GEORADIUS k 0 0 1 km STOREDIST a STORE b")),
            [1, 9, 7]
        );
        // The last STORE is the one written: locked too.
        assert_eq!(
            georadius_keys(&args("GEORADIUS k 0 0 1 km STORE a STORE b")),
            [1, 7, 9]
        );
        assert_eq!(
            georadiusbymember_keys(&args("GEORADIUSBYMEMBER k m 1 km STORE d")),
            [1, 6]
        );
        // A trailing STORE names no key.
        assert_eq!(georadius_keys(&args("GEORADIUS k 0 0 1 km STORE")), [1]);
    }

    #[test]
    fn geoadd_rewrites_to_zadd() {
        let z = geoadd_as_zadd(&args("GEOADD k CH NX 13.361389 38.115556 Palermo"));
        assert_eq!(z.ok(), Some(args("zadd k CH NX 3479099956230698 Palermo")));
        assert!(geoadd_as_zadd(&args("GEOADD k NX XX 1 1 a")).is_err());
        assert!(geoadd_as_zadd(&args("GEOADD k 1 1 a 2")).is_err());
        assert!(geoadd_as_zadd(&args("GEOADD k 181 1 a")).is_err());
    }
}
