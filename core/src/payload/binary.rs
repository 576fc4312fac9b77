//! Binary payloads (encoding 1, seed 001): little-endian, unaligned `repr(C)` structs.
//!
//! Vitals — [`VitalsBin`], exactly 16 bytes:
//!
//! | offset | size | field | rule |
//! | --- | --- | --- | --- |
//! | 0 | 1 | `version` | 1 |
//! | 1 | 1 | `present` | bit 0 NIBP, bit 1 temperature, bit 2 pulse rate; other bits 0 |
//! | 2 | 2 | `hr_bpm` | |
//! | 4 | 1 | `spo2_pct` | |
//! | 5 | 1 | `rr_rpm` | |
//! | 6 | 2 | `nibp_sys` | mmHg; 0 when absent |
//! | 8 | 2 | `nibp_dia` | mmHg; 0 when absent |
//! | 10 | 2 | `nibp_map` | mmHg; 0 when absent |
//! | 12 | 2 | `pulse_rate_bpm` | 0 when absent |
//! | 14 | 2 | `temp_centi_c` | i16, hundredths of °C; 0 when absent |
//!
//! Waveform — [`WaveHeaderBin`] (16 bytes) followed by `count` little-endian `i32` samples; the
//! payload is exactly `16 + 4 * count` bytes:
//!
//! | offset | size | field | rule |
//! | --- | --- | --- | --- |
//! | 0 | 1 | `channel` | 1 ecg_ii, 2 pleth, 3 resp |
//! | 1 | 1 | `version` | 1 |
//! | 2 | 2 | `count` | 1..=128 |
//! | 4 | 2 | `fs_hz` | 1..=2000 |
//! | 6 | 2 | `reserved` | 0 |
//! | 8 | 8 | `first` | index of the first sample |

use core::mem::{offset_of, size_of};

use zerocopy::little_endian::{I16, I32, U16, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::{EncodeError, PayloadError};
use crate::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk, MAX_SAMPLES};

/// Binary payload version.
pub const BINARY_VERSION: u8 = 1;
const PRESENT_NIBP: u8 = 1;
const PRESENT_TEMP: u8 = 2;
const PRESENT_PULSE: u8 = 4;

/// Binary vitals payload.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VitalsBin {
    /// [`BINARY_VERSION`].
    pub version: u8,
    /// Presence bits.
    pub present: u8,
    /// Heart rate, bpm.
    pub hr_bpm: U16,
    /// SpO2, %.
    pub spo2_pct: u8,
    /// Respiration rate, /min.
    pub rr_rpm: u8,
    /// NIBP systolic, mmHg.
    pub nibp_sys: U16,
    /// NIBP diastolic, mmHg.
    pub nibp_dia: U16,
    /// NIBP mean, mmHg.
    pub nibp_map: U16,
    /// Pulse rate, bpm.
    pub pulse_rate_bpm: U16,
    /// Temperature, 0.01 °C.
    pub temp_centi_c: I16,
}

const _: () = {
    assert!(size_of::<VitalsBin>() == 16);
    assert!(offset_of!(VitalsBin, hr_bpm) == 2);
    assert!(offset_of!(VitalsBin, spo2_pct) == 4);
    assert!(offset_of!(VitalsBin, nibp_sys) == 6);
    assert!(offset_of!(VitalsBin, pulse_rate_bpm) == 12);
    assert!(offset_of!(VitalsBin, temp_centi_c) == 14);
};

/// Binary waveform header.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct WaveHeaderBin {
    /// Channel code.
    pub channel: u8,
    /// [`BINARY_VERSION`].
    pub version: u8,
    /// Number of samples that follow.
    pub count: U16,
    /// Sample rate, Hz.
    pub fs_hz: U16,
    /// Zero.
    pub reserved: U16,
    /// Index of the first sample.
    pub first: U64,
}

const _: () = {
    assert!(size_of::<WaveHeaderBin>() == 16);
    assert!(offset_of!(WaveHeaderBin, count) == 2);
    assert!(offset_of!(WaveHeaderBin, fs_hz) == 4);
    assert!(offset_of!(WaveHeaderBin, first) == 8);
};

/// Parses a binary vitals payload.
///
/// # Errors
/// [`PayloadError::Length`], [`PayloadError::Version`] or [`PayloadError::Reserved`].
pub fn decode_vitals(payload: &[u8]) -> Result<VitalsRecord, PayloadError> {
    let b = VitalsBin::read_from_bytes(payload).map_err(|_| PayloadError::Length {
        expected: size_of::<VitalsBin>(),
        actual: payload.len(),
    })?;
    if b.version != BINARY_VERSION {
        return Err(PayloadError::Version(b.version));
    }
    if b.present & !(PRESENT_NIBP | PRESENT_TEMP | PRESENT_PULSE) != 0 {
        return Err(PayloadError::Reserved);
    }
    let has = |bit: u8| b.present & bit != 0;
    let nibp_raw = [b.nibp_sys.get(), b.nibp_dia.get(), b.nibp_map.get()];
    let nibp = if has(PRESENT_NIBP) {
        Some(Nibp {
            systolic_mmhg: nibp_raw[0],
            diastolic_mmhg: nibp_raw[1],
            mean_mmhg: nibp_raw[2],
        })
    } else if nibp_raw != [0; 3] {
        return Err(PayloadError::Reserved);
    } else {
        None
    };
    let temp_c = match (has(PRESENT_TEMP), b.temp_centi_c.get()) {
        (true, t) => Some(f32::from(t) / 100.0),
        (false, 0) => None,
        (false, _) => return Err(PayloadError::Reserved),
    };
    let pulse_rate_bpm = match (has(PRESENT_PULSE), b.pulse_rate_bpm.get()) {
        (true, p) => Some(p),
        (false, 0) => None,
        (false, _) => return Err(PayloadError::Reserved),
    };
    Ok(VitalsRecord {
        hr_bpm: b.hr_bpm.get(),
        spo2_pct: b.spo2_pct,
        rr_rpm: b.rr_rpm,
        nibp,
        temp_c,
        pulse_rate_bpm,
    })
}

/// Parses a binary waveform payload.
///
/// # Errors
/// [`PayloadError::Length`], [`PayloadError::Version`], [`PayloadError::Channel`],
/// [`PayloadError::Reserved`] or [`PayloadError::TooManySamples`].
pub fn decode_waveform(payload: &[u8]) -> Result<WaveformChunk, PayloadError> {
    let (h, rest) = WaveHeaderBin::read_from_prefix(payload).map_err(|_| PayloadError::Length {
        expected: size_of::<WaveHeaderBin>(),
        actual: payload.len(),
    })?;
    if h.version != BINARY_VERSION {
        return Err(PayloadError::Version(h.version));
    }
    let channel = Channel::try_from(h.channel).map_err(PayloadError::Channel)?;
    if h.reserved.get() != 0 {
        return Err(PayloadError::Reserved);
    }
    let count = usize::from(h.count.get());
    if count > MAX_SAMPLES {
        return Err(PayloadError::TooManySamples(count));
    }
    let samples = <[I32]>::ref_from_bytes(rest)
        .ok()
        .filter(|s| s.len() == count)
        .ok_or(PayloadError::Length {
            expected: size_of::<WaveHeaderBin>() + 4 * count,
            actual: payload.len(),
        })?;
    let mut out = heapless::Vec::new();
    for s in samples {
        // Cannot fail: count <= MAX_SAMPLES was checked above.
        out.push(s.get())
            .map_err(|_| PayloadError::TooManySamples(count))?;
    }
    Ok(WaveformChunk {
        channel,
        fs_hz: h.fs_hz.get(),
        first: h.first.get(),
        samples: out,
    })
}

/// Writes a vitals record in the binary layout.
///
/// # Errors
/// [`EncodeError::BufferFull`].
pub fn encode_vitals(v: &VitalsRecord, out: &mut [u8]) -> Result<usize, EncodeError> {
    let nibp = v.nibp.unwrap_or_default();
    let temp = v.temp_c.map_or(0, |t| {
        // Validated to 25..=45 °C by the caller, so this fits an i16 (2500..=4500).
        let centi = t * 100.0;
        (if centi >= 0.0 {
            centi + 0.5
        } else {
            centi - 0.5
        }) as i16
    });
    let b = VitalsBin {
        version: BINARY_VERSION,
        present: (if v.nibp.is_some() { PRESENT_NIBP } else { 0 })
            | (if v.temp_c.is_some() { PRESENT_TEMP } else { 0 })
            | (if v.pulse_rate_bpm.is_some() {
                PRESENT_PULSE
            } else {
                0
            }),
        hr_bpm: U16::new(v.hr_bpm),
        spo2_pct: v.spo2_pct,
        rr_rpm: v.rr_rpm,
        nibp_sys: U16::new(nibp.systolic_mmhg),
        nibp_dia: U16::new(nibp.diastolic_mmhg),
        nibp_map: U16::new(nibp.mean_mmhg),
        pulse_rate_bpm: U16::new(v.pulse_rate_bpm.unwrap_or(0)),
        temp_centi_c: I16::new(temp),
    };
    b.write_to_prefix(out)
        .map_err(|_| EncodeError::BufferFull)?;
    Ok(size_of::<VitalsBin>())
}

/// Writes a waveform chunk in the binary layout.
///
/// # Errors
/// [`EncodeError::BufferFull`].
pub fn encode_waveform(w: &WaveformChunk, out: &mut [u8]) -> Result<usize, EncodeError> {
    let len = size_of::<WaveHeaderBin>() + 4 * w.samples.len();
    let out = out.get_mut(..len).ok_or(EncodeError::BufferFull)?;
    let h = WaveHeaderBin {
        channel: w.channel.code(),
        version: BINARY_VERSION,
        count: U16::new(w.samples.len() as u16),
        fs_hz: U16::new(w.fs_hz),
        reserved: U16::new(0),
        first: U64::new(w.first),
    };
    let (head, body) = out.split_at_mut(size_of::<WaveHeaderBin>());
    head.copy_from_slice(h.as_bytes());
    for (dst, s) in body.chunks_exact_mut(4).zip(w.samples.iter()) {
        dst.copy_from_slice(&s.to_le_bytes());
    }
    Ok(len)
}
