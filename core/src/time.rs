//! Time as types, so units and clocks cannot be mixed.
//!
//! The core never reads a clock: every function that needs time takes it as an argument, in
//! one of three types.
//!
//! | type | clock | unit | used for |
//! | --- | --- | --- | --- |
//! | [`MonoNs`] | the reader's monotonic clock (never jumps, meaningless across processes) | ns | stall detection, check cadences, plausibility of `writeIndex` |
//! | [`UnixMs`] | the writer's wall clock | ms since the Unix epoch | `heartbeatTimestamp` |
//! | [`UnixNs`] | the writer's wall clock | ns since the Unix epoch | frame `timestampNs`, ring creation time |
//!
//! Only explicit conversions exist between the two wall-clock types ([`UnixNs::as_ms`],
//! [`UnixMs::as_ns`]); none exists between monotonic and wall time.

use core::fmt;

/// A reading of the reader's monotonic clock, in ns from an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MonoNs(pub u64);

/// Wall-clock time in ms since the Unix epoch (the unit of `heartbeatTimestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnixMs(pub u64);

/// Wall-clock time in ns since the Unix epoch (the unit of a frame's `timestampNs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnixNs(pub u64);

/// A span of time in ns (the difference of two readings of one clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nanos(pub u64);

impl Nanos {
    /// `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms.saturating_mul(1_000_000))
    }

    /// Whole milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0 / 1_000_000
    }
}

impl MonoNs {
    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub const fn since(self, earlier: MonoNs) -> Nanos {
        Nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating.
    pub const fn plus(self, d: Nanos) -> MonoNs {
        MonoNs(self.0.saturating_add(d.0))
    }
}

impl UnixNs {
    /// The same instant in whole milliseconds.
    pub const fn as_ms(self) -> UnixMs {
        UnixMs(self.0 / 1_000_000)
    }
}

impl UnixMs {
    /// The same instant in nanoseconds (saturating).
    pub const fn as_ns(self) -> UnixNs {
        UnixNs(self.0.saturating_mul(1_000_000))
    }
}

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.as_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_explicit_and_saturate() {
        assert_eq!(UnixNs(1_234_567_890).as_ms(), UnixMs(1_234));
        assert_eq!(UnixMs(u64::MAX).as_ns(), UnixNs(u64::MAX));
        assert_eq!(MonoNs(5).since(MonoNs(9)), Nanos(0));
        assert_eq!(MonoNs(u64::MAX).plus(Nanos(1)), MonoNs(u64::MAX));
        assert_eq!(Nanos::from_ms(250).as_ms(), 250);
    }
}
