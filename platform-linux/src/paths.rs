//! Where control sockets live, and the private directory that holds them.
//!
//! Default path: `$XDG_RUNTIME_DIR/vitalring/<channel>.sock` when `XDG_RUNTIME_DIR` is set to
//! an absolute path, else `/tmp/vitalring-<uid>/<channel>.sock`. The `vitalring` directory is
//! created with mode `0700`; an existing one must be a real directory (not a symlink) owned by
//! our effective uid and not writable by group or others, or it is refused — otherwise another
//! user could pre-create it and plant or swap sockets in it.
//!
//! An explicit socket path (seed 000 uses `/tmp/z-monitor-sensor.sock`) is used as given; its
//! directory must exist and is not checked (a shared `/tmp` is sticky and world-writable). The
//! socket itself is always `0600`, and every peer is checked with `SO_PEERCRED` anyway.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::geteuid;

use crate::wire::valid_channel;

/// Why a socket directory is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// The channel name is not 1..=64 bytes of `[A-Za-z0-9._-]`.
    InvalidChannel(String),
    /// The path exists and is not a directory (or is a symlink).
    NotADirectory(PathBuf),
    /// The directory is owned by another uid.
    WrongOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The directory is writable by group or others.
    InsecureMode {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Permission denied creating or inspecting it.
    PermissionDenied(PathBuf),
    /// Another error.
    Other(PathBuf, Errno),
}

impl core::fmt::Display for DirError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidChannel(c) => write!(
                f,
                "invalid channel name {c:?}: use 1 to 64 of A-Z a-z 0-9 . _ -"
            ),
            Self::NotADirectory(p) => write!(f, "{} is not a directory", p.display()),
            Self::WrongOwner { path, uid } => write!(
                f,
                "socket directory {} is owned by uid {uid}, not by us; refusing it",
                path.display()
            ),
            Self::InsecureMode { path, mode } => write!(
                f,
                "socket directory {} has mode {mode:04o} (group/world-writable); refusing it",
                path.display()
            ),
            Self::PermissionDenied(p) => write!(f, "permission denied on {}", p.display()),
            Self::Other(p, e) => write!(f, "{}: {}", p.display(), e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for DirError {}

fn errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The directory default sockets live in (not created).
pub fn default_socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if Path::new(&d).is_absolute() => Path::new(&d).join("vitalring"),
        _ => PathBuf::from(format!("/tmp/vitalring-{}", geteuid().as_raw())),
    }
}

/// The default socket path of `channel` (the directory is not created here).
///
/// # Errors
/// [`DirError::InvalidChannel`].
pub fn default_socket_path(channel: &str) -> Result<PathBuf, DirError> {
    if !valid_channel(channel) {
        return Err(DirError::InvalidChannel(channel.to_owned()));
    }
    Ok(default_socket_dir().join(format!("{channel}.sock")))
}

/// Creates `dir` with mode `0700` if it is missing (its parent must exist), else checks that
/// it is a directory owned by our effective uid and not group/world-writable.
///
/// # Errors
/// [`DirError`].
pub fn ensure_private_dir(dir: &Path) -> Result<(), DirError> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // umask can only have removed bits; make it exactly 0700.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| DirError::Other(dir.to_owned(), errno(&e)))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(match errno(&e) {
                Errno::EACCES | Errno::EPERM => DirError::PermissionDenied(dir.to_owned()),
                Errno::ENOTDIR => DirError::NotADirectory(dir.to_owned()),
                other => DirError::Other(dir.to_owned(), other),
            })
        }
    }
    check_private_dir(dir)
}

/// Checks (without creating) that `dir` is a real directory owned by our effective uid and
/// not writable by group or others.
///
/// # Errors
/// [`DirError`].
pub fn check_private_dir(dir: &Path) -> Result<(), DirError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| match errno(&e) {
        Errno::EACCES | Errno::EPERM => DirError::PermissionDenied(dir.to_owned()),
        other => DirError::Other(dir.to_owned(), other),
    })?;
    if !meta.file_type().is_dir() {
        return Err(DirError::NotADirectory(dir.to_owned()));
    }
    if meta.uid() != geteuid().as_raw() {
        return Err(DirError::WrongOwner {
            path: dir.to_owned(),
            uid: meta.uid(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(DirError::InsecureMode {
            path: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths() {
        let p = default_socket_path("ecg").unwrap();
        assert!(p.ends_with("ecg.sock"));
        assert!(p.is_absolute());
        assert!(default_socket_path("../etc").is_err());
        assert!(default_socket_path("").is_err());
    }

    #[test]
    fn private_dir_is_created_0700_and_insecure_ones_refused() {
        let base = std::env::temp_dir().join(format!("vr-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let d = base.join("vitalring");
        ensure_private_dir(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            ensure_private_dir(&d),
            Err(DirError::InsecureMode { mode: 0o777, .. })
        ));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = base.join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(matches!(
            ensure_private_dir(&link),
            Err(DirError::NotADirectory(_))
        ));
        let _ = std::fs::remove_dir_all(&base);
    }
}
