//! What the monitor knows, as plain data: the latest numerics, the trace buffers, counters,
//! latency and alarms. Every output (TUI, plain lines, JSON status) is a pure function of a
//! [`MonitorState`]; time only enters through the arguments of [`MonitorState::apply`] and
//! [`MonitorState::tick`].

use std::collections::VecDeque;

use vitalring_core::session::SessionStats;
use vitalring_core::source::{ConnectionState, SensorError, SensorErrorKind, SensorEvent};
use vitalring_core::vitals::{Channel, VitalsRecord, WaveformChunk};

use super::alarms::{self, AlarmInput};
pub use super::alarms::{Alarm, Limits, Priority, TECH_ALARM_HOLD_NS};
use super::history::{History, ReviewKey, View};

/// The latest vitals frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatestVitals {
    /// Acquisition time, ns since the Unix epoch.
    pub t_ns: u64,
    /// Ring index.
    pub index: u64,
    /// The values.
    pub record: VitalsRecord,
}

/// The last seconds of one waveform channel; `None` marks samples lost in a gap.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Sample rate of the last chunk, Hz (0 before the first).
    pub fs_hz: u16,
    /// Oldest first.
    pub samples: VecDeque<Option<i32>>,
    /// How many samples are kept.
    pub capacity: usize,
    /// The sample index the next chunk should start at.
    pub next_first: Option<u64>,
    /// Samples missing between chunks so far.
    pub missing: u64,
}

impl Trace {
    fn new(capacity: usize) -> Self {
        Self {
            fs_hz: 0,
            samples: VecDeque::with_capacity(capacity),
            capacity,
            next_first: None,
            missing: 0,
        }
    }

    fn push_value(&mut self, v: Option<i32>) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(v);
    }

    /// Appends a chunk, marking a gap when samples are missing and starting over when the
    /// sample index goes backwards (a restarted producer).
    pub fn push(&mut self, chunk: &WaveformChunk) {
        match self.next_first {
            Some(expected) if chunk.first > expected => {
                let gap = chunk.first - expected;
                self.missing += gap;
                for _ in 0..gap.min(self.capacity as u64) {
                    self.push_value(None);
                }
            }
            Some(expected) if chunk.first < expected => self.samples.clear(),
            _ => {}
        }
        self.fs_hz = chunk.fs_hz;
        for &s in &chunk.samples {
            self.push_value(Some(s));
        }
        self.next_first = Some(chunk.first + chunk.samples.len() as u64);
    }
}

/// Latency figures over one window, µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
    /// Frames measured.
    pub n: usize,
}

/// Frame timestamp → delivery latency (wall clock), collected per window.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    window: Vec<u64>,
    /// The summary of the last closed window.
    pub last: Option<LatencySummary>,
}

impl Latency {
    fn record(&mut self, ns: u64) {
        self.window.push(ns);
    }

    /// Summarises the current window, makes it the `last` one and starts a new window.
    pub fn roll(&mut self) -> Option<LatencySummary> {
        self.last = summarize(&mut self.window);
        self.window.clear();
        self.last
    }
}

/// Nearest-rank percentiles of `ns` (sorted in place), in µs.
pub fn summarize(ns: &mut [u64]) -> Option<LatencySummary> {
    if ns.is_empty() {
        return None;
    }
    ns.sort_unstable();
    let rank = |p: f64| {
        let r = ((p * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
        ns[r - 1] as f64 / 1000.0
    };
    Some(LatencySummary {
        p50_us: rank(0.50),
        p99_us: rank(0.99),
        max_us: ns[ns.len() - 1] as f64 / 1000.0,
        n: ns.len(),
    })
}

/// Event counts since the monitor started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Vitals frames delivered.
    pub vitals: u64,
    /// Waveform chunks delivered.
    pub waveforms: u64,
    /// Frames lost (lapped or overwritten while read).
    pub dropped: u64,
    /// Rejected for a CRC mismatch.
    pub rejected_crc: u64,
    /// Rejected for an out-of-range value.
    pub rejected_invalid_value: u64,
    /// Rejected for a malformed payload.
    pub rejected_malformed: u64,
    /// Rejected for breaking the slot rules.
    pub rejected_invalid_frame: u64,
    /// Stall reports.
    pub stalls: u64,
    /// Other errors (handshake, header).
    pub other_errors: u64,
}

impl Counts {
    /// Frames delivered as data.
    pub fn frames(&self) -> u64 {
        self.vitals + self.waveforms
    }

    /// All rejected frames.
    pub fn rejected(&self) -> u64 {
        self.rejected_crc
            + self.rejected_invalid_value
            + self.rejected_malformed
            + self.rejected_invalid_frame
    }
}

/// Everything the monitor shows.
#[derive(Debug, Clone)]
pub struct MonitorState {
    /// What we are connected to (the socket path), for the title bar.
    pub source: String,
    /// Alarm limits.
    pub limits: Limits,
    /// Connection state as last reported by the data source.
    pub state: ConnectionState,
    /// Producer epoch, once known.
    pub epoch: Option<u64>,
    /// The newest vitals.
    pub vitals: Option<LatestVitals>,
    /// ECG II, pleth, resp (in [`Channel::ALL`] order).
    pub traces: [Trace; 3],
    /// Counters.
    pub counts: Counts,
    /// Latency.
    pub latency: Latency,
    /// The last stall report: (monitor time of the report, heartbeat age then in ms).
    pub stall_report: Option<(u64, u64)>,
    /// The last error, as text.
    pub last_error: Option<String>,
    /// The source's session counters (the truth), once attached.
    pub stats: Option<SessionStats>,
    /// Events a slow consumer lost (counted by the source).
    pub events_lost: u64,
    /// Monitor time (monotonic ns since the monitor started) of the last `tick`.
    pub now_ns: u64,
    /// Scroll-back: the last minutes of every channel and of the vitals.
    pub history: History,
    /// Live, or reviewing the history at a cursor. Alarms are always evaluated on the live
    /// values, whatever the view.
    pub view: View,
    last_drop_ns: Option<u64>,
    last_reject_ns: Option<u64>,
}

/// Index of `channel` in [`MonitorState::traces`].
pub fn trace_index(channel: Channel) -> usize {
    match channel {
        Channel::EcgII => 0,
        Channel::Pleth => 1,
        Channel::Resp => 2,
    }
}

impl MonitorState {
    /// A fresh state; traces hold `trace_samples` samples each.
    pub fn new(source: impl Into<String>, limits: Limits, trace_samples: usize) -> Self {
        let trace_samples = trace_samples.max(16);
        Self {
            source: source.into(),
            limits,
            state: ConnectionState::Connecting,
            epoch: None,
            vitals: None,
            traces: [
                Trace::new(trace_samples),
                Trace::new(trace_samples),
                Trace::new(trace_samples),
            ],
            counts: Counts::default(),
            latency: Latency::default(),
            stall_report: None,
            last_error: None,
            stats: None,
            events_lost: 0,
            now_ns: 0,
            history: History::new(super::history::DEFAULT_SECONDS),
            view: View::Live,
            last_drop_ns: None,
            last_reject_ns: None,
        }
    }

    /// Moves the review cursor (or freezes / resumes the view); see [`View::after`].
    pub fn review_key(&mut self, key: ReviewKey) {
        self.view = self.view.after(key, &self.history);
    }

    /// Advances monitor time (ns since the monitor started, monotonic).
    pub fn tick(&mut self, now_ns: u64) {
        self.now_ns = self.now_ns.max(now_ns);
    }

    /// Takes in one event delivered at wall time `wall_ns` (ns since the Unix epoch).
    pub fn apply(&mut self, event: &SensorEvent, wall_ns: u64) {
        match event {
            SensorEvent::Vitals {
                timestamp,
                index,
                record,
            } => {
                self.counts.vitals += 1;
                self.latency.record(wall_ns.saturating_sub(timestamp.0));
                self.vitals = Some(LatestVitals {
                    t_ns: timestamp.0,
                    index: *index,
                    record: *record,
                });
                self.history.push_vitals(timestamp.0, *index, record);
            }
            SensorEvent::Waveform {
                timestamp, chunk, ..
            } => {
                self.counts.waveforms += 1;
                self.latency.record(wall_ns.saturating_sub(timestamp.0));
                self.traces[trace_index(chunk.channel)].push(chunk);
                self.history.push_chunk(timestamp.0, chunk);
            }
            SensorEvent::Connection { state, epoch } => {
                if epoch.is_some() && *epoch != self.epoch && self.epoch.is_some() {
                    // A restarted producer: its sample indices start over.
                    for t in &mut self.traces {
                        t.samples.clear();
                        t.next_first = None;
                    }
                }
                self.state = *state;
                if epoch.is_some() {
                    self.epoch = *epoch;
                }
                if *state == ConnectionState::Connected {
                    self.stall_report = None;
                }
            }
            SensorEvent::Error(e) => self.error(e),
        }
    }

    /// Takes the source's own counters (the truth; events may be lost by a slow consumer):
    /// every figure the monitor shows and prints comes from here once a session exists.
    pub fn set_stats(&mut self, stats: Option<SessionStats>, events_lost: u64) {
        self.events_lost = events_lost;
        let Some(st) = stats else { return };
        let t = &st.total;
        let r = &t.rejected;
        let c = &mut self.counts;
        c.dropped = t.dropped();
        c.rejected_crc = r.crc;
        c.rejected_invalid_value = r.out_of_range;
        c.rejected_malformed = r.malformed;
        c.rejected_invalid_frame = r
            .sequence
            .saturating_add(r.data_size)
            .saturating_add(r.padding)
            .saturating_add(r.frame_type)
            .saturating_add(r.encoding)
            .saturating_add(r.timestamp);
        c.stalls = st.stalls;
        self.stats = Some(st);
    }

    fn error(&mut self, e: &SensorError) {
        let kind = e.kind();
        let c = &mut self.counts;
        match e {
            SensorError::Dropped { .. } => {
                if self.stats.is_none() {
                    c.dropped = c.dropped.saturating_add(e.count());
                }
                self.last_drop_ns = Some(self.now_ns);
            }
            SensorError::EventsLost { .. } => {}
            SensorError::Stalled { heartbeat_age } => {
                if self.stats.is_none() {
                    c.stalls += 1;
                }
                self.stall_report = Some((self.now_ns, heartbeat_age.as_ms()));
                if self.state == ConnectionState::Connected {
                    self.state = ConnectionState::Stalled;
                }
            }
            SensorError::Rejected { .. } => {
                if self.stats.is_none() {
                    let n = e.count();
                    match kind {
                        SensorErrorKind::Crc => c.rejected_crc += n,
                        SensorErrorKind::InvalidValue => c.rejected_invalid_value += n,
                        SensorErrorKind::MalformedPayload => c.rejected_malformed += n,
                        _ => c.rejected_invalid_frame += n,
                    }
                }
            }
            SensorError::Handshake(_) | SensorError::Header(_) => c.other_errors += 1,
        }
        if matches!(
            kind,
            SensorErrorKind::Crc
                | SensorErrorKind::InvalidValue
                | SensorErrorKind::MalformedPayload
                | SensorErrorKind::InvalidFrame
        ) {
            self.last_reject_ns = Some(self.now_ns);
        }
        self.last_error = Some(e.to_string());
    }

    /// While stalled: how long the heartbeat has not moved now, ms (the reported age plus the
    /// time since the report).
    pub fn heartbeat_age_ms(&self) -> Option<u64> {
        if self.state == ConnectionState::Connected {
            return None;
        }
        self.stall_report
            .map(|(at, age)| age + self.now_ns.saturating_sub(at) / 1_000_000)
    }

    /// Whether the numerics are live (connected); stale numerics are shown dimmed and raise no
    /// physiological alarm.
    pub fn live(&self) -> bool {
        self.state == ConnectionState::Connected && self.vitals.is_some()
    }

    fn recent(&self, at: Option<u64>) -> bool {
        at.is_some_and(|t| self.now_ns.saturating_sub(t) < TECH_ALARM_HOLD_NS)
    }

    /// Active alarms, highest priority first (physiological before technical within a
    /// priority); the rules are in [`alarms`].
    pub fn alarms(&self) -> Vec<Alarm> {
        alarms::evaluate(&AlarmInput {
            state: self.state,
            live_vitals: self.vitals.filter(|_| self.live()).map(|v| v.record),
            limits: self.limits,
            recent_drop: self.recent(self.last_drop_ns),
            recent_reject: self.recent(self.last_reject_ns),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vitalring_core::vitals::Nibp;

    pub(crate) fn record(hr: u16, spo2: u8, rr: u8) -> VitalsRecord {
        VitalsRecord {
            hr_bpm: hr,
            spo2_pct: spo2,
            rr_rpm: rr,
            nibp: Some(Nibp {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_mmhg: 93,
            }),
            temp_c: Some(36.9),
            pulse_rate_bpm: Some(hr),
        }
    }

    pub(crate) fn chunk(channel: Channel, first: u64, n: usize) -> WaveformChunk {
        let mut samples = heapless::Vec::new();
        for i in 0..n {
            let x = (first as usize + i) as f64 / 25.0;
            samples.push((x.sin() * 1000.0) as i32).unwrap();
        }
        WaveformChunk {
            channel,
            fs_hz: 250,
            first,
            samples,
        }
    }

    pub(crate) fn connected(hr: u16, spo2: u8, rr: u8) -> MonitorState {
        let mut s = MonitorState::new("/tmp/test.sock", Limits::default(), 1500);
        s.apply(
            &SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch: Some(7),
            },
            0,
        );
        s.apply(
            &SensorEvent::Vitals {
                timestamp: vitalring_core::time::UnixNs(1_000),
                index: 3,
                record: record(hr, spo2, rr),
            },
            51_000,
        );
        for c in Channel::ALL {
            for k in 0..100 {
                s.apply(
                    &SensorEvent::Waveform {
                        timestamp: vitalring_core::time::UnixNs(1_000),
                        index: 4,
                        chunk: chunk(c, k * 10, 10),
                    },
                    1_000 + 20_000,
                );
            }
        }
        s
    }

    fn texts(s: &MonitorState) -> Vec<&'static str> {
        s.alarms().iter().map(|a| a.text).collect()
    }

    #[test]
    fn physiological_alarms_follow_the_limits() {
        assert!(texts(&connected(72, 98, 16)).is_empty());
        assert_eq!(texts(&connected(130, 98, 16)), ["HR HIGH"]);
        assert_eq!(texts(&connected(45, 85, 16)), ["HR LOW", "SPO2 LOW"]);
        assert_eq!(texts(&connected(0, 98, 0)), ["ASYSTOLE", "APNEA"]);
        assert_eq!(texts(&connected(72, 98, 35)), ["RR HIGH"]);
    }

    #[test]
    fn a_stall_replaces_physiological_alarms() {
        let mut s = connected(130, 98, 16);
        s.apply(
            &SensorEvent::Error(SensorError::Stalled {
                heartbeat_age: vitalring_core::time::Nanos(260_000_000),
            }),
            0,
        );
        assert_eq!(s.state, ConnectionState::Stalled);
        assert_eq!(s.heartbeat_age_ms(), Some(260));
        s.tick(1_000_000_000);
        assert_eq!(s.heartbeat_age_ms(), Some(1260));
        assert_eq!(texts(&s), ["SENSOR STALLED"]);
    }

    #[test]
    fn drops_latch_for_a_while() {
        let mut s = connected(72, 98, 16);
        s.tick(1_000_000_000);
        s.apply(
            &SensorEvent::Error(SensorError::Dropped {
                first: 0,
                count: 12,
                cause: vitalring_core::slot::DropCause::Lapped,
            }),
            0,
        );
        assert_eq!(s.counts.dropped, 12);
        assert_eq!(texts(&s), ["DATA DROPPED"]);
        s.tick(1_000_000_000 + TECH_ALARM_HOLD_NS);
        assert!(texts(&s).is_empty());
    }

    #[test]
    fn traces_mark_gaps_and_restart() {
        let mut t = Trace::new(100);
        t.push(&chunk(Channel::EcgII, 0, 10));
        t.push(&chunk(Channel::EcgII, 20, 10));
        assert_eq!(t.missing, 10);
        assert_eq!(t.samples.len(), 30);
        assert_eq!(t.samples.iter().filter(|s| s.is_none()).count(), 10);
        t.push(&chunk(Channel::EcgII, 0, 10));
        assert_eq!(t.samples.len(), 10);
        for k in 0..20 {
            t.push(&chunk(Channel::EcgII, 10 + k * 10, 10));
        }
        assert_eq!(t.samples.len(), 100);
    }

    #[test]
    fn latency_percentiles() {
        let mut ns: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let s = summarize(&mut ns).unwrap();
        assert_eq!(
            (s.p50_us, s.p99_us, s.max_us, s.n),
            (50.0, 99.0, 100.0, 100)
        );
        assert!(summarize(&mut []).is_none());
        let mut st = connected(72, 98, 16);
        let l = st.latency.roll().unwrap();
        assert_eq!(l.n, 301);
        assert_eq!(l.max_us, 50.0);
        assert!(st.latency.roll().is_none());
    }
}
