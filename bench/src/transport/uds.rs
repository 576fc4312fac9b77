//! Baseline: frames as messages over the connected `AF_UNIX`/`SOCK_SEQPACKET` link itself.
//!
//! One `send` per frame, one `recv` per frame (two copies, two system calls). Busy mode
//! polls with `recv(MSG_DONTWAIT)`; backoff mode is a plain blocking `recv` (with a 20 ms
//! receive time-out so a stop request is noticed). The writer blocks when the socket buffer
//! is full (back-pressure), so this transport never loses frames: its throughput is the rate
//! the reader keeps up with.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{recv, send, setsockopt, sockopt, MsgFlags};
use nix::sys::time::TimeVal;

use super::{BenchTransport, FrameSink, FrameSource, PeerContext, Recv};
use crate::BenchError;

/// The UDS baseline.
#[derive(Debug)]
pub struct Uds;

/// Writer half: the link socket.
#[derive(Debug)]
pub struct UdsSink {
    sock: OwnedFd,
    len: usize,
}

/// Reader half: the link socket.
#[derive(Debug)]
pub struct UdsSource {
    sock: OwnedFd,
    len: usize,
}

/// How long a blocking `recv` waits before giving the reader loop a chance to see a stop.
const RECV_TIMEOUT: Duration = Duration::from_millis(20);

impl BenchTransport for Uds {
    type Sink = UdsSink;
    type Source = UdsSource;

    fn open_writer(ctx: &PeerContext) -> Result<UdsSink, BenchError> {
        Ok(UdsSink {
            sock: ctx.link.try_clone()?,
            len: ctx.payload.payload_len(ctx.size),
        })
    }

    fn open_reader(ctx: &PeerContext) -> Result<UdsSource, BenchError> {
        let sock = ctx.link.try_clone()?;
        setsockopt(
            &sock,
            sockopt::ReceiveTimeout,
            &TimeVal::new(0, RECV_TIMEOUT.as_micros() as _),
        )?;
        Ok(UdsSource {
            sock,
            len: ctx.payload.payload_len(ctx.size),
        })
    }
}

impl FrameSink for UdsSink {
    fn payload_len(&self) -> usize {
        self.len
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BenchError> {
        loop {
            match send(self.sock.as_raw_fd(), payload, MsgFlags::MSG_NOSIGNAL) {
                Ok(n) if n == payload.len() => return Ok(()),
                Ok(n) => {
                    return Err(BenchError::Transport(format!(
                        "short seqpacket send: {n} of {} bytes",
                        payload.len()
                    )))
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(BenchError::Transport(format!("uds send: {e}"))),
            }
        }
    }
}

impl UdsSource {
    fn recv_with(&mut self, buf: &mut [u8], flags: MsgFlags) -> Result<Recv, BenchError> {
        match recv(self.sock.as_raw_fd(), buf, flags) {
            Ok(0) => Err(BenchError::Transport(
                "uds: writer closed the socket".into(),
            )),
            Ok(n) => Ok(Recv::Frame(n)),
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(Recv::Empty),
            Err(e) => Err(BenchError::Transport(format!("uds recv: {e}"))),
        }
    }
}

impl FrameSource for UdsSource {
    fn payload_len(&self) -> usize {
        self.len
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError> {
        self.recv_with(buf, MsgFlags::MSG_DONTWAIT)
    }

    fn recv_backoff(
        &mut self,
        buf: &mut [u8],
        _backoff: &mut super::Backoff,
    ) -> Result<Recv, BenchError> {
        self.recv_with(buf, MsgFlags::empty())
    }
}
