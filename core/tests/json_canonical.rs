//! The canonical JSON vitals fast path against the general decoder and encoder
//! (`serde-json-core`): same bytes out, same record in, and never a record the general decoder
//! would not give.

use proptest::prelude::*;
use vitalring_core::payload::json::{self, canonical};
use vitalring_core::vitals::{Nibp, VitalsRecord};

fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 3,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    } else {
        ProptestConfig::with_cases(2048)
    }
}

/// Any field values, in range or not, and any temperature bits (NaN and infinities included).
fn any_vitals() -> impl Strategy<Value = VitalsRecord> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        proptest::option::of((any::<u16>(), any::<u16>(), any::<u16>())),
        proptest::option::of(prop_oneof![
            (25.0f32..=45.0).boxed(),
            any::<u32>().prop_map(f32::from_bits).boxed(),
        ]),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(hr, spo2, rr, nibp, temp_c, pr)| VitalsRecord {
            hr_bpm: hr,
            spo2_pct: spo2,
            rr_rpm: rr,
            nibp: nibp.map(|(s, d, m)| Nibp {
                systolic_mmhg: s,
                diastolic_mmhg: d,
                mean_mmhg: m,
            }),
            temp_c,
            pulse_rate_bpm: pr,
        })
}

fn general(v: &VitalsRecord) -> Vec<u8> {
    let mut out = [0u8; 512];
    let n = json::encode_vitals_general(v, &mut out).unwrap();
    out[..n].to_vec()
}

/// Compares two decode results, with NaN temperatures equal to each other.
fn same(a: &VitalsRecord, b: &VitalsRecord) -> bool {
    let t = |v: &VitalsRecord| {
        v.temp_c.map(|t| {
            if t.is_nan() {
                f32::NAN.to_bits()
            } else {
                t.to_bits()
            }
        })
    };
    VitalsRecord { temp_c: None, ..*a } == VitalsRecord { temp_c: None, ..*b } && t(a) == t(b)
}

proptest! {
    #![proptest_config(config())]

    /// The fast encoder writes exactly the general encoder's bytes (or declines: non-finite
    /// temperatures), and the fast decoder reads them back to the same record the general
    /// decoder reads.
    #[test]
    fn the_fast_path_writes_and_reads_what_serde_json_core_does(v in any_vitals()) {
        let expected = general(&v);
        let mut out = [0u8; 512];
        match canonical::encode_vitals(&v, &mut out) {
            Some(n) => prop_assert_eq!(&out[..n], &expected[..]),
            None => prop_assert!(v.temp_c.is_some_and(|t| !t.is_finite())),
        }
        let slow = json::decode_vitals_general(&expected).unwrap();
        match canonical::decode_vitals(&expected) {
            Some(fast) => prop_assert!(same(&fast, &slow), "{:?} vs {:?}", fast, slow),
            // Only the writer's `null` for a non-finite temperature, or a temperature ryu
            // prints with an exponent, leaves the canonical form.
            None => {
                let text = std::str::from_utf8(&expected).unwrap();
                prop_assert!(text.contains("null") || text.contains('e'), "{}", text);
            }
        }
        prop_assert!(same(&json::decode_vitals(&expected).unwrap(), &slow));
    }

    /// Whatever edit of a canonical payload the fast decoder still accepts, the general decoder
    /// accepts with the same record.
    #[test]
    fn an_edited_payload_the_fast_path_accepts_reads_the_same_generally(
        v in any_vitals(), at in any::<prop::sample::Index>(), byte in any::<u8>(),
        insert in any::<bool>(),
    ) {
        let mut p = general(&v);
        let i = at.index(p.len() + 1);
        if insert { p.insert(i, byte) } else if i < p.len() { p[i] = byte } else { p.truncate(i.saturating_sub(1)) }
        if let Some(fast) = canonical::decode_vitals(&p) {
            let slow = json::decode_vitals_general(&p);
            prop_assert!(slow.as_ref().is_ok_and(|s| same(&fast, s)), "{:?}: {:?} vs {:?}",
                String::from_utf8_lossy(&p), fast, slow);
        }
    }
}

/// Forms the general decoder treats differently (or rejects) are never taken by the fast path.
#[test]
fn non_canonical_forms_go_to_the_general_decoder() {
    for p in [
        &br#"{"hr":072,"spo2":98,"rr":14}"#[..],
        br#"{"hr":-0,"spo2":98,"rr":14}"#,
        br#"{"hr":70000,"spo2":98,"rr":14}"#,
        br#"{"hr":72,"spo2":256,"rr":14}"#,
        br#"{"hr":72, "spo2":98,"rr":14}"#,
        br#"{"hr":72,"spo2":98,"rr":14} "#,
        br#"{"hr":72,"spo2":98,"rr":14,"temp":36}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"temp":036.5}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"temp":3.6e1}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"temp":-36.5}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"temp":null}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"nibp_sys":120}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"pr":1,"pr":2}"#,
        br#"{"hr":72,"spo2":98,"rr":14,"x":1}"#,
        br#"{"spo2":98,"hr":72,"rr":14}"#,
        br#"{"hr":72,"spo2":98,"rr":14"#,
    ] {
        assert_eq!(
            canonical::decode_vitals(p),
            None,
            "{}",
            String::from_utf8_lossy(p)
        );
    }
    let p = br#"{"hr":72,"spo2":98,"rr":14,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"temp":36.6,"pr":71}"#;
    let v = canonical::decode_vitals(p).unwrap();
    assert_eq!(Ok(v), json::decode_vitals_general(p));
    assert_eq!(v.temp_c, Some(36.6));
}

/// The decimal fast path reads every short decimal exactly as `f32::from_str` (the general
/// decoder's parse) does: all of them up to three fraction digits, and a sample beyond.
#[test]
fn short_decimals_read_as_from_str_reads_them() {
    let step = if cfg!(miri) { 9_973 } else { 1 };
    for m in (0u32..1_000_000).step_by(step) {
        for frac in 1..=3usize {
            let digits = format!("{m:0width$}", width = frac + 1);
            let (int, f) = digits.split_at(digits.len() - frac);
            let text = format!("{int}.{f}");
            let p = format!(r#"{{"hr":72,"spo2":98,"rr":14,"temp":{text}}}"#);
            let fast = canonical::decode_vitals(p.as_bytes())
                .unwrap()
                .temp_c
                .unwrap();
            assert_eq!(
                fast.to_bits(),
                text.parse::<f32>().unwrap().to_bits(),
                "{text}"
            );
        }
    }
}
