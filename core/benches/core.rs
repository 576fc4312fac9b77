//! Micro-benchmarks of the hot path (recorded in docs/benchmarks.md).
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicU64};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use vitalring_core::crc::{self, Engine, ZeroShift};
use vitalring_core::frame::{self, FrameMeta, SlotView};
use vitalring_core::layout::{Encoding, FrameType, Geometry, HEADER_SIZE};
use vitalring_core::payload::{self, Record};
use vitalring_core::region::{Access, RegionRef, SharedHeader};
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start, Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::vitals::{Nibp, VitalsRecord};
use vitalring_core::Ring;

fn vitals() -> Record {
    Record::Vitals(VitalsRecord {
        hr_bpm: 72,
        spo2_pct: 98,
        rr_rpm: 14,
        nibp: Some(Nibp {
            systolic_mmhg: 120,
            diastolic_mmhg: 80,
            mean_mmhg: 93,
        }),
        temp_c: Some(37.1),
        pulse_rate_bpm: Some(72),
    })
}

fn crc_engine<E: Engine>(g: &mut BenchmarkGroup<'_, WallTime>, bytes: &[u8]) {
    g.bench_function(E::NAME, |b| b.iter(|| E::update(0, black_box(bytes))));
}

/// `extend_zeros` by the algebra (`n` above every engine's feed threshold).
fn zeros_with<E: Engine, Z: ZeroShift>(g: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    g.bench_function(format!("algebra_{}", Z::NAME), |b| {
        b.iter(|| crc::extend_zeros_with::<E, Z>(black_box(0x1234_5678), black_box(n)))
    });
}

/// The same zeros fed through an engine.
fn feed_zeros<E: Engine>(g: &mut BenchmarkGroup<'_, WallTime>, zeros: &[u8]) {
    g.bench_function(format!("feed_{}", E::NAME), |b| {
        b.iter(|| E::update(black_box(0x1234_5678), black_box(zeros)))
    });
}

fn benches(c: &mut Criterion) {
    let slot = vec![0x5Au8; 4096];
    // Every CRC engine on a short header-sized input, a 256-byte slot and a full 4096-byte slot.
    for len in [64usize, 256, 4092] {
        let mut g = c.benchmark_group(format!("crc_{len}"));
        g.throughput(Throughput::Bytes(len as u64));
        crc_engine::<crc::Bitwise>(&mut g, &slot[..len]);
        crc_engine::<crc::Table1>(&mut g, &slot[..len]);
        crc_engine::<crc::Slice16>(&mut g, &slot[..len]);
        #[cfg(feature = "fast-crc")]
        crc_engine::<crc::Clmul>(&mut g, &slot[..len]);
        g.finish();
    }
    // The zero tail of a 4096-byte slot holding a 150-byte payload (3914 zero bytes before the
    // CRC field): the algebra with each operator table, against feeding the zeros to an engine.
    let zeros = vec![0u8; 3914];
    let mut g = c.benchmark_group("crc_zero_tail_3914");
    zeros_with::<crc::Table1, crc::NibbleShift>(&mut g, 3914);
    zeros_with::<crc::Table1, crc::ByteShift>(&mut g, 3914);
    feed_zeros::<crc::Table1>(&mut g, &zeros);
    feed_zeros::<crc::Slice16>(&mut g, &zeros);
    #[cfg(feature = "fast-crc")]
    feed_zeros::<crc::Clmul>(&mut g, &zeros);
    g.finish();
    // Short runs, where feeding may beat the algebra (sets each engine's FEED_ZEROS_UP_TO).
    for n in [8usize, 16, 32, 64] {
        let mut g = c.benchmark_group(format!("crc_zero_run_{n}"));
        // Bitwise feeds only up to 4 zero bytes, so this is the algebra at `n`.
        zeros_with::<crc::Bitwise, crc::NibbleShift>(&mut g, n);
        feed_zeros::<crc::Bitwise>(&mut g, &zeros[..n]);
        feed_zeros::<crc::Table1>(&mut g, &zeros[..n]);
        feed_zeros::<crc::Slice16>(&mut g, &zeros[..n]);
        #[cfg(feature = "fast-crc")]
        feed_zeros::<crc::Clmul>(&mut g, &zeros[..n]);
        g.finish();
    }

    let mut g = c.benchmark_group("crc");
    g.bench_function("slot_crc_4096_json_vitals", |b| {
        let meta = FrameMeta {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            timestamp: UnixNs(1),
        };
        let mut buf = [0u8; 256];
        let n = payload::encode(&vitals(), Encoding::Json, &mut buf).unwrap();
        let mut out = vec![0u8; 4096];
        frame::encode_slot(0, meta, &buf[..n], &mut out).unwrap();
        let (h, _) =
            <vitalring_core::layout::SlotHeader as zerocopy::FromBytes>::read_from_prefix(&out)
                .unwrap();
        b.iter(|| frame::slot_crc(black_box(&h), black_box(&buf[..n]), 4096))
    });
    g.finish();

    // The JSON vitals codec: the canonical fast path (what `payload::encode`/`decode` use for
    // vitalring's own frames) and the general `serde-json-core` path beside it.
    let mut g = c.benchmark_group("json");
    let Record::Vitals(v) = vitals() else {
        unreachable!()
    };
    let mut text = [0u8; 256];
    let len = payload::json::encode_vitals(&v, &mut text).unwrap();
    g.bench_function("vitals_encode_canonical", |b| {
        b.iter(|| payload::json::encode_vitals(black_box(&v), &mut text).unwrap())
    });
    g.bench_function("vitals_encode_general", |b| {
        b.iter(|| payload::json::encode_vitals_general(black_box(&v), &mut text).unwrap())
    });
    g.bench_function("vitals_decode_canonical", |b| {
        b.iter(|| payload::json::decode_vitals(black_box(&text[..len])).unwrap())
    });
    g.bench_function("vitals_decode_general", |b| {
        b.iter(|| payload::json::decode_vitals_general(black_box(&text[..len])).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("frame");
    let meta = FrameMeta {
        frame_type: FrameType::Vitals,
        encoding: Encoding::Json,
        timestamp: UnixNs(1),
    };
    let mut buf = [0u8; 256];
    let n = payload::encode(&vitals(), Encoding::Json, &mut buf).unwrap();
    let mut slot = vec![0u8; 4096];
    frame::encode_slot(7, meta, &buf[..n], &mut slot).unwrap();
    g.bench_function("validate_decode_4096_json_vitals", |b| {
        b.iter(|| {
            let v = SlotView::new_checked(black_box(&slot), Some(7)).unwrap();
            payload::decode(v.meta.frame_type, v.meta.encoding, v.payload).unwrap()
        })
    });
    g.finish();

    for frame_size in [256u32, 4096] {
        let geometry = Geometry::new(frame_size, 64).unwrap();
        let header = SharedHeader::zeroed();
        // 8-aligned, as every mapping is: the slot layer takes its 64-bit path.
        let backing: Vec<AtomicU64> = (0..(geometry.region_len() - HEADER_SIZE) / 8)
            .map(|_| AtomicU64::new(0))
            .collect();
        // SAFETY: `backing` outlives `words` (both live to the end of this loop body), is only
        // accessed through atomics, and two `AtomicU32`s have the size and validity of one
        // `AtomicU64` with a smaller alignment.
        let words: &[AtomicU32] = unsafe {
            std::slice::from_raw_parts(backing.as_ptr().cast::<AtomicU32>(), backing.len() * 2)
        };
        let region = RegionRef::from_parts(&header, words, Access::ReadWrite);
        let config = WriterConfig {
            geometry,
            epoch: 1,
            created: UnixNs(0),
            now: UnixMs(0),
        };
        let mut w = Writer::create(region, config).unwrap();
        let cap = geometry.payload_capacity();
        let mut g = c.benchmark_group(format!("slot_{frame_size}"));
        g.bench_function("encode_commit_json_vitals", |b| {
            b.iter(|| {
                w.publish_record(black_box(&vitals()), Encoding::Json, UnixNs(1), UnixMs(1))
                    .unwrap()
            })
        });
        let ring = || Ring::new_checked(region).unwrap();
        let mut r2 =
            Reader::attach(ring(), vec![0u8; cap], LapPolicy::Latest, Start::Next).unwrap();
        g.bench_function("commit_then_poll_decode_json_vitals", |b| {
            b.iter(|| {
                w.publish(meta, &buf[..n], UnixMs(1)).unwrap();
                match r2.poll() {
                    Poll::Frame(v) => {
                        black_box(payload::decode(
                            v.meta.frame_type,
                            v.meta.encoding,
                            v.payload,
                        ))
                        .ok();
                    }
                    other => panic!("{other:?}"),
                }
            })
        });
        // The budget figure: the producer's whole per-frame work (encode the vitals record as
        // JSON, write and commit the slot) and the reader's (copy, seqlock, CRC, zero tail,
        // checks, JSON decode), one after the other on one core.
        let mut r3 =
            Reader::attach(ring(), vec![0u8; cap], LapPolicy::Latest, Start::Next).unwrap();
        g.bench_function("encode_commit_poll_decode_json_vitals", |b| {
            b.iter(|| {
                w.publish_record(black_box(&vitals()), Encoding::Json, UnixNs(1), UnixMs(1))
                    .unwrap();
                match r3.poll() {
                    Poll::Frame(v) => {
                        black_box(payload::decode(
                            v.meta.frame_type,
                            v.meta.encoding,
                            v.payload,
                        ))
                        .ok();
                    }
                    other => panic!("{other:?}"),
                }
            })
        });
        // A reader attached now, at the next frame: every poll finds nothing.
        let mut r = Reader::attach(ring(), vec![0u8; cap], LapPolicy::Latest, Start::Next).unwrap();
        g.bench_function("empty_poll", |b| {
            b.iter(|| black_box(matches!(r.poll(), Poll::Empty)))
        });
        g.finish();
    }
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
