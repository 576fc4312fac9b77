//! Where control sockets live, and the private directory that holds them.
//!
//! Default path: `$XDG_RUNTIME_DIR/vitalring/<channel>.sock` when `XDG_RUNTIME_DIR` is set to
//! an absolute path, else `/tmp/vitalring-<uid>/<channel>.sock`.
//!
//! The default directory is *private*: a real directory (`lstat`, never a symlink) owned by our
//! effective uid, with no group or other permission bits (mode `0700`). The producer creates it
//! so ([`ensure_private_dir`]) and refuses an existing one that is not; a reader refuses to
//! connect through one that is not ([`check_private_dir`], called by the client for any socket
//! whose parent is one of the default directories). Otherwise another user could pre-create
//! `/tmp/vitalring-<victim uid>/` and serve a rogue ring there to the victim's readers.
//!
//! An explicit socket path elsewhere (seed 000 uses `/tmp/z-monitor-sensor.sock`) is used as
//! given; its directory is not checked (a shared `/tmp` is sticky and world-writable). The
//! socket itself is always `0600`, the server checks every reader with `SO_PEERCRED`, and the
//! reader checks the server the same way (see [`crate::client`]).

use std::ffi::OsStr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::geteuid;

use crate::wire::{valid_channel, MAX_CHANNEL_LEN};

/// Why a socket directory is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// The channel name is not 1..=64 bytes of `[A-Za-z0-9._-]`.
    InvalidChannel(String),
    /// The path exists and is not a directory.
    NotADirectory(PathBuf),
    /// The path is a symbolic link (never followed).
    Symlink(PathBuf),
    /// The directory is owned by another uid.
    WrongOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// Group or others have some permission on the directory (it must be `0700`).
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
            Self::Symlink(p) => write!(
                f,
                "socket directory {} is a symbolic link; refusing it",
                p.display()
            ),
            Self::WrongOwner { path, uid } => write!(
                f,
                "socket directory {} is owned by uid {uid}, not by us; refusing it",
                path.display()
            ),
            Self::InsecureMode { path, mode } => write!(
                f,
                "socket directory {} has mode {mode:04o}: group or others have access (it must \
                 be 0700); refusing it",
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
    default_socket_dir_in(
        std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
        Path::new("/tmp"),
        geteuid().as_raw(),
    )
}

/// [`default_socket_dir`] with its inputs injected: `xdg_runtime_dir` (used if absolute) or
/// else `<tmp>/vitalring-<uid>`.
pub fn default_socket_dir_in(xdg_runtime_dir: Option<&OsStr>, tmp: &Path, uid: u32) -> PathBuf {
    match xdg_runtime_dir {
        Some(d) if Path::new(d).is_absolute() => Path::new(d).join("vitalring"),
        _ => tmp.join(format!("vitalring-{uid}")),
    }
}

/// Whether `dir` is one of the directories a default socket path can be in (the current
/// default, or the `/tmp/vitalring-<uid>` fallback even when `XDG_RUNTIME_DIR` is set): a
/// socket there is only trusted if the directory passes [`check_private_dir`].
pub fn is_default_dir(dir: &Path) -> bool {
    let uid = geteuid().as_raw();
    dir == default_socket_dir() || dir == default_socket_dir_in(None, Path::new("/tmp"), uid)
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

/// Creates `dir` with mode `0700` if it is missing (its parent must exist), else checks it
/// with [`check_private_dir`] (a pre-created directory owned by someone else, with any
/// group/other bit, or a symlink, is refused — never repaired).
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

/// Checks (without creating) that `dir` is a real directory — `lstat`, so a symlink is
/// refused, not followed — owned by our effective uid, with no group or other permission bits.
///
/// # Errors
/// [`DirError`].
pub fn check_private_dir(dir: &Path) -> Result<(), DirError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| match errno(&e) {
        Errno::EACCES | Errno::EPERM => DirError::PermissionDenied(dir.to_owned()),
        other => DirError::Other(dir.to_owned(), other),
    })?;
    if meta.file_type().is_symlink() {
        return Err(DirError::Symlink(dir.to_owned()));
    }
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
    if mode & 0o077 != 0 {
        return Err(DirError::InsecureMode {
            path: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

// --- Names and metadata: the one place their rules live -----------------------------------------

/// Why a channel name is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelNameError {
    /// Empty.
    Empty,
    /// Longer than 64 bytes.
    TooLong(usize),
    /// A byte outside `[A-Za-z0-9._-]`.
    Charset,
    /// Starts with `.` (a hidden file; the producer's temporary socket names use it) or `-`
    /// (it would read as an option on a command line).
    Reserved,
}

impl core::fmt::Display for ChannelNameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Empty => write!(f, "a channel name cannot be empty"),
            Self::TooLong(n) => write!(
                f,
                "a channel name is at most {MAX_CHANNEL_LEN} bytes, this one has {n}"
            ),
            Self::Charset => write!(f, "a channel name uses only A-Z a-z 0-9 . _ -"),
            Self::Reserved => write!(f, "a channel name cannot start with '.' or '-'"),
        }
    }
}

impl std::error::Error for ChannelNameError {}

/// The channel-name rule, for every command and both sides of every message: 1..=64 bytes of
/// `[A-Za-z0-9._-]`, not starting with `.` or `-`. (`wire::valid_channel` is this, as a bool.)
///
/// # Errors
/// [`ChannelNameError`].
pub fn check_channel(name: &str) -> Result<(), ChannelNameError> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Err(ChannelNameError::Empty);
    }
    if b.len() > MAX_CHANNEL_LEN {
        return Err(ChannelNameError::TooLong(b.len()));
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return Err(ChannelNameError::Charset);
    }
    if matches!(b[0], b'.' | b'-') {
        return Err(ChannelNameError::Reserved);
    }
    Ok(())
}

/// The metadata rules a producer's `describe` answer follows (checked by the producer before
/// it serves, and by every client that reads a `describe`): `kind` 1..=32 of `[a-z0-9_-]`,
/// `description` at most 200 bytes without control characters, `encoding` `json`, `binary` or
/// `unspecified`.
///
/// # Errors
/// [`crate::request::MetaError`].
pub fn check_meta(
    kind: &str,
    description: &str,
    encoding: &str,
) -> Result<(), crate::request::MetaError> {
    use crate::request::{MetaError, MAX_DESCRIPTION_LEN, MAX_KIND_LEN};
    if kind.is_empty()
        || kind.len() > MAX_KIND_LEN
        || !kind
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-'))
    {
        return Err(MetaError::Kind(kind.to_owned()));
    }
    if description.len() > MAX_DESCRIPTION_LEN || description.chars().any(char::is_control) {
        return Err(MetaError::Description);
    }
    if !matches!(encoding, "json" | "binary" | "unspecified") {
        return Err(MetaError::Encoding(encoding.to_owned()));
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
            Err(DirError::Symlink(_))
        ));
        // Not writable but readable by group/others: still refused (it must be 0700).
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).unwrap();
        let e = check_private_dir(&d).unwrap_err();
        assert!(matches!(e, DirError::InsecureMode { mode: 0o750, .. }));
        assert!(e.to_string().contains("mode 0750"), "{e}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn fallback_dir_is_per_uid_under_tmp_unless_xdg_is_absolute() {
        let tmp = Path::new("/base");
        assert_eq!(
            default_socket_dir_in(None, tmp, 1000),
            Path::new("/base/vitalring-1000")
        );
        assert_eq!(
            default_socket_dir_in(Some(OsStr::new("relative")), tmp, 7),
            Path::new("/base/vitalring-7")
        );
        assert_eq!(
            default_socket_dir_in(Some(OsStr::new("/run/user/7")), tmp, 7),
            Path::new("/run/user/7/vitalring")
        );
        assert!(is_default_dir(&default_socket_dir()));
        assert!(!is_default_dir(Path::new("/var")));
    }
    #[test]
    fn channel_names_follow_one_rule() {
        assert_eq!(check_channel("bed-1.icu_a"), Ok(()));
        assert_eq!(check_channel(""), Err(ChannelNameError::Empty));
        assert_eq!(
            check_channel(&"a".repeat(65)),
            Err(ChannelNameError::TooLong(65))
        );
        assert_eq!(check_channel("bed 1"), Err(ChannelNameError::Charset));
        assert_eq!(check_channel("../x"), Err(ChannelNameError::Charset));
        assert_eq!(check_channel(".x"), Err(ChannelNameError::Reserved));
        assert_eq!(check_channel("-x"), Err(ChannelNameError::Reserved));
        assert!(!valid_channel("-x") && valid_channel("x-"));
        assert!(check_meta("simulator", "bed 3, scenario afib", "json").is_ok());
        assert!(check_meta("Sim", "", "json").is_err());
        assert!(check_meta("sim", "a\nb", "json").is_err());
        assert!(check_meta("sim", "", "xml").is_err());
        assert!(check_meta("sim", &"x".repeat(201), "json").is_err());
    }
}
