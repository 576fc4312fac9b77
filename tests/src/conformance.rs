//! The conformance suite: one set of cases, generic over the platform, that every platform
//! (the in-process mock, Linux memfd) must pass.
//!
//! A platform implements [`Platform`]: it creates a writable region for a producer and opens a
//! reader-side (read-only) view of the same memory. Everything else — the writer, the reader,
//! the watchdog, the [`FaultInjector`] and the [`ManualClock`] — is the same code on every
//! platform, so the cases check that the platform's memory behaves like shared memory should.
//!
//! To run the suite against a platform, invoke [`conformance_tests!`](crate::conformance_tests)
//! in an integration test with an expression that makes a fresh platform:
//!
//! ```text
//! vitalring_tests::conformance_tests!(vitalring_tests::conformance::MockPlatform);
//! ```
//!
//! Cases are listed in [`crate::conformance_cases`].

use vitalring_core::frame::RejectReason;
use vitalring_core::payload;
use vitalring_core::region::Region;
use vitalring_core::slot::{
    DropCause, IndexFault, LapPolicy, Poll as SlotPoll, Reader, Start, Writer, WriterConfig,
};
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk};
use vitalring_core::Geometry;
use vitalring_mock::{FaultInjector, ManualClock, MockRegion};

/// What a platform must provide for the conformance suite.
pub trait Platform {
    /// The producer's writable view (cloned to give the fault injector its own handle).
    type WriterRegion: Region + Clone + Send + 'static;
    /// A reader's view (read-only where the platform can enforce it).
    type ReaderRegion: Region + Send + 'static;

    /// Name for messages.
    fn name(&self) -> &'static str;

    /// A fresh writable region of exactly `geometry.region_len()` bytes, not yet initialised.
    fn create(&mut self, geometry: Geometry) -> Self::WriterRegion;

    /// A reader's view of the memory behind `writer_side` (after the writer initialised it:
    /// this is where a platform does its handshake or second mapping).
    fn open_reader(&mut self, writer_side: &Self::WriterRegion) -> Self::ReaderRegion;
}

/// The in-process mock platform: shared `Arc` memory, read-only reader handles.
#[derive(Debug, Default, Clone, Copy)]
pub struct MockPlatform;

impl Platform for MockPlatform {
    type WriterRegion = MockRegion;
    type ReaderRegion = MockRegion;

    fn name(&self) -> &'static str {
        "mock"
    }

    fn create(&mut self, geometry: Geometry) -> MockRegion {
        MockRegion::new(geometry)
    }

    fn open_reader(&mut self, writer_side: &MockRegion) -> MockRegion {
        writer_side.read_only()
    }
}

/// Wall-clock start of every case's manual clock (ms since the Unix epoch).
pub const START_WALL_MS: u64 = 1_700_000_000_000;

/// A producer, one reader, a fault injector and a manual clock over one ring of a platform.
pub struct Ring<P: Platform> {
    /// The producer.
    pub writer: Writer<P::WriterRegion>,
    /// The reader under test.
    pub reader: Reader<P::ReaderRegion, Vec<u8>>,
    /// Faults, injected through the producer's writable view.
    pub injector: FaultInjector<P::WriterRegion>,
    /// Time for the writer's heartbeats and timestamps and for the watchdog.
    pub clock: ManualClock,
    /// The ring's geometry.
    pub geometry: Geometry,
}

impl<P: Platform> Ring<P> {
    /// Creates the region, initialises it with a writer (epoch 7), and attaches a reader.
    ///
    /// # Panics
    /// If the platform's region is refused by the writer or the reader.
    pub fn new(p: &mut P, geometry: Geometry, policy: LapPolicy, start: Start) -> Self {
        let clock = ManualClock::new(START_WALL_MS);
        let region = p.create(geometry);
        let injector = FaultInjector::new(region.clone(), geometry);
        let writer = Writer::create(
            region,
            WriterConfig {
                geometry,
                epoch: 7,
                created: clock.wall(),
                now: clock.wall_ms(),
            },
        )
        .unwrap_or_else(|e| panic!("{}: writer refused the region: {e}", p.name()));
        let reader_region = p.open_reader(writer.region());
        let checked = vitalring_core::Ring::new_checked(reader_region)
            .unwrap_or_else(|e| panic!("{}: reader refused the region: {e}", p.name()));
        let reader = Reader::attach(
            checked,
            vec![0u8; geometry.payload_capacity()],
            policy,
            start,
        )
        .unwrap_or_else(|e| panic!("{}: reader refused the region: {e}", p.name()));
        Self {
            writer,
            reader,
            injector,
            clock,
            geometry,
        }
    }

    /// One reader poll, decoded as the session decodes (a payload that fails is counted as
    /// rejected), checking the accounting invariant after it.
    pub fn poll(&mut self) -> Poll {
        let outcome = match self.reader.poll() {
            SlotPoll::Empty => Poll::Empty,
            SlotPoll::Frame(v) => {
                match payload::decode(v.meta.frame_type, v.meta.encoding, v.payload) {
                    Ok(record) => Poll::Delivered(Delivery {
                        index: v.index,
                        timestamp_ns: v.meta.timestamp.0,
                        encoding: v.meta.encoding,
                        record,
                    }),
                    Err(e) => {
                        let (index, reason) = (v.index, RejectReason::Payload(e));
                        self.reader.refuse_last(&reason);
                        Poll::Rejected { index, reason }
                    }
                }
            }
            SlotPoll::Dropped {
                first,
                count,
                cause,
            } => Poll::Dropped {
                first,
                count,
                cause,
            },
            SlotPoll::Rejected { index, reason } => Poll::Rejected { index, reason },
            SlotPoll::Fault(f) => Poll::Fault(f),
        };
        assert_accounting(&self.reader);
        outcome
    }

    /// Polls until empty; returns every non-empty outcome.
    pub fn drain(&mut self) -> Vec<Poll> {
        let mut out = Vec::new();
        loop {
            match self.poll() {
                Poll::Empty => return out,
                other => out.push(other),
            }
        }
    }

    /// Publishes a record at the clock's time; returns its index.
    ///
    /// # Panics
    /// If the writer refuses it.
    pub fn publish(
        &mut self,
        record: &vitalring_core::Record,
        encoding: vitalring_core::Encoding,
    ) -> u64 {
        self.writer
            .publish_record(record, encoding, self.clock.wall(), self.clock.wall_ms())
            .expect("writer accepts a valid record")
    }
}

/// A delivered, decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Ring index.
    pub index: u64,
    /// Acquisition time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The encoding it arrived in.
    pub encoding: vitalring_core::Encoding,
    /// The decoded record.
    pub record: vitalring_core::Record,
}

/// One poll of the slot layer plus the decode above it.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "test values")]
pub enum Poll {
    /// Nothing new.
    Empty,
    /// A valid frame.
    Delivered(Delivery),
    /// Lost indices.
    Dropped {
        /// First.
        first: u64,
        /// How many.
        count: u64,
        /// Why.
        cause: DropCause,
    },
    /// A rejected frame.
    Rejected {
        /// Index.
        index: u64,
        /// Why.
        reason: RejectReason,
    },
    /// `writeIndex` implausible.
    Fault(IndexFault),
}

/// Asserts `counters.accounted() == moved_past()`.
///
/// # Panics
/// If the invariant is broken.
pub fn assert_accounting<R: Region, S: AsMut<[u8]>>(reader: &Reader<R, S>) {
    assert_eq!(
        reader.counters().accounted(),
        reader.moved_past(),
        "accounting invariant broken: {:?}",
        reader.counters()
    );
}

/// A geometry that is known to be valid.
///
/// # Panics
/// If it is not.
pub fn geometry(frame_size: u32, frame_count: u32) -> Geometry {
    Geometry::new(frame_size, frame_count).expect("valid test geometry")
}

/// A vitals record with every optional field present; the temperature is exact in 0.01 °C.
pub fn vitals_full(hr: u16) -> VitalsRecord {
    VitalsRecord {
        hr_bpm: hr,
        spo2_pct: 98,
        rr_rpm: 14,
        nibp: Some(Nibp {
            systolic_mmhg: 120,
            diastolic_mmhg: 80,
            mean_mmhg: 93,
        }),
        temp_c: Some(36.75),
        pulse_rate_bpm: Some(hr),
    }
}

/// A vitals record with only the required fields.
pub fn vitals_min(hr: u16) -> VitalsRecord {
    VitalsRecord {
        hr_bpm: hr,
        spo2_pct: 95,
        rr_rpm: 12,
        ..VitalsRecord::default()
    }
}

/// A waveform chunk of `n` samples (1..=128) starting at sample `first`.
pub fn chunk(channel: Channel, n: usize, first: u64) -> WaveformChunk {
    let mut samples = heapless::Vec::new();
    for k in 0..n {
        let v = (k as i32 - 60) * 37 + if k % 2 == 0 { i32::MIN / 3 } else { 1000 };
        samples.push(v).expect("at most 128 samples");
    }
    WaveformChunk {
        channel,
        fs_hz: 250,
        first,
        samples,
    }
}

/// Generates one `#[test]` per conformance case for the platform made by `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            round_trip_json,
            round_trip_binary,
            heartbeats_and_raw_payloads,
            reader_view_is_read_only,
            lap_latest_exact_drops,
            lap_oldest_exact_drops,
            exactly_frame_count_ahead_is_not_a_lap,
            start_positions,
            torn_writes_never_delivered,
            corrupt_slots_rejected_with_reason,
            single_bit_flips_never_delivered,
            bad_payloads_rejected_with_reason,
            stall_after_250ms_not_before_and_recovery,
            live_idle_writer_never_stalls,
            header_tampering_detected,
            attach_refuses_bad_header,
            accounting_holds_through_mixed_faults,
            concurrent_writer_and_reader,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                let mut platform = $make;
                $crate::conformance_cases::$case(&mut platform);
            }
        )+
    };
}
