//! The recorder: a [`LiveReader`] with the `Oldest` lap policy whose sink is a [`Capture`],
//! flushed into an [`H5Recording`] at least every [`RecordConfig::flush_period`].
//!
//! Order of work, on the caller's thread: poll the session (which decodes and checks every
//! frame and reports drops, rejects, stalls, epochs); when a flush is due, append the captured
//! rows and flush the file; on a stop request, drain what the ring still holds, flush, close.
//! The file is created at the first flush (so that each channel's first sample is known for
//! its attributes) with `create_excl`: a recording is never overwritten.
//!
//! With `segment`, the recording rotates: every `segment` a file is closed cleanly and the
//! next one started (`NAME-000.h5`, `NAME-001.h5`, ...), and a line is added to the catalog
//! `NAME.catalog.csv` (file, first and last acquisition time and ring index, epochs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vitalring_core::session::Next;
use vitalring_core::slot::Counters;
use vitalring_linux::{LiveReader, SourceConfig, SourceError};

use crate::capture::{Capture, Captured};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::h5::{ChannelStart, FileFacts, H5Error, H5Recording, Tables, Totals};

/// How long after the last full batch the recorder keeps the reader's backoff before it
/// switches to plain sleeps of [`RecordConfig::idle_sleep`].
const HOT: Duration = Duration::from_millis(100);

/// Flushes the writer thread may be behind before the poller waits for it.
pub const WRITE_QUEUE: usize = 4;

/// Work for the writer thread, done in order.
enum Job {
    Create(PathBuf, Box<FileFacts>, [Option<ChannelStart>; 3]),
    Append(Box<Tables>),
    Close(Box<Totals>),
}

/// The writer thread: owns the open file; stops at its first error, which it keeps.
struct WriterThread {
    tx: Option<SyncSender<Job>>,
    error: Arc<Mutex<Option<H5Error>>>,
    handle: Option<JoinHandle<()>>,
}

impl WriterThread {
    fn start() -> Self {
        let (tx, rx) = sync_channel::<Job>(WRITE_QUEUE);
        let error = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&error);
        let handle = std::thread::Builder::new()
            .name("vitalring-h5".into())
            .spawn(move || {
                let mut file: Option<H5Recording> = None;
                for job in rx {
                    let r = match job {
                        Job::Create(path, facts, starts) => {
                            H5Recording::create(&path, &facts, &starts).map(|f| file = Some(f))
                        }
                        Job::Append(t) => file.as_mut().map_or(Ok(()), |f| f.append(&t)),
                        Job::Close(totals) => file.take().map_or(Ok(()), |f| f.close(&totals)),
                    };
                    if let Err(e) = r {
                        if let Ok(mut slot) = keep.lock() {
                            *slot = Some(e);
                        }
                        return;
                    }
                }
            })
            .ok();
        Self {
            tx: Some(tx),
            error,
            handle,
        }
    }

    /// Queues `job`; the writer's first error, if it stopped.
    fn send(&self, job: Job) -> Result<(), RecordError> {
        self.check()?;
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(job).is_ok());
        if sent {
            Ok(())
        } else {
            self.check()?;
            Err(RecordError::Writer)
        }
    }

    fn check(&self) -> Result<(), RecordError> {
        match self.error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(RecordError::File(e)),
            None if self.handle.is_none() => Err(RecordError::Writer),
            None => Ok(()),
        }
    }

    /// Waits until every queued job is done.
    fn finish(mut self) -> Result<(), RecordError> {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                return Err(RecordError::Writer);
            }
        }
        match self.error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(RecordError::File(e)),
            None => Ok(()),
        }
    }
}
use crate::layout::EventKind;

/// How to record.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Where to read. Its `lap_policy` and `start` are forced to `Oldest`: the recording
    /// begins with the oldest frame the ring still holds (at the default geometry, up to
    /// ≈ 15 s before the recorder started) and, when lapped, resumes at the oldest frame left.
    pub source: SourceConfig,
    /// The file to write (with `segment`: the name the numbered files are derived from).
    pub out: PathBuf,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Rotate files this often.
    pub segment: Option<Duration>,
    /// Flush at least this often (at most 1 s; default 500 ms).
    pub flush_period: Duration,
    /// Flush early when this many rows and samples are buffered (bounds memory at high
    /// rates).
    pub max_buffered: usize,
    /// Sleep when the ring is empty (default 2 ms). The ring must hold more frames than the
    /// producer writes in this time (2048 slots at 2 ms: up to ≈ 1 M frames/s).
    pub idle_sleep: Duration,
}

impl RecordConfig {
    /// Defaults: flush every 500 ms or every 256 Ki rows and samples, no rotation, 2 ms
    /// sleeps when idle.
    pub fn new(source: SourceConfig, out: impl Into<PathBuf>) -> Self {
        Self {
            source,
            out: out.into(),
            duration: None,
            segment: None,
            flush_period: Duration::from_millis(500),
            max_buffered: 256 * 1024,
            idle_sleep: Duration::from_millis(2),
        }
    }
}

/// Why a recording failed.
#[derive(Debug)]
pub enum RecordError {
    /// The output (or a rotation file, or the catalog) already exists.
    Exists(PathBuf),
    /// No producer, or it refused us.
    Connect(SourceError),
    /// Writing the file failed.
    File(H5Error),
    /// Writing the catalog failed.
    Catalog(PathBuf, std::io::Error),
    /// The writer thread could not be started or died.
    Writer,
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Exists(p) => write!(
                f,
                "{} already exists (a recording is never overwritten)",
                p.display()
            ),
            Self::Connect(e) => write!(f, "{e}"),
            Self::File(e) => write!(f, "{e}"),
            Self::Catalog(p, e) => write!(f, "cannot write catalog {}: {e}", p.display()),
            Self::Writer => write!(f, "the file writer thread stopped"),
        }
    }
}

impl std::error::Error for RecordError {}

/// What a finished recording holds.
#[derive(Debug, Clone)]
pub struct RecordSummary {
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// Rows and samples captured.
    pub captured: Captured,
    /// The reader session's exact counters over the whole recording.
    pub total: Counters,
    /// Producer epochs recorded, in order.
    pub epochs: Vec<u64>,
}

use vitalring_linux::clock::wall_ns;

/// The file of rotation number `n` (`None`: no rotation, the output itself).
pub fn segment_path(out: &Path, n: Option<u32>) -> PathBuf {
    match n {
        None => out.to_path_buf(),
        Some(n) => {
            let stem = out
                .file_stem()
                .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned());
            out.with_file_name(format!("{stem}-{n:03}.h5"))
        }
    }
}

/// The catalog of a rotated recording.
pub fn catalog_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.catalog.csv"))
}

/// One open file and what it covers.
struct Current {
    created: bool,
    path: PathBuf,
    base: Counters,
    base_heartbeats: u64,
    epochs: Vec<u64>,
    first: Option<(u64, u64)>,
    last: Option<(u64, u64)>,
}

impl Current {
    fn new(path: PathBuf, base: Counters, base_heartbeats: u64) -> Self {
        Self {
            created: false,
            path,
            base,
            base_heartbeats,
            epochs: Vec::new(),
            first: None,
            last: None,
        }
    }

    /// Notes the acquisition time and ring index range of rows about to be written.
    fn cover(&mut self, t: &Tables) {
        let mut note = |time: &[u64], index: &[u64]| {
            for (&ti, &ix) in time.iter().zip(index) {
                self.first = Some(self.first.map_or((ti, ix), |(a, b)| (a.min(ti), b.min(ix))));
                self.last = Some(self.last.map_or((ti, ix), |(a, b)| (a.max(ti), b.max(ix))));
            }
        };
        note(&t.vitals.time_ns, &t.vitals.index);
        for w in &t.waves {
            note(&w.chunks.time_ns, &w.chunks.index);
        }
        for &e in &t.epochs.epoch {
            if self.epochs.last() != Some(&e) {
                self.epochs.push(e);
            }
        }
    }
}

struct Recorder<'a> {
    config: &'a RecordConfig,
    live: LiveReader,
    capture: Capture,
    started_unix_ns: u64,
    rotation: Option<u32>,
    files: Vec<PathBuf>,
    epochs: Vec<u64>,
    writer: WriterThread,
}

impl Recorder<'_> {
    fn add_epoch(&mut self) {
        let stats = self.live.stats();
        let header = *self.live.session().reader().header();
        self.capture.add_epoch(
            stats.current.epoch,
            stats.current.start_index,
            header.created_unix_ns,
            stats.geometry.frame_size(),
            stats.geometry.frame_count(),
        );
        if self.epochs.last() != Some(&stats.current.epoch) {
            self.epochs.push(stats.current.epoch);
        }
    }

    fn flush(&mut self, cur: &mut Current) -> Result<(), RecordError> {
        if !cur.created {
            let stats = self.live.stats();
            let facts = FileFacts {
                channel: self.config.source.channel.clone(),
                socket: self.config.source.socket_path.display().to_string(),
                first_epoch: self
                    .capture
                    .pending
                    .epochs
                    .epoch
                    .first()
                    .copied()
                    .unwrap_or(stats.current.epoch),
                frame_size: stats.geometry.frame_size(),
                frame_count: stats.geometry.frame_count(),
                started_unix_ns: self.started_unix_ns,
            };
            self.writer.send(Job::Create(
                cur.path.clone(),
                Box::new(facts),
                *self.capture.starts(),
            ))?;
            cur.created = true;
        }
        cur.cover(&self.capture.pending);
        let rows = std::mem::take(&mut self.capture.pending);
        self.writer.send(Job::Append(Box::new(rows)))
    }

    /// Waits for the writer to finish everything queued.
    fn finish(self) -> Result<(), RecordError> {
        self.writer.finish()
    }

    fn close(&mut self, mut cur: Current) -> Result<(), RecordError> {
        self.flush(&mut cur)?;
        let stats = self.live.stats();
        let mut total = stats.total;
        let base = cur.base;
        total.delivered -= base.delivered.min(total.delivered);
        let dropped = stats.total.dropped().saturating_sub(base.dropped());
        let rejected = stats
            .total
            .rejected
            .total()
            .saturating_sub(base.rejected.total());
        let totals = Totals {
            epochs: cur.epochs.clone(),
            stopped_unix_ns: wall_ns(),
            frames_delivered: total.delivered,
            heartbeat_frames: stats.total_heartbeats.saturating_sub(cur.base_heartbeats),
            frames_dropped: dropped,
            frames_rejected: rejected,
        };
        if cur.created {
            self.writer.send(Job::Close(Box::new(totals)))?;
            self.files.push(cur.path.clone());
        }
        if self.rotation.is_some() {
            let catalog = catalog_path(&self.config.out);
            let new = !catalog.exists();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&catalog)
                .map_err(|e| RecordError::Catalog(catalog.clone(), e))?;
            let (t0, i0) = cur.first.unwrap_or((0, 0));
            let (t1, i1) = cur.last.unwrap_or((0, 0));
            let epochs: Vec<String> = cur.epochs.iter().map(|e| format!("{e:016x}")).collect();
            let mut line = String::new();
            if new {
                line.push_str("file,first_time_ns,last_time_ns,first_index,last_index,epochs\n");
            }
            let name = cur
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            line.push_str(&format!(
                "{name},{t0},{t1},{i0},{i1},{}\n",
                epochs.join(" ")
            ));
            f.write_all(line.as_bytes())
                .map_err(|e| RecordError::Catalog(catalog.clone(), e))?;
        }
        Ok(())
    }
}

/// Records until `stop()` says so, `config.duration` has passed, or writing fails.
///
/// # Errors
/// [`RecordError`]: the output exists, no producer, a write failed.
pub fn record(
    config: &RecordConfig,
    stop: &dyn Fn() -> bool,
) -> Result<RecordSummary, RecordError> {
    let rotation = config.segment.map(|_| 0u32);
    let first_path = segment_path(&config.out, rotation);
    for p in [
        Some(first_path.clone()),
        rotation.map(|_| catalog_path(&config.out)),
    ]
    .into_iter()
    .flatten()
    {
        if p.exists() {
            return Err(RecordError::Exists(p));
        }
    }
    let mut source = config.source.clone();
    source.lap_policy = vitalring_core::slot::LapPolicy::Oldest;
    source.start = vitalring_core::slot::Start::Oldest;
    let live = LiveReader::connect(source).map_err(RecordError::Connect)?;
    let started = Instant::now();
    let mut rec = Recorder {
        config,
        capture: Capture::new(live.session().epoch(), wall_ns),
        live,
        started_unix_ns: wall_ns(),
        rotation,
        files: Vec::new(),
        epochs: Vec::new(),
        writer: WriterThread::start(),
    };
    rec.capture.push_event(
        EventKind::Recorder,
        0,
        0,
        &format!("started on {}", config.source.socket_path.display()),
    );
    rec.capture
        .push_event(EventKind::Connection, 0, 0, "connected");
    rec.add_epoch();
    let mut cur = Current::new(first_path, Counters::default(), 0);
    let flush_period = config.flush_period.min(Duration::from_secs(1));
    let mut next_flush = started + flush_period;
    let mut next_rotation = config.segment.map(|s| started + s);
    let end = config.duration.map(|d| started + d);
    let mut last_busy = started;
    loop {
        let by_signal = stop();
        let stopping = by_signal || end.is_some_and(|e| Instant::now() >= e);
        let mut next = Next::Busy;
        if stopping {
            // Drain what the ring holds now (bounded: at most a ring's worth of batches).
            let rounds = rec.live.stats().geometry.frame_count() / 8 + 2;
            for _ in 0..rounds {
                if rec.live.step(&mut rec.capture) != Next::Busy {
                    break;
                }
            }
        } else {
            next = rec.live.step(&mut rec.capture);
        }
        if rec.capture.take_new_epoch() {
            rec.add_epoch();
        }
        let now = Instant::now();
        if stopping {
            let why = if by_signal {
                "stop requested"
            } else {
                "duration reached"
            };
            rec.capture
                .push_event(EventKind::Recorder, 0, 0, &format!("stopped: {why}"));
            rec.close(cur)?;
            break;
        }
        if next_rotation.is_some_and(|r| now >= r) {
            let n = rec.rotation.map_or(0, |n| n + 1);
            rec.rotation = Some(n);
            let stats = rec.live.stats();
            rec.close(cur)?;
            let path = segment_path(&config.out, Some(n));
            if path.exists() {
                return Err(RecordError::Exists(path));
            }
            cur = Current::new(path, stats.total, stats.total_heartbeats);
            rec.capture.start_file();
            rec.add_epoch();
            next_rotation = config.segment.map(|s| now + s);
            next_flush = now + flush_period;
        } else if now >= next_flush || rec.capture.pending.len() >= config.max_buffered {
            rec.flush(&mut cur)?;
            next_flush = now + flush_period;
        }
        match next {
            Next::Busy => last_busy = now,
            // A recorder needs no latency: at clinical rates one plain sleep, instead of the
            // reader's spin-yield-sleep backoff that costs CPU after every frame; while frames
            // come in full batches (high rates), the backoff, which keeps up best.
            Next::Idle { .. } if now.duration_since(last_busy) > HOT => {
                std::thread::sleep(config.idle_sleep);
            }
            other => rec.live.wait(other),
        }
    }
    let summary = RecordSummary {
        files: rec.files.clone(),
        captured: rec.capture.captured(),
        total: rec.live.stats().total,
        epochs: rec.epochs.clone(),
    };
    rec.finish()?;
    Ok(summary)
}
