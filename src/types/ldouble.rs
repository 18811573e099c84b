//! x86 `long double` (80-bit extended) arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! API: `parse` (Redis's `string2ld`), `add`, `human` (Redis's `ld2string`
//! with `LD_STR_HUMAN`: `%.17Lf`, trailing zeros cut). Redis computes these
//! commands in `long double` and prints 17 decimals, so `f64` gives visibly
//! different text (`0.1 + 0.2` is `0.3` in Redis, `0.30000000000000004` in
//! `f64`; `1000 + 0.1` is `1000.09999999999999998` in Redis). Only what these
//! two commands need is here: a 64-bit mantissa, correctly rounded decimal
//! parsing and exact decimal printing through a small big integer, and one
//! correctly rounded addition. Subnormal values (below ~3.4e-4932) are not
//! represented: they parse, and an addition yields, zero.

use std::cmp::Ordering;

/// A finite extended-precision value: `(-1)^neg × mant × 2^exp`, `mant`
/// normalised (top bit set) or zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ld {
    neg: bool,
    mant: u64,
    exp: i32,
}

/// A parsed float argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Parsed {
    Num(Ld),
    /// `inf`, `-inf`, `infinity`: valid input, never a valid result.
    Inf,
}

/// Largest and smallest binary exponents of a normal 80-bit value (`1.x × 2^E`).
const MAX_E: i32 = 16383;
const MIN_E: i32 = -16382;

/// A little-endian big unsigned integer: just the operations used here.
#[derive(Clone, Debug, PartialEq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(n: u64) -> Big {
        let mut b = Big(vec![n as u32, (n >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bits(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }
    fn bit(&self, i: usize) -> bool {
        self.0.get(i / 32).is_some_and(|w| (w >> (i % 32)) & 1 == 1)
    }
    /// Whether any bit below `i` is set.
    fn any_below(&self, i: usize) -> bool {
        let (w, b) = (i / 32, i % 32);
        self.0.iter().take(w.min(self.0.len())).any(|x| *x != 0)
            || (b > 0 && self.0.get(w).is_some_and(|x| x & ((1u32 << b) - 1) != 0))
    }
    /// Bits `[i, i + 64)` as a u64.
    fn bits_from(&self, i: usize) -> u64 {
        (0..64).fold(0u64, |acc, k| acc | ((self.bit(i + k) as u64) << k))
    }
    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for w in self.0.iter_mut() {
            let v = *w as u64 * m as u64 + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }
    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for w in self.0.iter_mut() {
            if carry == 0 {
                return;
            }
            let v = *w as u64 + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }
    /// Divides in place by `d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for w in self.0.iter_mut().rev() {
            let v = (rem << 32) | *w as u64;
            *w = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }
    fn shl(&self, n: usize) -> Big {
        let (words, bits) = (n / 32, n % 32);
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for w in &self.0 {
            if bits == 0 {
                out.push(*w);
            } else {
                out.push((w << bits) | carry);
                carry = w >> (32 - bits);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }
    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
    /// `self -= o`; requires `self >= o`.
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, w) in self.0.iter_mut().enumerate() {
            let v = *w as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = (v < 0) as i64;
            *w = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }
    fn pow10(n: usize) -> Big {
        let mut b = Big::from_u64(1);
        for _ in 0..n / 9 {
            b.mul_small(1_000_000_000);
        }
        b.mul_small(10u32.pow((n % 9) as u32));
        b
    }
    /// (floor(self / d), remainder is non-zero) by binary long division; the
    /// quotient is small here (under ~70 bits), so this is a few dozen steps.
    fn div_big(&self, d: &Big) -> (Big, bool) {
        let mut rem = self.clone();
        let mut q = Big(Vec::new());
        if rem.cmp(d) == Ordering::Less {
            return (q, !rem.is_zero());
        }
        let top = rem.bits() - d.bits();
        q.0 = vec![0; top / 32 + 1];
        for i in (0..=top).rev() {
            let shifted = d.shl(i);
            if rem.cmp(&shifted) != Ordering::Less {
                rem.sub_assign(&shifted);
                q.0[i / 32] |= 1 << (i % 32);
            }
        }
        q.trim();
        (q, !rem.is_zero())
    }
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

impl Ld {
    pub const ZERO: Ld = Ld {
        neg: false,
        mant: 0,
        exp: 0,
    };

    fn is_zero(&self) -> bool {
        self.mant == 0
    }

    /// Rounds `n × 2^exp2` (plus a sticky "something below" bit) to 64 bits,
    /// half to even. None when the result is out of the normal range.
    fn round_big(neg: bool, n: &Big, exp2: i64, sticky: bool) -> Option<Ld> {
        let len = n.bits();
        if len == 0 {
            return Some(Ld { neg, ..Ld::ZERO });
        }
        let (mant, exp) = if len <= 64 {
            // Callers with a sticky remainder always supply more than 64 bits.
            (n.bits_from(0) << (64 - len), exp2 - (64 - len) as i64)
        } else {
            let drop = len - 64;
            let mut top = n.bits_from(drop);
            let half = n.bit(drop - 1);
            let rest = sticky || n.any_below(drop - 1);
            let mut exp = exp2 + drop as i64;
            if half && (rest || top & 1 == 1) {
                top = top.wrapping_add(1);
                if top == 0 {
                    top = 1 << 63;
                    exp += 1;
                }
            }
            (top, exp)
        };
        Ld::checked(neg, mant, exp)
    }

    fn checked(neg: bool, mant: u64, exp: i64) -> Option<Ld> {
        let e = exp + 63;
        if e > MAX_E as i64 || e < MIN_E as i64 {
            return None;
        }
        Some(Ld {
            neg,
            mant,
            exp: exp as i32,
        })
    }

    pub fn from_i64(n: i64) -> Ld {
        let big = Big::from_u64(n.unsigned_abs());
        Ld::round_big(n < 0, &big, 0, false).unwrap_or(Ld::ZERO)
    }
}

/// Redis's `string2ld`: the whole string must be a decimal float (no spaces,
/// no hex here); `inf`/`infinity` are valid; overflow, and underflow to zero,
/// make it invalid (strtold's ERANGE), NaN is invalid.
pub fn parse(s: &[u8]) -> Option<Parsed> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Parsed::Inf);
    }
    let mut digits = Big(Vec::new());
    let mut ndigits = 0usize; // significant digits kept (leading zeros skipped)
    let mut seen_digit = false;
    let mut frac_digits = 0i64;
    let mut i = 0;
    let mut in_frac = false;
    while i < body.len() {
        match body[i] {
            c @ b'0'..=b'9' => {
                seen_digit = true;
                if in_frac {
                    frac_digits += 1;
                }
                if c != b'0' || ndigits > 0 {
                    // Past 5,000 significant digits only a sticky bit matters;
                    // string2ld refuses such long strings anyway.
                    if ndigits >= 5000 {
                        return None;
                    }
                    digits.mul_small(10);
                    digits.add_small((c - b'0') as u32);
                    ndigits += 1;
                }
            }
            b'.' if !in_frac => in_frac = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    let mut exp10: i64 = 0;
    if i < body.len() {
        if !matches!(body[i], b'e' | b'E') {
            return None;
        }
        i += 1;
        let eneg = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i >= body.len() {
            return None;
        }
        for &c in &body[i..] {
            if !c.is_ascii_digit() {
                return None;
            }
            exp10 = (exp10 * 10 + (c - b'0') as i64).min(1_000_000);
        }
        if eneg {
            exp10 = -exp10;
        }
    }
    exp10 -= frac_digits;
    if digits.is_zero() {
        return Some(Parsed::Num(Ld { neg, ..Ld::ZERO }));
    }
    // Decimal magnitude: value is in [10^(mag-1), 10^mag). Far outside the
    // range of 80-bit values it overflows or underflows: invalid either way.
    let mag = ndigits as i64 + exp10;
    if !(-4952..=4934).contains(&mag) {
        return None;
    }
    let value = if exp10 >= 0 {
        let mut n = digits;
        for _ in 0..exp10 / 9 {
            n.mul_small(1_000_000_000);
        }
        n.mul_small(10u32.pow((exp10 % 9) as u32));
        Ld::round_big(neg, &n, 0, false)
    } else {
        let den = Big::pow10((-exp10) as usize);
        // Scale so the quotient has at least 66 bits: 64 kept, a rounding
        // bit, and the remainder as a sticky bit.
        let shift = (den.bits() + 66).saturating_sub(digits.bits());
        let (q, rem) = digits.shl(shift).div_big(&den);
        Ld::round_big(neg, &q, -(shift as i64), rem)
    };
    match value {
        Some(v) => Some(Parsed::Num(v)),
        // Subnormal: strtold accepts it (it is not zero), and it prints as 0
        // and vanishes in any sum with a normal value, so zero stands in.
        None if (-4950..0).contains(&mag) => Some(Parsed::Num(Ld { neg, ..Ld::ZERO })),
        None => None,
    }
}

/// `a + b`, correctly rounded; None when it overflows (an infinite result).
pub fn add(a: Ld, b: Ld) -> Option<Ld> {
    if a.is_zero() {
        return Some(if b.is_zero() {
            Ld {
                neg: a.neg && b.neg,
                ..Ld::ZERO
            }
        } else {
            b
        });
    }
    if b.is_zero() {
        return Some(a);
    }
    // `hi` has the larger exponent; both get 62 guard bits, and what shifts
    // out of the smaller one survives as a sticky bit.
    let (hi, lo) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let d = (hi.exp - lo.exp) as u32;
    let mh = (hi.mant as u128) << 62;
    let full = (lo.mant as u128) << 62;
    let ml = if d >= 127 {
        1
    } else {
        let shifted = full >> d;
        shifted | ((shifted << d != full) as u128)
    };
    let (neg, m) = if hi.neg == lo.neg {
        (hi.neg, mh + ml)
    } else if mh >= ml {
        (hi.neg, mh - ml)
    } else {
        (lo.neg, ml - mh)
    };
    if m == 0 {
        return Some(Ld::ZERO);
    }
    let exp2 = hi.exp as i64 - 62;
    let n = Big(vec![
        m as u32,
        (m >> 32) as u32,
        (m >> 64) as u32,
        (m >> 96) as u32,
    ]);
    let mut n = n;
    n.trim();
    match Ld::round_big(neg, &n, exp2, false) {
        Some(v) => Some(v),
        // Below the normal range: flushed to zero (see the module note).
        None if exp2 < 0 => Some(Ld::ZERO),
        None => None,
    }
}

/// Redis's `ld2string(…, LD_STR_HUMAN)`: `%.17Lf` (exact value, rounded half
/// to even at 17 decimals), trailing zeros and a trailing dot cut, `-0` as `0`.
pub fn human(v: Ld) -> String {
    const DECIMALS: usize = 17;
    let mut n = Big::from_u64(v.mant);
    let scaled = if v.exp >= 0 {
        let mut s = n.shl(v.exp as usize);
        for _ in 0..DECIMALS {
            s.mul_small(10);
        }
        s
    } else {
        for _ in 0..DECIMALS {
            n.mul_small(10);
        }
        let k = (-v.exp) as usize;
        let q_bits = n.bits().saturating_sub(k);
        let mut q = Big(Vec::new());
        if q_bits > 0 {
            let words: Vec<u32> = (0..q_bits.div_ceil(32))
                .map(|w| {
                    let lo = n.bits_from(k + w * 32);
                    lo as u32
                })
                .collect();
            q = Big(words);
            q.trim();
        }
        let half = k >= 1 && n.bit(k - 1);
        let rest = k >= 2 && n.any_below(k - 1);
        if half && (rest || q.bit(0)) {
            q.add_small(1);
        }
        q
    };
    let digits = scaled.to_decimal();
    let digits = format!("{digits:0>width$}", width = DECIMALS + 1);
    let (int, frac) = digits.split_at(digits.len() - DECIMALS);
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(digits.len() + 2);
    if v.neg {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if out == "-0" {
        out = "0".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Ld {
        match parse(s.as_bytes()) {
            Some(Parsed::Num(v)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn sum(a: &str, b: &str) -> String {
        human(add(num(a), num(b)).unwrap())
    }

    /// Every expected string below was printed by redis-server 7.0.15 on x86-64.
    #[test]
    fn sums_print_like_redis() {
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(sum("1000", "0.1"), "1000.09999999999999998");
        assert_eq!(sum("1.23", "0.77"), "2");
        assert_eq!(sum("2", "-0.1"), "1.9");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("0", "5e-20"), "0");
        assert_eq!(sum("0", "1.2345678901234567e-10"), "0.00000000012345679");
        assert_eq!(sum("0", "1e20"), "100000000000000000000");
        assert_eq!(sum("9223372036854775807", "0.1"), "9223372036854775807");
        assert_eq!(sum("5.0e3", "2.0e2"), "5200");
        assert_eq!(sum("-0.5", "0.5"), "0");
        assert_eq!(sum("-1", "0.25"), "-0.75");
        assert_eq!(sum("0", "1e-4940"), "0");
        assert_eq!(sum("3", "-0.00000000000000000001"), "3");
        assert_eq!(
            sum("0", "1e308"),
            "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048"
        );
    }

    #[test]
    fn parse_rules() {
        assert_eq!(parse(b"inf"), Some(Parsed::Inf));
        assert_eq!(parse(b"-Infinity"), Some(Parsed::Inf));
        assert_eq!(parse(b"1e400").map(|_| ()), Some(()));
        for bad in [
            &b""[..],
            b"abc",
            b"1e",
            b"1e+",
            b"1.2.3",
            b" 1",
            b"1 ",
            b"nan",
            b"1e5000",
            b"1e-5000",
            b"-",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(human(num("-0")), "0");
        assert_eq!(human(num(".5")), "0.5");
        assert_eq!(human(num("5.")), "5");
        assert_eq!(human(Ld::from_i64(-42)), "-42");
    }

    #[test]
    fn overflow_is_detected() {
        let big = num("1e4932");
        assert_eq!(add(big, big), None);
    }
}
