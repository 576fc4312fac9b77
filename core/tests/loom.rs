//! Model-checks the slot protocol with loom: one writer thread and the reader (main thread)
//! over a 2-slot ring of 64-byte slots (the minimum size) built from loom atomics with
//! `RegionRef::from_parts`. The writer publishes 3 frames, so it laps slot 0 while the reader
//! may be copying it; the reader polls concurrently, then drains after the join.
//!
//! Every execution loom explores must deliver, for every index, either exactly the frame the
//! writer wrote for that index or nothing, and keep `accounted() == moved_past()`.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p vitalring-core --test loom --release`
//! (`LOOM_MAX_PREEMPTIONS` overrides the default preemption bound of 1; CI runs bound 2: both
//! tests together took 53 s on a 2-vCPU VM at load 5).
//!
//! The model has teeth: built with `--cfg vitalring_loom_mutant="reader_fence"` (the reader's
//! `fence(Acquire)` removed), `"writer_fence"` (the writer's `fence(Release)` after the
//! *writing* mark removed) or `"commit_relaxed"` (the `commit` publication weakened from
//! Release to Relaxed), it must fail with a torn frame ("wrong frame for index" or "rejected");
//! `.ci/fuzz-miri-loom.sh` requires that for each mutant.
#![cfg(loom)]

use loom::sync::atomic::AtomicU32;
use loom::sync::Arc;
use vitalring_core::layout::Encoding;
use vitalring_core::payload;
use vitalring_core::payload::Record;
use vitalring_core::region::{Access, Region, RegionRef, SharedHeader};
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start, Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::vitals::VitalsRecord;
use vitalring_core::{Geometry, Ring};

struct Memory {
    header: SharedHeader,
    words: Vec<AtomicU32>,
}

/// A handle to loom-checked shared memory with an access mode.
struct Shared(Arc<Memory>, Access);

impl Region for Shared {
    fn region(&self) -> RegionRef<'_> {
        RegionRef::from_parts(&self.0.header, &self.0.words, self.1)
    }
}

fn record(index: u64) -> Record {
    Record::Vitals(VitalsRecord {
        hr_bpm: 60 + index as u16,
        spo2_pct: 90 + index as u8,
        rr_rpm: 10,
        ..VitalsRecord::default()
    })
}

/// Checks one poll; returns false when it was empty.
fn check(outcome: Poll<'_>, delivered: &mut Vec<u64>) -> bool {
    match outcome {
        Poll::Frame(v) => {
            let got = payload::decode(v.meta.frame_type, v.meta.encoding, v.payload);
            assert_eq!(
                got,
                Ok(record(v.index)),
                "wrong frame for index {}",
                v.index
            );
            assert_eq!(v.meta.timestamp, UnixNs(1000 + v.index));
            delivered.push(v.index);
        }
        Poll::Rejected { index, reason } => panic!("index {index} rejected: {reason:?}"),
        Poll::Fault(f) => panic!("writeIndex fault from an honest writer: {f}"),
        Poll::Empty => return false,
        Poll::Dropped { .. } => {}
    }
    true
}

/// `before`: frames published before the reader thread starts racing; the writer then publishes
/// the rest of the 3 concurrently with `reader_polls` polls.
fn model(policy: LapPolicy, before: u64, reader_polls: usize) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        // Bound 1 already explores every value each relaxed load of the slot copy may return
        // (2^16 combinations while the writer rewrites the slot being copied); bound 2
        // multiplies that by the extra schedules and takes hours.
        builder.preemption_bound = Some(1);
    }
    builder.check(move || {
        let g = Geometry::new(64, 2).unwrap();
        let mem = Arc::new(Memory {
            header: SharedHeader::zeroed(),
            words: (0..g.region_len() / 4 - 20)
                .map(|_| AtomicU32::new(0))
                .collect(),
        });
        let mut writer = Writer::create(
            Shared(mem.clone(), Access::ReadWrite),
            WriterConfig {
                geometry: g,
                epoch: 1,
                created: UnixNs(0),
                now: UnixMs(0),
            },
        )
        .unwrap();
        let ring = Ring::new_checked(Shared(mem, Access::ReadOnly)).unwrap();
        let mut reader = Reader::attach(ring, [0u8; 32], policy, Start::Next).unwrap();
        for i in 0..before {
            writer
                .publish_record(&record(i), Encoding::Binary, UnixNs(1000 + i), UnixMs(i))
                .unwrap();
        }
        let t = loom::thread::spawn(move || {
            for i in before..3u64 {
                let got = writer
                    .publish_record(&record(i), Encoding::Binary, UnixNs(1000 + i), UnixMs(i))
                    .unwrap();
                assert_eq!(got, i);
            }
        });
        let mut delivered = Vec::new();
        for _ in 0..reader_polls {
            check(reader.poll(), &mut delivered);
            assert_eq!(reader.counters().accounted(), reader.moved_past());
        }
        t.join().unwrap();
        loop {
            let more = check(reader.poll(), &mut delivered);
            assert_eq!(reader.counters().accounted(), reader.moved_past());
            if !more {
                break;
            }
        }
        assert_eq!(reader.position(), 3);
        assert_eq!(reader.moved_past(), 3);
        assert!(delivered.windows(2).all(|w| w[0] < w[1]), "{delivered:?}");
        // The newest frame is never lost: it cannot be overwritten within 3 frames.
        assert_eq!(delivered.last(), Some(&2));
    });
}

/// The configuration of the brief: a fresh ring, the writer publishes 3 frames (the third laps
/// slot 0) while the reader polls twice, then the reader drains. ~1.3 M executions.
#[test]
fn writer_laps_a_concurrent_reader_latest() {
    model(LapPolicy::Latest, 0, 2);
}

/// The lapping race alone, with the recorder policy: frames 0 and 1 are in the ring, the
/// writer rewrites slot 0 with frame 2 while the reader copies frame 0 (or is lapped and jumps
/// to the oldest frame held). ~0.6 M executions.
#[test]
fn writer_laps_a_concurrent_reader_oldest() {
    model(LapPolicy::Oldest, 2, 1);
}
