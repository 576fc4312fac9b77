//! Payload codecs: what the `data` bytes of a frame mean.
//!
//! | frame type | JSON (`encoding` 0, seed 000) | binary (`encoding` 1, seed 001) |
//! | --- | --- | --- |
//! | vitals | [`json`]: `{"hr":72,"spo2":98,"rr":14,...}` | [`binary::VitalsBin`] |
//! | waveform | [`json`]: `{"ch":"ecg_ii","fs":250,"first":0,"samples":[...]}` | [`binary::WaveHeaderBin`] + samples |
//! | heartbeat | payload ignored (the writer sends none) | same |
//!
//! Decoding never allocates, rejects malformed input with a [`PayloadError`], and range-checks
//! every value ([`crate::vitals`]); encoding writes into a caller's buffer.

pub mod binary;
pub mod json;

use crate::layout::{Encoding, FrameType};
use crate::vitals::{Field, VitalsRecord, WaveformChunk};

/// Largest payload [`encode`] produces for any record (a 128-sample JSON chunk of 11-character
/// numbers fits).
pub const MAX_ENCODED_LEN: usize = 1700;

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(
    clippy::large_enum_variant,
    reason = "no_std and no alloc: records are fixed-capacity values moved by copy, never boxed"
)]
pub enum Record {
    /// Vital-sign numerics.
    Vitals(VitalsRecord),
    /// Waveform samples.
    Waveform(WaveformChunk),
    /// A sign of life.
    Heartbeat,
}

impl Record {
    /// The frame type that carries this record.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Self::Vitals(_) => FrameType::Vitals,
            Self::Waveform(_) => FrameType::Waveform,
            Self::Heartbeat => FrameType::Heartbeat,
        }
    }
}

/// Why a payload is not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PayloadError {
    /// Not valid JSON for the record: not UTF-8, a syntax error, anything but whitespace after
    /// the value, nested too deep, an escaped key, the integer `-0`, a missing or duplicate
    /// field, a wrong type, a number out of its integer type, an unknown channel name, too
    /// many samples.
    Json(json::JsonError),
    /// NIBP with some but not all of systolic, diastolic and mean.
    PartialNibp,
    /// A binary payload of the wrong length.
    Length {
        /// What the layout needs.
        expected: usize,
        /// What the frame has.
        actual: usize,
    },
    /// A binary payload's version byte is not 1.
    Version(u8),
    /// A binary channel code that is not 1, 2 or 3.
    Channel(u8),
    /// A reserved field or an absent value is not zero, or an unknown presence bit is set.
    Reserved,
    /// More than [`crate::vitals::MAX_SAMPLES`] samples.
    TooManySamples(usize),
    /// A value outside its physiological range.
    Range(Field),
}

impl core::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "malformed json payload: {e}"),
            Self::PartialNibp => write!(f, "nibp needs systolic, diastolic and mean together"),
            Self::Length { expected, actual } => {
                write!(f, "binary payload is {actual} bytes, expected {expected}")
            }
            Self::Version(v) => write!(f, "unsupported binary payload version {v}"),
            Self::Channel(c) => write!(f, "unknown waveform channel code {c}"),
            Self::Reserved => write!(f, "reserved payload field is not zero"),
            Self::TooManySamples(n) => write!(f, "{n} samples exceed the chunk limit"),
            Self::Range(field) => write!(f, "{field} out of range"),
        }
    }
}

impl core::error::Error for PayloadError {}

impl PayloadError {
    /// True for a well-formed payload whose value is out of range (as opposed to malformed).
    pub fn is_range(&self) -> bool {
        matches!(self, Self::Range(_))
    }
}

/// Why a record could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferFull,
    /// The record itself is invalid (a writer never publishes what a reader would reject).
    Invalid(Field),
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferFull => write!(f, "payload does not fit the buffer"),
            Self::Invalid(field) => write!(f, "refusing to encode: {field} out of range"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Decodes and validates the payload of a frame of type `frame_type`.
///
/// # Errors
/// [`PayloadError`] for malformed payloads and out-of-range values.
pub fn decode(
    frame_type: FrameType,
    encoding: Encoding,
    payload: &[u8],
) -> Result<Record, PayloadError> {
    let record = match (frame_type, encoding) {
        (FrameType::Heartbeat, _) => return Ok(Record::Heartbeat),
        (FrameType::Vitals, Encoding::Json) => Record::Vitals(json::decode_vitals(payload)?),
        (FrameType::Vitals, Encoding::Binary) => Record::Vitals(binary::decode_vitals(payload)?),
        (FrameType::Waveform, Encoding::Json) => Record::Waveform(json::decode_waveform(payload)?),
        (FrameType::Waveform, Encoding::Binary) => {
            Record::Waveform(binary::decode_waveform(payload)?)
        }
    };
    match &record {
        Record::Vitals(v) => v.validate().map_err(PayloadError::Range)?,
        Record::Waveform(w) => w.validate().map_err(PayloadError::Range)?,
        Record::Heartbeat => {}
    }
    Ok(record)
}

/// Encodes `record` into `out` and returns the payload length (0 for a heartbeat).
///
/// # Errors
/// [`EncodeError::Invalid`] if the record would fail validation, [`EncodeError::BufferFull`]
/// if `out` is too small.
pub fn encode(record: &Record, encoding: Encoding, out: &mut [u8]) -> Result<usize, EncodeError> {
    match record {
        Record::Heartbeat => Ok(0),
        Record::Vitals(v) => {
            v.validate().map_err(EncodeError::Invalid)?;
            match encoding {
                Encoding::Json => json::encode_vitals(v, out),
                Encoding::Binary => binary::encode_vitals(v, out),
            }
        }
        Record::Waveform(w) => {
            w.validate().map_err(EncodeError::Invalid)?;
            match encoding {
                Encoding::Json => json::encode_waveform(w, out),
                Encoding::Binary => binary::encode_waveform(w, out),
            }
        }
    }
}
