//! The control socket under misbehaving clients, the socket file's life cycle and modes, and
//! what a reader can do with the memfd it receives.

mod linux_common;

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use linux_common::ProducerProc;
use nix::errno::Errno;
use vitalring_core::layout::Geometry;
use vitalring_core::region::{Access, Region, RegionError};
use vitalring_linux::client::{receive, ConnectOptions};
use vitalring_linux::server::{ListenError, ServeError, ServeEvent};
use vitalring_linux::wire::{ControlMessage, Hello, Status, CONTROL_SIZE, HELLO_MAGIC};
use vitalring_linux::{
    connect, HandshakeError, ProducerConfig, ProducerError, SharedMemoryProducer, Token,
};

fn geometry() -> Geometry {
    Geometry::new(256, 64).unwrap()
}

type Log = Arc<Mutex<Vec<ServeEvent>>>;

fn producer(path: &Path, token: Option<&[u8]>, timeout_ms: u64) -> (SharedMemoryProducer, Log) {
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let mut cfg = ProducerConfig::new("vitals");
    cfg.socket_path = Some(path.to_owned());
    cfg.geometry = geometry();
    cfg.token = token.map(|t| Token::new(t).unwrap());
    cfg.handshake_timeout = Duration::from_millis(timeout_ms);
    cfg.log = Some(Arc::new(move |e: &ServeEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    (SharedMemoryProducer::create(cfg).expect("producer"), log)
}

/// Reads a whole reply (or whatever arrives before EOF) from a raw client.
fn read_reply(s: &mut UnixStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("server answers and closes");
    out
}

fn status_of(reply: &[u8]) -> Status {
    assert_eq!(
        reply.len(),
        CONTROL_SIZE,
        "one whole ControlMessage, then EOF"
    );
    ControlMessage::parse(reply).expect("valid reply").status()
}

#[test]
fn misbehaving_clients_are_refused_while_a_good_one_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let (p, log) = producer(&path, Some(b"correct horse"), 500);

    // A silent client: connects and sends nothing (holds a handshake slot until the timeout).
    let mut silent = UnixStream::connect(&path).unwrap();
    // A client that sends half a Hello and stalls.
    let mut partial = UnixStream::connect(&path).unwrap();
    partial
        .write_all(&Hello::new("vitals", None).unwrap().to_bytes()[..50])
        .unwrap();
    // `echo test | nc -U sock`.
    let mut garbage = UnixStream::connect(&path).unwrap();
    garbage.write_all(b"test\n").unwrap();

    // Meanwhile, well-behaved clients succeed at once.
    let good = connect(
        &path,
        "vitals",
        Some(&Token::new(b"correct horse").unwrap()),
    )
    .expect("good client served while others misbehave");
    assert_eq!(good.epoch(), p.epoch());

    assert_eq!(status_of(&read_reply(&mut garbage)), Status::BadMagic);
    assert_eq!(
        connect(&path, "vitals", Some(&Token::new(b"wrong").unwrap())).unwrap_err(),
        HandshakeError::Refused(Status::BadToken)
    );
    assert_eq!(
        connect(&path, "vitals", None).unwrap_err(),
        HandshakeError::Refused(Status::BadToken)
    );
    assert_eq!(
        connect(&path, "other", Some(&Token::new(b"correct horse").unwrap())).unwrap_err(),
        HandshakeError::Refused(Status::UnknownChannel)
    );
    let mut v2 = UnixStream::connect(&path).unwrap();
    let mut hello = Hello::new("vitals", None).unwrap().to_bytes();
    hello[4] = 2;
    v2.write_all(&hello).unwrap();
    assert_eq!(status_of(&read_reply(&mut v2)), Status::BadVersion);
    let mut reserved = UnixStream::connect(&path).unwrap();
    let mut hello = Hello::new("vitals", None).unwrap().to_bytes();
    hello[141] = 7;
    reserved.write_all(&hello).unwrap();
    assert_eq!(status_of(&read_reply(&mut reserved)), Status::Malformed);

    // The silent and the partial client are answered `Malformed` after the timeout.
    assert_eq!(status_of(&read_reply(&mut silent)), Status::Malformed);
    assert_eq!(status_of(&read_reply(&mut partial)), Status::Malformed);

    // And the server still serves.
    connect(
        &path,
        "vitals",
        Some(&Token::new(b"correct horse").unwrap()),
    )
    .expect("still serving");

    // Counters and the log are updated right after each reply is sent.
    linux_common::wait_until("server counters", || {
        let s = p.server_stats();
        s.served == 2 && s.refused == 8 && log.lock().unwrap().len() == 10
    });
    let stats = p.server_stats();
    assert_eq!((stats.served, stats.refused), (2, 8));
    let log = log.lock().unwrap();
    let refused: Vec<&ServeError> = log
        .iter()
        .filter_map(|e| match e {
            ServeEvent::Refused { error, uid, .. } => {
                assert_eq!(*uid, Some(nix::unistd::geteuid().as_raw()));
                Some(error)
            }
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 8);
    assert!(refused.contains(&&ServeError::Timeout { got: 0 }));
    assert!(refused.contains(&&ServeError::Timeout { got: 50 }));
    assert!(refused.contains(&&ServeError::BadToken));
    assert!(refused.contains(&&ServeError::UnknownChannel("other".into())));
    assert!(refused
        .iter()
        .any(|e| matches!(e, ServeError::Wire(w) if w.status() == Status::BadMagic)));
    // Each refusal renders as one clear lower-case line.
    for e in &refused {
        let line = e.to_string();
        assert!(
            !line.is_empty() && line.chars().next().unwrap().is_lowercase(),
            "{line}"
        );
    }
}

#[test]
fn a_client_that_closes_early_gets_a_clear_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.sock");
    let (_p, log) = producer(&path, None, 1000);
    {
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(&HELLO_MAGIC.to_le_bytes()).unwrap();
    }
    linux_common::wait_until("refusal logged", || !log.lock().unwrap().is_empty());
    let ev = log.lock().unwrap()[0].clone();
    assert!(
        matches!(
            &ev,
            ServeEvent::Refused {
                error: ServeError::Closed { got: 4 },
                ..
            }
        ),
        "{ev:?}"
    );
    assert!(
        ev.to_string()
            .contains("closed the connection after 4 of 144"),
        "{ev}"
    );
}

#[test]
fn a_reader_cannot_write_resize_or_reseal_the_ring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sock");
    let (p, _log) = producer(&path, None, 1000);
    let ring = receive(&path, "vitals", None, ConnectOptions::default()).expect("receive");
    let fd = ring.fd();
    let len = geometry().region_len();

    // No new writable shared mapping (F_SEAL_FUTURE_WRITE) ...
    let rw = memmap2::MmapOptions::new().len(len).map_raw(&fd);
    assert_eq!(rw.unwrap_err().raw_os_error(), Some(libc::EPERM));
    // ... no write(2) ...
    assert_eq!(nix::unistd::write(fd, b"x"), Err(Errno::EPERM));
    assert_eq!(nix::sys::uio::pwrite(fd, b"x", 100), Err(Errno::EPERM));
    // ... no truncation (a reader can't SIGBUS the others) and no growth ...
    assert_eq!(nix::unistd::ftruncate(fd, 8), Err(Errno::EPERM));
    assert_eq!(
        nix::unistd::ftruncate(fd, len as i64 * 2),
        Err(Errno::EPERM)
    );
    // ... and no unsealing.
    assert_eq!(
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::F_SEAL_WRITE)
        ),
        Err(Errno::EPERM)
    );
    // A read-only mapping cannot be upgraded to writable either.
    let ro = memmap2::MmapOptions::new()
        .len(len)
        .map_raw_read_only(&fd)
        .unwrap();
    // SAFETY: `ro` is a live mapping of `len` bytes owned by this test; mprotect only changes
    // its protection (and is expected to fail), no memory is accessed.
    let up = unsafe {
        nix::sys::mman::mprotect(
            std::ptr::NonNull::new(ro.as_mut_ptr().cast()).unwrap(),
            len,
            nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
        )
    };
    assert_eq!(up, Err(Errno::EACCES));

    // The mapped ring is a read-only core region: stores are refused.
    let attached = ring.map().expect("map");
    let view = attached.mapping().region();
    assert_eq!(view.access(), Access::ReadOnly);
    assert_eq!(view.flip_bit(100, 0), Err(RegionError::ReadOnly));
    assert_eq!(view.header_snapshot().epoch, p.epoch());
}

#[test]
fn socket_life_cycle_stale_live_and_removed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");

    // A stale socket (its listener is gone) is replaced.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let (p, _) = producer(&path, None, 1000);
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600, "socket is 0600");
    connect(&path, "vitals", None).expect("served on the replaced path");

    // A live socket is not stolen.
    let mut cfg = ProducerConfig::new("vitals");
    cfg.socket_path = Some(path.clone());
    cfg.geometry = geometry();
    let err = SharedMemoryProducer::create(cfg.clone()).unwrap_err();
    assert_eq!(err, ProducerError::Listen(ListenError::InUse(path.clone())));
    assert_eq!(
        err.to_string(),
        format!("another producer is serving {}", path.display())
    );
    assert_eq!(connect(&path, "vitals", None).unwrap().epoch(), p.epoch());

    // Removed on drop.
    drop(p);
    assert!(!path.exists(), "socket file removed on clean shutdown");
    assert!(matches!(
        connect(&path, "vitals", None),
        Err(HandshakeError::NoSocket(_))
    ));

    // Something that is not a socket is never replaced.
    std::fs::write(&path, b"precious").unwrap();
    assert_eq!(
        SharedMemoryProducer::create(cfg).unwrap_err(),
        ProducerError::Listen(ListenError::NotASocket(path.clone()))
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn default_path_directory_is_0700_and_socket_0600() {
    let runtime = tempfile::tempdir().unwrap();
    let p = ProducerProc::spawn_env(
        &["--channel", "bed-7", "--exit", "linger"],
        &[("XDG_RUNTIME_DIR", runtime.path())],
    );
    let dir = runtime.path().join("vitalring");
    assert_eq!(p.socket, dir.join("bed-7.sock"));
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, 0o700);
    let sock = std::fs::symlink_metadata(&p.socket).unwrap();
    assert_eq!(sock.mode() & 0o7777, 0o600);
    assert_eq!(connect(&p.socket, "bed-7", None).unwrap().epoch(), p.epoch);
    drop(p);

    // An existing directory that others can write is refused.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_test-producer"))
        .args(["--channel", "bed-7", "--exit", "exit"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has mode 0777: group or others have access"),
        "{err}"
    );
}

#[test]
fn peer_uid_is_checked_with_so_peercred() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client under another uid");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("u.sock");
    let nobody = 65534u32;
    // The reader trusts this producer's uid (root) explicitly: a reader refuses a server of
    // another uid unless it is allow-listed (see `linux_hostile_server.rs`).
    let run_client = |path: &PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_test-reader"))
            .arg("--socket")
            .arg(path)
            .args(["--channel", "vitals", "--allow-server-uid", "0"])
            .uid(nobody)
            .gid(nobody)
            .output()
            .unwrap()
    };
    use std::os::unix::process::CommandExt;

    // Same-uid only by default: even with the socket file opened up (a misconfiguration), a
    // peer with another uid is refused by SO_PEERCRED.
    let (p, log) = producer(&path, None, 1000);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run_client(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("uid not allowed"), "{text}");
    linux_common::wait_until("uid refusal logged", || {
        log.lock().unwrap().iter().any(|e| {
            matches!(
                e,
                ServeEvent::Refused { error: ServeError::UidNotAllowed(u), .. } if *u == nobody
            )
        })
    });
    // With the socket at its normal 0600 the other uid cannot even connect.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run_client(&path);
    assert!(String::from_utf8_lossy(&out.stdout).contains("permission denied"));
    drop(p);

    // An allow-listed uid is served.
    let mut cfg = ProducerConfig::new("vitals");
    cfg.socket_path = Some(path.clone());
    cfg.geometry = geometry();
    cfg.allowed_uids = vec![nobody];
    let p = SharedMemoryProducer::create(cfg).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run_client(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), format!("OK {}", p.epoch()));
    let _ = AsFd::as_fd(&**p.memfd());
}
