//! A hostile or broken producer (this test plays the server) cannot make a reader map
//! something unsafe: each bad offer is refused with a named error, before any `mmap` where
//! the seals or size are wrong, and no received descriptor leaks.
//!
//! One test function on purpose: it counts this process's open descriptors before and after.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags};
use vitalring_core::layout::{Geometry, HeaderError};
use vitalring_linux::client::{connect_with, ConnectOptions};
use vitalring_linux::ring::REQUIRED_SEALS;
use vitalring_linux::wire::{ControlMessage, Status, WireError, HELLO_SIZE};
use vitalring_linux::{HandshakeError, SharedMemoryProducer};

fn geometry() -> Geometry {
    Geometry::new(128, 32).unwrap()
}

const EPOCH: u64 = 0x5EED;

/// A memfd of `size` bytes starting with `head`, carrying `seals`.
fn memfd(size: usize, head: &[u8], seals: SealFlag) -> OwnedFd {
    let fd = memfd_create(
        c"rogue",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    nix::unistd::ftruncate(&fd, size as i64).unwrap();
    let n = head.len().min(size);
    nix::sys::uio::pwrite(&fd, &head[..n], 0).unwrap();
    if !seals.is_empty() {
        fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    }
    fd
}

/// The 80 header bytes of a genuine ring with `EPOCH`.
fn good_header() -> Vec<u8> {
    let p = SharedMemoryProducer::without_server("h", geometry(), EPOCH).unwrap();
    let mut buf = vec![0u8; 80];
    nix::sys::uio::pread(p.memfd().as_fd(), &mut buf, 0).unwrap();
    buf
}

/// Serves exactly one client: reads its Hello, then sends `reply` with `fds` (or, with
/// `reply` empty, nothing at all until the client gives up).
fn rogue(path: &Path, reply: Vec<u8>, fds: Vec<OwnedFd>) -> JoinHandle<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hello = [0u8; HELLO_SIZE];
        s.read_exact(&mut hello).unwrap();
        if reply.is_empty() {
            // Silent server: wait for the client to time out and hang up.
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = s.read(&mut [0u8; 1]);
            return;
        }
        if fds.is_empty() {
            s.write_all(&reply).unwrap();
        } else {
            let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
            let iov = [std::io::IoSlice::new(&reply)];
            sendmsg::<()>(
                s.as_raw_fd(),
                &iov,
                &[Cmsg::ScmRights(&raw)],
                MsgFlags::empty(),
                None,
            )
            .unwrap();
        }
        // Our copies of the descriptors close here.
    })
}

fn attempt(path: &Path, reply: Vec<u8>, fds: Vec<OwnedFd>) -> HandshakeError {
    let server = rogue(path, reply, fds);
    let r = connect_with(
        path,
        "vitals",
        None,
        ConnectOptions {
            timeout: Duration::from_millis(300),
            ..ConnectOptions::default()
        },
    );
    server.join().unwrap();
    r.expect_err("a rogue offer must be refused")
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn every_bad_offer_is_refused_and_nothing_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rogue.sock");
    let g = geometry();
    let len = g.region_len();
    let ok = ControlMessage::ok(g, EPOCH).to_bytes().to_vec();
    let head = good_header();
    let fds_before = open_fds();

    // Sanity: the same offer, properly sealed, is accepted.
    {
        let server = rogue(&path, ok.clone(), vec![memfd(len, &head, REQUIRED_SEALS)]);
        let a = connect_with(&path, "vitals", None, ConnectOptions::default()).expect("good offer");
        server.join().unwrap();
        assert_eq!(a.epoch(), EPOCH);
    }

    // Unsealed: a writer elsewhere could shrink it under us (SIGBUS) — refused before mmap.
    let e = attempt(
        &path,
        ok.clone(),
        vec![memfd(len, &head, SealFlag::empty())],
    );
    assert_eq!(e, HandshakeError::NotSealed { found: 0 });
    assert!(e.to_string().contains("memfd is not sealed"), "{e}");
    // Sealed against resizing but still writable by anyone holding it.
    let partial = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
    let e = attempt(&path, ok.clone(), vec![memfd(len, &head, partial)]);
    assert!(matches!(e, HandshakeError::NotSealed { .. }), "{e:?}");
    // Too small / too large for what the reply announces: refused before mmap (mapping a
    // too-small file and touching its tail would SIGBUS this test).
    let e = attempt(&path, ok.clone(), vec![memfd(4096, &head, REQUIRED_SEALS)]);
    assert_eq!(
        e,
        HandshakeError::SizeMismatch {
            actual: 4096,
            expected: len as u64
        }
    );
    let e = attempt(
        &path,
        ok.clone(),
        vec![memfd(len + 4096, &head, REQUIRED_SEALS)],
    );
    assert!(matches!(e, HandshakeError::SizeMismatch { .. }), "{e:?}");
    // Right size and seals, but a garbage header.
    let e = attempt(
        &path,
        ok.clone(),
        vec![memfd(len, &[0xAB; 80], REQUIRED_SEALS)],
    );
    assert_eq!(e, HandshakeError::Header(HeaderError::Magic(0xABAB_ABAB)));
    let e = attempt(&path, ok.clone(), vec![memfd(len, &[], REQUIRED_SEALS)]);
    assert_eq!(e, HandshakeError::Header(HeaderError::Magic(0)));
    // A header whose CRC is broken.
    let mut bad_crc = head.clone();
    bad_crc[40] ^= 1;
    let e = attempt(
        &path,
        ok.clone(),
        vec![memfd(len, &bad_crc, REQUIRED_SEALS)],
    );
    assert!(
        matches!(e, HandshakeError::Header(HeaderError::Crc { .. })),
        "{e:?}"
    );
    // A valid ring, but not the one the reply describes (another epoch).
    let other = ControlMessage::ok(g, EPOCH + 1).to_bytes().to_vec();
    let e = attempt(&path, other, vec![memfd(len, &head, REQUIRED_SEALS)]);
    assert_eq!(e, HandshakeError::HeaderMismatch);
    // No descriptor at all.
    assert_eq!(attempt(&path, ok.clone(), vec![]), HandshakeError::NoFd);
    // Two descriptors; and more than fit the control buffer (MSG_CTRUNC).
    let two = vec![
        memfd(len, &head, REQUIRED_SEALS),
        memfd(len, &head, REQUIRED_SEALS),
    ];
    assert_eq!(
        attempt(&path, ok.clone(), two),
        HandshakeError::TooManyFds(2)
    );
    let many = (0..6).map(|_| memfd(64, &[], SealFlag::empty())).collect();
    assert!(matches!(
        attempt(&path, ok.clone(), many),
        HandshakeError::TooManyFds(_)
    ));
    // Not a memfd: a regular file on disk, and a pipe.
    let file = tempfile::tempfile().unwrap();
    file.set_len(len as u64).unwrap();
    assert_eq!(
        attempt(&path, ok.clone(), vec![OwnedFd::from(file)]),
        HandshakeError::NotAMemfd
    );
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(w);
    assert_eq!(
        attempt(&path, ok.clone(), vec![r]),
        HandshakeError::NotAMemfd
    );
    // A failure status that nevertheless carries a descriptor: refused, descriptor closed.
    let fail = ControlMessage::failure(Status::Busy).to_bytes().to_vec();
    let e = attempt(&path, fail, vec![memfd(len, &head, REQUIRED_SEALS)]);
    assert_eq!(e, HandshakeError::Refused(Status::Busy));
    // Garbage, a short reply, and silence.
    let e = attempt(
        &path,
        b"HTTP/1.1 400 Bad Request\r\n\r\n0123456789ab".to_vec(),
        vec![],
    );
    assert!(
        matches!(e, HandshakeError::Reply(WireError::Magic(_))),
        "{e:?}"
    );
    assert_eq!(
        attempt(&path, ok[..10].to_vec(), vec![]),
        HandshakeError::Closed { got: 10 }
    );
    assert_eq!(attempt(&path, Vec::new(), vec![]), HandshakeError::Timeout);

    assert_eq!(
        open_fds(),
        fds_before,
        "every received descriptor was closed"
    );
}
