//! [`History`]: the newest samples of every waveform channel and the newest vitals frames,
//! kept as the session delivers them, so that "the last 10 s of ECG" or "the last minute of
//! vitals" is one copy out of a bounded buffer.
//!
//! A history only ever holds **contiguous, delivered** samples: when a chunk does not start
//! where the previous one ended (a frame was dropped or rejected, the sample rate changed, or a
//! new producer started), the channel's history restarts at that chunk. Nothing is ever
//! interpolated or padded, so a window handed out is exactly what the producer sent, in order,
//! with no hole.
//!
//! Vitals frames are kept as delivered rows ([`VitalsRow`]): a lost frame is simply a missing
//! row (its ring index is absent), and an optional value the producer did not send stays
//! `None` — the history never fills anything in.

use std::collections::VecDeque;

use vitalring_core::source::SensorEvent;
use vitalring_core::vitals::{Channel, VitalsRecord};

/// Vitals frames per second the history is sized for: `seconds × VITALS_MAX_HZ` rows at most
/// (the simulator sends 60 per second; bedside monitors 1). Faster producers get a window
/// shorter than `seconds`, never a gap.
pub const VITALS_MAX_HZ: usize = 256;

/// One delivered vitals frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VitalsRow {
    /// Ring index of the frame.
    pub index: u64,
    /// Acquisition time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The numerics, as sent (absent optional values are `None`).
    pub vitals: VitalsRecord,
}

/// One channel's samples.
#[derive(Debug, Default)]
struct Track {
    samples: VecDeque<i32>,
    /// Samples kept at most (seconds × fs, fixed when the rate is first seen).
    capacity: usize,
    fs_hz: u16,
    /// Sample index of `samples[0]`.
    first: u64,
    /// Sample index and acquisition time (Unix ns) of the newest chunk's first sample.
    newest_first: u64,
    newest_ns: u64,
}

impl Track {
    fn next_index(&self) -> u64 {
        self.first + self.samples.len() as u64
    }
}

/// A window of one channel's history (see [`History::window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window<'a> {
    /// Sample rate, Hz.
    pub fs_hz: u16,
    /// Sample index of the window's first sample.
    pub first: u64,
    /// Acquisition time of the window's first sample, ns since the Unix epoch (computed from
    /// the newest chunk's timestamp and the sample rate).
    pub start_ns: u64,
    /// The samples, oldest first, in two parts (the buffer is a ring).
    pub parts: (&'a [i32], &'a [i32]),
}

impl Window<'_> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.parts.0.len() + self.parts.1.len()
    }

    /// True when the window holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The newest samples of every channel, at most `seconds` each.
#[derive(Debug)]
pub struct History {
    seconds: u32,
    epoch: Option<u64>,
    tracks: [Track; 3],
    vitals: VecDeque<VitalsRow>,
}

impl History {
    /// Keeps at most `seconds` of every channel (memory: `seconds × fs × 4` bytes per channel,
    /// 300 KB for 300 s at 250 Hz) and of vitals frames (at most `seconds ×`
    /// [`VITALS_MAX_HZ`] rows of 40 bytes, grown as they arrive: 720 KB for 300 s at 60 Hz).
    pub fn new(seconds: u32) -> Self {
        Self {
            seconds: seconds.max(1),
            epoch: None,
            tracks: Default::default(),
            vitals: VecDeque::new(),
        }
    }

    /// Seconds kept per channel.
    pub fn seconds(&self) -> u32 {
        self.seconds
    }

    fn slot(channel: Channel) -> usize {
        usize::from(channel.code()).saturating_sub(1).min(2)
    }

    /// Feeds one event (only vitals, waveform chunks and epoch changes matter).
    pub fn observe(&mut self, event: &SensorEvent) {
        match event {
            SensorEvent::Connection {
                epoch: Some(epoch), ..
            } => {
                if self.epoch.is_some_and(|e| e != *epoch) {
                    for t in &mut self.tracks {
                        t.samples.clear();
                    }
                    self.vitals.clear();
                }
                self.epoch = Some(*epoch);
            }
            SensorEvent::Vitals {
                timestamp,
                index,
                record,
            } => {
                let span = u64::from(self.seconds) * 1_000_000_000;
                let cap = self.seconds as usize * VITALS_MAX_HZ;
                while self.vitals.len() >= cap
                    || self
                        .vitals
                        .front()
                        .is_some_and(|r| r.timestamp_ns.saturating_add(span) < timestamp.0)
                {
                    self.vitals.pop_front();
                }
                self.vitals.push_back(VitalsRow {
                    index: *index,
                    timestamp_ns: timestamp.0,
                    vitals: *record,
                });
            }
            SensorEvent::Waveform {
                timestamp, chunk, ..
            } => {
                let seconds = self.seconds as usize;
                let t = &mut self.tracks[Self::slot(chunk.channel)];
                if t.fs_hz != chunk.fs_hz {
                    t.fs_hz = chunk.fs_hz;
                    t.capacity = seconds * usize::from(chunk.fs_hz);
                    t.samples = VecDeque::with_capacity(t.capacity);
                }
                if t.samples.is_empty() || t.next_index() != chunk.first {
                    t.samples.clear();
                    t.first = chunk.first;
                }
                t.samples.extend(chunk.samples.iter().copied());
                let excess = t.samples.len().saturating_sub(t.capacity);
                t.samples.drain(..excess);
                t.first += excess as u64;
                t.newest_first = chunk.first;
                t.newest_ns = timestamp.0;
            }
            _ => {}
        }
    }

    /// The newest `seconds` of `channel` (fewer if fewer contiguous samples are held; `None`
    /// before the channel's first chunk).
    pub fn window(&self, channel: Channel, seconds: f64) -> Option<Window<'_>> {
        let t = &self.tracks[Self::slot(channel)];
        if t.samples.is_empty() || t.fs_hz == 0 {
            return None;
        }
        let wanted = (seconds.max(0.0) * f64::from(t.fs_hz)).ceil();
        // Saturating float-to-int cast: NaN and huge values are bounded by the length.
        let n = (wanted as usize).min(t.samples.len());
        let skip = t.samples.len() - n;
        let first = t.first + skip as u64;
        let back = t.newest_first.saturating_sub(first);
        let start_ns = t
            .newest_ns
            .saturating_sub(back.saturating_mul(1_000_000_000) / u64::from(t.fs_hz));
        let (a, b) = t.samples.as_slices();
        let parts = if skip <= a.len() {
            (&a[skip..], b)
        } else {
            (&b[skip - a.len()..], &b[..0])
        };
        Some(Window {
            fs_hz: t.fs_hz,
            first,
            start_ns,
            parts,
        })
    }
}

impl History {
    /// The vitals frames of the newest `seconds` (acquisition time within `seconds` of the
    /// newest frame's), oldest first; empty before the first vitals frame.
    pub fn vitals(&self, seconds: f64) -> impl Iterator<Item = &VitalsRow> + '_ {
        let newest = self.vitals.back().map_or(0, |r| r.timestamp_ns);
        // Saturating float-to-int cast: NaN is 0, huge values saturate.
        let span = (seconds.max(0.0) * 1e9) as u64;
        let from = newest.saturating_sub(span);
        let skip = self.vitals.partition_point(|r| r.timestamp_ns < from);
        self.vitals.range(skip..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::time::UnixNs;
    use vitalring_core::vitals::WaveformChunk;

    fn chunk(first: u64, n: usize) -> SensorEvent {
        let mut samples = heapless::Vec::new();
        for k in 0..n {
            samples.push((first + k as u64) as i32).unwrap();
        }
        SensorEvent::Waveform {
            timestamp: UnixNs(1_000_000_000 + first * 4_000_000),
            index: first,
            chunk: WaveformChunk {
                channel: Channel::EcgII,
                fs_hz: 250,
                first,
                samples,
            },
        }
    }

    fn collect(w: &Window<'_>) -> Vec<i32> {
        w.parts.0.iter().chain(w.parts.1).copied().collect()
    }

    #[test]
    fn keeps_the_newest_contiguous_seconds() {
        let mut h = History::new(1);
        for k in 0..40 {
            h.observe(&chunk(k * 10, 10));
        }
        let w = h.window(Channel::EcgII, 10.0).unwrap();
        assert_eq!(w.len(), 250);
        assert_eq!(w.first, 150);
        assert_eq!(collect(&w), (150..400).collect::<Vec<_>>());
        assert_eq!(w.start_ns, 1_000_000_000 + 150 * 4_000_000);
        let w = h.window(Channel::EcgII, 0.1).unwrap();
        assert_eq!(collect(&w), (375..400).collect::<Vec<_>>());
        assert!(h.window(Channel::Pleth, 1.0).is_none());
    }

    fn vitals(index: u64, ts_s: u64, temp: Option<f32>) -> SensorEvent {
        SensorEvent::Vitals {
            timestamp: UnixNs(ts_s * 1_000_000_000),
            index,
            record: VitalsRecord {
                hr_bpm: 70,
                spo2_pct: 97,
                rr_rpm: 14,
                nibp: None,
                temp_c: temp,
                pulse_rate_bpm: None,
            },
        }
    }

    #[test]
    fn vitals_keep_the_newest_seconds_as_sent() {
        let mut h = History::new(10);
        for k in 0..30 {
            h.observe(&vitals(k, 100 + k, (k % 2 == 0).then_some(36.5)));
        }
        // 10 s kept: the frames stamped 119..=129 (from = newest - 10 s, inclusive).
        let all: Vec<_> = h.vitals(300.0).map(|r| r.index).collect();
        assert_eq!(all, (19..30).collect::<Vec<_>>());
        let last: Vec<_> = h.vitals(2.0).collect();
        assert_eq!(
            last.iter().map(|r| r.index).collect::<Vec<_>>(),
            [27, 28, 29]
        );
        // Absent values stay absent.
        assert_eq!(last[0].vitals.temp_c, None);
        assert_eq!(last[1].vitals.temp_c, Some(36.5));
        // A new producer restarts the rows.
        h.observe(&SensorEvent::Connection {
            state: vitalring_core::source::ConnectionState::Connected,
            epoch: Some(1),
        });
        h.observe(&SensorEvent::Connection {
            state: vitalring_core::source::ConnectionState::Connected,
            epoch: Some(2),
        });
        assert_eq!(h.vitals(300.0).count(), 0);
    }

    #[test]
    fn a_gap_restarts_the_history() {
        let mut h = History::new(10);
        h.observe(&chunk(0, 10));
        h.observe(&chunk(10, 10));
        h.observe(&chunk(30, 10)); // chunk 20..30 lost
        let w = h.window(Channel::EcgII, 10.0).unwrap();
        assert_eq!(collect(&w), (30..40).collect::<Vec<_>>());
        assert_eq!(w.first, 30);
    }
}
