//! # vitalring C API
//!
//! A reader of a vitalring producer for C programs: one opaque handle
//! ([`vitalring_reader`]) around the Linux reader session ([`vitalring_linux::LiveReader`] —
//! the handshake, the core session's checks, counters, stall detection and re-attach), and
//! caller-owned `#[repr(C)]` structs that the library fills in. The header
//! `capi/include/vitalring.h` is generated from this file by cbindgen (`capi/cbindgen.toml`)
//! and checked in; the test `tests/header.rs` fails when it is stale.
//!
//! Rules every entry point keeps:
//! - a null or misaligned pointer is rejected with [`VITALRING_E_NULL`], never dereferenced;
//! - no Rust panic crosses the boundary: each body runs under `catch_unwind`, a panic becomes
//!   [`VITALRING_E_PANIC`] and poisons the handle (every later call on it returns the same);
//! - the read path ([`vitalring_read`], [`vitalring_try_read`], [`vitalring_get_stats`]) does not
//!   allocate: the event queue is allocated by [`vitalring_connect`].
//!
//! Ownership and thread-safety are documented per function and in `docs/c-api.md`.
//!
//! For Rust consumers (the Python package) the crate also exports [`pump`] — the read loop
//! behind the C API — and [`history`].
#![deny(missing_docs)]

pub mod history;
pub mod pump;

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use vitalring_core::session::SessionStats;
use vitalring_core::slot::{DropCause, LapPolicy, Start};
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::vitals::VitalsRecord;
use vitalring_core::Record;
use vitalring_linux::client::HandshakeError;
use vitalring_linux::{Polling, SourceConfig, SourceError, Token};

use crate::pump::{Pump, WaitEnd};
use vitalring_core::frame::FrameView;

// ---------------------------------------------------------------------------------------------
// Status codes

/// Success; the output struct was filled in.
pub const VITALRING_OK: c_int = 0;
/// Not an error: no event arrived (non-blocking read: nothing ready; blocking read: the
/// timeout elapsed). The event struct is untouched.
pub const VITALRING_NO_EVENT: c_int = 1;
/// A required pointer is null or misaligned.
pub const VITALRING_E_NULL: c_int = -1;
/// An option is invalid (not UTF-8, bad channel name, unknown enum value).
pub const VITALRING_E_INVALID_ARGUMENT: c_int = -2;
/// No producer is serving the socket (no socket file, stale socket, timeout).
pub const VITALRING_E_NO_PRODUCER: c_int = -3;
/// The producer refused this reader (token, uid, channel, version).
pub const VITALRING_E_REFUSED: c_int = -4;
/// Permission denied connecting to the socket.
pub const VITALRING_E_PERMISSION: c_int = -5;
/// The producer offered a ring this reader will not map (not a sealed memfd, wrong size, bad
/// header) or broke the handshake protocol.
pub const VITALRING_E_BAD_RING: c_int = -6;
/// Another error during the handshake (socket I/O).
pub const VITALRING_E_HANDSHAKE: c_int = -7;
/// The token file is unusable (missing, not a regular file of yours, mode not 0600, size).
pub const VITALRING_E_TOKEN: c_int = -8;
/// A Rust panic was caught (a bug in vitalring); the handle is poisoned.
pub const VITALRING_E_PANIC: c_int = -9;

/// `timeout_ms` of [`vitalring_read`] that means "wait for ever".
pub const VITALRING_WAIT_FOREVER: u32 = u32::MAX;

// Option values.

/// Lap policy: jump to the newest frame when lapped (a live display).
pub const VITALRING_LAP_LATEST: u32 = 0;
/// Lap policy: jump to the oldest frame the ring still holds (a recorder).
pub const VITALRING_LAP_OLDEST: u32 = 1;
/// Start with the next frame the producer publishes.
pub const VITALRING_START_NEXT: u32 = 0;
/// Start with the newest frame already published.
pub const VITALRING_START_LATEST: u32 = 1;
/// Start with the oldest frame the ring holds.
pub const VITALRING_START_OLDEST: u32 = 2;

// Event kinds.

/// [`vitalring_event::vitals`] is valid.
pub const VITALRING_EVENT_VITALS: u32 = 1;
/// [`vitalring_event::waveform`] is valid.
pub const VITALRING_EVENT_WAVEFORM: u32 = 2;
/// [`vitalring_event::connection`] is valid.
pub const VITALRING_EVENT_CONNECTION: u32 = 3;
/// [`vitalring_event::problem`] is valid.
pub const VITALRING_EVENT_PROBLEM: u32 = 4;

// Connection states.

/// Handshake in progress.
pub const VITALRING_STATE_CONNECTING: u32 = 1;
/// Mapped and receiving.
pub const VITALRING_STATE_CONNECTED: u32 = 2;
/// The producer's heartbeat stopped (more than the stall timeout); data is paused. The
/// reader recovers by itself when it moves again or a new producer appears.
pub const VITALRING_STATE_STALLED: u32 = 3;
/// The producer exited cleanly; every frame it published was read. A new producer on the same
/// socket is attached automatically.
pub const VITALRING_STATE_STOPPED: u32 = 4;
/// Re-attaching (to a restarted producer, or after a ring fault).
pub const VITALRING_STATE_RECONNECTING: u32 = 5;
/// Not connected.
pub const VITALRING_STATE_DISCONNECTED: u32 = 6;

// Problem kinds (the same names as `vitalring monitor --json`).

/// The heartbeat stopped; `heartbeat_age_ns` says for how long.
pub const VITALRING_PROBLEM_STALLED: u32 = 1;
/// `count` frames from `first` failed their CRC.
pub const VITALRING_PROBLEM_CRC: u32 = 2;
/// `count` frames from `first` were lost in the ring; `detail` is a `VITALRING_DROP_*`.
pub const VITALRING_PROBLEM_DROPPED: u32 = 3;
/// `count` events did not fit the reader's queue (their frames are in the counters).
pub const VITALRING_PROBLEM_EVENTS_LOST: u32 = 4;
/// `count` frames from `first` carried values out of physiological range.
pub const VITALRING_PROBLEM_INVALID_VALUE: u32 = 5;
/// `count` frames from `first` had a malformed payload.
pub const VITALRING_PROBLEM_MALFORMED_PAYLOAD: u32 = 6;
/// `count` frames from `first` broke the slot rules (sequence, size, padding, type, encoding,
/// timestamp).
pub const VITALRING_PROBLEM_INVALID_FRAME: u32 = 7;
/// A re-handshake failed.
pub const VITALRING_PROBLEM_HANDSHAKE: u32 = 8;
/// The ring header or `writeIndex` is wrong; the reader re-attaches.
pub const VITALRING_PROBLEM_HEADER: u32 = 9;

/// Dropped because the producer lapped the reader.
pub const VITALRING_DROP_LAPPED: u32 = 1;
/// Dropped because the slot was rewritten while being read.
pub const VITALRING_DROP_OVERWRITTEN: u32 = 2;

/// Most samples in one waveform chunk.
pub const VITALRING_MAX_SAMPLES: usize = 128;
/// Size of [`vitalring_problem::message`], NUL included.
pub const VITALRING_MESSAGE_LEN: usize = 128;

// ---------------------------------------------------------------------------------------------
// Structs

/// How to connect. Fill with [`vitalring_options_init`], then change what you need. The
/// strings are only read during [`vitalring_connect`] and stay the caller's.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct vitalring_options {
    /// Control socket path, NUL-terminated; NULL: the default path of `channel`
    /// (`$XDG_RUNTIME_DIR/vitalring/<channel>.sock`, else `/tmp/vitalring-<uid>/<channel>.sock`).
    pub socket_path: *const c_char,
    /// Channel name; NULL: `"default"`.
    pub channel: *const c_char,
    /// Token file (a 0600 file of yours); NULL: no token.
    pub token_file: *const c_char,
    /// `VITALRING_LAP_LATEST` (default) or `VITALRING_LAP_OLDEST`.
    pub lap_policy: u32,
    /// `VITALRING_START_NEXT` (default), `_LATEST` or `_OLDEST`.
    pub start: u32,
    /// 0: spin, yield, then sleep at most `max_sleep_us` while waiting (default); 1: spin only.
    pub busy_poll: u32,
    /// Longest backoff sleep, µs (default 50).
    pub max_sleep_us: u32,
    /// Heartbeat stall timeout, ms (default 250).
    pub stall_timeout_ms: u32,
    /// Handshake timeout, ms (default 1000).
    pub handshake_timeout_ms: u32,
}

/// Vital-sign numerics. Absent optional values have their `has_` flag 0 and value 0.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct vitalring_vitals {
    /// Heart rate, bpm.
    pub hr_bpm: u16,
    /// SpO2, %.
    pub spo2_pct: u8,
    /// Respiration rate, breaths/min.
    pub rr_rpm: u8,
    /// 1 when the NIBP fields are valid.
    pub has_nibp: u8,
    /// 1 when `temp_c` is valid.
    pub has_temp: u8,
    /// 1 when `pulse_rate_bpm` is valid.
    pub has_pulse_rate: u8,
    /// Always 0.
    pub reserved: u8,
    /// NIBP systolic, mmHg.
    pub nibp_systolic_mmhg: u16,
    /// NIBP diastolic, mmHg.
    pub nibp_diastolic_mmhg: u16,
    /// NIBP mean, mmHg.
    pub nibp_mean_mmhg: u16,
    /// Pulse rate from the pleth, bpm.
    pub pulse_rate_bpm: u16,
    /// Body temperature, °C.
    pub temp_c: f32,
}

/// Consecutive samples of one channel.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct vitalring_waveform {
    /// 1 ECG lead II (µV), 2 SpO2 pleth (perfusion units), 3 respiration (mΩ).
    pub channel: u32,
    /// Sample rate, Hz.
    pub fs_hz: u32,
    /// Valid entries of `samples` (1 ..= `VITALRING_MAX_SAMPLES`).
    pub count: u32,
    /// Always 0.
    pub reserved: u32,
    /// Index of `samples[0]` since the producer started the channel.
    pub first: u64,
    /// The samples; entries from `count` on are 0.
    pub samples: [i32; VITALRING_MAX_SAMPLES],
}

/// A connection state change.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default)]
pub struct vitalring_connection {
    /// A `VITALRING_STATE_*`.
    pub state: u32,
    /// 1 when `epoch` is known.
    pub has_epoch: u32,
    /// The producer instance (new for every producer start).
    pub epoch: u64,
}

/// A problem. The counters ([`vitalring_get_stats`]) are exact; problems are the readable story.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct vitalring_problem {
    /// A `VITALRING_PROBLEM_*`.
    pub kind: u32,
    /// For drops a `VITALRING_DROP_*`, else 0.
    pub detail: u32,
    /// First ring index concerned (drops and rejects), else 0.
    pub first: u64,
    /// Frames (or events) concerned; 1 for stalls, handshake and header problems.
    pub count: u64,
    /// For stalls: reader time since the heartbeat last moved, ns.
    pub heartbeat_age_ns: u64,
    /// One lower-case line, NUL-terminated (truncated to fit).
    pub message: [c_char; VITALRING_MESSAGE_LEN],
}

/// One event, filled in by [`vitalring_read`] / [`vitalring_try_read`]. Only the member named
/// by `kind` is meaningful; the others are zeroed.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct vitalring_event {
    /// A `VITALRING_EVENT_*`.
    pub kind: u32,
    /// Always 0.
    pub reserved: u32,
    /// Ring index of the frame (vitals, waveform), else 0.
    pub index: u64,
    /// Acquisition time (of the first sample for waveforms), ns since the Unix epoch; 0 for
    /// connection and problem events.
    pub timestamp_ns: u64,
    /// Valid when `kind == VITALRING_EVENT_VITALS`.
    pub vitals: vitalring_vitals,
    /// Valid when `kind == VITALRING_EVENT_WAVEFORM`.
    pub waveform: vitalring_waveform,
    /// Valid when `kind == VITALRING_EVENT_CONNECTION`.
    pub connection: vitalring_connection,
    /// Valid when `kind == VITALRING_EVENT_PROBLEM`.
    pub problem: vitalring_problem,
}

/// One delivered data frame, **borrowed**: handed to a [`vitalring_frame_fn`] by
/// [`vitalring_read_frames`] and valid only until the callback returns (the pointers point into
/// the reader's own buffer, which the next frame overwrites). Copy what you keep. Every frame
/// passed the same checks as for [`vitalring_read`].
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct vitalring_frame {
    /// `VITALRING_EVENT_VITALS` or `VITALRING_EVENT_WAVEFORM`.
    pub kind: u32,
    /// Payload encoding byte of the slot (0 JSON, 1 binary).
    pub encoding: u32,
    /// Ring index of the frame.
    pub index: u64,
    /// Acquisition time (of the first sample for waveforms), ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The slot's payload bytes as the producer wrote them (CRC-checked), borrowed.
    pub payload: *const u8,
    /// Length of `payload`, bytes.
    pub payload_len: u32,
    /// Waveforms: 1 ECG lead II, 2 pleth, 3 respiration; else 0.
    pub channel: u32,
    /// Waveforms: sample rate, Hz; else 0.
    pub fs_hz: u32,
    /// Waveforms: valid entries of `samples`; else 0.
    pub count: u32,
    /// Waveforms: index of `samples[0]` since the producer started the channel; else 0.
    pub first: u64,
    /// Waveforms: the decoded samples, borrowed; else NULL.
    pub samples: *const i32,
    /// Vitals: the decoded numerics; else all 0.
    pub vitals: vitalring_vitals,
}

/// The callback of [`vitalring_read_frames`]: `ctx` is the caller's pointer, `frame` the
/// borrowed frame (never NULL). It must not call any function on the same reader.
#[allow(non_camel_case_types)]
pub type vitalring_frame_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, frame: *const vitalring_frame)>;

/// The session's counters: exact at every moment, over the current producer (`epoch`,
/// `start_index`, `position`, `delivered` ... `rejected_*`) and over every producer this
/// reader attached to (`total_*`). For the current ring, `position - start_index ==
/// delivered + dropped_lapped + dropped_overwritten + rejected`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct vitalring_stats {
    /// A `VITALRING_STATE_*`.
    pub state: u32,
    /// Slot size of the attached ring, bytes.
    pub frame_size: u32,
    /// Slot count of the attached ring.
    pub frame_count: u32,
    /// Always 0.
    pub reserved: u32,
    /// The attached producer's epoch.
    pub epoch: u64,
    /// The ring index this reader attached at.
    pub start_index: u64,
    /// The next ring index this reader will look at.
    pub position: u64,
    /// `writeIndex` at the last poll.
    pub write_index: u64,
    /// Frames delivered (heartbeat frames included).
    pub delivered: u64,
    /// Of them, heartbeat frames.
    pub heartbeats: u64,
    /// Frames lost because the producer lapped the reader.
    pub dropped_lapped: u64,
    /// Frames lost because their slot was rewritten while read.
    pub dropped_overwritten: u64,
    /// Frames rejected, all reasons.
    pub rejected: u64,
    /// Rejected: CRC mismatch.
    pub rejected_crc: u64,
    /// Rejected: wrong sequence number.
    pub rejected_sequence: u64,
    /// Rejected: `dataSize` too large.
    pub rejected_data_size: u64,
    /// Rejected: non-zero reserved, padding or tail bytes.
    pub rejected_padding: u64,
    /// Rejected: unknown frame type.
    pub rejected_frame_type: u64,
    /// Rejected: unknown encoding.
    pub rejected_encoding: u64,
    /// Rejected: malformed payload.
    pub rejected_malformed: u64,
    /// Rejected: value out of physiological range.
    pub rejected_out_of_range: u64,
    /// Rejected: implausible timestamp.
    pub rejected_timestamp: u64,
    /// Delivered over every producer.
    pub total_delivered: u64,
    /// Dropped (both causes) over every producer.
    pub total_dropped: u64,
    /// Rejected over every producer.
    pub total_rejected: u64,
    /// Producers attached so far, this one included.
    pub epochs: u64,
    /// Stalls detected.
    pub stalls: u64,
    /// Header and `writeIndex` faults detected.
    pub faults: u64,
    /// Re-attachments.
    pub reattaches: u64,
    /// Events the handle's queue could not hold (their frames are counted above).
    pub events_lost: u64,
}

/// A reader: opaque. Created by [`vitalring_connect`], freed by [`vitalring_close`]. Not
/// thread-safe: use one from one thread at a time (it may move between threads).
#[allow(non_camel_case_types)]
pub struct vitalring_reader {
    pump: Pump,
    poisoned: bool,
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Writes `value` into `buf` as a NUL-terminated string, truncated on a character boundary;
/// never allocates.
fn write_message(buf: &mut [c_char], value: &dyn core::fmt::Display) {
    struct Out<'a> {
        buf: &'a mut [c_char],
        len: usize,
    }
    impl core::fmt::Write for Out<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let room = self.buf.len().saturating_sub(1 + self.len);
            let mut n = s.len().min(room);
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            for (dst, &b) in self.buf[self.len..self.len + n]
                .iter_mut()
                .zip(s.as_bytes())
            {
                *dst = b as c_char;
            }
            self.len += n;
            if n < s.len() {
                Err(core::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    if buf.is_empty() {
        return;
    }
    let mut out = Out { buf, len: 0 };
    let _ = write!(out, "{value}");
    let len = out.len;
    out.buf[len] = 0;
}

/// A pointer the caller promised points to a `T`, checked for null and alignment.
fn checked<T>(ptr: *const T) -> Option<*const T> {
    (!ptr.is_null() && ptr.is_aligned()).then_some(ptr)
}

/// Runs `f` with panics caught.
fn guard(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(VITALRING_E_PANIC)
}

/// Reads an optional C string argument.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string valid for the call.
unsafe fn opt_str<'a>(ptr: *const c_char) -> Result<Option<&'a str>, c_int> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null, and the caller guarantees a NUL-terminated string valid for 'a.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(Some)
        .map_err(|_| VITALRING_E_INVALID_ARGUMENT)
}

fn state_code(state: ConnectionState) -> u32 {
    match state {
        ConnectionState::Connecting => VITALRING_STATE_CONNECTING,
        ConnectionState::Connected => VITALRING_STATE_CONNECTED,
        ConnectionState::Stalled => VITALRING_STATE_STALLED,
        ConnectionState::Stopped => VITALRING_STATE_STOPPED,
        ConnectionState::Reconnecting => VITALRING_STATE_RECONNECTING,
        ConnectionState::Disconnected => VITALRING_STATE_DISCONNECTED,
    }
}

fn error_code(e: &SourceError) -> c_int {
    match e {
        SourceError::Handshake(h) => match h {
            _ if h.is_absent() => VITALRING_E_NO_PRODUCER,
            HandshakeError::InvalidChannel(_) | HandshakeError::PathTooLong(_) => {
                VITALRING_E_INVALID_ARGUMENT
            }
            HandshakeError::Refused(_) => VITALRING_E_REFUSED,
            HandshakeError::PermissionDenied(_) => VITALRING_E_PERMISSION,
            HandshakeError::Io(_) => VITALRING_E_HANDSHAKE,
            _ => VITALRING_E_BAD_RING,
        },
        SourceError::Scratch(_) => VITALRING_E_BAD_RING,
        SourceError::Spawn => VITALRING_E_HANDSHAKE,
    }
}

fn problem_kind(e: &SensorError) -> u32 {
    use vitalring_core::source::SensorErrorKind as K;
    match e.kind() {
        K::Stalled => VITALRING_PROBLEM_STALLED,
        K::Crc => VITALRING_PROBLEM_CRC,
        K::Dropped => VITALRING_PROBLEM_DROPPED,
        K::EventsLost => VITALRING_PROBLEM_EVENTS_LOST,
        K::InvalidValue => VITALRING_PROBLEM_INVALID_VALUE,
        K::MalformedPayload => VITALRING_PROBLEM_MALFORMED_PAYLOAD,
        K::InvalidFrame => VITALRING_PROBLEM_INVALID_FRAME,
        K::Handshake => VITALRING_PROBLEM_HANDSHAKE,
        K::Header => VITALRING_PROBLEM_HEADER,
    }
}

const ZERO_WAVEFORM: vitalring_waveform = vitalring_waveform {
    channel: 0,
    fs_hz: 0,
    count: 0,
    reserved: 0,
    first: 0,
    samples: [0; VITALRING_MAX_SAMPLES],
};

const ZERO_PROBLEM: vitalring_problem = vitalring_problem {
    kind: 0,
    detail: 0,
    first: 0,
    count: 0,
    heartbeat_age_ns: 0,
    message: [0; VITALRING_MESSAGE_LEN],
};

const ZERO_EVENT: vitalring_event = vitalring_event {
    kind: 0,
    reserved: 0,
    index: 0,
    timestamp_ns: 0,
    vitals: vitalring_vitals {
        hr_bpm: 0,
        spo2_pct: 0,
        rr_rpm: 0,
        has_nibp: 0,
        has_temp: 0,
        has_pulse_rate: 0,
        reserved: 0,
        nibp_systolic_mmhg: 0,
        nibp_diastolic_mmhg: 0,
        nibp_mean_mmhg: 0,
        pulse_rate_bpm: 0,
        temp_c: 0.0,
    },
    waveform: ZERO_WAVEFORM,
    connection: vitalring_connection {
        state: 0,
        has_epoch: 0,
        epoch: 0,
    },
    problem: ZERO_PROBLEM,
};

/// The C form of a vitals record (absent values: flag 0, value 0).
fn vitals_of(record: &VitalsRecord) -> vitalring_vitals {
    let mut v = vitalring_vitals {
        hr_bpm: record.hr_bpm,
        spo2_pct: record.spo2_pct,
        rr_rpm: record.rr_rpm,
        ..vitalring_vitals::default()
    };
    if let Some(n) = record.nibp {
        v.has_nibp = 1;
        v.nibp_systolic_mmhg = n.systolic_mmhg;
        v.nibp_diastolic_mmhg = n.diastolic_mmhg;
        v.nibp_mean_mmhg = n.mean_mmhg;
    }
    if let Some(t) = record.temp_c {
        v.has_temp = 1;
        v.temp_c = t;
    }
    if let Some(p) = record.pulse_rate_bpm {
        v.has_pulse_rate = 1;
        v.pulse_rate_bpm = p;
    }
    v
}

/// The borrowed C view of a delivered data frame (`None` for heartbeats).
fn frame_of(frame: &FrameView<'_>, record: &Record) -> Option<vitalring_frame> {
    let mut out = vitalring_frame {
        kind: 0,
        encoding: u32::from(frame.meta.encoding as u8),
        index: frame.index,
        timestamp_ns: frame.meta.timestamp.0,
        payload: frame.payload.as_ptr(),
        // Payloads fit a slot (at most 1 MiB).
        payload_len: u32::try_from(frame.payload.len()).unwrap_or(u32::MAX),
        channel: 0,
        fs_hz: 0,
        count: 0,
        first: 0,
        samples: core::ptr::null(),
        vitals: vitalring_vitals::default(),
    };
    match record {
        Record::Vitals(v) => {
            out.kind = VITALRING_EVENT_VITALS;
            out.vitals = vitals_of(v);
        }
        Record::Waveform(w) => {
            out.kind = VITALRING_EVENT_WAVEFORM;
            out.channel = u32::from(w.channel.code());
            out.fs_hz = u32::from(w.fs_hz);
            out.first = w.first;
            // At most VITALRING_MAX_SAMPLES.
            out.count = w.samples.len() as u32;
            out.samples = w.samples.as_ptr();
        }
        Record::Heartbeat => return None,
    }
    Some(out)
}

/// Fills `out` from `event` (every member written; no allocation).
fn fill_event(out: &mut vitalring_event, event: &SensorEvent) {
    *out = ZERO_EVENT;
    match event {
        SensorEvent::Vitals {
            timestamp,
            index,
            record,
        } => {
            out.kind = VITALRING_EVENT_VITALS;
            out.index = *index;
            out.timestamp_ns = timestamp.0;
            out.vitals = vitals_of(record);
        }
        SensorEvent::Waveform {
            timestamp,
            index,
            chunk,
        } => {
            out.kind = VITALRING_EVENT_WAVEFORM;
            out.index = *index;
            out.timestamp_ns = timestamp.0;
            let w = &mut out.waveform;
            w.channel = u32::from(chunk.channel.code());
            w.fs_hz = u32::from(chunk.fs_hz);
            w.first = chunk.first;
            let n = chunk.samples.len().min(VITALRING_MAX_SAMPLES);
            w.samples[..n].copy_from_slice(&chunk.samples[..n]);
            // n <= 128.
            w.count = n as u32;
        }
        SensorEvent::Connection { state, epoch } => {
            out.kind = VITALRING_EVENT_CONNECTION;
            out.connection.state = state_code(*state);
            if let Some(e) = epoch {
                out.connection.has_epoch = 1;
                out.connection.epoch = *e;
            }
        }
        SensorEvent::Error(e) => {
            out.kind = VITALRING_EVENT_PROBLEM;
            let p = &mut out.problem;
            p.kind = problem_kind(e);
            p.count = e.count();
            match e {
                SensorError::Stalled { heartbeat_age } => p.heartbeat_age_ns = heartbeat_age.0,
                SensorError::Dropped { first, cause, .. } => {
                    p.first = *first;
                    p.detail = match cause {
                        DropCause::Lapped => VITALRING_DROP_LAPPED,
                        DropCause::Overwritten => VITALRING_DROP_OVERWRITTEN,
                    };
                }
                SensorError::Rejected { first, .. } => p.first = *first,
                SensorError::EventsLost { .. }
                | SensorError::Header(_)
                | SensorError::Handshake(_) => {}
            }
            write_message(&mut p.message, e);
        }
    }
}

fn fill_stats(out: &mut vitalring_stats, s: &SessionStats, events_lost: u64) {
    let c = &s.current.counters;
    let r = &c.rejected;
    *out = vitalring_stats {
        state: state_code(s.state),
        frame_size: s.geometry.frame_size(),
        frame_count: s.geometry.frame_count(),
        reserved: 0,
        epoch: s.current.epoch,
        start_index: s.current.start_index,
        position: s.current.position,
        write_index: s.write_index,
        delivered: c.delivered,
        heartbeats: s.current.heartbeats,
        dropped_lapped: c.dropped_lapped,
        dropped_overwritten: c.dropped_overwritten,
        rejected: r.total(),
        rejected_crc: r.crc,
        rejected_sequence: r.sequence,
        rejected_data_size: r.data_size,
        rejected_padding: r.padding,
        rejected_frame_type: r.frame_type,
        rejected_encoding: r.encoding,
        rejected_malformed: r.malformed,
        rejected_out_of_range: r.out_of_range,
        rejected_timestamp: r.timestamp,
        total_delivered: s.total.delivered,
        total_dropped: s.total.dropped(),
        total_rejected: s.total.rejected.total(),
        epochs: s.epochs,
        stalls: s.stalls,
        faults: s.faults,
        reattaches: s.reattaches,
        events_lost,
    };
}

/// The source configuration for `o`.
///
/// # Safety
/// The string pointers in `o` are null or NUL-terminated strings valid for the call.
unsafe fn source_config(o: &vitalring_options) -> Result<SourceConfig, (c_int, String)> {
    let bad = |what: &str| (VITALRING_E_INVALID_ARGUMENT, format!("{what} is not UTF-8"));
    // SAFETY: forwarded from this function's contract.
    let channel = unsafe { opt_str(o.channel) }
        .map_err(|_| bad("channel"))?
        .unwrap_or("default");
    // SAFETY: as above.
    let socket = unsafe { opt_str(o.socket_path) }.map_err(|_| bad("socket path"))?;
    // SAFETY: as above.
    let token_file = unsafe { opt_str(o.token_file) }.map_err(|_| bad("token file path"))?;
    let socket: PathBuf = match socket {
        Some(p) => PathBuf::from(p),
        None => vitalring_linux::paths::default_socket_path(channel)
            .map_err(|e| (VITALRING_E_INVALID_ARGUMENT, e.to_string()))?,
    };
    let mut config = SourceConfig::new(socket, channel);
    if let Some(path) = token_file {
        let token = Token::from_file(path.as_ref())
            .map_err(|e| (VITALRING_E_TOKEN, format!("token file {path}: {e}")))?;
        config.token = Some(token);
    }
    config.lap_policy = match o.lap_policy {
        VITALRING_LAP_LATEST => LapPolicy::Latest,
        VITALRING_LAP_OLDEST => LapPolicy::Oldest,
        n => {
            return Err((
                VITALRING_E_INVALID_ARGUMENT,
                format!("unknown lap policy {n}"),
            ))
        }
    };
    config.start = match o.start {
        VITALRING_START_NEXT => Start::Next,
        VITALRING_START_LATEST => Start::Latest,
        VITALRING_START_OLDEST => Start::Oldest,
        n => {
            return Err((
                VITALRING_E_INVALID_ARGUMENT,
                format!("unknown start position {n}"),
            ))
        }
    };
    config.polling = match o.busy_poll {
        0 => Polling::Backoff,
        1 => Polling::BusyPoll,
        n => {
            return Err((
                VITALRING_E_INVALID_ARGUMENT,
                format!("busy_poll must be 0 or 1, not {n}"),
            ))
        }
    };
    if o.stall_timeout_ms == 0 || o.handshake_timeout_ms == 0 {
        return Err((
            VITALRING_E_INVALID_ARGUMENT,
            "stall and handshake timeouts must be at least 1 ms".to_owned(),
        ));
    }
    config.max_sleep_us = o.max_sleep_us;
    config.stall_timeout = Duration::from_millis(u64::from(o.stall_timeout_ms));
    config.handshake_timeout = Duration::from_millis(u64::from(o.handshake_timeout_ms));
    Ok(config)
}

/// The handle behind `reader`, unless null, misaligned or poisoned.
///
/// # Safety
/// `reader` is null or a handle from [`vitalring_connect`] not yet closed, not in use by
/// another thread.
unsafe fn handle<'a>(reader: *mut vitalring_reader) -> Result<&'a mut vitalring_reader, c_int> {
    let ptr = checked(reader).ok_or(VITALRING_E_NULL)?.cast_mut();
    // SAFETY: non-null and aligned; the caller guarantees it is a live handle used by this
    // thread only, so a unique reference for the call is sound.
    let h = unsafe { &mut *ptr };
    if h.poisoned {
        return Err(VITALRING_E_PANIC);
    }
    Ok(h)
}

/// Runs `f` on the handle with panics caught; a panic poisons the handle.
///
/// # Safety
/// As [`handle`].
unsafe fn with_handle(
    reader: *mut vitalring_reader,
    f: impl FnOnce(&mut vitalring_reader) -> c_int,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let h = match unsafe { handle(reader) } {
            Ok(h) => h,
            Err(code) => return code,
        };
        match catch_unwind(AssertUnwindSafe(|| f(&mut *h))) {
            Ok(code) => code,
            Err(_) => {
                h.poisoned = true;
                VITALRING_E_PANIC
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// Fills `options` with the defaults: default socket of channel `"default"`, no token, lap
/// policy latest, start at the next frame, backoff waiting with sleeps of at most 50 µs,
/// stall timeout 250 ms, handshake timeout 1000 ms.
///
/// Returns `VITALRING_OK`, or `VITALRING_E_NULL`.
///
/// # Safety
/// `options` is null or points to writable memory for one `vitalring_options`.
#[no_mangle]
pub unsafe extern "C" fn vitalring_options_init(options: *mut vitalring_options) -> c_int {
    guard(|| {
        let Some(ptr) = checked(options) else {
            return VITALRING_E_NULL;
        };
        let value = vitalring_options {
            socket_path: core::ptr::null(),
            channel: core::ptr::null(),
            token_file: core::ptr::null(),
            lap_policy: VITALRING_LAP_LATEST,
            start: VITALRING_START_NEXT,
            busy_poll: 0,
            max_sleep_us: vitalring_core::backoff::MAX_SLEEP_US,
            stall_timeout_ms: 250,
            handshake_timeout_ms: 1000,
        };
        // SAFETY: non-null, aligned, and the caller guarantees it is writable; `write` does
        // not read the (possibly uninitialised) old value.
        unsafe { ptr.cast_mut().write(value) };
        VITALRING_OK
    })
}

/// Connects to a producer: runs the handshake, checks and maps its ring, and returns a new
/// reader in `*out` (set to NULL on failure).
///
/// On failure, when `errbuf` is not NULL and `errbuf_len > 0`, one lower-case line saying why
/// is written there (NUL-terminated, truncated to fit).
///
/// Returns `VITALRING_OK`, or `VITALRING_E_NULL`, `_INVALID_ARGUMENT`, `_TOKEN`,
/// `_NO_PRODUCER`, `_REFUSED`, `_PERMISSION`, `_BAD_RING`, `_HANDSHAKE`, `_PANIC`.
///
/// Ownership: the caller owns the returned reader and must free it with [`vitalring_close`].
///
/// # Safety
/// `options` points to an initialised `vitalring_options` whose strings are NULL or
/// NUL-terminated; `out` points to writable memory for one pointer; `errbuf` is NULL or
/// points to `errbuf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vitalring_connect(
    options: *const vitalring_options,
    out: *mut *mut vitalring_reader,
    errbuf: *mut c_char,
    errbuf_len: usize,
) -> c_int {
    guard(|| {
        let report = |msg: &dyn core::fmt::Display| {
            if !errbuf.is_null() && errbuf_len > 0 {
                // SAFETY: the caller guarantees `errbuf_len` writable bytes at `errbuf`.
                let buf = unsafe { core::slice::from_raw_parts_mut(errbuf, errbuf_len) };
                write_message(buf, msg);
            }
        };
        let Some(out) = checked(out) else {
            report(&"out is null");
            return VITALRING_E_NULL;
        };
        let out = out.cast_mut();
        // SAFETY: non-null, aligned, writable per the contract.
        unsafe { out.write(core::ptr::null_mut()) };
        let Some(options) = checked(options) else {
            report(&"options is null");
            return VITALRING_E_NULL;
        };
        // SAFETY: non-null, aligned, and initialised per the contract.
        let options = unsafe { &*options };
        // SAFETY: the strings are NULL or NUL-terminated per the contract.
        let config = match unsafe { source_config(options) } {
            Ok(c) => c,
            Err((code, msg)) => {
                report(&msg);
                return code;
            }
        };
        match Pump::connect(config, None) {
            Ok(pump) => {
                let handle = Box::new(vitalring_reader {
                    pump,
                    poisoned: false,
                });
                // SAFETY: as above.
                unsafe { out.write(Box::into_raw(handle)) };
                VITALRING_OK
            }
            Err(e) => {
                report(&e);
                error_code(&e)
            }
        }
    })
}

/// Frees a reader and unmaps its ring. NULL is ignored.
///
/// # Safety
/// `reader` is NULL or a handle from [`vitalring_connect`] that is not used (by any thread)
/// during or after this call.
#[no_mangle]
pub unsafe extern "C" fn vitalring_close(reader: *mut vitalring_reader) {
    let _ = guard(|| {
        if reader.is_null() || !reader.is_aligned() {
            return VITALRING_E_NULL;
        }
        // SAFETY: a handle from `vitalring_connect` is a `Box::into_raw`; the caller gives it
        // back exactly once.
        drop(unsafe { Box::from_raw(reader) });
        VITALRING_OK
    });
}

/// Waits for the next event at most `timeout_ms` milliseconds (`VITALRING_WAIT_FOREVER`: no
/// limit) and writes it to `*event`.
///
/// Returns `VITALRING_OK` (event written), `VITALRING_NO_EVENT` (timeout; `*event` untouched),
/// `VITALRING_E_NULL`, `VITALRING_E_PANIC`. Waiting spins, yields and sleeps at most
/// `max_sleep_us` at a time; signals do not interrupt it — use a finite timeout and check your
/// own flag between calls. A stalled or stopped producer does not end the wait: it arrives as
/// a connection event, and the reader re-attaches to a new producer by itself.
///
/// Never allocates.
///
/// # Safety
/// `reader` is a live handle used by this thread only; `event` points to writable memory for
/// one `vitalring_event`.
#[no_mangle]
pub unsafe extern "C" fn vitalring_read(
    reader: *mut vitalring_reader,
    event: *mut vitalring_event,
    timeout_ms: u32,
) -> c_int {
    let Some(event) = checked(event) else {
        return VITALRING_E_NULL;
    };
    let timeout = (timeout_ms != VITALRING_WAIT_FOREVER)
        .then(|| Duration::from_millis(u64::from(timeout_ms)));
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_handle(reader, |h| match h.pump.next_timeout(timeout, || false) {
            Ok(ev) => {
                // SAFETY: non-null, aligned, writable per the contract; used only here.
                fill_event(&mut *event.cast_mut(), &ev);
                VITALRING_OK
            }
            Err(WaitEnd::Timeout | WaitEnd::Interrupted) => VITALRING_NO_EVENT,
        })
    }
}

/// Writes the next event to `*event` if one is ready now; never waits.
///
/// Returns `VITALRING_OK`, `VITALRING_NO_EVENT`, `VITALRING_E_NULL`, `VITALRING_E_PANIC`.
/// Never allocates.
///
/// # Safety
/// As [`vitalring_read`].
#[no_mangle]
pub unsafe extern "C" fn vitalring_try_read(
    reader: *mut vitalring_reader,
    event: *mut vitalring_event,
) -> c_int {
    let Some(event) = checked(event) else {
        return VITALRING_E_NULL;
    };
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_handle(reader, |h| match h.pump.try_next() {
            Some(ev) => {
                // SAFETY: non-null, aligned, writable per the contract; used only here.
                fill_event(&mut *event.cast_mut(), &ev);
                VITALRING_OK
            }
            None => VITALRING_NO_EVENT,
        })
    }
}

/// Writes the next event already queued to `*event`, **without reading the ring**: after
/// [`vitalring_read_frames`], the connection and problem events it queued. (Use it, not
/// [`vitalring_try_read`], to drain them: `vitalring_try_read` reads the ring when the queue
/// is empty, so it would take the next data frames as events.)
///
/// Returns `VITALRING_OK`, `VITALRING_NO_EVENT` (the queue is empty), `VITALRING_E_NULL`,
/// `VITALRING_E_PANIC`. Never allocates, never waits.
///
/// # Safety
/// As [`vitalring_read`].
#[no_mangle]
pub unsafe extern "C" fn vitalring_pop_event(
    reader: *mut vitalring_reader,
    event: *mut vitalring_event,
) -> c_int {
    let Some(event) = checked(event) else {
        return VITALRING_E_NULL;
    };
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_handle(reader, |h| match h.pump.queued() {
            Some(ev) => {
                // SAFETY: non-null, aligned, writable per the contract; used only here.
                fill_event(&mut *event.cast_mut(), &ev);
                VITALRING_OK
            }
            None => VITALRING_NO_EVENT,
        })
    }
}

/// The bulk read path: hands delivered data frames (vitals and waveform chunks) to `callback`
/// one at a time, **borrowed** (see [`vitalring_frame`]) — no copy into an event, no queue —
/// until at least `max_frames` were handed over (up to 64 more: the reader takes whole
/// batches from the ring) or the ring has nothing new after at least one frame. Waits at most
/// `timeout_ms` (`VITALRING_WAIT_FOREVER`: no limit) for the first frame. `*delivered` (if not
/// NULL) is set to the number of frames handed over.
///
/// Connection and problem events are not passed to the callback: they are queued as for
/// [`vitalring_read`] (data events are not: the frames stand for them), and one arriving ends
/// the wait with `VITALRING_OK` and possibly `*delivered == 0`. Read them with
/// [`vitalring_pop_event`] until it returns `VITALRING_NO_EVENT` after each call; events you
/// never read are counted in `events_lost` once the queue is full. Heartbeat frames are only
/// counted.
///
/// Returns `VITALRING_OK`, `VITALRING_NO_EVENT` (timeout, nothing handed over),
/// `VITALRING_E_NULL` (reader or callback NULL), `VITALRING_E_PANIC`. Never allocates.
///
/// # Safety
/// `reader` is a live handle used by this thread only; `callback` is a function that does not
/// call into the same reader and does not unwind; `ctx` is passed to it untouched; `delivered`
/// is NULL or points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn vitalring_read_frames(
    reader: *mut vitalring_reader,
    callback: vitalring_frame_fn,
    ctx: *mut c_void,
    max_frames: u32,
    timeout_ms: u32,
    delivered: *mut u32,
) -> c_int {
    let Some(callback) = callback else {
        return VITALRING_E_NULL;
    };
    if !delivered.is_null() && !delivered.is_aligned() {
        return VITALRING_E_NULL;
    }
    let timeout = (timeout_ms != VITALRING_WAIT_FOREVER)
        .then(|| Duration::from_millis(u64::from(timeout_ms)));
    let max = usize::try_from(max_frames.max(1)).unwrap_or(usize::MAX);
    let body = |h: &mut vitalring_reader| {
        let got = h.pump.for_each_frame(
            max,
            timeout,
            || false,
            |frame, record| {
                if let Some(view) = frame_of(frame, record) {
                    // SAFETY: the caller guarantees `callback` is a valid function that does
                    // not re-enter this reader; `view` and the buffers it points to live
                    // until it returns.
                    unsafe { callback(ctx, &view) };
                }
            },
        );
        let (code, n) = match got {
            Ok(n) => (VITALRING_OK, n),
            Err(WaitEnd::Timeout | WaitEnd::Interrupted) => (VITALRING_NO_EVENT, 0),
        };
        if !delivered.is_null() {
            // SAFETY: non-null, aligned (checked above), writable per the contract.
            unsafe { delivered.write(u32::try_from(n).unwrap_or(u32::MAX)) };
        }
        code
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { with_handle(reader, body) }
}

/// Writes the reader's counters and state to `*stats`.
///
/// Returns `VITALRING_OK`, `VITALRING_E_NULL`, `VITALRING_E_PANIC`. Never allocates.
///
/// # Safety
/// `reader` is a live handle used by this thread only; `stats` points to writable memory for
/// one `vitalring_stats`.
#[no_mangle]
pub unsafe extern "C" fn vitalring_get_stats(
    reader: *mut vitalring_reader,
    stats: *mut vitalring_stats,
) -> c_int {
    let Some(stats) = checked(stats) else {
        return VITALRING_E_NULL;
    };
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_handle(reader, |h| {
            // SAFETY: non-null, aligned, writable per the contract; used only here.
            fill_stats(
                &mut *stats.cast_mut(),
                &h.pump.stats(),
                h.pump.events_lost(),
            );
            VITALRING_OK
        })
    }
}

/// A static, NUL-terminated, lower-case description of a status code (never NULL; unknown
/// codes get "unknown vitalring status"). Thread-safe; the string must not be freed.
#[no_mangle]
pub extern "C" fn vitalring_strerror(code: c_int) -> *const c_char {
    let s: &'static CStr = match code {
        VITALRING_OK => c"ok",
        VITALRING_NO_EVENT => c"no event",
        VITALRING_E_NULL => c"null or misaligned pointer",
        VITALRING_E_INVALID_ARGUMENT => c"invalid argument",
        VITALRING_E_NO_PRODUCER => c"no producer is serving the socket",
        VITALRING_E_REFUSED => c"the producer refused the handshake",
        VITALRING_E_PERMISSION => c"permission denied connecting to the socket",
        VITALRING_E_BAD_RING => c"the producer offered an invalid ring",
        VITALRING_E_HANDSHAKE => c"handshake failed",
        VITALRING_E_TOKEN => c"unusable token file",
        VITALRING_E_PANIC => c"internal error (a bug in vitalring); the reader is unusable",
        _ => c"unknown vitalring status",
    };
    s.as_ptr()
}

/// The name of a connection state (`"connected"`, `"stalled"`, `"producer_stopped"`, ... as in
/// `vitalring monitor --json`); static, never NULL; `"unknown"` for other values.
#[no_mangle]
pub extern "C" fn vitalring_state_name(state: u32) -> *const c_char {
    let s: &'static CStr = match state {
        VITALRING_STATE_CONNECTING => c"connecting",
        VITALRING_STATE_CONNECTED => c"connected",
        VITALRING_STATE_STALLED => c"stalled",
        VITALRING_STATE_STOPPED => c"producer_stopped",
        VITALRING_STATE_RECONNECTING => c"reconnecting",
        VITALRING_STATE_DISCONNECTED => c"disconnected",
        _ => c"unknown",
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_truncated_on_a_character_boundary_and_terminated() {
        let mut buf = [1 as c_char; 6];
        write_message(&mut buf, &"abcé€xyz");
        // SAFETY: write_message always terminates.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(s.to_str().unwrap(), "abcé");
    }

    #[test]
    fn strerror_knows_every_code() {
        for code in -9..=1 {
            // SAFETY: static NUL-terminated strings.
            let s = unsafe { CStr::from_ptr(vitalring_strerror(code)) };
            assert_ne!(s.to_str().unwrap(), "unknown vitalring status", "{code}");
        }
    }
}
