//! Errors, exit statuses and output: one line on stderr per event, JSON lines on stdout with
//! `--json`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::args::{Local, Output};

/// Exit status: runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: bad command line or configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: could not attach to the local producer.
pub const EXIT_CONNECT: u8 = 3;

/// A failure that ends the program: one line on stderr and an exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// One line, lower case.
    pub message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Self { code, message }
    }

    /// Exit 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(EXIT_FAILURE, message)
    }

    /// Exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }

    /// Exit 3.
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(EXIT_CONNECT, message)
    }
}

/// Wall clock, ns since the Unix epoch.
pub fn wall_ns() -> u64 {
    vitalring_linux::clock::wall_ns()
}

/// The local ring's socket: `--socket`, or the default path of `--channel`.
///
/// # Errors
/// The default directory cannot be named (exit 1).
pub fn socket_path(local: &Local) -> Result<PathBuf, Failure> {
    match &local.socket {
        Some(p) => Ok(p.clone()),
        None => vitalring_linux::paths::default_socket_path(&local.channel)
            .map_err(|e| Failure::runtime(format!("cannot name the default socket: {e}"))),
    }
}

/// Where a sub-command's lines go.
#[derive(Debug)]
pub struct Reporter {
    name: &'static str,
    json: bool,
    log_every: Duration,
    last_json: Option<Instant>,
    last_log: Instant,
}

impl Reporter {
    /// For sub-command `name`.
    pub fn new(name: &'static str, output: &Output) -> Self {
        Self {
            name,
            json: output.json,
            log_every: output.log_every,
            last_json: None,
            last_log: Instant::now(),
        }
    }

    /// One line on stderr: `vitalring-bridge <name>: <text>`.
    pub fn line(&mut self, text: &str) {
        // Not `eprintln!`: it panics when stderr is gone.
        let _ = writeln!(std::io::stderr(), "vitalring-bridge {}: {text}", self.name);
    }

    /// Called after every status: whether a JSON line is due (`--json`, and a second passed
    /// or `changed`) and whether a count line is due on stderr (every `--log-every`).
    pub fn due(&mut self, changed: bool) -> (bool, bool) {
        let now = Instant::now();
        let json = self.json
            && (changed
                || self
                    .last_json
                    .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)));
        if json {
            self.last_json = Some(now);
        }
        let log = !self.log_every.is_zero() && now.duration_since(self.last_log) >= self.log_every;
        if log {
            self.last_log = now;
        }
        (json, log)
    }

    /// The last JSON line (with `--json`).
    pub fn last(&mut self, value: &serde_json::Value) {
        if self.json {
            self.print_json(value);
        }
    }

    /// Prints one JSON line on stdout.
    pub fn print_json(&self, value: &serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}
