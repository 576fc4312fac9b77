//! The control server: a Unix stream socket that hands the ring memfd to authorised readers.
//!
//! `SOCK_STREAM` (not `SEQPACKET`) so that `nc -U`, seed 000's client and any C program can
//! talk to it; the fixed-size [`Hello`] is read in full with a deadline.
//!
//! # One event loop, no thread per client
//!
//! A single thread `poll`s the listener, a wake pipe (closed on drop) and every *pending*
//! connection (accepted, Hello not complete yet). All sockets are non-blocking, so a silent
//! client costs one descriptor and one `pollfd`, never a thread, and cannot delay anyone else.
//!
//! Per connection, in order:
//!
//! 1. `accept`, then `SO_PEERCRED`: a uid that is neither ours nor allow-listed is answered
//!    `UidNotAllowed` at once and closed — it never occupies a pending slot;
//! 2. the Hello is read at once (a client sends it right after connecting, so it is usually
//!    already there); a complete Hello is served immediately, without ever being pending;
//! 3. otherwise the connection becomes pending, with a deadline of
//!    [`ServerConfig::handshake_timeout`] counted **from accept** for the whole Hello;
//!    magic and version are checked on the first bytes, so a foreign client is answered early;
//! 4. Hello parsed → channel → token (constant time) → reply `ControlMessage` with the memfd in
//!    `SCM_RIGHTS`. Any failure is answered with a failure status (no descriptor), logged
//!    through [`ServerConfig::log`], and the connection closed.
//!
//! # Pending-connection policy (why flooding cannot lock readers out)
//!
//! Pending connections are capped per peer uid ([`ServerConfig::max_pending_per_uid`]) and in
//! total ([`ServerConfig::max_pending`]). A newcomer is **never** refused because the caps are
//! full; instead the server makes room:
//!
//! - if the newcomer's uid is at its cap, the **oldest** pending connection of that uid is
//!   evicted;
//! - else, if the total is at its cap, the oldest pending connection of the uid that holds the
//!   **most** pending connections is evicted (so one uid cannot crowd out another).
//!
//! The victim first gets one last non-blocking read (its Hello may just have arrived, in which
//! case it is served, not evicted); an evicted connection is answered `Busy` and closed. A
//! legitimate client sends its Hello right after `connect`, so it is served before
//! `max_pending_per_uid` newer connections of a flooding uid could push it out; and if it ever
//! is pushed out, `Busy` tells it to retry ([`crate::client::connect_retrying`]). Silent
//! connections therefore cost their owner's share only, and a flood of them merely keeps
//! evicting itself.
//!
//! `Busy` is also the answer when the process runs out of descriptors (`EMFILE`/`ENFILE`): a
//! descriptor kept in reserve is released to accept the connection, answer it and close it,
//! so the listener's backlog never fills with connections nobody answers.
//!
//! The default stderr log is rate-limited (a flood must not become a disk-filling log); a
//! [`ServerConfig::log`] callback sees every event.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    self, getsockopt, sockopt, AddressFamily, Backlog, ControlMessage as Cmsg, MsgFlags, SockFlag,
    SockType, UnixAddr,
};
use nix::unistd::geteuid;
use vitalring_core::layout::Geometry;

use crate::token::Token;
use crate::wire::{valid_channel, ControlMessage, Hello, Status, WireError, HELLO_SIZE};

/// Receives every [`ServeEvent`] (called on the server thread).
pub type LogFn = Arc<dyn Fn(&ServeEvent) + Send + Sync>;

/// Default total cap on pending handshakes.
pub const DEFAULT_MAX_PENDING: usize = 128;
/// Default cap on pending handshakes of one peer uid.
pub const DEFAULT_MAX_PENDING_PER_UID: usize = 32;

/// How a control server behaves.
#[derive(Clone)]
pub struct ServerConfig {
    /// Socket path (see [`crate::paths`] for the default).
    pub path: PathBuf,
    /// The one channel this server serves.
    pub channel: String,
    /// If set, clients must present this token.
    pub token: Option<Token>,
    /// Peer uids allowed in addition to our own effective uid (empty: same uid only).
    pub allowed_uids: Vec<u32>,
    /// Deadline for a client's whole Hello, counted from `accept`.
    pub handshake_timeout: Duration,
    /// Pending handshakes (accepted, Hello incomplete) in total; beyond it the oldest pending
    /// connection of the uid holding the most is evicted (answered `Busy`).
    pub max_pending: usize,
    /// Pending handshakes of one peer uid; beyond it that uid's oldest pending connection is
    /// evicted (answered `Busy`).
    pub max_pending_per_uid: usize,
    /// Where events go; `None` prints refusals to stderr (rate-limited).
    pub log: Option<LogFn>,
    /// What requests (`describe`, `stats`, commands) are answered with, and who may command.
    pub requests: crate::request::RequestConfig,
}

impl core::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("path", &self.path)
            .field("channel", &self.channel)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("allowed_uids", &self.allowed_uids)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .field("max_pending_per_uid", &self.max_pending_per_uid)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults for `channel` at `path`: same uid only, no token, 1 s handshake timeout,
    /// [`DEFAULT_MAX_PENDING`] pending handshakes in total and [`DEFAULT_MAX_PENDING_PER_UID`]
    /// per uid, refusals logged to stderr.
    pub fn new(path: PathBuf, channel: &str) -> Self {
        Self {
            path,
            channel: channel.to_owned(),
            token: None,
            allowed_uids: Vec::new(),
            handshake_timeout: Duration::from_secs(1),
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_per_uid: DEFAULT_MAX_PENDING_PER_UID,
            log: None,
            requests: crate::request::RequestConfig::default(),
        }
    }
}

/// What happened to one connection (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeEvent {
    /// The memfd was handed to a reader.
    Served {
        /// Peer uid.
        uid: u32,
        /// Peer pid.
        pid: i32,
    },
    /// The connection was refused (answered with a failure status, or closed).
    Refused {
        /// Peer uid, if known.
        uid: Option<u32>,
        /// Peer pid, if known.
        pid: Option<i32>,
        /// Why.
        error: ServeError,
    },
    /// `accept` itself failed (e.g. `EMFILE`); the server keeps going.
    AcceptFailed(Errno),
    /// A request (`describe`, `stats`, a command) was answered (see [`crate::request`]).
    Answered {
        /// Peer uid.
        uid: u32,
        /// Peer pid.
        pid: i32,
        /// What was asked (`describe`, `stats`, the command's words), or why it was invalid.
        request: String,
        /// The answer's status.
        status: crate::request::RequestStatus,
    },
    /// A reader that holds a lease (it asked for a status page) was handed the ring.
    Attached {
        /// Its id in [`crate::ControlServer::readers`].
        id: u64,
        /// Peer uid.
        uid: u32,
        /// Peer pid.
        pid: i32,
    },
    /// A reader's lease ended (its connection closed: it exited, crashed or was killed); its
    /// entry and status page are gone.
    Detached {
        /// Its last view (position and counters as its page last said).
        reader: crate::lease::ReaderInfo,
    },
}

impl core::fmt::Display for ServeEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Served { uid, pid } => write!(f, "served ring to pid {pid} uid {uid}"),
            Self::Refused { uid, pid, error } => {
                write!(f, "refused client")?;
                if let Some(p) = pid {
                    write!(f, " pid {p}")?;
                }
                if let Some(u) = uid {
                    write!(f, " uid {u}")?;
                }
                write!(f, ": {error}")
            }
            Self::AcceptFailed(e) => write!(f, "accept failed: {}", e.desc().to_lowercase()),
            Self::Answered {
                uid,
                pid,
                request,
                status,
            } => write!(f, "request {request} from pid {pid} uid {uid}: {status}"),
            Self::Attached { id, uid, pid } => {
                write!(f, "reader {id} attached: pid {pid} uid {uid}")
            }
            Self::Detached { reader: r } => write!(
                f,
                "reader {} detached: pid {} uid {} (delivered {}, dropped {}, rejected {})",
                r.id, r.pid, r.uid, r.delivered, r.dropped, r.rejected
            ),
        }
    }
}

/// Why one connection was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeError {
    /// `SO_PEERCRED` failed.
    PeerCred(Errno),
    /// The peer's uid is not allowed.
    UidNotAllowed(u32),
    /// The client sent nothing, or not a whole Hello, within the timeout.
    Timeout {
        /// Bytes received.
        got: usize,
    },
    /// The client closed the connection before a whole Hello.
    Closed {
        /// Bytes received.
        got: usize,
    },
    /// The Hello was not valid.
    Wire(WireError),
    /// The Hello asked for another channel.
    UnknownChannel(String),
    /// Token missing or wrong.
    BadToken,
    /// Evicted while pending: its uid (or the server) had too many pending handshakes and
    /// this was the oldest one (answered `Busy`).
    Evicted {
        /// Hello bytes received before eviction.
        got: usize,
    },
    /// The server had no descriptor left to handle the connection (answered `Busy` at once).
    Busy,
    /// Reading or replying failed.
    Io(Errno),
}

impl ServeError {
    /// The status the client is answered with.
    pub fn status(&self) -> Status {
        match self {
            Self::PeerCred(_) | Self::Io(_) => Status::Internal,
            Self::UidNotAllowed(_) => Status::UidNotAllowed,
            Self::Timeout { .. } | Self::Closed { .. } => Status::Malformed,
            Self::Wire(w) => w.status(),
            Self::UnknownChannel(_) => Status::UnknownChannel,
            Self::BadToken => Status::BadToken,
            Self::Evicted { .. } | Self::Busy => Status::Busy,
        }
    }
}

impl core::fmt::Display for ServeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::PeerCred(e) => write!(
                f,
                "cannot read peer credentials: {}",
                e.desc().to_lowercase()
            ),
            Self::UidNotAllowed(u) => write!(f, "uid {u} is not allowed"),
            Self::Timeout { got } => write!(
                f,
                "no complete hello within the timeout ({got} of {HELLO_SIZE} bytes)"
            ),
            Self::Closed { got } => write!(
                f,
                "client closed the connection after {got} of {HELLO_SIZE} hello bytes"
            ),
            Self::Wire(w) => write!(f, "invalid hello: {w}"),
            Self::UnknownChannel(c) => write!(f, "unknown channel {c:?}"),
            Self::BadToken => write!(f, "missing or wrong token"),
            Self::Evicted { got } => write!(
                f,
                "evicted after {got} of {HELLO_SIZE} hello bytes: too many pending handshakes, \
                 this was the oldest"
            ),
            Self::Busy => write!(f, "out of file descriptors, refused at once"),
            Self::Io(e) => write!(f, "socket error: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for ServeError {}

/// Why a control socket could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenError {
    /// The channel name is invalid.
    InvalidChannel(String),
    /// The socket directory is missing, unsafe or not creatable.
    Dir(crate::paths::DirError),
    /// A live producer answers on the path.
    InUse(PathBuf),
    /// Something that is not a socket exists at the path.
    NotASocket(PathBuf),
    /// The path is longer than `sun_path` allows.
    PathTooLong(PathBuf),
    /// Permission denied binding or replacing the socket.
    PermissionDenied(PathBuf),
    /// Another error (socket, bind, chmod, listen, pipe, thread).
    Other(Errno),
}

impl core::fmt::Display for ListenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidChannel(c) => write!(f, "invalid channel name {c:?}"),
            Self::Dir(e) => write!(f, "{e}"),
            Self::InUse(p) => write!(f, "another producer is serving {}", p.display()),
            Self::NotASocket(p) => {
                write!(
                    f,
                    "{} exists and is not a socket; refusing to replace it",
                    p.display()
                )
            }
            Self::PathTooLong(p) => write!(f, "socket path {} is too long", p.display()),
            Self::PermissionDenied(p) => write!(f, "permission denied on {}", p.display()),
            Self::Other(e) => write!(f, "cannot listen: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for ListenError {}

/// What the server hands out.
#[derive(Debug, Clone)]
pub struct RingOffer {
    /// The sealed ring memfd.
    pub fd: Arc<OwnedFd>,
    /// Its geometry.
    pub geometry: Geometry,
    /// Its producer epoch.
    pub epoch: u64,
}

/// Connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Readers handed the memfd.
    pub served: u64,
    /// Connections refused (evictions included).
    pub refused: u64,
    /// Of `refused`: pending connections evicted to make room for newer ones.
    pub evicted: u64,
    /// Requests answered (any status).
    pub requests: u64,
}

struct Shared {
    config: ServerConfig,
    offer: RingOffer,
    served: AtomicU64,
    refused: AtomicU64,
    evicted: AtomicU64,
    stop: AtomicBool,
    readers: crate::lease::ReaderTable,
    requests: AtomicU64,
}

/// A running control server. Dropping it stops the server thread and removes the socket file
/// (only if the file is still the one this server bound).
pub struct ControlServer {
    shared: Arc<Shared>,
    wake: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
    identity: (u64, u64),
}

impl core::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ControlServer")
            .field("path", &self.shared.config.path)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

fn timeval(d: Duration) -> nix::sys::time::TimeVal {
    let us = d.as_micros().clamp(1, i64::MAX as u128) as i64;
    nix::sys::time::TimeVal::new(us / 1_000_000, (us % 1_000_000) as _)
}

/// A connected stream socket to `path` with send/receive timeouts of `timeout` (a Unix
/// `connect` honours the send timeout when the listener's backlog is full).
pub(crate) fn connect_stream(path: &Path, timeout: Duration) -> Result<UnixStream, Errno> {
    let addr = UnixAddr::new(path)?;
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    socket::setsockopt(&fd, sockopt::SendTimeout, &timeval(timeout))?;
    socket::setsockopt(&fd, sockopt::ReceiveTimeout, &timeval(timeout))?;
    loop {
        match socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(UnixStream::from(fd))
}

/// Probes an existing socket file: `Ok(true)` if someone answers.
fn someone_listens(path: &Path) -> Result<bool, ListenError> {
    match connect_stream(path, Duration::from_millis(250)) {
        Ok(_) => Ok(true),
        Err(Errno::ECONNREFUSED) => Ok(false),
        // Backlog full: a live (if busy) server.
        Err(Errno::EAGAIN) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(Errno::EACCES | Errno::EPERM) => Err(ListenError::PermissionDenied(path.to_owned())),
        Err(e) => Err(ListenError::Other(e)),
    }
}

fn bind_listener(path: &Path) -> Result<(UnixListener, (u64, u64)), ListenError> {
    UnixAddr::new(path).map_err(|_| ListenError::PathTooLong(path.to_owned()))?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if !meta.file_type().is_socket() {
                return Err(ListenError::NotASocket(path.to_owned()));
            }
            if someone_listens(path)? {
                return Err(ListenError::InUse(path.to_owned()));
            }
            // A stale socket of a dead producer: replace it.
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(match errno(&e) {
                        Errno::EACCES | Errno::EPERM => {
                            ListenError::PermissionDenied(path.to_owned())
                        }
                        other => ListenError::Other(other),
                    })
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ListenError::Other(errno(&e))),
    }
    // Bind, chmod and listen under a private temporary name, then hard-link it to `path`: the
    // socket file appears only once someone listens on it with mode 0600 (a reader that sees
    // the file never gets "stale socket" from a producer that is still starting), and `link`
    // fails with `EEXIST` instead of replacing a socket another producer just created.
    let tmp = binding_name(path);
    let tmp_addr = UnixAddr::new(&tmp).map_err(|_| ListenError::PathTooLong(path.to_owned()))?;
    let _ = std::fs::remove_file(&tmp);
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(ListenError::Other)?;
    socket::bind(fd.as_raw_fd(), &tmp_addr).map_err(|e| match e {
        Errno::EACCES | Errno::EPERM => ListenError::PermissionDenied(path.to_owned()),
        other => ListenError::Other(other),
    })?;
    let undo = |e: ListenError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    // Before `listen`, nobody can connect: set the mode first so there is no window.
    let meta = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::symlink_metadata(&tmp))
        .map_err(|e| undo(ListenError::Other(errno(&e))))?;
    socket::listen(&fd, Backlog::new(64).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| undo(ListenError::Other(e)))?;
    let listener = UnixListener::from(fd);
    listener
        .set_nonblocking(true)
        .map_err(|e| undo(ListenError::Other(errno(&e))))?;
    std::fs::hard_link(&tmp, path).map_err(|e| {
        undo(match errno(&e) {
            // Another producer appeared between our probe and now.
            Errno::EEXIST => ListenError::InUse(path.to_owned()),
            Errno::EACCES | Errno::EPERM => ListenError::PermissionDenied(path.to_owned()),
            other => ListenError::Other(other),
        })
    })?;
    let _ = std::fs::remove_file(&tmp);
    Ok((listener, (meta.dev(), meta.ino())))
}

/// A short, private temporary name next to `path` to bind under before linking to `path`.
fn binding_name(path: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".vr{}.{n}", std::process::id()))
}

impl ControlServer {
    /// Binds `config.path` (replacing a stale socket, refusing a live one) with mode `0600`,
    /// and starts serving `offer` on a background thread.
    ///
    /// # Errors
    /// [`ListenError`].
    pub fn start(config: ServerConfig, offer: RingOffer) -> Result<Self, ListenError> {
        if !valid_channel(&config.channel) {
            return Err(ListenError::InvalidChannel(config.channel.clone()));
        }
        let (listener, identity) = bind_listener(&config.path)?;
        let path = config.path.clone();
        let cleanup = |e: ListenError| {
            let _ = std::fs::remove_file(&path);
            e
        };
        let (wake_r, wake_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| cleanup(ListenError::Other(e)))?;
        let reserve = reserve_fd().map_err(|e| cleanup(ListenError::Other(e)))?;
        // The server's own read-only view of the ring, for the readers' lag.
        let ring = crate::map::RoMapping::map(offer.fd.as_fd(), offer.geometry.region_len()).ok();
        let shared = Arc::new(Shared {
            config,
            offer,
            served: AtomicU64::new(0),
            readers: crate::lease::ReaderTable::with_ring(ring),
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            requests: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vitalring-control".into())
            .spawn(move || {
                EventLoop {
                    shared: &s,
                    listener: &listener,
                    pending: Vec::new(),
                    leases: Vec::new(),
                    reserve: Some(reserve),
                    stderr: StderrLimit::default(),
                }
                .run(&wake_r);
            })
            .map_err(|e| cleanup(ListenError::Other(errno(&e))))?;
        Ok(Self {
            shared,
            wake: Some(wake_w),
            thread: Some(thread),
            identity,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.shared.config.path
    }

    /// The readers attached now (a snapshot).
    pub fn readers(&self) -> Vec<crate::lease::ReaderInfo> {
        self.shared.readers.snapshot()
    }

    /// The live reader table (the producer's writer takes its [`crate::lease::WakeSet`] here).
    pub fn reader_table(&self) -> &crate::lease::ReaderTable {
        &self.shared.readers
    }

    /// Counts so far.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            served: self.shared.served.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            evicted: self.shared.evicted.load(Ordering::Relaxed),
            requests: self.shared.requests.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Closing the write end makes the read end readable (EOF): the server thread wakes.
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Remove the socket file only if it is still ours (a newer producer may have replaced
        // a socket it believed stale).
        let path = &self.shared.config.path;
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if (meta.dev(), meta.ino()) == self.identity {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A descriptor held in reserve for `EMFILE`: released to accept and answer one connection.
fn reserve_fd() -> Result<OwnedFd, Errno> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| errno(&e))
}

/// Connections accepted per wake-up before pending ones are read again.
const ACCEPT_BURST: usize = 32;

/// An accepted connection whose Hello is not complete yet.
struct Pending {
    stream: UnixStream,
    uid: u32,
    pid: i32,
    deadline: Instant,
    /// A Hello, or a request (header and body, see [`crate::request`]).
    buf: [u8; crate::request::MAX_REQUEST],
    got: usize,
}

/// What one non-blocking read step made of a pending connection.
enum Step {
    /// Still incomplete, nothing wrong so far.
    More,
    /// A whole, valid Hello.
    Hello(Hello),
    /// Refuse with this error.
    Fail(ServeError),
    /// A whole request, or the reason it is not valid (answered by [`crate::request`]).
    Request(Result<crate::request::Request, crate::request::RequestError>),
}

impl Pending {
    /// Reads whatever has arrived (never blocks).
    fn step(&mut self) -> Step {
        loop {
            // The first 4 bytes say whether this is a Hello or a request (and how long).
            let need = match crate::request::request_len(&self.buf[..self.got]) {
                None => HELLO_SIZE,
                Some(Ok(n)) => n,
                Some(Err(e)) => return Step::Request(Err(e)),
            };
            if self.got >= need {
                break;
            }
            match socket::recv(
                self.stream.as_raw_fd(),
                &mut self.buf[self.got..need],
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(0) => {
                    // Say precisely what was wrong with what did arrive, if anything.
                    if let Err(w) = Hello::check_prefix(&self.buf[..self.got]) {
                        return Step::Fail(ServeError::Wire(w));
                    }
                    return Step::Fail(ServeError::Closed { got: self.got });
                }
                Ok(n) => {
                    self.got += n;
                    let request = crate::request::request_len(&self.buf[..self.got]).is_some();
                    if let (false, Err(w)) = (request, Hello::check_prefix(&self.buf[..self.got])) {
                        return Step::Fail(ServeError::Wire(w));
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Step::More,
                Err(e) => return Step::Fail(ServeError::Io(e)),
            }
        }
        if crate::request::request_len(&self.buf[..self.got]).is_some() {
            return Step::Request(crate::request::Request::parse(&self.buf[..self.got]));
        }
        match Hello::parse(&self.buf[..self.got]) {
            Ok(h) => Step::Hello(h),
            Err(w) => Step::Fail(ServeError::Wire(w)),
        }
    }
}

/// Rate limit of the default stderr log: at most this many lines a second.
const STDERR_LINES_PER_SEC: u32 = 20;

#[derive(Default)]
struct StderrLimit {
    window: Option<Instant>,
    printed: u32,
    suppressed: u64,
}

/// Most leases (readers with a status page) one server holds; beyond it a reader is served
/// without a page (it polls, and the producer does not list it).
pub const MAX_LEASES: usize = 256;

/// A served reader's open connection: its lease.
struct Lease {
    stream: UnixStream,
    id: u64,
}

struct EventLoop<'a> {
    shared: &'a Shared,
    listener: &'a UnixListener,
    /// In accept order: index 0 is the oldest.
    pending: Vec<Pending>,
    leases: Vec<Lease>,
    reserve: Option<OwnedFd>,
    stderr: StderrLimit,
}

impl EventLoop<'_> {
    fn log(&mut self, event: &ServeEvent) {
        if let Some(f) = &self.shared.config.log {
            f(event);
            return;
        }
        // Attach and detach lines (with pid and uid) are printed like refusals, through the
        // same rate limit; plain `Served` (a version-1 reader without a lease) and answered
        // requests are not.
        if matches!(
            event,
            ServeEvent::Served { .. }
                | ServeEvent::Answered {
                    status: crate::request::RequestStatus::Ok,
                    ..
                }
        ) {
            return;
        }
        let now = Instant::now();
        let path = self.shared.config.path.display();
        let l = &mut self.stderr;
        if l.window
            .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(1))
        {
            if l.suppressed > 0 {
                eprintln!(
                    "vitalring: control {path}: {} more refusals not shown",
                    l.suppressed
                );
            }
            *l = StderrLimit {
                window: Some(now),
                ..StderrLimit::default()
            };
        }
        if l.printed < STDERR_LINES_PER_SEC {
            l.printed += 1;
            eprintln!("vitalring: control {path}: {event}");
        } else {
            l.suppressed += 1;
        }
    }

    fn run(mut self, wake: &OwnedFd) {
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            self.expire(now);
            let timeout =
                self.pending
                    .iter()
                    .map(|p| p.deadline)
                    .min()
                    .map_or(PollTimeout::NONE, |d| {
                        // Round up so we never wake a hair before the deadline and spin.
                        let ms = d.saturating_duration_since(now).as_micros().div_ceil(1000);
                        PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::MAX)
                    });
            let (woken, listener_ready, ready, lease_ready) = {
                let mut fds = Vec::with_capacity(2 + self.pending.len() + self.leases.len());
                fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
                for p in &self.pending {
                    fds.push(PollFd::new(p.stream.as_fd(), PollFlags::POLLIN));
                }
                for l in &self.leases {
                    fds.push(PollFd::new(l.stream.as_fd(), PollFlags::POLLIN));
                }
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        // Cannot happen with valid descriptors; do not spin if it does.
                        self.log(&ServeEvent::AcceptFailed(e));
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                }
                let any = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                let split = 2 + self.pending.len();
                let ready: Vec<bool> = fds[2..split].iter().map(any).collect();
                let lease_ready: Vec<u64> = fds[split..]
                    .iter()
                    .zip(&self.leases)
                    .filter(|(f, _)| any(f))
                    .map(|(_, l)| l.id)
                    .collect();
                (any(&fds[0]), any(&fds[1]), ready, lease_ready)
            };
            if woken || self.shared.stop.load(Ordering::Relaxed) {
                return;
            }
            // Pending connections first (in accept order), then newcomers.
            let mut i = 0;
            let mut k = 0;
            while i < self.pending.len() {
                let is_ready = ready.get(k).copied().unwrap_or(false);
                k += 1;
                if is_ready && self.advance(i) {
                    continue; // removed: the next one moved into `i`
                }
                i += 1;
            }
            for id in lease_ready {
                self.check_lease(id);
            }
            if listener_ready {
                self.accept_burst();
            }
        }
    }

    /// A lease connection is readable: closed (the reader is gone) or it sent bytes, which
    /// nothing defines yet and which are discarded.
    fn check_lease(&mut self, id: u64) {
        let Some(i) = self.leases.iter().position(|l| l.id == id) else {
            return;
        };
        let mut buf = [0u8; 256];
        let gone = loop {
            match socket::recv(
                self.leases[i].stream.as_raw_fd(),
                &mut buf,
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => break false,
                Err(_) => break true,
            }
        };
        if gone {
            self.leases.remove(i);
            if let Some(reader) = self.shared.readers.detach(id) {
                self.log(&ServeEvent::Detached { reader });
            }
        }
    }

    /// Refuses every pending connection whose deadline has passed.
    fn expire(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].deadline <= now {
                let p = self.pending.remove(i);
                let got = p.got;
                self.refuse(&p.stream, Some((p.uid, p.pid)), ServeError::Timeout { got });
            } else {
                i += 1;
            }
        }
    }

    /// Reads pending connection `i`; returns whether it was finished (and removed).
    fn advance(&mut self, i: usize) -> bool {
        match self.pending[i].step() {
            Step::More => false,
            Step::Hello(h) => {
                let p = self.pending.remove(i);
                self.serve(p.stream, p.uid, p.pid, &h);
                true
            }
            Step::Fail(e) => {
                let p = self.pending.remove(i);
                self.refuse(&p.stream, Some((p.uid, p.pid)), e);
                true
            }
            Step::Request(r) => {
                let p = self.pending.remove(i);
                self.answer(&p.stream, p.uid, p.pid, r);
                true
            }
        }
    }

    fn accept_burst(&mut self) {
        for _ in 0..ACCEPT_BURST {
            match self.listener.accept() {
                Ok((stream, _)) => self.admit(stream),
                Err(e) => match errno(&e) {
                    Errno::EAGAIN => return,
                    Errno::EINTR | Errno::ECONNABORTED => {}
                    Errno::EMFILE | Errno::ENFILE => {
                        self.accept_with_reserve(errno(&e));
                        return;
                    }
                    other => {
                        self.log(&ServeEvent::AcceptFailed(other));
                        return;
                    }
                },
            }
        }
    }

    /// Out of descriptors: release the reserve, accept one connection, answer it `Busy`, close
    /// it, take the reserve back. The backlog never fills with connections nobody answers.
    fn accept_with_reserve(&mut self, cause: Errno) {
        self.log(&ServeEvent::AcceptFailed(cause));
        self.reserve = None;
        if let Ok((stream, _)) = self.listener.accept() {
            let peer = getsockopt(&stream, sockopt::PeerCredentials)
                .ok()
                .map(|c| (c.uid(), c.pid()));
            self.refuse(&stream, peer, ServeError::Busy);
        }
        self.reserve = reserve_fd().ok();
        if self.reserve.is_none() {
            // Nothing to release next time either; give other threads a moment to close some.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Checks a freshly accepted connection, reads what it already sent, and serves it, refuses
    /// it, or makes it pending (evicting as the policy says).
    fn admit(&mut self, stream: UnixStream) {
        let accepted = Instant::now();
        if let Err(e) = stream.set_nonblocking(true) {
            return self.refuse(&stream, None, ServeError::Io(errno(&e)));
        }
        let creds = match getsockopt(&stream, sockopt::PeerCredentials) {
            Ok(c) => c,
            Err(e) => return self.refuse(&stream, None, ServeError::PeerCred(e)),
        };
        let (uid, pid) = (creds.uid(), creds.pid());
        let cfg = &self.shared.config;
        if uid != geteuid().as_raw() && !cfg.allowed_uids.contains(&uid) {
            return self.refuse(&stream, Some((uid, pid)), ServeError::UidNotAllowed(uid));
        }
        let mut p = Pending {
            stream,
            uid,
            pid,
            deadline: accepted + cfg.handshake_timeout,
            buf: [0; crate::request::MAX_REQUEST],
            got: 0,
        };
        match p.step() {
            Step::Hello(h) => return self.serve(p.stream, uid, pid, &h),
            Step::Fail(e) => return self.refuse(&p.stream, Some((uid, pid)), e),
            Step::Request(r) => return self.answer(&p.stream, uid, pid, r),
            Step::More => {}
        }
        self.make_room(uid);
        self.pending.push(p);
    }

    /// Evicts until a connection of `uid` fits under both caps.
    fn make_room(&mut self, uid: u32) {
        let per_uid = self.shared.config.max_pending_per_uid.max(1);
        let total = self.shared.config.max_pending.max(1);
        loop {
            let mine = self.pending.iter().filter(|p| p.uid == uid).count();
            let victim_uid = if mine >= per_uid {
                uid
            } else if self.pending.len() >= total {
                match self.heaviest_uid() {
                    Some(u) => u,
                    None => return,
                }
            } else {
                return;
            };
            let Some(i) = self.pending.iter().position(|p| p.uid == victim_uid) else {
                return;
            };
            // One last chance: its Hello may just have arrived.
            if self.advance(i) {
                continue;
            }
            let p = self.pending.remove(i);
            self.shared.evicted.fetch_add(1, Ordering::Relaxed);
            let got = p.got;
            self.refuse(&p.stream, Some((p.uid, p.pid)), ServeError::Evicted { got });
        }
    }

    /// The uid with the most pending connections (ties: the one whose oldest is oldest).
    fn heaviest_uid(&self) -> Option<u32> {
        let mut best: Option<(usize, u32)> = None;
        for p in &self.pending {
            let n = self.pending.iter().filter(|q| q.uid == p.uid).count();
            if best.is_none_or(|(m, _)| n > m) {
                best = Some((n, p.uid));
            }
        }
        best.map(|(_, u)| u)
    }

    fn refuse(&mut self, stream: &UnixStream, peer: Option<(u32, i32)>, error: ServeError) {
        let reply = ControlMessage::failure(error.status()).to_bytes();
        // The client may be gone; the refusal is logged either way. The reply is the first
        // thing ever sent on this socket, so it fits its buffer: a non-blocking send is whole.
        let _ = socket::send(
            stream.as_raw_fd(),
            &reply,
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        );
        self.shared.refused.fetch_add(1, Ordering::Relaxed);
        self.log(&ServeEvent::Refused {
            uid: peer.map(|p| p.0),
            pid: peer.map(|p| p.1),
            error,
        });
    }

    /// Answers a request (see [`crate::request`]); the peer's uid may connect (checked at
    /// accept), the channel, token and command permission are checked there.
    fn answer(
        &mut self,
        stream: &UnixStream,
        uid: u32,
        pid: i32,
        request: Result<crate::request::Request, crate::request::RequestError>,
    ) {
        use crate::request::{Reply, RequestKind};
        let cfg = &self.shared.config;
        let (what, reply) = match &request {
            Err(e) => (format!("({e})"), Reply::new(e.status(), e.to_string())),
            Ok(r) => {
                let view = crate::request::ServerView {
                    channel: &cfg.channel,
                    geometry: self.shared.offer.geometry,
                    epoch: self.shared.offer.epoch,
                    figures: &cfg.requests.figures,
                    counters: crate::request::ProducerCounters {
                        published: 0,
                        served: self.shared.served.load(Ordering::Relaxed),
                        refused: self.shared.refused.load(Ordering::Relaxed),
                        evicted: self.shared.evicted.load(Ordering::Relaxed),
                        requests: self.shared.requests.load(Ordering::Relaxed),
                    },
                    readers: self.shared.readers.snapshot(),
                };
                let may_command =
                    uid == geteuid().as_raw() || cfg.requests.command_uids.contains(&uid);
                let what = match r.kind {
                    RequestKind::Command => r.words().join(" "),
                    k => k.name().to_owned(),
                };
                let reply = crate::request::answer(
                    &cfg.requests,
                    cfg.token.as_ref(),
                    may_command,
                    &view,
                    r,
                );
                (what, reply)
            }
        };
        // First and only message on this socket (at most 64 KiB + 16): it fits the buffer.
        let _ = socket::send(
            stream.as_raw_fd(),
            &reply.to_bytes(),
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        );
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        self.log(&ServeEvent::Answered {
            uid,
            pid,
            request: what,
            status: reply.status,
        });
    }

    fn serve(&mut self, stream: UnixStream, uid: u32, pid: i32, hello: &Hello) {
        let cfg = &self.shared.config;
        let peer = Some((uid, pid));
        if hello.channel_str() != cfg.channel {
            let c = hello.channel_str().to_owned();
            return self.refuse(&stream, peer, ServeError::UnknownChannel(c));
        }
        if let Some(token) = &cfg.token {
            if !token.matches(hello.token_bytes()) {
                return self.refuse(&stream, peer, ServeError::BadToken);
            }
        }
        let offer = &self.shared.offer;
        // A reader that asks for a status page gets one (unless the lease cap is reached or
        // creating it fails: then it is served as a version-1 reader and polls).
        let page = if hello.wants_status_page() && self.leases.len() < MAX_LEASES {
            crate::status::create_status_page().ok()
        } else {
            None
        };
        let mut msg = ControlMessage::ok(offer.geometry, offer.epoch);
        if page.is_some() {
            msg = msg.with_status_page();
        }
        let reply = msg.to_bytes();
        let mut fds = vec![offer.fd.as_raw_fd()];
        let mut lease_id = None;
        let mut page_fd = None;
        if let Some((fd, mapping)) = page {
            fds.push(fd.as_raw_fd());
            page_fd = Some(fd);
            // Listed (and in the writer's wake set) before the reader can see the page.
            lease_id = Some(self.shared.readers.attach(
                pid,
                uid,
                crate::clock::wall_ms(),
                Some(Arc::new(mapping)),
            ));
        }
        let iov = [std::io::IoSlice::new(&reply)];
        // First and only message on this socket: it fits the (empty) buffer whole.
        let sent = socket::sendmsg::<()>(
            stream.as_raw_fd(),
            &iov,
            &[Cmsg::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            None,
        );
        // Our copy of the page descriptor is not needed any more (the mappings keep the page).
        drop(page_fd);
        let error = match sent {
            Ok(n) if n == reply.len() => {
                self.shared.served.fetch_add(1, Ordering::Relaxed);
                self.log(&ServeEvent::Served { uid, pid });
                if let Some(id) = lease_id {
                    self.leases.push(Lease { stream, id });
                    self.log(&ServeEvent::Attached { id, uid, pid });
                }
                return;
            }
            // A short send would leave the client with a truncated reply, which it reports.
            Ok(_) => ServeError::Io(Errno::EMSGSIZE),
            Err(e) => ServeError::Io(e),
        };
        if let Some(id) = lease_id {
            self.shared.readers.detach(id);
        }
        self.shared.refused.fetch_add(1, Ordering::Relaxed);
        self.log(&ServeEvent::Refused {
            uid: Some(uid),
            pid: Some(pid),
            error,
        });
    }
}
