//! SIGINT, SIGTERM and SIGHUP end every sub-command cleanly: handlers only set a flag the
//! loops poll. SIGHUP (the terminal closed) counts as a stop like the other two, except when
//! the process was started with SIGHUP ignored (`nohup`): then it stays ignored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{CliError, CliResult};

/// The signals that stop a sub-command.
pub const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// A stop request (a signal, `q` in the TUI, the end of `--duration`).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

/// Whether `sig`'s disposition is "ignore" (inherited across `exec`, e.g. from `nohup`).
#[allow(unsafe_code)]
fn ignored(sig: Signal) -> bool {
    let mut old = std::mem::MaybeUninit::<nix::libc::sigaction>::uninit();
    // SAFETY: a null `act` makes sigaction(2) only report the current disposition (nothing is
    // installed); `old` points to writable storage of the right type, which the kernel fills
    // completely on success, and it is read only then.
    let rc = unsafe { nix::libc::sigaction(sig as i32, std::ptr::null(), old.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: sigaction returned 0, so it wrote `old` in full.
    let old = unsafe { old.assume_init() };
    old.sa_sigaction == nix::libc::SIG_IGN
}

impl Stop {
    /// A flag set by SIGINT, SIGTERM and SIGHUP (SIGHUP only if it is not ignored). The three
    /// are then unblocked: `demo` starts its simulator child with them blocked, so that one
    /// arriving before the handlers exist waits for them instead of killing the process
    /// before it can clean up.
    ///
    /// # Errors
    /// The handlers could not be installed.
    pub fn on_signals() -> CliResult<Self> {
        let stop = Self::default();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            if sig == SIGHUP && ignored(Signal::SIGHUP) {
                continue;
            }
            signal_hook::flag::register(sig, Arc::clone(&stop.0))
                .map_err(|e| CliError::failure(format!("cannot install signal handler: {e}")))?;
        }
        let set: SigSet = STOP_SIGNALS.into_iter().collect();
        pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None).map_err(|e| {
            CliError::failure(format!(
                "cannot unblock signals: {}",
                e.desc().to_lowercase()
            ))
        })?;
        Ok(stop)
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        // Relaxed: a lone flag; nothing else is published through it.
        self.0.load(Ordering::Relaxed)
    }
}
