//! The command line (clap derive). `docs/cli.md` restates every flag; keep the two in step.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Same-host shared-memory ring transport for patient-monitor data.
#[derive(Debug, Parser)]
#[command(
    name = "vitalring",
    version,
    about = "vitalring: same-host shared-memory ring transport for patient-monitor data",
    long_about = "vitalring: a producer writes fixed-size frames into a sealed memfd ring; \
readers get the memfd over a Unix-socket handshake, map it read-only and poll it.\n\n\
Quick start:  vitalring demo\n\
Two terminals:  vitalring sim   |   vitalring monitor",
    after_help = "Exit status: 0 ok (also after SIGINT/SIGTERM), 1 runtime error, \
2 usage error, 3 could not connect (no socket, refused, bad ring)."
)]
pub struct Cli {
    /// The sub-command.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the patient simulator as a ring producer and serve readers on the socket.
    #[command(after_help = "Examples:\n  \
vitalring sim\n  \
vitalring sim --scenario tachycardia --seed 7 --duration 60\n  \
vitalring sim --socket /tmp/vr.sock --scenario stall --fault-after 5")]
    Sim(SimArgs),
    /// Show a live bedside-monitor view of a ring (TUI, plain status lines or JSON lines).
    #[command(after_help = "Examples:\n  \
vitalring monitor                         # TUI on a terminal, --plain otherwise\n  \
vitalring monitor --json --duration 10 | jq -c 'select(.event==\"vitals\")'\n  \
vitalring monitor --plain --hr-high 100")]
    Monitor(MonitorArgs),
    /// Connect once and print the ring header and the last frames with their validation status.
    #[command(after_help = "Examples:\n  vitalring dump\n  vitalring dump --last 3 --json")]
    Dump(DumpArgs),
    /// Cross-process latency/throughput/CPU benchmark (flags after `bench` go to the bench).
    #[command(
        disable_help_flag = true,
        after_help = "Run `vitalring bench --help` for the benchmark's own flags.\n\
Example:\n  vitalring bench --quick --sizes 256"
    )]
    Bench(BenchArgs),
    /// Start a simulator child process and a monitor on a private socket; Ctrl-C ends both.
    #[command(after_help = "Examples:\n  \
vitalring demo\n  \
vitalring demo --scenario afib\n  \
cargo run --release -p vitalring-cli -- demo")]
    Demo(DemoArgs),
}

/// Where the control socket is.
#[derive(Debug, Clone, Args)]
pub struct Endpoint {
    /// Control socket path [default: $XDG_RUNTIME_DIR/vitalring/<channel>.sock, else
    /// /tmp/vitalring-<uid>/<channel>.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Channel name (names the default socket and is sent in the handshake).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub channel: String,
    /// File holding the shared token (mode 0600; never pass a token on the command line).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// A simulator scenario on the command line: the names, help texts and order come from
/// [`vitalring_sim::Scenario`] itself, so the two can never disagree. For the fault scenarios
/// `--fault-after`, `--corrupt-rate`, `--burst-frames` and `--burst-every` set the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioArg(pub vitalring_sim::Scenario);

const SCENARIO_ARGS: [ScenarioArg; vitalring_sim::Scenario::ALL.len()] = {
    let mut out =
        [ScenarioArg(vitalring_sim::Scenario::Normal); vitalring_sim::Scenario::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = ScenarioArg(vitalring_sim::Scenario::ALL[i]);
        i += 1;
    }
    out
};

impl ScenarioArg {
    /// The default: `normal`.
    pub const NORMAL: Self = Self(vitalring_sim::Scenario::Normal);

    /// The simulator's scenario.
    pub fn to_sim(self) -> vitalring_sim::Scenario {
        self.0
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl ValueEnum for ScenarioArg {
    fn value_variants<'a>() -> &'a [Self] {
        &SCENARIO_ARGS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.description()))
    }
}

/// Payload encoding of published frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// JSON text (seed 000).
    Json,
    /// Little-endian binary structs (seed 001).
    Binary,
}

impl EncodingArg {
    /// The core's encoding.
    pub fn to_core(self) -> vitalring_core::Encoding {
        match self {
            Self::Json => vitalring_core::Encoding::Json,
            Self::Binary => vitalring_core::Encoding::Binary,
        }
    }
}

/// `vitalring sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Slot size in bytes (multiple of 8, at least 64).
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub frame_size: u32,
    /// Number of slots (power of two).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub frames: u32,
    /// Simulated condition or transport fault.
    #[arg(long, value_enum, default_value_t = ScenarioArg::NORMAL)]
    pub scenario: ScenarioArg,
    /// Seed of every random choice (same seed, same signals).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Payload encoding.
    #[arg(long, value_enum, default_value_t = EncodingArg::Json)]
    pub encoding: EncodingArg,
    /// Stop after this many seconds [default: run until SIGINT/SIGTERM].
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// stall/crash: seconds after the start at which the fault begins [default: the
    /// scenario's, 10].
    #[arg(long, value_name = "SECS")]
    pub fault_after: Option<f64>,
    /// corrupt: fraction of committed frames to bit-flip, 0..=1 [default: the scenario's,
    /// 0.01].
    #[arg(long, value_name = "RATE")]
    pub corrupt_rate: Option<f64>,
    /// burst: filler frames written flat out per burst [default: 4 × --frames].
    #[arg(long, value_name = "N")]
    pub burst_frames: Option<u64>,
    /// burst: seconds between bursts.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub burst_every: f64,
    /// Seconds between the count lines on stderr (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub log_every: f64,
}

// --- Monitor alarm limits and trace gain (issue 15) -------------------------------------------

/// Alarm limits of the monitor, as typed; [`AlarmArgs`] is the validated form.
#[derive(Debug, Clone, Copy, Args)]
struct AlarmArgsRaw {
    /// Heart-rate low alarm limit, bpm (15..=300, below --hr-high).
    #[arg(long, value_name = "BPM", default_value_t = 50)]
    hr_low: u16,
    /// Heart-rate high alarm limit, bpm (15..=300).
    #[arg(long, value_name = "BPM", default_value_t = 120)]
    hr_high: u16,
    /// SpO2 low alarm limit, % (50..=99).
    #[arg(long, value_name = "PCT", default_value_t = 90)]
    spo2_low: u8,
    /// Respiration-rate low alarm limit, breaths/min (1..=150, below --rr-high).
    #[arg(long, value_name = "RPM", default_value_t = 8)]
    rr_low: u8,
    /// Respiration-rate high alarm limit, breaths/min (1..=150).
    #[arg(long, value_name = "RPM", default_value_t = 30)]
    rr_high: u8,
}

/// Alarm limits of the monitor, checked when the command line is parsed: every limit within
/// its settable range and each low limit below its high limit, else a usage error (exit 2)
/// that names the flags.
#[derive(Debug, Clone, Copy)]
pub struct AlarmArgs {
    /// Heart-rate low alarm limit, bpm.
    pub hr_low: u16,
    /// Heart-rate high alarm limit, bpm.
    pub hr_high: u16,
    /// SpO2 low alarm limit, %.
    pub spo2_low: u8,
    /// Respiration-rate low alarm limit, breaths/min.
    pub rr_low: u8,
    /// Respiration-rate high alarm limit, breaths/min.
    pub rr_high: u8,
}

impl AlarmArgs {
    fn checked(raw: AlarmArgsRaw) -> Result<Self, clap::Error> {
        let a = Self {
            hr_low: raw.hr_low,
            hr_high: raw.hr_high,
            spo2_low: raw.spo2_low,
            rr_low: raw.rr_low,
            rr_high: raw.rr_high,
        };
        crate::monitor::alarms::Limits::from(a)
            .validated()
            .map(|_| a)
            .map_err(|e| {
                clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n"))
            })
    }
}

impl clap::FromArgMatches for AlarmArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::checked(AlarmArgsRaw::from_arg_matches(m)?)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for AlarmArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        AlarmArgsRaw::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        AlarmArgsRaw::augment_args_for_update(cmd)
    }
}

/// ECG trace gain of the TUI, as on a bedside monitor: millimetres per millivolt, where one
/// text row of the terminal counts as 5 mm (one large square of ECG paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum EcgGainArg {
    /// 5 mm/mV (half gain, for large complexes).
    #[value(name = "5")]
    Mm5,
    /// 10 mm/mV (the standard gain).
    #[default]
    #[value(name = "10")]
    Mm10,
    /// 20 mm/mV (double gain, for small complexes).
    #[value(name = "20")]
    Mm20,
    /// Fit the visible complexes to the panel; the gain used is shown.
    Auto,
}

// --- end of the monitor alarm-limit and gain block -------------------------------------------

/// Output of `monitor` (and of the monitor half of `demo`).
#[derive(Debug, Clone, Copy, Args)]
pub struct MonitorOutput {
    /// One human-readable status line per second (the default when stdout is not a terminal).
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// One JSON object per line: every vitals frame and waveform chunk, a status object per
    /// second, errors as they happen (schema: docs/cli.md).
    #[arg(long)]
    pub json: bool,
    /// Seconds of waveform shown by the TUI traces.
    #[arg(long, value_name = "SECS", default_value_t = 6.0)]
    pub trace_seconds: f64,
    /// TUI: ECG gain in mm/mV (one text row = 5 mm): 5, 10, 20 or auto.
    #[arg(long, value_name = "GAIN", value_enum, default_value_t = EcgGainArg::Mm10)]
    pub ecg_gain: EcgGainArg,
    #[command(flatten)]
    pub alarms: AlarmArgs,
}

/// `vitalring monitor`.
#[derive(Debug, Clone, Args)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    #[command(flatten)]
    pub polling: PollingArgs,
    #[command(flatten)]
    pub output: MonitorOutput,
    /// Stop after this many seconds (exit 0) [default: run until q / Ctrl-C / SIGTERM].
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
}

/// How the reader waits for new frames.
#[derive(Debug, Clone, Args)]
pub struct PollingArgs {
    /// Spin on the ring without ever sleeping (lowest latency; keeps one core busy).
    #[arg(long, conflicts_with = "max_sleep_us")]
    pub busy_poll: bool,
    /// Longest backoff sleep while idle, in µs. 50 keeps added latency under ~100 µs; larger
    /// values save CPU (each idle wake-up costs a few µs of CPU) at the price of latency.
    #[arg(long, value_name = "US", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_sleep_us: u32,
}

impl Default for PollingArgs {
    fn default() -> Self {
        Self {
            busy_poll: false,
            max_sleep_us: 50,
        }
    }
}

/// `vitalring dump`.
#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// How many of the newest frames to decode.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub last: u64,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `vitalring bench`: everything after the sub-command goes to the benchmark's own parser.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Benchmark flags (see `vitalring bench --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `vitalring demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Scenario the simulator child plays.
    #[arg(long, value_enum, default_value_t = ScenarioArg::NORMAL)]
    pub scenario: ScenarioArg,
    /// Seed of the simulator child.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Payload encoding of the simulator child.
    #[arg(long, value_enum, default_value_t = EncodingArg::Json)]
    pub encoding: EncodingArg,
    /// Stop both after this many seconds [default: run until q / Ctrl-C / SIGTERM].
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub output: MonitorOutput,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn alarm_limits_are_validated_at_parse_time() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["vitalring", "monitor"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv)
        };
        let ok = parse(&["--hr-low", "40", "--hr-high", "140", "--ecg-gain", "20"]).unwrap();
        let Command::Monitor(m) = ok.command else {
            panic!("not monitor")
        };
        assert_eq!((m.output.alarms.hr_low, m.output.alarms.hr_high), (40, 140));
        assert_eq!(m.output.ecg_gain, EcgGainArg::Mm20);
        for (bad, says) in [
            (
                &["--hr-low", "130"][..],
                "--hr-low 130 must be below --hr-high 120",
            ),
            (
                &["--rr-low", "30", "--rr-high", "20"],
                "--rr-low 30 must be below --rr-high 20",
            ),
            (&["--spo2-low", "30"], "--spo2-low 30 is outside 50..=99"),
            (&["--hr-high", "400"], "--hr-high 400 is outside 15..=300"),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            assert!(e.to_string().contains(says), "{bad:?}: {e}");
        }
        assert!(parse(&["--ecg-gain", "7"]).is_err());
    }

    #[test]
    fn every_scenario_maps_and_round_trips() {
        for s in ScenarioArg::value_variants() {
            let name = s.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(name, s.name());
        }
    }
}
