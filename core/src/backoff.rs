//! CPU-friendly polling: spin briefly, then yield, then sleep in short steps.
//!
//! [`Backoff`] is the pure schedule (platforms decide how to yield and sleep);
//! [`poll_blocking`] drives a [`Session`] with an `embedded-hal` [`DelayNs`] for firmware and
//! other hosts without threads.

use embedded_hal::delay::DelayNs;

use crate::region::Region;
use crate::session::{Next, Session, Sink};
use crate::time::MonoNs;

/// Spins before the first yield.
pub const SPIN_STEPS: u32 = 64;
/// Yields before the first sleep.
pub const YIELD_STEPS: u32 = 16;
/// Longest sleep of the default schedule, µs (DESIGN §5: sleeps of at most 50 µs).
pub const MAX_SLEEP_US: u32 = 50;
/// First sleep, µs; each further empty poll doubles it up to the schedule's maximum.
pub const FIRST_SLEEP_US: u32 = 5;

/// What to do after an empty poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Spin-loop hint, then poll again.
    Spin,
    /// Give the CPU to another thread, then poll again.
    Yield,
    /// Sleep this many µs (at most [`MAX_SLEEP_US`]), then poll again.
    Sleep(u32),
}

/// The backoff schedule; [`Backoff::reset`] after every non-empty poll.
///
/// The default caps sleeps at [`MAX_SLEEP_US`] (50 µs), which keeps the added latency of an
/// idle reader under ~100 µs but costs one wake-up per ~50–100 µs. A reader that must save CPU
/// more than latency (a recorder, a battery-powered device) raises the cap with
/// [`Backoff::with_max_sleep_us`]: each wake-up costs roughly the same CPU time, so CPU use
/// falls in proportion to the cap while worst-case latency grows by the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    empties: u32,
    max_sleep_us: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// A fresh schedule with the default 50 µs cap.
    pub const fn new() -> Self {
        Self {
            empties: 0,
            max_sleep_us: MAX_SLEEP_US,
        }
    }

    /// A fresh schedule whose sleeps grow up to `max_sleep_us` (at least 1 µs).
    pub const fn with_max_sleep_us(max_sleep_us: u32) -> Self {
        Self {
            empties: 0,
            max_sleep_us: if max_sleep_us == 0 { 1 } else { max_sleep_us },
        }
    }

    /// The longest sleep this schedule asks for, µs.
    pub const fn max_sleep_us(&self) -> u32 {
        self.max_sleep_us
    }

    /// Back to spinning.
    pub fn reset(&mut self) {
        self.empties = 0;
    }

    /// The action after one more empty poll.
    pub fn next_action(&mut self) -> Action {
        let n = self.empties;
        self.empties = self.empties.saturating_add(1);
        if n < SPIN_STEPS {
            Action::Spin
        } else if n < SPIN_STEPS + YIELD_STEPS {
            Action::Yield
        } else {
            // 5, 10, 20, 40, ... µs, capped (50 by default: 5, 10, 20, 40, 50, 50, ...)
            let k = (n - SPIN_STEPS - YIELD_STEPS).min(20);
            Action::Sleep(FIRST_SLEEP_US.saturating_mul(1 << k).min(self.max_sleep_us))
        }
    }
}

/// Polls `session` until it moves past at least one index, or reports something other than
/// [`Next::Idle`], or about `timeout_us` of delay has passed; returns the last [`Next`].
/// Yields become 1 µs delays here. `now` reads the caller's monotonic clock.
pub fn poll_blocking<R: Region, S: AsMut<[u8]>>(
    session: &mut Session<R, S>,
    mut now: impl FnMut() -> MonoNs,
    delay: &mut impl DelayNs,
    timeout_us: u32,
    sink: &mut impl Sink,
) -> Next {
    let mut backoff = Backoff::new();
    let mut waited: u32 = 0;
    let start = session.reader().position();
    loop {
        let next = session.poll(now(), sink);
        if !matches!(next, Next::Idle { .. }) || session.reader().position() != start {
            return next;
        }
        if waited >= timeout_us {
            return next;
        }
        match backoff.next_action() {
            Action::Spin => core::hint::spin_loop(),
            Action::Yield => {
                delay.delay_us(1);
                waited = waited.saturating_add(1);
            }
            Action::Sleep(us) => {
                delay.delay_us(us);
                waited = waited.saturating_add(us);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spins_then_yields_then_sleeps_at_most_50us() {
        let mut b = Backoff::new();
        let actions: [Action; 100] = core::array::from_fn(|_| b.next_action());
        assert!(actions[..64].iter().all(|a| *a == Action::Spin));
        assert!(actions[64..80].iter().all(|a| *a == Action::Yield));
        assert_eq!(actions[80], Action::Sleep(5));
        assert!(actions[80..]
            .iter()
            .all(|a| matches!(a, Action::Sleep(us) if *us <= 50)));
        assert_eq!(actions[99], Action::Sleep(50));
        b.reset();
        assert_eq!(b.next_action(), Action::Spin);
    }

    #[test]
    fn a_raised_cap_doubles_up_to_it() {
        let mut b = Backoff::with_max_sleep_us(1000);
        let sleeps: [Action; 100] = core::array::from_fn(|_| b.next_action());
        assert_eq!(
            sleeps[80..89],
            [5, 10, 20, 40, 80, 160, 320, 640, 1000].map(Action::Sleep)
        );
        assert_eq!(sleeps[99], Action::Sleep(1000));
        assert_eq!(Backoff::with_max_sleep_us(0).max_sleep_us(), 1);
    }
}
