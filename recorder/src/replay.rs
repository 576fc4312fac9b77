//! Replay planning: the frames of a [`Recording`] in their original order, with their original
//! acquisition times, rebuilt as core records on demand (a plan costs 24 bytes per frame, not
//! a decoded record each).
//!
//! Order: epoch by epoch (the epochs table's order), and within an epoch by ring index — the
//! order the producer published them in. Heartbeat frames were not stored and are not
//! replayed (the replaying producer beats on its own).

use vitalring_core::payload::Record;
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};
use vitalring_core::Encoding;

use crate::h5::Recording;
use crate::layout::FILL_U16;

/// Which stored row a planned frame comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A row of the vitals table.
    Vitals(usize),
    /// A row of a waveform channel's chunks table (channel in [`Channel::ALL`] order).
    Chunk(usize, usize),
}

/// One frame to republish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Its original acquisition time, ns since the Unix epoch.
    pub time_ns: u64,
    /// Where it is stored.
    pub row: Row,
}

/// Why a stored row cannot be rebuilt into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowError {
    /// A chunk row points outside the samples dataset, or holds more than a frame can.
    Samples,
    /// An unknown encoding byte.
    Encoding(u8),
}

impl core::fmt::Display for RowError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Samples => write!(f, "a waveform row points outside its samples"),
            Self::Encoding(e) => write!(f, "unknown payload encoding {e}"),
        }
    }
}

impl std::error::Error for RowError {}

/// Every stored frame in publication order (see the module docs).
pub fn plan(rec: &Recording) -> Vec<Planned> {
    let t = &rec.tables;
    let order = |epoch: u64| {
        t.epochs
            .epoch
            .iter()
            .position(|&e| e == epoch)
            .unwrap_or(usize::MAX)
    };
    let mut keyed: Vec<((usize, u64), Planned)> = Vec::new();
    for i in 0..t.vitals.rows() {
        keyed.push((
            (order(t.vitals.epoch[i]), t.vitals.index[i]),
            Planned {
                time_ns: t.vitals.time_ns[i],
                row: Row::Vitals(i),
            },
        ));
    }
    for (k, w) in t.waves.iter().enumerate() {
        for i in 0..w.chunks.rows() {
            keyed.push((
                (order(w.chunks.epoch[i]), w.chunks.index[i]),
                Planned {
                    time_ns: w.chunks.time_ns[i],
                    row: Row::Chunk(k, i),
                },
            ));
        }
    }
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, p)| p).collect()
}

fn opt(v: u16) -> Option<u16> {
    (v != FILL_U16).then_some(v)
}

/// The record and encoding of a planned frame, as the producer published it.
///
/// # Errors
/// [`RowError`] for a row that does not describe a valid frame.
pub fn rebuild(rec: &Recording, row: Row) -> Result<(Record, Encoding), RowError> {
    let t = &rec.tables;
    match row {
        Row::Vitals(i) => {
            let v = &t.vitals;
            let nibp = match (
                opt(v.nibp_systolic_mmhg[i]),
                opt(v.nibp_diastolic_mmhg[i]),
                opt(v.nibp_mean_mmhg[i]),
            ) {
                (Some(s), Some(d), Some(m)) => Some(Nibp {
                    systolic_mmhg: s,
                    diastolic_mmhg: d,
                    mean_mmhg: m,
                }),
                _ => None,
            };
            let temp = v.temp_c[i];
            let record = Record::Vitals(VitalsRecord {
                hr_bpm: v.hr_bpm[i],
                spo2_pct: v.spo2_pct[i],
                rr_rpm: v.rr_rpm[i],
                nibp,
                temp_c: (!temp.is_nan()).then_some(temp),
                pulse_rate_bpm: opt(v.pulse_rate_bpm[i]),
            });
            let enc = Encoding::try_from(v.encoding[i]).map_err(RowError::Encoding)?;
            Ok((record, enc))
        }
        Row::Chunk(k, i) => {
            let w = &t.waves[k];
            let c = &w.chunks;
            let start = usize::try_from(c.offset[i]).map_err(|_| RowError::Samples)?;
            let end = start.saturating_add(usize::from(c.count[i]));
            let slice = w.samples.get(start..end).ok_or(RowError::Samples)?;
            if slice.len() > MAX_SAMPLES {
                return Err(RowError::Samples);
            }
            let mut samples = heapless::Vec::new();
            for &s in slice {
                samples.push(s).map_err(|_| RowError::Samples)?;
            }
            let record = Record::Waveform(WaveformChunk {
                channel: Channel::ALL[k],
                fs_hz: c.sample_rate_hz[i],
                first: c.first_sample_index[i],
                samples,
            });
            let enc = Encoding::try_from(c.encoding[i]).map_err(RowError::Encoding)?;
            Ok((record, enc))
        }
    }
}
