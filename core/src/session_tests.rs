//! Unit tests of the reader session: liveness, the stopped mark, ring faults, coalesced
//! reports, timestamps, re-attachment and counters across epochs.

extern crate std;

use std::vec;
use std::vec::Vec;

use crate::frame::{FrameMeta, RejectReason};
use crate::layout::{Encoding, FrameType, Geometry};
use crate::payload::Record;
use crate::region::RegionRef;
use crate::ring::Ring;
use crate::session::{Next, Session, SessionConfig, REATTACH_BACKOFF_MAX, REATTACH_BACKOFF_MIN};
use crate::slot::{DropCause, IndexFault, LapPolicy, Writer, WriterConfig};
use crate::source::{ConnectionState, HeaderFault, SensorError, SensorEvent};
use crate::tests::{region, vitals};
use crate::time::{MonoNs, Nanos, UnixMs, UnixNs};

/// Wall clock at the start of every test (ms since the Unix epoch).
const T0_MS: u64 = 1_700_000_000_000;
const MS: u64 = 1_000_000;

struct Rig {
    writer: Writer<RegionRef<'static>>,
    session: Session<RegionRef<'static>, Vec<u8>>,
    /// Reader time and writer wall time move together, in ms from the start.
    t_ms: u64,
    events: Vec<SensorEvent>,
}

fn new_writer(g: Geometry, epoch: u64) -> Writer<RegionRef<'static>> {
    let config = WriterConfig {
        geometry: g,
        epoch,
        created: UnixMs(T0_MS).as_ns(),
        now: UnixMs(T0_MS),
    };
    Writer::create(region(g), config).unwrap()
}

fn ring_of(w: &Writer<RegionRef<'static>>) -> (Ring<RegionRef<'static>>, Vec<u8>) {
    let ring = Ring::new_checked(w.region().read_only()).unwrap();
    let cap = ring.header().geometry().payload_capacity();
    (ring, vec![0u8; cap])
}

impl Rig {
    fn new(g: Geometry, lap_policy: LapPolicy) -> Self {
        let writer = new_writer(g, 1);
        let (ring, scratch) = ring_of(&writer);
        let config = SessionConfig {
            lap_policy,
            ..SessionConfig::default()
        };
        let session = Session::new(ring, scratch, config, MonoNs(0)).unwrap();
        Self {
            writer,
            session,
            t_ms: 0,
            events: Vec::new(),
        }
    }

    fn wall(&self) -> UnixMs {
        UnixMs(T0_MS + self.t_ms)
    }

    fn advance(&mut self, ms: u64) {
        self.t_ms += ms;
    }

    fn vitals(&mut self, hr: u16) -> u64 {
        let now = self.wall();
        self.writer
            .publish_record(
                &Record::Vitals(vitals(hr)),
                Encoding::Json,
                now.as_ns(),
                now,
            )
            .unwrap()
    }

    fn raw(&mut self, payload: &[u8], timestamp: UnixNs) -> u64 {
        let meta = FrameMeta {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            timestamp,
        };
        let now = self.wall();
        self.writer.publish(meta, payload, now).unwrap()
    }

    fn poll(&mut self) -> Next {
        let now = MonoNs(self.t_ms * MS);
        let events = &mut self.events;
        self.session.poll(now, &mut |e| events.push(e))
    }

    /// Polls until the session is idle (or says something else); returns the last answer.
    fn drain(&mut self) -> Next {
        loop {
            match self.poll() {
                Next::Busy => continue,
                other => return other,
            }
        }
    }

    fn take(&mut self) -> Vec<SensorEvent> {
        core::mem::take(&mut self.events)
    }

    fn assert_accounting(&self) {
        let c = self.session.stats().current;
        assert_eq!(c.accounted(), c.position - c.start_index, "{c:?}");
    }
}

fn hr_of(e: &SensorEvent) -> Option<u16> {
    match e {
        SensorEvent::Vitals { record, .. } => Some(record.hr_bpm),
        _ => None,
    }
}

#[test]
fn a_silent_writer_stalls_after_the_timeout_and_recovers_when_it_moves() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    r.vitals(70);
    assert!(matches!(r.drain(), Next::Idle { .. }));
    r.advance(250);
    assert!(
        matches!(r.drain(), Next::Idle { .. }),
        "250 ms is not yet a stall"
    );
    r.advance(1);
    assert_eq!(r.drain(), Next::Stalled);
    let events = r.take();
    assert!(events.iter().any(|e| matches!(
        e,
        SensorEvent::Error(SensorError::Stalled { heartbeat_age }) if *heartbeat_age == Nanos(251 * MS)
    )));
    assert!(events.contains(&SensorEvent::Connection {
        state: ConnectionState::Stalled,
        epoch: Some(1)
    }));
    assert_eq!(r.session.stats().stalls, 1);
    r.advance(10);
    r.vitals(71);
    r.drain();
    let events = r.take();
    assert_eq!(
        events.first(),
        Some(&SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(1)
        })
    );
    assert_eq!(events.iter().filter_map(hr_of).collect::<Vec<_>>(), [71]);
}

#[test]
fn a_stopped_producer_is_drained_then_reported_as_stopped_not_stalled() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    for hr in [60, 61, 62] {
        r.vitals(hr);
    }
    let now = r.wall();
    r.writer.publish_heartbeat(now.as_ns(), now);
    r.writer.mark_stopped();
    assert_eq!(r.poll(), Next::Stopped);
    let events = r.take();
    assert_eq!(
        events.iter().filter_map(hr_of).collect::<Vec<_>>(),
        [60, 61, 62],
        "every frame before the mark is delivered"
    );
    assert_eq!(
        events.last(),
        Some(&SensorEvent::Connection {
            state: ConnectionState::Stopped,
            epoch: Some(1)
        })
    );
    // A second later it is still "stopped", never "stalled".
    r.advance(1000);
    assert_eq!(r.drain(), Next::Stopped);
    assert!(r.take().is_empty());
    let s = r.session.stats();
    assert_eq!(s.state, ConnectionState::Stopped);
    assert_eq!(s.stalls, 0);
    assert_eq!(s.current.position, r.writer.published());
    assert_eq!((s.current.counters.delivered, s.current.heartbeats), (4, 1));
    r.assert_accounting();
}

#[test]
fn write_index_going_backwards_is_a_fault_and_the_same_ring_resumes_after_reattach() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    for hr in 60..65 {
        r.vitals(hr);
    }
    r.drain();
    r.take();
    r.writer.region().poke_write_index(2).unwrap();
    assert_eq!(r.poll(), Next::NeedsReattach);
    let events = r.take();
    assert!(matches!(
        events.first(),
        Some(SensorEvent::Error(SensorError::Header(HeaderFault::Index(
            IndexFault::Behind {
                write_index: 2,
                position: 5
            }
        ))))
    ));
    assert_eq!(r.drain(), Next::NeedsReattach, "no data from a faulty ring");
    assert!(
        r.session.wants(1, MonoNs(r.t_ms * MS)),
        "after a fault the same producer's ring is wanted"
    );
    // The writer's next commit stores its real index again; a new handshake re-attaches.
    r.vitals(65);
    let (ring, scratch) = ring_of(&r.writer);
    let events = &mut r.events;
    r.session
        .reattach(ring, scratch, MonoNs(r.t_ms * MS), &mut |e| events.push(e))
        .unwrap();
    r.drain();
    let events = r.take();
    assert_eq!(events.iter().filter_map(hr_of).collect::<Vec<_>>(), [65]);
    let s = r.session.stats();
    assert_eq!((s.faults, s.reattaches, s.epochs), (1, 1, 1));
    assert_eq!(
        s.current.counters.delivered, 6,
        "one epoch, counted across both readers"
    );
    assert_eq!(s.current.counters.dropped(), 0);
    r.assert_accounting();
}

#[test]
fn a_reattach_while_write_index_is_still_implausible_stays_a_fault_and_loses_nothing() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    r.vitals(60);
    r.drain();
    r.take();
    r.writer.region().poke_write_index(1 << 62).unwrap();
    r.advance(5);
    assert_eq!(r.poll(), Next::NeedsReattach);
    // A handshake while the bogus value is still there: re-attached, but not fooled.
    let (ring, scratch) = ring_of(&r.writer);
    let events = &mut r.events;
    r.session
        .reattach(ring, scratch, MonoNs(r.t_ms * MS), &mut |e| events.push(e))
        .unwrap();
    assert_eq!(r.poll(), Next::NeedsReattach);
    // The writer stores its real index; the next re-attach resumes exactly.
    r.vitals(61);
    let (ring, scratch) = ring_of(&r.writer);
    let events = &mut r.events;
    r.session
        .reattach(ring, scratch, MonoNs(r.t_ms * MS), &mut |e| events.push(e))
        .unwrap();
    r.drain();
    assert_eq!(r.take().iter().filter_map(hr_of).collect::<Vec<_>>(), [61]);
    let s = r.session.stats();
    assert_eq!(s.current.counters.dropped(), 0);
    assert_eq!(s.current.counters.delivered, 2);
    r.assert_accounting();
}

impl Rig {
    fn now(&self) -> MonoNs {
        MonoNs(self.t_ms * MS)
    }

    /// A handshake with the current writer: re-attaches if the session wants its ring now.
    fn handshake(&mut self) -> bool {
        let now = self.now();
        let (ring, scratch) = ring_of(&self.writer);
        if !self.session.wants(ring.header().epoch(), now) {
            return false;
        }
        let events = &mut self.events;
        self.session
            .reattach(ring, scratch, now, &mut |e| events.push(e))
            .unwrap();
        true
    }
}

#[test]
fn a_writer_a_ring_ahead_on_a_frozen_clock_is_reattached_once_not_in_a_loop() {
    let g = Geometry::new(512, 16).unwrap();
    let mut r = Rig::new(g, LapPolicy::Latest);
    r.vitals(60);
    r.drain();
    r.take();
    // Three rings' worth of frames while the reader's clock stands still: more than any
    // writer could publish in no time, so a fault — and at this reader time it stays one.
    for i in 0..48 {
        r.vitals(61 + i);
    }
    // A platform's loop, waking up again and again without its clock moving.
    let mut reattaches = 0;
    // Under Miri every wake-up costs milliseconds; a hundred still tell a loop from a back-off.
    let wakeups = if cfg!(miri) { 100 } else { 10_000 };
    for _ in 0..wakeups {
        if r.drain() == Next::NeedsReattach && r.handshake() {
            reattaches += 1;
        }
    }
    assert_eq!(reattaches, 1, "once at once, then it waits for the clock");
    let s = r.session.stats();
    assert_eq!((s.faults, s.reattaches), (2, 1));
    assert_eq!(s.state, ConnectionState::Reconnecting);
    assert_eq!(
        r.session.reattach_not_before(),
        r.now().plus(REATTACH_BACKOFF_MIN)
    );
    // The clock moves on: re-attached, and everything is read or counted.
    r.advance(1);
    assert_eq!(r.drain(), Next::NeedsReattach);
    assert!(r.handshake());
    r.vitals(99);
    r.drain();
    let hrs: Vec<u16> = r.take().iter().filter_map(hr_of).collect();
    assert_eq!(hrs.last(), Some(&99));
    let c = r.session.stats().current;
    assert_eq!(c.position, r.writer.published());
    assert_eq!(c.counters.delivered + c.counters.dropped(), 50);
    r.assert_accounting();
}

#[test]
fn reattach_backoff_doubles_while_the_ring_stays_faulty_and_starts_over_after_a_clean_poll() {
    let g = Geometry::new(512, 16).unwrap();
    let mut r = Rig::new(g, LapPolicy::Latest);
    r.vitals(60);
    r.drain();
    r.take();
    r.writer.region().poke_write_index(1 << 62).unwrap();
    r.advance(5);
    assert_eq!(r.poll(), Next::NeedsReattach);
    // The first fault: the same producer's ring is wanted at once.
    assert_eq!(r.session.reattach_not_before(), r.now());
    let mut waits = Vec::new();
    for _ in 0..13 {
        assert!(
            r.handshake(),
            "due at {:?}",
            r.session.reattach_not_before()
        );
        assert_eq!(r.poll(), Next::NeedsReattach, "still implausible");
        let wait = r.session.reattach_not_before().since(r.now());
        assert!(!r.handshake(), "not before the back-off has passed");
        // The reader's clock moves on to the moment the back-off ends.
        r.t_ms += wait.0 / MS;
        waits.push(wait.0 / MS);
    }
    assert_eq!(
        waits,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000, 1000]
    );
    assert_eq!(REATTACH_BACKOFF_MAX, Nanos::from_ms(1000));
    // Another producer is wanted at once, back-off or not.
    assert!(r.session.wants(2, MonoNs(r.now().0 - 1)));

    // The writer stores its real index again: the next re-attach reads on, and a later fault
    // is re-attached at once again.
    r.vitals(61);
    assert!(r.handshake());
    r.drain();
    assert_eq!(r.take().iter().filter_map(hr_of).collect::<Vec<_>>(), [61]);
    r.writer.region().poke_write_index(1).unwrap();
    assert_eq!(r.poll(), Next::NeedsReattach, "writeIndex went backwards");
    assert_eq!(r.session.reattach_not_before(), r.now());
    r.assert_accounting();
}

#[test]
fn an_implausible_write_index_jump_is_a_fault_not_two_to_the_62_drops() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    r.vitals(60);
    r.drain();
    r.take();
    r.writer.region().poke_write_index(1 << 62).unwrap();
    r.advance(5);
    assert_eq!(r.poll(), Next::NeedsReattach);
    let events = r.take();
    assert!(
        matches!(
            events.first(),
            Some(SensorEvent::Error(SensorError::Header(HeaderFault::Index(
                IndexFault::Ahead { write_index, .. }
            )))) if *write_index == 1 << 62
        ),
        "{events:?}"
    );
    let s = r.session.stats();
    assert_eq!(s.current.counters.dropped(), 0);
    assert_eq!(s.current.position, 1);
}

#[test]
fn a_flood_of_bad_frames_is_one_report_with_the_exact_count_and_the_next_frame_arrives() {
    // Smaller under Miri, which interprets every atomic access; the property is the same.
    let (flood, slots): (u64, u32) = if cfg!(miri) { (150, 256) } else { (2000, 4096) };
    let mut r = Rig::new(Geometry::new(256, slots).unwrap(), LapPolicy::Oldest);
    let ts = r.wall().as_ns();
    for _ in 0..flood {
        r.raw(br#"{"hr":72,"spo2":98,"rr":16,"x":["#, ts);
    }
    r.vitals(77);
    r.drain();
    let events = r.take();
    let rejected: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SensorEvent::Error(SensorError::Rejected { first, count, .. }) => {
                Some((*first, *count))
            }
            _ => None,
        })
        .collect();
    // One report per poll batch at most, covering exactly the flood, in order.
    assert_eq!(rejected.iter().map(|(_, c)| c).sum::<u64>(), flood);
    assert!(
        rejected.len() as u64 <= flood / 64 + 1,
        "{} reports",
        rejected.len()
    );
    assert!(rejected.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
    assert_eq!(events.iter().filter_map(hr_of).collect::<Vec<_>>(), [77]);
    let s = r.session.stats();
    assert_eq!(s.current.counters.rejected.malformed, flood);
    assert_eq!(s.current.counters.delivered, 1);
    r.assert_accounting();
}

#[test]
fn implausible_timestamps_are_rejected_with_their_own_reason() {
    let mut r = Rig::new(Geometry::new(512, 16).unwrap(), LapPolicy::Latest);
    let good = br#"{"hr":72,"spo2":98,"rr":16}"#;
    let now = r.wall().as_ns();
    r.raw(good, UnixNs(0));
    r.raw(good, UnixNs(u64::MAX));
    r.raw(good, UnixNs(now.0 - 2 * 86_400_000 * MS));
    r.raw(good, now);
    r.drain();
    let events = r.take();
    let reasons: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SensorEvent::Error(SensorError::Rejected { reason, count, .. }) => {
                Some((*reason, *count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [(RejectReason::Timestamp(0), 3)]);
    assert_eq!(events.iter().filter_map(hr_of).collect::<Vec<_>>(), [72]);
    assert_eq!(r.session.stats().current.counters.rejected.timestamp, 3);
}

#[test]
fn a_restarted_producer_closes_the_epoch_and_carries_the_totals() {
    let g = Geometry::new(512, 16).unwrap();
    let mut r = Rig::new(g, LapPolicy::Latest);
    r.vitals(60);
    r.vitals(61);
    r.drain();
    r.take();
    // The old producer dies (no more heartbeats): a stall.
    r.advance(300);
    assert_eq!(r.drain(), Next::Stalled);
    assert!(
        !r.session.wants(1, MonoNs(r.t_ms * MS)),
        "the same epoch while stalled is the same hung writer"
    );
    // A new producer with another epoch has already published two frames.
    let mut w2 = new_writer(g, 2);
    let now = r.wall();
    for hr in [90, 91] {
        w2.publish_record(
            &Record::Vitals(vitals(hr)),
            Encoding::Binary,
            now.as_ns(),
            now,
        )
        .unwrap();
    }
    assert!(r.session.wants(2, MonoNs(r.t_ms * MS)));
    let (ring, scratch) = ring_of(&w2);
    let events = &mut r.events;
    r.session
        .reattach(ring, scratch, MonoNs(r.t_ms * MS), &mut |e| events.push(e))
        .unwrap();
    r.drain();
    let events = r.take();
    assert_eq!(
        events.iter().filter_map(hr_of).collect::<Vec<_>>(),
        [90, 91]
    );
    let s = r.session.stats();
    let prev = s.previous.unwrap();
    assert_eq!(
        (prev.epoch, prev.counters.delivered, prev.position),
        (1, 2, 2)
    );
    assert_eq!((s.current.epoch, s.current.start_index), (2, 0));
    assert_eq!(s.current.counters.delivered, 2);
    assert_eq!(s.total.delivered, 4);
    assert_eq!(s.epochs, 2);
}

#[test]
fn counters_saturate_instead_of_wrapping() {
    let mut a = crate::slot::Counters {
        delivered: u64::MAX - 1,
        dropped_lapped: u64::MAX,
        ..Default::default()
    };
    let b = a;
    a.add(&b);
    a.count_dropped(5, DropCause::Lapped);
    assert_eq!(a.delivered, u64::MAX);
    assert_eq!(a.dropped(), u64::MAX);
    assert_eq!(a.accounted(), u64::MAX);
}
