//! `json_nesting`: a structure-aware generator of JSON payloads, checked against serde_json.
//!
//! The input drives a flat list of [`Step`]s — open an array or object, close one, open
//! thousands of levels at once, write a scalar or one of the record's own keys — which
//! [`render`] turns into JSON text with an explicit stack (no recursion here either, so the
//! harness itself survives a million levels). Every document is well-formed JSON; what varies
//! is depth, shape, where the record's keys sit, duplicates, and escapes in keys and strings.
//!
//! The checks, for the vitals and the waveform decoder alike:
//! - nested deeper than [`MAX_DEPTH`], or any key written with an escape: rejected, with
//!   exactly that reason (the text is well-formed, so never a syntax error);
//! - accepted by the core: serde_json reads the same bytes into the same record (the same
//!   keys, duplicates and required keys included) — no parser differential;
//! - within the limits and accepted by serde_json: the core accepts too, except for the
//!   documented stricter rules left (the integer `-0`, a `ch` value written with escapes).

use arbitrary::Arbitrary;
use serde::Deserialize;
use vitalring_core::layout::{Encoding, FrameType, MAX_FRAME_SIZE, SLOT_OVERHEAD};
use vitalring_core::payload::json::{JsonError, MAX_DEPTH};
use vitalring_core::payload::{self, PayloadError, Record};
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};

/// Largest payload a slot can carry.
pub const MAX_PAYLOAD: usize = MAX_FRAME_SIZE as usize - SLOT_OVERHEAD;

/// One input of `json_nesting`.
#[derive(Arbitrary, Debug)]
pub struct NestInput {
    /// The required members of a record, written first or last, so that documents the
    /// decoders accept are common.
    base: Base,
    base_last: bool,
    steps: Vec<Step>,
    /// 0: none, 1: one space, 2: mixed whitespace around every token.
    spacing: u8,
}

#[derive(Arbitrary, Debug)]
enum Base {
    None,
    Vitals(u16),
    Waveform(u16),
}

impl Base {
    fn fields(&self) -> &'static [Known] {
        match self {
            Self::None => &[],
            Self::Vitals(_) => &[Known::Hr, Known::Spo2, Known::Rr],
            Self::Waveform(_) => &[Known::Ch, Known::Fs, Known::First, Known::Samples],
        }
    }

    fn seed(&self) -> u16 {
        match self {
            Self::None => 0,
            Self::Vitals(s) | Self::Waveform(s) => *s,
        }
    }
}

/// One instruction for [`render`], applied at the current position.
#[derive(Arbitrary, Debug)]
enum Step {
    /// Open an array or an object (with `key` if the current container is an object).
    Open { key: Key, object: bool },
    /// Close the innermost container (never the top-level object; that closes at the end).
    Close,
    /// Open containers at once (bit `i % 64` of `shape`: object at level `i`), with `inner`
    /// at the bottom: `levels % 64` of them, or `8 * levels` (up to the whole of a maximum
    /// slot) when `scale` is 255 — huge documents are rare, so executions stay fast.
    Deep {
        key: Key,
        levels: u16,
        scale: u8,
        shape: u64,
        inner: Scalar,
    },
    /// A scalar member.
    Value { key: Key, value: Scalar },
    /// One of the record's keys with a plausible value (`seed` picks it), so that documents
    /// the decoders accept are common.
    Field {
        field: Known,
        escape: Escape,
        seed: u16,
    },
}

/// An object key.
#[derive(Arbitrary, Debug)]
enum Key {
    Known(Known, Escape),
    Other(String, Escape),
}

/// The keys of both record types.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Known {
    Hr,
    Spo2,
    Rr,
    NibpSys,
    NibpDia,
    NibpMap,
    Temp,
    Pr,
    Ch,
    Fs,
    First,
    Samples,
}

impl Known {
    fn name(self) -> &'static str {
        match self {
            Self::Hr => "hr",
            Self::Spo2 => "spo2",
            Self::Rr => "rr",
            Self::NibpSys => "nibp_sys",
            Self::NibpDia => "nibp_dia",
            Self::NibpMap => "nibp_map",
            Self::Temp => "temp",
            Self::Pr => "pr",
            Self::Ch => "ch",
            Self::Fs => "fs",
            Self::First => "first",
            Self::Samples => "samples",
        }
    }

    /// A value for this key, mostly in range.
    fn value(self, seed: u16) -> String {
        let s = i64::from(seed);
        match self {
            Self::Hr | Self::Pr | Self::NibpSys | Self::NibpDia | Self::NibpMap => {
                (s % 320).to_string()
            }
            Self::Spo2 => (s % 110).to_string(),
            Self::Rr => (s % 160).to_string(),
            Self::Temp => format!("{}.{}", 24 + s % 23, s % 10),
            Self::Ch => format!(
                "\"{}\"",
                ["ecg_ii", "pleth", "resp", "eeg"][seed as usize % 4]
            ),
            Self::Fs => (s % 2100).to_string(),
            Self::First => (s * 1_000_003).to_string(),
            Self::Samples => {
                let n = seed as usize % 140;
                let items: Vec<String> =
                    (0..n).map(|i| (i as i64 * s - 9_000).to_string()).collect();
                format!("[{}]", items.join(","))
            }
        }
    }
}

/// How a string (key or value) is written.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Escape {
    /// Only what JSON requires (`"`, `\`, control characters).
    Minimal,
    /// The first character as `\uXXXX`.
    FirstUnicode,
    /// Every character as `\uXXXX` (surrogate pairs beyond the BMP), upper-case hex.
    AllUnicode,
    /// Short escapes where one exists (`\/`, `\n`, `\t`, ...).
    Short,
}

#[derive(Arbitrary, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    FloatExp(f64),
    Str(String, Escape),
}

/// What [`render`] knows about the document it wrote.
#[derive(Debug, Default)]
pub struct Shape {
    /// Deepest nesting of arrays and objects (the top-level object is 1).
    pub depth: usize,
    /// Some key (at any level) contains a backslash.
    pub escaped_key: bool,
}

fn push_str(out: &mut Vec<u8>, s: &str, escape: Escape) {
    out.push(b'"');
    for (i, c) in s.chars().enumerate() {
        let unicode = match escape {
            Escape::Minimal | Escape::Short => false,
            Escape::FirstUnicode => i == 0,
            Escape::AllUnicode => true,
        };
        let short = match (escape, c) {
            (_, '"') => Some("\\\""),
            (_, '\\') => Some("\\\\"),
            (Escape::Short, '/') => Some("\\/"),
            (Escape::Short | Escape::Minimal, '\n') => Some("\\n"),
            (Escape::Short, '\t') => Some("\\t"),
            (Escape::Short, '\r') => Some("\\r"),
            (Escape::Short, '\u{8}') => Some("\\b"),
            (Escape::Short, '\u{c}') => Some("\\f"),
            _ => None,
        };
        if let (Some(e), false) = (short, unicode) {
            out.extend_from_slice(e.as_bytes());
        } else if unicode || (c as u32) < 0x20 || short.is_some() {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.extend_from_slice(format!("\\u{u:04X}").as_bytes());
            }
        } else {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    out.push(b'"');
}

fn push_scalar(out: &mut Vec<u8>, v: &Scalar) {
    match v {
        Scalar::Null => out.extend_from_slice(b"null"),
        Scalar::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Scalar::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Scalar::Uint(n) => out.extend_from_slice(n.to_string().as_bytes()),
        // Rust prints finite floats as JSON numbers (`{}` never uses an exponent or `inf`).
        Scalar::Float(x) if x.is_finite() => out.extend_from_slice(format!("{x}").as_bytes()),
        Scalar::FloatExp(x) if x.is_finite() => out.extend_from_slice(format!("{x:e}").as_bytes()),
        Scalar::Float(_) | Scalar::FloatExp(_) => out.push(b'0'),
        Scalar::Str(s, e) => push_str(out, s, *e),
    }
}

/// Renders `input` as a JSON object; `None` if it would exceed [`MAX_PAYLOAD`].
pub fn render(input: &NestInput) -> Option<(Vec<u8>, Shape)> {
    let ws: &[u8] = match input.spacing % 3 {
        0 => b"",
        1 => b" ",
        _ => b"\r\n\t ",
    };
    let mut out = Vec::new();
    let mut shape = Shape {
        depth: 1,
        escaped_key: false,
    };
    // Open containers (true: object) and whether each has a member yet.
    let mut stack: Vec<(bool, bool)> = vec![(true, false)];
    out.extend_from_slice(ws);
    out.push(b'{');
    // Starts a member of the innermost container: comma, then the key if it is an object.
    let member =
        |out: &mut Vec<u8>, stack: &mut Vec<(bool, bool)>, shape: &mut Shape, key: &Key| {
            let top = stack.last_mut().expect("the top-level object stays open");
            if top.1 {
                out.push(b',');
            }
            top.1 = true;
            out.extend_from_slice(ws);
            if top.0 {
                let start = out.len();
                match key {
                    Key::Known(k, e) => push_str(out, k.name(), *e),
                    Key::Other(s, e) => push_str(out, s, *e),
                }
                shape.escaped_key |= out[start..].contains(&b'\\');
                out.extend_from_slice(ws);
                out.push(b':');
                out.extend_from_slice(ws);
            }
        };
    let base: Vec<Step> = input
        .base
        .fields()
        .iter()
        .map(|&field| Step::Field {
            field,
            escape: Escape::Minimal,
            seed: input.base.seed(),
        })
        .collect();
    let (first, last) = if input.base_last {
        (&[][..], &base[..])
    } else {
        (&base[..], &[][..])
    };
    for (i, step) in first.iter().chain(&input.steps).chain(last).enumerate() {
        if out.len() > MAX_PAYLOAD {
            return None;
        }
        if i == first.len() + input.steps.len() {
            // The base goes last: back to the top-level object first.
            while stack.len() > 1 {
                let (object, _) = stack.pop().expect("len > 1");
                out.extend_from_slice(ws);
                out.push(if object { b'}' } else { b']' });
            }
        }
        match step {
            Step::Open { key, object } => {
                member(&mut out, &mut stack, &mut shape, key);
                out.push(if *object { b'{' } else { b'[' });
                stack.push((*object, false));
            }
            Step::Close => {
                if stack.len() > 1 {
                    let (object, _) = stack.pop().expect("len > 1");
                    out.extend_from_slice(ws);
                    out.push(if object { b'}' } else { b']' });
                }
            }
            Step::Deep {
                key,
                levels,
                scale,
                shape: bits,
                inner,
            } => {
                let levels = match *scale {
                    u8::MAX => usize::from(*levels) * 8,
                    _ => usize::from(*levels) % 64,
                };
                member(&mut out, &mut stack, &mut shape, key);
                for i in 0..levels {
                    if out.len() > MAX_PAYLOAD {
                        return None;
                    }
                    if bits >> (i % 64) & 1 == 1 {
                        out.extend_from_slice(b"{\"k\":");
                        stack.push((true, true));
                    } else {
                        out.push(b'[');
                        stack.push((false, true));
                    }
                }
                push_scalar(&mut out, inner);
            }
            Step::Value { key, value } => {
                member(&mut out, &mut stack, &mut shape, key);
                push_scalar(&mut out, value);
            }
            Step::Field {
                field,
                escape,
                seed,
            } => {
                member(
                    &mut out,
                    &mut stack,
                    &mut shape,
                    &Key::Known(*field, *escape),
                );
                out.extend_from_slice(field.value(*seed).as_bytes());
                if let Known::Samples = field {
                    // The value is an array: one level below the current container.
                    shape.depth = shape.depth.max(stack.len() + 1);
                }
            }
        }
        shape.depth = shape.depth.max(stack.len());
    }
    while let Some((object, _)) = stack.pop() {
        out.extend_from_slice(ws);
        out.push(if object { b'}' } else { b']' });
    }
    out.extend_from_slice(ws);
    (out.len() <= MAX_PAYLOAD).then_some((out, shape))
}

/// serde_json's reading of a vitals payload (serde's derive rejects duplicate keys).
#[derive(Deserialize)]
struct OracleVitals {
    hr: u16,
    spo2: u8,
    rr: u8,
    nibp_sys: Option<u16>,
    nibp_dia: Option<u16>,
    nibp_map: Option<u16>,
    /// A double, as every general-purpose JSON reader holds numbers.
    temp: Option<f64>,
    pr: Option<u16>,
}

/// serde_json's reading of a waveform payload.
#[derive(Deserialize)]
struct OracleWaveform {
    ch: Channel,
    fs: u16,
    first: u64,
    samples: Vec<i32>,
}

/// What the decoders should deliver from `bytes` if serde_json's reading is the truth.
fn oracle(frame_type: FrameType, bytes: &[u8]) -> Option<Record> {
    let record = match frame_type {
        FrameType::Vitals => {
            let v: OracleVitals = serde_json::from_slice(bytes).ok()?;
            let nibp = match (v.nibp_sys, v.nibp_dia, v.nibp_map) {
                (Some(systolic_mmhg), Some(diastolic_mmhg), Some(mean_mmhg)) => Some(Nibp {
                    systolic_mmhg,
                    diastolic_mmhg,
                    mean_mmhg,
                }),
                (None, None, None) => None,
                _ => return None,
            };
            let r = VitalsRecord {
                hr_bpm: v.hr,
                spo2_pct: v.spo2,
                rr_rpm: v.rr,
                nibp,
                temp_c: v.temp.map(|t| t as f32),
                pulse_rate_bpm: v.pr,
            };
            r.validate().ok()?;
            Record::Vitals(r)
        }
        FrameType::Waveform => {
            let w: OracleWaveform = serde_json::from_slice(bytes).ok()?;
            if w.samples.len() > MAX_SAMPLES {
                return None;
            }
            let r = WaveformChunk {
                channel: w.ch,
                fs_hz: w.fs,
                first: w.first,
                samples: heapless::Vec::from_slice(&w.samples).ok()?,
            };
            r.validate().ok()?;
            Record::Waveform(r)
        }
        FrameType::Heartbeat => Record::Heartbeat,
    };
    Some(record)
}

/// Equal, except that a temperature may differ in the last bit of its f32: the core rounds the
/// decimal text to f32 once, serde_json to f64 and then to f32.
fn same_record(core: &Record, json: &Record) -> bool {
    match (core, json) {
        (Record::Vitals(a), Record::Vitals(b)) => {
            let temp = match (a.temp_c, b.temp_c) {
                (Some(x), Some(y)) => x.to_bits().abs_diff(y.to_bits()) <= 1,
                (x, y) => x == y,
            };
            temp && VitalsRecord { temp_c: None, ..*a } == VitalsRecord { temp_c: None, ..*b }
        }
        _ => core == json,
    }
}

/// Checks one JSON document against both decoders and serde_json (see the module docs).
pub fn check_document(bytes: &[u8], shape: &Shape) {
    let too_deep = shape.depth > MAX_DEPTH;
    for ft in [FrameType::Vitals, FrameType::Waveform] {
        let core = payload::decode(ft, Encoding::Json, bytes);
        if too_deep || shape.escaped_key {
            assert!(
                matches!(
                    core,
                    Err(PayloadError::Json(
                        JsonError::TooDeep { .. } | JsonError::EscapedKey { .. }
                    ))
                ),
                "{ft:?}: depth {} escaped key {} not refused as such: {core:?}",
                shape.depth,
                shape.escaped_key,
            );
            continue;
        }
        let json = oracle(ft, bytes);
        match (&core, &json) {
            (Ok(_), _) => agree(ft, bytes, &core, &json),
            (Err(e), Some(j)) => {
                // The stricter rules left: no integer `-0` anywhere (serde_json reads it as a
                // float and ignores it under unknown keys), and `ch` compared as written.
                let negative_zero = matches!(e, PayloadError::Json(JsonError::NegativeZero { .. }));
                let channel_escaped = matches!(j, Record::Waveform(w)
                    if !contains(bytes, format!("\"{}\"", w.channel.name()).as_bytes()));
                assert!(
                    negative_zero || channel_escaped,
                    "{ft:?}: the core refused ({e}) what serde_json reads as {j:?}"
                );
            }
            (Err(e), None) => assert!(
                !matches!(
                    e,
                    PayloadError::Json(JsonError::Syntax { .. } | JsonError::Utf8 { .. })
                ),
                "{ft:?}: well-formed text refused as {e}"
            ),
        }
    }
}

/// Whatever the core delivers from `bytes`, serde_json reads the same from them.
pub fn agrees_with_serde_json(frame_type: FrameType, bytes: &[u8]) {
    let core = payload::decode(frame_type, Encoding::Json, bytes);
    if core.is_ok() {
        agree(frame_type, bytes, &core, &oracle(frame_type, bytes));
    }
}

fn agree(ft: FrameType, bytes: &[u8], core: &Result<Record, PayloadError>, json: &Option<Record>) {
    match (core, json) {
        (Ok(c), Some(j)) => assert!(
            same_record(c, j),
            "{ft:?}: the core read {c:?}, serde_json {j:?} from {:?}",
            String::from_utf8_lossy(bytes)
        ),
        (Ok(c), None) => panic!(
            "{ft:?}: the core delivered {c:?}, serde_json refuses {:?}",
            String::from_utf8_lossy(bytes)
        ),
        (Err(_), _) => {}
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
