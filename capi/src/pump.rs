//! [`Pump`]: a [`LiveReader`] turned into "give me the next event" — the one read loop behind
//! the C API and the Python package.
//!
//! The session delivers up to a batch of frames per poll, each as one [`SensorEvent`]; a
//! binding hands them out one at a time. The pump keeps them in a bounded queue allocated at
//! connect time and polls the session only when the queue is empty, so the queue never holds
//! more than one poll's worth of events and nothing on the read path allocates. If a poll ever
//! produced more events than the queue holds (a flood of alternating drop and reject runs),
//! the excess is counted and reported as one [`SensorError::EventsLost`] event — the session's
//! counters ([`Pump::stats`]) are exact either way.
//!
//! Besides events the pump can capture delivered frames raw ([`Pump::raw_frames`]: the
//! session's [`Sink::frame`] hook copies each frame's own bytes, for consumers that forward or
//! record them) or hand them, borrowed and without any copy or queue, to a function
//! ([`Pump::for_each_frame`], the C API's bulk path).
//!
//! Nothing here reads the ring itself: every check, counter, stall and re-attach decision is
//! the core session's, reached through [`LiveReader`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use vitalring_core::frame::FrameView;
use vitalring_core::session::{Next, SessionStats, Sink};
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::Record;
use vitalring_linux::{LiveReader, SourceConfig, SourceError};

use crate::history::History;

/// Events the queue holds: more than one poll can deliver (a batch of 64 frames, each run of
/// drops or rejects flushed at most once per frame, plus connection changes).
pub const QUEUE_CAPACITY: usize = 512;

/// How often a blocking read stops waiting to ask its caller whether to give up (Ctrl-C).
pub const INTERRUPT_CHECK: Duration = Duration::from_millis(50);

/// One delivered frame, raw: where its bytes are in [`RawFrames::payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame {
    /// Ring index.
    pub index: u64,
    /// Frame type byte (1 vitals, 2 waveform, 3 heartbeat).
    pub frame_type: u8,
    /// Encoding byte (0 JSON, 1 binary).
    pub encoding: u8,
    /// `timestampNs`.
    pub timestamp_ns: u64,
    /// Start of the payload in [`RawFrames::payload`].
    pub offset: usize,
    /// Payload length.
    pub len: usize,
}

/// Raw frames captured by [`Pump::raw_frames`].
#[derive(Debug, Default)]
pub struct RawFrames {
    /// One entry per frame, in ring order.
    pub frames: Vec<RawFrame>,
    /// Every frame's payload, back to back.
    pub payload: Vec<u8>,
}

impl RawFrames {
    /// Forgets every frame (keeps the memory).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.payload.clear();
    }
}

/// The session's sink: the bounded event queue, the optional raw capture and history.
#[derive(Debug)]
struct Collector {
    events: VecDeque<SensorEvent>,
    /// Events that did not fit, not reported yet.
    lost: u64,
    /// Every event that did not fit.
    lost_total: u64,
    /// While set, delivered frames go here raw and their data events are not queued.
    raw: Option<RawFrames>,
    history: Option<History>,
}

impl Collector {
    fn push(&mut self, event: SensorEvent) {
        if self.lost > 0 {
            if self.events.len() + 1 < QUEUE_CAPACITY {
                let count = self.lost;
                self.lost = 0;
                self.events
                    .push_back(SensorEvent::Error(SensorError::EventsLost { count }));
            } else {
                self.lose();
                return;
            }
        }
        if self.events.len() < QUEUE_CAPACITY {
            self.events.push_back(event);
        } else {
            self.lose();
        }
    }

    fn lose(&mut self) {
        self.lost += 1;
        self.lost_total += 1;
    }
}

impl Sink for Collector {
    fn event(&mut self, event: SensorEvent) {
        if let Some(h) = self.history.as_mut() {
            h.observe(&event);
        }
        let data = matches!(
            event,
            SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. }
        );
        if data && self.raw.is_some() {
            return;
        }
        self.push(event);
    }

    fn frame(&mut self, frame: &FrameView<'_>, _record: &Record) {
        if let Some(raw) = self.raw.as_mut() {
            let offset = raw.payload.len();
            raw.payload.extend_from_slice(frame.payload);
            raw.frames.push(RawFrame {
                index: frame.index,
                frame_type: frame.meta.frame_type as u8,
                encoding: frame.meta.encoding as u8,
                timestamp_ns: frame.meta.timestamp.0,
                offset,
                len: frame.payload.len(),
            });
        }
    }
}

/// The sink of [`Pump::for_each_frame`]: delivered data frames go to the caller's function,
/// borrowed; their events are not queued (the frames stand for them); connection and problem
/// events are queued as usual; the history still sees everything.
struct FrameSink<'a, F> {
    inner: &'a mut Collector,
    f: F,
    delivered: usize,
}

impl<F: FnMut(&FrameView<'_>, &Record)> Sink for FrameSink<'_, F> {
    fn event(&mut self, event: SensorEvent) {
        if let Some(h) = self.inner.history.as_mut() {
            h.observe(&event);
        }
        if !matches!(
            event,
            SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. }
        ) {
            self.inner.push(event);
        }
    }

    fn frame(&mut self, frame: &FrameView<'_>, record: &Record) {
        if !matches!(record, Record::Heartbeat) {
            self.delivered += 1;
            (self.f)(frame, record);
        }
    }
}

/// What a blocking read returned without an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The timeout elapsed.
    Timeout,
    /// The caller's interrupt check said stop.
    Interrupted,
}

/// A reader session handing out one event at a time (see the module docs).
#[derive(Debug)]
pub struct Pump {
    live: LiveReader,
    sink: Collector,
}

impl Pump {
    /// Runs the handshake and attaches. `history` keeps the last samples of every waveform
    /// channel ([`Pump::history`]); `None` keeps none.
    ///
    /// # Errors
    /// [`SourceError`] when the handshake fails (no producer, refused, untrusted, bad ring).
    pub fn connect(config: SourceConfig, history: Option<History>) -> Result<Self, SourceError> {
        let live = LiveReader::connect(config)?;
        let epoch = live.session().epoch();
        let mut sink = Collector {
            events: VecDeque::with_capacity(QUEUE_CAPACITY),
            lost: 0,
            lost_total: 0,
            raw: None,
            history,
        };
        sink.push(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(epoch),
        });
        Ok(Self { live, sink })
    }

    /// The next event if one is ready now: queued, or from one poll of the session. Never
    /// waits (a re-attach attempt, at most every 150 ms while the producer is away, is one
    /// short handshake).
    pub fn try_next(&mut self) -> Option<SensorEvent> {
        if self.sink.events.is_empty() {
            self.live.step(&mut self.sink);
        }
        self.sink.events.pop_front()
    }

    /// The next event, waiting at most `timeout` (`None`: for ever). Every
    /// [`INTERRUPT_CHECK`] of waiting, `interrupted` is asked whether to give up.
    ///
    /// # Errors
    /// [`WaitEnd`] when no event came.
    pub fn next_timeout(
        &mut self,
        timeout: Option<Duration>,
        mut interrupted: impl FnMut() -> bool,
    ) -> Result<SensorEvent, WaitEnd> {
        // The common case first: an event is queued (no clock read).
        if let Some(event) = self.sink.events.pop_front() {
            return Ok(event);
        }
        let start = Instant::now();
        let mut next_check = INTERRUPT_CHECK;
        loop {
            if let Some(event) = self.sink.events.pop_front() {
                return Ok(event);
            }
            let next = self.live.step(&mut self.sink);
            if !self.sink.events.is_empty() {
                continue;
            }
            let waited = start.elapsed();
            if timeout.is_some_and(|t| waited >= t) {
                return Err(WaitEnd::Timeout);
            }
            if waited >= next_check {
                next_check = waited + INTERRUPT_CHECK;
                if interrupted() {
                    return Err(WaitEnd::Interrupted);
                }
            }
            self.live.wait(next);
        }
    }

    /// Polls the session until it has nothing new (or `limit` polls), queueing the events —
    /// to bring the waveform history up to date without handing events out.
    pub fn catch_up(&mut self, limit: usize) {
        for _ in 0..limit {
            if !matches!(self.live.step(&mut self.sink), Next::Busy) {
                break;
            }
        }
    }

    /// Captures up to about `max` delivered frames raw into `out` (cleared first), waiting at
    /// most `timeout` for the first. While capturing, vitals and waveform events are not
    /// queued (the frames stand for them); connection and problem events still are. The
    /// session delivers whole batches, so `out` may hold up to one batch more than `max`.
    pub fn raw_frames(
        &mut self,
        out: &mut RawFrames,
        max: usize,
        timeout: Option<Duration>,
        mut interrupted: impl FnMut() -> bool,
    ) -> Result<(), WaitEnd> {
        out.clear();
        self.sink.raw = Some(core::mem::take(out));
        let start = Instant::now();
        let mut next_check = INTERRUPT_CHECK;
        let result = loop {
            let next = self.live.step(&mut self.sink);
            let got = self.sink.raw.as_ref().map_or(0, |r| r.frames.len());
            if got >= max || (got > 0 && !matches!(next, Next::Busy)) {
                break Ok(());
            }
            if got > 0 || matches!(next, Next::Busy) {
                continue;
            }
            // Problems and state changes end the wait too: the caller should see them.
            if !self.sink.events.is_empty() {
                break Ok(());
            }
            let waited = start.elapsed();
            if timeout.is_some_and(|t| waited >= t) {
                break Err(WaitEnd::Timeout);
            }
            if waited >= next_check {
                next_check = waited + INTERRUPT_CHECK;
                if interrupted() {
                    break Err(WaitEnd::Interrupted);
                }
            }
            self.live.wait(next);
        };
        *out = self.sink.raw.take().unwrap_or_default();
        result
    }

    /// Hands delivered data frames (vitals and waveform; heartbeats only count) to `f`, raw and
    /// decoded, borrowed from the session for the duration of the call — no copy, no queue.
    /// Polls until at least `max` frames were handed over (up to one batch more: the session
    /// delivers whole batches) or the ring has nothing new after at least one frame, waiting
    /// at most `timeout` for the first. Connection and problem events are queued for
    /// [`Pump::try_next`]; one arriving ends the wait, so the caller sees it. Returns the
    /// frames handed over (0: an event is queued).
    ///
    /// # Errors
    /// [`WaitEnd`] when nothing came within `timeout` (or `interrupted` said stop).
    pub fn for_each_frame(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        mut interrupted: impl FnMut() -> bool,
        f: impl FnMut(&FrameView<'_>, &Record),
    ) -> Result<usize, WaitEnd> {
        let mut sink = FrameSink {
            inner: &mut self.sink,
            f,
            delivered: 0,
        };
        let mut start: Option<Instant> = None;
        let mut next_check = INTERRUPT_CHECK;
        loop {
            let next = self.live.step(&mut sink);
            let got = sink.delivered;
            if got >= max || (got > 0 && !matches!(next, Next::Busy)) {
                return Ok(got);
            }
            if got > 0 || matches!(next, Next::Busy) {
                continue;
            }
            if !sink.inner.events.is_empty() {
                return Ok(0);
            }
            // The clock is read only once the ring ran dry.
            let waited = start.get_or_insert_with(Instant::now).elapsed();
            if timeout.is_some_and(|t| waited >= t) {
                return Err(WaitEnd::Timeout);
            }
            if waited >= next_check {
                next_check = waited + INTERRUPT_CHECK;
                if interrupted() {
                    return Err(WaitEnd::Interrupted);
                }
            }
            self.live.wait(next);
        }
    }

    /// The next queued event without polling (connection and problem events queued while
    /// capturing raw frames).
    pub fn queued(&mut self) -> Option<SensorEvent> {
        self.sink.events.pop_front()
    }

    /// True when no event is queued.
    pub fn queued_is_empty(&self) -> bool {
        self.sink.events.is_empty()
    }

    /// The session's counters and state (exact, whatever the queue lost).
    pub fn stats(&self) -> SessionStats {
        self.live.stats()
    }

    /// Events the queue could not hold so far (their frames are in the counters).
    pub fn events_lost(&self) -> u64 {
        self.sink.lost_total
    }

    /// The session's connection state.
    pub fn state(&self) -> ConnectionState {
        self.live.session().state()
    }

    /// The waveform history, if kept.
    pub fn history(&self) -> Option<&History> {
        self.sink.history.as_ref()
    }

    /// The reader underneath.
    pub fn live(&self) -> &LiveReader {
        &self.live
    }
}
