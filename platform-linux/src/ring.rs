//! The ring memfd: created, sized, mapped, initialised and sealed by the producer; its seals
//! and size checked by a reader before it maps anything.
//!
//! Seals ([`REQUIRED_SEALS`]), added after the producer's writable mapping exists (values as in
//! `<linux/fcntl.h>`):
//!
//! | seal | value | what it stops |
//! | --- | --- | --- |
//! | `F_SEAL_SEAL` | `0x1` | removing or changing the seals |
//! | `F_SEAL_SHRINK` | `0x2` | `ftruncate` to a smaller size: a reader touching a page past the new end would get `SIGBUS` |
//! | `F_SEAL_GROW` | `0x4` | growing it (the size is the contract of the handshake) |
//! | `F_SEAL_WRITE` | `0x8` | every write, including through existing writable mappings (a producer cannot add it while it has one; a reader accepts it in place of `FUTURE_WRITE`) |
//! | `F_SEAL_FUTURE_WRITE` | `0x10` | any *new* writable mapping or `write(2)`, by anyone — only the producer's existing mapping can write |
//!
//! A reader requires SHRINK, GROW and SEAL, and FUTURE_WRITE **or** WRITE: with either, it
//! cannot write the ring ([`missing_seals`]).
//!
//! The memory belongs to the kernel object: it is freed when the last descriptor and the last
//! mapping go, so a crashed producer leaves nothing in `/dev/shm` or anywhere else.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
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

/// The write seals a reader accepts: either makes writing through a new mapping or `write(2)`
/// impossible.
pub const WRITE_SEALS: SealFlag = SealFlag::F_SEAL_WRITE.union(SealFlag::F_SEAL_FUTURE_WRITE);

/// Seal names and values (`<linux/fcntl.h>`), in display order.
const SEAL_NAMES: [(u32, &str); 5] = [
    (0x2, "shrink"),
    (0x4, "grow"),
    (0x8, "write"),
    (0x10, "future_write"),
    (0x1, "seal"),
];

/// `F_GET_SEALS` bits shown by name (`shrink|grow|future_write|seal`, `none`); unknown bits
/// are shown in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealNames(u32);

/// Names the seals in `bits`.
pub fn describe_seals(bits: u32) -> SealNames {
    SealNames(bits)
}

impl core::fmt::Display for SealNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut rest = self.0;
        let mut sep = "";
        for (bit, name) in SEAL_NAMES {
            if rest & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = "|";
                rest &= !bit;
            }
        }
        if rest != 0 {
            write!(f, "{sep}{rest:#x}")?;
        } else if sep.is_empty() {
            write!(f, "none")?;
        }
        Ok(())
    }
}

/// The seals a reader requires that `found` lacks ([`MissingSeals::is_empty`] if none).
pub fn missing_seals(found: u32) -> MissingSeals {
    let need =
        (SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL).bits() as u32;
    MissingSeals {
        bits: need & !found,
        write: found & WRITE_SEALS.bits() as u32 == 0,
    }
}

/// What [`missing_seals`] found lacking; displays as e.g. `shrink, future_write (or write)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSeals {
    bits: u32,
    write: bool,
}

impl MissingSeals {
    /// Nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.bits == 0 && !self.write
    }
}

impl core::fmt::Display for MissingSeals {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut sep = "";
        for (bit, name) in SEAL_NAMES {
            if bit == 0x8 && self.write {
                write!(f, "{sep}future_write (or write)")?;
                sep = ", ";
            }
            if self.bits & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = ", ";
            }
        }
        if sep.is_empty() {
            write!(f, "nothing")?;
        }
        Ok(())
    }
}

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
        // No kernel randomness: time and pid still make a new epoch per ring (it only has to
        // differ from the previous producer's, not be secret).
        clock::wall_ns() ^ (u64::from(std::process::id()) << 32) ^ clock::monotonic_ns()
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
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
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
    // This producer wakes sleeping readers (`SharedMemoryProducer` calls the wake path after
    // every commit and on stop); say so in the header before anyone sees it.
    vitalring_core::wake::announce_wakes(vitalring_core::region::Region::region(writer.region()))
        .map_err(|_| RingError::Init(InitError::ReadOnly))?;
    fcntl(&fd, FcntlArg::F_ADD_SEALS(REQUIRED_SEALS)).map_err(RingError::Seal)?;
    Ok((fd, writer))
}

/// The seals on `fd` (`EINVAL` if it is not a sealable file such as a memfd).
///
/// # Errors
/// The `fcntl(F_GET_SEALS)` errno.
pub fn seals(fd: BorrowedFd<'_>) -> Result<SealFlag, Errno> {
    fcntl(fd, FcntlArg::F_GET_SEALS).map(SealFlag::from_bits_retain)
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
    let st = fstat(fd)?;
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
    fn seal_values_and_names() {
        assert_eq!(SealFlag::F_SEAL_SEAL.bits(), 0x1);
        assert_eq!(SealFlag::F_SEAL_SHRINK.bits(), 0x2);
        assert_eq!(SealFlag::F_SEAL_GROW.bits(), 0x4);
        assert_eq!(SealFlag::F_SEAL_WRITE.bits(), 0x8);
        assert_eq!(SealFlag::F_SEAL_FUTURE_WRITE.bits(), 0x10);
        assert_eq!(REQUIRED_SEALS.bits(), 0x17);
        assert_eq!(
            describe_seals(0x17).to_string(),
            "shrink|grow|future_write|seal"
        );
        assert_eq!(describe_seals(0).to_string(), "none");
        assert_eq!(describe_seals(0x47).to_string(), "shrink|grow|seal|0x40");
        assert!(missing_seals(0x17).is_empty());
        assert!(
            missing_seals(0xf).is_empty(),
            "write instead of future_write"
        );
        assert!(missing_seals(0x1f).is_empty());
        assert_eq!(
            missing_seals(0).to_string(),
            "shrink, grow, future_write (or write), seal"
        );
        assert_eq!(missing_seals(0x7).to_string(), "future_write (or write)");
        assert_eq!(missing_seals(0x1e).to_string(), "seal");
    }

    #[test]
    fn epochs_are_non_zero_and_vary() {
        let a = random_epoch();
        let b = random_epoch();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
