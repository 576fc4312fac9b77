//! The reader's side of the handshake: connect, send a [`Hello`], receive the
//! [`ControlMessage`] and the memfd, check the memfd, map it read-only, validate the header.
//!
//! Order of checks (each failure is a named [`HandshakeError`]; every received descriptor is
//! closed on every failure path):
//!
//! 0. **who serves the socket** — before anything is sent (the Hello may carry the token):
//!    - a socket in a default directory ([`crate::paths::is_default_dir`]) is only used if
//!      that directory is private: `lstat` says a real directory (not a symlink) owned by our
//!      effective uid with mode `0700` ([`HandshakeError::SocketDir`]);
//!    - after `connect`, the server's `SO_PEERCRED` uid (its credentials when it called
//!      `listen`) must be our effective uid or in [`ConnectOptions::allowed_server_uids`]
//!      ([`HandshakeError::UntrustedServer`]) — for every path, default or explicit;
//! 1. the reply is a whole, valid `ControlMessage` and its status is `Ok`;
//! 2. exactly one descriptor arrived (`MSG_CTRUNC` or more than one: refused, all closed);
//! 3. `F_GET_SEALS` includes SHRINK | GROW | SEAL and FUTURE_WRITE or WRITE (either makes
//!    writing impossible for us; see [`crate::ring::REQUIRED_SEALS`]);
//! 4. `fstat`: a regular file of exactly `ringBufferSize` bytes (= the geometry's length);
//! 5. the process is made non-dumpable ([`crate::process::set_non_dumpable`]), then — only
//!    then — `mmap(PROT_READ, MAP_SHARED)`;
//! 6. the ring header validates (magic, version, CRC, geometry, exact length) and matches the
//!    reply's geometry and epoch.
//!
//! The socket is closed when this returns: the data path never touches it — unless the reader
//! asked for a status page ([`connect_leased`]): then the reply carries a second descriptor
//! (the page, checked for its resize seals and size, mapped read-write), and the socket stays
//! open as the reader's [`Lease`] until it is dropped. A producer that does not offer a page
//! (an older one, or one at its lease cap) is used as before, and the reader polls.
//!
//! A producer may answer `Busy` (it evicted our connection to make room under a flood, or it
//! ran out of descriptors): [`connect_retrying`] retries that with backoff for
//! [`ConnectOptions::busy_retry`] and tells its caller each time it waits.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::SealFlag;
use nix::sys::socket::{self, getsockopt, sockopt, MsgFlags};
use nix::unistd::geteuid;
use vitalring_core::layout::{Geometry, HeaderError};
use vitalring_core::Ring;

use crate::fdpass::recv_with_fds;
use crate::map::RoMapping;
use crate::paths::{check_private_dir, is_default_dir, DirError};
use crate::process::{set_non_dumpable, HardenError};
use crate::ring::{describe_seals, fd_facts, missing_seals, seals};
use crate::server::connect_stream;
use crate::status::{map_status_fd, StatusMapping};
use crate::token::Token;
use crate::wire::{ControlMessage, Hello, Status, WireError, CONTROL_SIZE};

/// Why a reader could not attach to a producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The channel name is invalid.
    InvalidChannel(String),
    /// The socket path is longer than `sun_path` allows.
    PathTooLong(PathBuf),
    /// No socket file at the path (no producer started).
    NoSocket(PathBuf),
    /// A socket file exists but nobody listens (`ECONNREFUSED`: the producer died).
    NotListening(PathBuf),
    /// Permission denied connecting.
    PermissionDenied(PathBuf),
    /// The socket is in a default directory that is not private (owner, mode, symlink).
    SocketDir(DirError),
    /// The server's `SO_PEERCRED` uid is neither ours nor allow-listed: another user serves
    /// this socket. Nothing was sent to it.
    UntrustedServer {
        /// The server's uid.
        uid: u32,
        /// The server's pid (as the kernel recorded it at `listen`).
        pid: i32,
    },
    /// The server's credentials could not be read.
    PeerCred(Errno),
    /// Connecting, sending or receiving timed out.
    Timeout,
    /// The server closed the connection without a (complete) reply.
    Closed {
        /// Reply bytes received.
        got: usize,
    },
    /// The reply is not a valid `ControlMessage`.
    Reply(WireError),
    /// The server refused us with this status.
    Refused(Status),
    /// A success reply without a descriptor.
    NoFd,
    /// More than one descriptor, or truncated ancillary data; all were closed.
    TooManyFds(usize),
    /// The descriptor is not a sealable regular file (not a memfd).
    NotAMemfd,
    /// The memfd lacks required seals.
    NotSealed {
        /// The seals found (`F_GET_SEALS` bits).
        found: u32,
    },
    /// The memfd's size is not the announced ring size.
    SizeMismatch {
        /// `fstat` size.
        actual: u64,
        /// `ringBufferSize`.
        expected: u64,
    },
    /// The process could not be made non-dumpable before mapping.
    Harden(HardenError),
    /// `mmap` failed.
    Map(Errno),
    /// The ring header is invalid.
    Header(HeaderError),
    /// The header is valid but describes another ring than the reply (geometry or epoch).
    HeaderMismatch,
    /// Another socket error.
    Io(Errno),
}

impl HandshakeError {
    /// True for errors that mean "no producer is there right now" (worth retrying later).
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            Self::NoSocket(_) | Self::NotListening(_) | Self::Timeout | Self::Closed { .. }
        )
    }

    /// True for `Busy`: a producer is there but could not take us right now (retry with
    /// backoff, see [`connect_retrying`]).
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Refused(Status::Busy))
    }
}

impl core::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidChannel(c) => write!(f, "invalid channel name {c:?}"),
            Self::PathTooLong(p) => write!(f, "socket path {} is too long", p.display()),
            Self::NoSocket(p) => write!(f, "no producer socket at {}", p.display()),
            Self::NotListening(p) => {
                write!(
                    f,
                    "no producer is listening on {} (stale socket)",
                    p.display()
                )
            }
            Self::PermissionDenied(p) => {
                write!(f, "permission denied connecting to {}", p.display())
            }
            Self::SocketDir(e) => write!(f, "{e}"),
            Self::UntrustedServer { uid, pid } => write!(
                f,
                "the socket is served by uid {uid} (pid {pid}), not by our uid {} or an \
                 allowed producer uid; refusing to attach",
                nix::unistd::geteuid().as_raw()
            ),
            Self::PeerCred(e) => write!(
                f,
                "cannot read the producer's credentials: {}",
                e.desc().to_lowercase()
            ),
            Self::Timeout => write!(f, "handshake timed out"),
            Self::Closed { got } => write!(
                f,
                "producer closed the connection after {got} of {CONTROL_SIZE} reply bytes"
            ),
            Self::Reply(w) => write!(f, "invalid reply from producer: {w}"),
            Self::Refused(s) => write!(f, "producer refused the handshake: {s}"),
            Self::NoFd => write!(f, "producer reply carried no memfd"),
            Self::TooManyFds(n) => write!(
                f,
                "producer sent {n} descriptors (or truncated ancillary data); expected one"
            ),
            Self::NotAMemfd => write!(f, "received descriptor is not a memfd"),
            Self::NotSealed { found } => write!(
                f,
                "memfd is not sealed: missing {} (it has {}, {found:#x})",
                missing_seals(*found),
                describe_seals(*found)
            ),
            Self::SizeMismatch { actual, expected } => write!(
                f,
                "memfd is {actual} bytes but the producer announced {expected}"
            ),
            Self::Harden(e) => write!(f, "{e}"),
            Self::Map(e) => write!(f, "mapping the ring failed: {}", e.desc().to_lowercase()),
            Self::Header(e) => write!(f, "invalid ring header: {e}"),
            Self::HeaderMismatch => write!(f, "ring header does not match the handshake reply"),
            Self::Io(e) => write!(f, "control socket error: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Handshake tuning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Timeout for connect, send and the reply (each).
    pub timeout: Duration,
    /// Server uids trusted besides our own effective uid (a producer running as a service
    /// account). Empty: only a server running as our uid is trusted.
    pub allowed_server_uids: Vec<u32>,
    /// How long [`connect_with`] / [`connect_retrying`] keep retrying a `Busy` producer (with
    /// backoff from 10 ms doubling to 250 ms). Zero: a `Busy` reply is returned at once.
    pub busy_retry: Duration,
}

impl Default for ConnectOptions {
    /// 1 s timeout, same-uid servers only, no busy retry.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            allowed_server_uids: Vec::new(),
            busy_retry: Duration::ZERO,
        }
    }
}

/// A checked (sealed, right-sized) ring memfd and the reply it came with; not mapped yet.
#[derive(Debug)]
pub struct ReceivedRing {
    fd: OwnedFd,
    reply: ControlMessage,
    geometry: Geometry,
    page: Option<OwnedFd>,
    socket: Option<UnixStream>,
}

/// A reader's lease: its open control connection (the producer lists the reader while it is
/// open) and its status page, mapped read-write. Dropping it ends the lease.
#[derive(Debug)]
pub struct Lease {
    // Never read: held open, its closing is the signal.
    _socket: UnixStream,
    page: StatusMapping,
}

impl Lease {
    /// The reader's status page.
    pub fn page(&self) -> &vitalring_core::wake::StatusPage {
        self.page.page()
    }
}

/// A read-only mapping of a producer's ring whose header was validated (once) and matches
/// the reply: a core [`Ring`] that a reader session takes as it is.
#[derive(Debug)]
pub struct Attached {
    ring: Ring<RoMapping>,
    lease: Option<Lease>,
}

impl Attached {
    /// The ring geometry.
    pub fn geometry(&self) -> Geometry {
        self.ring.header().geometry()
    }

    /// The producer epoch.
    pub fn epoch(&self) -> u64 {
        self.ring.header().epoch()
    }

    /// The mapping (a core [`Region`]).
    pub fn mapping(&self) -> &RoMapping {
        self.ring.region()
    }

    /// Gives up the validated ring (to hand it to a core reader or session).
    pub fn into_ring(self) -> Ring<RoMapping> {
        self.ring
    }

    /// The ring and, if the producer gave one, the lease with its status page.
    pub fn into_parts(self) -> (Ring<RoMapping>, Option<Lease>) {
        (self.ring, self.lease)
    }

    /// Whether this reader holds a lease (a status page).
    pub fn has_lease(&self) -> bool {
        self.lease.is_some()
    }
}

fn map_connect_errno(e: Errno, path: &Path) -> HandshakeError {
    match e {
        Errno::ENOENT => HandshakeError::NoSocket(path.to_owned()),
        Errno::ECONNREFUSED => HandshakeError::NotListening(path.to_owned()),
        Errno::EACCES | Errno::EPERM => HandshakeError::PermissionDenied(path.to_owned()),
        Errno::EAGAIN | Errno::ETIMEDOUT => HandshakeError::Timeout,
        Errno::ENAMETOOLONG => HandshakeError::PathTooLong(path.to_owned()),
        other => HandshakeError::Io(other),
    }
}

/// Connects to `path`, asks for `channel`, and maps the ring read-only (all checks above).
///
/// # Errors
/// [`HandshakeError`].
pub fn connect(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
) -> Result<Attached, HandshakeError> {
    connect_with(path, channel, token, ConnectOptions::default())
}

/// [`connect`] with explicit options (a `Busy` producer is retried for
/// [`ConnectOptions::busy_retry`], silently; use [`connect_retrying`] to report the waits).
///
/// # Errors
/// [`HandshakeError`].
pub fn connect_with(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: ConnectOptions,
) -> Result<Attached, HandshakeError> {
    connect_retrying(path, channel, token, &options, |_, _| {})
}

/// First pause after a `Busy` reply.
pub const BUSY_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between `Busy` retries.
pub const BUSY_BACKOFF_MAX: Duration = Duration::from_millis(250);

/// [`connect`] that keeps retrying while the producer answers `Busy`, for at most
/// `options.busy_retry`, pausing 10 ms, 20 ms, … up to 250 ms between attempts. Before each
/// pause it calls `on_busy(error, pause)`, e.g. to print "waiting for producer: busy" once.
/// Any other error, or `Busy` once the time is up, is returned as is.
///
/// # Errors
/// [`HandshakeError`].
pub fn connect_retrying(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: &ConnectOptions,
    on_busy: impl FnMut(&HandshakeError, Duration),
) -> Result<Attached, HandshakeError> {
    connect_inner(path, channel, token, options, false, on_busy)
}

/// [`connect_retrying`] asking for a status page: the Hello sets `HELLO_STATUS_PAGE`, and if
/// the producer offers a page the returned [`Attached`] holds the [`Lease`].
///
/// # Errors
/// As [`connect_retrying`].
pub fn connect_leased(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: &ConnectOptions,
    on_busy: impl FnMut(&HandshakeError, Duration),
) -> Result<Attached, HandshakeError> {
    connect_inner(path, channel, token, options, true, on_busy)
}

fn connect_inner(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: &ConnectOptions,
    mut want_page: bool,
    mut on_busy: impl FnMut(&HandshakeError, Duration),
) -> Result<Attached, HandshakeError> {
    let give_up = std::time::Instant::now() + options.busy_retry;
    let mut pause = BUSY_BACKOFF_MIN;
    loop {
        let err = match receive_inner(path, channel, token, options.clone(), want_page)
            .and_then(ReceivedRing::map)
        {
            Ok(a) => return Ok(a),
            // A producer of the first version knows no Hello flags: it refuses the status-page
            // flag as a malformed Hello. Ask again as a version-1 reader (no lease; it polls).
            // Our own Hello is well-formed, so only such a producer answers this way.
            Err(HandshakeError::Refused(Status::Malformed)) if want_page => {
                want_page = false;
                continue;
            }
            Err(e) if e.is_busy() => e,
            Err(e) => return Err(e),
        };
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(err);
        }
        let nap = pause.min(left);
        on_busy(&err, nap);
        std::thread::sleep(nap);
        pause = (pause * 2).min(BUSY_BACKOFF_MAX);
    }
}

/// Checks that the server on the other end of `stream` runs as our effective uid or an
/// allowed uid (`SO_PEERCRED` of a connected client socket: the server's credentials when it
/// called `listen`).
fn check_server(stream: &UnixStream, allowed: &[u32]) -> Result<(), HandshakeError> {
    let cred = getsockopt(stream, sockopt::PeerCredentials).map_err(HandshakeError::PeerCred)?;
    if cred.uid() == geteuid().as_raw() || allowed.contains(&cred.uid()) {
        return Ok(());
    }
    Err(HandshakeError::UntrustedServer {
        uid: cred.uid(),
        pid: cred.pid(),
    })
}

/// A connected stream to `path` whose server is authenticated as for a handshake (private
/// default directory, server uid) — nothing has been sent yet. Used by requests.
pub(crate) fn authenticated_stream(
    path: &Path,
    options: &ConnectOptions,
) -> Result<UnixStream, HandshakeError> {
    if let Some(dir) = path.parent().filter(|d| is_default_dir(d)) {
        check_private_dir(dir).map_err(HandshakeError::SocketDir)?;
    }
    let stream = connect_stream(path, options.timeout).map_err(|e| map_connect_errno(e, path))?;
    check_server(&stream, &options.allowed_server_uids)?;
    Ok(stream)
}

/// Steps 0–4 of the handshake: the server is authenticated, the memfd received and checked but
/// not mapped. No `Busy` retry here (see [`connect_retrying`]).
///
/// # Errors
/// [`HandshakeError`].
pub fn receive(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: ConnectOptions,
) -> Result<ReceivedRing, HandshakeError> {
    receive_inner(path, channel, token, options, false)
}

fn receive_inner(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: ConnectOptions,
    want_page: bool,
) -> Result<ReceivedRing, HandshakeError> {
    let mut hello = Hello::new(channel, token.map(Token::as_bytes))
        .map_err(|_| HandshakeError::InvalidChannel(channel.to_owned()))?;
    if want_page {
        hello = hello.with_status_page();
    }
    if let Some(dir) = path.parent().filter(|d| is_default_dir(d)) {
        check_private_dir(dir).map_err(HandshakeError::SocketDir)?;
    }
    let stream = connect_stream(path, options.timeout).map_err(|e| map_connect_errno(e, path))?;
    check_server(&stream, &options.allowed_server_uids)?;
    let bytes = hello.to_bytes();
    let mut off = 0;
    while off < bytes.len() {
        match socket::send(stream.as_raw_fd(), &bytes[off..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            // The server may refuse before reading our Hello (uid check, busy) and close: its
            // status is still in our receive queue, so read it instead of failing here.
            Err(Errno::EPIPE | Errno::ECONNRESET) => break,
            Err(Errno::EAGAIN) => return Err(HandshakeError::Timeout),
            Err(e) => return Err(HandshakeError::Io(e)),
        }
    }
    let (reply, fds, ctrunc) = read_reply(stream.as_fd())?;
    let mut received = accept_reply(&reply, fds, ctrunc)?;
    if want_page && received.page.is_some() {
        received.socket = Some(stream);
    } else {
        received.page = None;
    }
    Ok(received)
}

/// Reads one whole `ControlMessage` and every descriptor that comes with any part of it.
fn read_reply(
    sock: BorrowedFd<'_>,
) -> Result<([u8; CONTROL_SIZE], Vec<OwnedFd>, bool), HandshakeError> {
    let mut buf = [0u8; CONTROL_SIZE];
    let mut got = 0;
    let mut fds = Vec::new();
    let mut ctrunc = false;
    while got < CONTROL_SIZE {
        match recv_with_fds(sock, &mut buf[got..]) {
            Ok(r) => {
                fds.extend(r.fds);
                ctrunc |= r.ctrunc;
                if r.bytes == 0 {
                    return Err(HandshakeError::Closed { got });
                }
                got += r.bytes;
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Err(HandshakeError::Timeout),
            Err(Errno::ECONNRESET) => return Err(HandshakeError::Closed { got }),
            Err(e) => return Err(HandshakeError::Io(e)),
        }
    }
    Ok((buf, fds, ctrunc))
}

/// Steps 1–4 on a reply already read: parse, status, descriptor count, seals, size. Public so
/// tests and other transports can run the same checks; `fds` are closed unless one is kept.
///
/// # Errors
/// [`HandshakeError`].
pub fn accept_reply(
    bytes: &[u8],
    mut fds: Vec<OwnedFd>,
    ctrunc: bool,
) -> Result<ReceivedRing, HandshakeError> {
    let reply = ControlMessage::parse(bytes).map_err(HandshakeError::Reply)?;
    match reply.status() {
        Status::Ok => {}
        other => return Err(HandshakeError::Refused(other)),
    }
    let want = if reply.has_status_page() { 2 } else { 1 };
    if ctrunc || fds.len() > want {
        return Err(HandshakeError::TooManyFds(fds.len().max(want + 1)));
    }
    // The ring first, then the status page (if announced).
    let page = if want == 2 && fds.len() == 2 {
        fds.pop()
    } else {
        None
    };
    if want == 2 && page.is_none() {
        return Err(HandshakeError::NoFd);
    }
    let fd = fds.pop().ok_or(HandshakeError::NoFd)?;
    let geometry = reply
        .geometry()
        .ok_or(HandshakeError::Reply(WireError::Geometry(
            vitalring_core::layout::GeometryError::FrameCount(reply.frame_count),
        )))?;
    check_ring_fd(fd.as_fd(), reply.ring_buffer_size)?;
    Ok(ReceivedRing {
        fd,
        reply,
        geometry,
        page,
        socket: None,
    })
}

/// Checks that `fd` is a memfd carrying the required seals (SHRINK, GROW, SEAL, and
/// FUTURE_WRITE or WRITE — see [`crate::ring::REQUIRED_SEALS`]) and exactly `size` bytes long.
///
/// # Errors
/// [`HandshakeError::NotAMemfd`], [`HandshakeError::NotSealed`],
/// [`HandshakeError::SizeMismatch`].
pub fn check_ring_fd(fd: BorrowedFd<'_>, size: u64) -> Result<(), HandshakeError> {
    let found = match seals(fd) {
        Ok(s) => s,
        Err(Errno::EINVAL) => return Err(HandshakeError::NotAMemfd),
        Err(e) => return Err(HandshakeError::Io(e)),
    };
    let found = found.bits() as u32;
    if !missing_seals(found).is_empty() {
        return Err(HandshakeError::NotSealed { found });
    }
    let facts = fd_facts(fd).map_err(HandshakeError::Io)?;
    if !facts.regular {
        return Err(HandshakeError::NotAMemfd);
    }
    if facts.size != size {
        return Err(HandshakeError::SizeMismatch {
            actual: facts.size,
            expected: size,
        });
    }
    Ok(())
}

impl ReceivedRing {
    /// The checked memfd (for tests that try to misuse it).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The producer's reply.
    pub fn reply(&self) -> &ControlMessage {
        &self.reply
    }

    /// The announced geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Makes the process non-dumpable, maps the ring `PROT_READ`/`MAP_SHARED`, validates its
    /// header against the reply, and closes the memfd (the mapping keeps the memory alive).
    ///
    /// # Errors
    /// [`HandshakeError::Harden`], [`HandshakeError::Map`], [`HandshakeError::Header`],
    /// [`HandshakeError::HeaderMismatch`].
    pub fn map(self) -> Result<Attached, HandshakeError> {
        set_non_dumpable().map_err(HandshakeError::Harden)?;
        let len = self.geometry.region_len();
        // The seal and size checks ran in `accept_reply` (the only constructor).
        let mapping = RoMapping::map(self.fd.as_fd(), len).map_err(HandshakeError::Map)?;
        let ring = Ring::new_checked(mapping).map_err(HandshakeError::Header)?;
        if ring.header().geometry() != self.geometry || ring.header().epoch() != self.reply.epoch {
            return Err(HandshakeError::HeaderMismatch);
        }
        // A page that fails its checks is dropped with the lease: the reader polls, unlisted.
        let lease = match (self.page, self.socket) {
            (Some(fd), Some(socket)) => map_status_fd(fd.as_fd()).ok().map(|page| Lease {
                _socket: socket,
                page,
            }),
            _ => None,
        };
        Ok(Attached { ring, lease })
    }
}

/// Sealing check used by tests: whether `fd` carries every seal in `want`.
pub fn has_seals(fd: BorrowedFd<'_>, want: SealFlag) -> bool {
    seals(fd).is_ok_and(|s| s.contains(want))
}
