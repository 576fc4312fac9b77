//! Discovery: the channels of this user, found by the sockets their producers bound in the
//! default socket directory ([`crate::paths::default_socket_dir`]). There is no broker: a
//! channel exists while a producer listens on `<dir>/<channel>.sock`.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use crate::wire::valid_channel;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEntry {
    /// Channel name (the file name without `.sock`).
    pub name: String,
    /// Socket path.
    pub path: PathBuf,
    /// Whether a producer answers there.
    pub liveness: Liveness,
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
        let liveness = probe(&path);
        out.push(ChannelEntry {
            name: name.to_owned(),
            path,
            liveness,
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

/// Probes one socket with a connection that is closed at once.
pub fn probe(path: &Path) -> Liveness {
    match crate::server::connect_stream(path, Duration::from_millis(250)) {
        Ok(_) => Liveness::Live,
        // Backlog full: a live (if busy) server.
        Err(Errno::EAGAIN) => Liveness::Live,
        Err(Errno::ECONNREFUSED | Errno::ENOENT) => Liveness::Stale,
        Err(e) => Liveness::Unknown(e),
    }
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
