//! Heartbeat watchdog: pure logic, time passed in.
//!
//! The writer stores a heartbeat value (ms since the Unix epoch) at every commit and at least
//! every 50 ms while idle. The watchdog does **not** compare two heartbeat values with each
//! other (seed 000's `checkHeartbeat` does, and so never notices a dead writer): it records the
//! reader's own monotonic time whenever the value *changes*, and declares a stall once the
//! value has not changed for longer than the timeout of reader time. Wall-clock jumps on either
//! side therefore cannot cause or hide a stall.

/// Default stall timeout: 250 ms.
pub const DEFAULT_TIMEOUT_NS: u64 = 250_000_000;

/// What a poll of the watchdog found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WatchdogEvent {
    /// The heartbeat has not moved for `age_ns` (> timeout) of reader time.
    Stalled {
        /// Reader time since the heartbeat last moved.
        age_ns: u64,
    },
    /// The heartbeat moved again after a stall that lasted `stalled_for_ns`.
    Recovered {
        /// Reader time between the last movement before the stall and this one.
        stalled_for_ns: u64,
    },
}

/// Tracks one heartbeat value against the reader's monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Watchdog {
    timeout_ns: u64,
    last_value: u64,
    last_change_ns: u64,
    stalled: bool,
}

impl Watchdog {
    /// A watchdog that has just seen `heartbeat` at reader time `now_ns`.
    pub fn new(timeout_ns: u64, heartbeat: u64, now_ns: u64) -> Self {
        Self {
            timeout_ns,
            last_value: heartbeat,
            last_change_ns: now_ns,
            stalled: false,
        }
    }

    /// Feeds the current heartbeat value at reader time `now_ns` (monotonic, never decreasing).
    /// Returns an event on the transitions alive → stalled and stalled → alive only.
    pub fn poll(&mut self, heartbeat: u64, now_ns: u64) -> Option<WatchdogEvent> {
        if heartbeat != self.last_value {
            let since = now_ns.saturating_sub(self.last_change_ns);
            self.last_value = heartbeat;
            self.last_change_ns = now_ns;
            if self.stalled {
                self.stalled = false;
                return Some(WatchdogEvent::Recovered {
                    stalled_for_ns: since,
                });
            }
            return None;
        }
        let age_ns = self.age_ns(now_ns);
        if !self.stalled && age_ns > self.timeout_ns {
            self.stalled = true;
            return Some(WatchdogEvent::Stalled { age_ns });
        }
        None
    }

    /// Reader time since the heartbeat last moved.
    pub fn age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.last_change_ns)
    }

    /// Whether the last poll left the watchdog in the stalled state.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// The configured timeout.
    pub fn timeout_ns(&self) -> u64 {
        self.timeout_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_frozen_heartbeat_stalls_after_the_timeout_not_before() {
        let mut w = Watchdog::new(DEFAULT_TIMEOUT_NS, 1000, 0);
        assert_eq!(w.poll(1000, 100 * MS), None);
        assert_eq!(
            w.poll(1000, 250 * MS),
            None,
            "exactly 250 ms is not yet a stall"
        );
        assert_eq!(
            w.poll(1000, 251 * MS),
            Some(WatchdogEvent::Stalled { age_ns: 251 * MS })
        );
        assert!(w.is_stalled());
        assert_eq!(w.poll(1000, 400 * MS), None, "reported once");
        assert_eq!(
            w.poll(1001, 410 * MS),
            Some(WatchdogEvent::Recovered {
                stalled_for_ns: 410 * MS
            })
        );
        assert!(!w.is_stalled());
    }

    #[test]
    fn a_moving_heartbeat_never_stalls_even_if_its_values_jump() {
        // The writer's wall clock jumps backwards and forwards; only movement matters.
        let mut w = Watchdog::new(DEFAULT_TIMEOUT_NS, 5_000, 0);
        for (i, hb) in [4_000u64, 90_000, 10, 11, 12].into_iter().enumerate() {
            assert_eq!(w.poll(hb, (i as u64 + 1) * 200 * MS), None);
        }
    }

    #[test]
    fn seed_000_bug_is_not_reproduced() {
        // Seed 000 compared two heartbeat samples; a dead writer yields difference 0 forever.
        let mut w = Watchdog::new(DEFAULT_TIMEOUT_NS, 42, 0);
        let events: usize = (1..=10).filter_map(|i| w.poll(42, i * 100 * MS)).count();
        assert_eq!(events, 1);
    }
}
