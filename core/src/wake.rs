//! Readers that sleep: the per-reader status page and the sleep/wake protocol.
//!
//! A reader with nothing to read may sleep in `FUTEX_WAIT` instead of polling; the writer wakes
//! it after a commit. Each reader has a **status page**: a small shared memory object the
//! producer creates for that reader alone and hands over in the handshake. The reader writes its
//! sleeping flag, position, counters and heartbeat there; the producer reads them (as untrusted
//! bytes, through [`parse_status`]) and bumps the page's wake word when it wakes the reader.
//! The ring itself stays read-only for readers.
//!
//! ```text
//! status page (128 bytes used; the memfd is one 4 KiB page)
//! line 0  0 magic u32 "VRSP" | 4 version u32 | 8 sleeping u32 | 12 wake u32 | 16 mode u32 | pad
//! line 1 64 position u64 | 72 delivered u64 | 80 dropped u64 | 88 rejected u64
//!        96 heartbeat ms u64 | 104 reserved
//! ```
//!
//! The sleeping flag and the futex word (line 0) never share a cache line with the counters the
//! reader refreshes (line 1), so a counter update does not bounce the line the writer checks
//! after every commit.
//!
//! # The protocol (no lost wake-up)
//!
//! | step | reader ([`StatusPage::sleep`]) | writer ([`wake_sleepers`], after committing) |
//! | --- | --- | --- |
//! | 1 | `w = wake` (Relaxed) | `writeIndex = i + 1` (Release, in the commit) |
//! | 2 | `sleeping = 1` (Release) | `fence(SeqCst)` |
//! | 3 | `fence(SeqCst)` | per page: `sleeping` (Relaxed) `!= 0` → `swap(sleeping, 0)` (Acquire) |
//! | 4 | re-check: still nothing new (`writeIndex`, stop mark)? | that returned `!= 0` → `wake += 1`, `FUTEX_WAKE(&wake)` |
//! | 5 | `FUTEX_WAIT(&wake, w, timeout)`, then `sleeping = 0` | |
//!
//! The two `SeqCst` fences are ordered one way or the other. If the reader's fence comes
//! first, the writer's load in step 3 sees `sleeping = 1` (or a later value) and wakes; if the
//! writer's fence comes first, the reader's re-check in step 4 sees the new `writeIndex` and
//! does not sleep. In the first case the Release store of step 2 and the Acquire swap of step 3
//! make the reader's load of `w` happen before the writer's increment, so the increment yields a
//! value other than `w`: `FUTEX_WAIT` either sees the new value and returns at once, or is
//! already queued when `FUTEX_WAKE` runs (the kernel checks the word and queues the waiter
//! under one lock). Removing either fence loses wake-ups; `core/tests/loom_wake.rs` checks both
//! the protocol and that each fence is needed.
//!
//! Every sleep also has a timeout (the reader's watchdog deadline), so a writer that does not
//! wake at all (a firmware writer, a ring without [`crate::layout::FLAG_WAKES_SLEEPERS`]) can
//! only make a reader slower, never blind.
//!
//! # States of the sleeping flag
//!
//! | `sleeping` | meaning | who moves it |
//! | --- | --- | --- |
//! | 0 | the reader is awake (polling or reading) | reader sets 1 before it sleeps |
//! | 1 | the reader is about to sleep or sleeps | writer swaps to 0 and wakes; reader stores 0 on waking |
//! | other | a hostile or broken page | treated as 1: one wake, then 0 |
//!
//! # Trust
//!
//! The page is writable by its reader, so the producer treats every byte of it as untrusted:
//! counters go through [`parse_status`] (a pure function, fuzzed), and the only effect the
//! sleeping flag can have is one `FUTEX_WAKE` per commit — the writer never waits on a page.
//! A reader can scribble on its own wake word, which only spoils its own sleep.
#![allow(unsafe_code)]

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::atomics::{fence, Atomic64, AtomicU32, Ordering};
use crate::layout::{header_crc, FLAG_WAKES_SLEEPERS};
use crate::region::{RegionError, RegionRef};
use crate::time::{Nanos, UnixMs};

/// `magic` of a status page: the bytes `"VRSP"`.
pub const STATUS_MAGIC: u32 = 0x5053_5256;
/// The only status page `version` this crate writes and reads.
pub const STATUS_VERSION: u32 = 1;
/// Bytes of a status page that carry meaning.
pub const STATUS_LEN: usize = 128;
/// Length of the status page's memory object (one page; [`STATUS_LEN`] bytes are used).
pub const STATUS_MAP_LEN: usize = 4096;
/// `mode`: the reader polls (never sets `sleeping`).
pub const MODE_POLLS: u32 = 0;
/// `mode`: the reader sleeps in `FUTEX_WAIT` when idle.
pub const MODE_SLEEPS: u32 = 1;

/// The status page as bytes (a snapshot). Offsets are pinned below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RawStatus {
    /// [`STATUS_MAGIC`] (written by the producer).
    pub magic: u32,
    /// [`STATUS_VERSION`] (written by the producer).
    pub version: u32,
    /// 1 while the reader sleeps or is about to.
    pub sleeping: u32,
    /// The futex word; the writer adds 1 before each wake.
    pub wake: u32,
    /// [`MODE_POLLS`] or [`MODE_SLEEPS`].
    pub mode: u32,
    /// Zero.
    pub pad0: [u32; 11],
    /// The next ring index the reader will read.
    pub position: u64,
    /// Frames delivered.
    pub delivered: u64,
    /// Frames lost to overwrites.
    pub dropped: u64,
    /// Frames refused.
    pub rejected: u64,
    /// The reader's last sign of life, ms since the Unix epoch.
    pub heartbeat_ms: u64,
    /// Zero.
    pub pad1: [u64; 3],
}

const _: () = {
    assert!(size_of::<RawStatus>() == STATUS_LEN);
    assert!(offset_of!(RawStatus, magic) == 0);
    assert!(offset_of!(RawStatus, version) == 4);
    assert!(offset_of!(RawStatus, sleeping) == 8);
    assert!(offset_of!(RawStatus, wake) == 12);
    assert!(offset_of!(RawStatus, mode) == 16);
    assert!(offset_of!(RawStatus, position) == 64);
    assert!(offset_of!(RawStatus, delivered) == 72);
    assert!(offset_of!(RawStatus, dropped) == 80);
    assert!(offset_of!(RawStatus, rejected) == 88);
    assert!(offset_of!(RawStatus, heartbeat_ms) == 96);
};

/// What a status page says, after [`parse_status`] checked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReaderStatus {
    /// The reader sleeps in `FUTEX_WAIT` when idle (rather than polls).
    pub sleeps: bool,
    /// The sleeping flag is set now.
    pub asleep: bool,
    /// The next ring index the reader will read.
    pub position: u64,
    /// Frames delivered.
    pub delivered: u64,
    /// Frames lost to overwrites.
    pub dropped: u64,
    /// Frames refused.
    pub rejected: u64,
    /// The reader's last heartbeat (0: none yet).
    pub heartbeat: UnixMs,
}

/// Why status page bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatusError {
    /// Fewer than [`STATUS_LEN`] bytes.
    Length(usize),
    /// `magic` is not [`STATUS_MAGIC`].
    Magic(u32),
    /// `version` is not [`STATUS_VERSION`].
    Version(u32),
    /// `mode` is neither [`MODE_POLLS`] nor [`MODE_SLEEPS`].
    Mode(u32),
}

impl core::fmt::Display for StatusError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Length(n) => write!(f, "status page is {n} bytes, {STATUS_LEN} needed"),
            Self::Magic(m) => write!(f, "status page magic {m:#010x} is not \"VRSP\""),
            Self::Version(v) => write!(f, "status page version {v} is not {STATUS_VERSION}"),
            Self::Mode(m) => write!(
                f,
                "status page mode {m} is neither 0 (polls) nor 1 (sleeps)"
            ),
        }
    }
}

impl core::error::Error for StatusError {}

/// Checks status page bytes (written by a reader: untrusted) and returns what they say.
/// Pure; never panics. The counters are returned as reported — the producer only displays them.
/// A sleeping flag other than 0 counts as set.
///
/// # Errors
/// [`StatusError`].
pub fn parse_status(bytes: &[u8]) -> Result<ReaderStatus, StatusError> {
    let Some(head) = bytes.get(..STATUS_LEN) else {
        return Err(StatusError::Length(bytes.len()));
    };
    let raw = RawStatus::read_from_bytes(head).map_err(|_| StatusError::Length(bytes.len()))?;
    if raw.magic != STATUS_MAGIC {
        return Err(StatusError::Magic(raw.magic));
    }
    if raw.version != STATUS_VERSION {
        return Err(StatusError::Version(raw.version));
    }
    let sleeps = match raw.mode {
        MODE_POLLS => false,
        MODE_SLEEPS => true,
        other => return Err(StatusError::Mode(other)),
    };
    Ok(ReaderStatus {
        sleeps,
        asleep: raw.sleeping != 0,
        position: raw.position,
        delivered: raw.delivered,
        dropped: raw.dropped,
        rejected: raw.rejected,
        heartbeat: UnixMs(raw.heartbeat_ms),
    })
}

/// The counters a reader publishes on its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// The next ring index the reader will read.
    pub position: u64,
    /// Frames delivered.
    pub delivered: u64,
    /// Frames lost to overwrites.
    pub dropped: u64,
    /// Frames refused.
    pub rejected: u64,
    /// Now (the reader's heartbeat).
    pub now: UnixMs,
}

/// The live status page: the same bytes as [`RawStatus`], as atomics.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct StatusPage {
    /// Line 0: magic, version, sleeping, wake, mode, then 11 zero words.
    line0: [AtomicU32; 16],
    /// Line 1: position, delivered, dropped, rejected, heartbeat, then 3 zero words.
    line1: [Atomic64; 8],
}

#[cfg(not(loom))]
const _: () = {
    assert!(size_of::<StatusPage>() == STATUS_LEN);
    assert!(offset_of!(StatusPage, line1) == 64);
};

const W_MAGIC: usize = 0;
const W_VERSION: usize = 1;
const W_SLEEPING: usize = 2;
const W_WAKE: usize = 3;
const W_MODE: usize = 4;
const Q_POSITION: usize = 0;
const Q_DELIVERED: usize = 1;
const Q_DROPPED: usize = 2;
const Q_REJECTED: usize = 3;
const Q_HEARTBEAT: usize = 4;

/// Why memory cannot be viewed as a status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PageError {
    /// The base address is not 64-byte aligned.
    Misaligned,
    /// Shorter than [`STATUS_LEN`].
    Length(usize),
}

impl core::fmt::Display for PageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Misaligned => write!(f, "status page is not 64-byte aligned"),
            Self::Length(n) => write!(f, "status page mapping is {n} bytes, {STATUS_LEN} needed"),
        }
    }
}

impl core::error::Error for PageError {}

/// The kernel's wait queue on a 32-bit shared word (`FUTEX_WAIT` / `FUTEX_WAKE` without
/// `FUTEX_PRIVATE_FLAG` on Linux: the word is in memory shared between processes).
pub trait Futex {
    /// Sleeps while `*word == expected`, at most `timeout`; may return early for any reason.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Nanos);
    /// Wakes every thread sleeping on `word`.
    fn wake(&self, word: &AtomicU32);
}

/// What [`StatusPage::sleep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slept {
    /// The re-check after publishing the flag found work: no sleep.
    NotIdle,
    /// Slept (woken, timed out, or returned early).
    Slept,
}

impl StatusPage {
    /// A zeroed page (tests and in-process use).
    #[cfg(not(loom))]
    pub const fn zeroed() -> Self {
        Self {
            line0: [const { AtomicU32::new(0) }; 16],
            line1: [const { Atomic64::new(0) }; 8],
        }
    }

    /// A zeroed page (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn zeroed() -> Self {
        Self {
            line0: core::array::from_fn(|_| AtomicU32::new(0)),
            line1: core::array::from_fn(|_| Atomic64::new(0)),
        }
    }

    /// Views `len` bytes at `ptr` as a status page.
    ///
    /// # Errors
    /// [`PageError`].
    ///
    /// # Safety
    /// - `ptr..ptr + len` is one mapping that stays valid, readable and writable for `'a`;
    /// - for `'a`, every access to its first [`STATUS_LEN`] bytes by any process or thread is an
    ///   atomic access of the size this type uses (32-bit words in `[0, 64)`, 64-bit words in
    ///   `[64, 128)`); bytes of another process count, which is why a page is its own memory
    ///   object and never part of anything accessed otherwise;
    /// - nothing creates a Rust `&mut` to those bytes during `'a`.
    pub unsafe fn from_raw<'a>(ptr: *const u8, len: usize) -> Result<&'a Self, PageError> {
        if !(ptr as usize).is_multiple_of(64) {
            return Err(PageError::Misaligned);
        }
        if len < STATUS_LEN {
            return Err(PageError::Length(len));
        }
        // SAFETY: `ptr` is 64-byte aligned (checked) and the mapping holds at least
        // `STATUS_LEN == size_of::<StatusPage>()` bytes (checked) that stay valid for 'a (the
        // caller's first promise). `StatusPage` is made of atomics only, which have no invalid
        // bit patterns and allow shared mutation through `&`; every other access is atomic of the
        // same sizes and no `&mut` exists (the caller's other promises), so there is no data race.
        Ok(unsafe { &*ptr.cast::<StatusPage>() })
    }

    /// Producer: writes a fresh page (before handing it to the reader).
    pub fn init(&self) {
        for w in &self.line0 {
            w.store(0, Ordering::Relaxed);
        }
        for q in &self.line1 {
            q.store(0, Ordering::Relaxed);
        }
        self.line0[W_MAGIC].store(STATUS_MAGIC, Ordering::Relaxed);
        self.line0[W_VERSION].store(STATUS_VERSION, Ordering::Relaxed);
    }

    /// The page's bytes now (for [`parse_status`]); each word loaded Relaxed: the counters are
    /// informational, and the flag's ordering is [`wake_sleepers`]'s business.
    pub fn snapshot(&self) -> [u8; STATUS_LEN] {
        let mut raw = RawStatus::new_zeroed();
        raw.magic = self.line0[W_MAGIC].load(Ordering::Relaxed);
        raw.version = self.line0[W_VERSION].load(Ordering::Relaxed);
        raw.sleeping = self.line0[W_SLEEPING].load(Ordering::Relaxed);
        raw.wake = self.line0[W_WAKE].load(Ordering::Relaxed);
        raw.mode = self.line0[W_MODE].load(Ordering::Relaxed);
        raw.position = self.line1[Q_POSITION].load(Ordering::Relaxed);
        raw.delivered = self.line1[Q_DELIVERED].load(Ordering::Relaxed);
        raw.dropped = self.line1[Q_DROPPED].load(Ordering::Relaxed);
        raw.rejected = self.line1[Q_REJECTED].load(Ordering::Relaxed);
        raw.heartbeat_ms = self.line1[Q_HEARTBEAT].load(Ordering::Relaxed);
        let mut out = [0u8; STATUS_LEN];
        out.copy_from_slice(raw.as_bytes());
        out
    }

    /// Reader: says whether it sleeps when idle ([`MODE_SLEEPS`]) or polls.
    pub fn set_mode(&self, sleeps: bool) {
        let mode = if sleeps { MODE_SLEEPS } else { MODE_POLLS };
        self.line0[W_MODE].store(mode, Ordering::Relaxed);
    }

    /// Reader: publishes its position, counters and heartbeat (Relaxed: informational).
    pub fn report(&self, r: &Report) {
        self.line1[Q_POSITION].store(r.position, Ordering::Relaxed);
        self.line1[Q_DELIVERED].store(r.delivered, Ordering::Relaxed);
        self.line1[Q_DROPPED].store(r.dropped, Ordering::Relaxed);
        self.line1[Q_REJECTED].store(r.rejected, Ordering::Relaxed);
        self.line1[Q_HEARTBEAT].store(r.now.0, Ordering::Relaxed);
    }

    /// The futex word (for a reader that wants to wake its own sleeping thread, e.g. on stop).
    pub fn wake_word(&self) -> &AtomicU32 {
        &self.line0[W_WAKE]
    }

    /// The sleeping flag (tests and hostile-page tools).
    pub fn sleeping_word(&self) -> &AtomicU32 {
        &self.line0[W_SLEEPING]
    }

    /// Overwrites every word of the page with values derived from `seed` and leaves the
    /// sleeping flag set: what a hostile reader can do to its own page (for tests of the
    /// producer's side; an honest reader never calls it).
    #[doc(hidden)]
    pub fn scribble(&self, seed: u64) {
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for w in &self.line0 {
            w.store(next() as u32, Ordering::Relaxed);
        }
        for q in &self.line1 {
            q.store(next(), Ordering::Relaxed);
        }
        self.line0[W_SLEEPING].store(1, Ordering::Relaxed);
    }

    /// Reader: sleeps until woken or `timeout`, unless `still_idle` (called after the flag is
    /// published and the fence) finds work. `still_idle` must re-load `writeIndex` (and the
    /// stop mark) from the ring.
    pub fn sleep<F: Futex>(
        &self,
        futex: &F,
        timeout: Nanos,
        still_idle: impl FnOnce() -> bool,
    ) -> Slept {
        let wake = &self.line0[W_WAKE];
        let sleeping = &self.line0[W_SLEEPING];
        let w = wake.load(Ordering::Relaxed);
        // SYNC: Release pairs with the Acquire swap in `wake_sleepers`: a writer that takes
        // this flag sees `w` loaded before its own increment of `wake`.
        sleeping.store(1, Ordering::Release);
        // SYNC: pairs with the SeqCst fence in `wake_sleepers` (store-buffering: either the
        // writer sees our flag or we see its writeIndex).
        #[cfg(not(vitalring_mutant = "reader_fence"))]
        fence(Ordering::SeqCst);
        if !still_idle() {
            sleeping.store(0, Ordering::Relaxed);
            return Slept::NotIdle;
        }
        futex.wait(wake, w, timeout);
        sleeping.store(0, Ordering::Relaxed);
        Slept::Slept
    }

    /// Writer, one page, after the fence of [`wake_sleepers`]: wakes the reader if its flag is
    /// set. Returns whether a `FUTEX_WAKE` was issued. Needs read-modify-write atomics: a
    /// writer on a target without them (Cortex-M0) does not wake sleepers, and its rings do
    /// not carry the "writer wakes sleepers" header flag, so their readers poll.
    #[cfg(target_has_atomic = "32")]
    #[inline]
    fn wake_one<F: Futex>(&self, futex: &F) -> bool {
        let sleeping = &self.line0[W_SLEEPING];
        // A plain load first: no read-modify-write (no cache line taken) while nobody sleeps.
        if sleeping.load(Ordering::Relaxed) == 0 {
            return false;
        }
        // SYNC: Acquire pairs with the Release store of the flag in `StatusPage::sleep`.
        if sleeping.swap(0, Ordering::Acquire) == 0 {
            return false;
        }
        let wake = &self.line0[W_WAKE];
        wake.fetch_add(1, Ordering::Relaxed);
        futex.wake(wake);
        true
    }
}

/// Writer: after a commit (or the stop mark), wakes every reader whose page says it sleeps.
/// Makes no system call when no flag is set. Returns how many `FUTEX_WAKE`s it issued.
/// Only on targets with read-modify-write atomics (see `StatusPage::wake_one`).
#[cfg(target_has_atomic = "32")]
pub fn wake_sleepers<'a, F: Futex>(
    pages: impl IntoIterator<Item = &'a StatusPage>,
    futex: &F,
) -> u32 {
    // SYNC: pairs with the SeqCst fence in `StatusPage::sleep` (see the module docs).
    #[cfg(not(vitalring_mutant = "writer_fence"))]
    fence(Ordering::SeqCst);
    let mut woken = 0;
    for page in pages {
        if page.wake_one(futex) {
            woken += 1;
        }
    }
    woken
}

/// Producer: sets [`FLAG_WAKES_SLEEPERS`] in a fresh ring's header (and its CRC). Call it after
/// [`crate::slot::Writer::create`] and before the ring is shared with any reader.
///
/// # Errors
/// [`RegionError::ReadOnly`] for a read-only view.
pub fn announce_wakes(region: RegionRef<'_>) -> Result<(), RegionError> {
    let mut header = region.header_snapshot();
    header.flags |= FLAG_WAKES_SLEEPERS;
    header.crc32 = header_crc(&header);
    region.store_header(&header)
}

/// Whether a ring's writer wakes sleeping readers (its header has [`FLAG_WAKES_SLEEPERS`]).
pub fn writer_wakes(region: RegionRef<'_>) -> bool {
    region.header_snapshot().flags & FLAG_WAKES_SLEEPERS != 0
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::cell::Cell;

    #[derive(Default)]
    struct Count {
        waits: Cell<u32>,
        wakes: Cell<u32>,
    }
    impl Futex for Count {
        fn wait(&self, _: &AtomicU32, _: u32, _: Nanos) {
            self.waits.set(self.waits.get() + 1);
        }
        fn wake(&self, _: &AtomicU32) {
            self.wakes.set(self.wakes.get() + 1);
        }
    }

    #[test]
    fn a_fresh_page_parses_and_reports_round_trip() {
        let page = StatusPage::zeroed();
        page.init();
        let s = parse_status(&page.snapshot()).unwrap();
        assert!(!s.sleeps && !s.asleep && s.position == 0);
        page.set_mode(true);
        page.report(&Report {
            position: 7,
            delivered: 5,
            dropped: 1,
            rejected: 1,
            now: UnixMs(42),
        });
        let s = parse_status(&page.snapshot()).unwrap();
        assert_eq!(
            s,
            ReaderStatus {
                sleeps: true,
                asleep: false,
                position: 7,
                delivered: 5,
                dropped: 1,
                rejected: 1,
                heartbeat: UnixMs(42)
            }
        );
    }

    #[test]
    fn parser_refuses_bad_pages() {
        let page = StatusPage::zeroed();
        assert_eq!(parse_status(&page.snapshot()), Err(StatusError::Magic(0)));
        page.init();
        assert_eq!(parse_status(&[0; 3]), Err(StatusError::Length(3)));
        page.line0[W_MODE].store(9, Ordering::Relaxed);
        assert_eq!(parse_status(&page.snapshot()), Err(StatusError::Mode(9)));
        page.line0[W_VERSION].store(2, Ordering::Relaxed);
        assert_eq!(parse_status(&page.snapshot()), Err(StatusError::Version(2)));
    }

    #[test]
    fn writer_wakes_only_flagged_pages_and_clears_the_flag() {
        let a = StatusPage::zeroed();
        let b = StatusPage::zeroed();
        let f = Count::default();
        assert_eq!(wake_sleepers([&a, &b], &f), 0);
        assert_eq!(f.wakes.get(), 0);
        b.sleeping_word().store(0xdead_beef, Ordering::Relaxed); // hostile value
        assert_eq!(wake_sleepers([&a, &b], &f), 1);
        assert_eq!(b.sleeping_word().load(Ordering::Relaxed), 0);
        assert_eq!(b.wake_word().load(Ordering::Relaxed), 1);
        assert_eq!(wake_sleepers([&a, &b], &f), 0);
    }

    #[test]
    fn reader_does_not_sleep_when_the_recheck_finds_work() {
        let p = StatusPage::zeroed();
        let f = Count::default();
        assert_eq!(p.sleep(&f, Nanos(1), || false), Slept::NotIdle);
        assert_eq!(f.waits.get(), 0);
        assert_eq!(p.sleep(&f, Nanos(1), || true), Slept::Slept);
        assert_eq!(f.waits.get(), 1);
        assert_eq!(p.sleeping_word().load(Ordering::Relaxed), 0);
    }
}
