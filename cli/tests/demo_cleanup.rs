//! `vitalring demo` leaves nothing behind, however it ends: its simulator child is gone and
//! its private directory removed after `--duration`, SIGINT, SIGTERM, SIGHUP (the terminal
//! closed) and SIGKILL of the demo. Real processes; every wait is bounded only as a hang guard.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use common::{exited, ppid, run_cmd, wait_for, Proc, TempDir, BIN, LIMIT};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A running demo (plain mode: stdout is a pipe) and what its simulator child announced.
struct Running {
    demo: Proc,
    sim_pid: u32,
    socket: PathBuf,
}

/// Starts `vitalring demo --plain` with `TMPDIR=tmp` and waits for the child's "serving" line
/// (by then both processes have their signal handlers and the socket exists).
fn start_demo(tmp: &TempDir) -> Running {
    let mut child = Command::new(BIN)
        .args(["demo", "--plain"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || std::io::copy(&mut BufReader::new(stdout), &mut std::io::sink()));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let demo = Proc(child);
    let line = loop {
        let line = rx
            .recv_timeout(LIMIT)
            .expect("the simulator child never said it was serving");
        if line.starts_with("vitalring sim: serving ") {
            break line;
        }
    };
    // "vitalring sim: serving <socket> | ... | pid <pid>"
    let socket = line["vitalring sim: serving ".len()..]
        .split(" | ")
        .next()
        .unwrap()
        .into();
    let sim_pid = line
        .rsplit("| pid ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(ppid(sim_pid), Some(demo.0.id()), "{line}");
    Running {
        demo,
        sim_pid,
        socket,
    }
}

/// After the demo ended: its child ends too (bounded wait), and then nothing is left in TMPDIR.
fn assert_nothing_left(tmp: &TempDir, r: &Running, how: &str) {
    wait_for(&format!("the simulator child to end after {how}"), || {
        exited(r.sim_pid)
    });
    assert!(!r.socket.exists(), "{how}: socket left behind");
    let left = tmp.entries();
    assert!(left.is_empty(), "{how}: left behind {left:?}");
}

fn signal(r: &Running, sig: Signal) {
    kill(Pid::from_raw(i32::try_from(r.demo.0.id()).unwrap()), sig).unwrap();
}

/// SIGKILL cannot be handled: the kernel's parent-death signal stops the child, and the child
/// removes the socket and the directory itself.
#[test]
fn sigkill_of_the_demo_takes_its_child_and_directory_with_it() {
    let tmp = TempDir::new("demo-kill");
    let mut r = start_demo(&tmp);
    assert_eq!(tmp.entries().len(), 1, "one private directory");
    signal(&r, Signal::SIGKILL);
    r.demo.0.wait().unwrap();
    assert_nothing_left(&tmp, &r, "SIGKILL");
}

/// SIGHUP (the terminal closed), SIGTERM and SIGINT: a clean stop, exit status 0.
#[test]
fn sighup_sigterm_and_sigint_stop_the_demo_cleanly() {
    for sig in [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGINT] {
        let tmp = TempDir::new("demo-sig");
        let mut r = start_demo(&tmp);
        signal(&r, sig);
        let status = r.demo.0.wait().unwrap();
        assert!(status.success(), "{sig}: {status}");
        assert_nothing_left(&tmp, &r, sig.as_str());
    }
}

/// The end of `--duration`: the monitor ran, and nothing is left.
#[test]
fn demo_duration_ends_with_nothing_left() {
    let tmp = TempDir::new("demo-dur");
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--duration", "2"])
        .env("TMPDIR", tmp.path());
    let out = run_cmd(cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("connected") && text.contains("HR "), "{text}");
    let sim_pid: u32 = err
        .lines()
        .find_map(|l| l.strip_prefix("vitalring sim: serving "))
        .and_then(|l| l.rsplit("| pid ").next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no serving line: {err}"));
    // The demo reaps its child before it exits.
    assert!(
        exited(sim_pid),
        "simulator child {sim_pid} outlived the demo"
    );
    let left = tmp.entries();
    assert!(left.is_empty(), "left behind {left:?}");
}
