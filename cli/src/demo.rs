//! `vitalring demo`: a simulator child process and a monitor in this process, on a private
//! socket in a fresh temporary directory; everything is removed at the end.

use std::fs::{DirBuilder, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::args::{DemoArgs, Endpoint};
use crate::clock::duration_ns;
use crate::error::{CliError, CliResult};
use crate::link;
use crate::monitor::{self, Mode};
use crate::signals::Stop;

/// How long the simulator child gets to create its socket.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it gets to exit after SIGTERM before SIGKILL.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// The child and the directory; dropping it stops the child and removes the directory.
struct Demo {
    dir: PathBuf,
    child: Option<Child>,
}

impl Demo {
    fn socket(&self) -> PathBuf {
        self.dir.join("demo.sock")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
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
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `vitalring demo`.
///
/// # Errors
/// The simulator child could not be started or did not come up.
pub fn run(args: &DemoArgs, stop: &Stop) -> CliResult {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::failure(format!("cannot find my own executable: {e}")))?;
    let nonce = crate::clock::wall_ns() % 1_000_000_000;
    let dir = std::env::temp_dir().join(format!("vitalring-demo-{}-{nonce}", std::process::id()));
    DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
    let mut demo = Demo { dir, child: None };
    let socket = demo.socket();
    let mode = Mode::choose(&args.output);
    // The TUI owns the screen: the child's log goes to a file then.
    let log = demo.dir.join("sim.log");
    let stderr = if mode == Mode::Tui {
        Stdio::from(
            File::create(&log)
                .map_err(|e| CliError::failure(format!("cannot create {}: {e}", log.display())))?,
        )
    } else {
        Stdio::inherit()
    };
    let child = Command::new(&exe)
        .arg("sim")
        .arg("--socket")
        .arg(&socket)
        .args(["--scenario", args.scenario.name()])
        .args(["--seed", &args.seed.to_string()])
        .args([
            "--encoding",
            match args.encoding {
                crate::args::EncodingArg::Json => "json",
                crate::args::EncodingArg::Binary => "binary",
            },
        ])
        .args(["--log-every", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| CliError::failure(format!("cannot start {} sim: {e}", exe.display())))?;
    demo.child = Some(child);

    let t0 = Instant::now();
    while !socket.exists() {
        if stop.requested() {
            return Ok(());
        }
        if let Some(child) = demo.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let why = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(CliError::failure(format!(
                    "simulator exited during start-up ({status}){}",
                    why.lines()
                        .last()
                        .map_or(String::new(), |l| format!(": {l}"))
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
    let mut source = link::open_source(&endpoint, &crate::args::PollingArgs::default())?;
    let remaining = duration_ns(args.duration)
        .map(|d| d.saturating_sub(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX)));
    let result = monitor::watch(source.as_mut(), &socket, &args.output, remaining, stop);
    drop(source);
    drop(demo);
    result
}
