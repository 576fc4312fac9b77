//! [`MockSensorDataSource`]: a scripted producer and the core's reader [`Session`] behind
//! core's [`SensorDataSource`] contract.
//!
//! The script is a list of [`ScriptStep`]s. Each [`SensorDataSource::poll_events`] call runs
//! the steps up to and including the next [`ScriptStep::Poll`] (or to the end), then does what
//! the Linux source does on one wake-up: it polls the session at the manual clock's monotonic
//! time until it has nothing more to do, and — when the session says the producer stalled,
//! stopped, or the ring is faulty — "re-handshakes" with the current producer (its ring,
//! validated anew) and hands it to [`Session::reattach`] if the session wants it.
//!
//! Everything the reader does is the session's: this file only steps the script. The same
//! script gives the same events on every run.

use std::collections::VecDeque;
use std::time::Duration;

use vitalring_core::frame::{FrameMeta, WriteError};
use vitalring_core::layout::{Encoding, FrameType, HeaderError};
use vitalring_core::payload::Record;
use vitalring_core::session::{Next, Session, SessionConfig, SessionStats};
use vitalring_core::slot::{LapPolicy, ScratchTooSmall, Start, Writer, WriterConfig};
use vitalring_core::source::{
    ConnectionState, DataSourceInfo, HandshakeProblem, SensorDataSource, SensorError, SensorEvent,
};
use vitalring_core::time::Nanos;
use vitalring_core::vitals::{VitalsRecord, WaveformChunk};
use vitalring_core::watchdog::DEFAULT_TIMEOUT;
use vitalring_core::{Geometry, Ring};

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
    /// The producer stops cleanly (its ring is marked "producer stopped"); a later
    /// [`ScriptStep::Restart`] brings a new one.
    Stop,
    /// Overwrite `writeIndex` with `value` (a hostile or broken writer; the writer's own next
    /// publish stores its real index again).
    SetWriteIndex(u64),
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
    /// Stall timeout of reader time ([`DEFAULT_TIMEOUT`], 250 ms, by default).
    pub stall_timeout: Nanos,
    /// Wall-clock time at monotonic 0, ms since the Unix epoch.
    pub start_wall_ms: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            channel: "mock",
            // 64 slots of 512 bytes: the largest JSON chunk the simulator sends (10 samples)
            // fits with margin.
            geometry: match Geometry::new(512, 64) {
                Ok(g) => g,
                Err(_) => Geometry::DEFAULT,
            },
            epoch: 1,
            lap_policy: LapPolicy::Latest,
            stall_timeout: DEFAULT_TIMEOUT,
            start_wall_ms: 1_700_000_000_000,
        }
    }
}

/// Why the mock failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockError {
    /// The ring's header did not validate.
    Header(HeaderError),
    /// The reader's scratch buffer is too small for the ring.
    Scratch(ScratchTooSmall),
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
            Self::Header(e) => write!(f, "mock reader refused the ring: {e}"),
            Self::Scratch(e) => write!(f, "mock reader could not attach: {e}"),
            Self::Init(e) => write!(f, "mock producer could not start: {e}"),
            Self::Write(e) => write!(f, "scripted publish failed: {e}"),
            Self::Fault(e) => write!(f, "scripted fault failed: {e}"),
        }
    }
}

impl std::error::Error for MockError {}

type MockSession = Session<MockRegion, Vec<u8>>;

struct Producer {
    writer: Option<Writer<MockRegion>>,
    region: MockRegion,
    injector: FaultInjector<MockRegion>,
}

impl Producer {
    fn new(config: &MockConfig, epoch: u64, clock: &ManualClock) -> Result<Self, MockError> {
        let region = MockRegion::new(config.geometry);
        let injector = FaultInjector::new(region.clone(), config.geometry);
        let writer = Writer::create(
            region.clone(),
            WriterConfig {
                geometry: config.geometry,
                epoch,
                created: clock.wall(),
                now: clock.wall_ms(),
            },
        )
        .map_err(MockError::Init)?;
        Ok(Self {
            writer: Some(writer),
            region,
            injector,
        })
    }

    /// What a handshake would hand a reader: the ring, validated.
    fn offer(&self, geometry: Geometry) -> Result<(Ring<MockRegion>, Vec<u8>), MockError> {
        let ring = Ring::new_checked(self.region.read_only()).map_err(MockError::Header)?;
        let cap = ring.header().geometry().payload_capacity();
        let _ = geometry;
        Ok((ring, vec![0u8; cap]))
    }
}

/// A deterministic [`SensorDataSource`] that replays a script (see the module docs).
pub struct MockSensorDataSource {
    config: MockConfig,
    clock: ManualClock,
    script: VecDeque<ScriptStep>,
    producer: Producer,
    session: Option<MockSession>,
    active: bool,
    pending: Vec<SensorEvent>,
    script_errors: Vec<MockError>,
}

impl core::fmt::Debug for MockSensorDataSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockSensorDataSource")
            .field("config", &self.config)
            .field("steps_left", &self.script.len())
            .field("active", &self.active)
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
            session: None,
            active: false,
            pending: Vec::new(),
            script_errors: Vec::new(),
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

    /// Frames the current producer has published (0 after it stopped).
    pub fn published(&self) -> u64 {
        self.producer.writer.as_ref().map_or(0, Writer::published)
    }

    /// The current producer's epoch.
    pub fn producer_epoch(&self) -> u64 {
        self.producer.region.epoch()
    }

    /// Runs [`SensorDataSource::poll_events`] until the script is exhausted, collecting every
    /// event; stops early if the source is not active.
    pub fn run_to_end(&mut self) -> Vec<SensorEvent> {
        let mut events = Vec::new();
        loop {
            self.poll_events(&mut |e| events.push(e));
            if self.script.is_empty() || !self.active {
                break;
            }
        }
        events
    }

    fn run_step(&mut self, step: ScriptStep) -> Result<(), MockError> {
        let now = self.clock.wall_ms();
        let ts = self.clock.wall();
        if let ScriptStep::Restart { epoch } = step {
            self.producer = Producer::new(&self.config, epoch, &self.clock)?;
            return Ok(());
        }
        if let ScriptStep::Advance(d) = step {
            self.clock.advance(d);
            return Ok(());
        }
        let Some(w) = self.producer.writer.as_mut() else {
            // A stopped producer does nothing until a restart.
            return Ok(());
        };
        match step {
            ScriptStep::Vitals(v, enc) => {
                w.publish_record(&Record::Vitals(v), enc, ts, now)
                    .map_err(MockError::Write)?;
            }
            ScriptStep::Waveform(c, enc) => {
                w.publish_record(&Record::Waveform(c), enc, ts, now)
                    .map_err(MockError::Write)?;
            }
            ScriptStep::HeartbeatFrame => {
                w.publish_heartbeat(ts, now);
            }
            ScriptStep::Heartbeat => w.heartbeat(now),
            ScriptStep::Raw {
                frame_type,
                encoding,
                payload,
            } => {
                let meta = FrameMeta {
                    frame_type,
                    encoding,
                    timestamp: ts,
                };
                w.publish(meta, &payload, now).map_err(MockError::Write)?;
            }
            ScriptStep::Idle { total, every } => {
                let every = every.max(Duration::from_nanos(1));
                let mut left = total;
                while !left.is_zero() {
                    let d = every.min(left);
                    self.clock.advance(d);
                    left -= d;
                    w.heartbeat(self.clock.wall_ms());
                }
            }
            ScriptStep::Fault(f) => self.inject(f)?,
            ScriptStep::Stop => {
                if let Some(w) = self.producer.writer.take() {
                    drop(w.stop());
                }
            }
            ScriptStep::SetWriteIndex(value) => self.producer.injector.set_write_index(value),
            ScriptStep::Restart { .. } | ScriptStep::Advance(_) | ScriptStep::Poll => {}
        }
        Ok(())
    }

    fn inject(&mut self, f: Fault) -> Result<(), MockError> {
        let p = &mut self.producer;
        let Some(writer) = p.writer.as_mut() else {
            return Ok(());
        };
        let newest = writer.published().checked_sub(1);
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
                    timestamp: self.clock.wall(),
                };
                p.injector
                    .torn_publish(writer, meta, &[], self.clock.wall_ms())
                    .map(|_| ())
            }
            Fault::TornWrite {
                advance_write_index: false,
            } => p.injector.tear(writer.published()),
            Fault::Lap { frames } => {
                fault::lap(writer, frames, self.clock.wall(), self.clock.wall_ms());
                Ok(())
            }
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

    /// One wake-up of the reader side: poll the session until it is idle, re-attaching when
    /// it asks for it and the producer offers a ring it wants.
    fn service(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let now = self.clock.now();
        let sink = &mut |e| self.pending.push(e);
        // Bounded: a session handles a batch per poll, so this drains any backlog the ring
        // can hold plus a re-attach.
        for _ in 0..(self.config.geometry.frame_count() as usize + 8) {
            match session.poll(now, sink) {
                Next::Busy => continue,
                Next::Idle { .. } => break,
                Next::Stalled | Next::Stopped | Next::NeedsReattach => {
                    let epoch = self.producer.region.epoch();
                    if !session.wants(epoch, now) {
                        break;
                    }
                    match self.producer.offer(self.config.geometry) {
                        Ok((ring, scratch)) => {
                            if let Err(e) = session.reattach(ring, scratch, now, sink) {
                                self.script_errors.push(MockError::Scratch(e));
                                break;
                            }
                        }
                        Err(_) => {
                            // The producer offers a ring that does not validate: report it
                            // once per wake-up, as a failed handshake, and stay put.
                            sink(SensorEvent::Error(SensorError::Handshake(
                                HandshakeProblem::BadRing,
                            )));
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl SensorDataSource for MockSensorDataSource {
    type Error = MockError;

    fn start(&mut self) -> Result<(), MockError> {
        if self.active {
            return Ok(());
        }
        let (ring, scratch) = self.producer.offer(self.config.geometry)?;
        let config = SessionConfig {
            lap_policy: self.config.lap_policy,
            start: Start::Next,
            stall_timeout: self.config.stall_timeout,
            ..SessionConfig::default()
        };
        let session =
            Session::new(ring, scratch, config, self.clock.now()).map_err(MockError::Scratch)?;
        self.pending.push(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(session.epoch()),
        });
        self.session = Some(session);
        self.active = true;
        Ok(())
    }

    /// Reports the stop as one `Connection { Disconnected }` after the events already pending
    /// (as the other data sources do); nothing follows it.
    fn stop(&mut self) {
        if !self.active {
            return;
        }
        self.active = false;
        self.session = None;
        self.pending.push(SensorEvent::Connection {
            state: ConnectionState::Disconnected,
            epoch: None,
        });
    }

    fn is_active(&self) -> bool {
        self.active
    }

    fn info(&self) -> DataSourceInfo {
        let mut channel = heapless::String::new();
        for c in self.config.channel.chars() {
            if channel.push(c).is_err() {
                break;
            }
        }
        let s = self.session.as_ref();
        DataSourceInfo {
            kind: "mock",
            channel,
            epoch: s.map(Session::epoch),
            frame_size: s.map(|s| s.reader().geometry().frame_size()),
            frame_count: s.map(|s| s.reader().geometry().frame_count()),
        }
    }

    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        if !self.active {
            let n = self.pending.len();
            for e in self.pending.drain(..) {
                sink(e);
            }
            return n;
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

    fn stats(&self) -> Option<SessionStats> {
        self.session.as_ref().map(Session::stats)
    }
}
