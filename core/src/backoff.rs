//! CPU-friendly polling: spin briefly, then yield, then sleep in short steps.
//!
//! [`Backoff`] is the pure schedule (platforms decide how to yield and sleep);
//! [`poll_blocking`] drives a [`Reader`] with an `embedded-hal` [`DelayNs`] for firmware and
//! other hosts without threads.

use embedded_hal::delay::DelayNs;

use crate::region::Region;
use crate::slot::{Poll, Reader};

/// Spins before the first yield.
pub const SPIN_STEPS: u32 = 64;
/// Yields before the first sleep.
pub const YIELD_STEPS: u32 = 16;
/// Longest sleep, µs (DESIGN §5: sleeps of at most 50 µs).
pub const MAX_SLEEP_US: u32 = 50;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    empties: u32,
}

impl Backoff {
    /// A fresh schedule.
    pub const fn new() -> Self {
        Self { empties: 0 }
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
            // 5, 10, 20, 40, 50, 50, ... µs
            let k = (n - SPIN_STEPS - YIELD_STEPS).min(4);
            Action::Sleep((5u32 << k).min(MAX_SLEEP_US))
        }
    }
}

/// Polls `reader` until it returns something other than [`Poll::Empty`] or about `timeout_us`
/// of delay has passed (then returns [`Poll::Empty`]). Yields become 1 µs delays here.
pub fn poll_blocking<R: Region, S: AsMut<[u8]>>(
    reader: &mut Reader<R, S>,
    delay: &mut impl DelayNs,
    timeout_us: u32,
) -> Poll {
    let mut backoff = Backoff::new();
    let mut waited: u32 = 0;
    loop {
        match reader.poll() {
            Poll::Empty => {}
            other => return other,
        }
        if waited >= timeout_us {
            return Poll::Empty;
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
}
