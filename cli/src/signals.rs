//! SIGINT / SIGTERM end every sub-command cleanly: handlers only set a flag the loops poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::error::{CliError, CliResult};

/// A stop request (a signal, `q` in the TUI, the end of `--duration`).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag set by SIGINT and SIGTERM.
    ///
    /// # Errors
    /// The handlers could not be installed.
    pub fn on_signals() -> CliResult<Self> {
        let stop = Self::default();
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&stop.0))
                .map_err(|e| CliError::failure(format!("cannot install signal handler: {e}")))?;
        }
        Ok(stop)
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        // Relaxed: a lone flag; nothing else is published through it.
        self.0.load(Ordering::Relaxed)
    }
}
