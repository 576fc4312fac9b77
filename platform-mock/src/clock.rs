//! A clock that only moves when the test moves it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vitalring_core::time::{MonoNs, UnixMs, UnixNs};

const NS_PER_MS: u64 = 1_000_000;

#[derive(Debug, Default)]
struct State {
    monotonic_ns: AtomicU64,
    wall_ns: AtomicU64,
}

/// A manual clock with two faces: a monotonic one (the reader's watchdog time, ns) and a wall
/// one (heartbeats in ms and frame timestamps in ns since the Unix epoch). [`ManualClock::advance`]
/// moves both; [`ManualClock::set_wall_ms`] makes the wall clock jump alone, as NTP would.
/// Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    state: Arc<State>,
}

impl ManualClock {
    /// Monotonic time 0, wall time `wall_ms` since the Unix epoch.
    pub fn new(wall_ms: u64) -> Self {
        let clock = Self::default();
        clock.set_wall_ms(wall_ms);
        clock
    }

    /// Monotonic time.
    pub fn now(&self) -> MonoNs {
        // Relaxed: one counter, no data published through it.
        MonoNs(self.state.monotonic_ns.load(Ordering::Relaxed))
    }

    /// Wall time.
    pub fn wall(&self) -> UnixNs {
        // Relaxed: see `now`.
        UnixNs(self.state.wall_ns.load(Ordering::Relaxed))
    }

    /// Wall time in ms (the heartbeat's unit).
    pub fn wall_ms(&self) -> UnixMs {
        self.wall().as_ms()
    }

    /// Moves both faces forward by `ns`.
    pub fn advance_ns(&self, ns: u64) {
        // Relaxed: see `now`.
        self.state.monotonic_ns.fetch_add(ns, Ordering::Relaxed);
        self.state.wall_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Moves both faces forward by `ms`.
    pub fn advance_ms(&self, ms: u64) {
        self.advance_ns(ms.saturating_mul(NS_PER_MS));
    }

    /// Moves both faces forward by `d` (saturating at `u64::MAX` ns).
    pub fn advance(&self, d: Duration) {
        self.advance_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Sets the wall face alone (a wall-clock jump); the monotonic face is untouched.
    pub fn set_wall_ms(&self, wall_ms: u64) {
        // Relaxed: see `now`.
        self.state
            .wall_ns
            .store(wall_ms.saturating_mul(NS_PER_MS), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_both_faces_and_jumps_wall_alone() {
        let c = ManualClock::new(1_700_000_000_000);
        let shared = c.clone();
        assert_eq!(c.now(), MonoNs(0));
        c.advance_ms(250);
        c.advance(Duration::from_micros(5));
        assert_eq!(shared.now(), MonoNs(250_005_000));
        assert_eq!(shared.wall_ms(), UnixMs(1_700_000_000_250));
        c.set_wall_ms(5);
        assert_eq!(c.wall_ms(), UnixMs(5));
        assert_eq!(c.now(), MonoNs(250_005_000), "monotonic face does not jump");
    }
}
