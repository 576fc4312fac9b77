//! Discovery: the channels of this user, found by the sockets their producers bound in the
//! default socket directory ([`crate::paths::default_socket_dir`]). There is no broker: a
//! channel exists while a producer listens on `<dir>/<channel>.sock`.
//!
//! Each socket is probed with a `describe` request ([`crate::request`]), not a bare connect:
//! the answer says the producer is alive *and* what it serves, and the producer counts it as
//! a request, not as a refused handshake. A socket nobody listens on (`ECONNREFUSED`) is
//! *stale*: its producer died without removing it. [`remove_stale`] removes such a socket
//! only after probing it again and checking it is still the same file, so a live producer's
//! socket is never removed.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use crate::client::{ConnectOptions, HandshakeError};
use crate::request::{describe_at, Describe, RequestClientError, RequestStatus};
use crate::wire::valid_channel;

/// How long a probe waits for the connection and for the `describe` answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// Whether a producer answers on a channel's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// A producer accepted the probe connection.
    Live,
    /// Nobody listens (`ECONNREFUSED`): the producer died without removing its socket.
    Stale,
    /// The probe failed for another reason (e.g. permission denied).
    Unknown(Errno),
}

/// One socket in the channel directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEntry {
    /// Channel name (the file name without `.sock`).
    pub name: String,
    /// Socket path.
    pub path: PathBuf,
    /// Whether a producer answers there.
    pub liveness: Liveness,
    /// The producer's `describe` answer (live producers that answered it).
    pub describe: Option<Describe>,
    /// The status a live producer refused the `describe` with (e.g. `BadToken`), if it did.
    pub refused: Option<RequestStatus>,
    /// Device and inode of the socket file when it was listed.
    pub identity: (u64, u64),
}

/// Lists the channel sockets in `dir`, sorted by name, probing each. Files that are not
/// sockets, or whose name is not `<valid channel>.sock`, are skipped. A missing directory is
/// an empty list.
///
/// # Errors
/// The directory exists but cannot be read.
pub fn list_channels_in(dir: &Path) -> std::io::Result<Vec<ChannelEntry>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if !file_type.is_socket() {
            continue;
        }
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".sock")) else {
            continue;
        };
        if !valid_channel(name) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let (liveness, describe, refused) = probe_channel(&path, name);
        out.push(ChannelEntry {
            name: name.to_owned(),
            path,
            liveness,
            describe,
            refused,
            identity: (meta.dev(), meta.ino()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// [`list_channels_in`] of the default socket directory.
///
/// # Errors
/// As [`list_channels_in`].
pub fn list_channels() -> std::io::Result<Vec<ChannelEntry>> {
    list_channels_in(&crate::paths::default_socket_dir())
}

/// Probes one socket with a `describe` request for the channel its file name says.
pub fn probe(path: &Path) -> Liveness {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".sock"))
        .unwrap_or("default");
    probe_channel(path, name).0
}

/// Probes `path` with a `describe` request for `channel` (no token: a producer that requires
/// one answers `BadToken`, which still proves it alive).
pub fn probe_channel(
    path: &Path,
    channel: &str,
) -> (Liveness, Option<Describe>, Option<RequestStatus>) {
    let options = ConnectOptions {
        timeout: PROBE_TIMEOUT,
        ..ConnectOptions::default()
    };
    match describe_at(path, channel, None, &options) {
        Ok(Ok(d)) => (Liveness::Live, Some(d), None),
        Ok(Err(reply)) => (Liveness::Live, None, Some(reply.status)),
        Err(e) => (liveness_of(&e), None, None),
    }
}

fn liveness_of(e: &RequestClientError) -> Liveness {
    match e {
        RequestClientError::Connect(h) => match h {
            HandshakeError::NotListening(_) | HandshakeError::NoSocket(_) => Liveness::Stale,
            // Backlog full: a live (if busy) server.
            HandshakeError::Timeout => Liveness::Live,
            HandshakeError::PermissionDenied(_) => Liveness::Unknown(Errno::EACCES),
            HandshakeError::Io(e) | HandshakeError::PeerCred(e) => Liveness::Unknown(*e),
            _ => Liveness::Unknown(Errno::EPERM),
        },
        // Someone accepted the connection: a producer is there (an older one that does not
        // know requests, or a slow one).
        RequestClientError::BadReply(_)
        | RequestClientError::Closed { .. }
        | RequestClientError::Timeout => Liveness::Live,
        RequestClientError::Encode(_) => Liveness::Unknown(Errno::EINVAL),
        RequestClientError::Io(e) => Liveness::Unknown(*e),
    }
}

/// Why a stale socket was not removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanError {
    /// A producer answers there now (it is not stale).
    Live,
    /// The file changed since it was listed (another producer replaced it).
    Replaced,
    /// Its liveness could not be established.
    Unknown(Errno),
    /// Removing it failed.
    Remove(Errno),
}

impl core::fmt::Display for CleanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Live => write!(f, "a producer answers there; not removed"),
            Self::Replaced => write!(
                f,
                "the socket was replaced since it was listed; not removed"
            ),
            Self::Unknown(e) => write!(
                f,
                "cannot tell whether it is live: {}",
                e.desc().to_lowercase()
            ),
            Self::Remove(e) => write!(f, "cannot remove it: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for CleanError {}

/// Removes the socket of a stale entry: probes it again (it must refuse the connection) and
/// checks that the file is still the one listed (same device and inode) just before removing
/// it. A live producer's socket is never removed.
///
/// # Errors
/// [`CleanError`].
pub fn remove_stale(entry: &ChannelEntry) -> Result<(), CleanError> {
    match probe_channel(&entry.path, &entry.name).0 {
        Liveness::Stale => {}
        Liveness::Live => return Err(CleanError::Live),
        Liveness::Unknown(e) => return Err(CleanError::Unknown(e)),
    }
    let meta = std::fs::symlink_metadata(&entry.path)
        .map_err(|e| CleanError::Remove(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
    if (meta.dev(), meta.ino()) != entry.identity || !meta.file_type().is_socket() {
        return Err(CleanError::Replaced);
    }
    std::fs::remove_file(&entry.path)
        .map_err(|e| CleanError::Remove(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn live_and_stale_sockets_are_told_apart_and_other_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let _live = UnixListener::bind(dir.path().join("bed1.sock")).unwrap();
        drop(UnixListener::bind(dir.path().join("bed2.sock")).unwrap());
        std::fs::write(dir.path().join("notes.sock"), b"x").unwrap();
        let _bad = UnixListener::bind(dir.path().join(".hidden.sock")).unwrap();
        let list = list_channels_in(dir.path()).unwrap();
        let got: Vec<_> = list.iter().map(|c| (c.name.as_str(), c.liveness)).collect();
        assert_eq!(got, [("bed1", Liveness::Live), ("bed2", Liveness::Stale)]);
    }

    #[test]
    fn a_missing_directory_is_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_channels_in(&dir.path().join("nope"))
            .unwrap()
            .is_empty());
    }
}
