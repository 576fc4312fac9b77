//! Mappings of a ring memfd, and their [`Region`] views.
//!
//! This is one of the two modules of the crate allowed to use `unsafe` (the other is
//! [`crate::fdpass`]). Mappings are [`memmap2::MmapRaw`]: it never hands out `&[u8]` or
//! `&mut [u8]` to the mapped bytes, which matters because another process writes them
//! concurrently. The only way this crate touches mapped bytes is through the atomics of a core
//! [`RegionRef`], built here with [`RegionRef::from_raw`].
//!
//! | type | protection | who |
//! | --- | --- | --- |
//! | [`RwMapping`] | `PROT_READ \| PROT_WRITE`, `MAP_SHARED` | the producer, mapped *before* the memfd is sealed |
//! | [`RoMapping`] | `PROT_READ`, `MAP_SHARED` | a reader, mapped only after the seals and size were checked |
#![allow(unsafe_code)]

use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use memmap2::{MmapOptions, MmapRaw};
use nix::errno::Errno;
use vitalring_core::region::{Access, Region, RegionRef, SharedHeader};

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A header of zeros that a view falls back to if the (already checked) mapping were ever
/// refused by [`RegionRef::from_raw`]; never reached, but it keeps `region()` panic-free.
fn fallback(access: Access) -> RegionRef<'static> {
    static ZERO: OnceLock<SharedHeader> = OnceLock::new();
    RegionRef::from_parts(ZERO.get_or_init(SharedHeader::zeroed), &[], access)
}

/// Builds the view of a mapping.
///
/// # Safety
/// `map` is a `MAP_SHARED` mapping of a memfd sealed (or, for the producer, about to be sealed
/// before any other process holds it) against shrinking, whose bytes are only ever accessed
/// through core [`RegionRef`] atomics by every process that maps it, and `access` is
/// [`Access::ReadWrite`] only if the mapping is writable.
unsafe fn view(map: &MmapRaw, access: Access) -> RegionRef<'_> {
    // SAFETY: proof of the contract of `RegionRef::from_raw`:
    // - `map.as_ptr()..+len` is one live mapping owned by `map`, and the returned view borrows
    //   `map`, so it stays mapped (and readable; writable iff `access` is ReadWrite — caller)
    //   for the view's lifetime. The memfd cannot shrink (SHRINK seal, checked by the reader
    //   before mapping, set by the producer before sharing), so no access can fault;
    // - every process maps it only through this module or the core's atomics, i.e. accesses are
    //   32-bit atomics except the two 64-bit header counters (caller's contract, and the wire
    //   format's rule for foreign writers);
    // - `MmapRaw` never creates `&`/`&mut` slices of the bytes, and neither does this crate.
    // `from_raw` itself checks alignment (mmap returns page-aligned memory) and length.
    match unsafe { RegionRef::from_raw(map.as_ptr(), map.len(), access) } {
        Ok(view) => view,
        Err(_) => fallback(access),
    }
}

/// The producer's read-write shared mapping of the ring memfd.
#[derive(Debug)]
pub struct RwMapping {
    map: MmapRaw,
}

impl RwMapping {
    /// Maps `len` bytes of `fd` read-write, shared. Only the producer calls this, on a memfd it
    /// just created and sized, before sealing it and before any other process holds it.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> Result<Self, Errno> {
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&fd)
            .map_err(|e| errno_of(&e))?;
        Ok(Self { map })
    }

    /// Mapping length in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Always false (a ring has at least a header).
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

impl Region for RwMapping {
    fn region(&self) -> RegionRef<'_> {
        // SAFETY: `RwMapping::map` made a `MAP_SHARED`, `PROT_READ | PROT_WRITE` mapping of a
        // memfd that the producer seals (SHRINK | GROW | FUTURE_WRITE | SEAL) before sharing it;
        // every process touches it only through `RegionRef` atomics (see `view`).
        unsafe { view(&self.map, Access::ReadWrite) }
    }
}

/// A reader's read-only shared mapping (`PROT_READ`, `MAP_SHARED`) of a checked ring memfd.
#[derive(Debug)]
pub struct RoMapping {
    map: MmapRaw,
}

impl RoMapping {
    /// Maps `len` bytes of `fd` read-only, shared. The caller has verified the seals (no
    /// shrinking) and that the file is exactly `len` bytes long.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> Result<Self, Errno> {
        let map = MmapOptions::new()
            .len(len)
            .map_raw_read_only(&fd)
            .map_err(|e| errno_of(&e))?;
        Ok(Self { map })
    }

    /// Mapping length in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Always false (a ring has at least a header).
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

impl Region for RoMapping {
    fn region(&self) -> RegionRef<'_> {
        // SAFETY: `RoMapping::map` is only called by `client::ReceivedRing::map` after it
        // verified that the memfd carries SHRINK | GROW | FUTURE_WRITE | SEAL and is exactly the
        // mapped length; the view is `ReadOnly`, matching `PROT_READ`.
        unsafe { view(&self.map, Access::ReadOnly) }
    }
}
