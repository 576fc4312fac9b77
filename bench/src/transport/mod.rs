//! The transport interface: what a transport implements to be benchmarked.
//!
//! A transport is a type implementing [`BenchTransport`]. The writer peer process calls
//! [`BenchTransport::open_writer`] and then [`FrameSink::send`] once per frame; the reader peer
//! process calls [`BenchTransport::open_reader`] and then [`FrameSource::try_recv`] (busy mode)
//! or [`FrameSource::recv_backoff`] (backoff mode) in a loop. Pacing, time stamps, warm-up,
//! loss accounting, histograms and CPU accounting are done by the common peer code
//! ([`crate::peer`]), so a transport only moves opaque byte frames.
//!
//! Order of events in one run (driven by the harness, [`crate::run`]):
//!
//! 1. the harness creates a connected `AF_UNIX`/`SOCK_SEQPACKET` socket pair, the *link*;
//! 2. it starts the writer process; the writer calls `open_writer` and reports ready;
//! 3. only then it starts the reader process; the reader calls `open_reader` (so it may open
//!    whatever the writer created: a service, a socket path in [`PeerContext::scratch_dir`],
//!    or an fd the writer already pushed into the link) and reports ready;
//! 4. the harness tells the writer to go; the writer sends warm-up frames, measured frames and
//!    an end frame; the reader stops at the end frame (or when the harness says stop);
//! 5. the writer keeps its sink alive until the harness closes its stdin (after the reader
//!    has reported), then drops it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use serde::{Deserialize, Serialize};

use crate::{BenchError, PayloadMode, PollMode, TestKind};

pub mod floor;
#[cfg(feature = "iceoryx2")]
pub mod iceoryx2;
pub mod uds;
pub mod vitalring;

/// Which side of the run a peer process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sends frames.
    Writer,
    /// Receives frames and measures.
    Reader,
}

/// Everything a transport may use to set itself up in a peer process.
#[derive(Debug)]
pub struct PeerContext {
    /// Writer or reader.
    pub role: Role,
    /// Frame size in bytes (64, 256, 4096, ...): the bytes one message occupies in the
    /// transport. A multiple of 8, at least 64.
    pub size: usize,
    /// What each frame carries: the whole frame, or a vitals-sized payload
    /// ([`PayloadMode::payload_len`] gives the bytes per message).
    pub payload: PayloadMode,
    /// The reader's poll mode in this run (the writer is told too).
    pub mode: PollMode,
    /// What this run measures.
    pub kind: TestKind,
    /// Suggested queue depth in frames (power of two): ring `frameCount`, subscriber buffer.
    pub capacity: usize,
    /// A name unique to this run (per harness process and run), usable as a service name.
    pub name: String,
    /// A private (0700) directory that exists for the whole run and is removed afterwards:
    /// room for socket paths and the like.
    pub scratch_dir: PathBuf,
    /// One end of a connected `AF_UNIX`/`SOCK_SEQPACKET` socket pair whose other end is the
    /// other peer's `link`. The writer may push data into it before the reader exists (it is
    /// buffered by the kernel). Use it for anything: the UDS baseline sends its frames over
    /// it; a shared-memory transport can pass its memfd with [`send_fd`] / [`recv_fd`].
    pub link: OwnedFd,
}

/// What [`FrameSource::try_recv`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recv {
    /// One frame of this many bytes was copied into the buffer and is delivered now.
    Frame(usize),
    /// Nothing new yet.
    Empty,
    /// The transport itself detected this many lost or rejected frames (lapped, torn,
    /// failed validation). The reader also counts sequence gaps on its own; this is reported
    /// separately as `transport_dropped`.
    Dropped(u64),
}

/// The writer half of a transport.
pub trait FrameSink {
    /// Bytes handed to every [`FrameSink::send`]: at most the frame size (the whole frame for
    /// message transports, the slot's data capacity for the vitalring ring), and at least
    /// [`crate::peer::BENCH_HEADER_LEN`].
    fn payload_len(&self) -> usize;

    /// Publishes one frame (`payload.len() == self.payload_len()`). Returns once the frame is
    /// committed, i.e. a reader polling now may see it. It may block on back-pressure
    /// (sockets) or overwrite unread frames (rings); both are what the benchmark measures.
    fn send(&mut self, payload: &[u8]) -> Result<(), BenchError>;
}

/// The reader half of a transport.
pub trait FrameSource {
    /// Size of the buffer handed to the receive calls; must equal the writer's
    /// [`FrameSink::payload_len`] for the same frame size.
    fn payload_len(&self) -> usize;

    /// Non-blocking: copies (or validates in place and copies) the next frame into `buf`.
    /// Returning [`Recv::Frame`] means the frame is delivered: the reader takes its time stamp
    /// right after this returns.
    fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError>;

    /// Backoff mode: like [`FrameSource::try_recv`] but may wait a little when nothing is
    /// there. It must come back (with [`Recv::Empty`]) within about 20 ms so the reader can
    /// notice a stop request. The default polls once and, if nothing came, advances `backoff`
    /// (spin, then yield, then sleeps of at most 50 µs).
    fn recv_backoff(&mut self, buf: &mut [u8], backoff: &mut Backoff) -> Result<Recv, BenchError> {
        let r = self.try_recv(buf)?;
        match r {
            Recv::Empty => backoff.snooze(),
            _ => backoff.reset(),
        }
        Ok(r)
    }
}

/// A benchmarkable transport: opens the writer or the reader half in a peer process.
pub trait BenchTransport {
    /// Writer half.
    type Sink: FrameSink;
    /// Reader half.
    type Source: FrameSource;

    /// Called in the writer process before it reports ready (no reader exists yet).
    fn open_writer(ctx: &PeerContext) -> Result<Self::Sink, BenchError>;

    /// Called in the reader process before it reports ready; the writer is open already.
    fn open_reader(ctx: &PeerContext) -> Result<Self::Source, BenchError>;
}

/// Spin → yield → sleep backoff, the polling policy of the design brief (§5): spin
/// `2^step` pause instructions for steps 0..=6, then `yield_now` for steps 7..=10, then
/// sleep [`Backoff::MAX_SLEEP`] per step. Call [`Backoff::reset`] after a frame arrived.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    step: u32,
}

impl Backoff {
    /// Last step that spins.
    pub const SPIN_LIMIT: u32 = 6;
    /// Last step that yields.
    pub const YIELD_LIMIT: u32 = 10;
    /// The sleep once spinning and yielding did not help (the kernel's timer slack, 50 µs by
    /// default for normal threads, comes on top).
    pub const MAX_SLEEP: Duration = Duration::from_micros(50);

    /// A fresh backoff (starts spinning).
    pub fn new() -> Self {
        Self::default()
    }

    /// Back to spinning (a frame arrived).
    pub fn reset(&mut self) {
        self.step = 0;
    }

    /// `true` once the backoff has reached the sleeping stage.
    pub fn is_sleeping(&self) -> bool {
        self.step > Self::YIELD_LIMIT
    }

    /// Waits a little, longer on every call.
    pub fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..(1u32 << self.step) {
                std::hint::spin_loop();
            }
        } else if self.step <= Self::YIELD_LIMIT {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Self::MAX_SLEEP);
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }
}

/// Sends `fd` (and a small `tag` message) over a `SOCK_SEQPACKET` socket with `SCM_RIGHTS`,
/// e.g. the writer passing its memfd to the reader through [`PeerContext::link`].
pub fn send_fd(link: BorrowedFd<'_>, fd: BorrowedFd<'_>, tag: &[u8]) -> Result<(), BenchError> {
    let fds = [fd.as_raw_fd()];
    let iov = [std::io::IoSlice::new(tag)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<UnixAddr>(link.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
    Ok(())
}

/// Receives one fd sent with [`send_fd`] (blocking). Returns the fd and the tag bytes. The
/// platform crate's `recv_with_fds` adopts every descriptor that arrives, so none leaks.
pub fn recv_fd(link: BorrowedFd<'_>) -> Result<(OwnedFd, Vec<u8>), BenchError> {
    let mut tag = vec![0u8; 256];
    let mut got = vitalring_linux::fdpass::recv_with_fds(link, &mut tag)?;
    tag.truncate(got.bytes);
    match got.fds.len() {
        1 if !got.ctrunc => Ok((got.fds.remove(0), tag)),
        0 => Err(BenchError::Transport(
            "expected an fd on the link, got none".into(),
        )),
        n => Err(BenchError::Transport(format!(
            "expected one fd on the link, got {n}{}",
            if got.ctrunc { " (truncated)" } else { "" }
        ))),
    }
}

/// Borrows the link (convenience).
impl PeerContext {
    /// The link socket, borrowed.
    pub fn link_fd(&self) -> BorrowedFd<'_> {
        self.link.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::io::{Read, Seek, Write};

    #[test]
    fn backoff_escalates_and_resets() {
        let mut b = Backoff::new();
        assert!(!b.is_sleeping());
        for _ in 0..=Backoff::YIELD_LIMIT {
            b.snooze();
        }
        assert!(b.is_sleeping());
        b.snooze();
        assert!(b.is_sleeping());
        b.reset();
        assert!(!b.is_sleeping());
    }

    #[test]
    fn fd_passing_round_trip() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let mut f = tempfile_in_tmp();
        f.write_all(b"hello ring").unwrap();
        send_fd(a.as_fd(), f.as_fd(), b"memfd").unwrap();
        let (fd, tag) = recv_fd(b.as_fd()).unwrap();
        assert_eq!(tag, b"memfd");
        let mut g = std::fs::File::from(fd);
        g.rewind().unwrap();
        let mut s = String::new();
        g.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello ring");
    }

    fn tempfile_in_tmp() -> std::fs::File {
        let p = std::env::temp_dir().join(format!("vrbench-fd-test-{}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        std::fs::remove_file(&p).unwrap();
        f
    }
}
