//! Process hardening shared by producers and readers.
//!
//! A process that is *dumpable* (the default) lets every other process of the same uid open
//! `/proc/<pid>/mem` for writing (the kernel's ptrace access check passes for a same-uid,
//! dumpable target). For a producer that is a direct line to its writable mapping of the ring:
//! one 8-byte write of `writeIndex` freezes every attached reader. A reader's private memory
//! (its position, its validated geometry) is just as exposed.
//!
//! [`set_non_dumpable`] clears the flag with `prctl(PR_SET_DUMPABLE, 0)`. Afterwards the
//! kernel treats the process like a set-uid program: `/proc/<pid>/mem`, `ptrace` attach and
//! most of `/proc/<pid>/` become root-owned and unreachable for same-uid processes without
//! `CAP_SYS_PTRACE`. It also disables core dumps of the process. It is inherited across
//! `fork` and reset by `execve`.
//!
//! What it does not do: stop root (or any holder of `CAP_SYS_PTRACE`), stop a debugger started
//! *before* the call, or stop a same-uid attacker who can simply run the producer binary
//! under a debugger from the start. It closes the drive-by route, not every route.

use nix::errno::Errno;

/// Why the process could not be hardened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardenError(pub Errno);

impl core::fmt::Display for HardenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "cannot make the process non-dumpable (prctl PR_SET_DUMPABLE): {}",
            self.0.desc().to_lowercase()
        )
    }
}

impl std::error::Error for HardenError {}

/// Sets `PR_SET_DUMPABLE` to 0 for this process (idempotent, cheap: one syscall).
///
/// # Errors
/// [`HardenError`] with the `prctl` errno (not expected on Linux).
pub fn set_non_dumpable() -> Result<(), HardenError> {
    nix::sys::prctl::set_dumpable(false).map_err(HardenError)
}

/// Whether this process is currently dumpable (`PR_GET_DUMPABLE`).
///
/// # Errors
/// [`HardenError`] with the `prctl` errno.
pub fn is_dumpable() -> Result<bool, HardenError> {
    nix::sys::prctl::get_dumpable().map_err(HardenError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_non_dumpable_clears_the_flag() {
        set_non_dumpable().unwrap();
        assert!(!is_dumpable().unwrap());
        set_non_dumpable().unwrap();
        assert!(!is_dumpable().unwrap());
    }
}
