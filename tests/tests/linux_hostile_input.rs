//! Hostile inputs on the Linux side, with real processes, files and memfds: token files that
//! are FIFOs or huge, a ring sealed with the stronger `F_SEAL_WRITE`, and a same-uid process
//! that tries to open a producer's memory for writing.

mod linux_common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags};
use vitalring_core::layout::Geometry;
use vitalring_linux::token::{TokenError, MAX_TOKEN_FILE_LEN};
use vitalring_linux::wire::{ControlMessage, HELLO_SIZE};
use vitalring_linux::{connect, HandshakeError, SharedMemoryProducer, Token};

/// Runs `cmd` to completion, killing it if it outlives [`linux_common::PATIENCE`] (a hang
/// guard: a healthy run takes milliseconds).
fn run_guarded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + linux_common::PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_fifo_token_file_fails_at_once_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Before the fix, opening it blocked forever waiting for a writer.
    let out = run_guarded(
        Command::new(env!("CARGO_BIN_EXE_test-reader"))
            .args(["--socket", "/nonexistent.sock", "--token-file"])
            .arg(&fifo),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "test-reader: token file is not a regular file (it is a fifo)"
    );
    assert_eq!(Token::from_file(&fifo), Err(TokenError::NotAFile("fifo")));
}

#[test]
fn a_huge_token_file_is_refused_with_its_real_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, vec![b'a'; 10 * 1024 * 1024]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Token::from_file(&path).unwrap_err();
    assert_eq!(err, TokenError::TooLarge { size: 10_485_760 });
    // Before the fix: "token is 66 bytes, at most 64 allowed".
    assert_eq!(
        err.to_string(),
        "token file is 10485760 bytes; a token file holds at most 64 bytes and a newline (66 bytes)"
    );
    assert_eq!(MAX_TOKEN_FILE_LEN, 66);
    // The 0600 rule still holds.
    std::fs::write(&path, b"ok\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        Token::from_file(&path),
        Err(TokenError::InsecureMode { mode: 0o644 })
    );
}

const EPOCH: u64 = 0xF00D;

fn geometry() -> Geometry {
    Geometry::new(128, 16).unwrap()
}

/// A complete ring image with a valid header, in a memfd carrying `seals`.
fn ring_memfd(seals: SealFlag) -> OwnedFd {
    let g = geometry();
    let p = SharedMemoryProducer::without_server("h", g, EPOCH).unwrap();
    let mut image = vec![0u8; g.region_len()];
    nix::sys::uio::pread(p.memfd().as_fd(), &mut image, 0).unwrap();
    let fd = memfd_create(
        c"foreign",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    nix::unistd::write(&fd, &image).unwrap();
    fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    fd
}

/// A foreign producer (same uid, this process) that serves one client with `fd`.
fn offer_once(path: &std::path::Path, fd: OwnedFd) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hello = [0u8; HELLO_SIZE];
        s.read_exact(&mut hello).unwrap();
        let reply = ControlMessage::ok(geometry(), EPOCH).to_bytes();
        let raw = [fd.as_raw_fd()];
        sendmsg::<()>(
            s.as_raw_fd(),
            &[std::io::IoSlice::new(&reply)],
            &[Cmsg::ScmRights(&raw)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let _ = s.flush();
    })
}

#[test]
fn a_ring_sealed_with_f_seal_write_is_accepted_and_missing_seals_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // F_SEAL_WRITE (0x8) forbids every write, existing mappings included: stronger than
    // FUTURE_WRITE. Before the fix: "memfd is not sealed (seals 0xf)".
    let write_sealed = SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE
        | SealFlag::F_SEAL_SEAL;
    let path = dir.path().join("w.sock");
    let server = offer_once(&path, ring_memfd(write_sealed));
    let a = connect(&path, "vitals", None).expect("a write-sealed ring is accepted");
    server.join().unwrap();
    assert_eq!(a.epoch(), EPOCH);

    // Without any write seal it is refused, and the error names what is missing.
    let path = dir.path().join("n.sock");
    let server = offer_once(
        &path,
        ring_memfd(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL),
    );
    let err = connect(&path, "vitals", None).unwrap_err();
    server.join().unwrap();
    assert_eq!(err, HandshakeError::NotSealed { found: 0x7 });
    assert_eq!(
        err.to_string(),
        "memfd is not sealed: missing future_write (or write) (it has shrink|grow|seal, 0x7)"
    );
}

fn dumpable_attack(harden: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_test-dumpable"));
    cmd.arg("attack");
    if harden {
        cmd.arg("--harden");
    }
    if nix::unistd::geteuid().is_root() {
        // Root (CAP_SYS_PTRACE) may open any process's memory, dumpable or not: run attacker
        // and victim as an ordinary uid, where the dumpable flag is what decides.
        cmd.uid(65534).gid(65534);
    }
    let out = run_guarded(&mut cmd);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_producer_is_not_dumpable_so_same_uid_processes_cannot_write_its_memory() {
    // Control: an ordinary process of the same uid can open another's memory read-write.
    let plain = dumpable_attack(false);
    assert!(plain.contains("VICTIM-DUMPABLE 1"), "{plain}");
    assert!(plain.contains("OPEN-OK"), "{plain}");
    // A process that created a SharedMemoryProducer is non-dumpable, and its memory cannot be
    // opened by the same uid (before the fix: OPEN-OK, and one write froze every reader).
    let hardened = dumpable_attack(true);
    assert!(hardened.contains("VICTIM-DUMPABLE 0"), "{hardened}");
    assert!(
        hardened.contains("OPEN-DENIED Permission denied"),
        "{hardened}"
    );
}
