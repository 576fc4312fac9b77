//! JSON payloads (encoding 0, seed 000), parsed with `serde-json-core` into fixed-capacity types.
//!
//! Vitals: `{"hr":72,"spo2":98,"rr":14,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"temp":37.0,"pr":72}`
//! — `hr`, `spo2`, `rr` required (unsigned integers); the three `nibp_*` together or not at
//! all; `temp` (°C, a number) and `pr` (pulse rate, integer) optional. Unknown keys are
//! ignored (forward compatibility); duplicate keys, missing required keys, wrong types,
//! negative or fractional integers and trailing non-whitespace are errors.
//!
//! Waveform: `{"ch":"ecg_ii","fs":250,"first":1200,"samples":[12,-40,...]}` — `ch` one of
//! `ecg_ii`, `pleth`, `resp`; `fs` 1..=2000; `first` the index of the first sample; `samples`
//! 1..=128 integers (i32).
//!
//! Decoding is two passes. [`scan`] checks, without recursion, that the payload is
//! well-formed JSON, nested at most [`MAX_DEPTH`] levels, with every object key written
//! without escapes and no integer `-0`; only then does `serde-json-core` (which recurses into
//! nested values, including the unknown ones it skips) parse it into the record. Untrusted input therefore
//! cannot exhaust the decoding thread's stack, and a key's bytes are its name, so the
//! duplicate-key and required-key rules see the same keys any other JSON parser sees.

pub mod canonical;
mod scan;

pub use scan::MAX_DEPTH;

use serde::{Deserialize, Serialize};

use super::PayloadError;
use crate::payload::EncodeError;
use crate::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};

#[derive(Serialize, Deserialize)]
struct VitalsJson {
    hr: u16,
    spo2: u8,
    rr: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nibp_sys: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nibp_dia: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nibp_map: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    temp: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pr: Option<u16>,
}

#[derive(Deserialize)]
struct WaveformJson {
    ch: Channel,
    fs: u16,
    first: u64,
    samples: heapless::Vec<i32, MAX_SAMPLES>,
}

#[derive(Serialize)]
struct WaveformJsonOut<'a> {
    ch: Channel,
    fs: u16,
    first: u64,
    samples: &'a [i32],
}

/// Why a JSON payload is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum JsonError {
    /// Not UTF-8; `offset` is the first byte of the invalid sequence.
    Utf8 {
        /// Byte offset in the payload.
        offset: usize,
    },
    /// Not well-formed JSON text (RFC 8259), or more than one value.
    Syntax {
        /// Byte offset in the payload where the scan stopped.
        offset: usize,
    },
    /// Arrays and objects nested deeper than [`MAX_DEPTH`] levels.
    TooDeep {
        /// Byte offset of the opening bracket one level too deep.
        offset: usize,
    },
    /// An object key written with a backslash escape (refused so that no key can hide from
    /// the duplicate-key rule: see `docs/wire-format.md`).
    EscapedKey {
        /// Byte offset of the key's opening quote.
        offset: usize,
    },
    /// The integer `-0` (read as 0 by some parsers, as the float -0.0 by others).
    NegativeZero {
        /// Byte offset of the `-`.
        offset: usize,
    },
    /// Well-formed JSON that is not the record: a missing or duplicate key, a wrong type, a
    /// negative, fractional or overflowing integer, an unknown channel, too many samples.
    Schema(serde_json_core::de::Error),
}

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Utf8 { offset } => write!(f, "not utf-8 at byte {offset}"),
            Self::Syntax { offset } => write!(f, "syntax error at byte {offset}"),
            Self::TooDeep { offset } => {
                write!(f, "nested deeper than {MAX_DEPTH} levels at byte {offset}")
            }
            Self::EscapedKey { offset } => write!(f, "escaped object key at byte {offset}"),
            Self::NegativeZero { offset } => write!(f, "integer -0 at byte {offset}"),
            // serde-json-core's Display is capitalised prose; its variant name is short.
            Self::Schema(e) => write!(f, "does not match the record ({e:?})"),
        }
    }
}

impl core::error::Error for JsonError {}

/// The bounded, non-recursive [`scan`] first; `serde-json-core` parses only what passed it.
fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, PayloadError> {
    scan::check(payload).map_err(PayloadError::Json)?;
    serde_json_core::from_slice::<T>(payload)
        .map(|(value, _)| value)
        .map_err(|e| PayloadError::Json(JsonError::Schema(e)))
}

/// Parses a JSON vitals payload (ranges are checked by [`crate::payload::decode`]): the
/// canonical form vitalring writes by the fast path ([`canonical::decode_vitals`]), anything
/// else by [`decode_vitals_general`].
///
/// # Errors
/// [`PayloadError::Json`] or [`PayloadError::PartialNibp`].
pub fn decode_vitals(payload: &[u8]) -> Result<VitalsRecord, PayloadError> {
    match canonical::decode_vitals(payload) {
        Some(v) => Ok(v),
        None => decode_vitals_general(payload),
    }
}

/// Parses any JSON vitals payload: the bounded scan, then `serde-json-core` (the decoder of
/// record; the canonical fast path must agree with it).
///
/// # Errors
/// [`PayloadError::Json`] or [`PayloadError::PartialNibp`].
pub fn decode_vitals_general(payload: &[u8]) -> Result<VitalsRecord, PayloadError> {
    let v: VitalsJson = parse(payload)?;
    let nibp = match (v.nibp_sys, v.nibp_dia, v.nibp_map) {
        (Some(systolic_mmhg), Some(diastolic_mmhg), Some(mean_mmhg)) => Some(Nibp {
            systolic_mmhg,
            diastolic_mmhg,
            mean_mmhg,
        }),
        (None, None, None) => None,
        _ => return Err(PayloadError::PartialNibp),
    };
    Ok(VitalsRecord {
        hr_bpm: v.hr,
        spo2_pct: v.spo2,
        rr_rpm: v.rr,
        nibp,
        temp_c: v.temp,
        pulse_rate_bpm: v.pr,
    })
}

/// Parses a JSON waveform payload.
///
/// # Errors
/// [`PayloadError::Json`] (including more than 128 samples and trailing data).
pub fn decode_waveform(payload: &[u8]) -> Result<WaveformChunk, PayloadError> {
    let w: WaveformJson = parse(payload)?;
    Ok(WaveformChunk {
        channel: w.ch,
        fs_hz: w.fs,
        first: w.first,
        samples: w.samples,
    })
}

/// Writes a vitals record as JSON, in canonical form ([`canonical::encode_vitals`]; the same
/// bytes as [`encode_vitals_general`]).
///
/// # Errors
/// [`EncodeError::BufferFull`].
pub fn encode_vitals(v: &VitalsRecord, out: &mut [u8]) -> Result<usize, EncodeError> {
    match canonical::encode_vitals(v, out) {
        Some(n) => Ok(n),
        None => encode_vitals_general(v, out),
    }
}

/// Writes a vitals record as JSON with `serde-json-core` (a non-finite temperature as `null`).
///
/// # Errors
/// [`EncodeError::BufferFull`].
pub fn encode_vitals_general(v: &VitalsRecord, out: &mut [u8]) -> Result<usize, EncodeError> {
    let json = VitalsJson {
        hr: v.hr_bpm,
        spo2: v.spo2_pct,
        rr: v.rr_rpm,
        nibp_sys: v.nibp.map(|n| n.systolic_mmhg),
        nibp_dia: v.nibp.map(|n| n.diastolic_mmhg),
        nibp_map: v.nibp.map(|n| n.mean_mmhg),
        temp: v.temp_c,
        pr: v.pulse_rate_bpm,
    };
    serde_json_core::to_slice(&json, out).map_err(|_| EncodeError::BufferFull)
}

/// Writes a waveform chunk as JSON.
///
/// # Errors
/// [`EncodeError::BufferFull`].
pub fn encode_waveform(w: &WaveformChunk, out: &mut [u8]) -> Result<usize, EncodeError> {
    let json = WaveformJsonOut {
        ch: w.channel,
        fs: w.fs_hz,
        first: w.first,
        samples: &w.samples,
    };
    serde_json_core::to_slice(&json, out).map_err(|_| EncodeError::BufferFull)
}
