//! The `SensorDataSource` contract (seed 000's `ISensorDataSource`, in Rust idiom).
//!
//! A data source turns some transport (the shared-memory ring, a scripted mock, a replay) into
//! [`SensorEvent`]s. Consumers such as a monitoring service depend only on this trait.

use crate::frame::RejectReason;
use crate::layout::HeaderError;
use crate::payload::PayloadError;
use crate::slot::{DropCause, IndexFault};
use crate::time::{Nanos, UnixNs};
use crate::vitals::{VitalsRecord, WaveformChunk};

/// Connection state of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectionState {
    /// Handshake in progress (or waiting for a busy or absent producer).
    Connecting,
    /// Mapped and receiving.
    Connected,
    /// The producer's heartbeat stopped; data is paused.
    Stalled,
    /// The producer said it stopped (a clean exit); waiting for a new one.
    Stopped,
    /// Re-attaching: to a restarted producer, or after a header fault.
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
            Self::Stopped => "producer_stopped",
            Self::Reconnecting => "reconnecting",
            Self::Disconnected => "disconnected",
        }
    }
}

/// What kind of problem a [`SensorError`] is (for counting and JSON names).
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
    /// A frame broke the slot rules (sequence, size, padding, type, encoding, timestamp).
    InvalidFrame,
    /// The handshake with the producer failed.
    Handshake,
    /// The ring header, or `writeIndex`, is invalid or changed under the reader.
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

/// What was wrong with a ring's header or `writeIndex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderFault {
    /// The header became invalid or was rewritten.
    Header(HeaderError),
    /// `writeIndex` went backwards or jumped implausibly far.
    Index(IndexFault),
}

impl core::fmt::Display for HeaderFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Header(e) => write!(f, "{e}"),
            Self::Index(e) => write!(f, "{e}"),
        }
    }
}

/// Why a (re-)handshake failed, as far as a platform-independent consumer needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HandshakeProblem {
    /// The producer refused this reader (credentials, token, channel, version).
    Refused,
    /// The producer is not one this reader trusts (wrong owner, unsafe directory).
    Untrusted,
    /// The producer offered a ring the reader will not map or read.
    BadRing,
    /// Anything else (I/O, protocol).
    Other,
}

/// A reportable problem; each kind carries exactly its own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SensorError {
    /// The producer's heartbeat has not moved for `heartbeat_age` of reader time.
    Stalled {
        /// Reader time since the heartbeat last moved.
        heartbeat_age: Nanos,
    },
    /// `count` consecutive indices starting at `first` were lost in the ring.
    Dropped {
        /// First lost index.
        first: u64,
        /// How many.
        count: u64,
        /// Why (of the first run, when runs of both causes were merged).
        cause: DropCause,
    },
    /// `count` consecutive frames starting at `first` were rejected for the same kind of
    /// reason; `reason` is the first one's.
    Rejected {
        /// First rejected index.
        first: u64,
        /// How many.
        count: u64,
        /// The first frame's reason.
        reason: RejectReason,
    },
    /// `count` valid events never reached the consumer (it fell behind); the counters still
    /// include them.
    EventsLost {
        /// How many.
        count: u64,
    },
    /// The header or `writeIndex` is wrong; the reader re-attaches.
    Header(HeaderFault),
    /// A (re-)handshake failed.
    Handshake(HandshakeProblem),
}

impl SensorError {
    /// The kind, for counting and JSON.
    pub fn kind(&self) -> SensorErrorKind {
        match self {
            Self::Stalled { .. } => SensorErrorKind::Stalled,
            Self::Dropped { .. } => SensorErrorKind::Dropped,
            Self::Rejected { reason, .. } => SensorErrorKind::of_rejection(reason),
            Self::EventsLost { .. } => SensorErrorKind::EventsLost,
            Self::Header(_) => SensorErrorKind::Header,
            Self::Handshake(_) => SensorErrorKind::Handshake,
        }
    }

    /// Frames (or events) this report stands for: the run length, else 1.
    pub fn count(&self) -> u64 {
        match self {
            Self::Dropped { count, .. }
            | Self::Rejected { count, .. }
            | Self::EventsLost { count } => *count,
            _ => 1,
        }
    }
}

impl core::fmt::Display for SensorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Stalled { heartbeat_age } => {
                write!(f, "producer stalled: heartbeat age {heartbeat_age}")
            }
            Self::Dropped { first, count, .. } => {
                write!(f, "{count} frame(s) dropped from index {first}")
            }
            Self::Rejected {
                first,
                count,
                reason,
            } => write!(f, "{count} frame(s) rejected from index {first}: {reason}"),
            Self::EventsLost { count } => write!(f, "{count} event(s) lost by a slow consumer"),
            Self::Header(h) => write!(f, "ring fault: {h}"),
            Self::Handshake(p) => write!(f, "handshake failed: {p:?}"),
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
    /// A vitals frame (the patient monitor's "vitals received").
    Vitals {
        /// Acquisition time.
        timestamp: UnixNs,
        /// Ring index.
        index: u64,
        /// The values.
        record: VitalsRecord,
    },
    /// A waveform chunk.
    Waveform {
        /// Acquisition time of the first sample.
        timestamp: UnixNs,
        /// Ring index.
        index: u64,
        /// The samples.
        chunk: WaveformChunk,
    },
    /// The connection state changed.
    Connection {
        /// New state.
        state: ConnectionState,
        /// Producer epoch, when known.
        epoch: Option<u64>,
    },
    /// A problem.
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

    /// The session's counters and state right now (`None` before the first attach). These
    /// are exact; events are a convenience that a slow consumer may lose.
    fn stats(&self) -> Option<crate::session::SessionStats>;
}
