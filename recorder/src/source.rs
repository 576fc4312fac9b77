//! A recording as a data source in this process: [`ReplayDataSource`].
//!
//! The recording's frames (in publication order, see [`crate::replay`]) are written into an
//! in-process ring (the mock platform's region) by the core's writer, at their recorded pace
//! divided by a speed, and read back by the core's reader [`Session`] — the same checks, events
//! and counters as every other data source. It is what the sensor-integration design calls a
//! `ReplayDataSource`: recorded data for debugging a specific scenario, with no producer
//! process. (`vitalring replay` is the other way to replay: a producer process that every
//! reader can attach to.)
//!
//! Timestamps are the replay's clock, `start + (t − t0) / speed`, as in `vitalring replay`:
//! readers reject frame times far from the ring's creation, so the original (possibly
//! day-old) times could not be shown as current. When the last frame has been published the
//! ring is marked "producer stopped", so a consumer sees the end of the recording as the
//! documented `producer_stopped` state, never as a stall.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vitalring_core::session::{Next, Session, SessionConfig, SessionStats};
use vitalring_core::slot::{InitError, ScratchTooSmall, Start, Writer, WriterConfig};
use vitalring_core::source::{ConnectionState, DataSourceInfo, SensorDataSource, SensorEvent};
use vitalring_core::time::{MonoNs, UnixNs};
use vitalring_core::{Geometry, Ring};
use vitalring_mock::MockRegion;

use crate::h5::{H5Error, Recording};
use crate::replay::{plan, rebuild, Planned, RowError};

/// Why a [`ReplayDataSource`] could not be made or started.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplaySourceError {
    /// The file is not a readable recording.
    Read(H5Error),
    /// The recording holds no frame.
    Empty,
    /// The speed is not a positive, finite number.
    Speed,
    /// The writer refused the recording's ring geometry.
    Init(InitError),
    /// The ring's header did not validate (cannot happen for a ring the writer just created).
    Header(vitalring_core::layout::HeaderError),
    /// The reader's buffer does not fit the ring (cannot happen: it is sized from it).
    Scratch(ScratchTooSmall),
}

impl core::fmt::Display for ReplaySourceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Read(e) => write!(f, "{e}"),
            Self::Empty => write!(f, "the recording holds no frame to replay"),
            Self::Speed => write!(f, "the replay speed must be a positive number"),
            Self::Init(e) => write!(f, "in-process ring: {e}"),
            Self::Header(e) => write!(f, "in-process ring: {e}"),
            Self::Scratch(e) => write!(f, "in-process ring: {e}"),
        }
    }
}

impl std::error::Error for ReplaySourceError {}

fn wall_now() -> UnixNs {
    UnixNs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    )
}

/// A recording replayed into an in-process ring and read by the core's session (see the
/// module docs).
pub struct ReplayDataSource {
    rec: Recording,
    plan: Vec<Planned>,
    next: usize,
    t0: u64,
    speed: f64,
    writer: Writer<MockRegion>,
    session: Option<Session<MockRegion, Vec<u8>>>,
    start: Instant,
    start_wall: UnixNs,
    pending: Vec<SensorEvent>,
    unreplayable: u64,
    stopped_mark: bool,
}

impl core::fmt::Debug for ReplayDataSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayDataSource")
            .field("channel", &self.rec.channel)
            .field("frames", &self.plan.len())
            .field("next", &self.next)
            .field("published", &self.writer.published())
            .finish_non_exhaustive()
    }
}

impl ReplayDataSource {
    /// Reads the recording at `path`; see [`ReplayDataSource::new`].
    ///
    /// # Errors
    /// As [`ReplayDataSource::new`], and [`ReplaySourceError::Read`].
    pub fn open(path: &Path, speed: f64) -> Result<Self, ReplaySourceError> {
        Self::new(
            crate::h5::read(path).map_err(ReplaySourceError::Read)?,
            speed,
        )
    }

    /// A stopped source replaying `rec` at `speed` times its recorded pace, into a ring of the
    /// recording's geometry. Its time starts now.
    ///
    /// # Errors
    /// An empty recording, a speed that is not positive, or a geometry the writer refuses.
    pub fn new(rec: Recording, speed: f64) -> Result<Self, ReplaySourceError> {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(ReplaySourceError::Speed);
        }
        let plan = plan(&rec);
        let t0 = plan.first().ok_or(ReplaySourceError::Empty)?.time_ns;
        let geometry = Geometry::new(rec.frame_size, rec.frame_count).unwrap_or(Geometry::DEFAULT);
        let start_wall = wall_now();
        let writer = Writer::create(
            MockRegion::new(geometry),
            WriterConfig {
                geometry,
                epoch: rec.first_epoch | 1,
                created: start_wall,
                now: start_wall.as_ms(),
            },
        )
        .map_err(ReplaySourceError::Init)?;
        Ok(Self {
            rec,
            plan,
            next: 0,
            t0,
            speed,
            writer,
            session: None,
            start: Instant::now(),
            start_wall,
            pending: Vec::new(),
            unreplayable: 0,
            stopped_mark: false,
        })
    }

    /// Ring indices written so far.
    pub fn published(&self) -> u64 {
        self.writer.published()
    }

    /// Frames of the recording in the replay.
    pub fn frames(&self) -> usize {
        self.plan.len()
    }

    /// Stored rows that could not be rebuilt into a frame (a damaged recording) and were
    /// skipped; they occupy no ring index.
    pub fn unreplayable(&self) -> u64 {
        self.unreplayable
    }

    /// Whether every frame has been published (the ring is then marked "producer stopped").
    pub fn finished(&self) -> bool {
        self.next >= self.plan.len()
    }

    /// Publishes every frame due `elapsed` after the source's start (refreshing the
    /// heartbeat), then polls the session until it has nothing more; hands every event to
    /// `sink`. Deterministic for a given sequence of `elapsed` values (the real-time
    /// [`SensorDataSource::poll_events`] uses the clock).
    pub fn poll_at(&mut self, elapsed: Duration, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        if self.session.is_none() {
            return 0;
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let now_wall = UnixNs(self.start_wall.0.saturating_add(ns));
        while let Some(p) = self.plan.get(self.next) {
            // A recording's times need not be monotonic (a restarted producer's clock): an
            // earlier time is due at once.
            let due = (p.time_ns.saturating_sub(self.t0) as f64 / self.speed) as u64;
            if due > ns {
                break;
            }
            self.next += 1;
            match rebuild(&self.rec, p.row) {
                Ok((record, encoding)) => {
                    // A stored record fits the recording's own geometry; were it not so, the
                    // frame would simply be missing and the reader's accounting still exact.
                    let _ = self.writer.publish_record(
                        &record,
                        encoding,
                        UnixNs(self.start_wall.0.saturating_add(due)),
                        now_wall.as_ms(),
                    );
                }
                Err(RowError::Samples | RowError::Encoding(_)) => self.unreplayable += 1,
            }
        }
        self.writer.heartbeat(now_wall.as_ms());
        if self.finished() && !self.stopped_mark {
            self.writer.mark_stopped();
            self.stopped_mark = true;
        }
        let Some(session) = self.session.as_mut() else {
            return 0;
        };
        let pending = &mut self.pending;
        let mut collect = |e| pending.push(e);
        let limit = self.writer.geometry().frame_count() as usize + 8;
        for _ in 0..limit {
            if !matches!(session.poll(MonoNs(ns), &mut collect), Next::Busy) {
                break;
            }
        }
        let n = self.pending.len();
        for e in self.pending.drain(..) {
            sink(e);
        }
        n
    }
}

impl SensorDataSource for ReplayDataSource {
    type Error = ReplaySourceError;

    fn start(&mut self) -> Result<(), ReplaySourceError> {
        if self.session.is_some() {
            return Ok(());
        }
        let ring = Ring::new_checked(self.writer.region().read_only())
            .map_err(ReplaySourceError::Header)?;
        let scratch = vec![0u8; ring.header().geometry().payload_capacity()];
        let config = SessionConfig {
            start: Start::Next,
            ..SessionConfig::default()
        };
        let now = MonoNs(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        let session =
            Session::new(ring, scratch, config, now).map_err(ReplaySourceError::Scratch)?;
        self.pending.push(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(session.epoch()),
        });
        self.session = Some(session);
        Ok(())
    }

    fn stop(&mut self) {
        if self.session.take().is_some() {
            self.pending.push(SensorEvent::Connection {
                state: ConnectionState::Disconnected,
                epoch: None,
            });
        }
    }

    fn is_active(&self) -> bool {
        self.session.is_some()
    }

    fn info(&self) -> DataSourceInfo {
        let mut channel = heapless::String::new();
        for c in self.rec.channel.chars() {
            if channel.push(c).is_err() {
                break;
            }
        }
        let g = self.writer.geometry();
        DataSourceInfo {
            kind: "replay",
            channel,
            epoch: self.session.as_ref().map(Session::epoch),
            frame_size: Some(g.frame_size()),
            frame_count: Some(g.frame_count()),
        }
    }

    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        if self.session.is_none() {
            let n = self.pending.len();
            for e in self.pending.drain(..) {
                sink(e);
            }
            return n;
        }
        let elapsed = self.start.elapsed();
        self.poll_at(elapsed, sink)
    }

    fn stats(&self) -> Option<SessionStats> {
        self.session.as_ref().map(Session::stats)
    }
}
