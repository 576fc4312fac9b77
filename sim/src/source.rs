//! The simulator as a data source in this process: no producer process, no socket.
//!
//! [`SimulatorDataSource`] writes the simulator's outputs into an in-process ring (the mock
//! platform's region) with the core's writer, as `vitalring sim` does into a memfd, and reads
//! them back with the core's reader [`Session`] — the same checks, events and counters as every
//! other data source. A monitor can run on it without a producer (`vitalring monitor
//! --simulate SCENARIO`), and tests can drive it with simulated time
//! ([`SimulatorDataSource::poll_at`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vitalring_core::session::{Session, SessionConfig, SessionStats};
use vitalring_core::slot::{InitError, ScratchTooSmall, Start, Writer, WriterConfig};
use vitalring_core::source::{ConnectionState, DataSourceInfo, SensorDataSource, SensorEvent};
use vitalring_core::time::{MonoNs, UnixNs};
use vitalring_core::vitals::{self, Nibp, VitalsRecord, WaveformChunk};
use vitalring_core::{Encoding, Geometry, Record, Ring};
use vitalring_mock::MockRegion;

use crate::{Scenario, SimConfig, SimOutput, Simulator};

/// The core record for a simulator output.
pub fn to_record(out: &SimOutput) -> Record {
    match out {
        SimOutput::Vitals(v) => Record::Vitals(VitalsRecord {
            hr_bpm: v.hr_bpm,
            spo2_pct: v.spo2_pct,
            rr_rpm: v.rr_rpm,
            nibp: Some(Nibp {
                systolic_mmhg: v.nibp.0,
                diastolic_mmhg: v.nibp.1,
                mean_mmhg: v.nibp.2,
            }),
            temp_c: Some(v.temp_c),
            pulse_rate_bpm: Some(v.pulse_rate_bpm),
        }),
        SimOutput::Waveform(w) => {
            let channel = match w.channel {
                crate::Channel::EcgII => vitals::Channel::EcgII,
                crate::Channel::Pleth => vitals::Channel::Pleth,
                crate::Channel::Resp => vitals::Channel::Resp,
            };
            let mut samples = heapless::Vec::new();
            // CHUNK_LEN (10) < MAX_SAMPLES (128): every sample fits.
            for &s in w.samples.iter().take(vitals::MAX_SAMPLES) {
                let _ = samples.push(s);
            }
            Record::Waveform(WaveformChunk {
                channel,
                fs_hz: u16::try_from(w.fs_hz).unwrap_or(u16::MAX),
                first: w.first,
                samples,
            })
        }
    }
}

/// Why a [`SimulatorDataSource`] could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimSourceError {
    /// The writer refused the in-process ring.
    Init(InitError),
    /// The ring's header did not validate (cannot happen for a ring the writer just created).
    Header(vitalring_core::layout::HeaderError),
    /// The reader's buffer does not fit the ring (cannot happen: it is sized from it).
    Scratch(ScratchTooSmall),
}

impl core::fmt::Display for SimSourceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Init(e) => write!(f, "in-process ring: {e}"),
            Self::Header(e) => write!(f, "in-process ring: {e}"),
            Self::Scratch(e) => write!(f, "in-process ring: {e}"),
        }
    }
}

impl std::error::Error for SimSourceError {}

/// The simulator writing, the core's session reading, in one process (see the module docs).
pub struct SimulatorDataSource {
    sim: Simulator,
    writer: Writer<MockRegion>,
    encoding: Encoding,
    session: Option<Session<MockRegion, Vec<u8>>>,
    start: Instant,
    start_wall: UnixNs,
    pending: Vec<SensorEvent>,
}

impl core::fmt::Debug for SimulatorDataSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimulatorDataSource")
            .field("scenario", &self.sim.config().scenario)
            .field("encoding", &self.encoding)
            .field("published", &self.writer.published())
            .finish_non_exhaustive()
    }
}

fn wall_now() -> UnixNs {
    UnixNs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    )
}

impl SimulatorDataSource {
    /// A stopped source simulating `scenario` from `seed`, publishing in `encoding` into a ring
    /// of `geometry`. Its time starts now.
    ///
    /// # Errors
    /// [`SimSourceError::Init`] for a geometry whose slots cannot hold the simulator's records.
    pub fn new(
        scenario: Scenario,
        seed: u64,
        encoding: Encoding,
        geometry: Geometry,
    ) -> Result<Self, SimSourceError> {
        let start_wall = wall_now();
        let writer = Writer::create(
            MockRegion::new(geometry),
            WriterConfig {
                geometry,
                epoch: seed | 1,
                created: start_wall,
                now: start_wall.as_ms(),
            },
        )
        .map_err(SimSourceError::Init)?;
        Ok(Self {
            sim: Simulator::new(SimConfig::new(scenario, seed, start_wall.0)),
            writer,
            encoding,
            session: None,
            start: Instant::now(),
            start_wall,
            pending: Vec::new(),
        })
    }

    /// Frames written so far.
    pub fn published(&self) -> u64 {
        self.writer.published()
    }

    /// Runs the simulated producer up to `elapsed` after the source's start (publishing every
    /// output due by then and refreshing the heartbeat), then polls the session until it has
    /// nothing more; hands every event to `sink`. Deterministic for a given sequence of
    /// `elapsed` values (the real-time [`SensorDataSource::poll_events`] uses the clock).
    pub fn poll_at(&mut self, elapsed: Duration, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        let Some(session) = self.session.as_mut() else {
            return 0;
        };
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let now_wall = UnixNs(self.start_wall.0.saturating_add(ns));
        while self.sim.peek_t_ns() <= now_wall.0 {
            let out = self.sim.next_output();
            let record = to_record(&out);
            // A record the simulator made always encodes and fits (slots are checked at
            // `new`); were it not so, the frame would simply be missing and the reader's
            // accounting would still be exact.
            let _ = self.writer.publish_record(
                &record,
                self.encoding,
                UnixNs(out.t_ns()),
                now_wall.as_ms(),
            );
        }
        self.writer.heartbeat(now_wall.as_ms());
        let pending = &mut self.pending;
        let mut collect = |e| pending.push(e);
        let limit = self.writer.geometry().frame_count() as usize + 8;
        for _ in 0..limit {
            if !matches!(
                session.poll(MonoNs(ns), &mut collect),
                vitalring_core::session::Next::Busy
            ) {
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

impl SensorDataSource for SimulatorDataSource {
    type Error = SimSourceError;

    fn start(&mut self) -> Result<(), SimSourceError> {
        if self.session.is_some() {
            return Ok(());
        }
        let ring =
            Ring::new_checked(self.writer.region().read_only()).map_err(SimSourceError::Header)?;
        let scratch = vec![0u8; ring.header().geometry().payload_capacity()];
        let config = SessionConfig {
            start: Start::Next,
            ..SessionConfig::default()
        };
        let now = MonoNs(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        let session = Session::new(ring, scratch, config, now).map_err(SimSourceError::Scratch)?;
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
        let _ = channel.push_str(self.sim.config().scenario.name());
        let g = self.writer.geometry();
        DataSourceInfo {
            kind: "simulator",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_simulated_seconds_arrive_complete_and_accounted() {
        let g = Geometry::new(512, 1024).unwrap();
        let mut src = SimulatorDataSource::new(Scenario::Normal, 7, Encoding::Json, g).unwrap();
        src.start().unwrap();
        let mut vitals = 0u64;
        let mut samples = [0u64; 3];
        let mut other = Vec::new();
        for step in 1..=200u64 {
            src.poll_at(Duration::from_millis(step * 10), &mut |e| match e {
                SensorEvent::Vitals { .. } => vitals += 1,
                SensorEvent::Waveform { chunk, .. } => {
                    let k = match chunk.channel {
                        vitals::Channel::EcgII => 0,
                        vitals::Channel::Pleth => 1,
                        vitals::Channel::Resp => 2,
                    };
                    samples[k] += chunk.samples.len() as u64;
                }
                e => other.push(e),
            });
        }
        // [0, 2 s] of simulated time, both ends included: 60 Hz vitals (121 frames) and
        // 250 Hz per channel in chunks of 10 stamped with their first sample (51 chunks).
        assert_eq!(vitals, 121);
        assert_eq!(samples, [510; 3]);
        assert_eq!(
            other,
            [SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch: Some(7)
            }]
        );
        let s = src.stats().unwrap();
        assert_eq!(s.current.position, src.published());
        assert_eq!(
            s.current.accounted(),
            s.current.position - s.current.start_index
        );
        assert_eq!(s.current.counters.delivered, src.published());
        assert_eq!(src.info().kind, "simulator");
    }
}
