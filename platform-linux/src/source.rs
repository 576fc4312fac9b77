//! [`SharedMemorySensorDataSource`]: seed 000's `SharedMemorySensorDataSource`, in Rust idiom.
//!
//! `start` runs the handshake synchronously (so a caller learns at once that there is no
//! producer), then a polling thread runs the core [`Reader`] and [`Watchdog`]:
//!
//! - **Polling**: up to [`BATCH`] frames per round; when there is nothing new, the core
//!   [`Backoff`] schedule (spin → `yield_now` → sleeps of at most 50 µs), or a pure spin with
//!   [`Polling::BusyPoll`].
//! - **Events** go to a callback (called on the polling thread) or to a bounded, preallocated
//!   channel ([`SharedMemorySensorDataSource::receiver`] / `poll_events`). If the consumer
//!   falls behind, events are counted as lost and reported as one `EventsLost` error with the
//!   count as soon as there is room again — the queue never grows and never loses silently.
//! - **Drops** in the ring are aggregated: consecutive dropped indices become one `Dropped`
//!   error with `index: Some(first)` and the count. Every rejected frame is one error with the
//!   kind from [`SensorErrorKind::of_rejection`].
//! - **Stall**: the watchdog is polled at least every millisecond (and on every idle round), so
//!   a stall is reported ~250 ms after the heartbeat last moved, with that age in
//!   `heartbeat_age_ns`. State → `Stalled`. Recovery is automatic when the heartbeat moves.
//! - **Producer restart**: while stalled, the handshake is retried every
//!   [`SourceConfig::reconnect_interval`]. A reply with another epoch is a new producer: the
//!   new ring is mapped and validated, the old mapping dropped, and `Reconnecting` then
//!   `Connected { epoch: new }` are emitted. The reader starts at the oldest frame the new
//!   ring holds. The same epoch means the old producer is alive but its writer is hung: stay
//!   stalled.
//! - **Header**: re-checked every [`SourceConfig::header_check_interval`]; a change is
//!   reported once as a `Header` error (the reader keeps its attach-time geometry, so it never
//!   reads out of bounds).
//!
//! Nothing on the per-frame path allocates (the scratch buffer and the channel are allocated
//! at start).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use vitalring_core::backoff::{Action, Backoff};
use vitalring_core::layout::Geometry;
use vitalring_core::payload::Record;
use vitalring_core::slot::{Counters, LapPolicy, Poll, Reader, Start};
use vitalring_core::source::{
    ConnectionState, DataSourceInfo, SensorDataSource, SensorError, SensorErrorKind, SensorEvent,
};
use vitalring_core::watchdog::{Watchdog, WatchdogEvent};
use vitalring_core::AttachError;

use crate::client::{connect_with, ConnectOptions, HandshakeError};
use crate::clock::monotonic_ns;
use crate::map::RoMapping;
use crate::token::Token;

/// Frames handled per polling round before the watchdog and stop flag are looked at again.
pub const BATCH: usize = 64;

/// How the polling thread waits when the ring is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polling {
    /// Spin, then yield, then sleep at most [`SourceConfig::max_sleep_us`] (50 µs by default).
    #[default]
    Backoff,
    /// Spin without sleeping (lowest latency, one busy core).
    BusyPoll,
}

/// Configuration of a [`SharedMemorySensorDataSource`].
#[derive(Clone)]
pub struct SourceConfig {
    /// Control socket path.
    pub socket_path: PathBuf,
    /// Channel to ask for.
    pub channel: String,
    /// Token to present, if the producer requires one.
    pub token: Option<Token>,
    /// What to do when lapped.
    pub lap_policy: LapPolicy,
    /// Where to start on the first attach (reattaches start at the oldest frame).
    pub start: Start,
    /// Backoff or busy-poll.
    pub polling: Polling,
    /// Longest backoff sleep, µs (default 50, DESIGN §5). Raising it trades latency for CPU:
    /// each idle wake-up costs about the same CPU time (see docs/benchmarks.md).
    pub max_sleep_us: u32,
    /// Heartbeat stall timeout (reader monotonic time), default 250 ms.
    pub stall_timeout: Duration,
    /// Handshake retry period while stalled, default 150 ms.
    pub reconnect_interval: Duration,
    /// Header re-check period, default 100 ms.
    pub header_check_interval: Duration,
    /// Handshake timeout for `start` (reconnect attempts use at most 200 ms).
    pub handshake_timeout: Duration,
    /// Capacity of the event channel, default 4096.
    pub event_capacity: usize,
}

impl core::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SourceConfig")
            .field("socket_path", &self.socket_path)
            .field("channel", &self.channel)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("lap_policy", &self.lap_policy)
            .field("start", &self.start)
            .field("polling", &self.polling)
            .field("max_sleep_us", &self.max_sleep_us)
            .field("stall_timeout", &self.stall_timeout)
            .field("reconnect_interval", &self.reconnect_interval)
            .field("header_check_interval", &self.header_check_interval)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("event_capacity", &self.event_capacity)
            .finish()
    }
}

impl SourceConfig {
    /// Defaults for `channel` at `socket_path`.
    pub fn new(socket_path: impl Into<PathBuf>, channel: &str) -> Self {
        Self {
            socket_path: socket_path.into(),
            channel: channel.to_owned(),
            token: None,
            lap_policy: LapPolicy::Latest,
            start: Start::Next,
            polling: Polling::Backoff,
            max_sleep_us: vitalring_core::backoff::MAX_SLEEP_US,
            stall_timeout: Duration::from_millis(250),
            reconnect_interval: Duration::from_millis(150),
            header_check_interval: Duration::from_millis(100),
            handshake_timeout: Duration::from_secs(1),
            event_capacity: 4096,
        }
    }
}

/// Why `start` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The handshake failed.
    Handshake(HandshakeError),
    /// The core reader refused the mapped ring.
    Attach(AttachError),
    /// The polling thread could not be spawned.
    Spawn,
}

impl core::fmt::Display for SourceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "{e}"),
            Self::Attach(e) => write!(f, "{e}"),
            Self::Spawn => write!(f, "cannot spawn the polling thread"),
        }
    }
}

impl std::error::Error for SourceError {}

/// A snapshot of a source's counters and state (for status lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStats {
    /// Connection state.
    pub state: ConnectionState,
    /// Current producer epoch.
    pub epoch: Option<u64>,
    /// Current ring geometry.
    pub geometry: Option<Geometry>,
    /// Frames delivered (heartbeat frames included), over all rings.
    pub delivered: u64,
    /// Indices dropped (lapped or overwritten), over all rings.
    pub dropped: u64,
    /// Frames rejected, over all rings.
    pub rejected: u64,
    /// Indices moved past, over all rings (= delivered + dropped + rejected).
    pub moved_past: u64,
    /// Events lost because the consumer fell behind.
    pub events_lost: u64,
    /// Stalls detected.
    pub stalls: u64,
    /// Reattachments to a restarted producer.
    pub reconnects: u64,
}

fn state_code(s: ConnectionState) -> u8 {
    match s {
        ConnectionState::Connecting => 0,
        ConnectionState::Connected => 1,
        ConnectionState::Stalled => 2,
        ConnectionState::Reconnecting => 3,
        ConnectionState::Disconnected => 4,
    }
}

fn state_of(code: u8) -> ConnectionState {
    match code {
        0 => ConnectionState::Connecting,
        1 => ConnectionState::Connected,
        2 => ConnectionState::Stalled,
        3 => ConnectionState::Reconnecting,
        _ => ConnectionState::Disconnected,
    }
}

/// State shared between the source handle and its polling thread (all Relaxed: statistics and
/// a stop flag; the join in `stop` orders everything else).
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    state: AtomicU8,
    epoch: AtomicU64,
    frame_size: AtomicU32,
    frame_count: AtomicU32,
    delivered: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    moved_past: AtomicU64,
    events_lost: AtomicU64,
    stalls: AtomicU64,
    reconnects: AtomicU64,
}

impl Shared {
    fn set_state(&self, s: ConnectionState) {
        self.state.store(state_code(s), Ordering::Relaxed);
    }

    fn set_ring(&self, epoch: u64, g: Geometry) {
        self.epoch.store(epoch, Ordering::Relaxed);
        self.frame_size.store(g.frame_size(), Ordering::Relaxed);
        self.frame_count.store(g.frame_count(), Ordering::Relaxed);
    }

    fn publish(&self, base: &Totals, c: &Counters, moved: u64) {
        self.delivered
            .store(base.delivered + c.delivered, Ordering::Relaxed);
        self.dropped
            .store(base.dropped + c.dropped(), Ordering::Relaxed);
        self.rejected
            .store(base.rejected + c.rejected.total(), Ordering::Relaxed);
        self.moved_past.store(base.moved + moved, Ordering::Relaxed);
    }
}

/// Counters of rings left behind by reattachment.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    delivered: u64,
    dropped: u64,
    rejected: u64,
    moved: u64,
}

/// Receives events on the polling thread.
pub type EventCallback = Box<dyn FnMut(SensorEvent) + Send>;

/// Where events go.
struct Emitter {
    callback: Option<EventCallback>,
    tx: SyncSender<SensorEvent>,
    lost: u64,
    shared: Arc<Shared>,
}

impl Emitter {
    fn emit(&mut self, event: SensorEvent) {
        if let Some(cb) = &mut self.callback {
            cb(event);
            return;
        }
        if self.lost > 0 {
            let mut report = SensorError::new(SensorErrorKind::EventsLost);
            report.count = self.lost;
            match self.tx.try_send(SensorEvent::Error(report)) {
                Ok(()) => self.lost = 0,
                Err(_) => {
                    self.lose();
                    return;
                }
            }
        }
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.lose(),
            // The handle owns the receiver; it is only gone while the source is dropped.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn lose(&mut self) {
        self.lost += 1;
        self.shared.events_lost.fetch_add(1, Ordering::Relaxed);
    }

    fn state(&mut self, state: ConnectionState, epoch: Option<u64>) {
        self.shared.set_state(state);
        self.emit(SensorEvent::Connection { state, epoch });
    }
}

type RingReader = Reader<RoMapping, Box<[u8]>>;

/// A [`SensorDataSource`] over a producer's shared-memory ring.
pub struct SharedMemorySensorDataSource {
    config: SourceConfig,
    shared: Arc<Shared>,
    rx: Receiver<SensorEvent>,
    emitter: Option<Emitter>,
    thread: Option<JoinHandle<Emitter>>,
}

impl core::fmt::Debug for SharedMemorySensorDataSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMemorySensorDataSource")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SharedMemorySensorDataSource {
    /// A stopped source that delivers events through its bounded channel.
    pub fn new(config: SourceConfig) -> Self {
        Self::build(config, None)
    }

    /// A stopped source that calls `callback` for every event (on the polling thread; the
    /// events of `start` and `stop` themselves on the caller's thread).
    pub fn with_callback(config: SourceConfig, callback: EventCallback) -> Self {
        Self::build(config, Some(callback))
    }

    fn build(config: SourceConfig, callback: Option<EventCallback>) -> Self {
        let (tx, rx) = sync_channel(config.event_capacity.max(1));
        let shared = Arc::new(Shared::default());
        shared.set_state(ConnectionState::Disconnected);
        let emitter = Emitter {
            callback,
            tx,
            lost: 0,
            shared: Arc::clone(&shared),
        };
        Self {
            config,
            shared,
            rx,
            emitter: Some(emitter),
            thread: None,
        }
    }

    /// The event channel (empty in callback mode). Use `recv_timeout` to wait for events.
    pub fn receiver(&self) -> &Receiver<SensorEvent> {
        &self.rx
    }

    /// Counters and state right now.
    pub fn stats(&self) -> SourceStats {
        let s = &self.shared;
        let epoch = s.epoch.load(Ordering::Relaxed);
        let geometry = Geometry::new(
            s.frame_size.load(Ordering::Relaxed),
            s.frame_count.load(Ordering::Relaxed),
        )
        .ok();
        SourceStats {
            state: state_of(s.state.load(Ordering::Relaxed)),
            epoch: (epoch != 0).then_some(epoch),
            geometry,
            delivered: s.delivered.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            moved_past: s.moved_past.load(Ordering::Relaxed),
            events_lost: s.events_lost.load(Ordering::Relaxed),
            stalls: s.stalls.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    fn attach(config: &SourceConfig, start: Start) -> Result<RingReader, SourceError> {
        let attached = connect_with(
            &config.socket_path,
            &config.channel,
            config.token.as_ref(),
            ConnectOptions {
                timeout: config.handshake_timeout,
                ..ConnectOptions::default()
            },
        )
        .map_err(SourceError::Handshake)?;
        let scratch = vec![0u8; attached.geometry().payload_capacity()].into_boxed_slice();
        Reader::attach(attached.into_mapping(), scratch, config.lap_policy, start)
            .map_err(SourceError::Attach)
    }
}

impl SensorDataSource for SharedMemorySensorDataSource {
    type Error = SourceError;

    fn start(&mut self) -> Result<(), SourceError> {
        if self.thread.is_some() {
            return Ok(());
        }
        let Some(mut emitter) = self.emitter.take() else {
            return Err(SourceError::Spawn);
        };
        self.shared.stop.store(false, Ordering::Relaxed);
        emitter.state(ConnectionState::Connecting, None);
        let reader = match Self::attach(&self.config, self.config.start) {
            Ok(r) => r,
            Err(e) => {
                let mut err = SensorError::new(match e {
                    SourceError::Attach(_) => SensorErrorKind::Header,
                    _ => SensorErrorKind::Handshake,
                });
                err.count = 1;
                emitter.emit(SensorEvent::Error(err));
                emitter.state(ConnectionState::Disconnected, None);
                self.emitter = Some(emitter);
                return Err(e);
            }
        };
        self.shared.set_ring(reader.epoch(), reader.geometry());
        self.shared
            .publish(&Totals::default(), reader.counters(), 0);
        emitter.state(ConnectionState::Connected, Some(reader.epoch()));
        let worker = Worker {
            config: self.config.clone(),
            shared: Arc::clone(&self.shared),
            reader,
            totals: Totals::default(),
        };
        match std::thread::Builder::new()
            .name("vitalring-reader".into())
            .spawn(move || worker.run(emitter))
        {
            Ok(handle) => {
                self.thread = Some(handle);
                Ok(())
            }
            Err(_) => {
                // The emitter moved into the closure that failed to spawn; rebuild one.
                let (tx, rx) = sync_channel(self.config.event_capacity.max(1));
                self.rx = rx;
                self.emitter = Some(Emitter {
                    callback: None,
                    tx,
                    lost: 0,
                    shared: Arc::clone(&self.shared),
                });
                self.shared.set_state(ConnectionState::Disconnected);
                Err(SourceError::Spawn)
            }
        }
    }

    fn stop(&mut self) {
        let Some(handle) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::Relaxed);
        let emitter = match handle.join() {
            Ok(e) => e,
            Err(_) => {
                let (tx, rx) = sync_channel(self.config.event_capacity.max(1));
                self.rx = rx;
                Emitter {
                    callback: None,
                    tx,
                    lost: 0,
                    shared: Arc::clone(&self.shared),
                }
            }
        };
        let mut emitter = emitter;
        emitter.state(ConnectionState::Disconnected, None);
        self.emitter = Some(emitter);
    }

    fn is_active(&self) -> bool {
        self.thread.is_some()
    }

    fn info(&self) -> DataSourceInfo {
        let stats = self.stats();
        let mut channel = heapless::String::new();
        for c in self.config.channel.chars() {
            if channel.push(c).is_err() {
                break;
            }
        }
        DataSourceInfo {
            kind: "shared-memory",
            channel,
            epoch: stats.epoch,
            frame_size: stats.geometry.map(|g| g.frame_size()),
            frame_count: stats.geometry.map(|g| g.frame_count()),
        }
    }

    /// Hands over at most one channel's worth (`event_capacity`) of events, so a producer in
    /// a burst cannot keep the caller here forever.
    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
        let mut n = 0;
        let max = self.config.event_capacity.max(1);
        while n < max {
            let Ok(ev) = self.rx.try_recv() else { break };
            sink(ev);
            n += 1;
        }
        n
    }
}

impl Drop for SharedMemorySensorDataSource {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The polling thread's state.
struct Worker {
    config: SourceConfig,
    shared: Arc<Shared>,
    reader: RingReader,
    totals: Totals,
}

/// Consecutive dropped indices not reported yet.
#[derive(Clone, Copy)]
struct PendingDrop {
    first: u64,
    count: u64,
}

impl Worker {
    fn flush_drop(pending: &mut Option<PendingDrop>, emitter: &mut Emitter) {
        if let Some(p) = pending.take() {
            let mut e = SensorError::new(SensorErrorKind::Dropped);
            e.index = Some(p.first);
            e.count = p.count;
            emitter.emit(SensorEvent::Error(e));
        }
    }

    fn run(mut self, mut emitter: Emitter) -> Emitter {
        if self.config.polling == Polling::Backoff {
            // The default timer slack (50 µs) would let each "≤ 50 µs" sleep last up to 100 µs;
            // 1 ns makes the backoff schedule mean what it says (this thread only). Failure
            // only costs latency, so it is ignored.
            let _ = nix::sys::prctl::set_timerslack(1);
        }
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let stall_ns = ns(self.config.stall_timeout);
        let retry_ns = ns(self.config.reconnect_interval).max(1);
        let header_ns = ns(self.config.header_check_interval).max(1);
        let mut now = monotonic_ns();
        let mut watchdog = Watchdog::new(stall_ns, self.reader.heartbeat_ms(), now);
        let mut backoff = Backoff::with_max_sleep_us(self.config.max_sleep_us);
        let mut pending: Option<PendingDrop> = None;
        let mut last_watch = now;
        let mut last_header = now;
        let mut next_retry = now;
        let mut header_bad = false;
        let mut stalled = false;
        let mut last_retry_error: Option<HandshakeError> = None;

        while !self.shared.stop.load(Ordering::Relaxed) {
            let mut handled = 0;
            if !stalled {
                while handled < BATCH {
                    match self.reader.poll() {
                        Poll::Empty => break,
                        Poll::Delivered(d) => {
                            handled += 1;
                            Self::flush_drop(&mut pending, &mut emitter);
                            match d.record {
                                Record::Vitals(record) => emitter.emit(SensorEvent::Vitals {
                                    timestamp_ns: d.timestamp_ns,
                                    index: d.index,
                                    record,
                                }),
                                Record::Waveform(chunk) => emitter.emit(SensorEvent::Waveform {
                                    timestamp_ns: d.timestamp_ns,
                                    index: d.index,
                                    chunk,
                                }),
                                Record::Heartbeat => {}
                            }
                        }
                        Poll::Dropped { first, count, .. } => {
                            handled += 1;
                            match &mut pending {
                                Some(p) if p.first + p.count == first => p.count += count,
                                _ => {
                                    Self::flush_drop(&mut pending, &mut emitter);
                                    pending = Some(PendingDrop { first, count });
                                }
                            }
                        }
                        Poll::Rejected { index, reason } => {
                            handled += 1;
                            Self::flush_drop(&mut pending, &mut emitter);
                            let mut e = SensorError::new(SensorErrorKind::of_rejection(&reason));
                            e.index = Some(index);
                            e.reason = Some(reason);
                            emitter.emit(SensorEvent::Error(e));
                        }
                    }
                }
                if handled < BATCH {
                    Self::flush_drop(&mut pending, &mut emitter);
                }
                if handled > 0 {
                    self.shared.publish(
                        &self.totals,
                        self.reader.counters(),
                        self.reader.moved_past(),
                    );
                }
            }

            now = monotonic_ns();
            if handled == 0 || now.saturating_sub(last_watch) >= 1_000_000 {
                last_watch = now;
                match watchdog.poll(self.reader.heartbeat_ms(), now) {
                    Some(WatchdogEvent::Stalled { age_ns }) => {
                        Self::flush_drop(&mut pending, &mut emitter);
                        stalled = true;
                        self.shared.stalls.fetch_add(1, Ordering::Relaxed);
                        let mut e = SensorError::new(SensorErrorKind::Stalled);
                        e.heartbeat_age_ns = Some(age_ns);
                        emitter.emit(SensorEvent::Error(e));
                        emitter.state(ConnectionState::Stalled, Some(self.reader.epoch()));
                        next_retry = now;
                        last_retry_error = None;
                    }
                    Some(WatchdogEvent::Recovered { .. }) => {
                        stalled = false;
                        emitter.state(ConnectionState::Connected, Some(self.reader.epoch()));
                    }
                    None => {}
                }
            }

            if stalled && now >= next_retry {
                self.try_reattach(&mut emitter, &mut last_retry_error);
                now = monotonic_ns();
                next_retry = now.saturating_add(retry_ns);
                if self.shared.state.load(Ordering::Relaxed)
                    == state_code(ConnectionState::Connected)
                {
                    watchdog = Watchdog::new(stall_ns, self.reader.heartbeat_ms(), now);
                    stalled = false;
                    header_bad = false;
                    last_header = now;
                    backoff.reset();
                    continue;
                }
            }

            if now.saturating_sub(last_header) >= header_ns {
                last_header = now;
                match self.reader.check_header() {
                    Ok(()) => header_bad = false,
                    Err(_) if header_bad => {}
                    Err(_) => {
                        header_bad = true;
                        emitter.emit(SensorEvent::Error(SensorError::new(
                            SensorErrorKind::Header,
                        )));
                    }
                }
            }

            if handled > 0 {
                backoff.reset();
                continue;
            }
            match self.config.polling {
                Polling::BusyPoll => core::hint::spin_loop(),
                Polling::Backoff => match backoff.next_action() {
                    Action::Spin => core::hint::spin_loop(),
                    Action::Yield => std::thread::yield_now(),
                    Action::Sleep(us) => std::thread::sleep(Duration::from_micros(u64::from(us))),
                },
            }
        }
        Self::flush_drop(&mut pending, &mut emitter);
        emitter
    }

    /// One handshake attempt while stalled. On a new epoch: swap rings and leave the state
    /// `Connected`; otherwise leave everything as it is.
    fn try_reattach(&mut self, emitter: &mut Emitter, last_error: &mut Option<HandshakeError>) {
        let mut cfg = self.config.clone();
        cfg.handshake_timeout = cfg.handshake_timeout.min(Duration::from_millis(200));
        match SharedMemorySensorDataSource::attach(&cfg, Start::Oldest) {
            Ok(reader) if reader.epoch() != self.reader.epoch() => {
                emitter.state(ConnectionState::Reconnecting, Some(reader.epoch()));
                let c = self.reader.counters();
                self.totals.delivered += c.delivered;
                self.totals.dropped += c.dropped();
                self.totals.rejected += c.rejected.total();
                self.totals.moved += self.reader.moved_past();
                // The old reader (and its mapping) is dropped here.
                self.reader = reader;
                self.shared
                    .set_ring(self.reader.epoch(), self.reader.geometry());
                self.shared.publish(
                    &self.totals,
                    self.reader.counters(),
                    self.reader.moved_past(),
                );
                self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                *last_error = None;
                emitter.state(ConnectionState::Connected, Some(self.reader.epoch()));
            }
            // Same producer, writer hung: stay stalled. The attempt's mapping is dropped.
            Ok(_) => {}
            Err(SourceError::Handshake(e)) if e.is_absent() => {}
            Err(e) => {
                // A producer is there but refuses us or offers a bad ring: report it once.
                let h = match &e {
                    SourceError::Handshake(h) => Some(h.clone()),
                    _ => None,
                };
                if h.is_none() || *last_error != h {
                    let kind = match e {
                        SourceError::Attach(_) => SensorErrorKind::Header,
                        _ => SensorErrorKind::Handshake,
                    };
                    emitter.emit(SensorEvent::Error(SensorError::new(kind)));
                    *last_error = h;
                }
            }
        }
    }
}
