//! Heartbeat watchdog: pure logic, time passed in.
//!
//! The writer stores a heartbeat value (ms since the Unix epoch) at every commit and at least
//! every 50 ms while idle. The watchdog does **not** compare two heartbeat values with each
//! other (seed 000's `checkHeartbeat` does, and so never notices a dead writer): it records the
//! reader's own monotonic time whenever the value *changes*, and declares a stall once the
//! value has not changed for longer than the timeout of reader time. Wall-clock jumps on either
//! side therefore cannot cause or hide a stall.

use crate::time::{MonoNs, Nanos, UnixMs};

/// Default stall timeout: 250 ms.
pub const DEFAULT_TIMEOUT: Nanos = Nanos(250_000_000);

/// What a poll of the watchdog found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WatchdogEvent {
    /// The heartbeat has not moved for `age_ns` (> timeout) of reader time.
    Stalled {
        /// Reader time since the heartbeat last moved.
        age: Nanos,
    },
    /// The heartbeat moved again after a stall that lasted `stalled_for_ns`.
    Recovered {
        /// Reader time between the last movement before the stall and this one.
        stalled_for: Nanos,
    },
}

/// Tracks one heartbeat value against the reader's monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Watchdog {
    timeout: Nanos,
    last_value: UnixMs,
    last_change: MonoNs,
    stalled: bool,
}

impl Watchdog {
    /// A watchdog that has just seen `heartbeat` at reader time `now`.
    pub fn new(timeout: Nanos, heartbeat: UnixMs, now: MonoNs) -> Self {
        Self {
            timeout,
            last_value: heartbeat,
            last_change: now,
            stalled: false,
        }
    }

    /// Feeds the current heartbeat value at reader time `now` (monotonic, never decreasing).
    /// Returns an event on the transitions alive → stalled and stalled → alive only.
    pub fn poll(&mut self, heartbeat: UnixMs, now: MonoNs) -> Option<WatchdogEvent> {
        if heartbeat != self.last_value {
            let since = now.since(self.last_change);
            self.last_value = heartbeat;
            self.last_change = now;
            if self.stalled {
                self.stalled = false;
                return Some(WatchdogEvent::Recovered { stalled_for: since });
            }
            return None;
        }
        let age = self.age(now);
        if !self.stalled && age > self.timeout {
            self.stalled = true;
            return Some(WatchdogEvent::Stalled { age });
        }
        None
    }

    /// Reader time since the heartbeat last moved.
    pub fn age(&self, now: MonoNs) -> Nanos {
        now.since(self.last_change)
    }

    /// When the watchdog would declare a stall if the heartbeat does not move before then
    /// (a sleeping reader's longest sleep).
    pub fn deadline(&self) -> MonoNs {
        self.last_change
            .plus(Nanos(self.timeout.0.saturating_add(1)))
    }

    /// Whether the last poll left the watchdog in the stalled state.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Nanos {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    fn at(ms: u64) -> MonoNs {
        MonoNs(ms * MS)
    }

    #[test]
    fn a_frozen_heartbeat_stalls_after_the_timeout_not_before() {
        let mut w = Watchdog::new(DEFAULT_TIMEOUT, UnixMs(1000), MonoNs(0));
        assert_eq!(w.poll(UnixMs(1000), at(100)), None);
        assert_eq!(
            w.poll(UnixMs(1000), at(250)),
            None,
            "exactly 250 ms is not yet a stall"
        );
        assert_eq!(
            w.poll(UnixMs(1000), at(251)),
            Some(WatchdogEvent::Stalled {
                age: Nanos(251 * MS)
            })
        );
        assert!(w.is_stalled());
        assert_eq!(w.poll(UnixMs(1000), at(400)), None, "reported once");
        assert_eq!(
            w.poll(UnixMs(1001), at(410)),
            Some(WatchdogEvent::Recovered {
                stalled_for: Nanos(410 * MS)
            })
        );
        assert!(!w.is_stalled());
    }

    #[test]
    fn a_moving_heartbeat_never_stalls_even_if_its_values_jump() {
        // The writer's wall clock jumps backwards and forwards; only movement matters.
        let mut w = Watchdog::new(DEFAULT_TIMEOUT, UnixMs(5_000), MonoNs(0));
        for (i, hb) in [4_000u64, 90_000, 10, 11, 12].into_iter().enumerate() {
            assert_eq!(w.poll(UnixMs(hb), at((i as u64 + 1) * 200)), None);
        }
    }

    #[test]
    fn seed_000_bug_is_not_reproduced() {
        // Seed 000 compared two heartbeat samples; a dead writer yields difference 0 forever.
        let mut w = Watchdog::new(DEFAULT_TIMEOUT, UnixMs(42), MonoNs(0));
        let events: usize = (1..=10)
            .filter_map(|i| w.poll(UnixMs(42), at(i * 100)))
            .count();
        assert_eq!(events, 1);
    }
}
