//! The `SensorDataSource` contract (seed 000's `ISensorDataSource`, in Rust idiom).
//!
//! A data source turns some transport (the shared-memory ring, a scripted mock, a replay) into
//! [`SensorEvent`]s. Consumers such as a monitoring service depend only on this trait.

use crate::frame::RejectReason;
use crate::payload::PayloadError;
use crate::vitals::{VitalsRecord, WaveformChunk};

/// Connection state of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectionState {
    /// Handshake in progress.
    Connecting,
    /// Mapped and receiving.
    Connected,
    /// The producer's heartbeat stopped; data is paused.
    Stalled,
    /// Looking for a (restarted) producer.
    Reconnecting,
    /// Stopped or failed.
    Disconnected,
}

impl ConnectionState {
    /// Lower-case name, as used in JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Stalled => "stalled",
            Self::Reconnecting => "reconnecting",
            Self::Disconnected => "disconnected",
        }
    }
}

/// What went wrong, for [`SensorError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SensorErrorKind {
    /// The producer's heartbeat stopped moving.
    Stalled,
    /// A frame failed its CRC.
    Crc,
    /// Frames were lost in the ring (lapped or overwritten while read).
    Dropped,
    /// Frames were read and valid, but their events were lost because the consumer did not
    /// take them fast enough (a data source's bounded event queue overflowed).
    EventsLost,
    /// A frame's values were out of physiological range.
    InvalidValue,
    /// A frame's payload was malformed.
    MalformedPayload,
    /// A frame broke the slot rules (sequence, size, padding, type, encoding).
    InvalidFrame,
    /// The handshake with the producer failed.
    Handshake,
    /// The ring header was invalid or changed under the reader.
    Header,
}

impl SensorErrorKind {
    /// Lower-case name, as used in JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Stalled => "stalled",
            Self::Crc => "crc",
            Self::Dropped => "dropped",
            Self::EventsLost => "events_lost",
            Self::InvalidValue => "invalid_value",
            Self::MalformedPayload => "malformed_payload",
            Self::InvalidFrame => "invalid_frame",
            Self::Handshake => "handshake_failed",
            Self::Header => "header",
        }
    }

    /// The kind a rejected frame is reported as.
    pub fn of_rejection(reason: &RejectReason) -> Self {
        match reason {
            RejectReason::Crc { .. } => Self::Crc,
            RejectReason::Payload(PayloadError::Range(_)) => Self::InvalidValue,
            RejectReason::Payload(_) => Self::MalformedPayload,
            _ => Self::InvalidFrame,
        }
    }
}

/// A reportable problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SensorError {
    /// What kind.
    pub kind: SensorErrorKind,
    /// The ring index concerned, if one.
    pub index: Option<u64>,
    /// How many frames (for drops), else 1.
    pub count: u64,
    /// For stalls: reader time since the heartbeat last moved, ns.
    pub heartbeat_age_ns: Option<u64>,
    /// For rejections: the reason.
    pub reason: Option<RejectReason>,
}

impl SensorError {
    /// An error of `kind` with no details.
    pub const fn new(kind: SensorErrorKind) -> Self {
        Self {
            kind,
            index: None,
            count: 1,
            heartbeat_age_ns: None,
            reason: None,
        }
    }
}

/// An event from a data source.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no_std and no alloc: records are fixed-capacity values moved by copy, never boxed"
)]
pub enum SensorEvent {
    /// A vitals frame (seed 000's `vitalsReceived`).
    Vitals {
        /// Acquisition time, ns since the Unix epoch.
        timestamp_ns: u64,
        /// Ring index.
        index: u64,
        /// The values.
        record: VitalsRecord,
    },
    /// A waveform chunk (seed 000's `waveformSampleReady`).
    Waveform {
        /// Acquisition time of the first sample, ns since the Unix epoch.
        timestamp_ns: u64,
        /// Ring index.
        index: u64,
        /// The samples.
        chunk: WaveformChunk,
    },
    /// The connection state changed (seed 000's `connectionStatusChanged`).
    Connection {
        /// New state.
        state: ConnectionState,
        /// Producer epoch, when known.
        epoch: Option<u64>,
    },
    /// A problem (seed 000's `sensorError`).
    Error(SensorError),
}

/// Static facts about a data source (seed 000's `DataSourceInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSourceInfo {
    /// Implementation name, e.g. `"shared-memory"` or `"mock"`.
    pub kind: &'static str,
    /// Channel or ring name.
    pub channel: heapless::String<64>,
    /// Producer epoch, once attached.
    pub epoch: Option<u64>,
    /// Slot size, once attached.
    pub frame_size: Option<u32>,
    /// Slot count, once attached.
    pub frame_count: Option<u32>,
}

/// A source of sensor events.
pub trait SensorDataSource {
    /// Why `start` failed.
    type Error: core::fmt::Debug + core::fmt::Display;

    /// Connects and begins producing events. Calling it while active is a no-op.
    ///
    /// # Errors
    /// Implementation-specific (e.g. the handshake failed).
    fn start(&mut self) -> Result<(), Self::Error>;

    /// Stops producing events and releases the transport. Idempotent.
    fn stop(&mut self);

    /// Whether the source is started and not stopped.
    fn is_active(&self) -> bool;

    /// Static facts.
    fn info(&self) -> DataSourceInfo;

    /// Hands every event ready now to `sink`, in order, and returns how many.
    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize;
}
