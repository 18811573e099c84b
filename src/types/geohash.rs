//! Geohashing as Redis 7.0 does it (`geohash.c`, `geohash_helper.c`): the
//! 52-bit interleaved score of a point (26 bits of latitude in the even bits,
//! 26 of longitude in the odd ones, over -180..180 × -85.05112878..85.05112878),
//! its decoding back to the centre of its cell, the eight neighbouring cells,
//! the search area of a radius or box query (`geohashCalculateAreasByShapeWGS84`),
//! haversine distances, and the formatting Redis gives distances and
//! coordinates. Pure functions, computed with the same floating-point
//! operations in the same order as the C code, so results match bit for bit.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Earth's quadratic mean radius for WGS-84 (`EARTH_RADIUS_IN_METERS`).
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A cell: `step` bits of each coordinate, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// `HASHISZERO`: a neighbour excluded from the search.
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The bounds of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// The standard geohash ranges (GEOHASH's strings).
const STD_LAT: Range = Range {
    min: -90.0,
    max: 90.0,
};

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = xlo as u64;
    let mut y = ylo as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// `geohashEncode`: `None` outside the WGS84 limits or the given ranges.
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// `geohashEncodeWGS84`.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// `geohashDecode` over the WGS84 ranges; `None` for a zero hash.
pub fn decode(hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let (long_range, lat_range) = (WGS84_LONG, WGS84_LAT);
    let step = hash.step;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let div = (1u64 << step) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        },
    })
}

/// The centre of a cell, clamped to the WGS84 limits (`[longitude, latitude]`).
pub fn decode_to_lonlat(hash: HashBits) -> Option<[f64; 2]> {
    let area = decode(hash)?;
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some([lon, lat])
}

/// A sorted-set score as C's `(uint64_t)` cast gives it on x86-64 (scores
/// outside 0..2^64 are not geo points, but Redis decodes them all the same).
pub fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = (1u64 << 63) as f64;
    fn cvtt(x: f64) -> i64 {
        if !(-TWO63..TWO63).contains(&x) {
            i64::MIN
        } else {
            x as i64
        }
    }
    if score >= TWO63 {
        (cvtt(score - TWO63) as u64) ^ (1 << 63)
    } else {
        cvtt(score) as u64
    }
}

/// `decodeGeohash`: the point a score stands for.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    decode_to_lonlat(HashBits {
        bits: score_bits(score),
        step: STEP_MAX,
    })
}

/// `geohashAlign52Bits`.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - hash.step as u32 * 2)
}

/// The score GEOADD stores for a point (already validated).
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(align52)
}

/// Whether a point is within Redis's accepted coordinates.
pub fn valid_lonlat(longitude: f64, latitude: f64) -> bool {
    (LONG_MIN..=LONG_MAX).contains(&longitude) && (LAT_MIN..=LAT_MAX).contains(&latitude)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// The eight neighbours of a cell, in Redis's search order after the cell
/// itself: north, south, east, west, north-east, north-west, south-east,
/// south-west.
pub fn neighbors(hash: HashBits) -> [HashBits; 8] {
    let moves: [(i8, i8); 8] = [
        (0, 1),
        (0, -1),
        (1, 0),
        (-1, 0),
        (1, 1),
        (-1, 1),
        (1, -1),
        (-1, -1),
    ];
    moves.map(|(dx, dy)| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    })
}

const N: usize = 0;
const S: usize = 1;
const E: usize = 2;
const W: usize = 3;
const NE: usize = 4;
const NW: usize = 5;
const SE: usize = 6;
const SW: usize = 7;

/// `geohashEstimateStepsByRadius`.
pub fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// What a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShapeKind {
    /// BYRADIUS (in the unit of `conversion`).
    Radius(f64),
    /// BYBOX width, height (in the unit of `conversion`).
    Box(f64, f64),
}

/// A search: its centre (`[longitude, latitude]`), the meters per unit, the area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub xy: [f64; 2],
    pub conversion: f64,
    pub kind: ShapeKind,
}

/// `geohashBoundingBox`: min longitude, min latitude, max longitude, max latitude.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let [longitude, latitude] = shape.xy;
    let (height, width) = match shape.kind {
        ShapeKind::Radius(r) => (shape.conversion * r, shape.conversion * r),
        ShapeKind::Box(w, h) => (shape.conversion * (h / 2.0), shape.conversion * (w / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    let southern = latitude < 0.0;
    [
        if southern {
            longitude - long_delta_bottom
        } else {
            longitude - long_delta_top
        },
        latitude - lat_delta,
        if southern {
            longitude + long_delta_bottom
        } else {
            longitude + long_delta_top
        },
        latitude + lat_delta,
    ]
}

/// The cells a search scans: the centre cell then its neighbours (zero
/// when excluded), as `geohashCalculateAreasByShapeWGS84` picks them.
pub fn areas_by_shape(shape: &Shape) -> [HashBits; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let [longitude, latitude] = shape.xy;
    let radius_meters = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let cell = |steps: u8| {
        let hash = encode(WGS84_LONG, WGS84_LAT, longitude, latitude, steps).unwrap_or_default();
        (hash, neighbors(hash), decode(hash).unwrap_or_default())
    };
    let (mut hash, mut nb, mut area) = cell(steps);
    let area_of = |h: HashBits| decode(h).unwrap_or_default();
    let decrease_step = area_of(nb[N]).latitude.max < max_lat
        || area_of(nb[S]).latitude.min > min_lat
        || area_of(nb[E]).longitude.max < max_lon
        || area_of(nb[W]).longitude.min > min_lon;
    if steps > 1 && decrease_step {
        steps -= 1;
        (hash, nb, area) = cell(steps);
    }
    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            nb[S] = zero;
            nb[SW] = zero;
            nb[SE] = zero;
        }
        if area.latitude.max > max_lat {
            nb[N] = zero;
            nb[NE] = zero;
            nb[NW] = zero;
        }
        if area.longitude.min < min_lon {
            nb[W] = zero;
            nb[SW] = zero;
            nb[NW] = zero;
        }
        if area.longitude.max > max_lon {
            nb[E] = zero;
            nb[SE] = zero;
            nb[NE] = zero;
        }
    }
    [
        hash, nb[N], nb[S], nb[E], nb[W], nb[NE], nb[NW], nb[SE], nb[SW],
    ]
}

/// The scores of the members inside a cell: `min..max` (max excluded).
pub fn score_range(hash: HashBits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    });
    (min as f64, max as f64)
}

/// `geohashGetLatDistance`.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// `geohashGetDistance`: haversine distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// `geoWithinShape`: the point of `score` and its distance (meters) from the
/// centre, if it is inside the shape.
pub fn within_shape(shape: &Shape, score: f64) -> Option<([f64; 2], f64)> {
    let xy = decode_score(score)?;
    let [x1, y1] = shape.xy;
    let [x2, y2] = xy;
    match shape.kind {
        ShapeKind::Radius(r) => {
            let d = distance(x1, y1, x2, y2);
            (d <= r * shape.conversion).then_some((xy, d))
        }
        ShapeKind::Box(w, h) => {
            let (width_m, height_m) = (w * shape.conversion, h * shape.conversion);
            if lat_distance(y2, y1) > height_m / 2.0 {
                return None;
            }
            if distance(x2, y2, x1, y2) > width_m / 2.0 {
                return None;
            }
            Some((xy, distance(x1, y1, x2, y2)))
        }
    }
}

/// GEOHASH's 11-character string of a score: its point re-encoded over the
/// standard -90..90 latitude range, the 11th character always '0'.
pub fn hash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score)?;
    let hash = encode(WGS84_LONG, STD_LAT, lon, lat, 26).unwrap_or_default();
    let mut buf = [0u8; 11];
    for (i, c) in buf.iter_mut().enumerate() {
        let idx = if i == 10 {
            0
        } else {
            (hash.bits >> (52 - (i + 1) * 5)) & 0x1f
        };
        *c = ALPHABET[idx as usize];
    }
    Some(buf)
}

/// `fixedpoint_d2string(…, 4)`: a distance with exactly four decimals.
pub fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let scaled = (d * 10000.0).round_ties_even();
    // llrint on x86-64: out of range (or NaN) gives LLONG_MIN.
    const TWO63: f64 = (1u64 << 63) as f64;
    let svalue = if !(-TWO63..TWO63).contains(&scaled) {
        i64::MIN
    } else {
        scaled as i64
    };
    let value = svalue.unsigned_abs();
    let sign = if svalue < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", value / 10000, value % 10000)
}

/// `ld2string(…, LD_STR_HUMAN)` of a double: `%.17Lf` without trailing
/// zeros (GEOPOS and WITHCOORD coordinates).
pub fn format_human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut s = format!("{d:.17}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Redis's `pqsort` (`pqsort.c`, Bentley & McIlroy's quicksort that only
/// sorts the partitions overlapping ranks `lrange..=rrange`): GEORADIUS and
/// GEOSEARCH with COUNT sort this way, and which of several members at the
/// same distance come first depends on it.
pub fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    let n = v.len();
    pqsort_at(v, 0, n, cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

fn pqsort_at<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> i32,
    lr: usize,
    rr: usize,
) {
    // Whether ranks lr..=rr miss the partition a..a+len entirely.
    let outside = |a: usize, len: usize| {
        let last = a + len - 1;
        (lr < a && rr < a) || (lr > last && rr > last)
    };
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r) {
            pqsort_at(v, a, r, cmp, lr, rr);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pqsort_sorts_the_requested_ranks() {
        let cmp = |a: &u32, b: &u32| (a / 10).cmp(&(b / 10)) as i32;
        let mut seed = 12345u32;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 333] {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
                    (seed >> 16) % 500
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by_key(|x| x / 10);
            let k = n / 3;
            if n > 0 {
                pqsort(&mut v, &cmp, 0, k);
                let got: Vec<u32> = v[..=k].iter().map(|x| x / 10).collect();
                let want: Vec<u32> = sorted[..=k].iter().map(|x| x / 10).collect();
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn interleave_roundtrip() {
        for (a, b) in [(0u32, 0u32), (1, 2), (0xffff_ffff, 0), (12345, 67890)] {
            let i = interleave64(a, b);
            let d = deinterleave64(i);
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn scores_as_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania"
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(-180.0, -85.05112878), Some(0));
        assert!(score_of(180.1, 0.0).is_none());
    }

    #[test]
    fn decode_and_strings() {
        let xy = decode_score(3479099956230698.0).unwrap_or_default();
        assert_eq!(format_human(xy[0]), "13.36138933897018433");
        assert_eq!(format_human(xy[1]), "38.11555639549629859");
        assert_eq!(
            hash_string(3479099956230698.0).as_ref().map(|b| &b[..]),
            Some(&b"sqc8b49rny0"[..])
        );
    }

    #[test]
    fn distances() {
        let p = decode_score(3479099956230698.0).unwrap_or_default();
        let c = decode_score(3479447370796909.0).unwrap_or_default();
        assert_eq!(
            format_distance(distance(p[0], p[1], c[0], c[1])),
            "166274.1516"
        );
        assert_eq!(
            format_distance(distance(p[0], p[1], c[0], c[1]) / 1000.0),
            "166.2742"
        );
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(0.00004), "0.0000");
        assert_eq!(format_distance(0.00005), "0.0000");
        // 0.00015 * 10000 is 1.4999999999999998: llrint gives 1.
        assert_eq!(format_distance(0.00015), "0.0001");
        assert_eq!(format_distance(0.00025), "0.0002");
        assert_eq!(format_distance(12.5), "12.5000");
    }

    #[test]
    fn human_format() {
        assert_eq!(format_human(0.0), "0");
        assert_eq!(format_human(-0.0), "0");
        assert_eq!(format_human(1.5), "1.5");
        assert_eq!(format_human(-180.0), "-180");
    }

    #[test]
    fn odd_scores_do_not_panic() {
        for s in [
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
            -1e300,
            4503599627370496.0,
        ] {
            let xy = decode_score(s).unwrap_or_default();
            assert!(xy[0].abs() <= 180.0 && xy[1].abs() <= LAT_MAX);
            let _ = hash_string(s);
        }
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
    }

    #[test]
    fn neighbours_and_steps() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(200_000.0, 0.0), 6);
        assert_eq!(estimate_steps_by_radius(200_000.0, 70.0), 5);
        assert_eq!(estimate_steps_by_radius(200_000.0, -81.0), 4);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
        let h = HashBits {
            bits: 0b1010,
            step: 2,
        };
        let nb = neighbors(h);
        assert_eq!(nb.len(), 8);
        for _ in 0..100 {
            let shape = Shape {
                xy: [179.9, 85.0],
                conversion: 1000.0,
                kind: ShapeKind::Box(50000.0, 30000.0),
            };
            let _ = areas_by_shape(&shape);
        }
    }
}
