//! [`Capture`]: the recorder's [`Sink`]. It turns what the reader session delivers into rows
//! of the recording's tables, in memory, without touching the file (the caller flushes them
//! with [`crate::h5::H5Recording::append`]). Nothing here blocks or does I/O, so the session
//! is polled as fast as frames arrive.
//!
//! Gaps are never hidden: a waveform chunk whose first sample does not continue the previous
//! chunk of its channel (same epoch, same rate) starts a new segment row and, unless it is the
//! channel's first chunk, adds a `waveform_gap` event; drops and rejects become events with
//! their exact first index and count.

use vitalring_core::frame::FrameView;
use vitalring_core::payload::Record;
use vitalring_core::session::Sink;
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::vitals::{Channel, VitalsRecord, WaveformChunk};

use crate::h5::{ascii, ChannelStart, Tables};
use crate::layout::{EventKind, FILL_TEMP, FILL_U16};

/// Where a channel's samples stand.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    epoch: u64,
    fs: u16,
    next_sample: u64,
}

/// Frames and samples captured so far (never reset by a flush).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Captured {
    /// Vitals rows.
    pub vitals: u64,
    /// Waveform chunk rows, per channel.
    pub chunks: [u64; 3],
    /// Samples, per channel.
    pub samples: [u64; 3],
    /// Heartbeat frames seen (not stored).
    pub heartbeats: u64,
    /// Events rows.
    pub events: u64,
}

/// The recorder's sink (see the module docs).
#[derive(Debug)]
pub struct Capture {
    /// Rows not flushed yet.
    pub pending: Tables,
    epoch: u64,
    new_epoch: bool,
    cursors: [Option<Cursor>; 3],
    starts: [Option<ChannelStart>; 3],
    /// Samples in the current file, per channel (the `offset` of the next chunk).
    offsets: [u64; 3],
    captured: Captured,
    clock: fn() -> u64,
}

fn slot(channel: Channel) -> usize {
    match channel {
        Channel::EcgII => 0,
        Channel::Pleth => 1,
        Channel::Resp => 2,
    }
}

impl Capture {
    /// A capture of producer `epoch`; `clock` gives the wall time stamped on events (ns since
    /// the Unix epoch).
    pub fn new(epoch: u64, clock: fn() -> u64) -> Self {
        Self {
            pending: Tables::default(),
            epoch,
            new_epoch: false,
            cursors: [None; 3],
            starts: [None; 3],
            offsets: [0; 3],
            captured: Captured::default(),
            clock,
        }
    }

    /// The producer epoch frames are attributed to now.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether a new epoch started since the last call (the caller then adds its row to the
    /// epochs table with [`Capture::add_epoch`], from the session's figures).
    pub fn take_new_epoch(&mut self) -> bool {
        std::mem::take(&mut self.new_epoch)
    }

    /// The first chunk of each channel, once seen.
    pub fn starts(&self) -> &[Option<ChannelStart>; 3] {
        &self.starts
    }

    /// Totals so far.
    pub fn captured(&self) -> Captured {
        self.captured
    }

    /// Starts a new file (rotation): sample offsets restart at 0 and every channel's next
    /// chunk opens the file's first segment. Rows still pending belong to the old file and
    /// must have been written.
    pub fn start_file(&mut self) {
        self.offsets = [0; 3];
        self.cursors = [None; 3];
        self.starts = [None; 3];
    }

    /// Adds a row to the epochs table.
    pub fn add_epoch(
        &mut self,
        epoch: u64,
        start_index: u64,
        created_unix_ns: u64,
        frame_size: u32,
        frame_count: u32,
    ) {
        let t = &mut self.pending.epochs;
        t.epoch.push(epoch);
        t.attached_ns.push((self.clock)());
        t.start_index.push(start_index);
        t.created_unix_ns.push(created_unix_ns);
        t.frame_size.push(frame_size);
        t.frame_count.push(frame_count);
        self.push_event(EventKind::Epoch, start_index, 0, "");
    }

    /// Adds an events row stamped now, for the current epoch.
    pub fn push_event(&mut self, kind: EventKind, first: u64, count: u64, detail: &str) {
        let t = &mut self.pending.events;
        t.time_ns.push((self.clock)());
        t.kind.push(ascii(kind.name()));
        t.epoch.push(self.epoch);
        t.first.push(first);
        t.count.push(count);
        t.detail.push(ascii(detail));
        self.captured.events += 1;
    }

    fn vitals(&mut self, frame: &FrameView<'_>, v: &VitalsRecord) {
        let t = &mut self.pending.vitals;
        t.time_ns.push(frame.meta.timestamp.0);
        t.index.push(frame.index);
        t.epoch.push(self.epoch);
        t.encoding.push(frame.meta.encoding as u8);
        t.hr_bpm.push(v.hr_bpm);
        t.spo2_pct.push(v.spo2_pct);
        t.rr_rpm.push(v.rr_rpm);
        let n = v.nibp;
        t.nibp_systolic_mmhg
            .push(n.map_or(FILL_U16, |n| n.systolic_mmhg));
        t.nibp_diastolic_mmhg
            .push(n.map_or(FILL_U16, |n| n.diastolic_mmhg));
        t.nibp_mean_mmhg.push(n.map_or(FILL_U16, |n| n.mean_mmhg));
        t.temp_c.push(v.temp_c.unwrap_or(FILL_TEMP));
        t.pulse_rate_bpm.push(v.pulse_rate_bpm.unwrap_or(FILL_U16));
        self.captured.vitals += 1;
    }

    fn waveform(&mut self, frame: &FrameView<'_>, c: &WaveformChunk) {
        let k = slot(c.channel);
        let time = frame.meta.timestamp.0;
        let count = c.samples.len() as u64;
        let offset = self.offsets[k];
        let continues = self.cursors[k].is_some_and(|cur| {
            cur.epoch == self.epoch && cur.fs == c.fs_hz && cur.next_sample == c.first
        });
        if !continues {
            if let Some(cur) = self.cursors[k] {
                let missing = if cur.epoch == self.epoch && c.first > cur.next_sample {
                    c.first - cur.next_sample
                } else {
                    0
                };
                let why = if cur.epoch != self.epoch {
                    "new epoch"
                } else if cur.fs != c.fs_hz {
                    "new sample rate"
                } else if c.first > cur.next_sample {
                    "samples missing"
                } else {
                    "sample index went back"
                };
                self.push_event(
                    EventKind::WaveformGap,
                    cur.next_sample,
                    missing,
                    &format!("{}: {why}, resumes at sample {}", c.channel, c.first),
                );
            }
            let s = &mut self.pending.waves[k].segments;
            s.offset.push(offset);
            s.first_sample_index.push(c.first);
            s.start_time_ns.push(time);
            s.epoch.push(self.epoch);
            s.sample_rate_hz.push(c.fs_hz);
        }
        self.starts[k].get_or_insert(ChannelStart {
            sample_rate_hz: c.fs_hz,
            first_sample_index: c.first,
            start_time_ns: time,
        });
        self.cursors[k] = Some(Cursor {
            epoch: self.epoch,
            fs: c.fs_hz,
            next_sample: c.first.saturating_add(count),
        });
        let w = &mut self.pending.waves[k];
        w.chunks.time_ns.push(time);
        w.chunks.index.push(frame.index);
        w.chunks.epoch.push(self.epoch);
        w.chunks.first_sample_index.push(c.first);
        w.chunks.offset.push(offset);
        w.chunks.count.push(c.samples.len() as u16);
        w.chunks.sample_rate_hz.push(c.fs_hz);
        w.chunks.encoding.push(frame.meta.encoding as u8);
        w.samples.extend_from_slice(&c.samples);
        self.offsets[k] += count;
        self.captured.samples[k] += count;
        self.captured.chunks[k] += 1;
    }
}

impl Sink for Capture {
    fn frame(&mut self, frame: &FrameView<'_>, record: &Record) {
        match record {
            Record::Vitals(v) => self.vitals(frame, v),
            Record::Waveform(c) => self.waveform(frame, c),
            Record::Heartbeat => self.captured.heartbeats += 1,
        }
    }

    fn event(&mut self, event: SensorEvent) {
        match event {
            // Stored from `frame`, which sees the encoding too.
            SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. } => {}
            SensorEvent::Connection { state, epoch } => {
                if let (ConnectionState::Connected, Some(e)) = (state, epoch) {
                    if e != self.epoch {
                        self.epoch = e;
                        self.new_epoch = true;
                    }
                }
                self.push_event(EventKind::Connection, 0, 0, state.name());
            }
            SensorEvent::Error(e) => {
                let detail = e.to_string();
                match e {
                    SensorError::Stalled { .. } => {
                        self.push_event(EventKind::Stalled, 0, 0, &detail);
                    }
                    SensorError::Dropped {
                        first,
                        count,
                        cause,
                    } => {
                        self.push_event(
                            EventKind::Dropped,
                            first,
                            count,
                            &format!("{cause:?}").to_lowercase(),
                        );
                    }
                    SensorError::Rejected {
                        first,
                        count,
                        reason,
                    } => {
                        let kind = e.kind().name();
                        self.push_event(
                            EventKind::Rejected,
                            first,
                            count,
                            &format!("{kind}: {reason}"),
                        );
                    }
                    SensorError::EventsLost { count } => {
                        // Cannot happen here (the sink is called directly), recorded anyway.
                        self.push_event(EventKind::Recorder, 0, count, &detail);
                    }
                    SensorError::Header(_) => {
                        self.push_event(EventKind::HeaderFault, 0, 0, &detail);
                    }
                    SensorError::Handshake(_) => {
                        self.push_event(EventKind::HandshakeFailed, 0, 0, &detail);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::frame::{encode_slot, FrameMeta, SlotView};
    use vitalring_core::layout::{Encoding, FrameType};
    use vitalring_core::slot::DropCause;
    use vitalring_core::time::UnixNs;

    /// Feeds `record` to `cap` as the frame at ring `index`, stamped `t`.
    fn feed(cap: &mut Capture, index: u64, t: u64, record: &Record) {
        let mut slot = [0u8; 512];
        let meta = FrameMeta {
            frame_type: FrameType::Heartbeat,
            encoding: Encoding::Binary,
            timestamp: UnixNs(t),
        };
        encode_slot(index, meta, &[], &mut slot).unwrap();
        let view = SlotView::new_checked(&slot, Some(index)).unwrap();
        cap.frame(&view, record);
    }

    fn chunk(channel: Channel, first: u64, n: usize) -> Record {
        let mut samples = heapless::Vec::new();
        for i in 0..n {
            samples.push(first as i32 + i as i32).unwrap();
        }
        Record::Waveform(WaveformChunk {
            channel,
            fs_hz: 250,
            first,
            samples,
        })
    }

    fn kinds(cap: &Capture) -> Vec<&str> {
        cap.pending.events.kind.iter().map(|k| k.as_str()).collect()
    }

    #[test]
    fn contiguous_chunks_are_one_segment_and_a_jump_is_a_gap_event_and_a_new_segment() {
        let mut cap = Capture::new(7, || 1);
        feed(&mut cap, 0, 100, &chunk(Channel::EcgII, 0, 10));
        feed(&mut cap, 1, 140, &chunk(Channel::EcgII, 10, 10));
        assert_eq!(cap.pending.waves[0].segments.rows(), 1);
        assert!(cap.pending.events.rows() == 0);
        // 30 samples missing: never joined.
        feed(&mut cap, 2, 300, &chunk(Channel::EcgII, 50, 10));
        let w = &cap.pending.waves[0];
        assert_eq!(w.segments.offset, vec![0, 20]);
        assert_eq!(w.segments.first_sample_index, vec![0, 50]);
        assert_eq!(w.chunks.offset, vec![0, 10, 20]);
        assert_eq!(w.samples.len(), 30);
        assert_eq!(kinds(&cap), vec!["waveform_gap"]);
        assert_eq!(cap.pending.events.first, vec![20]);
        assert_eq!(cap.pending.events.count, vec![30]);
        // Another channel is independent.
        feed(&mut cap, 3, 100, &chunk(Channel::Resp, 0, 10));
        assert_eq!(cap.pending.waves[2].segments.rows(), 1);
        assert_eq!(cap.starts()[0].unwrap().first_sample_index, 0);
        assert!(cap.starts()[1].is_none());
    }

    #[test]
    fn a_new_epoch_starts_a_new_segment_even_when_the_index_continues() {
        let mut cap = Capture::new(1, || 1);
        feed(&mut cap, 0, 100, &chunk(Channel::Pleth, 0, 10));
        cap.event(SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: Some(2),
        });
        assert!(cap.take_new_epoch());
        assert!(!cap.take_new_epoch());
        feed(&mut cap, 0, 200, &chunk(Channel::Pleth, 10, 10));
        let s = &cap.pending.waves[1].segments;
        assert_eq!(s.epoch, vec![1, 2]);
        assert_eq!(kinds(&cap), vec!["connection", "waveform_gap"]);
        assert_eq!(cap.pending.events.count[1], 0);
    }

    #[test]
    fn absent_vitals_are_filled_and_drops_keep_their_exact_range() {
        let mut cap = Capture::new(1, || 5);
        let bare = VitalsRecord {
            hr_bpm: 80,
            spo2_pct: 97,
            rr_rpm: 12,
            nibp: None,
            temp_c: None,
            pulse_rate_bpm: None,
        };
        feed(&mut cap, 4, 100, &Record::Vitals(bare));
        let v = &cap.pending.vitals;
        assert_eq!(v.nibp_systolic_mmhg, vec![FILL_U16]);
        assert_eq!(v.pulse_rate_bpm, vec![FILL_U16]);
        assert!(v.temp_c[0].is_nan());
        assert_eq!(v.encoding, vec![1]);
        cap.event(SensorEvent::Error(SensorError::Dropped {
            first: 1000,
            count: 4096,
            cause: DropCause::Lapped,
        }));
        let e = &cap.pending.events;
        assert_eq!(kinds(&cap), vec!["dropped"]);
        assert_eq!((e.first[0], e.count[0], e.time_ns[0]), (1000, 4096, 5));
        assert_eq!(e.detail[0].as_str(), "lapped");
        feed(&mut cap, 5, 100, &Record::Heartbeat);
        assert_eq!(cap.captured().heartbeats, 1);
        assert_eq!(cap.captured().vitals, 1);
    }
}
