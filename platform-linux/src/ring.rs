//! The ring memfd: created, sized, mapped, initialised and sealed by the producer; its seals
//! and size checked by a reader before it maps anything.
//!
//! Seals ([`REQUIRED_SEALS`]), added after the producer's writable mapping exists:
//!
//! | seal | what it stops |
//! | --- | --- |
//! | `F_SEAL_SHRINK` | `ftruncate` to a smaller size: a reader touching a page past the new end would get `SIGBUS` |
//! | `F_SEAL_GROW` | growing it (the size is the contract of the handshake) |
//! | `F_SEAL_FUTURE_WRITE` | any *new* writable mapping or `write(2)`, by anyone — only the producer's existing mapping can write |
//! | `F_SEAL_SEAL` | removing or changing the seals |
//!
//! The memory belongs to the kernel object: it is freed when the last descriptor and the last
//! mapping go, so a crashed producer leaves nothing in `/dev/shm` or anywhere else.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::stat::{fstat, SFlag};
use vitalring_core::layout::Geometry;
use vitalring_core::slot::{InitError, Writer, WriterConfig};

use crate::clock;
use crate::map::RwMapping;

/// The seals a ring memfd must carry before a reader maps it.
pub const REQUIRED_SEALS: SealFlag = SealFlag::F_SEAL_SHRINK
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_FUTURE_WRITE)
    .union(SealFlag::F_SEAL_SEAL);

/// Why a ring could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// `memfd_create` failed (`EMFILE`, `ENOMEM`, ...).
    Memfd(Errno),
    /// `ftruncate` to the ring length failed.
    Truncate(Errno),
    /// `mmap` failed.
    Map(Errno),
    /// The core writer refused the region.
    Init(InitError),
    /// Adding the seals failed (`EINVAL` on kernels before 5.1, which lack `F_SEAL_FUTURE_WRITE`).
    Seal(Errno),
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let d = |e: &Errno| e.desc().to_lowercase();
        match self {
            Self::Memfd(e) => write!(f, "memfd_create failed: {}", d(e)),
            Self::Truncate(e) => write!(f, "sizing the ring memfd failed: {}", d(e)),
            Self::Map(e) => write!(f, "mapping the ring failed: {}", d(e)),
            Self::Init(e) => write!(f, "initialising the ring failed: {e}"),
            Self::Seal(e) => write!(
                f,
                "sealing the ring memfd failed: {} (linux 5.1 or later is needed)",
                d(e)
            ),
        }
    }
}

impl std::error::Error for RingError {}

/// A fresh producer epoch: 8 random bytes from the kernel (`/dev/urandom`), falling back to a
/// mix of time and pid; never zero.
pub fn random_epoch() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    let from_kernel = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    let mut x = if from_kernel {
        u64::from_le_bytes(b)
    } else {
        // splitmix64 of time ^ pid.
        let mut z =
            clock::wall_ns() ^ (u64::from(std::process::id()) << 32) ^ clock::monotonic_ns();
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    if x == 0 {
        x = 1;
    }
    x
}

/// Creates a sealed ring: memfd → `ftruncate` → `mmap` read-write → [`Writer::create`] →
/// seals. Returns the memfd (to hand to readers) and the writer over the producer's mapping.
///
/// # Errors
/// [`RingError`] names the step that failed.
pub fn create_sealed_ring(
    name: &CStr,
    geometry: Geometry,
    epoch: u64,
) -> Result<(OwnedFd, Writer<RwMapping>), RingError> {
    let fd = memfd_create(
        name,
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )
    .map_err(RingError::Memfd)?;
    let len = geometry.region_len();
    let off = libc::off_t::try_from(len).map_err(|_| RingError::Truncate(Errno::EFBIG))?;
    nix::unistd::ftruncate(&fd, off).map_err(RingError::Truncate)?;
    let mapping = RwMapping::map(fd.as_fd(), len).map_err(RingError::Map)?;
    let writer = Writer::create(
        mapping,
        WriterConfig {
            geometry,
            epoch,
            created: clock::wall(),
            now: clock::wall().as_ms(),
        },
    )
    .map_err(RingError::Init)?;
    fcntl(fd.as_raw_fd(), FcntlArg::F_ADD_SEALS(REQUIRED_SEALS)).map_err(RingError::Seal)?;
    Ok((fd, writer))
}

/// The seals on `fd` (`EINVAL` if it is not a sealable file such as a memfd).
///
/// # Errors
/// The `fcntl(F_GET_SEALS)` errno.
pub fn seals(fd: BorrowedFd<'_>) -> Result<SealFlag, Errno> {
    fcntl(fd.as_raw_fd(), FcntlArg::F_GET_SEALS).map(SealFlag::from_bits_retain)
}

/// What `fstat` says about a would-be ring descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdFacts {
    /// A regular file (memfds are).
    pub regular: bool,
    /// `st_size`.
    pub size: u64,
}

/// `fstat` of `fd`.
///
/// # Errors
/// The `fstat` errno.
pub fn fd_facts(fd: BorrowedFd<'_>) -> Result<FdFacts, Errno> {
    let st = fstat(fd.as_raw_fd())?;
    Ok(FdFacts {
        regular: SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG,
        size: u64::try_from(st.st_size).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::region::Region;

    #[test]
    fn a_created_ring_is_sealed_sized_and_valid() {
        let g = Geometry::new(128, 8).unwrap();
        let (fd, writer) = create_sealed_ring(c"vr-test", g, 7).unwrap();
        assert!(seals(fd.as_fd()).unwrap().contains(REQUIRED_SEALS));
        let facts = fd_facts(fd.as_fd()).unwrap();
        assert!(facts.regular);
        assert_eq!(facts.size, g.region_len() as u64);
        let h = writer.region().region().header_snapshot();
        assert_eq!(h.check(g.region_len()).map(|c| c.geometry()), Ok(g));
        assert_eq!(h.epoch, 7);
        // Nobody, the creator included, can resize it or open a new writable mapping.
        assert_eq!(nix::unistd::ftruncate(&fd, 8), Err(Errno::EPERM));
        assert_eq!(
            RwMapping::map(fd.as_fd(), g.region_len()).err(),
            Some(Errno::EPERM)
        );
    }

    #[test]
    fn epochs_are_non_zero_and_vary() {
        let a = random_epoch();
        let b = random_epoch();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
