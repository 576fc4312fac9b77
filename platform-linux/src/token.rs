//! Optional shared-secret token: read from a private file, compared in constant time.
//!
//! A token never travels on a command line (where `ps` shows it to every user): both sides
//! read it from a file that must be a regular file owned by the caller's uid and readable by
//! nobody else (mode `0600` or stricter; any group/other permission bit is refused). One
//! trailing newline is stripped; the token is 1..=64 bytes.
//!
//! The file is opened with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC` and checked with `fstat` on
//! the opened descriptor before a byte is read: a symlink is refused, a FIFO or device is
//! refused at once instead of blocking the program forever, and a file larger than
//! [`MAX_TOKEN_FILE_LEN`] is refused with its actual size, unread.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::unistd::geteuid;

use crate::wire::MAX_TOKEN_LEN;

/// A token (secret bytes). `Debug` never prints the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    bytes: [u8; MAX_TOKEN_LEN],
    len: usize,
}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Token({} bytes, redacted)", self.len)
    }
}

/// Why a token file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The file does not exist.
    NotFound,
    /// Permission denied opening it.
    PermissionDenied,
    /// Not a regular file (what it is instead: `fifo`, `directory`, `symbolic link`, ...).
    NotAFile(&'static str),
    /// The file is larger than any token file can be.
    TooLarge {
        /// Its size in bytes.
        size: u64,
    },
    /// Owned by another uid.
    WrongOwner {
        /// The file's owner.
        uid: u32,
    },
    /// Readable or writable by group or others.
    InsecureMode {
        /// The file's permission bits.
        mode: u32,
    },
    /// Empty (after stripping one trailing newline).
    Empty,
    /// Longer than 64 bytes.
    TooLong(usize),
    /// Another I/O error.
    Other(Errno),
}

impl core::fmt::Display for TokenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotFound => write!(f, "token file not found"),
            Self::PermissionDenied => write!(f, "permission denied reading the token file"),
            Self::NotAFile(kind) => write!(f, "token file is not a regular file (it is a {kind})"),
            Self::TooLarge { size } => write!(
                f,
                "token file is {size} bytes; a token file holds at most {MAX_TOKEN_LEN} bytes \
                 and a newline ({MAX_TOKEN_FILE_LEN} bytes)"
            ),
            Self::WrongOwner { uid } => write!(f, "token file is owned by uid {uid}, not by us"),
            Self::InsecureMode { mode } => write!(
                f,
                "token file mode {mode:04o} lets group or others access it (use chmod 600)"
            ),
            Self::Empty => write!(f, "token file is empty"),
            Self::TooLong(n) => write!(f, "token is {n} bytes, at most {MAX_TOKEN_LEN} allowed"),
            Self::Other(e) => write!(f, "cannot read token file: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for TokenError {}

/// The largest token file accepted: a 64-byte token and a `\r\n`.
pub const MAX_TOKEN_FILE_LEN: u64 = MAX_TOKEN_LEN as u64 + 2;

fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

fn io_error(e: &std::io::Error) -> TokenError {
    match Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) {
        Errno::ENOENT => TokenError::NotFound,
        Errno::EACCES | Errno::EPERM => TokenError::PermissionDenied,
        other => TokenError::Other(other),
    }
}

impl Token {
    /// A token from bytes.
    ///
    /// # Errors
    /// [`TokenError::Empty`] or [`TokenError::TooLong`].
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.is_empty() {
            return Err(TokenError::Empty);
        }
        if secret.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong(secret.len()));
        }
        let mut bytes = [0u8; MAX_TOKEN_LEN];
        bytes[..secret.len()].copy_from_slice(secret);
        Ok(Self {
            bytes,
            len: secret.len(),
        })
    }

    /// Reads a token from `path`, refusing a file that is not a regular file owned by our
    /// effective uid with no group/other permission bits, or that is larger than
    /// [`MAX_TOKEN_FILE_LEN`]. The checks run on the opened file (`fstat`), so the file cannot
    /// be swapped between check and read; symlinks are not followed (`O_NOFOLLOW`), and the
    /// open never blocks (`O_NONBLOCK`: a FIFO without a writer is opened, seen by `fstat`,
    /// and refused).
    ///
    /// # Errors
    /// [`TokenError`].
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let mut file = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => TokenError::NotAFile("symbolic link"),
                // A FIFO or socket that cannot be opened without blocking or at all.
                Some(libc::ENXIO) => TokenError::NotAFile("fifo or socket"),
                _ => io_error(&e),
            })?;
        let meta = file.metadata().map_err(|e| io_error(&e))?;
        if !meta.is_file() {
            return Err(TokenError::NotAFile(kind_of(meta.file_type())));
        }
        if meta.len() > MAX_TOKEN_FILE_LEN {
            return Err(TokenError::TooLarge { size: meta.len() });
        }
        if meta.uid() != geteuid().as_raw() {
            return Err(TokenError::WrongOwner { uid: meta.uid() });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TokenError::InsecureMode { mode });
        }
        // One byte more than the largest file: filling it means the file grew after `fstat`.
        let mut buf = [0u8; MAX_TOKEN_FILE_LEN as usize + 1];
        let mut n = 0;
        loop {
            match file.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    if n == buf.len() {
                        return Err(TokenError::TooLarge { size: n as u64 });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(&e)),
            }
        }
        let mut secret = &buf[..n];
        if let Some(s) = secret.strip_suffix(b"\n") {
            secret = s;
        }
        if let Some(s) = secret.strip_suffix(b"\r") {
            secret = s;
        }
        Self::new(secret)
    }

    /// The token bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Compares with `given` in time that depends only on the (public) maximum length, not on
    /// where the bytes differ or on either length.
    pub fn matches(&self, given: &[u8]) -> bool {
        let mut other = [0u8; MAX_TOKEN_LEN];
        let n = given.len().min(MAX_TOKEN_LEN);
        other[..n].copy_from_slice(&given[..n]);
        let mut diff = u8::from(given.len() != self.len);
        for (a, b) in self.bytes.iter().zip(other.iter()) {
            diff |= a ^ b;
        }
        core::hint::black_box(diff) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vr-token-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn constant_time_compare_is_correct() {
        let t = Token::new(b"abc").unwrap();
        assert!(t.matches(b"abc"));
        assert!(!t.matches(b"abd"));
        assert!(!t.matches(b"ab"));
        assert!(!t.matches(b"abc\0"));
        assert!(!t.matches(b""));
        assert!(!t.matches(&[b'a'; 100]));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn token_file_rules() {
        let dir = tmp("rules");
        let p = dir.join("tok");
        std::fs::write(&p, b"hunter2\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Token::from_file(&p).unwrap().as_bytes(), b"hunter2");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            Token::from_file(&p),
            Err(TokenError::InsecureMode { mode: 0o640 })
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(matches!(
            Token::from_file(&p),
            Err(TokenError::InsecureMode { .. })
        ));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Token::from_file(&p).is_ok());
        assert_eq!(
            Token::from_file(&dir.join("none")),
            Err(TokenError::NotFound)
        );
        let long = dir.join("long");
        std::fs::write(&long, [b'x'; 65]).unwrap();
        std::fs::set_permissions(&long, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Token::from_file(&long), Err(TokenError::TooLong(65)));
        let empty = dir.join("empty");
        std::fs::write(&empty, b"\n").unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Token::from_file(&empty), Err(TokenError::Empty));
        let link = dir.join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert_eq!(
            Token::from_file(&link),
            Err(TokenError::NotAFile("symbolic link"))
        );
        assert_eq!(
            Token::from_file(&dir),
            Err(TokenError::NotAFile("directory"))
        );
        let crlf = dir.join("crlf");
        std::fs::write(
            &crlf,
            [b'y'; 64]
                .iter()
                .chain(b"\r\n")
                .copied()
                .collect::<Vec<_>>(),
        )
        .unwrap();
        std::fs::set_permissions(&crlf, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Token::from_file(&crlf).unwrap().as_bytes(), [b'y'; 64]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
