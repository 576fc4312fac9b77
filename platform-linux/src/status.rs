//! Per-reader status pages (the memory side) and the Linux futex.
//!
//! The producer creates one status page per reader that asks for one: a `memfd` of one 4 KiB
//! page, mapped read-write by the producer, initialised, then sealed against resizing
//! (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) so that neither side can make the other's
//! mapping fault. It is *not* write-sealed: the reader maps it read-write too and publishes its
//! sleeping flag, position and counters there (layout and protocol: [`vitalring_core::wake`]).
//! The ring memfd stays read-only for readers.
//!
//! This module holds the mapping ([`StatusMapping`], `unsafe` for the one cast to the core's
//! atomics view) and [`LinuxFutex`], the core's [`Futex`] over `futex(2)` **without**
//! `FUTEX_PRIVATE_FLAG`: the word lives in memory shared between processes, and shared futexes
//! are keyed by inode and offset, so the producer's and the reader's mappings of the page meet.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use memmap2::{MmapOptions, MmapRaw};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use rustix::thread::futex;
use std::sync::atomic::AtomicU32;
use vitalring_core::time::Nanos;
use vitalring_core::wake::{Futex, StatusPage, STATUS_MAP_LEN};

use crate::ring::{fd_facts, seals};

/// The seals a status page carries: no resizing, no more seals. (Not write-sealed: the reader
/// writes it.)
pub const STATUS_SEALS: SealFlag = SealFlag::from_bits_retain(
    SealFlag::F_SEAL_SHRINK.bits() | SealFlag::F_SEAL_GROW.bits() | SealFlag::F_SEAL_SEAL.bits(),
);

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A read-write shared mapping of one status page.
#[derive(Debug)]
pub struct StatusMapping {
    map: MmapRaw,
}

impl StatusMapping {
    /// Maps a status page memfd read-write, shared. The caller has checked (or set) the
    /// resize seals and the size.
    fn map(fd: BorrowedFd<'_>) -> Result<Self, Errno> {
        let map = MmapOptions::new()
            .len(STATUS_MAP_LEN)
            .map_raw(&fd)
            .map_err(|e| errno_of(&e))?;
        Ok(Self { map })
    }

    /// The page's atomics.
    pub fn page(&self) -> &StatusPage {
        static FALLBACK: OnceLock<StatusPage> = OnceLock::new();
        // SAFETY: proof of the contract of `StatusPage::from_raw`:
        // - `map.as_ptr()..+len` is one live `MAP_SHARED` read-write mapping owned by `self`, and
        //   the returned reference borrows `self`, so it stays mapped for its lifetime. The memfd
        //   carries SHRINK | GROW | SEAL (set by `create_status_page` before the fd leaves the
        //   producer, checked by `check_status_fd` before a reader maps it), so no access faults;
        // - both processes touch the page only through `StatusPage`'s atomics (this module is
        //   the only place that maps one), 32-bit words in the first line, 64-bit in the second;
        //   a hostile reader writing other sizes from its own code can only garble values, which
        //   are parsed as untrusted bytes (`parse_status`);
        // - `MmapRaw` never creates `&`/`&mut` slices of the bytes, and neither does this crate.
        // `from_raw` checks alignment (mmap returns page-aligned memory) and length itself.
        match unsafe { StatusPage::from_raw(self.map.as_ptr(), self.map.len()) } {
            Ok(p) => p,
            Err(_) => FALLBACK.get_or_init(StatusPage::zeroed),
        }
    }
}

/// Why a status page could not be created or accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPageError {
    /// `memfd_create`, `ftruncate`, `mmap` or `F_ADD_SEALS` failed.
    Create(Errno),
    /// The descriptor is not a sealable memfd of [`STATUS_MAP_LEN`] bytes with the resize seals.
    NotAPage,
    /// Mapping it failed.
    Map(Errno),
}

impl core::fmt::Display for StatusPageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Create(e) => write!(
                f,
                "cannot create a status page: {}",
                e.desc().to_lowercase()
            ),
            Self::NotAPage => write!(
                f,
                "status page descriptor is not a resize-sealed memfd of {STATUS_MAP_LEN} bytes"
            ),
            Self::Map(e) => write!(
                f,
                "mapping the status page failed: {}",
                e.desc().to_lowercase()
            ),
        }
    }
}

impl std::error::Error for StatusPageError {}

/// Producer: a fresh, initialised, resize-sealed status page and its memfd (to send).
///
/// # Errors
/// [`StatusPageError::Create`].
pub fn create_status_page() -> Result<(OwnedFd, StatusMapping), StatusPageError> {
    let name: &CStr = c"vitalring:status";
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .map_err(StatusPageError::Create)?;
    nix::unistd::ftruncate(&fd, STATUS_MAP_LEN as libc::off_t).map_err(StatusPageError::Create)?;
    let map = StatusMapping::map(fd.as_fd()).map_err(StatusPageError::Create)?;
    map.page().init();
    fcntl(&fd, FcntlArg::F_ADD_SEALS(STATUS_SEALS)).map_err(StatusPageError::Create)?;
    Ok((fd, map))
}

/// Reader: checks a received status page descriptor (resize seals, size) and maps it.
///
/// # Errors
/// [`StatusPageError::NotAPage`], [`StatusPageError::Map`].
pub fn map_status_fd(fd: BorrowedFd<'_>) -> Result<StatusMapping, StatusPageError> {
    let found = seals(fd).map_err(|_| StatusPageError::NotAPage)?;
    if !found.contains(STATUS_SEALS) {
        return Err(StatusPageError::NotAPage);
    }
    let facts = fd_facts(fd).map_err(|_| StatusPageError::NotAPage)?;
    if !facts.regular || facts.size != STATUS_MAP_LEN as u64 {
        return Err(StatusPageError::NotAPage);
    }
    StatusMapping::map(fd).map_err(StatusPageError::Map)
}

/// `futex(2)` on a word of shared memory: `FUTEX_WAIT` / `FUTEX_WAKE`, never
/// `FUTEX_PRIVATE_FLAG`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinuxFutex;

impl Futex for LinuxFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Nanos) {
        let ts = futex::Timespec {
            tv_sec: (timeout.0 / 1_000_000_000).min(i64::MAX as u64) as i64,
            tv_nsec: (timeout.0 % 1_000_000_000) as _,
        };
        // EAGAIN (the word already moved), ETIMEDOUT and EINTR all mean "look again".
        let _ = futex::wait(word, futex::Flags::empty(), expected, Some(&ts));
    }

    fn wake(&self, word: &AtomicU32) {
        let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
    }
}
