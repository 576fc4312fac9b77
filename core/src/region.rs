//! The shared region as the core sees it: an 80-byte header of atomics followed by slot words.
//!
//! Everything another process may write concurrently is read and written through atomics
//! (plain 32-bit words for slots, [`Atomic64`] for the two live header counters), so the
//! seqlock's racy payload copy is a sequence of relaxed atomic loads rather than a data race.
//! No part of the region is ever accessed with two different atomic sizes while another thread
//! may access it: bytes `[16, 32)` are only ever touched as the two 64-bit counters; each slot's
//! payload area (slot bytes `[24, frameSizeBytes - 8)`) is touched as 64-bit words where the
//! target has 64-bit atomics and the slot area is 8-aligned ([`RegionRef::wide_words`]: every
//! mapping, and the mock's 8-aligned buffers), by the writer, the reader and the fault
//! injectors alike, and as 32-bit words otherwise; everything else only as 32-bit words. The
//! one exception, `Writer::create` zeroing the slot area word by word, happens before any
//! reader exists.
//!
//! Platform crates turn their memory into a [`RegionRef`] — the Linux crate from an `mmap`
//! with [`RegionRef::from_raw`], the mock from owned atomics with [`RegionRef::from_parts`] —
//! and implement [`Region`] for their handle.
#![allow(unsafe_code)]

use core::mem::size_of;

#[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
use crate::atomics::WideWord;
use crate::atomics::{Atomic64, AtomicU32, Ordering};
use crate::layout::{RingHeader, HEADER_SIZE, MAX_REGION_LEN};
#[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
use crate::layout::{MIN_FRAME_SIZE, SLOT_HEADER_SIZE};

/// The live ring header: the same 80 bytes as [`RingHeader`], as atomics.
#[derive(Debug)]
#[repr(C, align(8))]
pub struct SharedHeader {
    /// Bytes `[0, 16)`: magic, version | reserved1 << 16, frameSizeBytes, frameCount.
    head: [AtomicU32; 4],
    /// Bytes `[16, 24)`.
    write_index: Atomic64,
    /// Bytes `[24, 32)`.
    heartbeat: Atomic64,
    /// Bytes `[32, 80)`: crc32, flags, epoch (2 words), created (2 words), reserved (6 words).
    tail: [AtomicU32; 12],
}

#[cfg(not(loom))]
const _: () = {
    assert!(size_of::<SharedHeader>() == HEADER_SIZE);
    assert!(core::mem::align_of::<SharedHeader>() == 8);
    assert!(core::mem::offset_of!(SharedHeader, write_index) == 16);
    assert!(core::mem::offset_of!(SharedHeader, heartbeat) == 24);
    assert!(core::mem::offset_of!(SharedHeader, tail) == 32);
};

impl SharedHeader {
    /// A header of zeros (for in-process regions and `static`s; a writer initialises it).
    #[cfg(not(loom))]
    pub const fn zeroed() -> Self {
        Self {
            head: [const { AtomicU32::new(0) }; 4],
            write_index: Atomic64::new(0),
            heartbeat: Atomic64::new(0),
            tail: [const { AtomicU32::new(0) }; 12],
        }
    }

    /// A header of zeros (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn zeroed() -> Self {
        Self {
            head: core::array::from_fn(|_| AtomicU32::new(0)),
            write_index: Atomic64::new(0),
            heartbeat: Atomic64::new(0),
            tail: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

/// Whether a region may be written through this view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Access {
    /// Loads only (a reader's `PROT_READ` mapping).
    ReadOnly,
    /// Loads and stores (the producer's mapping).
    ReadWrite,
}

/// Why memory cannot be viewed as a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RegionError {
    /// The base address is not 8-byte aligned.
    Misaligned,
    /// Shorter than a header, longer than [`MAX_REGION_LEN`], or not a whole number of words.
    Length(usize),
    /// A store was asked of a read-only view.
    ReadOnly,
    /// An offset outside the region.
    OutOfBounds,
}

impl core::fmt::Display for RegionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Misaligned => write!(f, "region is not 8-byte aligned"),
            Self::Length(n) => write!(f, "region length {n} is not a valid ring length"),
            Self::ReadOnly => write!(f, "region is mapped read-only"),
            Self::OutOfBounds => write!(f, "offset outside the region"),
        }
    }
}

impl core::error::Error for RegionError {}

/// A view of one shared region: its header and its slot words.
#[derive(Debug, Clone, Copy)]
pub struct RegionRef<'a> {
    header: &'a SharedHeader,
    slots: &'a [AtomicU32],
    access: Access,
}

/// Something that owns or borrows a shared region (an `mmap`, a mock buffer).
pub trait Region {
    /// The region's view. Must return a view of the same memory every time.
    fn region(&self) -> RegionRef<'_>;
}

impl<T: Region + ?Sized> Region for &T {
    fn region(&self) -> RegionRef<'_> {
        (**self).region()
    }
}

#[cfg(feature = "std")]
impl<T: Region + ?Sized> Region for std::sync::Arc<T> {
    fn region(&self) -> RegionRef<'_> {
        (**self).region()
    }
}

#[cfg(feature = "std")]
impl<T: Region + ?Sized> Region for std::boxed::Box<T> {
    fn region(&self) -> RegionRef<'_> {
        (**self).region()
    }
}

impl Region for RegionRef<'_> {
    fn region(&self) -> RegionRef<'_> {
        *self
    }
}

impl<'a> RegionRef<'a> {
    /// A view over a header and slot words that live anywhere (tests, the mock, loom models).
    pub fn from_parts(header: &'a SharedHeader, slots: &'a [AtomicU32], access: Access) -> Self {
        Self {
            header,
            slots,
            access,
        }
    }

    /// A view over `len` bytes of contiguous shared memory at `ptr`.
    ///
    /// # Errors
    /// [`RegionError::Misaligned`] unless `ptr` is 8-byte aligned; [`RegionError::Length`] unless
    /// `HEADER_SIZE <= len <= MAX_REGION_LEN` and `len` is a multiple of 8.
    ///
    /// # Safety
    /// - `ptr..ptr + len` is one mapping that stays valid and readable for `'a` (and writable
    ///   if `access` is [`Access::ReadWrite`]);
    /// - for `'a`, every access to those bytes by this or any other process or thread is an
    ///   atomic access of the size this module uses (32-bit words, except bytes `[16, 32)` as
    ///   two 64-bit words), or is made while no view of the region exists;
    /// - nothing creates a Rust `&mut` to those bytes during `'a`.
    #[cfg(not(loom))]
    pub unsafe fn from_raw(
        ptr: *const u8,
        len: usize,
        access: Access,
    ) -> Result<Self, RegionError> {
        if !(ptr as usize).is_multiple_of(8) {
            return Err(RegionError::Misaligned);
        }
        if !(HEADER_SIZE..=MAX_REGION_LEN).contains(&len) || !len.is_multiple_of(8) {
            return Err(RegionError::Length(len));
        }
        // SAFETY: `ptr` is 8-aligned (checked) and valid for `len >= 80` bytes for `'a` (caller),
        // `SharedHeader` is `repr(C)` atomics of size 80 with align 8 (asserted above) for which
        // every bit pattern is valid, and all concurrent accesses are atomic (caller).
        let header = unsafe { &*ptr.cast::<SharedHeader>() };
        let words = (len - HEADER_SIZE) / size_of::<AtomicU32>();
        // SAFETY: the slot area `[80, len)` is inside the mapping (caller), 4-aligned because
        // `ptr` is 8-aligned and 80 is a multiple of 4, `len - 80` is a multiple of 4 (len is a
        // multiple of 8), `AtomicU32` accepts every bit pattern, and it does not overlap the
        // header view.
        let slots =
            unsafe { core::slice::from_raw_parts(ptr.add(HEADER_SIZE).cast::<AtomicU32>(), words) };
        Ok(Self {
            header,
            slots,
            access,
        })
    }

    /// The same memory as a read-only view (what a reader gets).
    pub fn read_only(&self) -> RegionRef<'a> {
        Self {
            access: Access::ReadOnly,
            ..*self
        }
    }

    /// Whether stores are allowed through this view.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Total length in bytes (header and slots).
    pub fn len(&self) -> usize {
        HEADER_SIZE + self.slots.len() * 4
    }

    /// Always false: a region holds at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Slot words (the region after the header, as 32-bit words).
    pub(crate) fn words(&self) -> &'a [AtomicU32] {
        self.slots
    }

    /// The slot area as 64-bit words: `Some` where the target has 64-bit atomics (not under
    /// loom, little-endian) and the slot area is 8-aligned. Slot payload areas are accessed
    /// through this view whenever it exists (see the module docs); the choice depends only on
    /// the target and the memory's address, so the writer, every reader and the fault injectors
    /// of one process agree on it.
    #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
    #[inline]
    pub(crate) fn wide_words(&self) -> Option<&'a [WideWord]> {
        // Miri's weak-memory model cannot follow bytes accessed at two atomic widths one after
        // the other (it stops with an internal error), so under Miri the 32-bit path runs.
        if cfg!(miri) {
            return None;
        }
        let ptr = self.slots.as_ptr();
        if !(ptr as usize).is_multiple_of(8) {
            return None;
        }
        // SAFETY: `ptr` is 8-aligned (checked) and the slice covers `slots.len() / 2 * 8 <=
        // slots.len() * 4` bytes of the slot area, which is valid for `'a` (it is borrowed as
        // `&'a [AtomicU32]`); `AtomicU64` has the size and bit validity of `u64` and every bit
        // pattern is valid; the memory is only accessed through atomics (the `UnsafeCell`s of the
        // borrowed `AtomicU32`s permit shared mutation), and the module docs' rule keeps the two
        // widths from racing on the same bytes.
        Some(unsafe { core::slice::from_raw_parts(ptr.cast::<WideWord>(), self.slots.len() / 2) })
    }

    /// The 64-bit word holding byte `offset` of the region and the bit shift of that byte's
    /// 32-bit word inside it, if `offset` lies in a slot's payload area accessed 64 bits wide
    /// (the slot size is taken from the live header; a header without a valid size has no
    /// wide words).
    #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
    fn wide_word_at(&self, offset: usize) -> Option<(&'a WideWord, u32)> {
        let wide = self.wide_words()?;
        // Relaxed: the frame size never changes after initialisation (fault injection only).
        let f = self.header.head[2].load(Ordering::Relaxed) as usize;
        if f < MIN_FRAME_SIZE as usize || !f.is_multiple_of(8) {
            return None;
        }
        let in_area = offset.checked_sub(HEADER_SIZE)?;
        let in_slot = in_area % f;
        if in_slot < SLOT_HEADER_SIZE || in_slot >= f - 8 {
            return None;
        }
        let word = wide.get(in_area / 8)?;
        Some((word, if in_area % 8 >= 4 { 32 } else { 0 }))
    }

    /// Loads `writeIndex`.
    #[inline]
    pub fn write_index(&self, order: Ordering) -> u64 {
        self.header.write_index.load(order)
    }

    /// Loads `heartbeatTimestamp` (ms since the Unix epoch).
    #[inline]
    pub fn heartbeat_ms(&self) -> u64 {
        // Relaxed: the heartbeat is a liveness hint, not a publication; no data depends on it.
        self.header.heartbeat.load(Ordering::Relaxed)
    }

    pub(crate) fn store_write_index(&self, value: u64) {
        // SYNC: Release pairs with the Acquire load of `writeIndex` in `Reader::step`; it
        // publishes the `commit` store of the frame `value - 1` that precedes it.
        self.header.write_index.store(value, Ordering::Release);
    }

    pub(crate) fn store_heartbeat(&self, value: u64) {
        // Relaxed: see `heartbeat_ms`.
        self.header.heartbeat.store(value, Ordering::Relaxed);
    }

    /// Stores the "producer stopped" heartbeat (see `Writer::stop`).
    pub(crate) fn store_heartbeat_release(&self, value: u64) {
        // SYNC: Release pairs with the Acquire load in `heartbeat_acquire`, publishing the
        // writer's last `writeIndex` store.
        self.header.heartbeat.store(value, Ordering::Release);
    }

    /// Loads `heartbeatTimestamp` with Acquire, to see every store the writer made before a
    /// Release store of the heartbeat (its "stopped" mark).
    #[inline]
    pub fn heartbeat_acquire(&self) -> u64 {
        // SYNC: pairs with the Release store in `store_heartbeat_release`.
        self.header.heartbeat.load(Ordering::Acquire)
    }

    /// A snapshot of the header as bytes-on-the-wire values (relaxed loads; the immutable
    /// fields never change after the writer's initialisation).
    pub fn header_snapshot(&self) -> RingHeader {
        let h = self.header;
        // Relaxed throughout: the immutable fields were published before the handshake (the
        // mapping was initialised before its fd was sent); the counters are hints here.
        let w = |i: usize| h.tail[i].load(Ordering::Relaxed);
        let vr = h.head[1].load(Ordering::Relaxed);
        RingHeader {
            magic: h.head[0].load(Ordering::Relaxed),
            version: vr as u16,
            reserved1: (vr >> 16) as u16,
            frame_size_bytes: h.head[2].load(Ordering::Relaxed),
            frame_count: h.head[3].load(Ordering::Relaxed),
            write_index: h.write_index.load(Ordering::Relaxed),
            heartbeat_timestamp: h.heartbeat.load(Ordering::Relaxed),
            crc32: w(0),
            flags: w(1),
            epoch: u64::from(w(2)) | (u64::from(w(3)) << 32),
            created_unix_ns: u64::from(w(4)) | (u64::from(w(5)) << 32),
            reserved: [w(6), w(7), w(8), w(9), w(10), w(11)],
        }
    }

    /// Writes every field of `header` into the live header.
    ///
    /// # Errors
    /// [`RegionError::ReadOnly`] for a read-only view.
    pub(crate) fn store_header(&self, header: &RingHeader) -> Result<(), RegionError> {
        self.check_writable()?;
        let h = self.header;
        // Relaxed: the header is written before the region is shared (before the fd is sent);
        // the handshake's socket I/O orders it for readers in other processes.
        let st = |a: &AtomicU32, v: u32| a.store(v, Ordering::Relaxed);
        st(&h.head[0], header.magic);
        st(
            &h.head[1],
            u32::from(header.version) | (u32::from(header.reserved1) << 16),
        );
        st(&h.head[2], header.frame_size_bytes);
        st(&h.head[3], header.frame_count);
        h.write_index.store(header.write_index, Ordering::Relaxed);
        h.heartbeat
            .store(header.heartbeat_timestamp, Ordering::Relaxed);
        let tail = [
            header.crc32,
            header.flags,
            header.epoch as u32,
            (header.epoch >> 32) as u32,
            header.created_unix_ns as u32,
            (header.created_unix_ns >> 32) as u32,
        ];
        for (a, v) in h.tail.iter().zip(tail.iter().chain(header.reserved.iter())) {
            st(a, *v);
        }
        Ok(())
    }

    /// Fault injection for tests and the `corrupt` scenario: flips bit `bit` (0..8) of the byte
    /// at `offset` from the start of the region. Offsets `[16, 32)` (the live counters) are
    /// refused, so the header counters keep one access size.
    ///
    /// # Errors
    /// [`RegionError::ReadOnly`] for a read-only view, [`RegionError::OutOfBounds`] for an
    /// offset outside the region or inside `[16, 32)`.
    pub fn flip_bit(&self, offset: usize, bit: u8) -> Result<(), RegionError> {
        self.check_writable()?;
        let word = self.word_at(offset).ok_or(RegionError::OutOfBounds)?;
        let mask = 1u32 << ((offset % 4) * 8 + usize::from(bit & 7));
        #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
        if let Some((wide, shift)) = self.wide_word_at(offset) {
            // Relaxed: a deliberate corruption (below), at the width the slot layer uses here.
            wide.fetch_xor(u64::from(mask) << shift, Ordering::Relaxed);
            return Ok(());
        }
        // Relaxed: a deliberate corruption; readers must catch it by CRC, not by ordering.
        #[cfg(target_has_atomic = "32")]
        word.fetch_xor(mask, Ordering::Relaxed);
        // Targets without read-modify-write atomics (Cortex-M0): a load and a store. A frame the
        // writer commits in between may lose the flip or get it on a stale word; either way the
        // slot is corrupted or rewritten, never silently wrong.
        #[cfg(not(target_has_atomic = "32"))]
        word.store(word.load(Ordering::Relaxed) ^ mask, Ordering::Relaxed);
        Ok(())
    }

    /// Fault injection: overwrites `writeIndex` (a broken or hostile writer). The writer's own
    /// next commit stores its real index again.
    ///
    /// # Errors
    /// [`RegionError::ReadOnly`] for a read-only view.
    pub fn poke_write_index(&self, value: u64) -> Result<(), RegionError> {
        self.check_writable()?;
        // Relaxed: a deliberate corruption; readers must catch it by plausibility, not order.
        self.header.write_index.store(value, Ordering::Relaxed);
        Ok(())
    }

    /// Fault injection: overwrites the 32-bit word at byte `offset` (a multiple of 4, outside
    /// `[16, 32)`).
    ///
    /// # Errors
    /// As [`RegionRef::flip_bit`]; also [`RegionError::OutOfBounds`] for an unaligned offset.
    pub fn poke_word(&self, offset: usize, value: u32) -> Result<(), RegionError> {
        self.check_writable()?;
        if !offset.is_multiple_of(4) {
            return Err(RegionError::OutOfBounds);
        }
        let word = self.word_at(offset).ok_or(RegionError::OutOfBounds)?;
        #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
        if let Some((wide, shift)) = self.wide_word_at(offset) {
            let keep = !(u64::from(u32::MAX) << shift);
            // Relaxed: a deliberate corruption (see `flip_bit`); a read-modify-write so the
            // other half of the 64-bit word is left as it is.
            let _ = wide.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & keep) | (u64::from(value) << shift))
            });
            return Ok(());
        }
        // Relaxed: a deliberate corruption (see `flip_bit`).
        word.store(value, Ordering::Relaxed);
        Ok(())
    }

    /// Loads the 32-bit word at byte `offset` (a multiple of 4, outside `[16, 32)`).
    pub fn peek_word(&self, offset: usize) -> Option<u32> {
        if !offset.is_multiple_of(4) {
            return None;
        }
        let word = self.word_at(offset)?;
        #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
        if let Some((wide, shift)) = self.wide_word_at(offset) {
            // Relaxed: diagnostics only.
            return Some((wide.load(Ordering::Relaxed) >> shift) as u32);
        }
        // Relaxed: diagnostics only.
        Some(word.load(Ordering::Relaxed))
    }

    fn word_at(&self, offset: usize) -> Option<&'a AtomicU32> {
        let h = self.header;
        match offset {
            0..=15 => Some(&h.head[offset / 4]),
            16..=31 => None,
            32..=79 => Some(&h.tail[(offset - 32) / 4]),
            _ => self.slots.get((offset - HEADER_SIZE) / 4),
        }
    }

    pub(crate) fn check_writable(&self) -> Result<(), RegionError> {
        match self.access {
            Access::ReadWrite => Ok(()),
            Access::ReadOnly => Err(RegionError::ReadOnly),
        }
    }
}
