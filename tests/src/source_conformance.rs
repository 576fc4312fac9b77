//! The data-source conformance suite: one set of cases run against every implementation of
//! core's [`SensorDataSource`] contract — the mock, the shared-memory source with a real
//! producer, the in-process simulator and the recording replay — through that contract only
//! (`start`, `poll_events`, `stats`, `info`, `is_active`, `stop`).
//!
//! A source is wrapped in a [`SourceHarness`] that can make its producer publish; the cases
//! then check what every consumer relies on:
//!
//! - **lifecycle**: no event and no session before `start`; the first event after it is
//!   `Connection { Connected, epoch }` with the epoch `info()` reports; `stop` is reported as
//!   one `Connection { Disconnected }`, is idempotent, and nothing is delivered after it;
//! - **in order, nothing lost**: frames published within the ring's capacity all arrive, in
//!   ring-index order, as the records published;
//! - **exact accounting under laps**: a burst of several rings' worth — every ring index is
//!   delivered, or reported in a typed `Dropped { first, count }` whose ranges join the
//!   deliveries without overlap, and `stats()` says exactly what the events said;
//! - **typed rejections** ([`FaultHarness`]): a frame with a malformed payload is one
//!   `Rejected { reason: Payload(..) }` with its index, counted by `stats()` as `malformed`;
//! - **producer stop** ([`StopHarness`]): a producer that stops cleanly is reported as
//!   `Connection { Stopped }` after its last frame, never as a stall.
//!
//! [`source_conformance_tests!`] expands to one `#[test]` per case for a harness expression;
//! [`source_fault_tests!`] and [`source_stop_tests!`] add the cases that need a harness that can
//! corrupt a frame or stop its producer.

use std::time::{Duration, Instant};

use vitalring_core::session::SessionStats;
use vitalring_core::slot::DropCause;
use vitalring_core::source::{
    ConnectionState, SensorDataSource, SensorError, SensorErrorKind, SensorEvent,
};

/// Generous bound for anything a case waits for; a healthy run takes a fraction of it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A data source with a producer the suite can drive.
pub trait SourceHarness {
    /// The data source under test.
    type Source: SensorDataSource;
    /// For failure messages.
    fn name(&self) -> &'static str;
    /// The source.
    fn source(&mut self) -> &mut Self::Source;
    /// Slots in the source's ring.
    fn frame_count(&self) -> u64;
    /// The producer publishes about `n` more data frames back to back. Sources driven by the
    /// caller (mock, simulator, replay) publish them at the next poll, before the reader runs;
    /// a source with its own reader thread may read while they are written.
    fn publish(&mut self, n: u64);
    /// Ring indices the producer has written so far.
    fn published(&self) -> u64;
    /// Hands the events ready now to `sink` (running the producer's pending work first, for a
    /// source driven by the caller).
    fn poll(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize;
    /// True when the reader cannot run while [`SourceHarness::publish`] writes (no reader
    /// thread): a burst larger than the ring then laps the reader for certain.
    fn deterministic(&self) -> bool;
}

/// A harness whose producer can publish a frame with a malformed payload.
pub trait FaultHarness: SourceHarness {
    /// Publishes one vitals frame whose JSON payload is malformed ([`MALFORMED`]); returns its
    /// ring index.
    fn publish_malformed(&mut self) -> u64;
}

/// The payload of [`FaultHarness::publish_malformed`]: not JSON.
pub const MALFORMED: &[u8] = b"{\"hr\": nope}";

/// A harness whose producer can stop cleanly.
pub trait StopHarness: SourceHarness {
    /// The producer stops cleanly after what it has published (its ring is marked "producer
    /// stopped").
    fn stop_producer(&mut self);
}

/// Polls until the reader has moved past every published index and no event is pending;
/// appends the events to `events`.
///
/// # Panics
/// After [`PATIENCE`] (a hang guard).
pub fn drain<H: SourceHarness>(h: &mut H, events: &mut Vec<SensorEvent>) {
    let start = Instant::now();
    loop {
        let n = h.poll(&mut |e| events.push(e));
        let published = h.published();
        let caught_up = h
            .source()
            .stats()
            .is_some_and(|s| s.current.position >= published);
        if n == 0 && caught_up {
            // The counters are published after the events of a poll: one more look.
            if h.poll(&mut |e| events.push(e)) == 0 {
                return;
            }
            continue;
        }
        if start.elapsed() > PATIENCE {
            panic!(
                "hang guard: {} did not catch up with {published} published frames: {:?}",
                h.name(),
                h.source().stats()
            );
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Starts the source, waits for its connection and returns the producer epoch; the events
/// after the connection report (data already delivered) are appended to `events`. The
/// documented progression is an optional `Connecting` (a source that reports its handshake),
/// then `Connected` with the epoch `info()` reports.
///
/// # Panics
/// The source does not start, reports events before `start`, or anything else before
/// `Connected`.
pub fn start<H: SourceHarness>(h: &mut H, events: &mut Vec<SensorEvent>) -> u64 {
    let name = h.name();
    assert!(!h.source().is_active(), "{name}: active before start");
    let mut before = Vec::new();
    assert_eq!(
        h.source().poll_events(&mut |e| before.push(e)),
        0,
        "{name}: events before start: {before:?}"
    );
    h.source()
        .start()
        .unwrap_or_else(|e| panic!("{name}: start failed: {e}"));
    assert!(h.source().is_active(), "{name}: not active after start");
    let begun = Instant::now();
    let mut got = Vec::new();
    let connected = loop {
        h.poll(&mut |e| got.push(e));
        let pos = got.iter().position(|e| {
            !matches!(
                e,
                SensorEvent::Connection {
                    state: ConnectionState::Connecting,
                    ..
                }
            )
        });
        if let Some(pos) = pos {
            break pos;
        }
        if begun.elapsed() > PATIENCE {
            panic!("hang guard: {name} never reported its connection: {got:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let SensorEvent::Connection {
        state: ConnectionState::Connected,
        epoch: Some(epoch),
    } = got[connected]
    else {
        panic!("{name}: the first state after Connecting is not Connected with an epoch: {got:?}");
    };
    assert_eq!(h.source().info().epoch, Some(epoch), "{name}: info epoch");
    assert!(
        got[connected + 1..]
            .iter()
            .all(|e| matches!(e, SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. })),
        "{name}: unexpected events after Connected: {got:?}"
    );
    events.extend(got.drain(connected + 1..));
    epoch
}

/// What a list of events says, summed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Ring indices of the data events, in arrival order.
    pub delivered: Vec<u64>,
    /// `(first, count)` of every `Dropped`.
    pub dropped: Vec<(u64, u64)>,
    /// `(first, count, kind)` of every `Rejected`.
    pub rejected: Vec<(u64, u64, SensorErrorKind)>,
    /// Events lost by a slow consumer.
    pub events_lost: u64,
    /// Connection states, in order.
    pub states: Vec<ConnectionState>,
    /// Any other error.
    pub other: Vec<SensorError>,
}

impl Tally {
    /// Sums `events`.
    pub fn of(events: &[SensorEvent]) -> Self {
        let mut t = Self::default();
        for e in events {
            match e {
                SensorEvent::Vitals { index, .. } | SensorEvent::Waveform { index, .. } => {
                    t.delivered.push(*index);
                }
                SensorEvent::Connection { state, .. } => t.states.push(*state),
                SensorEvent::Error(SensorError::Dropped { first, count, .. }) => {
                    t.dropped.push((*first, *count));
                }
                SensorEvent::Error(err @ SensorError::Rejected { first, count, .. }) => {
                    t.rejected.push((*first, *count, err.kind()))
                }
                SensorEvent::Error(SensorError::EventsLost { count }) => t.events_lost += count,
                SensorEvent::Error(other) => t.other.push(*other),
            }
        }
        t
    }

    /// Indices dropped.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|d| d.1).sum()
    }

    /// Indices rejected.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|r| r.1).sum()
    }
}

/// The events of one ring say exactly what its counters say, and every index from the
/// session's start to the producer's last is accounted for once: delivered, dropped or
/// rejected, with no range overlapping another.
///
/// # Panics
/// When any of that fails.
pub fn check_accounting(name: &str, tally: &Tally, st: &SessionStats, published: u64) {
    let cur = &st.current;
    assert_eq!(
        tally.events_lost, 0,
        "{name}: the suite's consumer lost events"
    );
    assert_eq!(cur.position, published, "{name}: not caught up: {st:?}");
    assert_eq!(
        cur.accounted(),
        cur.position - cur.start_index,
        "{name}: counters do not account for every index: {st:?}"
    );
    assert_eq!(
        cur.counters.delivered - cur.heartbeats,
        tally.delivered.len() as u64,
        "{name}: delivered counter vs data events: {st:?}"
    );
    assert_eq!(
        cur.counters.dropped(),
        tally.dropped_total(),
        "{name}: dropped counter vs Dropped events: {st:?} {:?}",
        tally.dropped
    );
    assert_eq!(
        cur.counters.rejected.total(),
        tally.rejected_total(),
        "{name}: rejected counter vs Rejected events: {st:?}"
    );
    // Every index once: the deliveries, drops and rejections tile [start_index, position)
    // (heartbeat frames are delivered without an event: the holes they leave are exactly
    // `heartbeats`).
    let mut covered: Vec<(u64, u64)> = tally.delivered.iter().map(|&i| (i, 1)).collect();
    covered.extend(tally.dropped.iter().copied());
    covered.extend(tally.rejected.iter().map(|r| (r.0, r.1)));
    covered.sort_unstable();
    let mut next = cur.start_index;
    let mut holes = 0;
    for (first, count) in covered {
        assert!(
            first >= next,
            "{name}: index {first} reported twice (next expected {next})"
        );
        holes += first - next;
        next = first + count;
    }
    holes += cur.position - next;
    assert_eq!(holes, cur.heartbeats, "{name}: indices never accounted for");
}

/// Case: lifecycle — start, connected, stop reported once, nothing after stop.
pub fn lifecycle<H: SourceHarness>(mut h: H) {
    let name = h.name();
    let mut events = Vec::new();
    let epoch = start(&mut h, &mut events);
    assert_ne!(epoch, 0, "{name}: epoch 0");
    let kind = h.source().info().kind;
    assert!(!kind.is_empty(), "{name}: no kind");
    h.publish(10);
    drain(&mut h, &mut events);
    let st = h
        .source()
        .stats()
        .unwrap_or_else(|| panic!("{name}: no stats once connected"));
    assert_eq!(st.state, ConnectionState::Connected, "{name}: {st:?}");
    assert_eq!(st.current.epoch, epoch, "{name}");
    // A second start while active is a no-op.
    h.source()
        .start()
        .unwrap_or_else(|e| panic!("{name}: second start failed: {e}"));
    h.source().stop();
    assert!(!h.source().is_active(), "{name}: active after stop");
    h.source().stop();
    let mut after = Vec::new();
    let begun = Instant::now();
    while !after.iter().any(|e| {
        matches!(
            e,
            SensorEvent::Connection {
                state: ConnectionState::Disconnected,
                ..
            }
        )
    }) {
        h.source().poll_events(&mut |e| after.push(e));
        if begun.elapsed() > PATIENCE {
            panic!("hang guard: {name}: stop never reported: {after:?}");
        }
    }
    let disconnects = after
        .iter()
        .filter(|e| matches!(e, SensorEvent::Connection { .. }))
        .count();
    assert_eq!(
        disconnects, 1,
        "{name}: stop reported {disconnects} times: {after:?}"
    );
    assert!(
        matches!(
            after.last(),
            Some(SensorEvent::Connection {
                state: ConnectionState::Disconnected,
                epoch: None
            })
        ),
        "{name}: something after the stop report: {after:?}"
    );
    // The producer goes on; a stopped source delivers nothing more.
    h.publish(20);
    for _ in 0..20 {
        let mut late = Vec::new();
        assert_eq!(
            h.poll(&mut |e| late.push(e)),
            0,
            "{name}: events after stop: {late:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!h.source().is_active(), "{name}");
}

/// Case: frames within the ring's capacity arrive complete, in order.
pub fn in_order_nothing_lost<H: SourceHarness>(mut h: H) {
    let name = h.name();
    let mut events = Vec::new();
    start(&mut h, &mut events);
    drain(&mut h, &mut events);
    let first_published = h.published();
    for _ in 0..4 {
        h.publish(h.frame_count() / 2);
        drain(&mut h, &mut events);
    }
    let st = h.source().stats().expect("stats");
    let tally = Tally::of(&events);
    check_accounting(name, &tally, &st, h.published());
    assert_eq!(tally.dropped, [], "{name}: dropped within capacity");
    assert_eq!(tally.rejected, [], "{name}: rejected valid frames");
    assert!(tally.other.is_empty(), "{name}: {:?}", tally.other);
    assert!(
        tally.delivered.windows(2).all(|w| w[0] < w[1]),
        "{name}: out of order"
    );
    let later: Vec<u64> = tally
        .delivered
        .iter()
        .copied()
        .filter(|&i| i >= first_published)
        .collect();
    assert_eq!(
        later.len() as u64,
        h.published() - first_published,
        "{name}: frames published after the start went missing"
    );
    assert!(
        later.len() as u64 >= h.frame_count(),
        "{name}: too few frames: {}",
        later.len()
    );
}

/// Case: bursts of several rings' worth; exact, typed accounting.
pub fn accounting_when_lapped<H: SourceHarness>(mut h: H) {
    let name = h.name();
    let mut events = Vec::new();
    start(&mut h, &mut events);
    for _ in 0..3 {
        h.publish(h.frame_count() * 4 + 7);
        drain(&mut h, &mut events);
    }
    let st = h.source().stats().expect("stats");
    let tally = Tally::of(&events);
    check_accounting(name, &tally, &st, h.published());
    assert!(tally.other.is_empty(), "{name}: {:?}", tally.other);
    for e in &events {
        if let SensorEvent::Error(SensorError::Dropped { cause, count, .. }) = e {
            assert!(*count > 0, "{name}: empty drop report");
            assert!(
                matches!(cause, DropCause::Lapped | DropCause::Overwritten),
                "{name}"
            );
        }
    }
    assert_eq!(
        st.total.dropped(),
        tally.dropped_total(),
        "{name}: totals vs events"
    );
    if h.deterministic() {
        assert!(
            tally.dropped_total() > 0,
            "{name}: a reader lapped three times dropped nothing"
        );
    }
}

/// Case (faults): a frame with a malformed payload is one typed rejection with its index,
/// counted as `malformed`; the frames around it are delivered.
pub fn rejection_is_typed<H: FaultHarness>(mut h: H) {
    let name = h.name();
    let mut events = Vec::new();
    start(&mut h, &mut events);
    h.publish(5);
    drain(&mut h, &mut events);
    let bad = h.publish_malformed();
    h.publish(5);
    drain(&mut h, &mut events);
    let st = h.source().stats().expect("stats");
    let tally = Tally::of(&events);
    check_accounting(name, &tally, &st, h.published());
    assert_eq!(
        tally.rejected,
        [(bad, 1, SensorErrorKind::MalformedPayload)],
        "{name}: {events:?}"
    );
    assert!(tally.delivered.contains(&(bad - 1)) && tally.delivered.contains(&(bad + 1)));
    assert_eq!(st.total.rejected.malformed, 1, "{name}: {st:?}");
    let reported = events.iter().find_map(|e| match e {
        SensorEvent::Error(err @ SensorError::Rejected { .. }) => Some(*err),
        _ => None,
    });
    assert!(
        matches!(
            reported,
            Some(SensorError::Rejected {
                reason: vitalring_core::frame::RejectReason::Payload(_),
                first,
                count: 1,
            }) if first == bad
        ),
        "{name}: {reported:?}"
    );
}

/// Case (stop): a producer that stops cleanly is `Stopped` after its last frame, not a stall.
pub fn producer_stop_is_reported<H: StopHarness>(mut h: H) {
    let name = h.name();
    let mut events = Vec::new();
    start(&mut h, &mut events);
    h.publish(12);
    drain(&mut h, &mut events);
    h.stop_producer();
    let begun = Instant::now();
    while !Tally::of(&events)
        .states
        .contains(&ConnectionState::Stopped)
    {
        h.poll(&mut |e| events.push(e));
        if begun.elapsed() > PATIENCE {
            panic!("hang guard: {name}: producer stop never reported: {events:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let tally = Tally::of(&events);
    let st = h.source().stats().expect("stats");
    assert_eq!(st.state, ConnectionState::Stopped, "{name}: {st:?}");
    assert_eq!(st.stalls, 0, "{name}: a clean stop counted as a stall");
    assert!(
        !tally.states.contains(&ConnectionState::Stalled),
        "{name}: {:?}",
        tally.states
    );
    check_accounting(name, &tally, &st, h.published());
    let stop_at = events
        .iter()
        .position(|e| {
            matches!(
                e,
                SensorEvent::Connection {
                    state: ConnectionState::Stopped,
                    ..
                }
            )
        })
        .unwrap_or(0);
    assert!(
        events[stop_at..]
            .iter()
            .all(|e| !matches!(e, SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. })),
        "{name}: data after the stop report"
    );
}

/// One `#[test]` per basic case for the harness built by `$make` (an expression, evaluated
/// once per test).
#[macro_export]
macro_rules! source_conformance_tests {
    ($make:expr) => {
        #[test]
        fn lifecycle() {
            $crate::source_conformance::lifecycle($make);
        }
        #[test]
        fn in_order_nothing_lost() {
            $crate::source_conformance::in_order_nothing_lost($make);
        }
        #[test]
        fn accounting_when_lapped() {
            $crate::source_conformance::accounting_when_lapped($make);
        }
    };
}

/// The fault cases, for a [`FaultHarness`].
#[macro_export]
macro_rules! source_fault_tests {
    ($make:expr) => {
        #[test]
        fn rejection_is_typed() {
            $crate::source_conformance::rejection_is_typed($make);
        }
    };
}

/// The producer-stop case, for a [`StopHarness`].
#[macro_export]
macro_rules! source_stop_tests {
    ($make:expr) => {
        #[test]
        fn producer_stop_is_reported() {
            $crate::source_conformance::producer_stop_is_reported($make);
        }
    };
}
