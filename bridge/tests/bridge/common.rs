//! Real processes on loopback: `vitalring sim`/`monitor`/`dump` from the main workspace's build,
//! `vitalring-bridge export`/`import` from this one, explicit endpoints, scouting off.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// The `vitalring` binary: `$VITALRING_BIN`, else `<repo>/target/debug/vitalring`.
pub fn vitalring() -> PathBuf {
    if let Some(p) = std::env::var_os("VITALRING_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/vitalring");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build -p vitalring-cli` at the repository root (or set VITALRING_BIN)",
        p.display()
    );
    p
}

/// This crate's binary.
pub fn bridge() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vitalring-bridge"))
}

/// A loopback TCP port nobody listens on now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A child process killed (SIGKILL) and reaped on drop, with its stdout lines and stderr
/// lines on channels.
pub struct Proc {
    pub name: String,
    pub child: Option<Child>,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
}

impl Proc {
    pub fn spawn(name: &str, program: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (otx, orx) = channel();
        let (etx, erx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if otx.send(line).is_err() {
                    break;
                }
            }
        });
        let tag = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if std::env::var_os("BRIDGE_TEST_VERBOSE").is_some() {
                    eprintln!("[{tag}] {line}");
                }
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name: name.to_owned(),
            child: Some(child),
            stdout: orx,
            stderr: erx,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Sends `sig` and waits for the exit (hang guard: 120 s); returns the exit code.
    pub fn signal_and_wait(&mut self, sig: nix::sys::signal::Signal) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if start.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                panic!("hang guard: {} did not exit after {sig}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit (hang guard: `limit`).
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                panic!("hang guard: {} still running after {limit:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All stdout lines so far.
    pub fn drain_stdout(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    /// All stderr lines so far.
    pub fn drain_stderr(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Waits for a stdout JSON line that `pred` accepts (hang guard: `limit`); lines seen on
    /// the way are appended to `seen`.
    pub fn wait_json(
        &self,
        limit: Duration,
        seen: &mut Vec<serde_json::Value>,
        mut pred: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(50)) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
            }
            if start.elapsed() > limit {
                panic!(
                    "hang guard: {} printed no matching line within {limit:?}",
                    self.name
                );
            }
        }
    }

    /// Waits for a stderr line containing `needle` (hang guard: `limit`).
    pub fn wait_stderr(&self, limit: Duration, needle: &str) -> String {
        let start = Instant::now();
        loop {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(50)) {
                if line.contains(needle) {
                    return line;
                }
            }
            if start.elapsed() > limit {
                panic!(
                    "hang guard: {} said no {needle:?} within {limit:?}",
                    self.name
                );
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A private directory for sockets.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vrbridge")
        .tempdir()
        .expect("tempdir")
}

/// Waits until `path` exists (hang guard: 120 s).
pub fn wait_for_path(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > Duration::from_secs(120) {
            panic!("hang guard: {} never appeared", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The host chunk used by the tests (explicit, so the machine's name does not matter).
pub const HOST: &str = "testhost";

/// `vitalring sim` on `socket`.
pub fn sim(socket: &Path, extra: &[&str]) -> Proc {
    let s = socket.to_str().expect("utf-8 path");
    let mut args = vec!["sim", "--socket", s, "--channel", "src", "--log-every", "0"];
    args.extend_from_slice(extra);
    let p = Proc::spawn("sim", &vitalring(), &args);
    wait_for_path(socket);
    p
}

/// `vitalring-bridge export` of `socket` listening on `port`.
pub fn export(socket: &Path, port: u16, extra: &[&str]) -> Proc {
    let listen = format!("tcp/127.0.0.1:{port}");
    let mut args = vec![
        "export",
        "--socket",
        socket.to_str().expect("utf-8 path"),
        "--channel",
        "src",
        "--host-name",
        HOST,
        "--listen",
        &listen,
        "--json",
        "--log-every",
        "0",
    ];
    args.extend_from_slice(extra);
    Proc::spawn("export", &bridge(), &args)
}

/// `vitalring-bridge import` into `socket`, connecting to `port`.
pub fn import(socket: &Path, port: u16, extra: &[&str]) -> Proc {
    let connect = format!("tcp/127.0.0.1:{port}");
    let mut args = vec![
        "import",
        "--socket",
        socket.to_str().expect("utf-8 path"),
        "--channel",
        "dst",
        "--remote-host",
        HOST,
        "--remote-channel",
        "src",
        "--connect",
        &connect,
        "--json",
        "--log-every",
        "0",
    ];
    args.extend_from_slice(extra);
    let p = Proc::spawn("import", &bridge(), &args);
    wait_for_path(socket);
    p
}

/// `vitalring monitor --json` of `socket` (channel `channel`).
pub fn monitor(socket: &Path, channel: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "monitor",
        "--json",
        "--socket",
        socket.to_str().expect("utf-8 path"),
        "--channel",
        channel,
    ];
    args.extend_from_slice(extra);
    Proc::spawn("monitor", &vitalring(), &args)
}

/// Collects stdout JSON lines of `p` until `pred` holds for the collection (hang guard).
pub fn collect_until(
    p: &Proc,
    limit: Duration,
    seen: &mut Vec<serde_json::Value>,
    mut pred: impl FnMut(&[serde_json::Value]) -> bool,
) {
    let start = Instant::now();
    while !pred(seen) {
        if let Ok(line) = p.stdout.recv_timeout(Duration::from_millis(50)) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                seen.push(v);
            }
        }
        if start.elapsed() > limit {
            panic!(
                "hang guard: {} did not produce what was expected within {limit:?} ({} lines; last: {:?})",
                p.name,
                seen.len(),
                seen.last()
            );
        }
    }
}

/// Events of one kind.
pub fn events<'a>(
    lines: &'a [serde_json::Value],
    kind: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    lines.iter().filter(move |v| v["event"] == kind)
}

/// Waits until the importer reports the link `live` and frames delivered.
pub fn wait_live(import: &Proc, seen: &mut Vec<serde_json::Value>) {
    import.wait_json(Duration::from_secs(180), seen, |v| {
        v["state"] == "live" && v["counts"]["delivered"].as_u64().unwrap_or(0) > 0
    });
}

/// A pause longer than this (every process of the test frozen, e.g. SIGSTOPped on a shared
/// developer machine) can cost frames legitimately: Zenoh's send wait is bounded at 5 s and its
/// lease at 10 s, and the simulator catches up with the wall clock at once.
pub const FREEZE: Duration = Duration::from_secs(3);

/// Notices when this process was frozen: a thread that wakes every 50 ms and keeps the longest
/// time between two wake-ups.
pub struct FreezeWatch {
    longest_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FreezeWatch {
    pub fn start() -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let longest_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (l, s) = (longest_ms.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut last = Instant::now();
            while !s.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let now = Instant::now();
                let gap = u64::try_from((now - last).as_millis()).unwrap_or(u64::MAX);
                l.fetch_max(gap, Relaxed);
                last = now;
            }
        });
        Self { longest_ms, stop }
    }

    /// The longest gap between two wake-ups so far.
    pub fn longest_freeze(&self) -> Duration {
        Duration::from_millis(self.longest_ms.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Drop for FreezeWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
