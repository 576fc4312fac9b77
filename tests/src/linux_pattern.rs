//! Deterministic frame contents shared by the `test-producer` binary and the Linux integration
//! tests (each includes this file with `#[path]`; it is not part of the library).
#![allow(dead_code)]

use vitalring_core::payload::Record;
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk};

/// The record the test producer publishes as its `i`-th frame: every 4th a vitals record, the
/// others waveform chunks of 8 samples cycling through the channels.
pub fn record(i: u64) -> Record {
    if i.is_multiple_of(4) {
        Record::Vitals(VitalsRecord {
            hr_bpm: 40 + (i % 150) as u16,
            spo2_pct: 80 + (i % 21) as u8,
            rr_rpm: 8 + (i % 30) as u8,
            nibp: i.is_multiple_of(8).then_some(Nibp {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_mmhg: 93,
            }),
            temp_c: i.is_multiple_of(3).then_some(36.5),
            pulse_rate_bpm: Some(60 + (i % 50) as u16),
        })
    } else {
        let mut samples = heapless::Vec::new();
        for k in 0..8u64 {
            let _ = samples.push((i * 8 + k) as i32 - 500);
        }
        Record::Waveform(WaveformChunk {
            channel: Channel::ALL[(i % 3) as usize],
            fs_hz: 250,
            first: i * 8,
            samples,
        })
    }
}

/// The acquisition timestamp of frame `i` of a stream whose frame 0 was stamped `base`
/// (the producer uses its ring's creation time: readers reject timestamps far from it).
pub fn timestamp_ns(base: u64, i: u64) -> u64 {
    base + i * 4_000_000
}

/// The `base` of [`timestamp_ns`] implied by frame `i` stamped `ts`.
pub fn base_of(ts: u64, i: u64) -> u64 {
    ts - i * 4_000_000
}
