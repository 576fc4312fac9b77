//! The control server: a Unix stream socket that hands the ring memfd to authorised readers.
//!
//! `SOCK_STREAM` (not `SEQPACKET`) so that `nc -U`, seed 000's client and any C program can
//! talk to it; the fixed-size [`Hello`] is read in full with a deadline.
//!
//! One accept thread waits (`poll`) on the listener and on a wake pipe (written on drop). Each
//! accepted connection gets its own short-lived thread, at most
//! [`ServerConfig::max_pending`] at a time (beyond that: status `Busy`, closed at once), each
//! bounded by [`ServerConfig::handshake_timeout`] for the whole Hello. So a silent or slow
//! client costs one thread for at most the timeout and never delays anybody else.
//!
//! Per connection, in order: `SO_PEERCRED` uid check → read the Hello (magic and version are
//! checked on the first bytes, so a foreign client is answered at once) → parse → channel →
//! token (constant time) → reply `ControlMessage` with the memfd in `SCM_RIGHTS`. Any failure is
//! answered with a failure status (no descriptor), logged through [`ServerConfig::log`], and the
//! connection closed.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// Receives every [`ServeEvent`] (called on server threads).
pub type LogFn = Arc<dyn Fn(&ServeEvent) + Send + Sync>;

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
    /// Deadline for a client's whole Hello (and for our reply).
    pub handshake_timeout: Duration,
    /// Handshakes in progress at once; more are answered `Busy`.
    pub max_pending: usize,
    /// Where events go; `None` prints refusals to stderr.
    pub log: Option<LogFn>,
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
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults for `channel` at `path`: same uid only, no token, 1 s handshake timeout, 16
    /// concurrent handshakes, refusals logged to stderr.
    pub fn new(path: PathBuf, channel: &str) -> Self {
        Self {
            path,
            channel: channel.to_owned(),
            token: None,
            allowed_uids: Vec::new(),
            handshake_timeout: Duration::from_secs(1),
            max_pending: 16,
            log: None,
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
    /// Too many handshakes in progress.
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
            Self::Busy => Status::Busy,
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
            Self::Busy => write!(f, "too many handshakes in progress"),
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
    /// Connections refused.
    pub refused: u64,
}

struct Shared {
    config: ServerConfig,
    offer: RingOffer,
    pending: AtomicUsize,
    served: AtomicU64,
    refused: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    fn log(&self, event: &ServeEvent) {
        match &self.config.log {
            Some(f) => f(event),
            None => {
                if !matches!(event, ServeEvent::Served { .. }) {
                    eprintln!("vitalring: control {}: {event}", self.config.path.display());
                }
            }
        }
    }
}

/// A running control server. Dropping it stops the accept thread and removes the socket file
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
    let addr = UnixAddr::new(path).map_err(|_| ListenError::PathTooLong(path.to_owned()))?;
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
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(ListenError::Other)?;
    socket::bind(fd.as_raw_fd(), &addr).map_err(|e| match e {
        // Another producer bound it between our probe and our bind.
        Errno::EADDRINUSE => ListenError::InUse(path.to_owned()),
        Errno::EACCES | Errno::EPERM => ListenError::PermissionDenied(path.to_owned()),
        other => ListenError::Other(other),
    })?;
    // Before `listen`, nobody can connect: set the mode first so there is no window.
    let fixed = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::symlink_metadata(path));
    let meta = match fixed {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(path);
            return Err(ListenError::Other(errno(&e)));
        }
    };
    if let Err(e) = socket::listen(&fd, Backlog::new(64).unwrap_or(Backlog::MAXCONN)) {
        let _ = std::fs::remove_file(path);
        return Err(ListenError::Other(e));
    }
    let listener = UnixListener::from(fd);
    if let Err(e) = listener.set_nonblocking(true) {
        let _ = std::fs::remove_file(path);
        return Err(ListenError::Other(errno(&e)));
    }
    Ok((listener, (meta.dev(), meta.ino())))
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
        let shared = Arc::new(Shared {
            config,
            offer,
            pending: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vitalring-control".into())
            .spawn(move || accept_loop(&s, &listener, &wake_r))
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

    /// Counts so far.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            served: self.shared.served.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Closing the write end makes the read end readable (EOF): the accept thread wakes.
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

fn accept_loop(shared: &Arc<Shared>, listener: &UnixListener, wake: &OwnedFd) {
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                shared.log(&ServeEvent::AcceptFailed(e));
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        if fds[1].any().unwrap_or(false) || shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                shared.log(&ServeEvent::AcceptFailed(errno(&e)));
                // EMFILE and friends: back off briefly instead of spinning.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let cap = shared.config.max_pending.max(1);
        if shared.pending.fetch_add(1, Ordering::AcqRel) >= cap {
            shared.pending.fetch_sub(1, Ordering::AcqRel);
            let _ = stream.set_nonblocking(true);
            refuse(shared, &stream, None, ServeError::Busy);
            continue;
        }
        let s = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("vitalring-handshake".into())
            .spawn(move || {
                serve_one(&s, &stream);
                s.pending.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            shared.pending.fetch_sub(1, Ordering::AcqRel);
            shared.log(&ServeEvent::AcceptFailed(errno(&e)));
        }
    }
}

fn send_all(stream: &UnixStream, bytes: &[u8]) -> Result<(), Errno> {
    let mut off = 0;
    while off < bytes.len() {
        match socket::send(stream.as_raw_fd(), &bytes[off..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn refuse(shared: &Shared, stream: &UnixStream, peer: Option<(u32, i32)>, error: ServeError) {
    let reply = ControlMessage::failure(error.status()).to_bytes();
    // The client may be gone; the refusal is logged either way.
    let _ = send_all(stream, &reply);
    shared.refused.fetch_add(1, Ordering::Relaxed);
    shared.log(&ServeEvent::Refused {
        uid: peer.map(|p| p.0),
        pid: peer.map(|p| p.1),
        error,
    });
}

fn serve_one(shared: &Shared, stream: &UnixStream) {
    let cfg = &shared.config;
    if stream.set_nonblocking(false).is_err() {
        refuse(shared, stream, None, ServeError::Io(Errno::EIO));
        return;
    }
    let _ = stream.set_write_timeout(Some(cfg.handshake_timeout));
    let creds = match getsockopt(stream, sockopt::PeerCredentials) {
        Ok(c) => c,
        Err(e) => return refuse(shared, stream, None, ServeError::PeerCred(e)),
    };
    let peer = Some((creds.uid(), creds.pid()));
    let me = geteuid().as_raw();
    if creds.uid() != me && !cfg.allowed_uids.contains(&creds.uid()) {
        return refuse(shared, stream, peer, ServeError::UidNotAllowed(creds.uid()));
    }
    let hello = match read_hello(stream, cfg.handshake_timeout) {
        Ok(h) => h,
        Err(e) => return refuse(shared, stream, peer, e),
    };
    if hello.channel_str() != cfg.channel {
        let c = hello.channel_str().to_owned();
        return refuse(shared, stream, peer, ServeError::UnknownChannel(c));
    }
    if let Some(token) = &cfg.token {
        if !token.matches(hello.token_bytes()) {
            return refuse(shared, stream, peer, ServeError::BadToken);
        }
    }
    let offer = &shared.offer;
    let reply = ControlMessage::ok(offer.geometry, offer.epoch).to_bytes();
    let fds = [offer.fd.as_raw_fd()];
    let iov = [std::io::IoSlice::new(&reply)];
    let sent = socket::sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[Cmsg::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    );
    match sent {
        // A stream socket sends these 40 bytes whole or not at all in practice; a short send
        // would leave the client with a truncated reply, which it reports.
        Ok(n) if n == reply.len() => {
            shared.served.fetch_add(1, Ordering::Relaxed);
            shared.log(&ServeEvent::Served {
                uid: creds.uid(),
                pid: creds.pid(),
            });
        }
        Ok(_) => {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            shared.log(&ServeEvent::Refused {
                uid: Some(creds.uid()),
                pid: Some(creds.pid()),
                error: ServeError::Io(Errno::EMSGSIZE),
            });
        }
        Err(e) => {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            shared.log(&ServeEvent::Refused {
                uid: Some(creds.uid()),
                pid: Some(creds.pid()),
                error: ServeError::Io(e),
            });
        }
    }
}

fn read_hello(mut stream: &UnixStream, timeout: Duration) -> Result<Hello, ServeError> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; HELLO_SIZE];
    let mut got = 0;
    while got < HELLO_SIZE {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ServeError::Timeout { got });
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| ServeError::Io(errno(&e)))?;
        match stream.read(&mut buf[got..]) {
            Ok(0) => {
                // Say precisely what was wrong with what did arrive, if anything.
                Hello::check_prefix(&buf[..got]).map_err(ServeError::Wire)?;
                return Err(ServeError::Closed { got });
            }
            Ok(n) => {
                got += n;
                Hello::check_prefix(&buf[..got]).map_err(ServeError::Wire)?;
            }
            Err(e) => match e.kind() {
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    return Err(ServeError::Timeout { got })
                }
                _ => return Err(ServeError::Io(errno(&e))),
            },
        }
    }
    Hello::parse(&buf).map_err(ServeError::Wire)
}
