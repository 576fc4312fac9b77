//! The recording's file layout: every group, dataset and attribute name, the fill values and
//! the event kinds. `docs/recording.md` restates this; the writer ([`crate::h5`]) and the
//! readers (replay, export) use only these names.

use vitalring_core::vitals::Channel;

/// Root attribute `format`.
pub const FORMAT: &str = "vitalring-recording";
/// Root attribute `format_version`: bumped on any incompatible layout change.
pub const FORMAT_VERSION: u32 = 1;

/// Fill for an absent unsigned 16-bit vital (NIBP, pulse rate): outside every valid range
/// (all are at most 300), so it can never be mistaken for a measurement.
pub const FILL_U16: u16 = u16::MAX;
/// Fill for an absent temperature: NaN (never a valid temperature).
pub const FILL_TEMP: f32 = f32::NAN;

/// Rows per HDF5 chunk of every extendable dataset (one chunk of `int32` samples is 16 KiB,
/// ≈ 16 s of one 250 Hz channel).
pub const CHUNK_ROWS: usize = 4096;

/// Fixed length of the events table's `kind` strings (ASCII, NUL-padded).
pub const KIND_LEN: usize = 24;
/// Fixed length of the events table's `detail` strings (ASCII, NUL-padded, cut if longer).
pub const DETAIL_LEN: usize = 96;

/// Group of the vitals columns.
pub const VITALS: &str = "vitals";
/// Group of the waveform channels (one sub-group per channel).
pub const WAVEFORMS: &str = "waveforms";
/// Group of the events columns.
pub const EVENTS: &str = "events";
/// Group of the producer epochs columns.
pub const EPOCHS: &str = "epochs";

/// Sub-group of a waveform channel holding one row per waveform frame.
pub const CHUNKS: &str = "chunks";
/// Sub-group of a waveform channel holding one row per contiguous run of samples.
pub const SEGMENTS: &str = "segments";
/// Dataset of a waveform channel holding every sample, in order.
pub const SAMPLES: &str = "samples";

/// The unit of a channel's samples (the `units` attribute).
pub const fn units(channel: Channel) -> &'static str {
    match channel {
        Channel::EcgII => "uV",
        Channel::Pleth => "arbitrary perfusion units",
        Channel::Resp => "mOhm (deviation from baseline)",
    }
}

/// What an events row says. The `kind` column holds [`EventKind::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The connection state changed; `detail` is the new state (`connected`, `stalled`,
    /// `producer_stopped`, `reconnecting`, ...).
    Connection,
    /// A new producer epoch starts here; `epoch` is it, `first` its first ring index.
    Epoch,
    /// The producer's heartbeat stopped; `detail` says for how long.
    Stalled,
    /// Ring indices `first .. first + count` were lost (lapped or overwritten); `detail` is
    /// the cause.
    Dropped,
    /// Frames `first .. first + count` were rejected; `detail` is `<kind>: <first reason>`.
    Rejected,
    /// A waveform channel's samples do not continue: `first` is the sample index expected,
    /// `count` how many are missing (0 when the index went backwards or the epoch changed);
    /// `detail` names the channel.
    WaveformGap,
    /// The ring header or `writeIndex` was faulty; the recorder re-attached.
    HeaderFault,
    /// A re-handshake failed; `detail` says why.
    HandshakeFailed,
    /// The recording was started (`detail`: the socket) or stopped (`detail`: why).
    Recorder,
}

impl EventKind {
    /// The name stored in the `kind` column.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Epoch => "epoch",
            Self::Stalled => "stalled",
            Self::Dropped => "dropped",
            Self::Rejected => "rejected",
            Self::WaveformGap => "waveform_gap",
            Self::HeaderFault => "header_fault",
            Self::HandshakeFailed => "handshake_failed",
            Self::Recorder => "recorder",
        }
    }
}

/// A channel's group path, e.g. `waveforms/ecg_ii`.
pub fn channel_group(channel: Channel) -> String {
    format!("{WAVEFORMS}/{}", channel.name())
}
