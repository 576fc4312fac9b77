//! The fast path for JSON vitals: the one canonical form vitalring's own writer emits,
//!
//! `{"hr":72,"spo2":98,"rr":14,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"temp":36.6,"pr":71}`
//!
//! — keys in this order, the three `nibp_*` together or absent, `temp` and `pr` optional, no
//! whitespace, integers without leading zeros, `temp` as plain decimal digits with a fraction
//! (what `ryu` prints for a body temperature). [`decode_vitals`] reads exactly that and
//! returns `None` for anything else, which then goes through the general decoder (the bounded
//! scan and `serde-json-core`). Whatever this path accepts, the general decoder accepts with
//! the same record: a property test over the writer's output and a differential fuzz target
//! (`json_vitals`) hold it to that. [`encode_vitals`] writes the same bytes `serde-json-core`
//! writes (a property test compares them), an order of magnitude faster.

use crate::vitals::{Nibp, VitalsRecord};

/// Reads a canonical JSON vitals payload; `None` if `payload` is not exactly in canonical form
/// (which says nothing about whether it is valid: ask the general decoder).
pub fn decode_vitals(payload: &[u8]) -> Option<VitalsRecord> {
    let mut c = Cursor { b: payload, i: 0 };
    c.lit(b"{\"hr\":")?;
    let hr_bpm = c.uint::<u16>()?;
    c.lit(b",\"spo2\":")?;
    let spo2_pct = c.uint::<u8>()?;
    c.lit(b",\"rr\":")?;
    let rr_rpm = c.uint::<u8>()?;
    let nibp = if c.eat(b",\"nibp_sys\":") {
        let systolic_mmhg = c.uint::<u16>()?;
        c.lit(b",\"nibp_dia\":")?;
        let diastolic_mmhg = c.uint::<u16>()?;
        c.lit(b",\"nibp_map\":")?;
        let mean_mmhg = c.uint::<u16>()?;
        Some(Nibp {
            systolic_mmhg,
            diastolic_mmhg,
            mean_mmhg,
        })
    } else {
        None
    };
    let temp_c = if c.eat(b",\"temp\":") {
        Some(c.decimal()?)
    } else {
        None
    };
    let pulse_rate_bpm = if c.eat(b",\"pr\":") {
        Some(c.uint::<u16>()?)
    } else {
        None
    };
    c.lit(b"}")?;
    (c.i == payload.len()).then_some(VitalsRecord {
        hr_bpm,
        spo2_pct,
        rr_rpm,
        nibp,
        temp_c,
        pulse_rate_bpm,
    })
}

/// Writes `v` in canonical form into `out`; `None` if it does not fit or the temperature is
/// not finite (the general encoder writes that as `null`).
pub fn encode_vitals(v: &VitalsRecord, out: &mut [u8]) -> Option<usize> {
    let mut w = Out { b: out, n: 0 };
    w.put(b"{\"hr\":")?;
    w.uint(v.hr_bpm.into())?;
    w.put(b",\"spo2\":")?;
    w.uint(v.spo2_pct.into())?;
    w.put(b",\"rr\":")?;
    w.uint(v.rr_rpm.into())?;
    if let Some(n) = v.nibp {
        w.put(b",\"nibp_sys\":")?;
        w.uint(n.systolic_mmhg.into())?;
        w.put(b",\"nibp_dia\":")?;
        w.uint(n.diastolic_mmhg.into())?;
        w.put(b",\"nibp_map\":")?;
        w.uint(n.mean_mmhg.into())?;
    }
    if let Some(t) = v.temp_c {
        if !t.is_finite() {
            return None;
        }
        w.put(b",\"temp\":")?;
        w.put(ryu::Buffer::new().format_finite(t).as_bytes())?;
    }
    if let Some(pr) = v.pulse_rate_bpm {
        w.put(b",\"pr\":")?;
        w.uint(pr.into())?;
    }
    w.put(b"}")?;
    Some(w.n)
}

/// `10^k` for `k` in `0..=6`, each exact in `f32`.
const POW10: [f32; 7] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Consumes `s` if the input continues with it.
    fn eat(&mut self, s: &[u8]) -> bool {
        let matched = self.b.get(self.i..self.i + s.len()) == Some(s);
        if matched {
            self.i += s.len();
        }
        matched
    }

    fn lit(&mut self, s: &[u8]) -> Option<()> {
        self.eat(s).then_some(())
    }

    /// `0` or a digit string without a leading zero, within `T`'s range.
    fn uint<T: TryFrom<u32>>(&mut self) -> Option<T> {
        let start = self.i;
        let mut value: u32 = 0;
        while let Some(d) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            // Five digits cover u16; a sixth means out of range (or a leading-zero string).
            if self.i - start == 5 {
                return None;
            }
            value = value * 10 + u32::from(d - b'0');
            self.i += 1;
        }
        let len = self.i - start;
        if len == 0 || (len > 1 && self.b[start] == b'0') {
            return None;
        }
        T::try_from(value).ok()
    }

    /// `digits.digits` (no sign, no exponent, no leading zero but `0.`), as the general
    /// decoder's `f32::from_str` reads the same characters: exactly, by the classic fast path
    /// when the digits make an integer below 10^7 (`m / 10^k` with both operands exact in
    /// `f32` and one correctly rounded division: the value `from_str` rounds to), by
    /// `from_str` itself otherwise.
    fn decimal(&mut self) -> Option<f32> {
        let start = self.i;
        let int = self.digits();
        if int == 0 || (int > 1 && self.b[start] == b'0') || !self.eat(b".") {
            return None;
        }
        let frac = self.digits();
        if frac == 0 {
            return None;
        }
        let text = self.b.get(start..self.i)?;
        if int + frac <= 7 {
            let m = text
                .iter()
                .filter(|c| c.is_ascii_digit())
                .fold(0u32, |m, c| m * 10 + u32::from(c - b'0'));
            // m < 10^7 < 2^24: exact in f32, and so is 10^frac (frac <= 6).
            return Some(m as f32 / POW10[frac]);
        }
        core::str::from_utf8(text).ok()?.parse().ok()
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }
}

struct Out<'a> {
    b: &'a mut [u8],
    n: usize,
}

impl Out<'_> {
    fn put(&mut self, s: &[u8]) -> Option<()> {
        self.b.get_mut(self.n..self.n + s.len())?.copy_from_slice(s);
        self.n += s.len();
        Some(())
    }

    fn uint(&mut self, v: u32) -> Option<()> {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut v = v;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[at..])
    }
}
