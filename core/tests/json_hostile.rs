//! Hostile JSON payloads a rogue producer can put in a slot with a correct CRC: nesting deep
//! enough to exhaust a reader thread's stack, and keys escaped to slip past the duplicate-key
//! rule. Each must be rejected as a malformed payload, never delivered, never a crash.
//!
//! Under Miri the payloads shrink and the property runs a handful of cases (Miri is ~1000x
//! slower); the logic checked is the same.

use proptest::prelude::*;
use vitalring_core::frame::{FrameMeta, SlotView};
use vitalring_core::layout::{Encoding, FrameType, MAX_FRAME_SIZE, SLOT_OVERHEAD};
use vitalring_core::payload::json::{self, JsonError, MAX_DEPTH};
use vitalring_core::payload::{self, PayloadError, Record};

/// The largest slot a ring may have, and so the largest payload a producer can send.
const MAX_SLOT: usize = if cfg!(miri) {
    64 * 1024
} else {
    MAX_FRAME_SIZE as usize
};
const MAX_PAYLOAD: usize = MAX_SLOT - SLOT_OVERHEAD;
/// What the attack used: enough levels to overflow a 2 MiB reader thread in serde-json-core.
const ATTACK_LEVELS: usize = if cfg!(miri) { 4_000 } else { 40_000 };
/// A stack far smaller than any reader thread's: decoding must not depend on its size.
const SMALL_STACK: usize = 64 * 1024;

/// `{<fields>,"pad":"…","x":[[[…]]]}` exactly `len` bytes long, `levels` arrays deep under
/// the unknown key `x`.
fn nested_under_unknown_key(fields: &str, levels: usize, len: usize) -> Vec<u8> {
    let mut p = format!("{{{fields},\"pad\":\"").into_bytes();
    let tail = 2 + 4 + 2 * levels + 1; // `",` `"x":` brackets `}`
    assert!(
        p.len() + tail <= len,
        "payload too small for {levels} levels"
    );
    p.resize(len - tail, b'a');
    p.extend_from_slice(b"\",\"x\":");
    p.extend(std::iter::repeat_n(b'[', levels));
    p.extend(std::iter::repeat_n(b']', levels));
    p.push(b'}');
    assert_eq!(p.len(), len);
    p
}

/// Builds a committed slot of `MAX_SLOT` bytes holding `payload`, then checks and decodes it
/// the way a reader does, on a thread with a 64 KiB stack.
fn decode_in_max_slot_on_small_stack(
    frame_type: FrameType,
    payload: Vec<u8>,
) -> Result<Record, PayloadError> {
    let meta = FrameMeta {
        frame_type,
        encoding: Encoding::Json,
        timestamp: vitalring_core::time::UnixNs(1_700_000_000_000_000_000),
    };
    let mut slot = vec![0u8; MAX_SLOT];
    vitalring_core::frame::encode_slot(7, meta, &payload, &mut slot).expect("payload fits");
    std::thread::Builder::new()
        .name("small-stack reader".into())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let view = SlotView::new_checked(&slot, Some(7)).expect("slot and CRC are valid");
            payload::decode(view.meta.frame_type, view.meta.encoding, view.payload)
        })
        .expect("spawn")
        .join()
        .expect("decoding must not panic")
}

#[test]
fn deep_nesting_in_a_max_size_slot_is_rejected_not_a_stack_overflow() {
    let vitals =
        nested_under_unknown_key(r#""hr":72,"spo2":98,"rr":16"#, ATTACK_LEVELS, MAX_PAYLOAD);
    let got = decode_in_max_slot_on_small_stack(FrameType::Vitals, vitals);
    assert!(
        matches!(got, Err(PayloadError::Json(JsonError::TooDeep { .. }))),
        "{got:?}"
    );
    // The whole payload one nest: as many levels as a maximum slot holds.
    let levels = (MAX_PAYLOAD - 64) / 2;
    let vitals = nested_under_unknown_key(r#""hr":72,"spo2":98,"rr":16"#, levels, MAX_PAYLOAD);
    let got = decode_in_max_slot_on_small_stack(FrameType::Vitals, vitals);
    assert!(
        matches!(got, Err(PayloadError::Json(JsonError::TooDeep { .. }))),
        "{got:?}"
    );
    let wave = nested_under_unknown_key(
        r#""ch":"pleth","fs":250,"first":0,"samples":[1,2,3]"#,
        ATTACK_LEVELS,
        MAX_PAYLOAD,
    );
    let got = decode_in_max_slot_on_small_stack(FrameType::Waveform, wave);
    assert!(
        matches!(got, Err(PayloadError::Json(JsonError::TooDeep { .. }))),
        "{got:?}"
    );
    // Objects nest the same way.
    let mut objects = br#"{"hr":72,"spo2":98,"rr":16,"x":"#.to_vec();
    for _ in 0..ATTACK_LEVELS {
        objects.extend_from_slice(br#"{"a":"#);
    }
    objects.push(b'1');
    objects.extend(std::iter::repeat_n(b'}', ATTACK_LEVELS + 1));
    let got = decode_in_max_slot_on_small_stack(FrameType::Vitals, objects);
    assert!(
        matches!(got, Err(PayloadError::Json(JsonError::TooDeep { .. }))),
        "{got:?}"
    );
}

#[test]
fn negative_zero_integers_are_refused() {
    // serde-json-core reads `-0` as the sample 0; serde_json (and JavaScript) as the float
    // -0.0, which serde_json then refuses as an i32: two readings, so no reading.
    let wave = br#"{"ch":"ecg_ii","fs":250,"first":1200,"samples":[12,-0,5]}"#;
    assert_eq!(
        payload::decode(FrameType::Waveform, Encoding::Json, wave),
        Err(PayloadError::Json(JsonError::NegativeZero { offset: 51 }))
    );
    let vitals = br#"{"hr":72,"spo2":98,"rr":16,"x":[-0]}"#;
    assert!(matches!(
        payload::decode(FrameType::Vitals, Encoding::Json, vitals),
        Err(PayloadError::Json(JsonError::NegativeZero { .. }))
    ));
}

#[test]
fn rejections_say_why_in_one_line() {
    let deep = payload::decode(
        FrameType::Vitals,
        Encoding::Json,
        br#"{"hr":72,"spo2":98,"rr":16,"x":[[[[[[[[[]]]]]]]]]}"#,
    )
    .unwrap_err();
    assert_eq!(
        deep.to_string(),
        "malformed json payload: nested deeper than 8 levels at byte 38"
    );
    let missing = payload::decode(FrameType::Vitals, Encoding::Json, br#"{"hr":72}"#).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "malformed json payload: does not match the record (CustomError)"
    );
}

#[test]
fn a_max_size_payload_within_the_depth_limit_still_decodes_on_a_small_stack() {
    let vitals =
        nested_under_unknown_key(r#""hr":72,"spo2":98,"rr":16"#, MAX_DEPTH - 1, MAX_PAYLOAD);
    match decode_in_max_slot_on_small_stack(FrameType::Vitals, vitals) {
        Ok(Record::Vitals(v)) => assert_eq!((v.hr_bpm, v.spo2_pct, v.rr_rpm), (72, 98, 16)),
        other => panic!("{other:?}"),
    }
    let one_too_deep =
        nested_under_unknown_key(r#""hr":72,"spo2":98,"rr":16"#, MAX_DEPTH, MAX_PAYLOAD);
    assert!(matches!(
        decode_in_max_slot_on_small_stack(FrameType::Vitals, one_too_deep),
        Err(PayloadError::Json(JsonError::TooDeep { .. }))
    ));
}

#[test]
fn an_escaped_key_cannot_hide_a_duplicate() {
    // Any standard JSON parser reads `"h\u0072"` as a second `hr` (400).
    let attack = br#"{"hr":72,"spo2":98,"rr":16,"h\u0072":400}"#;
    assert_eq!(
        payload::decode(FrameType::Vitals, Encoding::Json, attack),
        Err(PayloadError::Json(JsonError::EscapedKey { offset: 27 }))
    );
    let cases: [(FrameType, &[u8]); 6] = [
        // The escaped key first: the plain `hr` would look like the only one.
        (
            FrameType::Vitals,
            br#"{"h\u0072":400,"hr":72,"spo2":98,"rr":16}"#,
        ),
        // A required key only present escaped.
        (FrameType::Vitals, br#"{"hr":72,"spo\u0032":98,"rr":16}"#),
        (
            FrameType::Vitals,
            br#"{"hr":72,"spo2":98,"rr":16,"t\u0065mp":44}"#,
        ),
        // Simple escapes count as escapes too, and so do keys of unknown nested objects.
        (
            FrameType::Vitals,
            br#"{"hr":72,"spo2":98,"rr":16,"x":{"a\/b":1}}"#,
        ),
        (
            FrameType::Waveform,
            br#"{"ch":"pleth","fs":250,"first":0,"samples":[1],"f\u0073":9}"#,
        ),
        (
            FrameType::Waveform,
            br#"{"ch":"pleth","fs":250,"first":0,"samples":[1],"\u0073amples":[2]}"#,
        ),
    ];
    for (ft, bytes) in cases {
        let got = payload::decode(ft, Encoding::Json, bytes);
        assert!(
            matches!(got, Err(PayloadError::Json(JsonError::EscapedKey { .. }))),
            "{}: {got:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert_eq!(
        PayloadError::Json(JsonError::EscapedKey { offset: 27 }).to_string(),
        "malformed json payload: escaped object key at byte 27"
    );
    // Escapes in string values stay legal; unknown values are skipped.
    let ok = br#"{"hr":72,"spo2":98,"rr":16,"note":"\"quoted\" \u00e9\\"}"#;
    assert!(json::decode_vitals(ok).is_ok());
}

/// A JSON value tree: the shape proptest varies.
#[derive(Debug, Clone)]
enum Value {
    Scalar(String),
    Array(Vec<Value>),
    Object(Vec<(Key, Value)>),
}

/// An object key as written: plain, or with one character escaped.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    escaped: bool,
}

impl Value {
    /// Levels of arrays and objects (empty ones included), 0 for a scalar.
    fn depth(&self) -> usize {
        match self {
            Self::Scalar(_) => 0,
            Self::Array(items) => 1 + items.iter().map(Self::depth).max().unwrap_or(0),
            Self::Object(members) => 1 + members.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
        }
    }

    fn has_escaped_key(&self) -> bool {
        match self {
            Self::Scalar(_) => false,
            Self::Array(items) => items.iter().any(Self::has_escaped_key),
            Self::Object(members) => members
                .iter()
                .any(|(k, v)| k.escaped || v.has_escaped_key()),
        }
    }

    fn render(&self, ws: &str, out: &mut String) {
        match self {
            Self::Scalar(s) => out.push_str(s),
            Self::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ws);
                    v.render(ws, out);
                }
                out.push(']');
            }
            Self::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    k.render(out);
                    out.push_str(ws);
                    out.push(':');
                    v.render(ws, out);
                }
                out.push('}');
            }
        }
    }
}

impl Key {
    fn render(&self, out: &mut String) {
        out.push('"');
        for (i, c) in self.name.chars().enumerate() {
            if self.escaped && i == 0 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push(c);
            }
        }
        out.push('"');
    }
}

/// A JSON string with the escapes JSON allows (and needs).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-1e300f64..1e300).prop_map(|x| format!("{x:e}")),
        any::<String>().prop_map(|s| json_string(&s)),
    ]
    .prop_map(Value::Scalar)
}

/// Names that are none of the record's keys.
fn unknown_key() -> impl Strategy<Value = Key> {
    ("x[a-z_]{0,6}", prop::bool::weighted(0.1)).prop_map(|(name, escaped)| Key { name, escaped })
}

/// A tree of arbitrary shape, then wrapped in a spine of up to 40 containers, so that depths
/// on both sides of the limit are common.
fn nested() -> impl Strategy<Value = Value> {
    let tree = scalar().prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((unknown_key(), inner), 0..4).prop_map(Value::Object),
        ]
    });
    (tree, prop::collection::vec(any::<bool>(), 0..40)).prop_map(|(mut v, spine)| {
        for object in spine {
            v = if object {
                Value::Object(vec![(
                    Key {
                        name: "k".into(),
                        escaped: false,
                    },
                    v,
                )])
            } else {
                Value::Array(vec![Value::Scalar("0".into()), v])
            };
        }
        v
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 3 } else { 512 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Nested values under unknown keys, anywhere among the known ones: decoding never
    /// panics; a payload deeper than the limit (or with an escaped key) is never delivered,
    /// and every other one is delivered with the known values intact.
    #[test]
    fn nesting_under_unknown_keys_is_bounded(
        extras in prop::collection::vec((unknown_key(), nested()), 1..4),
        at in 0usize..4,
        wide in any::<bool>(),
        waveform in any::<bool>(),
    ) {
        let ws = if wide { " \n\t" } else { "" };
        let known: &[&str] = if waveform {
            &[r#""ch":"resp""#, r#""fs":25"#, r#""first":9"#, r#""samples":[-3,4]"#]
        } else {
            &[r#""hr":72"#, r#""spo2":98"#, r#""rr":16"#]
        };
        let mut members: Vec<String> = known.iter().map(|s| s.to_string()).collect();
        for (i, (k, v)) in extras.iter().enumerate() {
            let mut m = String::new();
            k.render(&mut m);
            m.push(':');
            v.render(ws, &mut m);
            members.insert((at + i) % (members.len() + 1), m);
        }
        let text = format!("{ws}{{{}}}{ws}", members.join(","));
        let depth = 1 + extras.iter().map(|(_, v)| v.depth()).max().unwrap_or(0);
        let escaped = extras.iter().any(|(k, v)| k.escaped || v.has_escaped_key());
        let ft = if waveform { FrameType::Waveform } else { FrameType::Vitals };
        let got = payload::decode(ft, Encoding::Json, text.as_bytes());
        if depth > MAX_DEPTH || escaped {
            prop_assert!(
                matches!(
                    got,
                    Err(PayloadError::Json(JsonError::TooDeep { .. } | JsonError::EscapedKey { .. }))
                ),
                "depth {} escaped {}: {:?}\n{}", depth, escaped, got, text
            );
        } else {
            match got {
                Ok(Record::Vitals(v)) if !waveform => {
                    prop_assert_eq!((v.hr_bpm, v.spo2_pct, v.rr_rpm), (72, 98, 16));
                }
                Ok(Record::Waveform(w)) if waveform => {
                    prop_assert_eq!((w.fs_hz, w.first, w.samples.as_slice()), (25, 9, &[-3, 4][..]));
                }
                other => prop_assert!(false, "depth {}: {:?}\n{}", depth, other, text),
            }
        }
    }
}
