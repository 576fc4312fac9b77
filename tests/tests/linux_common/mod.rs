//! Helpers shared by the `linux_*` integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use vitalring_core::source::SensorEvent;

/// Generous bound for anything a test waits for; a healthy run takes a fraction of it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `test-producer` child (killed on drop).
pub struct ProducerProc {
    pub child: Child,
    pub epoch: u64,
    pub socket: PathBuf,
    lines: BufReader<ChildStdout>,
}

impl ProducerProc {
    /// Spawns `test-producer` with `args` and waits for its `READY` line.
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_env(args, &[])
    }

    /// [`ProducerProc::spawn`] with extra environment variables.
    pub fn spawn_env(args: &[&str], env: &[(&str, &Path)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_test-producer"));
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn test-producer");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        lines.read_line(&mut line).expect("read READY");
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("READY"), "producer said {line:?}");
        let epoch = parts.next().and_then(|e| e.parse().ok()).expect("epoch");
        let socket = PathBuf::from(parts.next().expect("socket path"));
        Self {
            child,
            epoch,
            socket,
            lines,
        }
    }

    /// Waits for the `DONE` line.
    pub fn wait_done(&mut self) {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("read DONE");
        assert!(line.starts_with("DONE"), "producer said {line:?}");
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProducerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Receives events until `pred` returns `Some`, or panics after [`PATIENCE`]. Every event seen
/// is passed to `pred`.
pub fn wait_for<T>(
    rx: &Receiver<SensorEvent>,
    mut pred: impl FnMut(&SensorEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for an event");
        if let Ok(ev) = rx.recv_timeout(left) {
            if let Some(t) = pred(&ev) {
                return t;
            }
        }
    }
}

/// Polls `cond` (with short sleeps) until true, or panics after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A data source's figures flattened the way the tests read them (the old `SourceStats`):
/// totals over every ring the session attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Connection state.
    pub state: vitalring_core::source::ConnectionState,
    /// Current producer epoch.
    pub epoch: Option<u64>,
    /// Frames delivered (heartbeat frames included), over all rings.
    pub delivered: u64,
    /// Indices dropped, over all rings.
    pub dropped: u64,
    /// Frames rejected, over all rings.
    pub rejected: u64,
    /// Indices moved past (`position - start_index`) over the current and previous ring.
    pub moved_past: u64,
    /// Events lost because the consumer fell behind.
    pub events_lost: u64,
    /// Stalls detected.
    pub stalls: u64,
    /// Re-attachments.
    pub reconnects: u64,
}

/// The figures of `source`, `None` before its session first attached.
pub fn figures(source: &vitalring_linux::SharedMemorySensorDataSource) -> Option<Figures> {
    use vitalring_core::source::SensorDataSource;
    let s = source.stats()?;
    let moved = |e: &vitalring_core::session::EpochStats| e.position - e.start_index;
    Some(Figures {
        state: s.state,
        epoch: Some(s.current.epoch),
        delivered: s.total.delivered,
        dropped: s.total.dropped(),
        rejected: s.total.rejected.total(),
        moved_past: moved(&s.current) + s.previous.as_ref().map_or(0, moved),
        events_lost: source.events_lost(),
        stalls: s.stalls,
        reconnects: s.reattaches,
    })
}

/// [`figures`], panicking if the source has never attached.
pub fn stats(source: &vitalring_linux::SharedMemorySensorDataSource) -> Figures {
    figures(source).expect("the source has attached")
}
