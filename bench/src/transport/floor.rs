//! The machine's floor: what two processes on these two CPUs can do with shared memory and
//! nothing else, so every report shows how far each transport is from the physical limit.
//!
//! - [`Floor`]: a bare copy ring in a memfd shared through the link. Each slot is a 64-bit
//!   sequence word followed by the payload; the writer stores the payload (relaxed 64-bit
//!   stores), then the slot's sequence number with Release; the reader spins on the sequence
//!   word of its next slot with Acquire and copies the payload out (relaxed 64-bit loads). No
//!   seqlock re-check, no CRC, no zero checks, no header, no handshake: a torn copy is possible
//!   and not detected (the bench header's sequence check would count it as corrupt).
//! - [`FloorFlag`]: the same with one slot of 24 bytes (the bench header) in one cache line:
//!   one-way signalling cost, a cache line moving from the writer's core to the reader's,
//!   plus the clock reads every transport pays. A ping-pong round trip halved would hide the
//!   clock reads and the store-to-line-transfer asymmetry, so the one-way flag is the floor
//!   the latency table's other rows should be compared with.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

use super::{recv_fd, send_fd, BenchTransport, FrameSink, FrameSource, PeerContext, Recv};
use crate::peer::BENCH_HEADER_LEN;
use crate::BenchError;

/// The bare copy ring.
#[derive(Debug)]
pub struct Floor;

/// The one-line flag.
#[derive(Debug)]
pub struct FloorFlag;

/// A shared mapping of `slots` slots of `stride` bytes (a multiple of 64: one sequence word,
/// then the payload as 64-bit words).
#[derive(Debug)]
struct Shared {
    base: NonNull<u8>,
    len: usize,
    slots: usize,
    stride: usize,
    _fd: OwnedFd,
}

impl Shared {
    fn create(slots: usize, payload_len: usize) -> Result<(Self, OwnedFd), BenchError> {
        let stride = (8 + payload_len).div_ceil(64) * 64;
        let len = slots * stride;
        let fd = memfd_create(c"vitalring-bench-floor", MFdFlags::MFD_CLOEXEC)?;
        nix::unistd::ftruncate(&fd, len as i64)?;
        let dup = fd.try_clone()?;
        Ok((Self::map(fd, slots, stride, len)?, dup))
    }

    fn map(fd: OwnedFd, slots: usize, stride: usize, len: usize) -> Result<Self, BenchError> {
        let size = std::num::NonZeroUsize::new(len)
            .ok_or_else(|| BenchError::Transport("empty floor ring".into()))?;
        // SAFETY: a fresh shared mapping of a memfd of at least `len` bytes (the writer
        // truncated it to exactly `len`, the reader gets `len` from the writer's tag); nothing
        // else is mapped at the address the kernel picks.
        let base = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd.as_fd(),
                0,
            )?
        };
        Ok(Self {
            base: base.cast(),
            len,
            slots,
            stride,
            _fd: fd,
        })
    }

    /// The 64-bit words of slot `i % slots`: the sequence word, then the payload.
    fn slot(&self, i: u64) -> &[AtomicU64] {
        let at = (i as usize % self.slots) * self.stride;
        // SAFETY: `at + stride <= len` bytes of a live page-aligned mapping (so 8-aligned, and
        // `stride` is a multiple of 64); both processes access it only through 64-bit atomics;
        // `AtomicU64` accepts every bit pattern; the borrow ends before `self` is dropped.
        unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(at).cast::<AtomicU64>(),
                self.stride / 8,
            )
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `base..base + len` is the mapping made in `map`, and no slice borrowed from
        // it outlives `self`.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}

/// Writer half.
#[derive(Debug)]
pub struct FloorSink {
    ring: Shared,
    payload_len: usize,
    next: u64,
}

/// Reader half.
#[derive(Debug)]
pub struct FloorSource {
    ring: Shared,
    payload_len: usize,
    next: u64,
}

fn open_writer(
    ctx: &PeerContext,
    slots: usize,
    payload_len: usize,
) -> Result<FloorSink, BenchError> {
    let (ring, fd) = Shared::create(slots, payload_len)?;
    let tag = format!("{slots} {payload_len}");
    send_fd(ctx.link_fd(), fd.as_fd(), tag.as_bytes())?;
    Ok(FloorSink {
        ring,
        payload_len,
        next: 0,
    })
}

fn open_reader(ctx: &PeerContext) -> Result<FloorSource, BenchError> {
    let (fd, tag) = recv_fd(ctx.link_fd())?;
    let bad = || BenchError::Transport("bad floor ring tag".into());
    let tag = String::from_utf8(tag).map_err(|_| bad())?;
    let (slots, payload_len) = tag.split_once(' ').ok_or_else(bad)?;
    let slots: usize = slots.parse().map_err(|_| bad())?;
    let payload_len: usize = payload_len.parse().map_err(|_| bad())?;
    if slots == 0 || payload_len < BENCH_HEADER_LEN {
        return Err(bad());
    }
    let stride = (8 + payload_len).div_ceil(64) * 64;
    let ring = Shared::map(fd, slots, stride, slots * stride)?;
    Ok(FloorSource {
        ring,
        payload_len,
        next: 0,
    })
}

impl BenchTransport for Floor {
    type Sink = FloorSink;
    type Source = FloorSource;

    fn open_writer(ctx: &PeerContext) -> Result<FloorSink, BenchError> {
        open_writer(ctx, ctx.capacity, ctx.payload.payload_len(ctx.size))
    }

    fn open_reader(ctx: &PeerContext) -> Result<FloorSource, BenchError> {
        open_reader(ctx)
    }
}

impl BenchTransport for FloorFlag {
    type Sink = FloorSink;
    type Source = FloorSource;

    fn open_writer(ctx: &PeerContext) -> Result<FloorSink, BenchError> {
        open_writer(ctx, 1, BENCH_HEADER_LEN)
    }

    fn open_reader(ctx: &PeerContext) -> Result<FloorSource, BenchError> {
        open_reader(ctx)
    }
}

impl FrameSink for FloorSink {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BenchError> {
        let slot = self.ring.slot(self.next);
        let (seq, words) = slot
            .split_first()
            .ok_or_else(|| BenchError::Transport("slot".into()))?;
        let mut chunks = payload.chunks_exact(8);
        for (c, w) in (&mut chunks).zip(words.iter()) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            w.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            if let Some(w) = words.get(payload.len() / 8) {
                w.store(u64::from_le_bytes(b), Ordering::Relaxed);
            }
        }
        self.next += 1;
        // SYNC: Release pairs with the reader's Acquire load of this word in `try_recv`: the
        // payload stores above are visible to a reader that sees this number.
        seq.store(self.next, Ordering::Release);
        Ok(())
    }
}

impl FrameSource for FloorSource {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError> {
        let slot = self.ring.slot(self.next);
        let Some((seq, words)) = slot.split_first() else {
            return Err(BenchError::Transport("slot".into()));
        };
        // SYNC: Acquire pairs with the writer's Release store of the sequence word in `send`.
        let s = seq.load(Ordering::Acquire);
        if s <= self.next {
            return Ok(Recv::Empty);
        }
        if s > self.next + 1 {
            // Lapped (or, with one slot, overwritten): skip to the frame that is there.
            let skipped = s - 1 - self.next;
            self.next = s - 1;
            return Ok(Recv::Dropped(skipped));
        }
        let n = self.payload_len.min(buf.len());
        let mut chunks = buf[..n].chunks_exact_mut(8);
        for (d, w) in (&mut chunks).zip(words.iter()) {
            d.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            if let Some(w) = words.get(n / 8) {
                let len = rest.len();
                rest.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes()[..len]);
            }
        }
        self.next += 1;
        Ok(Recv::Frame(n))
    }
}
