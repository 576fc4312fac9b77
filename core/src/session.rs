//! The reader session: the one reader service every consumer of a ring stands on.
//!
//! A [`Session`] owns a [`Reader`] (the slot layer) and adds everything a consumer needs to
//! trust what it shows, with time passed in and no platform code:
//!
//! - **decoding**: each frame that passed the slot checks gets its timestamp checked for
//!   plausibility and its payload decoded and range-checked, once ([`crate::payload::decode`]);
//! - **liveness**: a [`Watchdog`] on `heartbeatTimestamp` (stalled after
//!   [`SessionConfig::stall_timeout`] of reader time without movement, recovered when it moves),
//!   and the producer's clean-exit mark ([`HEARTBEAT_STOPPED`]): every frame before it is
//!   delivered, then "producer stopped" is reported — distinct from a stall;
//! - **ring faults**: the header is re-checked every [`SessionConfig::header_check_period`];
//!   `writeIndex` going backwards, or further ahead than one frame per nanosecond since attach
//!   could explain, is a fault too. A fault is reported once and the session asks to be
//!   re-attached ([`Next::NeedsReattach`]) instead of trusting the ring any further;
//! - **reporting**: consecutive drops, and consecutive rejections of one kind, are coalesced
//!   into one event per run and per poll, so a flood of bad frames costs a handful of events;
//!   the counters ([`Session::stats`]) are exact at every moment and are the truth, events are
//!   a convenience;
//! - **epochs**: [`Session::reattach`] moves to a new ring (a restarted producer, or the same
//!   one after a fault) and carries the counters over; per-epoch figures stay available;
//! - **re-attach back-off**: after a fault the same producer's ring is wanted again at once
//!   ([`Session::wants`]); if it faults again before one clean poll, the next re-attach to it
//!   waits [`REATTACH_BACKOFF_MIN`] of reader time, doubling with every further such fault up
//!   to [`REATTACH_BACKOFF_MAX`]. A re-attach to the same producer at the same reader time
//!   cannot change the `writeIndex` verdict (the plausibility limit grows only with reader
//!   time), so without this a reader whose clock does not move would re-attach for ever. A
//!   new producer (another epoch) is always wanted at once.
//!
//! Platforms add only the handshake, a thread and a wait strategy: they call [`Session::poll`]
//! in a loop and act on its [`Next`].
//!
//! # Accounting
//! For every ring the session attached to, `position - start_index = delivered + dropped +
//! rejected` at every moment ([`EpochStats::accounted`]); when the producer stopped first,
//! `position` is the number of frames it published.
//!
//! # Timestamp plausibility
//! A frame whose `timestampNs` is 0, later than the writer's latest heartbeat (or the ring's
//! creation, whichever is later) plus [`MAX_TIMESTAMP_LEAD`], or earlier than the ring's creation
//! minus [`MAX_TIMESTAMP_LAG`] is rejected with [`RejectReason::Timestamp`]: a wrong clock must
//! never make old or future values look current.

use crate::frame::{FrameView, RejectReason};
use crate::layout::{Geometry, HEARTBEAT_STOPPED};
use crate::payload::{self, Record};
use crate::region::Region;
use crate::ring::Ring;
use crate::slot::{Counters, DropCause, LapPolicy, Poll, Reader, ScratchTooSmall, Start};
use crate::source::{ConnectionState, HeaderFault, SensorError, SensorErrorKind, SensorEvent};
use crate::time::{MonoNs, Nanos, UnixMs, UnixNs};
use crate::watchdog::{Watchdog, WatchdogEvent, DEFAULT_TIMEOUT};

/// How far a frame's timestamp may lie after the writer's latest heartbeat.
pub const MAX_TIMESTAMP_LEAD: Nanos = Nanos(60_000_000_000);
/// How far a frame's timestamp may lie before the ring's creation (a day).
pub const MAX_TIMESTAMP_LAG: Nanos = Nanos(86_400_000_000_000);
/// Frames a writer could publish per nanosecond at most, for the `writeIndex` plausibility
/// limit (one per ns is beyond any machine: even 64-byte slots would need 64 GB/s).
pub const MAX_FRAMES_PER_NS: u64 = 1;
/// Reader time a re-attach to the same producer waits after the ring faulted again before one
/// clean poll (see the module docs); it doubles with each further such fault.
pub const REATTACH_BACKOFF_MIN: Nanos = Nanos::from_ms(1);
/// Longest wait of the re-attach back-off.
pub const REATTACH_BACKOFF_MAX: Nanos = Nanos::from_ms(1000);

/// How a session reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionConfig {
    /// What to do when lapped: [`LapPolicy::Latest`] for a display, [`LapPolicy::Oldest`] for a
    /// recorder.
    pub lap_policy: LapPolicy,
    /// Where the first attach starts. Re-attaching to a new producer starts at the oldest
    /// frame its ring holds; re-attaching to the same producer resumes where the reader was.
    pub start: Start,
    /// Heartbeat stall timeout (reader time), default 250 ms.
    pub stall_timeout: Nanos,
    /// Header re-check period, default 100 ms.
    pub header_check_period: Nanos,
    /// Frames handled per [`Session::poll`] at most, default 64.
    pub batch: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            lap_policy: LapPolicy::Latest,
            start: Start::Next,
            stall_timeout: DEFAULT_TIMEOUT,
            header_check_period: Nanos::from_ms(100),
            batch: 64,
        }
    }
}

/// What the caller should do after a [`Session::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Next {
    /// A full batch was handled: poll again at once.
    Busy,
    /// Nothing new: wait (spin, sleep, futex) and poll again, at the latest at `deadline`
    /// (the watchdog's or the header check's next moment).
    Idle {
        /// Poll again no later than this.
        deadline: MonoNs,
    },
    /// The producer's heartbeat stopped: keep polling (it may recover), and try a handshake
    /// from time to time — a restarted producer has a new epoch.
    Stalled,
    /// The producer stopped cleanly: every frame it published was handled. Try a handshake
    /// from time to time to find its successor.
    Stopped,
    /// The ring is faulty: re-attach (a new handshake) before reading on. The same
    /// producer's ring is wanted again from [`Session::reattach_not_before`] on (see
    /// [`Session::wants`]); another producer's at once.
    NeedsReattach,
}

/// Receives what a session finds.
pub trait Sink {
    /// A data, connection or problem event.
    fn event(&mut self, event: SensorEvent);

    /// Every delivered frame (heartbeat frames included), raw and decoded, before its event.
    /// For consumers that forward or record the frame's own bytes. Default: nothing.
    fn frame(&mut self, frame: &FrameView<'_>, record: &Record) {
        let _ = (frame, record);
    }
}

impl<F: FnMut(SensorEvent)> Sink for F {
    fn event(&mut self, event: SensorEvent) {
        self(event);
    }
}

/// Figures of one ring (one producer epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EpochStats {
    /// The producer epoch.
    pub epoch: u64,
    /// The ring index the session attached at.
    pub start_index: u64,
    /// The next index the session will look at.
    pub position: u64,
    /// What happened to every index in `[start_index, position)`.
    pub counters: Counters,
    /// Of the delivered frames, how many were heartbeat frames.
    pub heartbeats: u64,
}

impl EpochStats {
    /// `delivered + dropped + rejected`.
    pub fn accounted(&self) -> u64 {
        self.counters.accounted()
    }
}

/// A session's counters and state: the numbers every consumer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionStats {
    /// Connection state.
    pub state: ConnectionState,
    /// The ring attached now.
    pub current: EpochStats,
    /// The ring before it, if the session re-attached to a new producer.
    pub previous: Option<EpochStats>,
    /// Over every ring (saturating).
    pub total: Counters,
    /// Heartbeat frames over every ring.
    pub total_heartbeats: u64,
    /// The attached ring's geometry.
    pub geometry: Geometry,
    /// Producers (epochs) attached so far, this one included.
    pub epochs: u64,
    /// Stalls detected.
    pub stalls: u64,
    /// Header and `writeIndex` faults detected.
    pub faults: u64,
    /// Re-attachments (to a new producer, or after a fault).
    pub reattaches: u64,
    /// `writeIndex` at the last poll.
    pub write_index: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    Stalled,
    Stopped,
    Faulted,
}

/// A run of consecutive drops, or of rejections of one kind, not reported yet.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Dropped {
        first: u64,
        count: u64,
        cause: DropCause,
    },
    Rejected {
        first: u64,
        count: u64,
        reason: RejectReason,
    },
}

/// The reader service (see the module docs).
#[derive(Debug)]
pub struct Session<R: Region, S: AsMut<[u8]>> {
    reader: Reader<R, S>,
    config: SessionConfig,
    watchdog: Watchdog,
    state: State,
    attached_at: MonoNs,
    attach_write_index: u64,
    next_header_check: MonoNs,
    last_heartbeat: UnixMs,
    pending: Option<Pending>,
    /// Counters of earlier readers of the current epoch (same-epoch re-attaches).
    epoch_base: Counters,
    epoch_start: u64,
    heartbeats: u64,
    finished: Counters,
    finished_heartbeats: u64,
    previous: Option<EpochStats>,
    epochs: u64,
    stalls: u64,
    faults: u64,
    reattaches: u64,
    write_index: u64,
    /// Whether a poll ran without a fault since the last re-attach (or the start).
    clean_since_reattach: bool,
    /// The re-attach back-off now (zero: re-attach at once).
    reattach_backoff: Nanos,
    /// After a fault: the same producer's ring is not wanted before this reader time.
    reattach_not_before: MonoNs,
}

impl<R: Region, S: AsMut<[u8]>> Session<R, S> {
    /// Starts a session on a validated ring at reader time `now`.
    ///
    /// # Errors
    /// [`ScratchTooSmall`] unless `scratch` holds the ring's payload capacity.
    pub fn new(
        ring: Ring<R>,
        scratch: S,
        config: SessionConfig,
        now: MonoNs,
    ) -> Result<Self, ScratchTooSmall> {
        let reader = Reader::attach(ring, scratch, config.lap_policy, config.start)?;
        let heartbeat = reader.heartbeat();
        let write_index = reader.write_index();
        Ok(Self {
            watchdog: Watchdog::new(config.stall_timeout, heartbeat, now),
            state: State::Live,
            attached_at: now,
            attach_write_index: write_index,
            next_header_check: now.plus(config.header_check_period),
            last_heartbeat: heartbeat,
            pending: None,
            epoch_base: Counters::default(),
            epoch_start: reader.start_index(),
            heartbeats: 0,
            finished: Counters::default(),
            finished_heartbeats: 0,
            previous: None,
            epochs: 1,
            stalls: 0,
            faults: 0,
            reattaches: 0,
            write_index,
            clean_since_reattach: true,
            reattach_backoff: Nanos(0),
            reattach_not_before: now,
            reader,
            config,
        })
    }

    /// The slot-layer reader.
    pub fn reader(&self) -> &Reader<R, S> {
        &self.reader
    }

    /// The attached producer's epoch.
    pub fn epoch(&self) -> u64 {
        self.reader.epoch()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        match self.state {
            State::Live => ConnectionState::Connected,
            State::Stalled => ConnectionState::Stalled,
            State::Stopped => ConnectionState::Stopped,
            State::Faulted => ConnectionState::Reconnecting,
        }
    }

    /// Whether a ring of producer `epoch`, offered by a new handshake at reader time `now`,
    /// should replace the attached one: another producer's always; the same producer's only
    /// after a fault (the same epoch while stalled is the same writer, still hung), and not
    /// before the re-attach back-off has passed (see the module docs).
    pub fn wants(&self, epoch: u64, now: MonoNs) -> bool {
        epoch != self.reader.epoch()
            || (self.state == State::Faulted && now >= self.reattach_not_before)
    }

    /// Reader time from which the same producer's ring is wanted again after a fault (see
    /// [`Session::wants`]); meaningful while the session asks to be re-attached.
    pub fn reattach_not_before(&self) -> MonoNs {
        self.reattach_not_before
    }

    /// The counters and state right now.
    pub fn stats(&self) -> SessionStats {
        let current = self.current();
        let mut total = self.finished;
        total.add(&current.counters);
        SessionStats {
            state: self.state(),
            current,
            previous: self.previous,
            total,
            total_heartbeats: self.finished_heartbeats.saturating_add(self.heartbeats),
            geometry: self.reader.geometry(),
            epochs: self.epochs,
            stalls: self.stalls,
            faults: self.faults,
            reattaches: self.reattaches,
            write_index: self.write_index,
        }
    }

    fn current(&self) -> EpochStats {
        let mut counters = self.epoch_base;
        counters.add(self.reader.counters());
        EpochStats {
            epoch: self.reader.epoch(),
            start_index: self.epoch_start,
            position: self.reader.position(),
            counters,
            heartbeats: self.heartbeats,
        }
    }

    /// Does one round of reader work at reader time `now` (see the module docs) and says what
    /// to do next. Never blocks; handles at most [`SessionConfig::batch`] frames.
    pub fn poll(&mut self, now: MonoNs, sink: &mut impl Sink) -> Next {
        let next = self.poll_inner(now, sink);
        self.flush(sink);
        if self.state != State::Faulted {
            // A clean poll: the last re-attach worked, the back-off starts over.
            self.clean_since_reattach = true;
            self.reattach_backoff = Nanos(0);
        }
        next
    }

    fn poll_inner(&mut self, now: MonoNs, sink: &mut impl Sink) -> Next {
        match self.state {
            State::Faulted => return Next::NeedsReattach,
            State::Stopped => return Next::Stopped,
            State::Live | State::Stalled => {}
        }
        let heartbeat = self.reader.region().region().heartbeat_acquire();
        if heartbeat == HEARTBEAT_STOPPED {
            // Every frame the writer committed before its Release store of the mark is
            // visible now: deliver them all, then report.
            let limit = u64::from(self.reader.geometry().frame_count()).saturating_add(1);
            for _ in 0..limit {
                match self.step(now, sink) {
                    Some(Step::Empty) => break,
                    Some(Step::Handled) => {}
                    None => return Next::NeedsReattach,
                }
            }
            self.flush(sink);
            self.state = State::Stopped;
            sink.event(SensorEvent::Connection {
                state: ConnectionState::Stopped,
                epoch: Some(self.reader.epoch()),
            });
            return Next::Stopped;
        }
        let heartbeat = UnixMs(heartbeat);
        self.last_heartbeat = heartbeat;
        match self.watchdog.poll(heartbeat, now) {
            Some(WatchdogEvent::Stalled { age }) => {
                self.flush(sink);
                self.state = State::Stalled;
                self.stalls = self.stalls.saturating_add(1);
                sink.event(SensorEvent::Error(SensorError::Stalled {
                    heartbeat_age: age,
                }));
                sink.event(SensorEvent::Connection {
                    state: ConnectionState::Stalled,
                    epoch: Some(self.reader.epoch()),
                });
            }
            Some(WatchdogEvent::Recovered { .. }) => {
                self.state = State::Live;
                sink.event(SensorEvent::Connection {
                    state: ConnectionState::Connected,
                    epoch: Some(self.reader.epoch()),
                });
            }
            None => {}
        }
        if now >= self.next_header_check {
            self.next_header_check = now.plus(self.config.header_check_period);
            if let Err(e) = self.reader.check_header() {
                self.fault(HeaderFault::Header(e), now, sink);
                return Next::NeedsReattach;
            }
        }
        if self.state == State::Stalled {
            return Next::Stalled;
        }
        let elapsed = now.since(self.attached_at).0;
        let geometry = self.reader.geometry();
        let limit = self
            .attach_write_index
            .saturating_add(u64::from(geometry.frame_count()))
            .saturating_add(elapsed.saturating_mul(MAX_FRAMES_PER_NS));
        self.reader.set_index_limit(limit);
        let mut handled = 0;
        while handled < self.config.batch {
            match self.step(now, sink) {
                Some(Step::Empty) => break,
                Some(Step::Handled) => handled += 1,
                None => return Next::NeedsReattach,
            }
        }
        self.write_index = self.reader.write_index();
        if handled == self.config.batch {
            Next::Busy
        } else {
            let deadline = self.watchdog.deadline().min(self.next_header_check);
            Next::Idle { deadline }
        }
    }

    /// One reader step at reader time `now`; `None` after a fault.
    fn step(&mut self, now: MonoNs, sink: &mut impl Sink) -> Option<Step> {
        let created = self.reader.ring().header().created();
        let last_heartbeat = self.last_heartbeat;
        match self.reader.poll() {
            Poll::Empty => Some(Step::Empty),
            Poll::Frame(view) => {
                let ts = view.meta.timestamp;
                let decoded = if !plausible(ts, created, last_heartbeat) {
                    Err(RejectReason::Timestamp(ts.0))
                } else {
                    payload::decode(view.meta.frame_type, view.meta.encoding, view.payload)
                        .map_err(RejectReason::Payload)
                };
                match decoded {
                    Ok(record) => {
                        let index = view.index;
                        let pending = self.pending.take();
                        Self::report(pending, sink);
                        sink.frame(&view, &record);
                        match record {
                            Record::Vitals(record) => sink.event(SensorEvent::Vitals {
                                timestamp: ts,
                                index,
                                record,
                            }),
                            Record::Waveform(chunk) => sink.event(SensorEvent::Waveform {
                                timestamp: ts,
                                index,
                                chunk,
                            }),
                            Record::Heartbeat => {
                                self.heartbeats = self.heartbeats.saturating_add(1);
                            }
                        }
                    }
                    Err(reason) => {
                        let index = view.index;
                        self.reader.refuse_last(&reason);
                        self.rejected(index, reason, sink);
                    }
                }
                Some(Step::Handled)
            }
            Poll::Dropped {
                first,
                count,
                cause,
            } => {
                match &mut self.pending {
                    Some(Pending::Dropped {
                        first: f, count: c, ..
                    }) if f.saturating_add(*c) == first => *c = c.saturating_add(count),
                    _ => {
                        let pending = self.pending.replace(Pending::Dropped {
                            first,
                            count,
                            cause,
                        });
                        Self::report(pending, sink);
                    }
                }
                Some(Step::Handled)
            }
            Poll::Rejected { index, reason } => {
                self.rejected(index, reason, sink);
                Some(Step::Handled)
            }
            Poll::Fault(f) => {
                self.fault(HeaderFault::Index(f), now, sink);
                None
            }
        }
    }

    fn rejected(&mut self, index: u64, reason: RejectReason, sink: &mut impl Sink) {
        let kind = SensorErrorKind::of_rejection(&reason);
        match &mut self.pending {
            Some(Pending::Rejected {
                first,
                count,
                reason: r,
            }) if SensorErrorKind::of_rejection(r) == kind
                && first.saturating_add(*count) == index =>
            {
                *count = count.saturating_add(1);
            }
            _ => {
                let pending = self.pending.replace(Pending::Rejected {
                    first: index,
                    count: 1,
                    reason,
                });
                Self::report(pending, sink);
            }
        }
    }

    fn report(pending: Option<Pending>, sink: &mut impl Sink) {
        let Some(p) = pending else { return };
        let error = match p {
            Pending::Dropped {
                first,
                count,
                cause,
            } => SensorError::Dropped {
                first,
                count,
                cause,
            },
            Pending::Rejected {
                first,
                count,
                reason,
            } => SensorError::Rejected {
                first,
                count,
                reason,
            },
        };
        sink.event(SensorEvent::Error(error));
    }

    fn flush(&mut self, sink: &mut impl Sink) {
        let pending = self.pending.take();
        Self::report(pending, sink);
    }

    fn fault(&mut self, fault: HeaderFault, now: MonoNs, sink: &mut impl Sink) {
        self.flush(sink);
        self.state = State::Faulted;
        self.faults = self.faults.saturating_add(1);
        // The first fault after a clean poll: re-attach at once. A fault again before one
        // clean poll: the re-attach did not help, so the next one waits, longer each time.
        self.reattach_backoff = if self.clean_since_reattach {
            Nanos(0)
        } else {
            Nanos(
                self.reattach_backoff
                    .0
                    .saturating_mul(2)
                    .clamp(REATTACH_BACKOFF_MIN.0, REATTACH_BACKOFF_MAX.0),
            )
        };
        self.reattach_not_before = now.plus(self.reattach_backoff);
        sink.event(SensorEvent::Error(SensorError::Header(fault)));
        sink.event(SensorEvent::Connection {
            state: ConnectionState::Reconnecting,
            epoch: Some(self.reader.epoch()),
        });
    }

    /// Moves the session to `ring` (found by a new handshake) at reader time `now`. A ring of
    /// another producer starts at the oldest frame it holds and closes the current epoch's
    /// figures; the same producer's ring (after a fault) resumes at the reader's position, or
    /// at the ring's newest index if that is lower. Emits `Reconnecting` and `Connected`.
    ///
    /// # Errors
    /// [`ScratchTooSmall`]; the session stays on its old ring then.
    pub fn reattach(
        &mut self,
        ring: Ring<R>,
        scratch: S,
        now: MonoNs,
        sink: &mut impl Sink,
    ) -> Result<(), ScratchTooSmall> {
        self.flush(sink);
        let epoch = ring.header().epoch();
        let same = epoch == self.reader.epoch();
        let start = if same {
            // Relaxed: positioning only; the reader's own Acquire loads order the data.
            let w = ring
                .region()
                .region()
                .write_index(crate::atomics::Ordering::Relaxed);
            Start::At(self.reader.position().min(w))
        } else {
            Start::Oldest
        };
        let reader = Reader::attach(ring, scratch, self.config.lap_policy, start)?;
        sink.event(SensorEvent::Connection {
            state: ConnectionState::Reconnecting,
            epoch: Some(epoch),
        });
        let old = core::mem::replace(&mut self.reader, reader);
        if same {
            self.epoch_base.add(old.counters());
        } else {
            let mut counters = self.epoch_base;
            counters.add(old.counters());
            self.previous = Some(EpochStats {
                epoch: old.epoch(),
                start_index: self.epoch_start,
                position: old.position(),
                counters,
                heartbeats: self.heartbeats,
            });
            self.finished.add(&counters);
            self.finished_heartbeats = self.finished_heartbeats.saturating_add(self.heartbeats);
            self.heartbeats = 0;
            self.epoch_base = Counters::default();
            self.epoch_start = self.reader.start_index();
            self.epochs = self.epochs.saturating_add(1);
        }
        drop(old);
        let heartbeat = self.reader.heartbeat();
        self.watchdog = Watchdog::new(self.config.stall_timeout, heartbeat, now);
        self.last_heartbeat = heartbeat;
        self.state = State::Live;
        if !same {
            // A new producer: its ring's progress starts here. The same producer keeps the
            // plausibility baseline it had, so a `writeIndex` still implausible at the
            // re-attach is a fault again rather than a new normal.
            self.attached_at = now;
            self.attach_write_index = self.reader.write_index();
        }
        self.write_index = self.reader.write_index();
        self.next_header_check = now.plus(self.config.header_check_period);
        self.reattaches = self.reattaches.saturating_add(1);
        self.clean_since_reattach = false;
        if !same {
            // A new producer starts with a clean slate.
            self.reattach_backoff = Nanos(0);
        }
        sink.event(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(epoch),
        });
        Ok(())
    }
}

enum Step {
    Empty,
    Handled,
}

/// Whether a frame timestamp is plausible (see the module docs).
fn plausible(ts: UnixNs, created: UnixNs, heartbeat: UnixMs) -> bool {
    let reference = heartbeat.as_ns().max(created);
    let upper = reference.0.saturating_add(MAX_TIMESTAMP_LEAD.0);
    let lower = created.0.saturating_sub(MAX_TIMESTAMP_LAG.0);
    ts.0 != 0 && ts.0 <= upper && ts.0 >= lower
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_zero_future_and_ancient_are_implausible() {
        let created = UnixNs(1_700_000_000_000_000_000);
        let hb = UnixMs(1_700_000_100_000);
        assert!(plausible(UnixNs(1_700_000_099_000_000_000), created, hb));
        assert!(!plausible(UnixNs(0), created, hb));
        assert!(!plausible(UnixNs(u64::MAX), created, hb));
        assert!(!plausible(
            UnixNs(hb.as_ns().0 + MAX_TIMESTAMP_LEAD.0 + 1),
            created,
            hb
        ));
        assert!(plausible(
            UnixNs(hb.as_ns().0 + MAX_TIMESTAMP_LEAD.0),
            created,
            hb
        ));
        assert!(!plausible(
            UnixNs(created.0 - MAX_TIMESTAMP_LAG.0 - 1),
            created,
            hb
        ));
    }
}
