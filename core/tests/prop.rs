//! Property tests of the codecs and the slot format, plus golden bytes of one frame.
//!
//! Under Miri the case count drops to a handful (Miri runs every case ~1000x slower).

use core::sync::atomic::AtomicU32;

use proptest::prelude::*;
use vitalring_core::frame::{self, committed_word, FrameMeta, SlotError, SlotView};
use vitalring_core::layout::{Encoding, FrameType, HEADER_SIZE, SLOT_OVERHEAD};
use vitalring_core::payload::{self, EncodeError, PayloadError, Record, MAX_ENCODED_LEN};
use vitalring_core::region::{Access, RegionRef, SharedHeader};
use vitalring_core::slot::{Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::vitals::{Channel, Field, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};
use vitalring_core::Geometry;

fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 3,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    } else {
        ProptestConfig::with_cases(512)
    }
}

fn nibp() -> impl Strategy<Value = Nibp> {
    (0u16..=300, 0u16..=300, 0u16..=300).prop_map(|(s, d, m)| Nibp {
        systolic_mmhg: s,
        diastolic_mmhg: d,
        mean_mmhg: m,
    })
}

/// Valid vitals; `temp` makes the temperature (`None` or a value in range).
fn vitals_with(temp: BoxedStrategy<Option<f32>>) -> impl Strategy<Value = VitalsRecord> {
    (
        0u16..=300,
        0u8..=100,
        0u8..=150,
        proptest::option::of(nibp()),
        temp,
        proptest::option::of(0u16..=300),
    )
        .prop_map(|(hr, spo2, rr, nibp, temp_c, pr)| VitalsRecord {
            hr_bpm: hr,
            spo2_pct: spo2,
            rr_rpm: rr,
            nibp,
            temp_c,
            pulse_rate_bpm: pr,
        })
}

/// Any f32 in the temperature range.
fn any_temp() -> BoxedStrategy<Option<f32>> {
    proptest::option::of(25.0f32..=45.0).boxed()
}

/// Temperatures representable in 0.01 °C (what the binary encoding carries).
fn centi_temp() -> BoxedStrategy<Option<f32>> {
    proptest::option::of((2500i16..=4500).prop_map(|c| f32::from(c) / 100.0)).boxed()
}

fn channel() -> impl Strategy<Value = Channel> {
    prop::sample::select(Channel::ALL.to_vec())
}

fn chunk() -> impl Strategy<Value = WaveformChunk> {
    (
        channel(),
        1u16..=2000,
        any::<u64>(),
        prop::collection::vec(any::<i32>(), 1..=MAX_SAMPLES),
    )
        .prop_map(|(channel, fs_hz, first, s)| WaveformChunk {
            channel,
            fs_hz,
            first,
            samples: heapless::Vec::from_slice(&s).unwrap(),
        })
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::Json), Just(Encoding::Binary)]
}

fn frame_type() -> impl Strategy<Value = FrameType> {
    prop_oneof![
        Just(FrameType::Vitals),
        Just(FrameType::Waveform),
        Just(FrameType::Heartbeat)
    ]
}

fn round_trip(record: &Record, enc: Encoding) -> Result<Record, PayloadError> {
    let mut buf = [0u8; MAX_ENCODED_LEN];
    let len = payload::encode(record, enc, &mut buf).expect("valid records encode");
    payload::decode(record.frame_type(), enc, &buf[..len])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn json_vitals_round_trip_exactly(v in vitals_with(any_temp())) {
        prop_assert_eq!(round_trip(&Record::Vitals(v), Encoding::Json), Ok(Record::Vitals(v)));
    }

    #[test]
    fn binary_vitals_round_trip_for_centi_degree_temperatures(v in vitals_with(centi_temp())) {
        prop_assert_eq!(round_trip(&Record::Vitals(v), Encoding::Binary), Ok(Record::Vitals(v)));
    }

    #[test]
    fn binary_vitals_quantise_any_temperature_to_the_nearest_centi_degree(
        v in vitals_with(any_temp())
    ) {
        let Ok(Record::Vitals(back)) = round_trip(&Record::Vitals(v), Encoding::Binary) else {
            return Err(TestCaseError::fail("decode failed"));
        };
        prop_assert_eq!(back.temp_c.is_some(), v.temp_c.is_some());
        if let (Some(a), Some(b)) = (v.temp_c, back.temp_c) {
            prop_assert!((a - b).abs() <= 0.005 + 1e-4, "{} -> {}", a, b);
        }
        prop_assert_eq!(VitalsRecord { temp_c: None, ..back }, VitalsRecord { temp_c: None, ..v });
    }

    #[test]
    fn waveforms_round_trip_in_both_encodings(c in chunk(), enc in encoding()) {
        prop_assert_eq!(round_trip(&Record::Waveform(c.clone()), enc), Ok(Record::Waveform(c)));
    }

    #[test]
    fn out_of_range_records_are_never_encoded(
        v in vitals_with(any_temp()), hr in 301u16.., enc in encoding()
    ) {
        let bad = Record::Vitals(VitalsRecord { hr_bpm: hr, ..v });
        let mut buf = [0u8; MAX_ENCODED_LEN];
        prop_assert_eq!(payload::encode(&bad, enc, &mut buf), Err(EncodeError::Invalid(Field::HeartRate)));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics_and_only_yields_valid_records(
        bytes in prop::collection::vec(any::<u8>(), 0..300), ft in frame_type(), enc in encoding()
    ) {
        match payload::decode(ft, enc, &bytes) {
            Ok(Record::Vitals(v)) => prop_assert_eq!(v.validate(), Ok(())),
            Ok(Record::Waveform(w)) => prop_assert_eq!(w.validate(), Ok(())),
            Ok(Record::Heartbeat) => prop_assert_eq!(ft, FrameType::Heartbeat),
            Err(_) => {}
        }
    }

    #[test]
    fn json_with_a_value_out_of_range_is_rejected_as_range(
        v in vitals_with(any_temp()), spo2 in 101u8..
    ) {
        let json = format!(r#"{{"hr":{},"spo2":{},"rr":{}}}"#, v.hr_bpm, spo2, v.rr_rpm);
        prop_assert_eq!(
            payload::decode(FrameType::Vitals, Encoding::Json, json.as_bytes()),
            Err(PayloadError::Range(Field::Spo2))
        );
    }

    /// A flip anywhere but the tail (past `dataSize`, before the CRC) is rejected; a flip in
    /// the tail is never read, so the frame is still the same frame (same payload bytes).
    #[test]
    fn a_committed_slot_with_any_single_bit_flipped_is_never_a_wrong_value(
        v in vitals_with(centi_temp()), enc in encoding(), index in any::<u64>(),
        size_shift in 0u32..3, pos in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        // 256 bytes and up: the longest JSON vitals payload (~100 bytes) fits every size.
        let f = 256usize << size_shift;
        let slot = encode(&Record::Vitals(v), enc, index, f);
        let view = SlotView::new_checked(&slot, Some(index)).expect("encoded slot is valid");
        prop_assert_eq!(payload::decode(view.meta.frame_type, enc, view.payload), Ok(Record::Vitals(v)));
        let mut bad = slot.clone();
        let at = pos.index(f);
        bad[at] ^= 1 << bit;
        if in_tail(&slot, at) {
            let got = SlotView::new_checked(&bad, Some(index)).expect("a tail flip changes no value");
            prop_assert_eq!(got.payload, view.payload);
        } else {
            prop_assert!(SlotView::new_checked(&bad, Some(index)).is_err(), "flip at {} accepted", at);
            // Without an expected index, commit and sequence number must still agree.
            prop_assert!(SlotView::new_checked(&bad, None).is_err());
        }
    }

    /// The one single-bit fault the CRC catches only with probability 1 - 2^-32 since readers
    /// stopped reading the tail: a flip that lowers `dataSize` (the dropped payload bytes then
    /// count as zero). Here the CRC is made to miss it on purpose (recomputed over the
    /// shortened frame): every record type the product defines still never decodes to a
    /// different value — a vitals or waveform payload cut short is rejected by its decoder.
    #[test]
    fn a_lowered_data_size_that_the_crc_misses_never_decodes_to_another_record(
        v in vitals_with(centi_temp()), c in chunk(), waveform in any::<bool>(),
        enc in encoding(), index in any::<u64>(), pick in any::<prop::sample::Index>(),
    ) {
        let record = if waveform { Record::Waveform(c) } else { Record::Vitals(v) };
        let slot = encode(&record, enc, index, 4096);
        let len = u32::from_le_bytes(slot[20..24].try_into().unwrap());
        // One of the bits set in `dataSize` (every payload here is at least 1 byte).
        let set: Vec<u32> = (0..32).filter(|b| len & (1 << b) != 0).collect();
        let bit = set[pick.index(set.len())];
        let short = (len & !(1 << bit)) as usize;
        let view = SlotView::new_checked(&slot, Some(index)).unwrap();
        let mut buf = [0u8; MAX_ENCODED_LEN];
        buf[..short].copy_from_slice(&view.payload[..short]);
        let forged = {
            let mut b = vec![0u8; 4096];
            frame::encode_slot(index, view.meta, &buf[..short], &mut b).unwrap();
            b
        };
        let got = SlotView::new_checked(&forged, Some(index)).expect("the CRC was made to match");
        if let Ok(decoded) = payload::decode(got.meta.frame_type, enc, got.payload) {
            prop_assert_eq!(decoded, record, "{} bytes cut to {}", len, short);
        }
    }

    #[test]
    fn a_committed_slot_with_any_byte_changed_is_never_a_wrong_value(
        c in chunk(), enc in encoding(), index in any::<u64>(),
        pos in any::<prop::sample::Index>(), xor in 1u8..,
    ) {
        let f = 2048usize; // a 128-sample JSON chunk needs up to 1700 bytes
        let slot = encode(&Record::Waveform(c), enc, index, f);
        let mut bad = slot.clone();
        let at = pos.index(f);
        bad[at] ^= xor;
        let got = SlotView::new_checked(&bad, Some(index));
        if in_tail(&slot, at) {
            let original = SlotView::new_checked(&slot, Some(index)).unwrap();
            prop_assert_eq!(got.map(|v| v.payload), Ok(original.payload));
        } else {
            prop_assert!(
                matches!(got, Err(SlotError::Rejected(_) | SlotError::NotCommitted(_))),
                "byte {} ^ {:#x}: {:?}", at, xor, got
            );
        }
    }

    #[test]
    fn slot_check_of_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..600), index in proptest::option::of(any::<u64>())
    ) {
        if let Ok(view) = SlotView::new_checked(&bytes, index) {
            // Whatever passes has a consistent commit word and sequence number.
            prop_assert_eq!(view.index as u32, u32::from_le_bytes(bytes[16..20].try_into().unwrap()));
            prop_assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), committed_word(view.index));
        }
    }
}

/// Whether byte `at` of the valid slot `slot` lies in its tail: past the payload, before the CRC.
fn in_tail(slot: &[u8], at: usize) -> bool {
    let len = u32::from_le_bytes(slot[20..24].try_into().unwrap()) as usize;
    (24 + len..slot.len() - 8).contains(&at)
}

fn encode(record: &Record, enc: Encoding, index: u64, f: usize) -> Vec<u8> {
    let mut buf = [0u8; MAX_ENCODED_LEN];
    let len = payload::encode(record, enc, &mut buf).unwrap();
    let mut slot = vec![0u8; f];
    let meta = FrameMeta {
        frame_type: record.frame_type(),
        encoding: enc,
        timestamp: UnixNs(index.wrapping_mul(1_000_003)),
    };
    frame::encode_slot(index, meta, &buf[..len], &mut slot).unwrap();
    slot
}

/// A vitals frame built byte by byte from the wire-format table, with an independent CRC.
fn golden_vitals_frame(index: u64, timestamp_ns: u64, f: usize) -> Vec<u8> {
    let json = br#"{"hr":72,"spo2":98,"rr":14,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"pr":71}"#;
    let mut b = vec![0u8; f];
    b[0] = 1; // type: vitals
    b[1] = 0; // encoding: JSON
    let seq31 = (index & 0x7FFF_FFFF) as u32;
    b[4..8].copy_from_slice(&((seq31 << 1) | 1).to_le_bytes()); // commit
    b[8..16].copy_from_slice(&timestamp_ns.to_le_bytes());
    b[16..20].copy_from_slice(&(index as u32).to_le_bytes());
    b[20..24].copy_from_slice(&(json.len() as u32).to_le_bytes());
    b[24..24 + json.len()].copy_from_slice(json);
    let crc = crc32fast::hash(&b[..f - 4]);
    b[f - 8..f - 4].copy_from_slice(&crc.to_le_bytes());
    b
}

fn golden_record() -> VitalsRecord {
    VitalsRecord {
        hr_bpm: 72,
        spo2_pct: 98,
        rr_rpm: 14,
        nibp: Some(Nibp {
            systolic_mmhg: 120,
            diastolic_mmhg: 80,
            mean_mmhg: 93,
        }),
        temp_c: None,
        pulse_rate_bpm: Some(71),
    }
}

#[test]
fn golden_bytes_of_one_vitals_frame() {
    const F: usize = 256;
    let index = 0x8000_0005u64; // seq31 wraps: commit uses the low 31 bits, sequence 32
    let ts = 1_700_000_000_123_456_789u64;
    let golden = golden_vitals_frame(index, ts, F);
    // Pin a few bytes in the clear, so a change to the table shows up here too.
    assert_eq!(&golden[..8], &[1, 0, 0, 0, 0x0B, 0, 0, 0]);
    assert_eq!(&golden[16..24], &[5, 0, 0, 0x80, 78, 0, 0, 0]);
    assert_eq!(&golden[F - 4..], &[0, 0, 0, 0]);

    // The encoder writes exactly these bytes...
    let mut buf = [0u8; MAX_ENCODED_LEN];
    let rec = Record::Vitals(golden_record());
    let len = payload::encode(&rec, Encoding::Json, &mut buf).unwrap();
    let meta = FrameMeta {
        frame_type: FrameType::Vitals,
        encoding: Encoding::Json,
        timestamp: UnixNs(ts),
    };
    let mut encoded = vec![0u8; F];
    frame::encode_slot(index, meta, &buf[..len], &mut encoded).unwrap();
    assert_eq!(encoded, golden);
    // ... the byte-slot checker accepts them ...
    let view = SlotView::new_checked(&golden, Some(index)).unwrap();
    assert_eq!(
        payload::decode(view.meta.frame_type, view.meta.encoding, view.payload),
        Ok(rec.clone())
    );
    // ... and the live writer leaves the same bytes in shared memory.
    let g = Geometry::new(F as u32, 1).unwrap();
    let header = SharedHeader::zeroed();
    let words: Vec<AtomicU32> = (0..F / 4).map(|_| AtomicU32::new(0)).collect();
    let region = RegionRef::from_parts(&header, &words, Access::ReadWrite);
    let mut w = Writer::create(
        region,
        WriterConfig {
            geometry: g,
            epoch: 1,
            created: UnixNs(0),
            now: UnixMs(0),
        },
    )
    .unwrap();
    // Only index `index` matters; with one slot, every frame lands in it. Skip ahead by
    // publishing heartbeats is too slow for 2^31 frames, so compare at a small index and
    // rebuild the golden frame for it.
    for _ in 0..5 {
        w.publish_heartbeat(UnixNs(0), UnixMs(0));
    }
    let i = w
        .publish_record(&rec, Encoding::Json, UnixNs(ts), UnixMs(1))
        .unwrap();
    assert_eq!(i, 5);
    let live: Vec<u8> = (0..F)
        .step_by(4)
        .flat_map(|o| region.peek_word(HEADER_SIZE + o).unwrap().to_le_bytes())
        .collect();
    assert_eq!(live, golden_vitals_frame(5, ts, F));
    assert_eq!(F - SLOT_OVERHEAD, g.payload_capacity());
}

/// The JSON rules stated in `payload::json`'s module docs, one input each.
#[test]
fn json_rules_from_the_module_docs() {
    let vitals = |s: &str| payload::decode(FrameType::Vitals, Encoding::Json, s.as_bytes());
    let ok = |s: &str| vitals(s).is_ok();
    assert!(ok(r#"{"hr":72,"spo2":98,"rr":14}"#));
    assert!(ok(r#"{"rr":14,"spo2":98,"hr":72}"#), "key order is free");
    assert!(
        ok(" \n{\"hr\":72,\"spo2\":98,\"rr\":14}\t\r\n"),
        "surrounding whitespace"
    );
    assert!(
        ok(r#"{"hr":72,"spo2":98,"rr":14,"future":{"a":[1,"x"]}}"#),
        "unknown keys ignored"
    );
    assert!(
        !ok(r#"{"hr":72,"hr":73,"spo2":98,"rr":14}"#),
        "duplicate keys"
    );
    assert!(!ok(r#"{"hr":72,"spo2":98}"#), "missing required key");
    assert!(!ok(r#"{"hr":"72","spo2":98,"rr":14}"#), "wrong type");
    assert!(!ok(r#"{"hr":-1,"spo2":98,"rr":14}"#), "negative integer");
    assert!(
        !ok(r#"{"hr":72.5,"spo2":98,"rr":14}"#),
        "fractional integer"
    );
    assert!(!ok(r#"{"hr":72,"spo2":98,"rr":14} {}"#), "trailing value");
    assert!(
        !ok(r#"{"hr":72,"spo2":98,"rr":14,"nibp_sys":120,"nibp_dia":80}"#),
        "partial nibp"
    );
    assert_eq!(
        vitals(r#"{"hr":72,"spo2":98,"rr":14,"temp":37}"#),
        Ok(Record::Vitals(VitalsRecord {
            hr_bpm: 72,
            spo2_pct: 98,
            rr_rpm: 14,
            temp_c: Some(37.0),
            ..VitalsRecord::default()
        })),
        "an integer is a valid temperature"
    );
    let wave = |s: &str| payload::decode(FrameType::Waveform, Encoding::Json, s.as_bytes());
    assert!(wave(r#"{"ch":"ecg_ii","fs":250,"first":0,"samples":[1,-2]}"#).is_ok());
    let too_many = format!(
        r#"{{"ch":"pleth","fs":100,"first":0,"samples":[{}]}}"#,
        vec!["1"; MAX_SAMPLES + 1].join(",")
    );
    assert!(wave(&too_many).is_err(), "more than 128 samples");
    assert!(wave(r#"{"ch":"ECG_II","fs":250,"first":0,"samples":[1]}"#).is_err());
}
