//! The importer's accounting: which frames of an exporter's stream arrived, which were lost on
//! the way, and which may be written into the local ring — a pure state machine (no clock
//! read, no I/O), so every rule is unit- and property-tested here.
//!
//! An exporter numbers the frames it publishes `0, 1, 2, …` (the envelope's `seq`, one count
//! over every key) and says in each status message how many it has published so far. For the
//! stream it follows, the tracker keeps `next`, the number of the next frame it expects:
//!
//! - a frame numbered `next`: accepted;
//! - a frame numbered `s > next`: frames `next .. s` were lost on the way — counted as
//!   **dropped** (never joined: the local ring gets no filler, and the frames' own waveform
//!   `first` indices show the hole) — then accepted;
//! - a frame numbered `s < next`, or a source ring index that does not move forward within one
//!   source epoch: a duplicate or out of order — **rejected**, never written;
//! - a status saying `p > next` frames were published: `next .. p` were lost — dropped.
//!
//! So for every stream, from the number it was joined at: `next − joined_at = delivered +
//! dropped + rejected`. The first stream is joined at the first number seen (an importer that
//! starts late does not count what was sent before it listened); a later stream — the exporter
//! restarted — is joined at 0, so frames it sent before this importer heard it count as
//! dropped.
//!
//! One importer follows one stream at a time. A message of another stream while the current one
//! is live is **foreign** (two exporters publishing under one key): rejected, so two patients'
//! data can never be interleaved. The tracker switches when the current stream was silent for
//! the link timeout or said it stopped.

use crate::envelope::{Envelope, Kind};

/// Why an envelope was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A frame number already seen (or older).
    OutOfOrder,
    /// The source ring index did not move forward within one epoch.
    IndexBackwards,
    /// Another exporter's stream while the current one is live.
    Foreign,
}

impl Refusal {
    /// Counter name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OutOfOrder => "out_of_order",
            Self::IndexBackwards => "index_backwards",
            Self::Foreign => "foreign_stream",
        }
    }
}

/// What to do with a frame envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameVerdict {
    /// Validate and write it. `lost` frames before it were counted as dropped; `new_stream` and
    /// `new_epoch` say what changed (for the log).
    Accept {
        /// Frames lost just before this one.
        lost: u64,
        /// This frame started following a new stream.
        new_stream: bool,
        /// The source epoch changed (the source producer restarted).
        new_epoch: Option<(u64, u64)>,
    },
    /// Not written; counted.
    Refuse(Refusal),
}

/// The counters of an importer (cumulative over streams).
///
/// For the frames of the streams followed: `published − joined_at = delivered + dropped +
/// rejected` once the last status arrived. `duplicate`, `foreign` and `invalid` count messages
/// outside that identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    /// Frames written into the local ring.
    pub delivered: u64,
    /// Frames lost between the exporter and here (gaps in the frame numbers).
    pub dropped: u64,
    /// Frames of the followed stream received but not written: `index_backwards` +
    /// `payload` + `too_large`.
    pub rejected: u64,
    /// Of them: the source ring index did not move forward.
    pub index_backwards: u64,
    /// Of them: the payload failed decoding or range checks.
    pub payload: u64,
    /// Of them: the payload is larger than a local slot.
    pub too_large: u64,
    /// Frames whose number was already seen (duplicates, or out of order).
    pub duplicate: u64,
    /// Messages of another exporter on the same key while the followed one was live.
    pub foreign: u64,
    /// Messages that were not valid envelopes (bad magic, version, size, CRC, fields, status
    /// body). A corrupted frame's number shows up as dropped as well.
    pub invalid: u64,
    /// Status messages accepted.
    pub status: u64,
    /// Streams (exporter runs) followed so far.
    pub streams: u64,
    /// Frame numbers not counted because they were sent before the first stream was joined.
    pub joined_at: u64,
}

/// The stream being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Current {
    id: u64,
    next: u64,
    epoch: u64,
    /// Source index of the last accepted frame of `epoch`.
    last_index: Option<u64>,
    /// Monotonic ms of its last message.
    last_seen_ms: u64,
    /// It said it stopped.
    stopped: bool,
}

/// The accounting state machine.
#[derive(Debug, Clone)]
pub struct Tracker {
    current: Option<Current>,
    link_timeout_ms: u64,
    /// The counters.
    pub counts: ImportCounts,
}

impl Tracker {
    /// A tracker that gives up on a silent stream after `link_timeout_ms`.
    pub fn new(link_timeout_ms: u64) -> Self {
        Self {
            current: None,
            link_timeout_ms,
            counts: ImportCounts::default(),
        }
    }

    /// The stream followed now, if any.
    pub fn stream(&self) -> Option<u64> {
        self.current.map(|c| c.id)
    }

    /// The source epoch of the stream followed now (0 before any frame).
    pub fn epoch(&self) -> u64 {
        self.current.map_or(0, |c| c.epoch)
    }

    /// The next frame number expected.
    pub fn next(&self) -> Option<u64> {
        self.current.map(|c| c.next)
    }

    /// Whether the current stream is silent for longer than the link timeout at `now_ms`.
    pub fn silent(&self, now_ms: u64) -> bool {
        self.current
            .is_none_or(|c| now_ms.saturating_sub(c.last_seen_ms) > self.link_timeout_ms)
    }

    /// Finds the stream state for a message of stream `id`: the current one, a newly joined
    /// one, or `Err(Foreign)`. `first_number` is the message's frame number (a frame's seq,
    /// or a status's published count).
    fn follow(&mut self, id: u64, first_number: u64, now_ms: u64) -> Result<bool, Refusal> {
        match self.current {
            Some(c) if c.id == id => Ok(false),
            Some(c) if !c.stopped && !self.silent(now_ms) => Err(Refusal::Foreign),
            previous => {
                // The first stream is joined where it is; a later one from its beginning.
                let joined_at = if previous.is_none() { first_number } else { 0 };
                self.counts.joined_at = self.counts.joined_at.saturating_add(joined_at);
                self.counts.streams = self.counts.streams.saturating_add(1);
                self.current = Some(Current {
                    id,
                    next: joined_at,
                    epoch: 0,
                    last_index: None,
                    last_seen_ms: now_ms,
                    stopped: false,
                });
                Ok(true)
            }
        }
    }

    /// A frame envelope arrived at `now_ms`. After `Accept`, call [`Tracker::delivered`] or
    /// [`Tracker::rejected_payload`] / [`Tracker::rejected_too_large`].
    pub fn on_frame(&mut self, env: &Envelope<'_>, now_ms: u64) -> FrameVerdict {
        debug_assert!(matches!(env.kind, Kind::Frame { .. }));
        let new_stream = match self.follow(env.stream, env.seq, now_ms) {
            Ok(n) => n,
            Err(r) => return self.refuse(r),
        };
        let Some(c) = self.current.as_mut() else {
            return FrameVerdict::Refuse(Refusal::Foreign);
        };
        c.last_seen_ms = now_ms;
        c.stopped = false;
        if env.seq < c.next {
            return self.refuse(Refusal::OutOfOrder);
        }
        let mut new_epoch = None;
        if env.epoch == c.epoch {
            if c.last_index.is_some_and(|last| env.index <= last) {
                // Counted as received: its number is used up.
                c.next = env.seq.saturating_add(1);
                return self.refuse(Refusal::IndexBackwards);
            }
        } else {
            if c.epoch != 0 {
                new_epoch = Some((c.epoch, env.epoch));
            }
            c.epoch = env.epoch;
        }
        let lost = env.seq - c.next;
        c.next = env.seq.saturating_add(1);
        c.last_index = Some(env.index);
        self.counts.dropped = self.counts.dropped.saturating_add(lost);
        FrameVerdict::Accept {
            lost,
            new_stream,
            new_epoch,
        }
    }

    fn refuse(&mut self, r: Refusal) -> FrameVerdict {
        let c = &mut self.counts;
        let slot = match r {
            Refusal::OutOfOrder => &mut c.duplicate,
            Refusal::IndexBackwards => {
                c.rejected = c.rejected.saturating_add(1);
                &mut c.index_backwards
            }
            Refusal::Foreign => &mut c.foreign,
        };
        *slot = slot.saturating_add(1);
        FrameVerdict::Refuse(r)
    }

    /// The accepted frame was written into the local ring.
    pub fn delivered(&mut self) {
        self.counts.delivered = self.counts.delivered.saturating_add(1);
    }

    /// The accepted frame's payload failed decoding or range checks.
    pub fn rejected_payload(&mut self) {
        self.counts.rejected = self.counts.rejected.saturating_add(1);
        self.counts.payload = self.counts.payload.saturating_add(1);
    }

    /// The accepted frame's payload does not fit a local slot.
    pub fn rejected_too_large(&mut self) {
        self.counts.rejected = self.counts.rejected.saturating_add(1);
        self.counts.too_large = self.counts.too_large.saturating_add(1);
    }

    /// Bytes that were not an envelope arrived.
    pub fn invalid(&mut self) {
        self.counts.invalid = self.counts.invalid.saturating_add(1);
    }

    /// A status envelope of stream `stream` saying `published` frames were sent, `stopped` if
    /// it is the exporter's last. Returns the frames this reveals as lost (0 usually), or
    /// `Err(Foreign)`.
    ///
    /// # Errors
    /// [`Refusal::Foreign`]: another exporter's status while the current one is live (counted
    /// in `foreign`).
    pub fn on_status(
        &mut self,
        stream: u64,
        published: u64,
        stopped: bool,
        now_ms: u64,
    ) -> Result<u64, Refusal> {
        if let Err(r) = self.follow(stream, published, now_ms) {
            self.counts.foreign = self.counts.foreign.saturating_add(1);
            return Err(r);
        }
        self.counts.status = self.counts.status.saturating_add(1);
        let Some(c) = self.current.as_mut() else {
            return Ok(0);
        };
        c.last_seen_ms = now_ms;
        c.stopped = stopped;
        let lost = published.saturating_sub(c.next);
        c.next = c.next.max(published);
        self.counts.dropped = self.counts.dropped.saturating_add(lost);
        Ok(lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::layout::{Encoding, FrameType};

    fn env(stream: u64, seq: u64, epoch: u64, index: u64) -> Envelope<'static> {
        Envelope {
            kind: Kind::Frame {
                frame_type: FrameType::Vitals,
                encoding: Encoding::Json,
            },
            stream,
            seq,
            epoch,
            index,
            timestamp_ns: 1,
            body: b"",
        }
    }

    fn accept(t: &mut Tracker, e: &Envelope<'_>, now: u64) -> u64 {
        match t.on_frame(e, now) {
            FrameVerdict::Accept { lost, .. } => {
                t.delivered();
                lost
            }
            v => panic!("refused: {v:?}"),
        }
    }

    #[test]
    fn gaps_are_dropped_never_joined() {
        let mut t = Tracker::new(300);
        assert_eq!(accept(&mut t, &env(9, 5, 1, 100), 0), 0);
        assert_eq!(t.counts.joined_at, 5);
        assert_eq!(accept(&mut t, &env(9, 6, 1, 101), 1), 0);
        assert_eq!(accept(&mut t, &env(9, 10, 1, 105), 2), 3);
        assert_eq!(t.counts.dropped, 3);
        // A duplicate and a backwards index are refused.
        assert_eq!(
            t.on_frame(&env(9, 10, 1, 105), 3),
            FrameVerdict::Refuse(Refusal::OutOfOrder)
        );
        assert_eq!(
            t.on_frame(&env(9, 11, 1, 104), 3),
            FrameVerdict::Refuse(Refusal::IndexBackwards)
        );
        // A status reveals a lost tail.
        assert_eq!(t.on_status(9, 15, false, 4), Ok(3));
        assert_eq!(t.next(), Some(15));
        let c = t.counts;
        assert_eq!(15 - c.joined_at, c.delivered + c.dropped + c.rejected);
    }

    #[test]
    fn a_second_exporter_is_foreign_until_the_first_is_gone() {
        let mut t = Tracker::new(300);
        accept(&mut t, &env(1, 0, 7, 0), 0);
        assert_eq!(
            t.on_frame(&env(2, 0, 8, 0), 100),
            FrameVerdict::Refuse(Refusal::Foreign)
        );
        assert_eq!(t.on_status(2, 0, false, 100), Err(Refusal::Foreign));
        // The first one stops: the second is followed from its frame 0.
        assert_eq!(t.on_status(1, 1, true, 150), Ok(0));
        assert!(matches!(
            t.on_frame(&env(2, 2, 8, 2), 160),
            FrameVerdict::Accept {
                lost: 2,
                new_stream: true,
                ..
            }
        ));
        t.delivered();
        // Silence also ends a stream.
        assert_eq!(
            t.on_frame(&env(3, 0, 8, 0), 400),
            FrameVerdict::Refuse(Refusal::Foreign)
        );
        assert!(matches!(
            t.on_frame(&env(3, 0, 8, 0), 461),
            FrameVerdict::Accept { lost: 0, .. }
        ));
    }

    #[test]
    fn source_restart_is_reported() {
        let mut t = Tracker::new(300);
        accept(&mut t, &env(1, 0, 7, 50), 0);
        assert_eq!(
            t.on_frame(&env(1, 1, 8, 0), 1),
            FrameVerdict::Accept {
                lost: 0,
                new_stream: false,
                new_epoch: Some((7, 8))
            }
        );
    }

    /// Whatever arrives, in whatever order, with losses and duplicates: accepted frame numbers
    /// strictly increase, and `next − joined_at = delivered + dropped + rejected` for a single
    /// stream after every message (2 000 pseudo-random arrival sequences).
    #[test]
    fn identity_holds() {
        let mut st: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        for _ in 0..2000 {
            let mut t = Tracker::new(1000);
            let mut last = None;
            let n = 1 + rnd() % 300;
            for i in 0..n {
                let s = rnd() % 200;
                if let FrameVerdict::Accept { .. } = t.on_frame(&env(5, s, 1, s), i) {
                    assert!(last.is_none_or(|l| s > l));
                    last = Some(s);
                    t.delivered();
                }
                let c = t.counts;
                assert_eq!(
                    t.next().unwrap() - c.joined_at,
                    c.delivered + c.dropped + c.rejected
                );
            }
        }
    }
}
