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
    /// Spin on the ring without ever sleeping (lowest latency; keeps one core busy) — every
    /// bed's reader does: one busy core per bed, rarely what a ward view wants.
    #[arg(long, conflicts_with_all = ["max_sleep_us", "poll"])]
    pub busy_poll: bool,
    /// Never sleep until woken: poll with the backoff (spin, yield, sleeps of at most
    /// --max-sleep-us), as readers did before wake-ups existed — every bed's reader does.
    #[arg(long)]
    pub poll: bool,
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
            poll: self.poll,
            max_sleep_us: self.max_sleep_us,
        }
    }

    /// `vitalring monitor --all ...` as the station's arguments: the directory, token, trusted
    /// uids, polling flags (`--busy-poll`, `--poll`, `--max-sleep-us`: the monitor's, 50 µs by
    /// default), output and duration carry over.
    /// (`--busy-wait` does not: a busy producer is simply tried again at the next scan.)
    pub fn from_monitor(m: &MonitorArgs) -> Self {
        Self {
            dir: m.dir.clone(),
            token_file: m.endpoint.token_file.clone(),
            allow_server_uid: m.trust.allow_server_uid.clone(),
            busy_poll: m.polling.busy_poll,
            poll: m.polling.poll,
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

#[cfg(test)]
mod tests {
    use crate::args::{Cli, Command};
    use clap::Parser;

    use super::StationArgs;

    /// The station's arguments of `vitalring <argv>` (`station ...` or `monitor --all ...`).
    fn station(argv: &[&str]) -> Result<StationArgs, clap::Error> {
        let mut full = vec!["vitalring"];
        full.extend_from_slice(argv);
        Ok(match Cli::try_parse_from(full)?.command {
            Command::Station(s) => s,
            Command::Monitor(m) => {
                assert!(m.all, "not monitor --all");
                StationArgs::from_monitor(&m)
            }
            _ => panic!("not the station"),
        })
    }

    #[test]
    fn polling_flags_reach_every_beds_reader() {
        for argv in [&["station"][..], &["monitor", "--all"]] {
            let with = |flags: &[&str]| {
                let mut v = argv.to_vec();
                v.extend_from_slice(flags);
                station(&v)
                    .unwrap_or_else(|e| panic!("{v:?}: {e}"))
                    .polling()
            };
            let p = with(&[]);
            assert!(!p.poll && !p.busy_poll, "{argv:?}: wake-ups by default");
            let p = with(&["--poll"]);
            assert!(p.poll && !p.busy_poll, "{argv:?} --poll");
            let p = with(&["--poll", "--max-sleep-us", "200"]);
            assert!(
                p.poll && p.max_sleep_us == 200,
                "{argv:?} --poll --max-sleep-us"
            );
            let p = with(&["--busy-poll"]);
            assert!(p.busy_poll && !p.poll, "{argv:?} --busy-poll");
            for clash in [
                &["--busy-poll", "--poll"][..],
                &["--busy-poll", "--max-sleep-us", "9"],
            ] {
                let mut v = argv.to_vec();
                v.extend_from_slice(clash);
                assert!(station(&v).is_err(), "{v:?} must be refused");
            }
        }
        // The station's own default sleep is longer than the monitor's (every bed has a reader).
        assert_eq!(station(&["station"]).unwrap().polling().max_sleep_us, 1000);
        assert_eq!(
            station(&["monitor", "--all"])
                .unwrap()
                .polling()
                .max_sleep_us,
            50
        );
    }
}
