//! Scroll-back: the last minutes of every channel and of the vitals, in bounded memory, and the
//! review cursor that the TUI's keys move.
//!
//! Memory is bounded by construction: each waveform channel keeps at most `seconds × 250`
//! samples (with their acquisition times) and the vitals at most `seconds × 60` rows (plus a
//! margin), and anything older than `seconds` before the newest value is evicted. The buffers
//! are reserved to their full size when the first value arrives; after that a new value
//! replaces the oldest one, so keeping history allocates nothing in steady state.
//!
//! Times are the frames' acquisition times (ns since the Unix epoch), made non-decreasing per
//! buffer (a value stamped earlier than its predecessor is kept at its predecessor's time) so
//! the cursor can be found by binary search.

use std::collections::VecDeque;

use vitalring_core::vitals::{Channel, VitalsRecord, WaveformChunk};

/// Default scroll-back length, seconds (five minutes).
pub const DEFAULT_SECONDS: u32 = 300;
/// Waveform samples kept per second of history (the transport's 250 Hz rate; a faster
/// channel keeps proportionally less time).
pub const SAMPLES_PER_SECOND: usize = 250;
/// Vitals rows kept per second of history (60 Hz), before the margin.
pub const VITALS_PER_SECOND: usize = 60;
/// ←/→ step, ns.
pub const STEP_NS: u64 = 1_000_000_000;
/// PgUp/PgDn step, ns.
pub const PAGE_NS: u64 = 10_000_000_000;

/// One vitals row of history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PastVitals {
    /// Acquisition time, ns since the Unix epoch.
    pub t_ns: u64,
    /// Ring index.
    pub index: u64,
    /// The values.
    pub record: VitalsRecord,
}

/// The history of one waveform channel: samples (`None` marks a gap) and their times.
#[derive(Debug, Clone, Default)]
pub struct ChannelHistory {
    /// Samples, oldest first.
    pub values: VecDeque<Option<i32>>,
    /// Acquisition time of each sample, same length as `values`.
    pub times: VecDeque<u64>,
    /// Sample rate of the last chunk, Hz.
    pub fs_hz: u16,
    next_first: Option<u64>,
    capacity: usize,
}

impl ChannelHistory {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    fn push_value(&mut self, t_ns: u64, v: Option<i32>, keep_ns: u64) {
        if self.values.capacity() < self.capacity {
            // Once, when the first value arrives: the whole budget, so no later push
            // reallocates.
            self.values.reserve_exact(self.capacity - self.values.len());
            self.times.reserve_exact(self.capacity - self.times.len());
        }
        let t = self.times.back().map_or(t_ns, |&last| t_ns.max(last));
        while self.values.len() >= self.capacity
            || self
                .times
                .front()
                .is_some_and(|&old| t.saturating_sub(old) > keep_ns)
        {
            self.values.pop_front();
            self.times.pop_front();
        }
        self.values.push_back(v);
        self.times.push_back(t);
    }

    fn push(&mut self, t_ns: u64, chunk: &WaveformChunk, keep_ns: u64) {
        let fs = u64::from(chunk.fs_hz.max(1));
        match self.next_first {
            Some(expected) if chunk.first > expected => {
                // Lost samples: a gap, drawn as one (not joined), at most a history's worth.
                let gap = (chunk.first - expected).min(self.capacity as u64);
                let gap_start = t_ns.saturating_sub(gap * 1_000_000_000 / fs);
                for k in 0..gap {
                    self.push_value(gap_start + k * 1_000_000_000 / fs, None, keep_ns);
                }
            }
            // A restarted producer: its indices start over; break the line there.
            Some(expected) if chunk.first < expected => self.push_value(t_ns, None, keep_ns),
            _ => {}
        }
        self.fs_hz = chunk.fs_hz;
        for (k, &s) in chunk.samples.iter().enumerate() {
            self.push_value(t_ns + k as u64 * 1_000_000_000 / fs, Some(s), keep_ns);
        }
        self.next_first = Some(chunk.first + chunk.samples.len() as u64);
    }

    /// How many samples are at or before `t_ns`.
    pub fn count_until(&self, t_ns: u64) -> usize {
        self.times.partition_point(|&t| t <= t_ns)
    }
}

/// The scroll-back store of one monitor (see the module docs).
#[derive(Debug, Clone)]
pub struct History {
    /// How much time is kept, ns.
    pub keep_ns: u64,
    /// ECG II, pleth, resp (in [`Channel::ALL`] order).
    pub channels: [ChannelHistory; 3],
    /// Vitals rows, oldest first.
    pub vitals: VecDeque<PastVitals>,
    vitals_capacity: usize,
}

impl History {
    /// Keeps `seconds` of history (at least 1).
    pub fn new(seconds: u32) -> Self {
        let seconds = seconds.max(1) as usize;
        let samples = seconds * SAMPLES_PER_SECOND;
        Self {
            keep_ns: seconds as u64 * 1_000_000_000,
            channels: [
                ChannelHistory::new(samples),
                ChannelHistory::new(samples),
                ChannelHistory::new(samples),
            ],
            vitals: VecDeque::new(),
            // A 10 % margin for a producer slightly faster than 60 Hz.
            vitals_capacity: seconds * VITALS_PER_SECOND * 11 / 10,
        }
    }

    /// Keeps a vitals frame.
    pub fn push_vitals(&mut self, t_ns: u64, index: u64, record: &VitalsRecord) {
        if self.vitals.capacity() < self.vitals_capacity {
            self.vitals
                .reserve_exact(self.vitals_capacity - self.vitals.len());
        }
        let t = self.vitals.back().map_or(t_ns, |last| t_ns.max(last.t_ns));
        while self.vitals.len() >= self.vitals_capacity
            || self
                .vitals
                .front()
                .is_some_and(|old| t.saturating_sub(old.t_ns) > self.keep_ns)
        {
            self.vitals.pop_front();
        }
        self.vitals.push_back(PastVitals {
            t_ns: t,
            index,
            record: *record,
        });
    }

    /// Keeps a waveform chunk whose first sample was acquired at `t_ns`.
    pub fn push_chunk(&mut self, t_ns: u64, chunk: &WaveformChunk) {
        let k = super::state::trace_index(chunk.channel);
        self.channels[k].push(t_ns, chunk, self.keep_ns);
    }

    /// The newest acquisition time held (`None` when empty).
    pub fn newest_ns(&self) -> Option<u64> {
        self.channels
            .iter()
            .filter_map(|c| c.times.back().copied())
            .chain(self.vitals.back().map(|v| v.t_ns))
            .max()
    }

    /// The oldest acquisition time still held that is within `keep_ns` of the newest.
    pub fn oldest_ns(&self) -> Option<u64> {
        let newest = self.newest_ns()?;
        let first = self
            .channels
            .iter()
            .filter_map(|c| c.times.front().copied())
            .chain(self.vitals.front().map(|v| v.t_ns))
            .min()?;
        Some(first.max(newest.saturating_sub(self.keep_ns)))
    }

    /// The newest vitals row at or before `t_ns`.
    pub fn vitals_at(&self, t_ns: u64) -> Option<PastVitals> {
        let n = self.vitals.partition_point(|v| v.t_ns <= t_ns);
        n.checked_sub(1).and_then(|i| self.vitals.get(i)).copied()
    }

    /// The history of `channel`.
    pub fn channel(&self, channel: Channel) -> &ChannelHistory {
        &self.channels[super::state::trace_index(channel)]
    }

    /// Bytes reserved by the buffers (bounded by the history length).
    #[cfg(test)]
    pub fn reserved_bytes(&self) -> usize {
        self.channels
            .iter()
            .map(|c| {
                c.values.capacity() * std::mem::size_of::<Option<i32>>()
                    + c.times.capacity() * std::mem::size_of::<u64>()
            })
            .sum::<usize>()
            + self.vitals.capacity() * std::mem::size_of::<PastVitals>()
    }
}

/// What the screen follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The newest data, as it arrives.
    #[default]
    Live,
    /// Frozen at a past acquisition time (ns since the Unix epoch).
    Review {
        /// The cursor: the view shows what had arrived up to this acquisition time.
        at_ns: u64,
    },
}

/// A scroll-back key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKey {
    /// Space: freeze the view at the newest data, or back to live.
    Toggle,
    /// ←: one step back.
    Back,
    /// →: one step forward.
    Forward,
    /// PgUp: one page back.
    PageBack,
    /// PgDn: one page forward.
    PageForward,
    /// Home: the oldest data held.
    Oldest,
    /// End: live.
    Live,
}

impl View {
    /// The view after `key`, given what `history` holds. Moving back from live freezes the view
    /// first; the cursor stays within the history; moving forward stops at the newest data (it
    /// never returns to live on its own: End or Space does).
    pub fn after(self, key: ReviewKey, history: &History) -> Self {
        let (Some(oldest), Some(newest)) = (history.oldest_ns(), history.newest_ns()) else {
            // Nothing to review yet.
            return Self::Live;
        };
        let at = match self {
            Self::Live => newest,
            Self::Review { at_ns } => at_ns,
        };
        let clamp = |t: u64| t.clamp(oldest, newest);
        match (self, key) {
            (Self::Live, ReviewKey::Toggle) => Self::Review { at_ns: newest },
            (Self::Review { .. }, ReviewKey::Toggle) | (_, ReviewKey::Live) => Self::Live,
            (_, ReviewKey::Back) => Self::Review {
                at_ns: clamp(at.saturating_sub(STEP_NS)),
            },
            (_, ReviewKey::PageBack) => Self::Review {
                at_ns: clamp(at.saturating_sub(PAGE_NS)),
            },
            (Self::Live, ReviewKey::Forward | ReviewKey::PageForward) => Self::Live,
            (_, ReviewKey::Forward) => Self::Review {
                at_ns: clamp(at.saturating_add(STEP_NS)),
            },
            (_, ReviewKey::PageForward) => Self::Review {
                at_ns: clamp(at.saturating_add(PAGE_NS)),
            },
            (_, ReviewKey::Oldest) => Self::Review { at_ns: oldest },
        }
    }

    /// The cursor, when reviewing.
    pub fn review_at(self) -> Option<u64> {
        match self {
            Self::Live => None,
            Self::Review { at_ns } => Some(at_ns),
        }
    }
}

/// `hh:mm:ss.mmm UTC` of a Unix time in ns.
pub fn utc_time_of_day(t_ns: u64) -> String {
    let ms = t_ns / 1_000_000;
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::{chunk, record};
    use super::*;

    const T0: u64 = 1_700_000_000_000_000_000;

    /// `secs` seconds of 250 Hz chunks of 10 on every channel and 60 Hz vitals from `T0`.
    fn fill(h: &mut History, secs: u64) {
        for k in 0..secs * 25 {
            for c in Channel::ALL {
                h.push_chunk(T0 + k * 40_000_000, &chunk(c, k * 10, 10));
            }
        }
        for k in 0..secs * 60 {
            h.push_vitals(
                T0 + k * 1_000_000_000 / 60,
                k,
                &record(60 + (k % 50) as u16, 98, 16),
            );
        }
    }

    #[test]
    fn keeps_exactly_the_configured_time_and_stops_allocating() {
        let mut h = History::new(10);
        fill(&mut h, 10);
        let reserved = h.reserved_bytes();
        let caps: Vec<_> = h.channels.iter().map(|c| c.values.capacity()).collect();
        fill(&mut h, 60);
        // Bounded: the same buffers, never grown after the first fill.
        assert_eq!(h.reserved_bytes(), reserved);
        let caps2: Vec<_> = h.channels.iter().map(|c| c.values.capacity()).collect();
        assert_eq!(caps, caps2);
        for c in &h.channels {
            assert_eq!(c.values.len(), 10 * SAMPLES_PER_SECOND);
            let span = c.times.back().unwrap() - c.times.front().unwrap();
            assert!(span <= 10_000_000_000, "{span}");
        }
        assert!(h.vitals.len() <= 10 * 60 + 1);
    }

    #[test]
    fn five_minutes_fit_in_a_few_megabytes() {
        let mut h = History::new(DEFAULT_SECONDS);
        fill(&mut h, 310);
        assert_eq!(h.channels[0].values.len(), 300 * 250);
        assert!(h.reserved_bytes() < 5_000_000, "{}", h.reserved_bytes());
        let oldest = h.oldest_ns().unwrap();
        let newest = h.newest_ns().unwrap();
        assert!(newest - oldest <= 300_000_000_000);
        assert!(newest - oldest >= 299_000_000_000);
    }

    #[test]
    fn gaps_are_kept_as_gaps() {
        let mut h = History::new(10);
        h.push_chunk(T0, &chunk(Channel::Pleth, 0, 10));
        h.push_chunk(T0 + 80_000_000, &chunk(Channel::Pleth, 20, 10));
        let c = h.channel(Channel::Pleth);
        assert_eq!(c.values.len(), 30);
        assert_eq!(c.values.iter().filter(|v| v.is_none()).count(), 10);
        assert!(c
            .times
            .iter()
            .zip(c.times.iter().skip(1))
            .all(|(a, b)| a <= b));
    }

    #[test]
    fn cursor_moves_within_history() {
        let mut h = History::new(60);
        assert_eq!(View::Live.after(ReviewKey::Back, &h), View::Live);
        fill(&mut h, 30);
        let newest = h.newest_ns().unwrap();
        let oldest = h.oldest_ns().unwrap();
        let v = View::Live.after(ReviewKey::Toggle, &h);
        assert_eq!(v, View::Review { at_ns: newest });
        let v = v.after(ReviewKey::Back, &h);
        assert_eq!(v.review_at(), Some(newest - STEP_NS));
        let v = v.after(ReviewKey::PageBack, &h);
        assert_eq!(v.review_at(), Some(newest - STEP_NS - PAGE_NS));
        let v = v
            .after(ReviewKey::PageBack, &h)
            .after(ReviewKey::PageBack, &h);
        assert_eq!(v.review_at(), Some(oldest));
        let v = v.after(ReviewKey::PageForward, &h);
        assert_eq!(v.review_at(), Some(oldest + PAGE_NS));
        let v = v.after(ReviewKey::Oldest, &h);
        assert_eq!(v.review_at(), Some(oldest));
        for _ in 0..40 {
            assert!(v.after(ReviewKey::Forward, &h).review_at().is_some());
        }
        let far = View::Review { at_ns: newest }.after(ReviewKey::PageForward, &h);
        assert_eq!(far, View::Review { at_ns: newest });
        assert_eq!(v.after(ReviewKey::Live, &h), View::Live);
        assert_eq!(v.after(ReviewKey::Toggle, &h), View::Live);
        assert_eq!(View::Live.after(ReviewKey::Forward, &h), View::Live);
        let past = h.vitals_at(newest - PAGE_NS).unwrap();
        assert!(past.t_ns <= newest - PAGE_NS);
        assert!(newest - PAGE_NS - past.t_ns < 1_000_000_000 / 60 + 1);
    }

    #[test]
    fn time_of_day() {
        assert_eq!(utc_time_of_day(0), "00:00:00.000 UTC");
        assert_eq!(
            utc_time_of_day((13 * 3600 + 4 * 60 + 5) * 1_000_000_000 + 678_000_000),
            "13:04:05.678 UTC"
        );
    }
}
