//! The one error type of the benchmark.

use std::fmt;

/// Everything that can go wrong while benchmarking.
#[derive(Debug)]
pub enum BenchError {
    /// The transport (or this build of it) cannot run the requested test. Runs that end with
    /// this error are reported with status `unsupported`, they do not fail the whole benchmark.
    Unsupported(String),
    /// Bad options (sizes, transport names, ...).
    Usage(String),
    /// An I/O error in the harness or a peer.
    Io(std::io::Error),
    /// A system call failed.
    Os(nix::errno::Errno),
    /// The transport under test reported an error.
    Transport(String),
    /// A peer process failed, or said something the harness did not expect.
    Peer(String),
    /// A peer did not answer in time.
    Timeout(String),
}

impl BenchError {
    /// `true` for [`BenchError::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self, BenchError::Unsupported(_))
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Unsupported(m) => write!(f, "unsupported: {m}"),
            BenchError::Usage(m) => write!(f, "usage: {m}"),
            BenchError::Io(e) => write!(f, "i/o error: {e}"),
            BenchError::Os(e) => write!(f, "system call failed: {e}"),
            BenchError::Transport(m) => write!(f, "transport error: {m}"),
            BenchError::Peer(m) => write!(f, "peer process: {m}"),
            BenchError::Timeout(m) => write!(f, "timed out: {m}"),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Io(e) => Some(e),
            BenchError::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> Self {
        BenchError::Io(e)
    }
}

impl From<nix::errno::Errno> for BenchError {
    fn from(e: nix::errno::Errno) -> Self {
        BenchError::Os(e)
    }
}

impl From<serde_json::Error> for BenchError {
    fn from(e: serde_json::Error) -> Self {
        BenchError::Peer(format!("bad JSON: {e}"))
    }
}
