//! The two clocks the Linux platform reads.
//!
//! - **Wall clock** (`CLOCK_REALTIME`, ms since the Unix epoch) for the values a producer stores
//!   in `heartbeatTimestamp` and frame timestamps — they mean something to other processes.
//! - **Monotonic clock** (`CLOCK_MONOTONIC`, ns) for everything a reader measures itself: the
//!   watchdog's notion of "the heartbeat has not moved for 250 ms", retry intervals, periodic
//!   checks. It never jumps, so a wall-clock step on either side cannot cause or hide a stall.

use nix::time::{clock_gettime, ClockId};

fn read(clock: ClockId) -> u64 {
    match clock_gettime(clock) {
        Ok(ts) => {
            let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
            let nanos = u64::try_from(ts.tv_nsec()).unwrap_or(0);
            secs.saturating_mul(1_000_000_000).saturating_add(nanos)
        }
        // `clock_gettime` on these clock ids cannot fail on Linux; 0 keeps callers total.
        Err(_) => 0,
    }
}

/// `CLOCK_MONOTONIC` in ns (reader-side timing).
pub fn monotonic_ns() -> u64 {
    read(ClockId::CLOCK_MONOTONIC)
}

/// `CLOCK_REALTIME` in ns since the Unix epoch (frame timestamps).
pub fn wall_ns() -> u64 {
    read(ClockId::CLOCK_REALTIME)
}

/// `CLOCK_REALTIME` in ms since the Unix epoch (heartbeat values).
pub fn wall_ms() -> u64 {
    wall_ns() / 1_000_000
}

/// The monotonic clock as the core's type.
pub fn mono() -> vitalring_core::time::MonoNs {
    vitalring_core::time::MonoNs(monotonic_ns())
}

/// The wall clock as the core's type.
pub fn wall() -> vitalring_core::time::UnixNs {
    vitalring_core::time::UnixNs(wall_ns())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_are_plausible() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a);
        // After 2020-01-01.
        assert!(wall_ms() > 1_577_836_800_000);
    }
}
