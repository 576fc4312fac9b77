//! The conformance cases (see [`crate::conformance`]). Each is `fn(&mut impl Platform)` and
//! panics on failure; [`crate::conformance_tests!`] turns them into `#[test]`s. The header
//! cases live in [`crate::conformance_header`] and are re-exported here.

use std::time::Duration;

use vitalring_core::frame::{FrameMeta, RejectReason};
use vitalring_core::layout::{Encoding, FrameType, SLOT_HEADER_SIZE, SLOT_OVERHEAD};
use vitalring_core::payload::{self, PayloadError, Record};
use vitalring_core::region::Region;
use vitalring_core::slot::{
    DropCause, InitError, LapPolicy, Poll as SlotPoll, Reader, ScratchTooSmall, Start, Writer,
    WriterConfig,
};
use vitalring_core::time::{Nanos, UnixMs, UnixNs};
use vitalring_core::vitals::{Channel, Field};
use vitalring_core::watchdog::{Watchdog, WatchdogEvent, DEFAULT_TIMEOUT};
use vitalring_mock::fault;

use crate::conformance::{
    assert_accounting, chunk, geometry, vitals_full, vitals_min, Delivery, Platform, Poll, Ring,
};

pub use crate::conformance_header::{attach_refuses_bad_header, header_tampering_detected};

const MS: u64 = 1_000_000;

fn ring<P: Platform>(p: &mut P, size: u32, count: u32, policy: LapPolicy) -> Ring<P> {
    Ring::new(p, geometry(size, count), policy, Start::Next)
}

fn delivered(poll: Poll) -> Delivery {
    match poll {
        Poll::Delivered(d) => d,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn round_trip<P: Platform>(p: &mut P, encoding: Encoding) {
    let mut r = ring(p, 2048, 8, LapPolicy::Latest);
    let records = [
        Record::Vitals(vitals_full(72)),
        Record::Vitals(vitals_min(0)),
        Record::Vitals(vitals_full(300)),
        Record::Waveform(chunk(Channel::EcgII, 1, 0)),
        Record::Waveform(chunk(Channel::Pleth, 10, 250)),
        Record::Waveform(chunk(Channel::Resp, 128, u64::MAX - 200)),
        Record::Heartbeat,
    ];
    // Twice around the ring, polling after each frame.
    for round in 0..2u64 {
        for (k, record) in records.iter().enumerate() {
            r.clock.advance_ms(4);
            let i = r.publish(record, encoding);
            assert_eq!(i, round * records.len() as u64 + k as u64);
            assert_eq!(r.reader.heartbeat(), r.clock.wall_ms());
            let d = delivered(r.poll());
            assert_eq!(
                d,
                Delivery {
                    index: i,
                    timestamp_ns: r.clock.wall().0,
                    encoding,
                    record: record.clone(),
                }
            );
            assert_eq!(r.poll(), Poll::Empty);
        }
    }
    // A burst read in one go, and the raw path gives the encoded bytes back.
    let mut buf = [0u8; payload::MAX_ENCODED_LEN];
    for record in &records {
        r.publish(record, encoding);
    }
    for record in &records {
        let len = payload::encode(record, encoding, &mut buf).unwrap();
        let view = match r.reader.poll() {
            SlotPoll::Frame(view) => view,
            other => panic!("expected a frame, got {other:?}"),
        };
        assert_eq!(view.payload, &buf[..len]);
        assert_eq!(view.meta.frame_type, record.frame_type());
        assert_eq!(view.meta.encoding, encoding);
    }
    assert_accounting(&r.reader);
    assert_eq!(r.reader.counters().delivered, 3 * records.len() as u64);
    assert_eq!(r.reader.backlog(), 0);
}

/// Vitals, waveform and heartbeat frames round-trip in JSON, twice around the ring.
pub fn round_trip_json<P: Platform>(p: &mut P) {
    round_trip(p, Encoding::Json);
}

/// Vitals, waveform and heartbeat frames round-trip in binary, twice around the ring.
pub fn round_trip_binary<P: Platform>(p: &mut P) {
    round_trip(p, Encoding::Binary);
}

/// Heartbeat frames and the bare heartbeat refresh; raw payloads decode to what the reference
/// decoder says; a too-large payload is refused without touching the ring.
pub fn heartbeats_and_raw_payloads<P: Platform>(p: &mut P) {
    let mut r = ring(p, 64, 2, LapPolicy::Latest);
    let before = r.reader.heartbeat();
    r.clock.advance_ms(30);
    r.writer.heartbeat(r.clock.wall_ms());
    assert_eq!(r.reader.heartbeat(), UnixMs(before.0 + 30));
    assert_eq!(r.poll(), Poll::Empty, "a heartbeat refresh is not a frame");
    let i = r
        .writer
        .publish_heartbeat(r.clock.wall(), r.clock.wall_ms());
    assert_eq!(delivered(r.poll()).record, Record::Heartbeat);
    // 64-byte slots hold 32 payload bytes: binary vitals (16) fit, a 33-byte payload does not.
    let meta = FrameMeta {
        frame_type: FrameType::Vitals,
        encoding: Encoding::Binary,
        timestamp: UnixNs(1),
    };
    assert!(r.writer.publish(meta, &[0u8; 33], UnixMs(1)).is_err());
    assert_eq!(r.writer.published(), i + 1);
    r.publish(&Record::Vitals(vitals_full(61)), Encoding::Binary);
    assert_eq!(delivered(r.poll()).record, Record::Vitals(vitals_full(61)));
    assert_eq!(r.poll(), Poll::Empty);
}

/// The reader's view refuses stores: a writer cannot take it, and faults cannot go through it.
pub fn reader_view_is_read_only<P: Platform>(p: &mut P) {
    let g = geometry(64, 2);
    let region = p.create(g);
    let writer = Writer::create(
        region,
        WriterConfig {
            geometry: g,
            epoch: 1,
            created: UnixNs(0),
            now: UnixMs(0),
        },
    )
    .unwrap();
    let ro = p.open_reader(writer.region());
    assert!(ro.region().flip_bit(80, 0).is_err());
    assert!(ro.region().poke_word(80, 1).is_err());
    let config = WriterConfig {
        geometry: g,
        epoch: 2,
        created: UnixNs(0),
        now: UnixMs(0),
    };
    assert_eq!(Writer::create(ro, config).err(), Some(InitError::ReadOnly));
}

fn lap_case<P: Platform>(p: &mut P, policy: LapPolicy) {
    let mut r = ring(p, 128, 4, policy);
    for k in 0..11 {
        r.publish(&Record::Vitals(vitals_min(k)), Encoding::Binary);
    }
    let (target, first_delivered) = match policy {
        LapPolicy::Latest => (10, 10u16),
        LapPolicy::Oldest => (7, 7u16),
    };
    assert_eq!(
        r.poll(),
        Poll::Dropped {
            first: 0,
            count: target,
            cause: DropCause::Lapped
        }
    );
    let got: Vec<u16> = r
        .drain()
        .into_iter()
        .map(|o| match delivered(o).record {
            Record::Vitals(v) => v.hr_bpm,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, (first_delivered..11).collect::<Vec<_>>());
    let c = r.reader.counters();
    assert_eq!((c.dropped_lapped, c.dropped_overwritten), (target, 0));
    assert_eq!(c.delivered, 11 - target);
    // Lapped again mid-way: the count is exact again.
    r.poll();
    for k in 0..9 {
        r.publish(&Record::Vitals(vitals_min(k)), Encoding::Json);
    }
    let expect = match policy {
        LapPolicy::Latest => 8,
        LapPolicy::Oldest => 5,
    };
    assert!(matches!(
        r.poll(),
        Poll::Dropped { first: 11, count, cause: DropCause::Lapped } if count == expect
    ));
    r.drain();
    assert_eq!(r.reader.position(), r.writer.published());
    assert_eq!(r.reader.counters().dropped_lapped, target + expect);
}

/// `LapPolicy::Latest`: a lapped reader drops exactly up to the newest frame and reads it.
pub fn lap_latest_exact_drops<P: Platform>(p: &mut P) {
    lap_case(p, LapPolicy::Latest);
}

/// `LapPolicy::Oldest`: a lapped reader drops exactly up to the oldest frame still held.
pub fn lap_oldest_exact_drops<P: Platform>(p: &mut P) {
    lap_case(p, LapPolicy::Oldest);
}

/// A reader exactly `frameCount` behind is not lapped: every frame is still there.
pub fn exactly_frame_count_ahead_is_not_a_lap<P: Platform>(p: &mut P) {
    let mut r = ring(p, 64, 4, LapPolicy::Latest);
    for k in 0..4 {
        r.publish(&Record::Vitals(vitals_min(k)), Encoding::Binary);
    }
    assert_eq!(r.drain().len(), 4);
    assert_eq!(r.reader.counters().delivered, 4);
    assert_eq!(r.reader.counters().dropped(), 0);
}

/// `Start::Next`, `Latest` and `Oldest` position a late reader as documented.
pub fn start_positions<P: Platform>(p: &mut P) {
    let mut r = ring(p, 64, 4, LapPolicy::Latest);
    for k in 0..6 {
        r.publish(&Record::Vitals(vitals_min(k)), Encoding::Binary);
    }
    for (start, pos) in [(Start::Next, 6), (Start::Latest, 5), (Start::Oldest, 2)] {
        let view = vitalring_core::Ring::new_checked(p.open_reader(r.writer.region())).unwrap();
        let mut late = Reader::attach(view, vec![0u8; 32], LapPolicy::Latest, start).unwrap();
        assert_eq!(late.position(), pos);
        let mut n = 0;
        loop {
            match late.poll() {
                SlotPoll::Empty => break,
                SlotPoll::Frame(v) => {
                    assert_eq!(
                        payload::decode(v.meta.frame_type, v.meta.encoding, v.payload),
                        Ok(Record::Vitals(vitals_min(v.index as u16)))
                    );
                }
                other => panic!("late reader: {other:?}"),
            }
            n += 1;
            assert_accounting(&late);
        }
        assert_eq!(n, 6 - pos);
        assert_eq!(late.counters().delivered, 6 - pos);
    }
    assert!(matches!(
        Reader::attach(
            vitalring_core::Ring::new_checked(p.open_reader(r.writer.region())).unwrap(),
            vec![0u8; 31],
            LapPolicy::Latest,
            Start::Next
        ),
        Err(ScratchTooSmall {
            needed: 32,
            given: 31
        })
    ));
}

/// A writer that stops half-way through a slot never gets its frame delivered, with or
/// without `writeIndex` covering it, and the frame it destroyed is dropped, not delivered.
pub fn torn_writes_never_delivered<P: Platform>(p: &mut P) {
    let mut r = ring(p, 256, 4, LapPolicy::Latest);
    let meta = FrameMeta {
        frame_type: FrameType::Heartbeat,
        encoding: Encoding::Json,
        timestamp: UnixNs(1),
    };
    // writeIndex advanced over a torn slot: dropped as overwritten.
    let i = r
        .injector
        .torn_publish(&mut r.writer, meta, b"", UnixMs(2))
        .unwrap();
    assert_eq!(
        r.poll(),
        Poll::Dropped {
            first: i,
            count: 1,
            cause: DropCause::Overwritten
        }
    );
    // Crash before the commit: writeIndex does not cover it; nothing to read.
    r.injector.tear(r.writer.published()).unwrap();
    assert_eq!(r.poll(), Poll::Empty);
    // The writer comes back and writes that index properly.
    let j = r.publish(&Record::Vitals(vitals_full(70)), Encoding::Json);
    assert_eq!(j, i + 1);
    assert_eq!(delivered(r.poll()).record, Record::Vitals(vitals_full(70)));
    // A torn write into the slot of an unread frame destroys it: dropped, not delivered.
    for k in 0..3 {
        r.publish(&Record::Vitals(vitals_min(k)), Encoding::Binary);
    }
    let next = r.writer.published();
    r.injector.tear(next - 3).unwrap(); // torn while the reader is about to read it
    r.injector.tear(next).unwrap(); // the next write's victim is index next - 4 (already read)
    let outcomes = r.drain();
    assert_eq!(
        outcomes[0],
        Poll::Dropped {
            first: next - 3,
            count: 1,
            cause: DropCause::Overwritten
        }
    );
    assert_eq!(outcomes.len(), 3);
    // A torn slot whose commit word is forged back to "committed": the garbage fails the CRC.
    let k = r.publish(&Record::Vitals(vitals_full(71)), Encoding::Json);
    r.injector.tear(k).unwrap();
    r.injector.force_commit(k).unwrap();
    assert!(matches!(
        r.poll(),
        Poll::Rejected {
            reason: RejectReason::Crc { .. } | RejectReason::NonZeroPadding,
            ..
        }
    ));
    assert_eq!(r.reader.counters().delivered, 1 + 2);
    assert_eq!(r.reader.counters().dropped_overwritten, 2);
}

/// Forges a slot for `index` from `bytes` after `edit`, with a correct CRC (computed with an
/// independent CRC-32 implementation).
fn forge(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    edit(&mut b);
    let f = b.len();
    b[f - 8..f - 4].fill(0);
    let crc = crc32fast::hash(&b[..f - 4]);
    b[f - 8..f - 4].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Committed slots that break one rule each are rejected with exactly that reason.
pub fn corrupt_slots_rejected_with_reason<P: Platform>(p: &mut P) {
    let mut r = ring(p, 128, 8, LapPolicy::Latest);
    type Edit = fn(&mut Vec<u8>);
    type Expect = fn(&RejectReason) -> bool;
    let cases: [(Edit, Expect); 7] = [
        (|b| b[30] ^= 0x40, |r| matches!(r, RejectReason::Crc { .. })),
        (
            |b| b[16..20].copy_from_slice(&999u32.to_le_bytes()),
            |r| matches!(r, RejectReason::Sequence { found: 999, .. }),
        ),
        (
            |b| b[20..24].copy_from_slice(&(128 - SLOT_OVERHEAD as u32 + 1).to_le_bytes()),
            |r| matches!(r, RejectReason::DataSize(97)),
        ),
        (|b| b[0] = 9, |r| *r == RejectReason::FrameType(9)),
        (|b| b[1] = 7, |r| *r == RejectReason::Encoding(7)),
        (|b| b[124] = 1, |r| *r == RejectReason::NonZeroPadding),
        (|b| b[2] = 1, |r| *r == RejectReason::NonZeroPadding),
    ];
    for (k, (edit, check)) in cases.iter().enumerate() {
        let i = r.publish(&Record::Vitals(vitals_full(80)), Encoding::Binary);
        let good = r.injector.slot_bytes(i);
        let bad = if k == 0 {
            // A plain bit flip, CRC left as it was.
            let mut b = good.clone();
            edit(&mut b);
            b
        } else {
            forge(&good, edit)
        };
        r.injector.write_slot(i, &bad).unwrap();
        match r.poll() {
            Poll::Rejected { index, reason } => {
                assert_eq!(index, i);
                assert!(check(&reason), "case {k}: {reason:?}");
            }
            other => panic!("case {k}: {other:?}"),
        }
    }
    let c = r.reader.counters().rejected;
    assert_eq!(
        (
            c.crc,
            c.sequence,
            c.data_size,
            c.frame_type,
            c.encoding,
            c.padding
        ),
        (1, 1, 1, 1, 1, 2)
    );
    assert_eq!(r.reader.counters().delivered, 0);
}

/// No single-bit flip of a committed slot, anywhere in it, is delivered as a wrong value: a
/// flip in the header, payload, CRC or padding is never delivered; a flip in the tail (past
/// `dataSize`, before the CRC: bytes no reader reads) delivers the published record exactly.
pub fn single_bit_flips_never_delivered<P: Platform>(p: &mut P) {
    let mut r = ring(p, 64, 1, LapPolicy::Latest);
    let record = Record::Vitals(vitals_full(90));
    let mut buf = [0u8; 64];
    let len = payload::encode(&record, Encoding::Binary, &mut buf).unwrap();
    let tail = SLOT_HEADER_SIZE + len..64 - 8;
    assert!(!tail.is_empty(), "the test needs a tail to flip");
    let (mut rejected, mut dropped, mut harmless) = (0, 0, 0);
    for byte in 0..64usize {
        for bit in 0..8u8 {
            let i = r.publish(&record, Encoding::Binary);
            r.injector.flip_slot_bit(i, byte, bit).unwrap();
            match r.poll() {
                Poll::Rejected { .. } => rejected += 1,
                Poll::Dropped { count: 1, .. } => dropped += 1,
                Poll::Delivered(d) if tail.contains(&byte) && d.record == record => harmless += 1,
                other => panic!("flip of byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
    assert_eq!(dropped, 32, "every commit-word flip is a drop");
    assert_eq!(
        harmless,
        tail.len() * 8,
        "every tail flip delivers the record unchanged"
    );
    assert_eq!(rejected, 64 * 8 - 32 - tail.len() * 8);
    assert_eq!(r.reader.counters().delivered, tail.len() as u64 * 8);
}

fn reject_reason<P: Platform>(
    r: &mut Ring<P>,
    ft: FrameType,
    enc: Encoding,
    payload: &[u8],
) -> PayloadError {
    let meta = FrameMeta {
        frame_type: ft,
        encoding: enc,
        timestamp: r.clock.wall(),
    };
    let i = r.writer.publish(meta, payload, r.clock.wall_ms()).unwrap();
    match r.poll() {
        Poll::Rejected {
            index,
            reason: RejectReason::Payload(e),
        } if index == i => e,
        other => panic!("{}: {other:?}", String::from_utf8_lossy(payload)),
    }
}

/// Malformed and out-of-range payloads (JSON and binary) are rejected with their reason; a
/// monitor never sees a clamped value.
pub fn bad_payloads_rejected_with_reason<P: Platform>(p: &mut P) {
    let mut r = ring(p, 256, 4, LapPolicy::Latest);
    use Encoding::{Binary, Json};
    use FrameType::{Vitals, Waveform};
    let range = |f| PayloadError::Range(f);
    let cases: [(FrameType, Encoding, &[u8], Option<PayloadError>); 10] = [
        (
            Vitals,
            Json,
            br#"{"hr":301,"spo2":98,"rr":14}"#,
            Some(range(Field::HeartRate)),
        ),
        (
            Vitals,
            Json,
            br#"{"hr":70,"spo2":101,"rr":14}"#,
            Some(range(Field::Spo2)),
        ),
        (
            Vitals,
            Json,
            br#"{"hr":70,"spo2":98,"rr":14,"temp":45.5}"#,
            Some(range(Field::Temperature)),
        ),
        (Vitals, Json, br#"{"hr":70,"spo2":98,"rr":14} x"#, None),
        (
            Vitals,
            Json,
            br#"{"hr":70,"spo2":98,"rr":14,"nibp_sys":120}"#,
            Some(PayloadError::PartialNibp),
        ),
        (Vitals, Json, br#"{"hr":70,"spo2""#, None),
        (Vitals, Json, br#"{"hr":-1,"spo2":98,"rr":14}"#, None),
        (
            Waveform,
            Json,
            br#"{"ch":"eeg","fs":250,"first":0,"samples":[1]}"#,
            None,
        ),
        (
            Waveform,
            Json,
            br#"{"ch":"pleth","fs":0,"first":0,"samples":[1]}"#,
            Some(range(Field::SampleRate)),
        ),
        (
            Waveform,
            Json,
            br#"{"ch":"pleth","fs":250,"first":0,"samples":[]}"#,
            Some(range(Field::SampleCount)),
        ),
    ];
    for (ft, enc, payload, want) in cases {
        let got = reject_reason(&mut r, ft, enc, payload);
        match want {
            Some(w) => assert_eq!(got, w, "{}", String::from_utf8_lossy(payload)),
            // Malformed: serde-json-core reports trailing characters itself.
            None => assert!(matches!(got, PayloadError::Json(_)), "{got:?}"),
        }
    }
    // Binary: out of range, wrong length, wrong version, reserved bits.
    let mut buf = [0u8; 64];
    let n = payload::encode(&Record::Vitals(vitals_full(70)), Binary, &mut buf).unwrap();
    let mut spo2 = buf;
    spo2[4] = 101;
    assert_eq!(
        reject_reason(&mut r, Vitals, Binary, &spo2[..n]),
        range(Field::Spo2)
    );
    assert!(matches!(
        reject_reason(&mut r, Vitals, Binary, &buf[..n - 1]),
        PayloadError::Length { .. }
    ));
    let mut ver = buf;
    ver[0] = 2;
    assert_eq!(
        reject_reason(&mut r, Vitals, Binary, &ver[..n]),
        PayloadError::Version(2)
    );
    let mut bits = buf;
    bits[1] |= 0x80;
    assert_eq!(
        reject_reason(&mut r, Vitals, Binary, &bits[..n]),
        PayloadError::Reserved
    );
    let c = r.reader.counters();
    assert_eq!(c.rejected.out_of_range, 6);
    assert_eq!(c.rejected.malformed, 8);
    assert_eq!(c.delivered, 0);
    assert_accounting(&r.reader);
}

/// The watchdog, fed the heartbeat through the reader's view and the manual clock, reports a
/// stall after 250 ms without movement and not before, once, and recovery when it moves.
pub fn stall_after_250ms_not_before_and_recovery<P: Platform>(p: &mut P) {
    let mut r = ring(p, 64, 2, LapPolicy::Latest);
    let ts = r.clock.wall();
    r.publish(&Record::Vitals(vitals_min(60)), Encoding::Binary);
    let mut dog = Watchdog::new(DEFAULT_TIMEOUT, r.reader.heartbeat(), r.clock.now());
    // Writer dies. Poll every ms: nothing up to 250 ms, a stall at 251 ms, then silence.
    let mut stalled_at = None;
    for t in 1..=400u64 {
        r.clock.advance_ms(1);
        match dog.poll(r.reader.heartbeat(), r.clock.now()) {
            Some(WatchdogEvent::Stalled { age }) => {
                assert!(stalled_at.is_none(), "reported twice");
                assert_eq!(age, Nanos(t * MS));
                stalled_at = Some(t);
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    assert_eq!(
        stalled_at,
        Some(251),
        "stall must come after 250 ms, within 300 ms"
    );
    assert!(dog.is_stalled());
    // Stalled or not, the frame written before the stall is still delivered.
    assert_eq!(
        r.poll(),
        Poll::Delivered(Delivery {
            index: 0,
            timestamp_ns: ts.0,
            encoding: Encoding::Binary,
            record: Record::Vitals(vitals_min(60)),
        })
    );
    // The writer comes back: a heartbeat refresh recovers.
    r.clock.advance_ms(5);
    r.writer.heartbeat(r.clock.wall_ms());
    assert_eq!(
        dog.poll(r.reader.heartbeat(), r.clock.now()),
        Some(WatchdogEvent::Recovered {
            stalled_for: Nanos(405 * MS)
        })
    );
    // Stalls again, recovers by a frame this time.
    r.clock.advance(Duration::from_millis(251));
    assert!(matches!(
        dog.poll(r.reader.heartbeat(), r.clock.now()),
        Some(WatchdogEvent::Stalled { .. })
    ));
    r.publish(&Record::Heartbeat, Encoding::Json);
    assert!(matches!(
        dog.poll(r.reader.heartbeat(), r.clock.now()),
        Some(WatchdogEvent::Recovered { .. })
    ));
}

/// A writer that refreshes its heartbeat every 50 ms with nothing to send never stalls, even
/// when its wall clock jumps backwards.
pub fn live_idle_writer_never_stalls<P: Platform>(p: &mut P) {
    let r = ring(p, 64, 2, LapPolicy::Latest);
    let mut dog = Watchdog::new(DEFAULT_TIMEOUT, r.reader.heartbeat(), r.clock.now());
    for k in 0..100u64 {
        r.clock.advance_ms(50);
        if k == 50 {
            r.clock.set_wall_ms(r.clock.wall_ms().0 - 3_600_000);
        }
        r.writer.heartbeat(r.clock.wall_ms());
        assert_eq!(dog.poll(r.reader.heartbeat(), r.clock.now()), None);
    }
}

/// A long deterministic mix of frames, laps, torn writes, bit flips and polls keeps
/// `accounted() == moved_past()` after every poll and delivers only what was written.
pub fn accounting_holds_through_mixed_faults<P: Platform>(p: &mut P) {
    for policy in [LapPolicy::Latest, LapPolicy::Oldest] {
        let mut r = ring(p, 128, 8, policy);
        let mut x: u32 = 0x1234_5678;
        let mut next_rand = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut written = std::collections::BTreeMap::new();
        for _ in 0..3000 {
            let v = next_rand();
            match v % 10 {
                0..=3 => {
                    let rec = vitals_min((v >> 8) as u16 % 301);
                    let i = r.publish(&Record::Vitals(rec), Encoding::Binary);
                    written.insert(i, rec);
                }
                4 => {
                    if let Some(i) = r.writer.published().checked_sub(1) {
                        r.injector
                            .flip_slot_bit(i, (v >> 8) as usize % 128, (v >> 20) as u8 % 8)
                            .unwrap();
                    }
                }
                5 => {
                    r.injector.tear(r.writer.published()).unwrap();
                }
                6 => {
                    fault::lap(&mut r.writer, u64::from(v >> 8) % 20, UnixNs(0), UnixMs(0));
                }
                _ => {
                    for _ in 0..(v >> 8) % 6 {
                        if let Poll::Delivered(d) = r.poll() {
                            if let Record::Vitals(got) = d.record {
                                assert_eq!(written.get(&d.index), Some(&got), "index {}", d.index);
                            }
                        }
                    }
                }
            }
        }
        for outcome in r.drain() {
            if let Poll::Delivered(Delivery {
                index,
                record: Record::Vitals(got),
                ..
            }) = outcome
            {
                assert_eq!(written.get(&index), Some(&got));
            }
        }
        assert_eq!(r.reader.position(), r.writer.published());
        let c = r.reader.counters();
        assert!(c.delivered > 0 && c.dropped_lapped > 0 && c.dropped_overwritten > 0);
        assert!(c.rejected.total() > 0);
    }
}

/// One writer thread and one reader thread on the platform's memory: every delivered frame is
/// the one written for its index, and the accounting holds at the end.
pub fn concurrent_writer_and_reader<P: Platform>(p: &mut P) {
    const FRAMES: u64 = 20_000;
    let Ring {
        mut writer,
        mut reader,
        ..
    } = ring(p, 64, 8, LapPolicy::Oldest);
    let record = |i: u64| vitals_min((i % 301) as u16);
    let handle = std::thread::spawn(move || {
        for i in 0..FRAMES {
            let got = writer
                .publish_record(
                    &Record::Vitals(record(i)),
                    Encoding::Binary,
                    UnixNs(i),
                    UnixMs(i),
                )
                .unwrap();
            assert_eq!(got, i);
            if i % 64 == 0 {
                std::thread::yield_now();
            }
        }
    });
    let mut delivered = 0u64;
    loop {
        match reader.poll() {
            SlotPoll::Frame(v) => {
                assert_eq!(
                    payload::decode(v.meta.frame_type, v.meta.encoding, v.payload),
                    Ok(Record::Vitals(record(v.index)))
                );
                assert_eq!(v.meta.timestamp, UnixNs(v.index));
                delivered += 1;
            }
            SlotPoll::Rejected { index, reason } => panic!("index {index} rejected: {reason:?}"),
            SlotPoll::Fault(f) => panic!("index fault: {f:?}"),
            SlotPoll::Empty => {
                if handle.is_finished() && reader.position() == FRAMES {
                    break;
                }
                std::thread::yield_now();
            }
            SlotPoll::Dropped { .. } => {}
        }
        assert_accounting(&reader);
    }
    handle.join().unwrap();
    assert_eq!(reader.moved_past(), FRAMES);
    assert_eq!(reader.counters().delivered, delivered);
    assert_eq!(reader.counters().rejected.total(), 0);
}
