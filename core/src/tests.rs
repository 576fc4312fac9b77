//! Unit tests of the slot protocol and codecs over an in-process region.

extern crate std;

use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use crate::atomics::AtomicU32;
use crate::frame::{self, FrameMeta, RejectReason, SlotError, SlotView};
use crate::layout::{Encoding, FrameType, Geometry, HeaderError, HEADER_SIZE};
use crate::payload::{self, PayloadError, Record};
use crate::region::{Access, RegionRef, SharedHeader};
use crate::ring::Ring;
use crate::session::{Session, SessionConfig};
use crate::slot::{DropCause, LapPolicy, Poll, Reader, Start, Writer, WriterConfig};
use crate::source::{SensorError, SensorEvent};
use crate::time::{MonoNs, UnixMs, UnixNs};
use crate::vitals::{Channel, Field, Nibp, VitalsRecord, WaveformChunk};

/// An in-process region leaked for the test's duration (tests are short-lived processes).
pub(crate) fn region(geometry: Geometry) -> RegionRef<'static> {
    let header: &'static SharedHeader = Box::leak(Box::new(SharedHeader::zeroed()));
    let words = (geometry.region_len() - HEADER_SIZE) / 4;
    let slots: &'static [AtomicU32] = Box::leak(
        (0..words)
            .map(|_| AtomicU32::new(0))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    RegionRef::from_parts(header, slots, Access::ReadWrite)
}

pub(crate) fn writer(geometry: Geometry) -> Writer<RegionRef<'static>> {
    let config = WriterConfig {
        geometry,
        epoch: 0xE90C,
        created: UnixNs(1),
        now: UnixMs(1000),
    };
    Writer::create(region(geometry), config).unwrap()
}

fn reader(
    w: &Writer<RegionRef<'static>>,
    policy: LapPolicy,
    start: Start,
) -> Reader<RegionRef<'static>, Vec<u8>> {
    let cap = w.geometry().payload_capacity();
    Reader::attach(
        Ring::new_checked(*w.region()).unwrap(),
        vec![0u8; cap],
        policy,
        start,
    )
    .unwrap()
}

pub(crate) fn session(w: &Writer<RegionRef<'static>>) -> Session<RegionRef<'static>, Vec<u8>> {
    let cap = w.geometry().payload_capacity();
    let ring = Ring::new_checked(*w.region()).unwrap();
    Session::new(ring, vec![0u8; cap], SessionConfig::default(), MonoNs(0)).unwrap()
}

pub(crate) fn vitals(hr: u16) -> VitalsRecord {
    VitalsRecord {
        hr_bpm: hr,
        spo2_pct: 97,
        rr_rpm: 16,
        nibp: Some(Nibp {
            systolic_mmhg: 118,
            diastolic_mmhg: 76,
            mean_mmhg: 90,
        }),
        temp_c: Some(36.85),
        pulse_rate_bpm: Some(hr),
    }
}

fn chunk(first: u64) -> WaveformChunk {
    let mut samples = heapless::Vec::new();
    for i in 0..10 {
        samples.push(i * 100 - 450).unwrap();
    }
    WaveformChunk {
        channel: Channel::EcgII,
        fs_hz: 250,
        first,
        samples,
    }
}

fn delivered(p: Poll) -> (u64, Record) {
    match p {
        Poll::Frame(v) => (
            v.index,
            payload::decode(v.meta.frame_type, v.meta.encoding, v.payload).unwrap(),
        ),
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn round_trip_both_encodings_and_all_types() {
    let mut w = writer(Geometry::new(512, 8).unwrap());
    let mut r = reader(&w, LapPolicy::Latest, Start::Next);
    assert_eq!(r.poll(), Poll::Empty);
    for enc in [Encoding::Json, Encoding::Binary] {
        let rec = Record::Vitals(vitals(72));
        let i = w
            .publish_record(&rec, enc, UnixNs(5_000), UnixMs(1001))
            .unwrap();
        let (idx, got) = delivered(r.poll());
        assert_eq!(idx, i);
        match (enc, got) {
            (Encoding::Json, g) => assert_eq!(g, rec),
            // Binary carries temperature in 0.01 °C.
            (Encoding::Binary, Record::Vitals(v)) => {
                assert_eq!(v.temp_c, Some(36.85));
                assert_eq!(v.hr_bpm, 72);
            }
            (_, g) => panic!("{g:?}"),
        }
        let wave = Record::Waveform(chunk(40));
        w.publish_record(&wave, enc, UnixNs(6_000), UnixMs(1002))
            .unwrap();
        assert_eq!(delivered(r.poll()).1, wave);
    }
    w.publish_heartbeat(UnixNs(7_000), UnixMs(1003));
    assert_eq!(delivered(r.poll()).1, Record::Heartbeat);
    assert_eq!(r.poll(), Poll::Empty);
    assert_eq!(r.counters().delivered, 5);
    assert_eq!(r.counters().accounted(), r.moved_past());
    assert_eq!(r.heartbeat().0, 1003);
}

#[test]
fn lapping_latest_jumps_to_newest_with_exact_drop_count() {
    let mut w = writer(Geometry::new(128, 4).unwrap());
    let mut r = reader(&w, LapPolicy::Latest, Start::Next);
    for i in 0..10u16 {
        w.publish_record(
            &Record::Vitals(vitals(60 + i)),
            Encoding::Binary,
            UnixNs(0),
            UnixMs(0),
        )
        .unwrap();
    }
    assert_eq!(
        r.poll(),
        Poll::Dropped {
            first: 0,
            count: 9,
            cause: DropCause::Lapped
        }
    );
    let (idx, rec) = delivered(r.poll());
    assert_eq!(idx, 9);
    assert_eq!(
        rec,
        Record::Vitals(VitalsRecord {
            temp_c: Some(36.85),
            ..vitals(69)
        })
    );
    assert_eq!(r.poll(), Poll::Empty);
    assert_eq!(r.counters().dropped_lapped, 9);
    assert_eq!(r.counters().accounted(), 10);
}

#[test]
fn lapping_oldest_keeps_every_frame_still_held() {
    let mut w = writer(Geometry::new(128, 4).unwrap());
    let mut r = reader(&w, LapPolicy::Oldest, Start::Next);
    for i in 0..10u16 {
        w.publish_record(
            &Record::Vitals(vitals(60 + i)),
            Encoding::Binary,
            UnixNs(0),
            UnixMs(0),
        )
        .unwrap();
    }
    assert_eq!(
        r.poll(),
        Poll::Dropped {
            first: 0,
            count: 6,
            cause: DropCause::Lapped
        }
    );
    let got: Vec<u64> = (0..4).map(|_| delivered(r.poll()).0).collect();
    assert_eq!(got, [6, 7, 8, 9]);
    assert_eq!(r.counters().accounted(), 10);
}

#[test]
fn start_positions() {
    let mut w = writer(Geometry::new(128, 4).unwrap());
    for _ in 0..6 {
        w.publish_heartbeat(UnixNs(0), UnixMs(0));
    }
    assert_eq!(reader(&w, LapPolicy::Latest, Start::Next).position(), 6);
    assert_eq!(reader(&w, LapPolicy::Latest, Start::Latest).position(), 5);
    assert_eq!(reader(&w, LapPolicy::Latest, Start::Oldest).position(), 2);
}

#[test]
fn a_slot_being_rewritten_is_dropped_not_delivered() {
    let g = Geometry::new(128, 4).unwrap();
    let mut w = writer(g);
    let mut r = reader(&w, LapPolicy::Latest, Start::Next);
    w.publish_record(
        &Record::Vitals(vitals(70)),
        Encoding::Binary,
        UnixNs(0),
        UnixMs(0),
    )
    .unwrap();
    // The writer starts frame 4 in slot 0 (same slot as frame 0) and stops half-way.
    let commit_offset = g.slot_offset(0) + 4;
    w.region()
        .poke_word(commit_offset, frame::writing_word(4))
        .unwrap();
    assert_eq!(
        r.poll(),
        Poll::Dropped {
            first: 0,
            count: 1,
            cause: DropCause::Overwritten
        }
    );
    assert_eq!(r.counters().dropped_overwritten, 1);
    assert_eq!(r.counters().accounted(), 1);
}

/// No single-bit change of a committed slot is ever delivered as a different value: a flip in
/// the header, the payload, the CRC or the padding is rejected; a flip in the tail (past
/// `dataSize`, before the CRC) is never read, so the frame is delivered with exactly the
/// record that was published (the tail carries no value; see `docs/wire-format.md`).
#[test]
fn no_single_bit_flip_of_a_committed_slot_is_delivered_as_a_wrong_value() {
    let g = Geometry::new(128, 2).unwrap();
    let f = g.frame_size() as usize;
    for enc in [Encoding::Json, Encoding::Binary] {
        let rec = if enc == Encoding::Json {
            Record::Vitals(VitalsRecord {
                nibp: None,
                temp_c: None,
                pulse_rate_bpm: None,
                ..vitals(72)
            })
        } else {
            Record::Vitals(vitals(72))
        };
        let mut buf = [0u8; crate::payload::MAX_ENCODED_LEN];
        let len = crate::payload::encode(&rec, enc, &mut buf).unwrap();
        let tail = crate::layout::SLOT_HEADER_SIZE + len..f - 8;
        assert!(!tail.is_empty(), "the test needs a tail to flip");
        let (mut rejected, mut harmless) = (0, 0);
        for byte in 0..f {
            for bit in 0..8u8 {
                let mut w = writer(g);
                let mut r = reader(&w, LapPolicy::Latest, Start::Next);
                w.publish_record(&rec, enc, UnixNs(123), UnixMs(0)).unwrap();
                w.region().flip_bit(g.slot_offset(0) + byte, bit).unwrap();
                match r.poll() {
                    Poll::Frame(d) if tail.contains(&byte) => {
                        let got = crate::payload::decode(d.meta.frame_type, enc, d.payload);
                        assert_eq!(got, Ok(rec.clone()), "tail flip of byte {byte} bit {bit}");
                        harmless += 1;
                    }
                    Poll::Frame(d) => panic!("flip of byte {byte} bit {bit} delivered {d:?}"),
                    Poll::Empty => panic!("flip of byte {byte} bit {bit} lost the frame silently"),
                    _ => rejected += 1,
                }
                assert_eq!(r.counters().accounted(), 1);
            }
        }
        assert_eq!(harmless, tail.len() * 8, "{enc:?}");
        assert_eq!(rejected, (f - tail.len()) * 8, "{enc:?}");
    }
}

#[test]
fn rejection_reasons() {
    let g = Geometry::new(256, 4).unwrap();
    let meta = |t: FrameType, e: Encoding| FrameMeta {
        frame_type: t,
        encoding: e,
        timestamp: UnixNs(9),
    };
    type Case<'a> = (&'a [u8], FrameMeta, fn(&RejectReason) -> bool);
    let cases: [Case<'_>; 4] = [
        (
            br#"{"hr":72,"spo2":101,"rr":12}"#,
            meta(FrameType::Vitals, Encoding::Json),
            |r| *r == RejectReason::Payload(PayloadError::Range(Field::Spo2)),
        ),
        (
            br#"{"hr":72,"spo2":"#,
            meta(FrameType::Vitals, Encoding::Json),
            |r| matches!(r, RejectReason::Payload(PayloadError::Json(_))),
        ),
        (
            br#"{"hr":72,"spo2":98,"rr":12} x"#,
            meta(FrameType::Vitals, Encoding::Json),
            |r| {
                matches!(
                    r,
                    RejectReason::Payload(PayloadError::Json(payload::json::JsonError::Syntax {
                        offset: 28
                    }))
                )
            },
        ),
        (
            br#"{"hr":72,"spo2":98,"rr":12,"nibp_sys":120}"#,
            meta(FrameType::Vitals, Encoding::Json),
            |r| *r == RejectReason::Payload(PayloadError::PartialNibp),
        ),
    ];
    // Payload problems are the session's layer: the slot layer passes the frame up, the
    // session rejects it and counts it.
    for (payload, m, ok) in cases {
        let mut w = writer(g);
        let mut s = session(&w);
        w.publish(m, payload, UnixMs(1000)).unwrap();
        let mut events = Vec::new();
        s.poll(MonoNs(1), &mut |e| events.push(e));
        match events.as_slice() {
            [SensorEvent::Error(SensorError::Rejected {
                first: 0,
                count: 1,
                reason,
            })] => assert!(ok(reason), "{reason:?}"),
            other => panic!("{other:?}"),
        }
        let stats = s.stats();
        assert_eq!(stats.current.counters.rejected.total(), 1);
        assert_eq!(stats.current.counters.delivered, 0);
        assert_eq!(stats.current.accounted(), 1);
    }
    // Unknown type and encoding written by a foreign writer (bytes patched, CRC recomputed).
    for (word0, want) in [
        (7u32, RejectReason::FrameType(7)),
        (1 | (5 << 8), RejectReason::Encoding(5)),
    ] {
        let mut w = writer(g);
        let mut r = reader(&w, LapPolicy::Latest, Start::Next);
        w.publish(meta(FrameType::Heartbeat, Encoding::Json), &[], UnixMs(0))
            .unwrap();
        let base = g.slot_offset(0);
        let mut bytes = vec![0u8; g.frame_size() as usize];
        for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
            chunk.copy_from_slice(&w.region().peek_word(base + 4 * i).unwrap().to_le_bytes());
        }
        bytes[..4].copy_from_slice(&word0.to_le_bytes());
        let f = bytes.len();
        let crc = crate::crc::checksum(
            &{
                let mut b = bytes.clone();
                b[f - 8..f - 4].fill(0);
                b
            }[..f - 4],
        );
        w.region().poke_word(base, word0).unwrap();
        w.region().poke_word(base + f - 8, crc).unwrap();
        match r.poll() {
            Poll::Rejected { reason, .. } => assert_eq!(reason, want),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn oversized_payload_is_refused_by_the_writer() {
    let g = Geometry::new(64, 2).unwrap();
    let mut w = writer(g);
    let meta = FrameMeta {
        frame_type: FrameType::Vitals,
        encoding: Encoding::Json,
        timestamp: UnixNs(0),
    };
    assert_eq!(
        w.publish(meta, &[b' '; 33], UnixMs(0)),
        Err(frame::WriteError::PayloadTooLarge {
            len: 33,
            capacity: 32
        })
    );
    assert_eq!(w.published(), 0);
    // JSON vitals do not fit a 64-byte slot; binary ones do.
    assert!(w
        .publish_record(
            &Record::Vitals(vitals(80)),
            Encoding::Json,
            UnixNs(0),
            UnixMs(0)
        )
        .is_err());
    assert!(w
        .publish_record(
            &Record::Vitals(vitals(80)),
            Encoding::Binary,
            UnixNs(0),
            UnixMs(0)
        )
        .is_ok());
}

#[test]
fn writer_refuses_invalid_records() {
    let mut w = writer(Geometry::new(256, 2).unwrap());
    let bad = Record::Vitals(VitalsRecord {
        hr_bpm: 400,
        ..vitals(0)
    });
    assert!(matches!(
        w.publish_record(&bad, Encoding::Json, UnixNs(0), UnixMs(0)),
        Err(frame::WriteError::Encode(payload::EncodeError::Invalid(
            Field::HeartRate
        )))
    ));
}

#[test]
fn live_slot_bytes_equal_encode_slot_and_pass_slot_view() {
    let g = Geometry::new(256, 4).unwrap();
    let mut w = writer(g);
    let rec = Record::Vitals(vitals(88));
    let mut buf = [0u8; 256];
    let len = payload::encode(&rec, Encoding::Json, &mut buf).unwrap();
    let meta = FrameMeta {
        frame_type: FrameType::Vitals,
        encoding: Encoding::Json,
        timestamp: UnixNs(77),
    };
    for _ in 0..5 {
        w.publish(meta, &buf[..len], UnixMs(0)).unwrap();
    }
    let base = g.slot_offset(4);
    let live: Vec<u8> = (0..64)
        .flat_map(|i| w.region().peek_word(base + 4 * i).unwrap().to_le_bytes())
        .collect();
    let mut expected = [0u8; 256];
    frame::encode_slot(4, meta, &buf[..len], &mut expected).unwrap();
    assert_eq!(live, expected);
    let view = SlotView::new_checked(&live, None).unwrap();
    assert_eq!(view.index, 4);
    assert_eq!(
        payload::decode(view.meta.frame_type, view.meta.encoding, view.payload),
        Ok(rec)
    );
    assert_eq!(
        SlotView::new_checked(&live, Some(0)),
        Err(SlotError::NotCommitted(frame::committed_word(4)))
    );
    assert_eq!(
        SlotView::new_checked(&live[..60], None),
        Err(SlotError::Size(60))
    );
}

#[test]
fn header_changes_under_a_live_reader_are_detected() {
    let g = Geometry::new(128, 4).unwrap();
    let w = writer(g);
    let r = reader(&w, LapPolicy::Latest, Start::Next);
    assert_eq!(r.check_header(), Ok(()));
    w.region().poke_word(12, 8).unwrap(); // frameCount 4 -> 8, CRC now stale
    assert!(matches!(r.check_header(), Err(HeaderError::Crc { .. })));
    // A new reader cannot attach to it either: the ring does not validate.
    assert!(Ring::new_checked(*w.region()).is_err());
}

#[test]
fn attach_checks_scratch_size() {
    let w = writer(Geometry::new(128, 4).unwrap());
    let err = Reader::attach(
        Ring::new_checked(*w.region()).unwrap(),
        vec![0u8; 95],
        LapPolicy::Latest,
        Start::Next,
    )
    .unwrap_err();
    assert_eq!(
        err,
        crate::slot::ScratchTooSmall {
            needed: 96,
            given: 95
        }
    );
}

#[test]
fn read_only_regions_refuse_writers_and_faults() {
    let g = Geometry::new(128, 4).unwrap();
    let w = writer(g);
    let ro = RegionRef::from_parts(
        // Same memory, read-only view.
        Box::leak(Box::new(SharedHeader::zeroed())),
        Box::leak(
            (0..(g.region_len() - HEADER_SIZE) / 4)
                .map(|_| AtomicU32::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        ),
        Access::ReadOnly,
    );
    let config = WriterConfig {
        geometry: g,
        epoch: 1,
        created: UnixNs(0),
        now: UnixMs(0),
    };
    assert_eq!(
        Writer::create(ro, config).unwrap_err(),
        crate::slot::InitError::ReadOnly
    );
    assert_eq!(
        ro.flip_bit(100, 0),
        Err(crate::region::RegionError::ReadOnly)
    );
    assert_eq!(
        w.region().flip_bit(20, 0),
        Err(crate::region::RegionError::OutOfBounds)
    );
}

#[test]
fn json_decoder_rejects_malformed_input() {
    let bad: [&[u8]; 10] = [
        b"",
        b"{}",
        br#"{"hr":72,"spo2":98}"#,
        br#"{"hr":-1,"spo2":98,"rr":12}"#,
        br#"{"hr":72.5,"spo2":98,"rr":12}"#,
        br#"{"hr":70000,"spo2":98,"rr":12}"#,
        br#"{"hr":72,"hr":73,"spo2":98,"rr":12}"#,
        br#"{"hr":72,"spo2":98,"rr":12}}"#,
        br#"{"ch":"ecg_iii","fs":250,"first":0,"samples":[1]}"#,
        br#"[1,2,3]"#,
    ];
    for b in bad {
        assert!(
            payload::json::decode_vitals(b).is_err(),
            "{:?}",
            core::str::from_utf8(b)
        );
    }
    let mut long = std::string::String::from(r#"{"ch":"pleth","fs":250,"first":0,"samples":["#);
    for i in 0..129 {
        long.push_str(if i == 0 { "1" } else { ",1" });
    }
    long.push_str("]}");
    assert!(
        payload::json::decode_waveform(long.as_bytes()).is_err(),
        "129 samples accepted"
    );
    assert!(payload::json::decode_waveform(
        br#"{"ch":"ecg_iii","fs":250,"first":0,"samples":[1]}"#
    )
    .is_err());
    // Whitespace and unknown keys are fine.
    let ok = payload::json::decode_vitals(b" {\"hr\":72,\"spo2\":98,\"rr\":12,\"note\":\"x\"}\n ")
        .unwrap();
    assert_eq!(ok.hr_bpm, 72);
    assert_eq!(ok.nibp, None);
}

#[test]
fn binary_decoder_rejects_malformed_input() {
    let mut buf = [0u8; 64];
    let n = payload::binary::encode_vitals(&vitals(70), &mut buf).unwrap();
    assert_eq!(n, 16);
    assert!(payload::binary::decode_vitals(&buf[..15]).is_err());
    assert!(payload::binary::decode_vitals(&buf[..17]).is_err());
    let mut v = buf;
    v[0] = 2;
    assert_eq!(
        payload::binary::decode_vitals(&v[..16]),
        Err(PayloadError::Version(2))
    );
    let mut v = buf;
    v[1] |= 0x80;
    assert_eq!(
        payload::binary::decode_vitals(&v[..16]),
        Err(PayloadError::Reserved)
    );
    let n = payload::binary::encode_waveform(&chunk(3), &mut buf).unwrap();
    assert_eq!(n, 56);
    assert_eq!(
        payload::binary::decode_waveform(&buf[..n]).unwrap(),
        chunk(3)
    );
    assert!(payload::binary::decode_waveform(&buf[..n - 1]).is_err());
    let mut v = buf;
    v[0] = 9;
    assert_eq!(
        payload::binary::decode_waveform(&v[..n]),
        Err(PayloadError::Channel(9))
    );
    let mut v = buf;
    v[2] = 200; // count 200 > 128
    assert_eq!(
        payload::binary::decode_waveform(&v[..n]),
        Err(PayloadError::TooManySamples(200))
    );
}
