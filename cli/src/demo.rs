//! `vitalring demo`: a simulator child process and a monitor in this process, on a private
//! socket in a fresh directory — and nothing left behind, however the demo ends.
//!
//! How nothing is left behind:
//!
//! 1. Between `fork` and `exec` the child blocks SIGINT/SIGTERM/SIGHUP, asks the kernel for
//!    SIGTERM when its parent dies (`PR_SET_PDEATHSIG`), and only then checks that the demo is
//!    still its parent (the demo may have died before the request took effect: the child then
//!    gives up before `exec`). Only after that does the child create the private directory
//!    (mode 0700): there is no moment at which the directory exists and nobody is tied to it.
//! 2. The child runs `vitalring sim --socket <dir>/demo.sock --remove-dir-on-exit <dir>`: the
//!    simulator removes its socket and the directory whenever it ends (SIGTERM from the demo,
//!    SIGTERM from the kernel because the demo died — even by SIGKILL —, SIGHUP, an error). Its
//!    handlers are installed before it unblocks the three signals, so a signal that arrived
//!    early waits for them instead of killing it before it can clean up.
//! 3. The demo itself stops the child (SIGTERM, SIGKILL after 3 s), reaps it and removes the
//!    socket and the directory again on every way out that runs destructors.
//! 4. In TUI mode the child's stderr goes to an anonymous memory file (`memfd`), not a file in
//!    the directory: the demo reads it to explain a failed start, and it vanishes with the last
//!    descriptor.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that started the child ends: the demo starts it
//! from its main thread, which lives as long as the process.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::signal::{kill, pthread_sigmask, SigSet, SigmaskHow, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{getpid, getppid, Pid};

use crate::args::{DemoArgs, Endpoint};
use crate::clock::duration_ns;
use crate::error::{CliError, CliResult};
use crate::link;
use crate::monitor::{self, Mode as MonitorMode};
use crate::signals::{Stop, STOP_SIGNALS};

/// How long the simulator child gets to create its socket.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it gets to exit after SIGTERM before SIGKILL.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// The socket's name in the private directory.
pub const SOCKET_NAME: &str = "demo.sock";
/// Most bytes of the child's log read to explain a failed start.
const LOG_TAIL: usize = 64 * 1024;

/// Removes a socket and then its (private) directory when dropped. Only these two: the
/// directory is removed with `rmdir`, so anything else in it stays, and so does the directory.
#[derive(Debug)]
pub struct RemoveOnDrop {
    dir: PathBuf,
    socket: PathBuf,
}

impl RemoveOnDrop {
    /// Removes `socket` and then `dir` on drop.
    pub fn new(dir: PathBuf, socket: PathBuf) -> Self {
        Self { dir, socket }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The child and the directory; dropping it stops the child and removes the directory.
struct Demo {
    child: Option<Child>,
    /// Dropped after the child is reaped (fields drop in declaration order, after `drop`).
    _dir: RemoveOnDrop,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let t0 = Instant::now();
            while let Ok(None) = child.try_wait() {
                if t0.elapsed() > SHUTDOWN_TIMEOUT {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = child.wait();
    }
}

/// The last line of the child's log, for an error message.
fn last_line(log: Option<&File>) -> String {
    let Some(log) = log else {
        return String::new();
    };
    let mut buf = vec![0u8; LOG_TAIL];
    let n = log.read_at(&mut buf, 0).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or(String::new(), |l| format!(": {}", l.trim()))
}

/// Starts `vitalring sim` for the private directory `dir`, which the child itself creates
/// (module docs, steps 1 and 2).
fn spawn_sim(
    args: &DemoArgs,
    dir: &std::path::Path,
    socket: &std::path::Path,
    stderr: Stdio,
) -> CliResult<Child> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::failure(format!("cannot find my own executable: {e}")))?;
    let dir_c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
        CliError::failure(format!(
            "temporary directory {} has a NUL byte",
            dir.display()
        ))
    })?;
    let parent = getpid();
    let blocked: SigSet = STOP_SIGNALS.into_iter().collect();
    let mut cmd = Command::new(&exe);
    cmd.arg("sim")
        .arg("--socket")
        .arg(socket)
        .arg("--remove-dir-on-exit")
        .arg(dir)
        .args(["--scenario", args.scenario.name()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--encoding", args.encoding.name()])
        .args(["--log-every", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let in_child = move || -> std::io::Result<()> {
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
        nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
        if getppid() != parent {
            // The demo died before the request above took effect: nobody would stop us.
            return Err(std::io::Error::from_raw_os_error(nix::libc::ESRCH));
        }
        nix::unistd::mkdir(dir_c.as_c_str(), Mode::S_IRWXU)?;
        Ok(())
    };
    // SAFETY: `in_child` runs in the forked child before `exec`, where only async-signal-safe
    // operations are allowed: it makes four system calls (rt_sigprocmask, prctl, getppid,
    // mkdir) through nix wrappers that do not allocate or lock (the path is a `CStr` built
    // before the fork; errors become `io::Error::from_raw_os_error`, which does not allocate)
    // and touches only values moved into the closure.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(in_child);
    }
    cmd.spawn()
        .map_err(|e| CliError::failure(format!("cannot start {} sim: {e}", exe.display())))
}

/// `vitalring demo`.
///
/// # Errors
/// The simulator child could not be started or did not come up.
pub fn run(args: &DemoArgs, stop: &Stop) -> CliResult {
    let nonce = crate::clock::wall_ns() % 1_000_000_000;
    let dir = std::env::temp_dir().join(format!("vitalring-demo-{}-{nonce}", std::process::id()));
    let socket = dir.join(SOCKET_NAME);
    let mode = MonitorMode::choose(&args.output);
    // The TUI owns the screen: the child's log goes to an anonymous memory file then.
    let log = if mode == MonitorMode::Tui {
        let fd = memfd_create(c"vitalring-demo-sim-log", MFdFlags::MFD_CLOEXEC).map_err(|e| {
            CliError::failure(format!(
                "cannot create the log: {}",
                e.desc().to_lowercase()
            ))
        })?;
        Some(File::from(fd))
    } else {
        None
    };
    let stderr = match &log {
        Some(f) => {
            Stdio::from(OwnedFd::from(f.try_clone().map_err(|e| {
                CliError::failure(format!("cannot share the log: {e}"))
            })?))
        }
        None => Stdio::inherit(),
    };
    let t0 = Instant::now();
    let child = spawn_sim(args, &dir, &socket, stderr);
    // From here on the directory may exist (the child made it): the guard removes it.
    let mut demo = Demo {
        child: None,
        _dir: RemoveOnDrop::new(dir, socket.clone()),
    };
    demo.child = Some(child?);

    while !socket.exists() {
        if stop.requested() {
            return Ok(());
        }
        if let Some(child) = demo.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(CliError::failure(format!(
                    "simulator exited during start-up ({status}){}",
                    last_line(log.as_ref())
                )));
            }
        }
        if t0.elapsed() > STARTUP_TIMEOUT {
            return Err(CliError::failure(format!(
                "simulator did not create {} within {} s",
                socket.display(),
                STARTUP_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    let endpoint = Endpoint {
        socket: Some(socket.clone()),
        channel: "default".into(),
        token_file: None,
    };
    let mut source = link::open_source(
        &endpoint,
        &crate::args::TrustArgs::default(),
        &crate::args::PollingArgs::default(),
    )?;
    let remaining = duration_ns(args.duration)
        .map(|d| d.saturating_sub(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX)));
    let result = monitor::watch(source.as_mut(), &socket, &args.output, remaining, stop);
    drop(source);
    drop(demo);
    result
}
