//! A single-threaded simulation of one writer, faults and one reader over a [`MockRegion`],
//! with an oracle. Property tests and the `slot_ops` fuzz target drive it with arbitrary
//! [`Op`] sequences; [`Model::apply`] returns a [`Violation`] the moment the reader breaks a
//! promise.
//!
//! The promises checked after every operation:
//!
//! - **accounting**: `counters.accounted() == reader.moved_past()` after every poll, and after
//!   a final drain the reader stands at `writeIndex`;
//! - **no wrong data**: every delivered frame equals what the writer committed for that index
//!   (type, encoding, timestamp and the record the reference decoder gets from the committed
//!   payload) — whatever faults hit the slot;
//! - **no false alarms**: an index no fault touched is delivered, or rejected only for the
//!   payload reason the reference decoder gives; it is dropped only by a lap, with the exact
//!   count the lap policy implies;
//! - **header checks**: `Reader::check_header` fails exactly when an immutable header field
//!   differs from the one the reader attached to.
//!
//! Faults are limited to what the slot CRC is guaranteed to catch, so that "no wrong data" is
//! a theorem and not a matter of luck: per slot, between two writes, at most three bit flips
//! (CRC-32 has Hamming distance 4 for slots up to 11 KiB), or one 32-bit word overwrite (a
//! burst of at most 32 bits), or one torn write. Faults beyond that budget are skipped.

use std::collections::{BTreeMap, BTreeSet};

use vitalring_core::frame::{FrameMeta, RejectReason};
use vitalring_core::layout::{Encoding, FrameType, RingHeader, HEADER_SIZE};
use vitalring_core::payload::{self, PayloadError, Record, MAX_ENCODED_LEN};
use vitalring_core::region::Region;
use vitalring_core::slot::{DropCause, LapPolicy, Poll, Reader, Start, Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};
use vitalring_core::Geometry;
use vitalring_core::Ring;

use crate::{FaultInjector, MockRegion};

/// What one poll of the slot layer plus the decode above it gave.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per poll in a test model; records are fixed-capacity and never boxed"
)]
enum Outcome {
    Empty,
    Dropped {
        first: u64,
        count: u64,
        cause: DropCause,
    },
    Rejected {
        index: u64,
        reason: RejectReason,
    },
    Fault(vitalring_core::slot::IndexFault),
    Delivered {
        index: u64,
        meta: FrameMeta,
        record: Record,
    },
}

/// One step of a simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// Publish a valid vitals record derived from `seed` ([`vitals_from_seed`]).
    Vitals {
        /// Record seed.
        seed: u32,
        /// Binary (true) or JSON (false).
        binary: bool,
    },
    /// Publish a valid waveform chunk derived from `seed` ([`waveform_from_seed`]).
    Waveform {
        /// Chunk seed.
        seed: u32,
        /// Samples, taken modulo 128, plus one.
        samples: u8,
        /// Binary (true) or JSON (false).
        binary: bool,
    },
    /// Publish a heartbeat frame.
    Heartbeat,
    /// Publish raw payload bytes (malformed, out-of-range or valid) under a valid type
    /// (`1 + frame_type % 3`).
    Raw {
        /// Frame type selector.
        frame_type: u8,
        /// Binary (true) or JSON (false).
        binary: bool,
        /// Payload bytes (refused by the writer if larger than the slot).
        payload: Vec<u8>,
    },
    /// Flip a bit of a published frame's slot (`back` frames before the newest).
    FlipBit {
        /// Frames back from the newest, modulo `frameCount`.
        back: u8,
        /// Byte in the slot, modulo the frame size.
        offset: u16,
        /// Bit, modulo 8.
        bit: u8,
    },
    /// Overwrite a word of a published frame's slot.
    PokeWord {
        /// Frames back from the newest, modulo `frameCount`.
        back: u8,
        /// Word in the slot, modulo the words per slot.
        word: u16,
        /// New value.
        value: u32,
    },
    /// A torn write: with `advance`, a frame is published and then torn; without, the
    /// writer's next slot is torn and `writeIndex` stays.
    TornWrite {
        /// Whether `writeIndex` covers the torn slot.
        advance: bool,
    },
    /// Publish `frames % (3 * frameCount + 2)` heartbeat frames in a row (laps the reader).
    Burst {
        /// Frame count selector.
        frames: u8,
    },
    /// Flip a bit of an immutable header byte.
    FlipHeaderBit {
        /// Byte selector, mapped into `[0, 16) ∪ [32, 80)`.
        offset: u8,
        /// Bit, modulo 8.
        bit: u8,
    },
    /// Rewrite the header geometry words, with or without fixing the header CRC.
    RewriteGeometry {
        /// New `frameSizeBytes`.
        frame_size: u32,
        /// New `frameCount`.
        frame_count: u32,
        /// Whether the header CRC is recomputed.
        fix_crc: bool,
    },
    /// Poll the reader `1 + times % 8` times.
    Poll {
        /// Poll count selector.
        times: u8,
    },
    /// Poll until the reader reports nothing new.
    Drain,
}

/// Ring shape and lap policy of a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ModelConfig {
    /// `frameSizeBytes = 64 << (size % 7)` (64 ..= 4096).
    pub size: u8,
    /// `frameCount = 1 << (count % 4)` (1 ..= 8).
    pub count: u8,
    /// `LapPolicy::Oldest` if true, else `Latest`.
    pub oldest: bool,
}

impl ModelConfig {
    /// The geometry this config selects.
    pub fn geometry(&self) -> Geometry {
        let size = 64u32 << (self.size % 7);
        let count = 1u32 << (self.count % 4);
        Geometry::new(size, count).unwrap_or(Geometry::DEFAULT)
    }

    /// The lap policy this config selects.
    pub fn policy(&self) -> LapPolicy {
        if self.oldest {
            LapPolicy::Oldest
        } else {
            LapPolicy::Latest
        }
    }
}

/// A whole simulation: a config and its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Scenario {
    /// Ring shape and lap policy.
    pub config: ModelConfig,
    /// The operations, in order.
    pub ops: Vec<Op>,
}

impl Scenario {
    /// Runs every operation, then drains the reader and checks the end state.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn run(&self) -> Result<ModelStats, Violation> {
        let mut m = Model::new(self.config);
        for op in &self.ops {
            m.apply(op)?;
        }
        m.finish()
    }
}

/// A broken promise (see the module docs), with the operation number where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Operations applied before this one.
    pub step: usize,
    /// What went wrong.
    pub message: String,
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "after {} operations: {}", self.step, self.message)
    }
}

impl std::error::Error for Violation {}

/// What a simulation did (so tests can check their generators reach every outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelStats {
    /// Frames published.
    pub published: u64,
    /// Frames delivered.
    pub delivered: u64,
    /// Indices dropped by laps.
    pub lapped: u64,
    /// Indices dropped as overwritten or torn.
    pub overwritten: u64,
    /// Frames rejected.
    pub rejected: u64,
    /// Faults injected (not skipped).
    pub faults: u64,
    /// Faults skipped because they would exceed the slot's detectable-damage budget.
    pub faults_skipped: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Damage {
    flips: u8,
    pokes: u8,
    torn: bool,
}

#[derive(Debug, Clone)]
struct Committed {
    meta: FrameMeta,
    expected: Result<Record, PayloadError>,
}

/// A deterministic valid vitals record for `seed` (every value in range).
pub fn vitals_from_seed(seed: u32) -> VitalsRecord {
    let s = |shift: u32, m: u32| (seed.rotate_right(shift)) % m;
    VitalsRecord {
        hr_bpm: s(0, 301) as u16,
        spo2_pct: s(9, 101) as u8,
        rr_rpm: s(16, 151) as u8,
        nibp: (seed & (1 << 24) != 0).then(|| Nibp {
            systolic_mmhg: s(3, 301) as u16,
            diastolic_mmhg: s(5, 301) as u16,
            mean_mmhg: s(7, 301) as u16,
        }),
        temp_c: (seed & (1 << 25) != 0).then(|| 25.0 + s(11, 2001) as f32 / 100.0),
        pulse_rate_bpm: (seed & (1 << 26) != 0).then(|| s(13, 301) as u16),
    }
}

/// A deterministic valid waveform chunk for `seed` with `1 + samples % 128` samples.
pub fn waveform_from_seed(seed: u32, samples: u8) -> WaveformChunk {
    let n = 1 + usize::from(samples) % MAX_SAMPLES;
    let mut x = seed | 1;
    let mut out = heapless::Vec::new();
    for _ in 0..n {
        // xorshift32: deterministic, full i32 range.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let _ = out.push(x as i32);
    }
    WaveformChunk {
        channel: Channel::ALL[(seed % 3) as usize],
        fs_hz: 1 + (seed % 2000) as u16,
        first: u64::from(seed) * 7,
        samples: out,
    }
}

fn encoding(binary: bool) -> Encoding {
    if binary {
        Encoding::Binary
    } else {
        Encoding::Json
    }
}

/// The simulation state: a writer, an injector and a reader over one [`MockRegion`], plus what
/// the writer committed for every index the reader may still see.
#[derive(Debug)]
pub struct Model {
    geometry: Geometry,
    policy: LapPolicy,
    writer: Writer<MockRegion>,
    injector: FaultInjector<MockRegion>,
    reader: Reader<MockRegion, Vec<u8>>,
    original_header: RingHeader,
    committed: BTreeMap<u64, Committed>,
    tainted: BTreeSet<u64>,
    damage: Vec<Damage>,
    clock_ns: u64,
    step: usize,
    stats: ModelStats,
}

fn immutable(mut h: RingHeader) -> RingHeader {
    h.write_index = 0;
    h.heartbeat_timestamp = 0;
    h
}

impl Model {
    /// A fresh ring with a reader attached at index 0.
    ///
    /// # Panics
    /// Never for geometries from [`ModelConfig::geometry`] (a fresh, writable region of the
    /// right length always accepts a writer and a reader).
    pub fn new(config: ModelConfig) -> Self {
        let geometry = config.geometry();
        let region = MockRegion::new(geometry);
        let injector = FaultInjector::new(region.clone(), geometry);
        let writer = Writer::create(
            region.clone(),
            WriterConfig {
                geometry,
                epoch: 0x5EED,
                created: UnixNs(1),
                now: UnixMs(1),
            },
        )
        .expect("a fresh mock region takes a writer");
        let reader = Reader::attach(
            Ring::new_checked(region.read_only()).expect("a freshly written header is valid"),
            vec![0u8; geometry.payload_capacity()],
            config.policy(),
            Start::Next,
        )
        .expect("a freshly written header is valid");
        let original_header = immutable(region.region().header_snapshot());
        Self {
            geometry,
            policy: config.policy(),
            writer,
            injector,
            reader,
            original_header,
            committed: BTreeMap::new(),
            tainted: BTreeSet::new(),
            damage: vec![Damage::default(); geometry.frame_count() as usize],
            clock_ns: 1_000_000,
            step: 0,
            stats: ModelStats::default(),
        }
    }

    /// Statistics so far.
    pub fn stats(&self) -> ModelStats {
        self.stats
    }

    fn fail(&self, message: String) -> Violation {
        Violation {
            step: self.step,
            message,
        }
    }

    fn tick(&mut self) -> (u64, u64) {
        self.clock_ns += 1_000_000;
        (self.clock_ns, self.clock_ns / 1_000_000)
    }

    fn record_publish(&mut self, index: u64, meta: FrameMeta, payload: &[u8]) {
        let expected = payload::decode(meta.frame_type, meta.encoding, payload);
        self.committed.insert(index, Committed { meta, expected });
        let slot = self.geometry.slot_of(index);
        self.damage[slot] = Damage::default();
        self.stats.published += 1;
    }

    fn publish(&mut self, frame_type: FrameType, enc: Encoding, payload: &[u8]) {
        let (ts, ms) = self.tick();
        let meta = FrameMeta {
            frame_type,
            encoding: enc,
            timestamp: UnixNs(ts),
        };
        if let Ok(index) = self.writer.publish(meta, payload, UnixMs(ms)) {
            self.record_publish(index, meta, payload);
        }
    }

    fn publish_record(&mut self, record: &Record, enc: Encoding) {
        let mut buf = [0u8; MAX_ENCODED_LEN];
        if let Ok(len) = payload::encode(record, enc, &mut buf) {
            self.publish(record.frame_type(), enc, &buf[..len]);
        }
    }

    /// The index `back` frames before the newest still held by the ring, if any.
    fn pick(&self, back: u8) -> Option<u64> {
        let newest = self.writer.published().checked_sub(1)?;
        let back = u64::from(back) % u64::from(self.geometry.frame_count());
        newest.checked_sub(back)
    }

    fn allow(&mut self, index: u64, poke: bool) -> bool {
        let d = &mut self.damage[self.geometry.slot_of(index)];
        let ok = !d.torn && d.pokes == 0 && (if poke { d.flips == 0 } else { d.flips < 3 });
        if ok {
            if poke {
                d.pokes += 1;
            } else {
                d.flips += 1;
            }
            self.tainted.insert(index);
            self.stats.faults += 1;
        } else {
            self.stats.faults_skipped += 1;
        }
        ok
    }

    fn mark_torn(&mut self, slot_index: u64, victim: Option<u64>) {
        self.damage[self.geometry.slot_of(slot_index)].torn = true;
        if let Some(v) = victim {
            self.tainted.insert(v);
        }
        self.stats.faults += 1;
    }

    /// Applies one operation and checks every promise it touches.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn apply(&mut self, op: &Op) -> Result<(), Violation> {
        let f = self.geometry.frame_size() as usize;
        let n = u64::from(self.geometry.frame_count());
        match op {
            Op::Vitals { seed, binary } => {
                self.publish_record(&Record::Vitals(vitals_from_seed(*seed)), encoding(*binary));
            }
            Op::Waveform {
                seed,
                samples,
                binary,
            } => {
                let chunk = waveform_from_seed(*seed, *samples);
                self.publish_record(&Record::Waveform(chunk), encoding(*binary));
            }
            Op::Heartbeat => self.publish(FrameType::Heartbeat, Encoding::Json, &[]),
            Op::Raw {
                frame_type,
                binary,
                payload,
            } => {
                let ft = FrameType::try_from(1 + frame_type % 3).unwrap_or(FrameType::Vitals);
                self.publish(ft, encoding(*binary), payload);
            }
            Op::FlipBit { back, offset, bit } => {
                if let Some(i) = self.pick(*back) {
                    if self.allow(i, false) {
                        self.injector
                            .flip_slot_bit(i, usize::from(*offset) % f, *bit % 8)
                            .map_err(|e| self.fail(format!("flip refused: {e}")))?;
                    }
                }
            }
            Op::PokeWord { back, word, value } => {
                if let Some(i) = self.pick(*back) {
                    if self.allow(i, true) {
                        let at = (usize::from(*word) % (f / 4)) * 4;
                        self.injector
                            .poke_slot_word(i, at, *value)
                            .map_err(|e| self.fail(format!("poke refused: {e}")))?;
                    }
                }
            }
            Op::TornWrite { advance: true } => {
                let (ts, ms) = self.tick();
                let meta = FrameMeta {
                    frame_type: FrameType::Heartbeat,
                    encoding: Encoding::Json,
                    timestamp: UnixNs(ts),
                };
                let i = self
                    .injector
                    .torn_publish(&mut self.writer, meta, &[], UnixMs(ms))
                    .map_err(|e| self.fail(format!("torn publish refused: {e}")))?;
                self.record_publish(i, meta, &[]);
                self.mark_torn(i, Some(i));
            }
            Op::TornWrite { advance: false } => {
                let next = self.writer.published();
                self.injector
                    .tear(next)
                    .map_err(|e| self.fail(format!("tear refused: {e}")))?;
                self.mark_torn(next, next.checked_sub(n));
            }
            Op::Burst { frames } => {
                for _ in 0..u64::from(*frames) % (3 * n + 2) {
                    self.publish(FrameType::Heartbeat, Encoding::Json, &[]);
                }
            }
            Op::FlipHeaderBit { offset, bit } => {
                let o = usize::from(*offset) % (HEADER_SIZE - 16);
                let o = if o < 16 { o } else { o + 16 };
                self.injector
                    .flip_header_bit(o, *bit % 8)
                    .map_err(|e| self.fail(format!("header flip refused: {e}")))?;
                self.stats.faults += 1;
            }
            Op::RewriteGeometry {
                frame_size,
                frame_count,
                fix_crc,
            } => {
                self.injector
                    .rewrite_geometry(Some(*frame_size), Some(*frame_count), *fix_crc)
                    .map_err(|e| self.fail(format!("rewrite refused: {e}")))?;
                self.stats.faults += 1;
            }
            Op::Poll { times } => {
                for _ in 0..=(times % 8) {
                    self.poll_once()?;
                }
                self.check_header()?;
            }
            Op::Drain => self.drain()?,
        }
        self.step += 1;
        Ok(())
    }

    fn check_header(&self) -> Result<(), Violation> {
        let live = immutable(self.writer.region().region().header_snapshot());
        let changed = live != self.original_header;
        let got = self.reader.check_header();
        if got.is_err() != changed {
            return Err(self.fail(format!(
                "check_header() = {got:?} but the header {}",
                if changed { "changed" } else { "is unchanged" }
            )));
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), Violation> {
        // Each non-empty poll moves the reader forward, so this ends; bound it anyway.
        let bound = self.writer.published() - self.reader.position() + 2;
        for _ in 0..bound {
            if self.poll_once()? {
                return self.check_header();
            }
        }
        Err(self.fail("reader did not drain".into()))
    }

    /// One poll with every check; returns true when it was empty.
    fn poll_once(&mut self) -> Result<bool, Violation> {
        let before = self.reader.position();
        let w = self.writer.published();
        let n = u64::from(self.geometry.frame_count());
        let outcome = match self.reader.poll() {
            // The slot layer passed the frame: decode it as the session does.
            Poll::Frame(v) => {
                match payload::decode(v.meta.frame_type, v.meta.encoding, v.payload) {
                    Ok(record) => Outcome::Delivered {
                        index: v.index,
                        meta: v.meta,
                        record,
                    },
                    Err(e) => {
                        let index = v.index;
                        let reason = RejectReason::Payload(e);
                        self.reader.refuse_last(&reason);
                        Outcome::Rejected { index, reason }
                    }
                }
            }
            Poll::Empty => Outcome::Empty,
            Poll::Dropped {
                first,
                count,
                cause,
            } => Outcome::Dropped {
                first,
                count,
                cause,
            },
            Poll::Rejected { index, reason } => Outcome::Rejected { index, reason },
            Poll::Fault(f) => Outcome::Fault(f),
        };
        let after = self.reader.position();
        let accounted = self.reader.counters().accounted();
        if accounted != self.reader.moved_past() {
            return Err(self.fail(format!(
                "accounting: accounted {accounted} != moved past {} after {outcome:?}",
                self.reader.moved_past()
            )));
        }
        let empty = matches!(outcome, Outcome::Empty);
        match outcome {
            Outcome::Empty => {
                if before < w {
                    return Err(self.fail(format!("empty poll at {before} with writeIndex {w}")));
                }
            }
            Outcome::Delivered {
                index,
                meta,
                record,
            } => {
                self.expect_single_step(before, index, after)?;
                let c = self.committed.get(&index);
                let matches = c.is_some_and(|c| {
                    c.meta.timestamp == meta.timestamp
                        && c.meta.encoding == meta.encoding
                        && c.expected.as_ref().ok() == Some(&record)
                });
                if !matches {
                    return Err(self.fail(format!(
                        "delivered {record:?} ({meta:?}) at index {index} but the writer \
                         committed {c:?}"
                    )));
                }
                self.stats.delivered += 1;
            }
            Outcome::Rejected { index, reason } => {
                self.expect_single_step(before, index, after)?;
                if !self.tainted.contains(&index) {
                    let want = self
                        .committed
                        .get(&index)
                        .and_then(|c| c.expected.as_ref().err().copied());
                    if want.map(vitalring_core::frame::RejectReason::Payload) != Some(reason) {
                        return Err(self.fail(format!(
                            "untouched index {index} rejected with {reason:?}, expected {want:?}"
                        )));
                    }
                }
                self.stats.rejected += 1;
            }
            Outcome::Dropped {
                first,
                count,
                cause: DropCause::Overwritten,
            } => {
                self.expect_single_step(before, first, after)?;
                if count != 1 || !self.tainted.contains(&first) {
                    return Err(self.fail(format!(
                        "untouched index {first} dropped as overwritten (count {count})"
                    )));
                }
                self.stats.overwritten += 1;
            }
            Outcome::Dropped {
                first,
                count,
                cause: DropCause::Lapped,
            } => {
                let target = match self.policy {
                    LapPolicy::Latest => w - 1,
                    LapPolicy::Oldest => w - n,
                };
                if first != before || w - before <= n || count != target - before || after != target
                {
                    return Err(self.fail(format!(
                        "lap drop first {first} count {count} (reader at {before}, now {after}, \
                         writeIndex {w}, {n} slots, {:?})",
                        self.policy
                    )));
                }
                self.stats.lapped += count;
            }
            Outcome::Fault(f) => {
                // The model's writer never moves `writeIndex` backwards or implausibly far.
                return Err(self.fail(format!("unexpected {f} at {before}")));
            }
        }
        // Forget what the reader can no longer see.
        let pos = self.reader.position();
        self.committed = self.committed.split_off(&pos);
        self.tainted = self.tainted.split_off(&pos);
        Ok(empty)
    }

    fn expect_single_step(&self, before: u64, index: u64, after: u64) -> Result<(), Violation> {
        if index != before || after != before + 1 {
            return Err(self.fail(format!(
                "poll at {before} reported index {index} and moved to {after}"
            )));
        }
        Ok(())
    }

    /// Drains the reader and checks the end state: the reader stands at `writeIndex` and every
    /// index it moved past is accounted for.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn finish(mut self) -> Result<ModelStats, Violation> {
        self.drain()?;
        let w = self.writer.published();
        if self.reader.position() != w {
            return Err(self.fail(format!(
                "drained reader at {} but writeIndex is {w}",
                self.reader.position()
            )));
        }
        if self.reader.counters().accounted() != self.reader.moved_past() {
            return Err(self.fail("final accounting mismatch".into()));
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_give_valid_records() {
        for seed in [0u32, 1, 0xFFFF_FFFF, 0x0700_0000, 12345] {
            assert_eq!(vitals_from_seed(seed).validate(), Ok(()));
            assert_eq!(waveform_from_seed(seed, 255).validate(), Ok(()));
        }
    }

    #[test]
    fn a_scripted_scenario_exercises_every_outcome() {
        let config = ModelConfig {
            size: 2,  // 256 bytes
            count: 2, // 4 slots
            oldest: false,
        };
        let mut ops = vec![
            Op::Vitals {
                seed: 7,
                binary: false,
            },
            Op::Vitals {
                seed: 8,
                binary: true,
            },
            Op::Waveform {
                seed: 9,
                samples: 4,
                binary: true,
            },
            Op::Poll { times: 7 },
            Op::Raw {
                frame_type: 0,
                binary: false,
                payload: b"{\"hr\":999,\"spo2\":1,\"rr\":1}".to_vec(),
            },
            Op::Heartbeat,
            // A bit of the heartbeat's timestamp (covered by the CRC). A flip in its tail
            // (past `dataSize`) would be delivered unchanged: readers never read the tail.
            Op::FlipBit {
                back: 0,
                offset: 9,
                bit: 1,
            },
            Op::TornWrite { advance: true },
            Op::Drain,
            Op::Burst { frames: 13 },
            Op::Poll { times: 0 },
            Op::FlipHeaderBit { offset: 3, bit: 0 },
            Op::Poll { times: 0 },
            Op::FlipHeaderBit { offset: 3, bit: 0 },
            Op::Drain,
        ];
        ops.push(Op::TornWrite { advance: false });
        ops.push(Op::Drain);
        let stats = Scenario { config, ops }.run().unwrap();
        assert_eq!(stats.delivered, 3 + 1, "3 records and the last burst frame");
        assert_eq!(stats.rejected, 2, "out-of-range hr and the flipped bit");
        assert_eq!(stats.overwritten, 1);
        assert_eq!(stats.lapped, 13 - 1);
    }
}
