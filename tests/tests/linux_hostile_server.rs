//! Hostile peers around the control socket, with real processes: a rogue producer running as
//! another user, pre-created or opened-up default directories, and a flood of silent
//! connections. Tests that need a second uid run only as root (they switch the rogue process
//! to uid 65534, `nobody`); elsewhere they say so and return.

mod linux_common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use vitalring_core::layout::Geometry;
use vitalring_linux::client::{connect_retrying, ConnectOptions};
use vitalring_linux::wire::Status;
use vitalring_linux::{
    connect, connect_with, HandshakeError, ProducerConfig, SharedMemoryProducer, Token,
};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A `test-producer` running as `nobody` on `socket`, accepting readers of uid 0: a rogue
/// producer from the point of view of a root reader. Its stderr goes to `log`.
struct Rogue {
    child: Child,
    epoch: u64,
    // Kept open: the producer prints `DONE` later and exits if its stdout is gone.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Rogue {
    fn spawn(socket: &Path, log: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_test-producer"))
            .arg("--socket")
            .arg(socket)
            .args([
                "--channel",
                "vitals",
                "--allow-uid",
                "0",
                "--frame-count",
                "64",
            ])
            .uid(NOBODY)
            .gid(NOBODY)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("spawn rogue producer");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let epoch = line
            .strip_prefix("READY ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|e| e.parse().ok())
            .unwrap_or_else(|| panic!("rogue producer said {line:?}"));
        Self {
            child,
            epoch,
            _stdout: stdout,
        }
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory anyone may create files in (so `nobody` can bind a socket there).
fn open_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

fn reader(args: &[&str], xdg: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_test-reader"))
        .args(args)
        .env("XDG_RUNTIME_DIR", xdg)
        .output()
        .unwrap()
}

#[test]
fn a_reader_refuses_a_producer_running_as_another_uid() {
    if !is_root() {
        eprintln!("skipped: needs root to run the rogue producer under another uid");
        return;
    }
    let dir = open_dir();
    let socket = dir.path().join("rogue.sock");
    let log = dir.path().join("rogue.log");
    let rogue = Rogue::spawn(&socket, &log);

    // Before the fix the reader attached to this perfectly valid ring and showed its data.
    let err = connect(&socket, "vitals", None).expect_err("a foreign producer must be refused");
    assert!(
        matches!(err, HandshakeError::UntrustedServer { uid: NOBODY, .. }),
        "{err:?}"
    );
    let line = err.to_string();
    assert!(
        line.starts_with("the socket is served by uid 65534"),
        "{line}"
    );
    assert!(line.contains("refusing to attach"), "{line}");

    // The check runs before the Hello is sent: a reader's token never reaches the rogue.
    let token = Token::new(b"secret token").unwrap();
    let err = connect(&socket, "vitals", Some(&token)).unwrap_err();
    assert!(
        matches!(err, HandshakeError::UntrustedServer { .. }),
        "{err:?}"
    );
    linux_common::wait_until("the rogue logged both hang-ups", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("client closed the connection after 0 of 144 hello bytes")
            .count()
            == 2
    });

    // A producer uid the reader trusts explicitly is accepted.
    let options = ConnectOptions {
        allowed_server_uids: vec![NOBODY],
        ..ConnectOptions::default()
    };
    let attached = connect_with(&socket, "vitals", None, options).expect("allow-listed producer");
    assert_eq!(attached.epoch(), rogue.epoch);
}

/// The planted producer is alive and would serve a reader that trusts it: only the directory
/// check stands in the way (the path is not a default one for this process).
fn assert_rogue_serves(socket: &Path, epoch: u64) {
    let options = ConnectOptions {
        allowed_server_uids: vec![NOBODY],
        ..ConnectOptions::default()
    };
    let a = connect_with(socket, "vitals", None, options).expect("the rogue serves");
    assert_eq!(a.epoch(), epoch);
}

#[test]
fn a_default_directory_that_is_not_the_readers_own_private_one_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to plant a directory and socket as another uid");
        return;
    }
    // A private runtime directory stand-in (`XDG_RUNTIME_DIR`), traversable by `nobody` so
    // that it can play the other local user.
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let vdir = runtime.path().join("vitalring");
    let log = runtime.path().join("rogue.log");
    let default = ["--default", "--channel", "vitals"];

    // 1. Another user pre-created the directory (0700, theirs) and serves a ring in it.
    std::fs::create_dir(&vdir).unwrap();
    std::fs::set_permissions(&vdir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&vdir, Some(NOBODY), Some(NOBODY)).unwrap();
    let rogue = Rogue::spawn(&vdir.join("vitals.sock"), &log);
    assert_rogue_serves(&vdir.join("vitals.sock"), rogue.epoch);
    let out = reader(&default, runtime.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "ERR socket directory {} is owned by uid 65534",
            vdir.display()
        )),
        "{text}"
    );
    // Even a reader that trusts that producer uid refuses the foreign default directory.
    let mut trusting = default.to_vec();
    trusting.extend(["--allow-server-uid", "65534"]);
    let out = reader(&trusting, runtime.path());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is owned by uid 65534"),
        "{out:?}"
    );
    // And a producer of ours refuses to start in it.
    let out = Command::new(env!("CARGO_BIN_EXE_test-producer"))
        .args(["--channel", "other", "--exit", "exit"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is owned by uid 65534"),
        "{out:?}"
    );
    drop(rogue);
    std::fs::remove_dir_all(&vdir).unwrap();

    // 2. Our own directory, but opened up (0777): someone planted a socket in it.
    std::fs::create_dir(&vdir).unwrap();
    std::fs::set_permissions(&vdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let rogue = Rogue::spawn(&vdir.join("vitals.sock"), &log);
    assert_rogue_serves(&vdir.join("vitals.sock"), rogue.epoch);
    let out = reader(&default, runtime.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("has mode 0777: group or others have access (it must be 0700)"),
        "{text}"
    );

    // 3. A symlink to a directory the attacker controls is never followed.
    std::fs::remove_dir_all(&vdir).unwrap();
    let elsewhere = open_dir();
    std::os::unix::fs::symlink(elsewhere.path(), &vdir).unwrap();
    let out = reader(&default, runtime.path());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is a symbolic link; refusing it"),
        "{out:?}"
    );
}

fn geometry() -> Geometry {
    Geometry::new(256, 64).unwrap()
}

struct Flood(Child);

impl Flood {
    fn start(socket: &Path, connections: usize) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_test-flood"))
            .arg(socket)
            .arg(connections.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn test-flood");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "FLOODING");
        Self(child)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Attaches `n` times while a flood runs; returns how many attaches had to wait for `Busy`.
fn attach_repeatedly(socket: &Path, epoch: u64, n: usize) -> usize {
    let options = ConnectOptions {
        busy_retry: linux_common::PATIENCE,
        ..ConnectOptions::default()
    };
    let mut waited = 0;
    for i in 0..n {
        let mut busy = false;
        let a = connect_retrying(socket, "vitals", None, &options, |e, _| {
            assert!(e.is_busy());
            busy = true;
        })
        .unwrap_or_else(|e| panic!("attach {i} of {n} failed during the flood: {e}"));
        assert_eq!(a.epoch(), epoch);
        waited += usize::from(busy);
    }
    waited
}

#[test]
fn a_flood_of_silent_connections_does_not_lock_readers_out() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("flood.sock");
    let mut cfg = ProducerConfig::new("vitals");
    cfg.socket_path = Some(socket.clone());
    cfg.geometry = geometry();
    // Refusals are counted, not printed (there are many).
    cfg.log = Some(Arc::new(|_| {}));
    let p = SharedMemoryProducer::create(cfg).expect("producer");

    // The attack of the report: silent connections, each reopened as soon as it is closed.
    // Sixteen locked every reader out before (the server ran at most 16 handshakes at once).
    {
        let _flood = Flood::start(&socket, 32);
        let waited = attach_repeatedly(&socket, p.epoch(), 30);
        eprintln!("flood of 32: 30 of 30 attached, {waited} had to wait for busy");
    }
    // Far beyond both caps (32 per uid, 128 in all): the flood keeps evicting itself.
    {
        let _flood = Flood::start(&socket, 200);
        let waited = attach_repeatedly(&socket, p.epoch(), 30);
        eprintln!("flood of 200: 30 of 30 attached, {waited} had to wait for busy");
    }
    let stats = p.server_stats();
    assert!(stats.served >= 60, "{stats:?}");
    assert!(
        stats.evicted > 0,
        "the second flood went over the caps: {stats:?}"
    );
}

#[test]
fn an_evicted_connection_is_told_busy_and_a_busy_producer_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("busy.sock");
    let mut cfg = ProducerConfig::new("vitals");
    cfg.socket_path = Some(socket.clone());
    cfg.geometry = geometry();
    cfg.max_pending_per_uid = 2;
    cfg.handshake_timeout = Duration::from_secs(30);
    cfg.log = Some(Arc::new(|_| {}));
    let p = SharedMemoryProducer::create(cfg).expect("producer");

    // Two silent connections fill this uid's share; a third evicts the oldest, which is
    // answered `Busy` at once (not after the 30 s deadline).
    let mut oldest = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    // (The server accepts in connection order, so the third is admitted after the first two.)
    let _second = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let _third = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    oldest
        .set_read_timeout(Some(linux_common::PATIENCE))
        .unwrap();
    let mut reply = Vec::new();
    oldest.read_to_end(&mut reply).unwrap();
    let status = vitalring_linux::wire::ControlMessage::parse(&reply)
        .expect("a whole reply")
        .status();
    assert_eq!(status, Status::Busy);
    assert_eq!(
        HandshakeError::Refused(status).to_string(),
        "producer refused the handshake: server busy"
    );
    linux_common::wait_until("eviction counted", || p.server_stats().evicted >= 1);

    // A good client is still served at once (its Hello arrives with its connection).
    let a = connect(&socket, "vitals", None).expect("served despite the silent ones");
    assert_eq!(a.epoch(), p.epoch());
}
