//! [`MockSensorDataSource`]: a scripted producer, a real core reader and a real watchdog
//! behind core's [`SensorDataSource`] contract.
//!
//! The script is a list of [`ScriptStep`]s. Each [`SensorDataSource::poll_events`] call runs
//! the steps up to and including the next [`ScriptStep::Poll`] (or to the end), then does what
//! the Linux source does on one wake-up:
//!
//! 1. feeds the heartbeat to the [`Watchdog`] at the manual clock's monotonic time and reports
//!    `Error{Stalled}` + `Connection{Stalled}` on a stall, `Connection{Connected}` on recovery;
//! 2. while stalled, notices a restarted producer (another epoch) and re-attaches to its new
//!    ring (`Connection{Reconnecting}`, then `Connection{Connected}` with the new epoch);
//! 3. re-checks the ring header and reports `Error{Header}` once per change;
//! 4. drains the reader: vitals and waveform frames become events, heartbeat frames are
//!    silent, drops and rejections become `Error` events with their kind.
//!
//! Everything is deterministic: the same script gives the same events.

use std::collections::VecDeque;
use std::time::Duration;

use vitalring_core::frame::{FrameMeta, WriteError};
use vitalring_core::layout::{Encoding, FrameType};
use vitalring_core::payload::Record;
use vitalring_core::slot::{
    Counters, DropCause, LapPolicy, Poll, Reader, Start, Writer, WriterConfig,
};
use vitalring_core::source::{
    ConnectionState, DataSourceInfo, SensorDataSource, SensorError, SensorErrorKind, SensorEvent,
};
use vitalring_core::vitals::{VitalsRecord, WaveformChunk};
use vitalring_core::watchdog::{Watchdog, WatchdogEvent, DEFAULT_TIMEOUT_NS};
use vitalring_core::{AttachError, Geometry};

use crate::fault::{self, FaultError, FaultInjector};
use crate::{ManualClock, MockRegion};

/// A fault for [`ScriptStep::Fault`]. Slot faults name a frame by `back`: 0 is the newest frame
/// published, 1 the one before, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Flip bit `bit` of byte `offset` of a published frame's slot.
    FlipBit {
        /// Frames back from the newest.
        back: u64,
        /// Byte in the slot.
        offset: usize,
        /// Bit 0..8.
        bit: u8,
    },
    /// Overwrite the word at byte `offset` (multiple of 4) of a published frame's slot.
    PokeSlotWord {
        /// Frames back from the newest.
        back: u64,
        /// Byte in the slot.
        offset: usize,
        /// New value.
        value: u32,
    },
    /// The writer stops half-way through a frame ([`FaultInjector::tear`]). With
    /// `advance_write_index` a heartbeat frame is published first and then torn (readers
    /// must drop it); without, the writer's next slot is torn and `writeIndex` stays.
    TornWrite {
        /// Whether `writeIndex` covers the torn slot.
        advance_write_index: bool,
    },
    /// Publish this many heartbeat frames in one go (more than `frameCount` laps a reader
    /// that has not polled).
    Lap {
        /// Frames to publish.
        frames: u64,
    },
    /// Flip bit `bit` of header byte `offset` (`[0, 16)` or `[32, 80)`).
    FlipHeaderBit {
        /// Header byte.
        offset: usize,
        /// Bit 0..8.
        bit: u8,
    },
    /// Rewrite the header geometry under the live reader.
    RewriteGeometry {
        /// New `frameSizeBytes`, if any.
        frame_size: Option<u32>,
        /// New `frameCount`, if any.
        frame_count: Option<u32>,
        /// Whether the header CRC is fixed up afterwards.
        fix_crc: bool,
    },
}

/// One step of a mock producer's script.
// A waveform chunk is ~520 bytes; scripts are short test data, so boxing would only make
// them harder to write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptStep {
    /// Publish a vitals record (timestamp: the wall clock).
    Vitals(VitalsRecord, Encoding),
    /// Publish a waveform chunk.
    Waveform(WaveformChunk, Encoding),
    /// Publish a type-3 heartbeat frame.
    HeartbeatFrame,
    /// Refresh `heartbeatTimestamp` without a frame (an idle, live writer).
    Heartbeat,
    /// Publish a frame with an arbitrary payload (malformed JSON, out-of-range values...).
    Raw {
        /// Frame type.
        frame_type: FrameType,
        /// Encoding byte.
        encoding: Encoding,
        /// Payload bytes, as they go on the wire.
        payload: Vec<u8>,
    },
    /// Advance the manual clock (both faces). The writer does nothing meanwhile.
    Advance(Duration),
    /// Advance the clock by `total` in steps of `every`, refreshing the heartbeat after each
    /// step: a live writer with nothing to send.
    Idle {
        /// Total time.
        total: Duration,
        /// Heartbeat period (at most 50 ms for a healthy writer).
        every: Duration,
    },
    /// Inject a fault.
    Fault(Fault),
    /// The producer restarts: a new ring with a new epoch replaces the old one, whose
    /// heartbeat stops for good.
    Restart {
        /// The new producer's epoch (non-zero).
        epoch: u64,
    },
    /// End of a tick: [`SensorDataSource::poll_events`] stops here and the reader runs.
    Poll,
}

/// How a [`MockSensorDataSource`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Channel name reported by `info`.
    pub channel: &'static str,
    /// Ring geometry.
    pub geometry: Geometry,
    /// First producer epoch (non-zero).
    pub epoch: u64,
    /// Lap policy of the reader.
    pub lap_policy: LapPolicy,
    /// Stall timeout, ns of reader time ([`DEFAULT_TIMEOUT_NS`], 250 ms, by default).
    pub stall_timeout_ns: u64,
    /// Wall-clock time at monotonic 0, ms since the Unix epoch.
    pub start_wall_ms: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            channel: "mock",
            // 64 slots of 512 bytes: room for a 128-sample JSON waveform chunk... almost; the
            // largest JSON chunk the simulator sends (10 samples) fits with margin.
            geometry: match Geometry::new(512, 64) {
                Ok(g) => g,
                Err(_) => Geometry::DEFAULT,
            },
            epoch: 1,
            lap_policy: LapPolicy::Latest,
            stall_timeout_ns: DEFAULT_TIMEOUT_NS,
            start_wall_ms: 1_700_000_000_000,
        }
    }
}

/// Why the mock failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockError {
    /// The reader refused the ring.
    Attach(AttachError),
    /// The producer could not create its ring (zero epoch, ...).
    Init(vitalring_core::slot::InitError),
    /// A scripted publish failed (payload too large, invalid record).
    Write(WriteError),
    /// A scripted fault could not be injected.
    Fault(FaultError),
}

impl core::fmt::Display for MockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Attach(e) => write!(f, "mock reader could not attach: {e}"),
            Self::Init(e) => write!(f, "mock producer could not start: {e}"),
            Self::Write(e) => write!(f, "scripted publish failed: {e}"),
            Self::Fault(e) => write!(f, "scripted fault failed: {e}"),
        }
    }
}

impl std::error::Error for MockError {}

type MockReader = Reader<MockRegion, Vec<u8>>;

struct Producer {
    writer: Writer<MockRegion>,
    injector: FaultInjector<MockRegion>,
}

impl Producer {
    fn new(config: &MockConfig, epoch: u64, clock: &ManualClock) -> Result<Self, MockError> {
        let region = MockRegion::new(config.geometry);
        let injector = FaultInjector::new(region.clone(), config.geometry);
        let writer = Writer::create(
            region,
            WriterConfig {
                geometry: config.geometry,
                epoch,
                created_unix_ns: clock.wall_ns(),
                now_ms: clock.wall_ms(),
            },
        )
        .map_err(MockError::Init)?;
        Ok(Self { writer, injector })
    }
}

struct Attached {
    reader: MockReader,
    watchdog: Watchdog,
    header_bad: bool,
}

/// A deterministic [`SensorDataSource`] that replays a script (see the module docs).
pub struct MockSensorDataSource {
    config: MockConfig,
    clock: ManualClock,
    script: VecDeque<ScriptStep>,
    producer: Producer,
    attached: Option<Attached>,
    pending: Vec<SensorEvent>,
    script_errors: Vec<MockError>,
    finished_counters: Counters,
}

impl core::fmt::Debug for MockSensorDataSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockSensorDataSource")
            .field("config", &self.config)
            .field("steps_left", &self.script.len())
            .field("active", &self.attached.is_some())
            .finish()
    }
}

impl MockSensorDataSource {
    /// A stopped source whose producer has created its ring (nothing published yet).
    ///
    /// # Errors
    /// [`MockError::Init`] for a zero epoch.
    pub fn new(
        config: MockConfig,
        script: impl IntoIterator<Item = ScriptStep>,
    ) -> Result<Self, MockError> {
        let clock = ManualClock::new(config.start_wall_ms);
        let producer = Producer::new(&config, config.epoch, &clock)?;
        Ok(Self {
            config,
            clock,
            script: script.into_iter().collect(),
            producer,
            attached: None,
            pending: Vec::new(),
            script_errors: Vec::new(),
            finished_counters: Counters::default(),
        })
    }

    /// The manual clock (a shared handle: advancing it moves the source's time).
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Appends steps to the script.
    pub fn push_steps(&mut self, steps: impl IntoIterator<Item = ScriptStep>) {
        self.script.extend(steps);
    }

    /// Steps not yet run.
    pub fn steps_left(&self) -> usize {
        self.script.len()
    }

    /// Scripted steps that failed (they are skipped, never panicked on).
    pub fn script_errors(&self) -> &[MockError] {
        &self.script_errors
    }

    /// The current producer's writer (its region, published count, epoch).
    pub fn writer(&self) -> &Writer<MockRegion> {
        &self.producer.writer
    }

    /// The reader's counters (of the current ring), if started.
    pub fn counters(&self) -> Option<Counters> {
        self.attached.as_ref().map(|a| *a.reader.counters())
    }

    /// Counters of the rings the reader left behind (after a producer restart).
    pub fn previous_counters(&self) -> Counters {
        self.finished_counters
    }

    /// Indices the current reader moved past (always equals `counters().accounted()`).
    pub fn moved_past(&self) -> Option<u64> {
        self.attached.as_ref().map(|a| a.reader.moved_past())
    }

    /// Runs [`SensorDataSource::poll_events`] until the script is exhausted, collecting every
    /// event; stops early if the source is not active.
    pub fn run_to_end(&mut self) -> Vec<SensorEvent> {
        let mut events = Vec::new();
        loop {
            self.poll_events(&mut |e| events.push(e));
            if self.script.is_empty() || self.attached.is_none() {
                break;
            }
        }
        events
    }

    fn run_step(&mut self, step: ScriptStep) -> Result<(), MockError> {
        let now_ms = self.clock.wall_ms();
        let ts = self.clock.wall_ns();
        let w = &mut self.producer.writer;
        match step {
            ScriptStep::Vitals(v, enc) => {
                w.publish_record(&Record::Vitals(v), enc, ts, now_ms)
                    .map_err(MockError::Write)?;
            }
            ScriptStep::Waveform(c, enc) => {
                w.publish_record(&Record::Waveform(c), enc, ts, now_ms)
                    .map_err(MockError::Write)?;
            }
            ScriptStep::HeartbeatFrame => {
                w.publish_heartbeat(ts, now_ms).map_err(MockError::Write)?;
            }
            ScriptStep::Heartbeat => w.heartbeat(now_ms),
            ScriptStep::Raw {
                frame_type,
                encoding,
                payload,
            } => {
                let meta = FrameMeta {
                    frame_type,
                    encoding,
                    timestamp_ns: ts,
                };
                w.publish(meta, &payload, now_ms)
                    .map_err(MockError::Write)?;
            }
            ScriptStep::Advance(d) => self.clock.advance(d),
            ScriptStep::Idle { total, every } => {
                let every = every.max(Duration::from_nanos(1));
                let mut left = total;
                while !left.is_zero() {
                    let d = every.min(left);
                    self.clock.advance(d);
                    left -= d;
                    self.producer.writer.heartbeat(self.clock.wall_ms());
                }
            }
            ScriptStep::Fault(f) => self.inject(f)?,
            ScriptStep::Restart { epoch } => {
                self.producer = Producer::new(&self.config, epoch, &self.clock)?;
            }
            ScriptStep::Poll => {}
        }
        Ok(())
    }

    fn inject(&mut self, f: Fault) -> Result<(), MockError> {
        let p = &mut self.producer;
        let newest = p.writer.published().checked_sub(1);
        let back = |n: u64| newest.and_then(|i| i.checked_sub(n));
        let r = match f {
            Fault::FlipBit {
                back: b,
                offset,
                bit,
            } => match back(b) {
                Some(i) => p.injector.flip_slot_bit(i, offset, bit),
                None => Ok(()),
            },
            Fault::PokeSlotWord {
                back: b,
                offset,
                value,
            } => match back(b) {
                Some(i) => p.injector.poke_slot_word(i, offset, value),
                None => Ok(()),
            },
            Fault::TornWrite {
                advance_write_index: true,
            } => {
                let meta = FrameMeta {
                    frame_type: FrameType::Heartbeat,
                    encoding: Encoding::Json,
                    timestamp_ns: self.clock.wall_ns(),
                };
                p.injector
                    .torn_publish(&mut p.writer, meta, &[], self.clock.wall_ms())
                    .map(|_| ())
            }
            Fault::TornWrite {
                advance_write_index: false,
            } => p.injector.tear(p.writer.published()),
            Fault::Lap { frames } => fault::lap(
                &mut p.writer,
                frames,
                self.clock.wall_ns(),
                self.clock.wall_ms(),
            )
            .map(|_| ()),
            Fault::FlipHeaderBit { offset, bit } => p.injector.flip_header_bit(offset, bit),
            Fault::RewriteGeometry {
                frame_size,
                frame_count,
                fix_crc,
            } => p
                .injector
                .rewrite_geometry(frame_size, frame_count, fix_crc),
        };
        r.map_err(MockError::Fault)
    }

    fn attach(&self, start: Start) -> Result<Attached, AttachError> {
        let region = self.producer.writer.region().read_only();
        let scratch = vec![0u8; self.config.geometry.payload_capacity()];
        let reader = Reader::attach(region, scratch, self.config.lap_policy, start)?;
        let watchdog = Watchdog::new(
            self.config.stall_timeout_ns,
            reader.heartbeat_ms(),
            self.clock.now_ns(),
        );
        Ok(Attached {
            reader,
            watchdog,
            header_bad: false,
        })
    }

    fn connected(epoch: u64) -> SensorEvent {
        SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(epoch),
        }
    }

    /// One wake-up of the reader side (see the module docs); events go to `self.pending`.
    fn service(&mut self) {
        let now_ns = self.clock.now_ns();
        let producer_epoch = self.producer.writer.epoch();
        let Some(a) = self.attached.as_mut() else {
            return;
        };
        let epoch = a.reader.epoch();
        match a.watchdog.poll(a.reader.heartbeat_ms(), now_ns) {
            Some(WatchdogEvent::Stalled { age_ns }) => {
                self.pending.push(SensorEvent::Error(SensorError {
                    heartbeat_age_ns: Some(age_ns),
                    ..SensorError::new(SensorErrorKind::Stalled)
                }));
                self.pending.push(SensorEvent::Connection {
                    state: ConnectionState::Stalled,
                    epoch: Some(epoch),
                });
            }
            Some(WatchdogEvent::Recovered { .. }) => self.pending.push(Self::connected(epoch)),
            None => {}
        }
        if a.watchdog.is_stalled() && producer_epoch != epoch {
            // The producer restarted: drain what the old ring still holds, then re-attach.
            Self::drain(&mut a.reader, &mut self.pending);
            self.pending.push(SensorEvent::Connection {
                state: ConnectionState::Reconnecting,
                epoch: Some(epoch),
            });
            let old = *a.reader.counters();
            add_counters(&mut self.finished_counters, &old);
            // A restarted producer may already have published: start with the oldest frame
            // its ring holds, so nothing it sent since is lost.
            match self.attach(Start::Oldest) {
                Ok(new) => {
                    self.pending.push(Self::connected(new.reader.epoch()));
                    self.attached = Some(new);
                }
                Err(e) => {
                    self.pending.push(SensorEvent::Error(SensorError::new(
                        SensorErrorKind::Header,
                    )));
                    self.script_errors.push(MockError::Attach(e));
                    self.attached = None;
                    self.pending.push(SensorEvent::Connection {
                        state: ConnectionState::Disconnected,
                        epoch: None,
                    });
                    return;
                }
            }
        }
        let Some(a) = self.attached.as_mut() else {
            return;
        };
        let header_ok = a.reader.check_header().is_ok();
        if !header_ok && !a.header_bad {
            self.pending.push(SensorEvent::Error(SensorError::new(
                SensorErrorKind::Header,
            )));
        }
        a.header_bad = !header_ok;
        Self::drain(&mut a.reader, &mut self.pending);
    }

    fn drain(reader: &mut MockReader, out: &mut Vec<SensorEvent>) {
        loop {
            match reader.poll() {
                Poll::Empty => return,
                Poll::Delivered(d) => match d.record {
                    Record::Vitals(record) => out.push(SensorEvent::Vitals {
                        timestamp_ns: d.timestamp_ns,
                        index: d.index,
                        record,
                    }),
                    Record::Waveform(chunk) => out.push(SensorEvent::Waveform {
                        timestamp_ns: d.timestamp_ns,
                        index: d.index,
                        chunk,
                    }),
                    Record::Heartbeat => {}
                },
                Poll::Dropped {
                    first,
                    count,
                    cause,
                } => {
                    let _: DropCause = cause;
                    out.push(SensorEvent::Error(SensorError {
                        index: Some(first),
                        count,
                        ..SensorError::new(SensorErrorKind::Dropped)
                    }));
                }
                Poll::Rejected { index, reason } => {
                    out.push(SensorEvent::Error(SensorError {
                        index: Some(index),
                        reason: Some(reason),
                        ..SensorError::new(SensorErrorKind::of_rejection(&reason))
                    }));
                }
            }
        }
    }
}

fn add_counters(total: &mut Counters, c: &Counters) {
    total.delivered += c.delivered;
    total.dropped_lapped += c.dropped_lapped;
    total.dropped_overwritten += c.dropped_overwritten;
    let (t, r) = (&mut total.rejected, &c.rejected);
    t.crc += r.crc;
    t.sequence += r.sequence;
    t.data_size += r.data_size;
    t.padding += r.padding;
    t.frame_type += r.frame_type;
    t.encoding += r.encoding;
    t.malformed += r.malformed;
    t.out_of_range += r.out_of_range;
}

impl SensorDataSource for MockSensorDataSource {
    type Error = MockError;

    fn start(&mut self) -> Result<(), MockError> {
        if self.attached.is_some() {
            return Ok(());
        }
        let a = self.attach(Start::Next).map_err(MockError::Attach)?;
        self.pending.push(Self::connected(a.reader.epoch()));
        self.attached = Some(a);
        Ok(())
    }

    fn stop(&mut self) {
        self.attached = None;
        self.pending.clear();
    }

    fn is_active(&self) -> bool {
        self.attached.is_some()
    }

    fn info(&self) -> DataSourceInfo {
        let mut channel = heapless::String::new();
        for c in self.config.channel.chars() {
            if channel.push(c).is_err() {
                break;
            }
        }
        let attached = self.attached.as_ref().map(|a| &a.reader);
        DataSourceInfo {
            kind: "mock",
            channel,
            epoch: attached.map(|r| r.epoch()),
            frame_size: attached.map(|r| r.geometry().frame_size()),
            frame_count: attached.map(|r| r.geometry().frame_count()),
        }
    }

    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        if self.attached.is_none() {
            return 0;
        }
        while let Some(step) = self.script.pop_front() {
            if step == ScriptStep::Poll {
                break;
            }
            if let Err(e) = self.run_step(step) {
                self.script_errors.push(e);
            }
        }
        self.service();
        let n = self.pending.len();
        for e in self.pending.drain(..) {
            sink(e);
        }
        n
    }
}
