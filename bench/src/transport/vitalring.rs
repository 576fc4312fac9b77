//! HOOK: the vitalring ring over a memfd. Not implemented yet — every run reports
//! `unsupported`.
//!
//! # How to implement it
//!
//! Fill in [`open_writer`] and [`open_reader`] below (and the two structs); nothing else in
//! the bench crate needs to change. Suggested shape, on top of `vitalring-core`'s
//! seqlock `Writer` / `Reader` and `vitalring-linux`'s memfd helpers:
//!
//! * **writer** ([`open_writer`], runs first, before any reader exists): create a memfd of
//!   `80 + ctx.capacity * ctx.size` bytes (`frameSizeBytes = ctx.size`,
//!   `frameCount = ctx.capacity`, a power of two), write the header, map it, seal it, then
//!   pass the fd to the reader with `super::send_fd(ctx.link_fd(), memfd.as_fd(), b"...")`
//!   (the link socket buffers the message until the reader picks it up). `payload_len()`
//!   returns the slot's data capacity, `ctx.size - 32`; [`FrameSink::send`] commits one
//!   frame (seqlock protocol of DESIGN §3) with that payload and returns once `writeIndex`
//!   is published. Keep the mapping in the struct; it is dropped when the harness ends the
//!   run. (Alternatively run the project's real control server on a socket path in
//!   `ctx.scratch_dir` and let the reader do the real handshake.)
//! * **reader** ([`open_reader`]): `super::recv_fd(ctx.link_fd())`, check seals and size,
//!   map read-only, validate the header, start at the current `writeIndex`.
//!   [`FrameSource::try_recv`] polls once: on a committed, CRC-valid frame copy its payload
//!   (`dataSize` bytes, equal to `payload_len()`) into `buf` and return
//!   `Recv::Frame(dataSize)`; nothing new → `Recv::Empty`; lapped / torn / rejected frames →
//!   `Recv::Dropped(n)` (the loop calls again right away). The default
//!   [`FrameSource::recv_backoff`] wraps `try_recv` with the spin → yield → ≤ 50 µs sleep
//!   [`super::Backoff`]; override it if the core has its own wait policy so the benchmark
//!   measures the product's.
//!
//! The bench writes its own 24-byte header (sequence, `CLOCK_MONOTONIC` stamp, kind) at the
//! start of each payload and the rest is filler; the transport must deliver the payload
//! bytes unchanged. The ring's own `timestampNs` / `sequenceNumber` are not used by the bench.

use super::{BenchTransport, FrameSink, FrameSource, PeerContext, Recv};
use crate::BenchError;

/// The vitalring transport (hook).
#[derive(Debug)]
pub struct Vitalring;

/// Writer half: TODO hold the memfd mapping and the core `Writer`.
#[derive(Debug)]
pub struct VitalringSink {
    payload_len: usize,
}

/// Reader half: TODO hold the read-only mapping and the core `Reader`.
#[derive(Debug)]
pub struct VitalringSource {
    payload_len: usize,
}

/// Bytes of a slot that are not payload (24-byte frame header + CRC + padding).
pub const SLOT_OVERHEAD: usize = 32;

const TODO: &str = "vitalring transport not wired into the benchmark yet \
                    (bench/src/transport/vitalring.rs)";

/// HOOK: create the ring and hand its fd to the reader. See the module docs.
pub fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
    let _ = VitalringSink {
        payload_len: ctx.size - SLOT_OVERHEAD,
    };
    Err(BenchError::Unsupported(TODO.into()))
}

/// HOOK: receive the ring's fd, map it, start polling at the current write index.
pub fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
    let _ = VitalringSource {
        payload_len: ctx.size - SLOT_OVERHEAD,
    };
    Err(BenchError::Unsupported(TODO.into()))
}

impl BenchTransport for Vitalring {
    type Sink = VitalringSink;
    type Source = VitalringSource;

    fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
        open_writer(ctx)
    }

    fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
        open_reader(ctx)
    }
}

impl FrameSink for VitalringSink {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    /// HOOK: commit one frame.
    fn send(&mut self, _payload: &[u8]) -> Result<(), BenchError> {
        Err(BenchError::Unsupported(TODO.into()))
    }
}

impl FrameSource for VitalringSource {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    /// HOOK: poll once.
    fn try_recv(&mut self, _buf: &mut [u8]) -> Result<Recv, BenchError> {
        Err(BenchError::Unsupported(TODO.into()))
    }
}
