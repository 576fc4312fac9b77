//! The command line of `vitalring station` (and of `vitalring monitor --all`, which is turned
//! into the same [`StationArgs`]).

use std::path::PathBuf;

use clap::builder::{PathBufValueParser, TypedValueParser};
use clap::Args;

use crate::args::{parse, MonitorArgs, MonitorOutput, PollingArgs};

/// `vitalring station`.
#[derive(Debug, Clone, Args)]
pub struct StationArgs {
    /// Directory to scan for channel sockets (`<channel>.sock`), once a second [default:
    /// $XDG_RUNTIME_DIR/vitalring, else /tmp/vitalring-<uid>].
    #[arg(long, value_name = "DIR", value_parser = PathBufValueParser::new().try_map(scan_dir))]
    pub dir: Option<PathBuf>,
    /// File holding the shared token presented to every producer: a regular file of yours,
    /// mode 0600, 1..=64 bytes.
    #[arg(long, value_name = "PATH", value_parser = PathBufValueParser::new().try_map(parse::token_file))]
    pub token_file: Option<PathBuf>,
    /// Also trust producers running as this uid (repeatable). By default only producers of
    /// your own uid are shown; a bed whose producer is not trusted is reported as unreachable.
    #[arg(long = "allow-server-uid", value_name = "UID")]
    pub allow_server_uid: Vec<u32>,
    /// Spin on every ring without sleeping (one busy core per bed; rarely what a ward view
    /// wants).
    #[arg(long, conflicts_with = "max_sleep_us")]
    pub busy_poll: bool,
    /// Longest backoff sleep of each bed's reader while idle, in µs (1..=1000000). The default
    /// is higher than the single-bed monitor's 50: every bed has its own reader, and at 1000 µs
    /// each costs about a third of the CPU for at most ~1 ms of added latency.
    #[arg(long, value_name = "US", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_sleep_us: u32,
    #[command(flatten)]
    pub output: MonitorOutput,
    /// Stop after this many seconds (> 0; exit 0) [default: run until q / Ctrl-C / SIGTERM /
    /// SIGHUP].
    #[arg(long, value_name = "SECS", value_parser = parse::seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Seconds a bed whose socket disappeared stays on screen, marked GONE with its values
    /// stale, before its tile is removed (0: at once).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse::seconds_or_zero, allow_negative_numbers = true)]
    pub forget_after: f64,
}

impl StationArgs {
    /// The polling flags as the monitor's data source takes them.
    pub fn polling(&self) -> PollingArgs {
        PollingArgs {
            busy_poll: self.busy_poll,
            poll: false,
            max_sleep_us: self.max_sleep_us,
        }
    }

    /// `vitalring monitor --all ...` as the station's arguments: the directory, token, trusted
    /// uids, polling flags (the monitor's, 50 µs by default), output and duration carry over.
    /// (`--busy-wait` does not: a busy producer is simply tried again at the next scan.)
    pub fn from_monitor(m: &MonitorArgs) -> Self {
        Self {
            dir: m.dir.clone(),
            token_file: m.endpoint.token_file.clone(),
            allow_server_uid: m.trust.allow_server_uid.clone(),
            busy_poll: m.polling.busy_poll,
            max_sleep_us: m.polling.max_sleep_us,
            output: m.output,
            duration: m.duration,
            forget_after: 30.0,
        }
    }
}

/// `--dir`: a directory, or a path that does not exist yet (no channel until a producer
/// creates it).
///
/// # Errors
/// The path exists and is not a directory.
pub fn scan_dir(p: PathBuf) -> Result<PathBuf, String> {
    match std::fs::metadata(&p) {
        Ok(m) if !m.is_dir() => Err("not a directory".into()),
        _ => Ok(p),
    }
}
