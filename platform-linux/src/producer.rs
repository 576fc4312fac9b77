//! [`SharedMemoryProducer`]: a sealed memfd ring, its single writer, and the control server
//! that hands the memfd to readers.
//!
//! There is deliberately **no** background thread that keeps the heartbeat alive: the writing
//! loop refreshes it (every commit does, and [`SharedMemoryProducer::heartbeat_if_due`] does
//! when idle). A writer that hangs therefore looks stalled to every reader, even though its
//! control server thread may still be answering handshakes.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use vitalring_core::frame::{FrameMeta, WriteError};
use vitalring_core::layout::{Encoding, Geometry};
use vitalring_core::payload::Record;
use vitalring_core::region::{Region, RegionError, RegionRef};
use vitalring_core::slot::Writer;
use vitalring_core::time::{UnixMs, UnixNs};

use crate::clock;
use crate::map::RwMapping;
use crate::paths::{default_socket_path, ensure_private_dir, DirError};
use crate::process::{set_non_dumpable, HardenError};
use crate::ring::{create_sealed_ring, random_epoch, RingError};
use crate::server::{
    ControlServer, ListenError, LogFn, RingOffer, ServerConfig, ServerStats, DEFAULT_MAX_PENDING,
    DEFAULT_MAX_PENDING_PER_UID,
};
use crate::token::Token;
use crate::wire::valid_channel;

/// Idle heartbeat period of [`SharedMemoryProducer::heartbeat_if_due`] (the wire format asks for
/// at least every 50 ms; readers declare a stall after 250 ms).
pub const HEARTBEAT_PERIOD: Duration = Duration::from_millis(20);

/// How a producer is set up.
#[derive(Clone)]
pub struct ProducerConfig {
    /// Channel name (also the default socket file name).
    pub channel: String,
    /// Socket path; `None` for the default (`$XDG_RUNTIME_DIR/vitalring/<channel>.sock`).
    pub socket_path: Option<PathBuf>,
    /// Ring geometry.
    pub geometry: Geometry,
    /// Require this token from readers.
    pub token: Option<Token>,
    /// Peer uids allowed besides our own.
    pub allowed_uids: Vec<u32>,
    /// Deadline for a client's Hello.
    pub handshake_timeout: Duration,
    /// Pending handshakes in total (see [`crate::server`] for the eviction policy).
    pub max_pending: usize,
    /// Pending handshakes of one peer uid.
    pub max_pending_per_uid: usize,
    /// Server event sink (`None`: refusals to stderr).
    pub log: Option<LogFn>,
    /// Fixed epoch (tests); `None` draws a random one.
    pub epoch: Option<u64>,
    /// What `describe`, `stats` and commands are answered with (see [`crate::request`]).
    pub requests: crate::request::RequestConfig,
}

impl core::fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("channel", &self.channel)
            .field("socket_path", &self.socket_path)
            .field("geometry", &self.geometry)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("allowed_uids", &self.allowed_uids)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .field("max_pending_per_uid", &self.max_pending_per_uid)
            .field("epoch", &self.epoch)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl ProducerConfig {
    /// Defaults for `channel`: default socket path and geometry, no token, same uid only.
    pub fn new(channel: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            socket_path: None,
            geometry: Geometry::DEFAULT,
            token: None,
            allowed_uids: Vec::new(),
            handshake_timeout: Duration::from_secs(1),
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_per_uid: DEFAULT_MAX_PENDING_PER_UID,
            log: None,
            epoch: None,
            requests: crate::request::RequestConfig::default(),
        }
    }
}

/// Why a producer could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProducerError {
    /// The channel name is invalid.
    InvalidChannel(String),
    /// The default socket directory is unusable.
    Dir(DirError),
    /// The ring could not be created.
    Ring(RingError),
    /// The control socket could not be set up.
    Listen(ListenError),
    /// The process could not be made non-dumpable.
    Harden(HardenError),
    /// The channel metadata breaks a rule.
    Meta(crate::request::MetaError),
}

impl core::fmt::Display for ProducerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidChannel(c) => write!(f, "invalid channel name {c:?}"),
            Self::Dir(e) => write!(f, "{e}"),
            Self::Ring(e) => write!(f, "{e}"),
            Self::Listen(e) => write!(f, "{e}"),
            Self::Harden(e) => write!(f, "{e}"),
            Self::Meta(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProducerError {}

/// A producer: owns the ring's writer and (unless created with
/// [`SharedMemoryProducer::without_server`]) the control server.
pub struct SharedMemoryProducer {
    writer: Writer<RwMapping>,
    fd: Arc<OwnedFd>,
    server: Option<ControlServer>,
    /// The readers' status pages the writer checks after each commit (none without a server).
    wake: Option<crate::lease::WakeSet>,
    /// Whether the wake path runs (on by default; off only for measuring its cost).
    wake_enabled: bool,
    /// `FUTEX_WAKE`s issued so far.
    wakes: u64,
    last_beat_ns: u64,
    last_beat_ms: u64,
    figures: Arc<crate::request::ProducerFigures>,
}

impl core::fmt::Debug for SharedMemoryProducer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMemoryProducer")
            .field("epoch", &self.writer.epoch())
            .field("geometry", &self.writer.geometry())
            .field("published", &self.writer.published())
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Short name for [`SharedMemoryProducer`].
pub type Producer = SharedMemoryProducer;

impl SharedMemoryProducer {
    /// Creates the sealed ring and starts serving it on the control socket.
    ///
    /// # Errors
    /// [`ProducerError`].
    pub fn create(config: ProducerConfig) -> Result<Self, ProducerError> {
        if !valid_channel(&config.channel) {
            return Err(ProducerError::InvalidChannel(config.channel));
        }
        let path = match &config.socket_path {
            Some(p) => p.clone(),
            None => {
                let p = default_socket_path(&config.channel).map_err(ProducerError::Dir)?;
                if let Some(dir) = p.parent() {
                    ensure_private_dir(dir).map_err(ProducerError::Dir)?;
                }
                p
            }
        };
        config
            .requests
            .meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check()
            .map_err(ProducerError::Meta)?;
        let epoch = config
            .epoch
            .filter(|e| *e != 0)
            .unwrap_or_else(random_epoch);
        let mut producer = Self::without_server(&config.channel, config.geometry, epoch)?;
        producer.figures = Arc::clone(&config.requests.figures);
        let server = ControlServer::start(
            ServerConfig {
                path,
                channel: config.channel,
                token: config.token,
                allowed_uids: config.allowed_uids,
                handshake_timeout: config.handshake_timeout,
                max_pending: config.max_pending,
                max_pending_per_uid: config.max_pending_per_uid,
                log: config.log,
                requests: config.requests,
            },
            RingOffer {
                fd: Arc::clone(&producer.fd),
                geometry: config.geometry,
                epoch,
            },
        )
        .map_err(ProducerError::Listen)?;
        producer.wake = Some(server.reader_table().wake_set());
        producer.server = Some(server);
        Ok(producer)
    }

    /// A sealed ring with no control socket (in-process readers, benchmarks, tests).
    ///
    /// Makes the process non-dumpable first ([`crate::process::set_non_dumpable`]): the writable
    /// mapping of the ring must not be reachable through `/proc/<pid>/mem` by other processes
    /// of the same uid.
    ///
    /// # Errors
    /// [`ProducerError::Harden`], [`ProducerError::Ring`].
    pub fn without_server(
        channel: &str,
        geometry: Geometry,
        epoch: u64,
    ) -> Result<Self, ProducerError> {
        set_non_dumpable().map_err(ProducerError::Harden)?;
        let name = CString::new(format!("vitalring:{channel}"))
            .unwrap_or_else(|_| CString::from(c"vitalring"));
        let epoch = if epoch == 0 { random_epoch() } else { epoch };
        let (fd, writer) =
            create_sealed_ring(&name, geometry, epoch).map_err(ProducerError::Ring)?;
        Ok(Self {
            writer,
            fd: Arc::new(fd),
            server: None,
            wake: None,
            wake_enabled: true,
            wakes: 0,
            last_beat_ns: clock::monotonic_ns(),
            last_beat_ms: clock::wall_ms(),
            figures: Arc::default(),
        })
    }

    /// The sealed memfd (to pass to an in-process reader, e.g. with
    /// [`crate::client::check_ring_fd`] and a read-only mapping).
    pub fn memfd(&self) -> &Arc<OwnedFd> {
        &self.fd
    }

    /// The producer epoch.
    pub fn epoch(&self) -> u64 {
        self.writer.epoch()
    }

    /// The ring geometry.
    pub fn geometry(&self) -> Geometry {
        self.writer.geometry()
    }

    /// Frames published so far (the next frame's index).
    pub fn published(&self) -> u64 {
        self.writer.published()
    }

    /// The control socket path, if serving.
    pub fn socket_path(&self) -> Option<&Path> {
        self.server.as_ref().map(ControlServer::path)
    }

    /// The readers attached now (empty without a server).
    pub fn readers(&self) -> Vec<crate::lease::ReaderInfo> {
        self.server
            .as_ref()
            .map(ControlServer::readers)
            .unwrap_or_default()
    }

    /// Control-server counts (zero without a server).
    pub fn server_stats(&self) -> ServerStats {
        self.server
            .as_ref()
            .map(ControlServer::stats)
            .unwrap_or_default()
    }

    /// The next heartbeat value: the wall clock in ms. When `must_move` and the clock still
    /// reads the last stored value (same millisecond, or a clock stepped back onto it), the
    /// value is nudged by 1 ms so readers see movement. The nudge never accumulates: the next
    /// call starts again from the wall clock, so a burst of heartbeats cannot push the value
    /// into the future, and a wall clock stepped backwards is followed at once (the watchdog
    /// only looks for change, never for order).
    fn beat_value(&mut self, must_move: bool) -> UnixMs {
        let now = clock::wall_ms();
        self.last_beat_ms = if must_move && now == self.last_beat_ms {
            now.wrapping_add(1)
        } else {
            now
        };
        self.last_beat_ns = clock::monotonic_ns();
        UnixMs(self.last_beat_ms)
    }

    /// Encodes and publishes a record stamped `timestamp_ns`; returns its ring index.
    ///
    /// # Errors
    /// [`WriteError`] (invalid record, payload too large).
    pub fn publish_record(
        &mut self,
        record: &Record,
        encoding: Encoding,
        timestamp_ns: u64,
    ) -> Result<u64, WriteError> {
        let now = self.beat_value(false);
        let r = self
            .writer
            .publish_record(record, encoding, UnixNs(timestamp_ns), now);
        self.figures.note(self.writer.published(), now.0);
        self.wake_sleepers();
        r
    }

    /// Publishes a raw payload (no encoding or validation of the payload; readers still check
    /// everything). Returns its ring index.
    ///
    /// # Errors
    /// [`WriteError::PayloadTooLarge`].
    pub fn publish_raw(&mut self, meta: FrameMeta, payload: &[u8]) -> Result<u64, WriteError> {
        let now = self.beat_value(false);
        let r = self.writer.publish(meta, payload, now);
        self.figures.note(self.writer.published(), now.0);
        self.wake_sleepers();
        r
    }

    /// Publishes an empty heartbeat frame (type 3); returns its ring index.
    pub fn publish_heartbeat(&mut self) -> u64 {
        let now = self.beat_value(true);
        let r = self.writer.publish_heartbeat(clock::wall(), now);
        self.figures.note(self.writer.published(), now.0);
        self.wake_sleepers();
        r
    }

    /// After a commit: wakes readers that sleep (no system call when none does).
    #[inline]
    fn wake_sleepers(&mut self) {
        if self.wake_enabled {
            if let Some(w) = &mut self.wake {
                self.wakes += u64::from(w.wake());
            }
        }
    }

    /// `FUTEX_WAKE`s this producer's writer issued after commits so far (one per sleeping
    /// reader per commit that found it asleep).
    pub fn wakes(&self) -> u64 {
        self.wakes
    }

    /// Turns the wake path off (`false`) or on. Off, readers that sleep are only woken by
    /// their timeouts: for measuring the wake path's cost, never for production.
    pub fn set_wake_enabled(&mut self, on: bool) {
        self.wake_enabled = on;
    }

    /// Marks the ring "producer stopped" (also done on drop): readers deliver what was
    /// published, then report the producer stopped instead of a stall.
    pub fn mark_stopped(&self) {
        self.writer.mark_stopped();
        // Readers that sleep learn it at once (their re-check sees the stop mark).
        if let Some(s) = &self.server {
            s.reader_table().wake_now();
        }
    }

    /// Refreshes `heartbeatTimestamp` if at least [`HEARTBEAT_PERIOD`] passed since the last
    /// refresh or commit; returns whether it did. Call it from the writing loop.
    pub fn heartbeat_if_due(&mut self) -> bool {
        let now = clock::monotonic_ns();
        if now.saturating_sub(self.last_beat_ns) < HEARTBEAT_PERIOD.as_nanos() as u64 {
            return false;
        }
        let v = self.beat_value(true);
        self.writer.heartbeat(v);
        self.figures.note(self.writer.published(), v.0);
        true
    }

    /// The writable view of the ring (fault injection, diagnostics).
    pub fn region(&self) -> RegionRef<'_> {
        self.writer.region().region()
    }

    /// **Test/fault hook** (the simulator's `corrupt` scenario): flips bit `bit` (counted from
    /// bit 0 of byte 0 of the slot, `0 .. 8 * frameSizeBytes`) of the slot that holds ring index
    /// `index`. Readers that read the frame afterwards must reject it (CRC) — or drop it, if the
    /// flipped bit is in the `commit` word (bits 32..64).
    ///
    /// # Errors
    /// [`RegionError::OutOfBounds`] for a bit outside the slot.
    pub fn corrupt_frame(&self, index: u64, bit: usize) -> Result<(), RegionError> {
        let g = self.writer.geometry();
        if bit >= g.frame_size() as usize * 8 {
            return Err(RegionError::OutOfBounds);
        }
        self.region()
            .flip_bit(g.slot_offset(index) + bit / 8, (bit % 8) as u8)
    }
}

impl Drop for SharedMemoryProducer {
    /// A clean exit: readers deliver what was published, then report "producer stopped"
    /// (a crash, which runs no destructor, shows as a stall instead).
    fn drop(&mut self) {
        self.mark_stopped();
    }
}
