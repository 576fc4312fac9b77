//! The `vitalring._vitalring` extension module: a reader session for Python.
//!
//! A [`Reader`] owns a [`Pump`] (the same read loop as the C API: `LiveReader`, hence the core
//! session's checks, counters, stall detection and re-attach) and a bounded per-channel
//! waveform [`History`]. Records cross into Python as small frozen classes, samples as numpy
//! `int32` arrays. Blocking calls release the GIL and check for signals every 50 ms, so
//! Ctrl-C interrupts them. The Python-side API (`vitalring.connect`, docstrings, stubs) is in
//! `python/vitalring/`.
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;

use vitalring_capi::history::{History, VitalsRow};
use vitalring_capi::pump::{Pump, RawFrames, WaitEnd};
use vitalring_core::session::SessionStats;
use vitalring_core::slot::{DropCause, LapPolicy, Start};
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::vitals::Channel;
use vitalring_linux::discovery::{self, Liveness};
use vitalring_linux::request::RequestStatus;
use vitalring_linux::{Polling, SourceConfig, Token};

create_exception!(
    _vitalring,
    VitalringError,
    PyException,
    "Base class of vitalring errors."
);
create_exception!(
    _vitalring,
    ConnectError,
    VitalringError,
    "The handshake with the producer failed (no producer, refused, untrusted, bad ring)."
);

/// A set of vital-sign numerics (one vitals frame).
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug, Clone)]
pub struct Vitals {
    /// Ring index of the frame.
    index: u64,
    /// Acquisition time, ns since the Unix epoch.
    timestamp_ns: u64,
    /// Heart rate, bpm.
    hr: u16,
    /// SpO2, %.
    spo2: u8,
    /// Respiration rate, breaths/min.
    rr: u8,
    /// NIBP (systolic, diastolic, mean) mmHg, or None.
    nibp: Option<(u16, u16, u16)>,
    /// Temperature, degrees C, or None.
    temp: Option<f32>,
    /// Pulse rate from the pleth, bpm, or None.
    pr: Option<u16>,
}

#[pymethods]
impl Vitals {
    fn __repr__(&self) -> String {
        format!(
            "Vitals(index={}, timestamp_ns={}, hr={}, spo2={}, rr={}, nibp={:?}, temp={:?}, pr={:?})",
            self.index, self.timestamp_ns, self.hr, self.spo2, self.rr, self.nibp, self.temp, self.pr
        )
    }
}

/// Consecutive samples of one waveform channel (one waveform frame).
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug)]
pub struct WaveformChunk {
    /// Ring index of the frame.
    index: u64,
    /// Acquisition time of the first sample, ns since the Unix epoch.
    timestamp_ns: u64,
    /// "ecg_ii", "pleth" or "resp".
    channel: &'static str,
    /// Sample rate, Hz.
    fs: u16,
    /// Index of the first sample since the producer started the channel.
    first: u64,
    /// numpy int32 array of samples.
    samples: Py<PyArray1<i32>>,
}

#[pymethods]
impl WaveformChunk {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "WaveformChunk(index={}, channel={:?}, fs={}, first={}, samples=<{} x int32>)",
            self.index,
            self.channel,
            self.fs,
            self.first,
            self.samples.bind(py).len()
        )
    }
}

/// A connection state change.
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug, Clone)]
pub struct Status {
    /// "connected", "stalled", "producer_stopped", "reconnecting", ...
    state: &'static str,
    /// Producer epoch, or None.
    epoch: Option<u64>,
}

#[pymethods]
impl Status {
    fn __repr__(&self) -> String {
        format!("Status(state={:?}, epoch={:?})", self.state, self.epoch)
    }
}

/// A problem: frames dropped or rejected, a stall, a failed re-handshake, a ring fault.
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug, Clone)]
pub struct Problem {
    /// "stalled", "crc", "dropped", "events_lost", "invalid_value", "malformed_payload",
    /// "invalid_frame", "handshake_failed" or "header".
    kind: &'static str,
    /// First ring index concerned (drops, rejects), or None.
    first: Option<u64>,
    /// Frames (or events) concerned.
    count: u64,
    /// One lower-case line.
    message: String,
}

#[pymethods]
impl Problem {
    fn __repr__(&self) -> String {
        format!(
            "Problem(kind={:?}, first={:?}, count={}, message={:?})",
            self.kind, self.first, self.count, self.message
        )
    }
}

/// The last seconds of one channel, contiguous (see `Reader.waveform`).
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug)]
pub struct Waveform {
    /// "ecg_ii", "pleth" or "resp".
    channel: &'static str,
    /// Sample rate, Hz.
    fs: u16,
    /// Sample index of samples[0].
    first: u64,
    /// Acquisition time of samples[0], ns since the Unix epoch.
    start_ns: u64,
    /// numpy int32 array, oldest first.
    samples: Py<PyArray1<i32>>,
}

/// Raw frames as delivered (see `Reader.read_frames`): numpy arrays, one entry per frame,
/// and every payload back to back in `payload`.
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug)]
pub struct Frames {
    /// uint64 ring indices.
    index: Py<PyArray1<u64>>,
    /// uint8 frame types (1 vitals, 2 waveform, 3 heartbeat).
    frame_type: Py<PyArray1<u8>>,
    /// uint8 encodings (0 JSON, 1 binary).
    encoding: Py<PyArray1<u8>>,
    /// uint64 timestamps, ns since the Unix epoch.
    timestamp_ns: Py<PyArray1<u64>>,
    /// uint64 start of each payload in `payload` (len(frames) + 1 entries).
    offsets: Py<PyArray1<u64>>,
    /// uint8 payload bytes.
    payload: Py<PyArray1<u8>>,
}

#[pymethods]
impl Frames {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.index.bind(py).len()
    }
}

/// A channel of this user: a producer's control socket in the default socket directory, and
/// what the producer said about its channel when it was listed (its `describe` answer). The
/// metadata fields are None when there is no answer: a stale or unknown socket, or a live
/// producer that refused the request (see `refused`). Nothing is filled in by guesswork.
#[pyclass(frozen, get_all, module = "vitalring")]
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    /// Channel name (pass it to `vitalring.connect(channel=...)`).
    name: String,
    /// Control socket path.
    path: PathBuf,
    /// True when a producer answered the probe connection.
    live: bool,
    /// "live", "stale" (nobody listens: the producer died without removing its socket) or
    /// "unknown" (the probe failed otherwise, e.g. permission denied; see `error`).
    state: &'static str,
    /// Why the probe failed, for "unknown"; else None.
    error: Option<String>,
    /// Why a live producer refused the `describe` request ("bad_token", ...); else None.
    refused: Option<&'static str>,
    /// What produces the data: "simulator", "replay", "bridge", "producer", ...
    kind: Option<String>,
    /// One line for people, e.g. "bed 3, scenario afib" (may be empty).
    description: Option<String>,
    /// Payload encoding: "json", "binary" or "unspecified".
    encoding: Option<String>,
    /// Ring slot size, bytes.
    frame_size: Option<u32>,
    /// Ring slot count.
    frame_count: Option<u32>,
    /// Producer epoch (as `Status.epoch` of a reader attached to it).
    epoch: Option<u64>,
    /// Producer pid.
    pid: Option<u32>,
    /// When the producer started, ms since the Unix epoch.
    started_unix_ms: Option<u64>,
    /// Seconds since the producer started (when listed).
    uptime_s: Option<f64>,
    /// Frames committed so far (when listed).
    published: Option<u64>,
    /// Frames committed per second since the producer started.
    frame_rate_hz: Option<f64>,
    /// Milliseconds since the producer's last heartbeat (a paused or hung writer shows here).
    heartbeat_age_ms: Option<u64>,
    /// Readers attached (when listed).
    readers: Option<u64>,
    /// Commands the producer accepts (`vitalring ctl`).
    commands: Option<Vec<String>>,
    /// Version of the request encoding the producer speaks.
    request_version: Option<u16>,
}

#[pymethods]
impl ChannelInfo {
    fn __repr__(&self) -> String {
        let mut s = format!(
            "ChannelInfo(name={:?}, path={:?}, state={:?}",
            self.name,
            self.path.display().to_string(),
            self.state
        );
        if let (Some(kind), Some(description)) = (&self.kind, &self.description) {
            s.push_str(&format!(", kind={kind:?}, description={description:?}"));
        }
        if let (Some(size), Some(count)) = (self.frame_size, self.frame_count) {
            s.push_str(&format!(", frame_size={size}, frame_count={count}"));
        }
        if let Some(refused) = self.refused {
            s.push_str(&format!(", refused={refused:?}"));
        }
        s.push(')');
        s
    }
}

impl ChannelInfo {
    /// The Python view of one discovery entry: its `describe` answer, if there is one, as it
    /// came (the platform crate checked it), every metadata field None otherwise.
    fn from_entry(c: discovery::ChannelEntry) -> Self {
        let (state, error) = match c.liveness {
            Liveness::Live => ("live", None),
            Liveness::Stale => ("stale", None),
            Liveness::Unknown(e) => ("unknown", Some(e.desc().to_lowercase())),
        };
        let d = c.describe;
        Self {
            name: c.name,
            path: c.path,
            live: c.liveness == Liveness::Live,
            state,
            error,
            refused: c.refused.map(RequestStatus::name),
            // A producer writes its epoch as 16 hex digits; anything else is no epoch.
            epoch: d
                .as_ref()
                .and_then(|d| u64::from_str_radix(&d.epoch, 16).ok()),
            kind: d.as_ref().map(|d| d.kind.clone()),
            description: d.as_ref().map(|d| d.description.clone()),
            encoding: d.as_ref().map(|d| d.encoding.clone()),
            frame_size: d.as_ref().map(|d| d.frame_size),
            frame_count: d.as_ref().map(|d| d.frame_count),
            pid: d.as_ref().map(|d| d.pid),
            started_unix_ms: d.as_ref().map(|d| d.started_unix_ms),
            uptime_s: d.as_ref().map(|d| d.uptime_s),
            published: d.as_ref().map(|d| d.published),
            frame_rate_hz: d.as_ref().map(|d| d.frame_rate_hz),
            heartbeat_age_ms: d.as_ref().map(|d| d.heartbeat_age_ms),
            readers: d.as_ref().map(|d| d.readers),
            request_version: d.as_ref().map(|d| d.version),
            commands: d.map(|d| d.commands),
        }
    }
}

/// channels(include_stale=False)
/// --
///
/// The channels of this user: the producer sockets in the default socket directory
/// ($XDG_RUNTIME_DIR/vitalring, else /tmp/vitalring-<euid>), sorted by name, each probed with
/// a `describe` request whose answer fills the metadata fields (kind, description, encoding,
/// ring geometry, epoch, uptime, frame rate, readers, ...). Only live ones unless
/// `include_stale`; a stale or unknown socket has None in every metadata field. Raises OSError
/// if the directory exists but cannot be read; a missing directory is an empty list.
#[pyfunction]
#[pyo3(signature = (include_stale=false))]
fn channels(py: Python<'_>, include_stale: bool) -> PyResult<Vec<ChannelInfo>> {
    let list = py.detach(discovery::list_channels)?;
    Ok(list
        .into_iter()
        .map(ChannelInfo::from_entry)
        .filter(|c| include_stale || c.live)
        .collect())
}

fn channel_from(name: &str) -> PyResult<Channel> {
    name.parse::<Channel>().map_err(|()| {
        PyValueError::new_err(format!(
            "unknown channel {name:?} (expected ecg_ii, pleth or resp)"
        ))
    })
}

fn record(py: Python<'_>, event: SensorEvent) -> PyResult<Py<PyAny>> {
    Ok(match event {
        SensorEvent::Vitals {
            timestamp,
            index,
            record: v,
        } => Py::new(
            py,
            Vitals {
                index,
                timestamp_ns: timestamp.0,
                hr: v.hr_bpm,
                spo2: v.spo2_pct,
                rr: v.rr_rpm,
                nibp: v
                    .nibp
                    .map(|n| (n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg)),
                temp: v.temp_c,
                pr: v.pulse_rate_bpm,
            },
        )?
        .into_any(),
        SensorEvent::Waveform {
            timestamp,
            index,
            chunk,
        } => Py::new(
            py,
            WaveformChunk {
                index,
                timestamp_ns: timestamp.0,
                channel: chunk.channel.name(),
                fs: chunk.fs_hz,
                first: chunk.first,
                samples: PyArray1::from_slice(py, &chunk.samples).unbind(),
            },
        )?
        .into_any(),
        SensorEvent::Connection { state, epoch } => Py::new(
            py,
            Status {
                state: state.name(),
                epoch,
            },
        )?
        .into_any(),
        SensorEvent::Error(e) => {
            let first = match e {
                SensorError::Dropped { first, .. } | SensorError::Rejected { first, .. } => {
                    Some(first)
                }
                _ => None,
            };
            let message = match e {
                SensorError::Dropped {
                    cause: DropCause::Lapped,
                    ..
                } => format!("{e} (lapped)"),
                _ => e.to_string(),
            };
            Py::new(
                py,
                Problem {
                    kind: e.kind().name(),
                    first,
                    count: e.count(),
                    message,
                },
            )?
            .into_any()
        }
    })
}

/// The columns of `rows` as numpy arrays; an absent optional value is a `False` in its
/// `*_present` mask (its value slot is 0 and must not be read).
fn vitals_columns(py: Python<'_>, rows: &[&VitalsRow]) -> PyResult<Py<PyAny>> {
    let n = rows.len();
    let mut index = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    let (mut hr, mut spo2, mut rr) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut sys, mut dia, mut mean, mut nibp_ok) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut temp, mut temp_ok, mut pr, mut pr_ok) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for r in rows {
        let v = &r.vitals;
        index.push(r.index);
        // Unix ns fit i64 until 2262 (the core rejects implausible timestamps long before).
        ts.push(i64::try_from(r.timestamp_ns).unwrap_or(i64::MAX));
        hr.push(v.hr_bpm);
        spo2.push(v.spo2_pct);
        rr.push(v.rr_rpm);
        let nibp = v.nibp.unwrap_or_default();
        sys.push(nibp.systolic_mmhg);
        dia.push(nibp.diastolic_mmhg);
        mean.push(nibp.mean_mmhg);
        nibp_ok.push(v.nibp.is_some());
        temp.push(v.temp_c.unwrap_or(0.0));
        temp_ok.push(v.temp_c.is_some());
        pr.push(v.pulse_rate_bpm.unwrap_or(0));
        pr_ok.push(v.pulse_rate_bpm.is_some());
    }
    let d = pyo3::types::PyDict::new(py);
    d.set_item("frame", PyArray1::from_vec(py, index))?;
    d.set_item("timestamp_ns", PyArray1::from_vec(py, ts))?;
    d.set_item("hr", PyArray1::from_vec(py, hr))?;
    d.set_item("spo2", PyArray1::from_vec(py, spo2))?;
    d.set_item("rr", PyArray1::from_vec(py, rr))?;
    d.set_item("nibp_sys", PyArray1::from_vec(py, sys))?;
    d.set_item("nibp_dia", PyArray1::from_vec(py, dia))?;
    d.set_item("nibp_mean", PyArray1::from_vec(py, mean))?;
    d.set_item("nibp_present", PyArray1::from_vec(py, nibp_ok))?;
    d.set_item("temp", PyArray1::from_vec(py, temp))?;
    d.set_item("temp_present", PyArray1::from_vec(py, temp_ok))?;
    d.set_item("pr", PyArray1::from_vec(py, pr))?;
    d.set_item("pr_present", PyArray1::from_vec(py, pr_ok))?;
    Ok(d.into_any().unbind())
}

fn stats_dict(py: Python<'_>, s: &SessionStats, events_lost: u64) -> PyResult<Py<PyAny>> {
    let d = pyo3::types::PyDict::new(py);
    let c = &s.current.counters;
    d.set_item("state", s.state.name())?;
    d.set_item("epoch", s.current.epoch)?;
    d.set_item("start_index", s.current.start_index)?;
    d.set_item("position", s.current.position)?;
    d.set_item("write_index", s.write_index)?;
    d.set_item("delivered", c.delivered)?;
    d.set_item("heartbeats", s.current.heartbeats)?;
    d.set_item("dropped_lapped", c.dropped_lapped)?;
    d.set_item("dropped_overwritten", c.dropped_overwritten)?;
    d.set_item("rejected", c.rejected.total())?;
    let r = pyo3::types::PyDict::new(py);
    for (name, n) in c.rejected.as_array() {
        r.set_item(name, n)?;
    }
    d.set_item("rejected_by_reason", r)?;
    d.set_item("total_delivered", s.total.delivered)?;
    d.set_item("total_dropped", s.total.dropped())?;
    d.set_item("total_rejected", s.total.rejected.total())?;
    d.set_item("epochs", s.epochs)?;
    d.set_item("stalls", s.stalls)?;
    d.set_item("faults", s.faults)?;
    d.set_item("reattaches", s.reattaches)?;
    d.set_item("frame_size", s.geometry.frame_size())?;
    d.set_item("frame_count", s.geometry.frame_count())?;
    d.set_item("events_lost", events_lost)?;
    Ok(d.into_any().unbind())
}

fn timeout_of(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a finite number >= 0 or None, not {t}"
        ))),
    }
}

/// A reader session on one producer's ring (create it with `vitalring.connect`).
#[pyclass(module = "vitalring")]
pub struct Reader {
    pump: Mutex<Pump>,
    raw: Mutex<RawFrames>,
}

impl Reader {
    /// Locks the pump with the GIL released: a thread holding the lock in a blocking read
    /// re-takes the GIL between waits, so waiting for the lock with the GIL held would
    /// deadlock.
    fn pump(&self, py: Python<'_>) -> MutexGuard<'_, Pump> {
        // A poisoned lock means a panic in an earlier call, already raised in Python; the
        // pump's state is still consistent (the session never leaves a half-done poll).
        self.pump
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Waits with the GIL released, in slices of at most 50 ms, checking for signals (Ctrl-C)
/// between slices.
fn blocking<T>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut step: impl FnMut(Option<Duration>) -> Result<T, WaitEnd> + Send,
) -> PyResult<Option<T>>
where
    T: Send,
{
    let slice = Duration::from_millis(50);
    let start = std::time::Instant::now();
    loop {
        let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
        let this = Some(left.map_or(slice, |l| l.min(slice)));
        match py.detach(|| step(this)) {
            Ok(v) => return Ok(Some(v)),
            Err(_) => {
                py.check_signals()?;
                if left.is_some_and(|l| l <= slice) {
                    return Ok(None);
                }
            }
        }
    }
}

#[pymethods]
impl Reader {
    /// Creates a reader (use `vitalring.connect`, which documents the arguments).
    #[new]
    #[pyo3(signature = (socket, channel, token_file=None, lap="latest", start="next", busy_poll=false, history_seconds=300, stall_timeout=0.25, max_sleep_us=50))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        socket: PathBuf,
        channel: String,
        token_file: Option<PathBuf>,
        lap: &str,
        start: &str,
        busy_poll: bool,
        history_seconds: u32,
        stall_timeout: f64,
        max_sleep_us: u32,
    ) -> PyResult<Self> {
        let mut config = SourceConfig::new(socket, &channel);
        if let Some(path) = token_file {
            let token = Token::from_file(&path).map_err(|e| {
                ConnectError::new_err(format!("token file {}: {e}", path.display()))
            })?;
            config.token = Some(token);
        }
        config.lap_policy = match lap {
            "latest" => LapPolicy::Latest,
            "oldest" => LapPolicy::Oldest,
            other => {
                return Err(PyValueError::new_err(format!(
                    "lap must be 'latest' or 'oldest', not {other:?}"
                )))
            }
        };
        config.start = match start {
            "next" => Start::Next,
            "latest" => Start::Latest,
            "oldest" => Start::Oldest,
            other => {
                return Err(PyValueError::new_err(format!(
                    "start must be 'next', 'latest' or 'oldest', not {other:?}"
                )))
            }
        };
        config.polling = if busy_poll {
            Polling::BusyPoll
        } else {
            Polling::Backoff
        };
        config.max_sleep_us = max_sleep_us.max(1);
        config.stall_timeout = timeout_of(Some(stall_timeout))?
            .filter(|d| !d.is_zero())
            .ok_or_else(|| PyValueError::new_err("stall_timeout must be > 0"))?;
        let history = (history_seconds > 0).then(|| History::new(history_seconds));
        let pump = py
            .detach(|| Pump::connect(config, history))
            .map_err(|e| ConnectError::new_err(e.to_string()))?;
        Ok(Self {
            pump: Mutex::new(pump),
            raw: Mutex::new(RawFrames::default()),
        })
    }

    /// read(timeout=None)
    /// --
    ///
    /// The next record: Vitals, WaveformChunk, Status or Problem. Waits at most `timeout`
    /// seconds (None: for ever) and returns None if nothing came. Releases the GIL while
    /// waiting; Ctrl-C raises KeyboardInterrupt.
    #[pyo3(signature = (timeout=None))]
    fn read(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        let timeout = timeout_of(timeout)?;
        let mut guard = self.pump(py);
        let pump: &mut Pump = &mut guard;
        let got = blocking(py, timeout, |t| pump.next_timeout(t, || false))?;
        got.map(|e| record(py, e)).transpose()
    }

    /// The next record if one is ready now, else None (never waits).
    fn try_read(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let e = self.pump(py).try_next();
        e.map(|e| record(py, e)).transpose()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Iteration blocks for the next record; it ends after the Status "producer_stopped".
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut guard = self.pump(py);
        let pump: &mut Pump = &mut guard;
        if pump.state() == ConnectionState::Stopped && pump.queued_is_empty() {
            return Ok(None);
        }
        let got = blocking(py, None, |t| pump.next_timeout(t, || false))?;
        got.map(|e| record(py, e)).transpose()
    }

    /// waveform(channel, seconds=10.0)
    /// --
    ///
    /// The newest `seconds` of `channel` ("ecg_ii", "pleth", "resp") as a Waveform (numpy
    /// int32 samples, first sample index, start time), gathered in Rust from the reader's
    /// bounded history. Polls the ring first (without waiting), so it is current even if you
    /// never call read(). Holds fewer samples right after connecting and after a gap (a
    /// dropped or rejected chunk restarts the history: samples are always contiguous).
    /// Returns None before the channel's first chunk.
    #[pyo3(signature = (channel, seconds=10.0))]
    fn waveform(&self, py: Python<'_>, channel: &str, seconds: f64) -> PyResult<Option<Waveform>> {
        let ch = channel_from(channel)?;
        let mut guard = self.pump(py);
        let pump: &mut Pump = &mut guard;
        py.detach(|| pump.catch_up(64));
        let Some(h) = pump.history() else {
            return Err(VitalringError::new_err(
                "this reader keeps no history (history_seconds=0)",
            ));
        };
        let Some(w) = h.window(ch, seconds) else {
            return Ok(None);
        };
        let arr = PyArray1::<i32>::zeros(py, w.len(), false);
        {
            let mut rw = arr.readwrite();
            let out = rw
                .as_slice_mut()
                .map_err(|e| VitalringError::new_err(e.to_string()))?;
            let (a, b) = w.parts;
            out[..a.len()].copy_from_slice(a);
            out[a.len()..].copy_from_slice(b);
        }
        Ok(Some(Waveform {
            channel: ch.name(),
            fs: w.fs_hz,
            first: w.first,
            start_ns: w.start_ns,
            samples: arr.unbind(),
        }))
    }

    /// vitals_frame(seconds=60.0)
    /// --
    ///
    /// The vitals frames of the newest `seconds` (by acquisition time, counted back from the
    /// newest frame) as a pandas DataFrame: a DatetimeIndex "time" (datetime64[ns, UTC]) and
    /// one column per value — frame (ring index), hr, spo2, rr, nibp_sys, nibp_dia,
    /// nibp_mean, temp, pr. A value the producer did not send is <NA> (nullable dtypes), never
    /// a number; a lost or rejected frame is a missing row. Like waveform(), it polls the ring
    /// first and sees every delivered frame whether or not read() returned it; the rows
    /// restart with a new producer. Needs pandas (ImportError otherwise).
    #[pyo3(signature = (seconds=60.0))]
    fn vitals_frame(&self, py: Python<'_>, seconds: f64) -> PyResult<Py<PyAny>> {
        // Fail before touching the ring when pandas is missing.
        let build = py
            .import("vitalring._frames")?
            .getattr("vitals_frame_from_columns")?;
        let mut guard = self.pump(py);
        let pump: &mut Pump = &mut guard;
        py.detach(|| pump.catch_up(64));
        let Some(h) = pump.history() else {
            return Err(VitalringError::new_err(
                "this reader keeps no history (history_seconds=0)",
            ));
        };
        let rows: Vec<&VitalsRow> = h.vitals(seconds).collect();
        let cols = vitals_columns(py, &rows)?;
        drop(guard);
        Ok(build.call1((cols,))?.unbind())
    }

    /// read_frames(max_frames=4096, timeout=None)
    /// --
    ///
    /// Delivered frames, raw and in bulk, for forwarding or recording at high rates: a
    /// Frames object of numpy arrays (possibly up to one batch of 64 more than max_frames),
    /// or None if no frame came within `timeout` or a Status/Problem record is waiting (read
    /// it with try_read()). Every frame passed the same checks as for
    /// read(); while capturing, data records are not queued for read(), but Status and
    /// Problem records still are (read them with try_read()).
    #[pyo3(signature = (max_frames=4096, timeout=None))]
    fn read_frames(
        &self,
        py: Python<'_>,
        max_frames: usize,
        timeout: Option<f64>,
    ) -> PyResult<Option<Frames>> {
        let timeout = timeout_of(timeout)?;
        let mut guard = self.pump(py);
        let pump: &mut Pump = &mut guard;
        let mut raw_guard = self
            .raw
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        let raw: &mut RawFrames = &mut raw_guard;
        let max = max_frames.max(1);
        let got = blocking(py, timeout, |t| pump.raw_frames(raw, max, t, || false))?;
        if got.is_none() || raw.frames.is_empty() {
            return Ok(None);
        }
        let n = raw.frames.len();
        let mut offsets: Vec<u64> = raw.frames.iter().map(|f| f.offset as u64).collect();
        offsets.push(raw.payload.len() as u64);
        let mut index = Vec::with_capacity(n);
        let mut ty = Vec::with_capacity(n);
        let mut enc = Vec::with_capacity(n);
        let mut ts = Vec::with_capacity(n);
        for f in &raw.frames {
            index.push(f.index);
            ty.push(f.frame_type);
            enc.push(f.encoding);
            ts.push(f.timestamp_ns);
        }
        Ok(Some(Frames {
            index: PyArray1::from_vec(py, index).unbind(),
            frame_type: PyArray1::from_vec(py, ty).unbind(),
            encoding: PyArray1::from_vec(py, enc).unbind(),
            timestamp_ns: PyArray1::from_vec(py, ts).unbind(),
            offsets: PyArray1::from_vec(py, offsets).unbind(),
            payload: PyArray1::from_slice(py, &raw.payload).unbind(),
        }))
    }

    /// The session's counters and state as a dict (exact at every moment).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pump = self.pump(py);
        stats_dict(py, &pump.stats(), pump.events_lost())
    }

    /// The connection state: "connected", "stalled", "producer_stopped" or "reconnecting".
    #[getter]
    fn state(&self, py: Python<'_>) -> &'static str {
        self.pump(py).state().name()
    }
}

/// The extension module.
#[pymodule]
fn _vitalring(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reader>()?;
    m.add_class::<Vitals>()?;
    m.add_class::<WaveformChunk>()?;
    m.add_class::<Status>()?;
    m.add_class::<Problem>()?;
    m.add_class::<Waveform>()?;
    m.add_class::<Frames>()?;
    m.add_class::<ChannelInfo>()?;
    m.add_function(wrap_pyfunction!(channels, m)?)?;
    m.add("VitalringError", m.py().get_type::<VitalringError>())?;
    m.add("ConnectError", m.py().get_type::<ConnectError>())?;
    Ok(())
}
