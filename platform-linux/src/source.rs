//! [`SharedMemorySensorDataSource`]: the reader service of the patient monitor over a
//! producer's shared-memory ring, as a thin platform layer over the core's [`Session`].
//!
//! Everything a reader decides — what is a valid frame, stalls, "producer stopped", header and
//! `writeIndex` faults, coalesced drop and reject reports, counters across producer epochs — is
//! the session's. This file adds only what is Linux's:
//!
//! - **the handshake**: `start` runs it synchronously (so a caller learns at once that there
//!   is no producer); when the session asks (stalled, stopped, faulty ring) it is retried every
//!   [`SourceConfig::reconnect_interval`] and the new ring handed to [`Session::reattach`] if
//!   the session wants it (another epoch, or any ring after a fault);
//! - **a thread and a wait strategy**: the reader thread calls [`Session::poll`] and, when it
//!   is idle, by default **sleeps in `FUTEX_WAIT`** on its status page until the writer wakes
//!   it or its watchdog's next deadline comes (so a stalled producer is still reported within
//!   the stall timeout, and a stopped one at once: the producer's stop wakes it) — if the
//!   producer gave it a status page and its ring header says the writer wakes sleepers; else,
//!   or with [`Polling::BackoffOnly`], it spins, yields and sleeps (at most
//!   [`SourceConfig::max_sleep_us`]); with [`Polling::BusyPoll`] it spins only;
//! - **a lease**: the handshake asks for a status page and keeps the connection open; the
//!   reader publishes its position, counters, heartbeat and whether it sleeps there (at most
//!   every [`REPORT_PERIOD`], and before each sleep), so the producer lists it with its lag;
//! - **delivery**: events go to a callback (on the polling thread) or a bounded, preallocated
//!   channel. A consumer that falls behind loses events, never the counts: the loss is counted
//!   at once in [`SharedMemorySensorDataSource::events_lost`] and reported as one
//!   `EventsLost` event as soon as there is room; the session's counters are published after
//!   every poll ([`SensorDataSource::stats`]) and are the truth.
//!
//! Nothing on the per-frame path allocates (the scratch buffer and the channel are allocated
//! at start and at re-attach).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use vitalring_core::backoff::{Action, Backoff};
use vitalring_core::session::{Next, Session, SessionConfig, SessionStats, Sink};
use vitalring_core::slot::{LapPolicy, ScratchTooSmall, Start};
use vitalring_core::source::{
    ConnectionState, DataSourceInfo, HandshakeProblem, SensorDataSource, SensorError, SensorEvent,
};
use vitalring_core::time::{MonoNs, Nanos};
use vitalring_core::Ring;

use crate::client::{connect_leased, ConnectOptions, HandshakeError, Lease};
use crate::clock::mono;
use crate::map::RoMapping;
use crate::status::LinuxFutex;
use crate::token::Token;
use vitalring_core::region::Region;

/// How the reader thread waits when the ring is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polling {
    /// The default: sleep in `FUTEX_WAIT` until the writer wakes us (or the watchdog's next
    /// deadline) when the producer supports it (status page + header flag); otherwise the
    /// backoff of [`Polling::BackoffOnly`].
    #[default]
    Backoff,
    /// Spin without sleeping (lowest latency, one busy core).
    BusyPoll,
    /// Never wait to be woken: spin, then yield, then sleep at most
    /// [`SourceConfig::max_sleep_us`] (50 µs by default).
    BackoffOnly,
}

/// How often a busy reader refreshes its status page (it also does before every sleep).
pub const REPORT_PERIOD: Duration = Duration::from_millis(100);

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
    /// Server uids trusted besides the reader's own (a producer running as a service
    /// account). Empty by default: only a producer of the reader's own uid is trusted.
    pub allowed_server_uids: Vec<u32>,
    /// How long the first handshake keeps retrying a producer that answers "busy" (with
    /// backoff); zero (the default) fails at once. Re-attachments retry on their own schedule.
    pub busy_wait: Duration,
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
            .field("allowed_server_uids", &self.allowed_server_uids)
            .field("busy_wait", &self.busy_wait)
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
            allowed_server_uids: Vec::new(),
            busy_wait: Duration::ZERO,
        }
    }
}

/// Why `start` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The handshake failed.
    Handshake(HandshakeError),
    /// The ring needs a larger scratch buffer than was allocated (cannot happen: the buffer is
    /// sized from the validated ring).
    Scratch(ScratchTooSmall),
    /// The polling thread could not be spawned.
    Spawn,
}

impl core::fmt::Display for SourceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "{e}"),
            Self::Scratch(e) => write!(f, "{e}"),
            Self::Spawn => write!(f, "cannot spawn the polling thread"),
        }
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    fn problem(&self) -> HandshakeProblem {
        match self {
            Self::Handshake(HandshakeError::Header(_) | HandshakeError::HeaderMismatch) => {
                HandshakeProblem::BadRing
            }
            Self::Handshake(HandshakeError::Refused(_)) => HandshakeProblem::Refused,
            Self::Scratch(_) => HandshakeProblem::BadRing,
            _ => HandshakeProblem::Other,
        }
    }
}

/// State shared between the source handle and its polling thread.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    events_lost: AtomicU64,
    /// The session's figures after its latest poll (a short lock per published change).
    stats: Mutex<Option<SessionStats>>,
}

impl Shared {
    fn publish(&self, stats: SessionStats) {
        if let Ok(mut s) = self.stats.lock() {
            *s = Some(stats);
        }
    }

    fn set_state(&self, state: ConnectionState) {
        if let Ok(mut s) = self.stats.lock() {
            if let Some(s) = s.as_mut() {
                s.state = state;
            }
        }
    }
}

/// Receives events on the polling thread.
pub type EventCallback = Box<dyn FnMut(SensorEvent) + Send>;

/// Where events go: the session's sink on the polling thread.
struct Emitter {
    callback: Option<EventCallback>,
    tx: SyncSender<SensorEvent>,
    lost: u64,
    shared: Arc<Shared>,
}

impl Emitter {
    fn new(
        callback: Option<EventCallback>,
        tx: SyncSender<SensorEvent>,
        shared: &Arc<Shared>,
    ) -> Self {
        Self {
            callback,
            tx,
            lost: 0,
            shared: Arc::clone(shared),
        }
    }

    fn emit(&mut self, event: SensorEvent) {
        if let Some(cb) = &mut self.callback {
            cb(event);
            return;
        }
        if self.lost > 0 {
            let report = SensorEvent::Error(SensorError::EventsLost { count: self.lost });
            match self.tx.try_send(report) {
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
        // Relaxed: a statistic.
        self.shared.events_lost.fetch_add(1, Ordering::Relaxed);
    }
}

/// The polling thread's sink: holds one round's events until the round's counters are
/// published, so a consumer that sees an event finds it already counted in
/// [`SensorDataSource::stats`]. Preallocated; a round that produces more events than it holds
/// (one batch of frames plus a few state changes) sends the rest at once.
struct RoundSink<'e> {
    emitter: &'e mut Emitter,
    held: &'e mut Vec<SensorEvent>,
}

impl Sink for RoundSink<'_> {
    fn event(&mut self, event: SensorEvent) {
        if self.held.len() < self.held.capacity() {
            self.held.push(event);
        } else {
            self.emitter.emit(event);
        }
    }
}

type RingSession = Session<RoMapping, Box<[u8]>>;

/// What a handshake yields: the ring, its scratch buffer and the lease (if the producer gave one).
type Handshaken = (Ring<RoMapping>, Box<[u8]>, Option<Lease>);

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
        let emitter = Emitter::new(callback, tx, &shared);
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

    /// Events a slow consumer lost so far (their frames are in the counters all the same).
    pub fn events_lost(&self) -> u64 {
        // Relaxed: a statistic.
        self.shared.events_lost.load(Ordering::Relaxed)
    }

    /// The configuration.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    fn session_config(config: &SourceConfig) -> SessionConfig {
        let ns = |d: Duration| Nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        SessionConfig {
            lap_policy: config.lap_policy,
            start: config.start,
            stall_timeout: ns(config.stall_timeout),
            header_check_period: ns(config.header_check_interval),
            ..SessionConfig::default()
        }
    }

    /// One handshake: a validated ring and a scratch buffer sized for it.
    fn handshake(
        config: &SourceConfig,
        timeout: Duration,
        busy_retry: Duration,
        on_busy: impl FnMut(&HandshakeError, Duration),
    ) -> Result<Handshaken, SourceError> {
        let options = ConnectOptions {
            timeout,
            allowed_server_uids: config.allowed_server_uids.clone(),
            busy_retry,
        };
        let attached = connect_leased(
            &config.socket_path,
            &config.channel,
            config.token.as_ref(),
            &options,
            on_busy,
        )
        .map_err(SourceError::Handshake)?;
        let scratch = vec![0u8; attached.geometry().payload_capacity()].into_boxed_slice();
        let (ring, lease) = attached.into_parts();
        Ok((ring, scratch, lease))
    }
}

impl SharedMemorySensorDataSource {
    /// [`SensorDataSource::start`], calling `on_busy(error, pause)` before each wait while the
    /// producer answers "busy" (for up to [`SourceConfig::busy_wait`]).
    ///
    /// # Errors
    /// As [`SensorDataSource::start`].
    pub fn start_reporting(
        &mut self,
        on_busy: impl FnMut(&HandshakeError, Duration),
    ) -> Result<(), SourceError> {
        self.start_inner(on_busy)
    }

    fn start_inner(
        &mut self,
        on_busy: impl FnMut(&HandshakeError, Duration),
    ) -> Result<(), SourceError> {
        if self.thread.is_some() {
            return Ok(());
        }
        let Some(mut emitter) = self.emitter.take() else {
            return Err(SourceError::Spawn);
        };
        self.shared.stop.store(false, Ordering::Relaxed);
        emitter.emit(SensorEvent::Connection {
            state: ConnectionState::Connecting,
            epoch: None,
        });
        let live = match LiveReader::connect_reporting(self.config.clone(), on_busy) {
            Ok(l) => l,
            Err(e) => {
                emitter.emit(SensorEvent::Error(SensorError::Handshake(e.problem())));
                emitter.emit(SensorEvent::Connection {
                    state: ConnectionState::Disconnected,
                    epoch: None,
                });
                self.emitter = Some(emitter);
                return Err(e);
            }
        };
        self.shared.publish(live.stats());
        emitter.emit(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(live.session().epoch()),
        });
        let worker = Worker {
            shared: Arc::clone(&self.shared),
            live,
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
                self.emitter = Some(Emitter::new(None, tx, &self.shared));
                self.shared.set_state(ConnectionState::Disconnected);
                Err(SourceError::Spawn)
            }
        }
    }
}

impl SensorDataSource for SharedMemorySensorDataSource {
    type Error = SourceError;

    fn start(&mut self) -> Result<(), SourceError> {
        self.start_inner(|_, _| {})
    }

    fn stop(&mut self) {
        let Some(handle) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::Relaxed);
        let mut emitter = match handle.join() {
            Ok(e) => e,
            Err(_) => {
                let (tx, rx) = sync_channel(self.config.event_capacity.max(1));
                self.rx = rx;
                Emitter::new(None, tx, &self.shared)
            }
        };
        // The counters keep the session's last state (the producer as last seen); that the
        // source itself stopped is the event below and `is_active()`.
        emitter.emit(SensorEvent::Connection {
            state: ConnectionState::Disconnected,
            epoch: None,
        });
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
            epoch: stats.map(|s| s.current.epoch),
            frame_size: stats.map(|s| s.geometry.frame_size()),
            frame_count: stats.map(|s| s.geometry.frame_count()),
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

    fn stats(&self) -> Option<SessionStats> {
        self.shared.stats.lock().ok().and_then(|s| *s)
    }
}

impl Drop for SharedMemorySensorDataSource {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A reader session on the caller's thread: the handshake, the core [`Session`], the wait
/// strategy and re-attachment — everything of a shared-memory reader except a thread and a
/// queue. [`SharedMemorySensorDataSource`] runs one on its polling thread; the language
/// bindings and the recorder drive one directly.
pub struct LiveReader {
    config: SourceConfig,
    session: RingSession,
    backoff: Backoff,
    retry: Nanos,
    next_retry: MonoNs,
    last_problem: Option<HandshakeProblem>,
    position: u64,
    /// The status page and open connection, if the producer gave them.
    lease: Option<Lease>,
    /// Idle waits sleep in `FUTEX_WAIT` (lease + header flag + `Polling::Backoff`).
    sleeps: bool,
    last_report: MonoNs,
}

impl core::fmt::Debug for LiveReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LiveReader")
            .field("config", &self.config)
            .field("stats", &self.session.stats())
            .finish_non_exhaustive()
    }
}

impl LiveReader {
    /// Runs the handshake and attaches a session.
    ///
    /// # Errors
    /// [`SourceError::Handshake`] (no producer, refused, untrusted, bad ring).
    pub fn connect(config: SourceConfig) -> Result<Self, SourceError> {
        Self::connect_reporting(config, |_, _| {})
    }

    /// [`LiveReader::connect`], calling `on_busy(error, pause)` before each wait while the
    /// producer answers "busy" (for up to [`SourceConfig::busy_wait`]), so a program can say
    /// that it is waiting.
    ///
    /// # Errors
    /// As [`LiveReader::connect`].
    pub fn connect_reporting(
        config: SourceConfig,
        on_busy: impl FnMut(&HandshakeError, Duration),
    ) -> Result<Self, SourceError> {
        let (ring, scratch, lease) = SharedMemorySensorDataSource::handshake(
            &config,
            config.handshake_timeout,
            config.busy_wait,
            on_busy,
        )?;
        let sleeps = Self::can_sleep(&config, &ring, lease.as_ref());
        let session = Session::new(
            ring,
            scratch,
            SharedMemorySensorDataSource::session_config(&config),
            mono(),
        )
        .map_err(SourceError::Scratch)?;
        let retry = Nanos(
            u64::try_from(config.reconnect_interval.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        Ok(Self {
            backoff: Backoff::with_max_sleep_us(config.max_sleep_us),
            retry,
            next_retry: MonoNs(0),
            last_problem: None,
            position: session.reader().position(),
            session,
            config,
            lease,
            sleeps,
            last_report: MonoNs(0),
        })
        .map(|mut live| {
            live.report();
            live
        })
    }

    fn can_sleep(config: &SourceConfig, ring: &Ring<RoMapping>, lease: Option<&Lease>) -> bool {
        let sleeps = config.polling == Polling::Backoff
            && lease.is_some()
            && vitalring_core::wake::writer_wakes(ring.region().region());
        if let Some(l) = lease {
            l.page().set_mode(sleeps);
        }
        sleeps
    }

    /// Whether idle waits sleep until woken (rather than poll).
    pub fn sleeps(&self) -> bool {
        self.sleeps
    }

    /// Whether the producer gave this reader a lease (it lists the reader).
    pub fn has_lease(&self) -> bool {
        self.lease.is_some()
    }

    /// Writes position, counters and heartbeat to the status page (if any).
    pub fn report(&mut self) {
        let Some(lease) = &self.lease else { return };
        let stats = self.session.stats();
        let c = stats.current.counters;
        lease.page().report(&vitalring_core::wake::Report {
            position: stats.current.position,
            delivered: c.delivered,
            dropped: c.dropped(),
            rejected: c.rejected.total(),
            now: crate::clock::wall().as_ms(),
        });
        self.last_report = mono();
    }

    fn report_if_due(&mut self, now: MonoNs) {
        let period = REPORT_PERIOD.as_nanos() as u64;
        if self.lease.is_some() && now.0.saturating_sub(self.last_report.0) >= period {
            self.report();
        }
    }

    /// Sleeps on the status page until woken or `deadline` (the session's next moment).
    fn sleep_until(&mut self, deadline: MonoNs) {
        self.report();
        let Some(lease) = &self.lease else { return };
        let now = mono();
        let timeout = Nanos(deadline.0.saturating_sub(now.0));
        if timeout.0 == 0 {
            return;
        }
        let region = self.session.reader().region().region();
        let position = self.session.reader().position();
        lease.page().sleep(&LinuxFutex, timeout, || {
            // SYNC: Acquire pairs with the writer's Release store of `writeIndex`; the
            // fence in `StatusPage::sleep` orders this load after our sleeping flag.
            region.write_index(std::sync::atomic::Ordering::Acquire) == position
                && region.heartbeat_ms() != vitalring_core::layout::HEARTBEAT_STOPPED
        });
    }

    /// The session (its counters, state, epoch).
    pub fn session(&self) -> &RingSession {
        &self.session
    }

    /// The session's counters and state.
    pub fn stats(&self) -> SessionStats {
        self.session.stats()
    }

    /// The configuration.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// One round: polls the session now and, when it asks (stalled, stopped, faulty ring) and
    /// a retry is due, runs a handshake and re-attaches if the session wants the ring. Never
    /// blocks longer than one handshake attempt.
    pub fn step(&mut self, sink: &mut impl Sink) -> Next {
        let now = mono();
        let next = self.session.poll(now, sink);
        self.report_if_due(now);
        if matches!(next, Next::Stalled | Next::Stopped | Next::NeedsReattach)
            && now >= self.next_retry
        {
            self.next_retry = mono().plus(self.retry);
            self.try_reattach(sink);
        }
        next
    }

    /// Waits after a round that returned `next`, as the configured strategy says: at once
    /// after a full batch, spin/yield/sleep (or spin only) when idle, 1 ms while the producer
    /// is stalled, stopped or being re-attached.
    pub fn wait(&mut self, next: Next) {
        let position = self.session.reader().position();
        if position != self.position {
            self.position = position;
            self.backoff.reset();
        }
        match (self.config.polling, next) {
            (_, Next::Busy) => self.backoff.reset(),
            (Polling::BusyPoll, Next::Idle { .. }) => core::hint::spin_loop(),
            (_, Next::Stalled | Next::Stopped | Next::NeedsReattach) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            (Polling::Backoff, Next::Idle { deadline }) if self.sleeps => {
                self.sleep_until(deadline);
            }
            (Polling::Backoff | Polling::BackoffOnly, Next::Idle { .. }) => {
                match self.backoff.next_action() {
                    Action::Spin => core::hint::spin_loop(),
                    Action::Yield => std::thread::yield_now(),
                    Action::Sleep(us) => std::thread::sleep(Duration::from_micros(u64::from(us))),
                }
            }
        }
    }

    /// One handshake attempt. A ring the session wants replaces the attached one; a producer
    /// that refuses us or offers a bad ring is reported once per distinct problem.
    fn try_reattach(&mut self, sink: &mut impl Sink) {
        let timeout = self
            .config
            .handshake_timeout
            .min(Duration::from_millis(200));
        match SharedMemorySensorDataSource::handshake(
            &self.config,
            timeout,
            Duration::ZERO,
            |_, _| {},
        ) {
            Ok((ring, scratch, lease)) if self.session.wants(ring.header().epoch(), mono()) => {
                let sleeps = Self::can_sleep(&self.config, &ring, lease.as_ref());
                match self.session.reattach(ring, scratch, mono(), sink) {
                    Ok(()) => {
                        self.last_problem = None;
                        self.lease = lease;
                        self.sleeps = sleeps;
                        self.report();
                    }
                    Err(_) => sink.event(SensorEvent::Error(SensorError::Handshake(
                        HandshakeProblem::BadRing,
                    ))),
                }
            }
            // The same producer, still hung, or its ring faulted again and the session's
            // re-attach back-off has not passed: stay. The attempt's mapping is dropped.
            Ok(_) => {}
            Err(SourceError::Handshake(e)) if e.is_absent() => {}
            Err(e) => {
                let problem = e.problem();
                if self.last_problem != Some(problem) {
                    sink.event(SensorEvent::Error(SensorError::Handshake(problem)));
                    self.last_problem = Some(problem);
                }
            }
        }
    }
}

/// Events held per round: a full batch of frames plus state changes and reports.
const HELD_EVENTS: usize = 256;

/// The polling thread: a [`LiveReader`] in a loop, publishing its counters.
struct Worker {
    shared: Arc<Shared>,
    live: LiveReader,
}

impl Worker {
    fn run(mut self, mut emitter: Emitter) -> Emitter {
        if self.live.config.polling != Polling::BusyPoll {
            // The default timer slack (50 µs) would let each "≤ 50 µs" sleep last up to 100 µs;
            // 1 ns makes the backoff schedule mean what it says (this thread only). Failure
            // only costs latency, so it is ignored.
            let _ = nix::sys::prctl::set_timerslack(1);
        }
        let mut published = self.live.stats();
        let mut held = Vec::with_capacity(HELD_EVENTS);
        // Relaxed: a stop request; the join in `stop` orders everything else.
        while !self.shared.stop.load(Ordering::Relaxed) {
            let next = self.live.step(&mut RoundSink {
                emitter: &mut emitter,
                held: &mut held,
            });
            let stats = self.live.stats();
            if stats != published {
                self.shared.publish(stats);
                published = stats;
            }
            for event in held.drain(..) {
                emitter.emit(event);
            }
            self.live.wait(next);
        }
        emitter
    }
}
