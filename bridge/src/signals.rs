//! SIGINT, SIGTERM and SIGHUP stop a sub-command cleanly: the handlers only set a flag that
//! the loops poll (at least every 20 ms).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::report::Failure;

/// A stop request.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag set by SIGINT, SIGTERM and SIGHUP.
    ///
    /// # Errors
    /// The handlers could not be installed (exit 1).
    pub fn on_signals() -> Result<Self, Failure> {
        let stop = Self::default();
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::flag::register(sig, Arc::clone(&stop.0))
                .map_err(|e| Failure::runtime(format!("cannot install signal handler: {e}")))?;
        }
        Ok(stop)
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        // Relaxed: a lone flag; nothing else is published through it.
        self.0.load(Ordering::Relaxed)
    }
}
