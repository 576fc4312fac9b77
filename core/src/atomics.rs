//! The one place the core takes its atomics from.
//!
//! Under `cfg(loom)` every atomic and fence comes from [loom] so the slot protocol can be
//! model-checked; otherwise from `core::sync::atomic`. Nothing else in the crate names
//! `core::sync::atomic` directly.
//!
//! [`Atomic64`] hides whether the target has 64-bit atomics. On targets without them (for
//! example `thumbv7em-none-eabihf`) a 64-bit header word is stored as two 32-bit halves, **low
//! half first, then high half**, each with the ordering asked for. A concurrent 64-bit reader
//! can then observe a torn value only while the low half has wrapped and the high half is not yet
//! written: the torn value is *smaller* than both the old and the new value, so it can only
//! under-report progress (a reader treats `writeIndex` smaller than its own index as "nothing
//! new", and a heartbeat that changes at all as "alive"). The slot's `commit` word, a 32-bit
//! atomic on every target, stays the ground truth for whether a frame is readable.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicU32, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, Ordering};

#[cfg(all(not(loom), target_has_atomic = "64"))]
use core::sync::atomic::AtomicU64;
#[cfg(all(loom, target_has_atomic = "64"))]
use loom::sync::atomic::AtomicU64;

/// A 64-bit word in shared memory that is read and written atomically where the target can,
/// and as two ordered 32-bit halves where it cannot (see the module docs).
#[derive(Debug)]
#[repr(transparent)]
pub struct Atomic64 {
    #[cfg(target_has_atomic = "64")]
    inner: AtomicU64,
    #[cfg(not(target_has_atomic = "64"))]
    inner: [AtomicU32; 2],
}

impl Atomic64 {
    /// A new word holding `value`.
    #[cfg(not(loom))]
    pub const fn new(value: u64) -> Self {
        #[cfg(target_has_atomic = "64")]
        {
            Self {
                inner: AtomicU64::new(value),
            }
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            Self {
                inner: [
                    AtomicU32::new(value as u32),
                    AtomicU32::new((value >> 32) as u32),
                ],
            }
        }
    }

    /// A new word holding `value` (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn new(value: u64) -> Self {
        Self {
            inner: AtomicU64::new(value),
        }
    }

    /// Loads the value. See the module docs for what a torn value can look like on targets
    /// without 64-bit atomics.
    #[inline]
    pub fn load(&self, order: Ordering) -> u64 {
        #[cfg(target_has_atomic = "64")]
        {
            self.inner.load(order)
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            // Read high, low, high until the high half is stable: the result is a value the
            // word held, or the transient "low wrapped, high not yet written" value.
            loop {
                let hi = self.inner[1].load(order);
                let lo = self.inner[0].load(order);
                if self.inner[1].load(order) == hi {
                    return (u64::from(hi) << 32) | u64::from(lo);
                }
            }
        }
    }

    /// Stores `value`: the low half first, then the high half, where the target has no
    /// 64-bit atomics.
    #[inline]
    pub fn store(&self, value: u64, order: Ordering) {
        #[cfg(target_has_atomic = "64")]
        {
            self.inner.store(value, order);
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            self.inner[0].store(value as u32, order);
            self.inner[1].store((value >> 32) as u32, order);
        }
    }
}

/// One word of a slot's payload area as the writer stores it and the reader loads it: 64 bits
/// where the target has 64-bit atomics and the area is 8-aligned (see
/// [`crate::region::RegionRef::wide_words`]), 32 bits otherwise (and always under loom). The
/// value travels as a `u64` whose low [`Word::BYTES`] bytes are the word's bytes in memory
/// order (little-endian). All accesses are Relaxed: the slot protocol's fences and `commit`
/// loads order them.
pub(crate) trait Word {
    /// Bytes per word (4 or 8).
    const BYTES: usize;
    /// Relaxed load.
    fn load_le(&self) -> u64;
    /// Relaxed store of the low [`Word::BYTES`] bytes of `value`.
    fn store_le(&self, value: u64);
}

impl Word for AtomicU32 {
    const BYTES: usize = 4;
    #[inline(always)]
    fn load_le(&self) -> u64 {
        // Relaxed: see the trait docs.
        u64::from(self.load(Ordering::Relaxed))
    }
    #[inline(always)]
    fn store_le(&self, value: u64) {
        // Relaxed: see the trait docs.
        self.store(value as u32, Ordering::Relaxed);
    }
}

#[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
pub(crate) use core::sync::atomic::AtomicU64 as WideWord;

#[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
impl Word for WideWord {
    const BYTES: usize = 8;
    #[inline(always)]
    fn load_le(&self) -> u64 {
        // Relaxed: see the trait docs.
        self.load(Ordering::Relaxed)
    }
    #[inline(always)]
    fn store_le(&self, value: u64) {
        // Relaxed: see the trait docs.
        self.store(value, Ordering::Relaxed);
    }
}
