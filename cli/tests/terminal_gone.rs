//! The full-screen views (`vitalring station`, `vitalring monitor`) when their terminal goes
//! away under them: a pseudo-terminal whose master side is closed (what a killed tmux session,
//! a dropped ssh connection or a closed terminal window does), and a real tmux server killed.
//! Each view must leave promptly with one line on stderr and exit status 1 — never stay
//! behind spinning on the dead terminal (crossterm's key reader does, left to itself), never
//! abort on a panic from printing to the dead stderr.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{exited, Proc, TempDir, BIN, LIMIT};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};
use nix::sys::signal::{signal, SigHandler, Signal};

/// How the view is started on its terminal.
#[derive(Clone, Copy, Default)]
struct Setup {
    /// Start with SIGHUP ignored (`nohup`): only the dead terminal itself can tell.
    ignore_sighup: bool,
    /// stdin is /dev/null: the keys come from `/dev/tty` (the controlling terminal).
    stdin_null: bool,
    /// stderr on the terminal too (as in real life), not in a file.
    stderr_on_tty: bool,
}

/// CPU ticks (user + system) `pid` has used, if it is alive.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Starts `vitalring <args>` as the leader of a new session whose controlling terminal is a
/// fresh pseudo-terminal (120 x 40); returns the child and the master side.
fn start_on_pty(args: &[&str], setup: Setup, stderr_file: &Path) -> (Child, OwnedFd) {
    let size = Winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).expect("openpty");
    // The child must not hold the master: closing ours is what hangs the terminal up.
    fcntl(pty.master.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
    let slave = File::from(pty.slave);
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(if setup.stdin_null {
            Stdio::null()
        } else {
            Stdio::from(slave.try_clone().unwrap())
        })
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(if setup.stderr_on_tty {
            Stdio::from(slave.try_clone().unwrap())
        } else {
            Stdio::from(File::create(stderr_file).unwrap())
        });
    let ignore_sighup = setup.ignore_sighup;
    // SAFETY: the closure runs in the forked child before exec and calls only async-signal-safe
    // functions (setsid, ioctl, sigaction); it allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            // stdout is the slave: make it the controlling terminal of the new session.
            if nix::libc::ioctl(1, nix::libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if ignore_sighup {
                signal(Signal::SIGHUP, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn vitalring");
    drop(slave);
    (child, pty.master)
}

/// Reads the master until the view has drawn at least `bytes` (hang guard: [`LIMIT`]).
fn wait_drawn(master: &OwnedFd, bytes: usize, child: &mut Child) {
    let flags = fcntl(master.as_fd(), FcntlArg::F_GETFL).unwrap();
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(master.as_fd(), FcntlArg::F_SETFL(flags)).unwrap();
    let mut file = File::from(master.try_clone().unwrap());
    let mut seen = 0;
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while seen < bytes {
        if start.elapsed() > LIMIT {
            panic!("hang guard: the view drew only {seen} bytes");
        }
        if let Some(s) = child.try_wait().unwrap() {
            panic!("the view exited before drawing: {s}");
        }
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        match file.read(&mut buf) {
            Ok(n) => seen += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("reading the terminal: {e}"),
        }
    }
}

/// Waits for the child to exit; a child still running after [`LIMIT`] is a hang (and the
/// CPU it burned is said).
fn wait_exit(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    let ticks0 = cpu_ticks(child.id());
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > LIMIT {
            let ticks = cpu_ticks(child.id());
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hang guard: {what} still running {LIMIT:?} after its terminal went away \
                 (CPU ticks {ticks0:?} -> {ticks:?})"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `args` on a pseudo-terminal, closes the terminal once the view has drawn, and checks
/// the view's way out.
fn view_leaves_when_its_terminal_goes(args: &[&str], setup: Setup) {
    let dir = TempDir::new("tty-gone");
    let err_path = dir.path().join("stderr");
    let (mut child, master) = start_on_pty(args, setup, &err_path);
    let pid = child.id();
    wait_drawn(&master, 1000, &mut child);
    // The terminal goes away.
    drop(master);
    let status = wait_exit(&mut child, &format!("vitalring {}", args.join(" ")));
    assert!(exited(pid));
    assert_eq!(
        status.code(),
        Some(1),
        "vitalring {} after its terminal went away: {status} (a signal is a crash)",
        args.join(" ")
    );
    if !setup.stderr_on_tty {
        let err = std::fs::read_to_string(&err_path).unwrap();
        let sub = args[0];
        assert_eq!(
            err,
            format!("vitalring {sub}: error: the terminal is gone (it hung up); stopped\n"),
            "stderr of vitalring {}",
            args.join(" ")
        );
    }
}

fn empty_dir() -> TempDir {
    TempDir::new("tty-gone-beds")
}

#[test]
fn station_leaves_when_its_terminal_hangs_up() {
    let beds = empty_dir();
    let dir = beds.path().to_str().unwrap();
    view_leaves_when_its_terminal_goes(&["station", "--dir", dir], Setup::default());
}

#[test]
fn station_started_with_sighup_ignored_leaves_when_its_terminal_hangs_up() {
    let beds = empty_dir();
    let dir = beds.path().to_str().unwrap();
    view_leaves_when_its_terminal_goes(
        &["station", "--dir", dir],
        Setup {
            ignore_sighup: true,
            ..Setup::default()
        },
    );
}

#[test]
fn station_reading_keys_from_dev_tty_leaves_when_its_terminal_hangs_up() {
    let beds = empty_dir();
    let dir = beds.path().to_str().unwrap();
    view_leaves_when_its_terminal_goes(
        &["station", "--dir", dir],
        Setup {
            stdin_null: true,
            ignore_sighup: true,
            ..Setup::default()
        },
    );
}

#[test]
fn station_with_stderr_on_the_dead_terminal_exits_without_a_crash() {
    let beds = empty_dir();
    let dir = beds.path().to_str().unwrap();
    view_leaves_when_its_terminal_goes(
        &["station", "--dir", dir],
        Setup {
            stderr_on_tty: true,
            ..Setup::default()
        },
    );
}

/// `vitalring sim --socket` in `dir`; returns once its socket exists.
fn sim(dir: &Path) -> (Proc, String) {
    let sock = dir.join("sim.sock");
    let child = Command::new(BIN)
        .args(["sim", "--log-every", "0", "--socket"])
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vitalring sim");
    let start = Instant::now();
    while !sock.exists() {
        if start.elapsed() > LIMIT {
            panic!("hang guard: the simulator's socket never appeared");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (Proc(child), sock.to_str().unwrap().to_owned())
}

#[test]
fn monitor_leaves_when_its_terminal_hangs_up() {
    let dir = TempDir::new("tty-gone-sim");
    let (_sim, sock) = sim(dir.path());
    for setup in [
        Setup::default(),
        Setup {
            ignore_sighup: true,
            ..Setup::default()
        },
        Setup {
            stderr_on_tty: true,
            ..Setup::default()
        },
    ] {
        view_leaves_when_its_terminal_goes(&["monitor", "--socket", &sock], setup);
    }
}

/// A station in a real tmux session whose server is killed: the process must be gone (it is
/// no longer our child, so its exit status is not ours to see; its stderr went to a file).
#[test]
fn station_in_tmux_is_gone_after_the_tmux_server_is_killed() {
    let dir = TempDir::new("tty-gone-tmux");
    let beds = dir.path().join("beds");
    std::fs::create_dir(&beds).unwrap();
    let err_path = dir.path().join("stderr");
    let server = format!("vr-tty-gone-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &server])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("tmux is required for this test: apt-get install -y tmux")
    };
    let script = format!(
        "exec {BIN} station --dir '{}' 2>'{}'",
        beds.display(),
        err_path.display()
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "st",
        "-x",
        "120",
        "-y",
        "40",
        &script,
    ]);
    assert!(started.status.success(), "tmux: {started:?}");
    let pid: u32 =
        String::from_utf8_lossy(&tmux(&["display", "-p", "-t", "st", "#{pane_pid}"]).stdout)
            .trim()
            .parse()
            .expect("pane pid");
    // Wait for the grid to be drawn.
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", "st"]);
        if String::from_utf8_lossy(&screen.stdout).contains("vitalring station") {
            break;
        }
        if start.elapsed() > LIMIT {
            let _ = tmux(&["kill-server"]);
            panic!("hang guard: the station never drew its grid");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = tmux(&["kill-server"]);
    let start = Instant::now();
    while !exited(pid) {
        if start.elapsed() > LIMIT {
            let ticks = cpu_ticks(pid);
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
            panic!("hang guard: the station outlived its tmux server by {LIMIT:?} (CPU ticks {ticks:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(
        err,
        "vitalring station: error: the terminal is gone (it hung up); stopped\n"
    );
}
