//! The command line (clap derive). `docs/cli.md` restates every flag; keep the two in step.
//!
//! Every value is checked while parsing, by the value parsers in [`parse`] and, for the rules
//! that tie two flags together, by [`Cli::check`]: a bad value ends the program with exit
//! status 2 and one line (`vitalring <sub>: error: invalid value ...`, see [`Cli::one_line`])
//! before anything is created, connected or started. Paths are kept as `OsString`s (`PathBuf`), so any path the kernel
//! accepts works, UTF-8 or not.

use std::path::PathBuf;

use clap::builder::{PathBufValueParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

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
    after_help = "Exit status: 0 ok (also after SIGINT/SIGTERM/SIGHUP), 1 runtime error, \
2 usage error (any bad flag or value), 3 could not connect (no socket, refused, bad ring)."
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
    /// Record a channel to an HDF5 file (readable by h5py while it is written).
    #[command(after_help = "Examples:\n  \
vitalring record --out session.h5\n  \
vitalring record --socket /tmp/vr.sock --out bed7.h5 --duration 3600 --segment 10\n\
Read it in Python: h5py.File('session.h5', 'r', swmr=True). See docs/recording.md.")]
    Record(RecordArgs),
    /// Republish a recording into a ring at its original pace (or scaled), as a producer.
    #[command(after_help = "Examples:\n  \
vitalring replay session.h5\n  \
vitalring replay session.h5 --socket /tmp/vr.sock --speed 2 --from 60 --to 120 --loop")]
    Replay(ReplayArgs),
    /// Export a recording as PhysioNet WFDB records and/or CSV files.
    #[command(after_help = "Examples:\n  \
vitalring export session.h5 --wfdb out/\n  \
vitalring export session.h5 --csv out/")]
    Export(ExportArgs),
    /// Central station: one tile per live channel (bed) of this user, with its vitals, ECG
    /// strip, connection state and highest alarm; Enter opens a bed's full view.
    #[command(after_help = "Examples:\n  \
vitalring station                          # TUI on a terminal, --plain otherwise\n  \
vitalring station --plain --duration 10    # one line per bed per second\n  \
vitalring station --json | jq -c 'select(.event==\"status\") | {bed, state, live}'\n  \
vitalring station --dir /tmp/ward-sockets\n\
Keys: arrows select a bed, Enter opens its full view, Esc goes back, q quits.\n\
`vitalring monitor --all` is the same view.",
        mut_arg("json", |a| a.help("One JSON object per line: a status object per bed and a station \
summary every second, connection changes, errors and beds coming and going as they happen \
(schema: docs/cli.md)")))]
    Station(crate::station::args::StationArgs),
    /// List the channels of this user: every producer socket in the default directory, with
    /// what its producer says about itself (live) or marked stale (its producer died).
    #[command(after_help = "Examples:\n  \
vitalring ls\n  \
vitalring ls --json | jq -r '.[] | select(.state==\"live\") | .name'\n  \
vitalring ls --clean          # remove the sockets of dead producers")]
    Ls(LsArgs),
    /// Send a request to a channel's producer and print its answer: `describe`, `stats`, or a
    /// command of the producer (the simulator: scenario NAME, pause, resume, alarm-test [SECS]).
    #[command(after_help = "Examples:\n  \
vitalring ctl bed2 describe\n  \
vitalring ctl bed2 scenario tachycardia\n  \
vitalring ctl bed2 pause      # readers report the producer stalled\n  \
vitalring ctl bed2 resume\n  \
vitalring ctl bed2 alarm-test 10 --json")]
    Ctl(CtlArgs),
    /// Print a channel's producer counters and the readers attached to it (the `stats` request).
    #[command(after_help = "Examples:\n  vitalring readers bed2\n  vitalring readers bed2 --json")]
    Readers(ReadersArgs),
}

impl Command {
    /// The sub-command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sim(_) => "sim",
            Self::Monitor(_) => "monitor",
            Self::Dump(_) => "dump",
            Self::Bench(_) => "bench",
            Self::Demo(_) => "demo",
            Self::Record(_) => "record",
            Self::Replay(_) => "replay",
            Self::Export(_) => "export",
            Self::Station(_) => "station",
            Self::Ls(_) => "ls",
            Self::Ctl(_) => "ctl",
            Self::Readers(_) => "readers",
        }
    }
}

/// Where the control socket is.
#[derive(Debug, Clone, Args)]
pub struct Endpoint {
    /// Control socket path [default: $XDG_RUNTIME_DIR/vitalring/<channel>.sock, else
    /// /tmp/vitalring-<uid>/<channel>.sock].
    #[arg(long, value_name = "PATH", value_parser = PathBufValueParser::new().try_map(parse::socket))]
    pub socket: Option<PathBuf>,
    /// Channel name: 1..=64 of A-Z a-z 0-9 . _ -, not starting with '.' (names the default
    /// socket and is sent in the handshake).
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = parse::channel)]
    pub channel: String,
    /// File holding the shared token: a regular file of yours, mode 0600, 1..=64 bytes (never
    /// pass a token on the command line).
    #[arg(long, value_name = "PATH", value_parser = PathBufValueParser::new().try_map(parse::token_file))]
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
    /// JSON text.
    Json,
    /// Little-endian binary structs.
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

    /// The lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Binary => "binary",
        }
    }
}

/// `vitalring sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Slot size in bytes: a multiple of 8 up to 1 MiB, and at least what the largest payload
    /// of --encoding needs (the error names the minimum).
    #[arg(long, value_name = "BYTES", default_value_t = 4096, value_parser = parse::frame_size)]
    pub frame_size: u32,
    /// Number of slots: a power of two up to 2^24 (and at most 1 GiB of ring in all).
    #[arg(long, value_name = "N", default_value_t = 2048, value_parser = parse::frame_count)]
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
    /// Stop after this many seconds (> 0) [default: run until SIGINT/SIGTERM/SIGHUP].
    #[arg(long, value_name = "SECS", value_parser = parse::seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// stall/crash: seconds after the start at which the fault begins, >= 0 [default: the
    /// scenario's, 10].
    #[arg(long, value_name = "SECS", value_parser = parse::seconds_or_zero, allow_negative_numbers = true)]
    pub fault_after: Option<f64>,
    /// corrupt: fraction of committed frames to bit-flip, 0..=1 [default: the scenario's,
    /// 0.01].
    #[arg(long, value_name = "RATE", value_parser = parse::rate, allow_negative_numbers = true)]
    pub corrupt_rate: Option<f64>,
    /// burst: filler frames written flat out per burst, >= 1 [default: 4 × --frames].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub burst_frames: Option<u64>,
    /// burst: seconds between bursts (> 0).
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = parse::seconds, allow_negative_numbers = true)]
    pub burst_every: f64,
    /// Seconds between the count lines on stderr (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse::seconds_or_zero, allow_negative_numbers = true)]
    pub log_every: f64,
    /// Simulate N different patients from this one process, on channels bed1 .. bedN (each its
    /// own ring and socket in the default directory): bed k uses seed --seed + k - 1, bed 1
    /// --scenario and the next beds the following patient scenarios (normal, bradycardia, afib,
    /// desaturation, apnea, motion, tachycardia, asystole, then again).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64),
          conflicts_with_all = ["socket", "channel", "remove_dir_on_exit"])]
    pub beds: Option<u32>,
    /// Let readers of this uid attach, describe and ask for stats (repeatable). They may not
    /// send commands unless also given with --command-uid.
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uid: Vec<u32>,
    /// Let this uid send commands (scenario, pause, resume, alarm-test) besides our own uid
    /// (repeatable; it must also be allowed to connect: our uid or --allow-uid).
    #[arg(long = "command-uid", value_name = "UID")]
    pub command_uid: Vec<u32>,
    /// Internal (set by `vitalring demo` on its simulator child): when this process ends,
    /// remove its socket and then this directory, which must be the socket's own directory.
    #[arg(long, value_name = "DIR", hide = true, requires = "socket",
          value_parser = PathBufValueParser::new().try_map(parse::private_dir))]
    pub remove_dir_on_exit: Option<PathBuf>,
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
    /// Seconds of waveform shown by the TUI traces (1..=60).
    #[arg(long, value_name = "SECS", default_value_t = 6.0, value_parser = parse::trace_seconds, allow_negative_numbers = true)]
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
    pub trust: TrustArgs,
    #[command(flatten)]
    pub polling: PollingArgs,
    #[command(flatten)]
    pub output: MonitorOutput,
    /// Stop after this many seconds (> 0; exit 0) [default: run until q / Ctrl-C / SIGTERM /
    /// SIGHUP].
    #[arg(long, value_name = "SECS", value_parser = parse::seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Run the simulator in this process instead of attaching to a producer: it writes an
    /// in-process ring that the same reader session reads (no socket, nothing to start first).
    #[arg(long, value_enum, value_name = "SCENARIO", conflicts_with_all = ["socket", "token_file"])]
    pub simulate: Option<ScenarioArg>,
    /// Watch every live channel of this user at once: the central station view (the same as
    /// `vitalring station`; --plain and --json then print the station's lines).
    #[arg(long, conflicts_with_all = ["socket", "channel", "simulate"])]
    pub all: bool,
    /// With --all: the directory to scan for channel sockets [default: the default socket
    /// directory].
    #[arg(long, value_name = "DIR", requires = "all",
          value_parser = PathBufValueParser::new().try_map(crate::station::args::scan_dir))]
    pub dir: Option<PathBuf>,
}

/// How the reader waits for new frames. By default it sleeps until the producer wakes it
/// (a futex on its status page; next to no CPU) when the producer supports that, and polls
/// with a backoff otherwise.
#[derive(Debug, Clone, Args)]
pub struct PollingArgs {
    /// Spin on the ring without ever sleeping (lowest latency; keeps one core busy).
    #[arg(long, conflicts_with_all = ["max_sleep_us", "poll"])]
    pub busy_poll: bool,
    /// Never sleep until woken: poll with the backoff (spin, yield, sleeps of at most
    /// --max-sleep-us), as readers did before wake-ups existed.
    #[arg(long)]
    pub poll: bool,
    /// Longest backoff sleep while idle, in µs. 50 keeps added latency under ~100 µs; larger
    /// values save CPU (each idle wake-up costs a few µs of CPU) at the price of latency.
    #[arg(long, value_name = "US", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_sleep_us: u32,
}

impl Default for PollingArgs {
    fn default() -> Self {
        Self {
            busy_poll: false,
            poll: false,
            max_sleep_us: 50,
        }
    }
}

/// Which producers a reader trusts and how long it waits for a busy one.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Also trust a producer running as this uid (repeatable). By default a reader attaches only
    /// to a producer of its own uid, whatever the socket path says.
    #[arg(long = "allow-server-uid", value_name = "UID")]
    pub allow_server_uid: Vec<u32>,
    /// How long to keep retrying a producer that answers "busy" before giving up, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse::seconds_or_zero)]
    pub busy_wait: f64,
}

/// `vitalring dump`.
#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// How many of the newest frames to decode.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub last: u64,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `vitalring ls`.
#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// Print one JSON array (one object per socket) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Remove the sockets of dead producers (each is probed again just before; a live
    /// producer's socket is never removed).
    #[arg(long)]
    pub clean: bool,
    /// Show live channels only (by default stale sockets are listed too, marked stale).
    #[arg(long)]
    pub live_only: bool,
}

/// Where a request goes: a channel by name, or an explicit socket.
#[derive(Debug, Clone, Args)]
pub struct RequestTarget {
    /// Channel name (its socket is in the default directory unless --socket is given).
    #[arg(value_name = "CHANNEL", value_parser = parse::channel)]
    pub channel: String,
    /// Control socket path [default: the channel's socket in the default directory].
    #[arg(long, value_name = "PATH", value_parser = PathBufValueParser::new().try_map(parse::socket))]
    pub socket: Option<PathBuf>,
    /// File holding the shared token, if the producer requires one.
    #[arg(long, value_name = "PATH", value_parser = PathBufValueParser::new().try_map(parse::token_file))]
    pub token_file: Option<PathBuf>,
    /// Also trust a producer running as this uid (repeatable).
    #[arg(long = "allow-server-uid", value_name = "UID")]
    pub allow_server_uid: Vec<u32>,
    /// Seconds to wait for the answer (> 0).
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = parse::seconds)]
    pub timeout: f64,
}

impl RequestTarget {
    /// The endpoint these flags name.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            socket: self.socket.clone(),
            channel: self.channel.clone(),
            token_file: self.token_file.clone(),
        }
    }
}

/// `vitalring ctl`.
#[derive(Debug, Clone, Args)]
pub struct CtlArgs {
    #[command(flatten)]
    pub target: RequestTarget,
    /// `describe`, `stats`, or a producer command and its arguments (e.g. `scenario afib`).
    #[arg(value_name = "COMMAND", required = true, num_args = 1..)]
    pub command: Vec<String>,
    /// Print one JSON object: {"channel", "request", "status", "reply"}.
    #[arg(long)]
    pub json: bool,
}

/// `vitalring readers`.
#[derive(Debug, Clone, Args)]
pub struct ReadersArgs {
    #[command(flatten)]
    pub target: RequestTarget,
    /// Print the producer's `stats` answer as JSON.
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
    /// Stop both after this many seconds (> 0) [default: run until q / Ctrl-C / SIGTERM /
    /// SIGHUP].
    #[arg(long, value_name = "SECS", value_parser = parse::seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub output: MonitorOutput,
}

impl Cli {
    /// Parses `argv` (program name first) and applies [`Cli::check`].
    ///
    /// # Errors
    /// clap's error: a bad flag or value (exit status 2), or `--help`/`--version` (exit 0).
    pub fn parse_checked<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Self::try_parse_from(argv)?;
        if let Err(message) = cli.check() {
            let mut cmd = Self::command();
            cmd.build();
            let kind = clap::error::ErrorKind::ValueValidation;
            return Err(match cmd.find_subcommand_mut(cli.command.name()) {
                Some(sub) => sub.error(kind, message),
                None => cmd.error(kind, message),
            });
        }
        Ok(cli)
    }

    /// clap's message for a usage error as one line: the `error:` line, with clap's `tip:` and
    /// `[possible values: ...]` appended; the usage and "for more information" lines dropped.
    pub fn one_line(e: &clap::Error) -> String {
        let text = e.render().to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let mut out = lines
            .next()
            .unwrap_or("error: bad command line")
            .trim_start_matches("error: ")
            .to_string();
        for tip in lines.filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")) {
            out.push_str("; ");
            out.push_str(tip);
        }
        out
    }

    /// The rules that tie two flags together (each flag alone was checked by its parser).
    ///
    /// # Errors
    /// The rule that failed, as one line.
    pub fn check(&self) -> Result<(), String> {
        match &self.command {
            Command::Sim(s) => s.check(),
            // Alarm limits are validated while parsing (`AlarmArgs::from_arg_matches`).
            Command::Monitor(_) | Command::Demo(_) => Ok(()),
            Command::Replay(r) => r.check(),
            Command::Dump(_)
            | Command::Bench(_)
            | Command::Record(_)
            | Command::Export(_)
            | Command::Ls(_)
            | Command::Ctl(_)
            | Command::Readers(_)
            | Command::Station(_) => Ok(()),
        }
    }
}

impl SimArgs {
    /// `--frame-size` with `--frames` (the ring's size) and with `--encoding` (the largest
    /// payload), `--remove-dir-on-exit` with `--socket`.
    ///
    /// # Errors
    /// The rule that failed, as one line.
    pub fn check(&self) -> Result<(), String> {
        vitalring_core::Geometry::new(self.frame_size, self.frames).map_err(|e| {
            format!(
                "--frame-size {} with --frames {}: {e}",
                self.frame_size, self.frames
            )
        })?;
        let min = payload_limits::min_frame_size(self.encoding.to_core());
        if self.frame_size < min {
            return Err(format!(
                "--frame-size {} is too small for --encoding {}: the simulator's largest {} \
                 payload is {} bytes, which needs a frame size of at least {min}",
                self.frame_size,
                self.encoding.name(),
                self.encoding.name(),
                payload_limits::max_payload_len(self.encoding.to_core()),
            ));
        }
        if let Some(dir) = &self.remove_dir_on_exit {
            let inside = self
                .endpoint
                .socket
                .as_deref()
                .and_then(std::path::Path::parent)
                .is_some_and(|p| p == dir);
            if !inside {
                return Err(format!(
                    "--remove-dir-on-exit {} must be the directory of --socket",
                    dir.display()
                ));
            }
        }
        Ok(())
    }
}

/// `vitalring record`, `vitalring replay`, `vitalring export` (recordings; `docs/recording.md`).
mod recording_args {
    use super::{parse, Endpoint};
    use clap::builder::{PathBufValueParser, TypedValueParser};
    use clap::Args;
    use std::path::PathBuf;

    /// `vitalring record`.
    #[derive(Debug, Clone, Args)]
    pub struct RecordArgs {
        #[command(flatten)]
        pub endpoint: Endpoint,
        /// The HDF5 file to write; it must not exist (a recording is never overwritten).
        #[arg(long, value_name = "FILE.h5")]
        pub out: PathBuf,
        /// Stop after this many seconds (> 0) [default: run until SIGINT/SIGTERM/SIGHUP].
        #[arg(long, value_name = "SECS", value_parser = parse::seconds, allow_negative_numbers = true)]
        pub duration: Option<f64>,
        /// Rotate: close the file and start the next every MINUTES (> 0); files are
        /// NAME-000.h5, NAME-001.h5, ... with a catalog NAME.catalog.csv.
        #[arg(long, value_name = "MINUTES", value_parser = parse::seconds, allow_negative_numbers = true)]
        pub segment: Option<f64>,
    }

    /// `vitalring replay`.
    #[derive(Debug, Clone, Args)]
    pub struct ReplayArgs {
        /// The recording to replay.
        #[arg(value_name = "FILE.h5", value_parser = PathBufValueParser::new().try_map(parse::existing_file))]
        pub file: PathBuf,
        #[command(flatten)]
        pub endpoint: Endpoint,
        /// Pace factor (> 0): 2 plays twice as fast, 0.5 half as fast.
        #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse::speed, allow_negative_numbers = true)]
        pub speed: f64,
        /// Start this many seconds after the recording's first frame (>= 0).
        #[arg(long, value_name = "SECS", value_parser = parse::seconds_or_zero, allow_negative_numbers = true)]
        pub from: Option<f64>,
        /// Stop this many seconds after the recording's first frame (> --from).
        #[arg(long, value_name = "SECS", value_parser = parse::seconds_or_zero, allow_negative_numbers = true)]
        pub to: Option<f64>,
        /// Start over at the end (until SIGINT/SIGTERM/SIGHUP).
        #[arg(long = "loop")]
        pub repeat: bool,
    }

    impl ReplayArgs {
        /// `--from` before `--to`.
        ///
        /// # Errors
        /// The rule that failed, as one line.
        pub fn check(&self) -> Result<(), String> {
            match (self.from, self.to) {
                (Some(f), Some(t)) if t <= f => {
                    Err(format!("--to {t} must be later than --from {f}"))
                }
                _ => Ok(()),
            }
        }
    }

    /// `vitalring export`.
    #[derive(Debug, Clone, Args)]
    #[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["wfdb", "csv"])))]
    pub struct ExportArgs {
        /// The recording to export.
        #[arg(value_name = "FILE.h5", value_parser = PathBufValueParser::new().try_map(parse::existing_file))]
        pub file: PathBuf,
        /// Write WFDB records into this directory (created if missing): one record per
        /// contiguous segment of the waveforms, header (.hea) + format-16 signal file (.dat).
        #[arg(long, value_name = "DIR")]
        pub wfdb: Option<PathBuf>,
        /// Write CSV files into this directory (created if missing): vitals.csv, events.csv
        /// and one file per waveform channel.
        #[arg(long, value_name = "DIR")]
        pub csv: Option<PathBuf>,
    }
}
pub use recording_args::{ExportArgs, RecordArgs, ReplayArgs};

/// The largest payload `vitalring sim` publishes in each encoding, computed with the core's own
/// encoder from the widest records the simulator can produce — the core exports only
/// [`vitalring_core::payload::MAX_ENCODED_LEN`], a bound over every record of every encoding
/// (a 128-sample JSON chunk), far above what the simulator's 10-sample chunks need.
pub mod payload_limits {
    use vitalring_core::layout::SLOT_OVERHEAD;
    use vitalring_core::payload::{self, Record, MAX_ENCODED_LEN};
    use vitalring_core::vitals::{
        Channel, Nibp, VitalsRecord, WaveformChunk, FS_RANGE, HR_RANGE, NIBP_RANGE,
        PULSE_RATE_RANGE, RR_RANGE, SPO2_RANGE, TEMP_RANGE,
    };
    use vitalring_core::Encoding;

    /// Temperatures whose shortest round-trip text is as long as an `f32` in the valid range
    /// gets: 9 significant digits (the most an `f32` ever needs), no sign, no exponent.
    fn long_temperatures() -> [f32; 4] {
        let lo = *TEMP_RANGE.start();
        let hi = *TEMP_RANGE.end();
        [
            f32::from_bits(lo.to_bits() + 1),
            f32::from_bits(hi.to_bits() - 1),
            f32::from_bits(lo.to_bits() + 0x5_5555),
            f32::from_bits(hi.to_bits() - 0x5_5555),
        ]
    }

    /// Vitals with every optional field present and every integer at its widest valid value.
    pub(crate) fn widest_vitals(temp_c: f32) -> Record {
        let nibp = *NIBP_RANGE.end();
        Record::Vitals(VitalsRecord {
            hr_bpm: *HR_RANGE.end(),
            spo2_pct: *SPO2_RANGE.end(),
            rr_rpm: *RR_RANGE.end(),
            nibp: Some(Nibp {
                systolic_mmhg: nibp,
                diastolic_mmhg: nibp,
                mean_mmhg: nibp,
            }),
            temp_c: Some(temp_c),
            pulse_rate_bpm: Some(*PULSE_RATE_RANGE.end()),
        })
    }

    /// A chunk of the simulator's length with the longest channel name and the widest numbers.
    pub(crate) fn widest_chunk() -> Record {
        let channel = Channel::ALL
            .into_iter()
            .max_by_key(|c| c.name().len())
            .unwrap_or(Channel::EcgII);
        let mut samples = heapless::Vec::new();
        for _ in 0..vitalring_sim::CHUNK_LEN.min(vitalring_core::vitals::MAX_SAMPLES) {
            let _ = samples.push(i32::MIN);
        }
        Record::Waveform(WaveformChunk {
            channel,
            fs_hz: *FS_RANGE.end(),
            first: u64::MAX,
            samples,
        })
    }

    fn encoded_len(record: &Record, encoding: Encoding) -> usize {
        let mut buf = [0u8; MAX_ENCODED_LEN];
        // The widest records are valid and fit MAX_ENCODED_LEN; should the core ever say
        // otherwise, answer with the bound itself (a stricter check, never a looser one).
        payload::encode(record, encoding, &mut buf).unwrap_or(MAX_ENCODED_LEN)
    }

    /// The longest payload the simulator can publish in `encoding`, bytes.
    pub fn max_payload_len(encoding: Encoding) -> usize {
        long_temperatures()
            .into_iter()
            .map(|t| encoded_len(&widest_vitals(t), encoding))
            .chain([encoded_len(&widest_chunk(), encoding)])
            .max()
            .unwrap_or(MAX_ENCODED_LEN)
    }

    /// The smallest valid `--frame-size` that holds every payload the simulator can publish in
    /// `encoding`: the payload plus the slot's 32 bytes of header and trailer, rounded up to a
    /// multiple of 8.
    pub fn min_frame_size(encoding: Encoding) -> u32 {
        let need = (max_payload_len(encoding) + SLOT_OVERHEAD).next_multiple_of(8);
        u32::try_from(need)
            .unwrap_or(u32::MAX)
            .max(vitalring_core::layout::MIN_FRAME_SIZE)
    }
}

/// Value parsers: one function per kind of value, each returning the one-line reason clap
/// prints after `error: invalid value '<value>' for '<flag>':`.
pub mod parse {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::path::PathBuf;

    use vitalring_core::layout::{MAX_FRAME_SIZE, MIN_FRAME_SIZE};
    use vitalring_core::Geometry;

    /// Largest number of seconds whose nanoseconds fit a `u64` (about 584 years).
    pub const MAX_SECONDS: f64 = 18_446_744_073.0;
    /// Shortest length of time: one nanosecond (a shorter one would round to nothing).
    pub const MIN_SECONDS: f64 = 1e-9;

    fn number(s: &str) -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| "not a number".to_string())
    }

    /// A length of time: finite, from [`MIN_SECONDS`] to [`MAX_SECONDS`].
    ///
    /// # Errors
    /// `nan`, `inf`, `0`, negative numbers, out of range, not a number.
    pub fn seconds(s: &str) -> Result<f64, String> {
        let v = number(s)?;
        if (MIN_SECONDS..=MAX_SECONDS).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "must be a number of seconds greater than 0 (from {MIN_SECONDS} to {MAX_SECONDS})"
            ))
        }
    }

    /// A replay pace factor: finite, above 0, at most 1000.
    ///
    /// # Errors
    /// Not a number in range.
    pub fn speed(s: &str) -> Result<f64, String> {
        let v = number(s)?;
        if v > 0.0 && v <= 1000.0 {
            Ok(v)
        } else {
            Err("must be a pace factor above 0 and at most 1000".into())
        }
    }

    /// An existing regular file (a recording to read).
    ///
    /// # Errors
    /// Missing, or not a regular file.
    pub fn existing_file(p: PathBuf) -> Result<PathBuf, String> {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(p),
            Ok(_) => Err("not a regular file".into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("no such file".into()),
            Err(e) => Err(format!("cannot inspect it: {}", lower(&e))),
        }
    }

    /// A point in time after the start, or a period where 0 means "never": finite, `>= 0`.
    ///
    /// # Errors
    /// `nan`, `inf`, negative numbers, more than [`MAX_SECONDS`], not a number.
    pub fn seconds_or_zero(s: &str) -> Result<f64, String> {
        let v = number(s)?;
        if (0.0..=MAX_SECONDS).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "must be a number of seconds from 0 to {MAX_SECONDS}"
            ))
        }
    }

    /// `--trace-seconds`: 1..=60.
    ///
    /// # Errors
    /// Outside 1..=60, `nan`, not a number.
    pub fn trace_seconds(s: &str) -> Result<f64, String> {
        let v = number(s)?;
        if (1.0..=60.0).contains(&v) {
            Ok(v)
        } else {
            Err("must be a number of seconds from 1 to 60".into())
        }
    }

    /// A probability: 0..=1.
    ///
    /// # Errors
    /// Outside 0..=1, `nan`, not a number.
    pub fn rate(s: &str) -> Result<f64, String> {
        let v = number(s)?;
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err("must be a fraction from 0 to 1".into())
        }
    }

    /// A channel name, by the handshake's own rule.
    ///
    /// # Errors
    /// Empty, longer than 64 bytes, a character outside `[A-Za-z0-9._-]`, a leading dot.
    pub fn channel(s: &str) -> Result<String, String> {
        if vitalring_linux::wire::valid_channel(s) {
            Ok(s.to_string())
        } else {
            Err(format!(
                "a channel name is 1 to {} characters of A-Z a-z 0-9 . _ - and does not start \
                 with a dot",
                vitalring_linux::wire::MAX_CHANNEL_LEN
            ))
        }
    }

    /// A slot size, by the ring's own rule (the encoding's minimum is checked with
    /// `--encoding`, in [`super::SimArgs::check`]).
    ///
    /// # Errors
    /// Not a multiple of 8 in 64..=1 MiB, not a number.
    pub fn frame_size(s: &str) -> Result<u32, String> {
        let v: u32 = s
            .trim()
            .parse()
            .map_err(|_| "not a whole number of bytes".to_string())?;
        Geometry::new(v, 1).map(|g| g.frame_size()).map_err(|_| {
            format!("must be a multiple of 8 from {MIN_FRAME_SIZE} to {MAX_FRAME_SIZE}")
        })
    }

    /// A slot count, by the ring's own rule.
    ///
    /// # Errors
    /// Not a power of two up to 2^24, not a number.
    pub fn frame_count(s: &str) -> Result<u32, String> {
        let v: u32 = s
            .trim()
            .parse()
            .map_err(|_| "not a whole number".to_string())?;
        Geometry::new(MIN_FRAME_SIZE, v)
            .map(|g| g.frame_count())
            .map_err(|_| {
                format!(
                    "must be a power of two from 1 to {}",
                    vitalring_core::layout::MAX_FRAME_COUNT
                )
            })
    }

    /// A control socket path: anything that fits a Unix socket address (`sun_path`).
    ///
    /// # Errors
    /// Too long for a socket address.
    pub fn socket(p: PathBuf) -> Result<PathBuf, String> {
        nix::sys::socket::UnixAddr::new(p.as_path())
            .map(|_| p)
            .map_err(|_| {
                "too long for a Unix socket address (at most 107 bytes); use a shorter path"
                    .to_string()
            })
    }

    /// A token file: checked without opening it first (a FIFO or a device must not block
    /// us), then read once by the same code that will use it, so every rule of
    /// `vitalring_linux::Token::from_file` is applied now.
    ///
    /// # Errors
    /// Missing, not a regular file (symlinks are not followed), larger than a token can be,
    /// wrong owner or mode, empty.
    pub fn token_file(p: PathBuf) -> Result<PathBuf, String> {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => format!("cannot inspect it: {}", lower(&e)),
        })?;
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            Some("a symbolic link")
        } else if ft.is_dir() {
            Some("a directory")
        } else if ft.is_fifo() {
            Some("a FIFO")
        } else if ft.is_socket() {
            Some("a socket")
        } else if ft.is_char_device() || ft.is_block_device() {
            Some("a device")
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(format!("is {kind}, not a regular file"));
        }
        // One token (at most 64 bytes) plus an optional "\r\n".
        let max = vitalring_linux::wire::MAX_TOKEN_LEN as u64 + 2;
        if meta.size() > max {
            return Err(format!(
                "is {} bytes; a token file holds 1 to {} bytes and an optional trailing newline",
                meta.size(),
                vitalring_linux::wire::MAX_TOKEN_LEN
            ));
        }
        vitalring_linux::Token::from_file(&p).map_err(|e| e.to_string())?;
        Ok(p)
    }

    /// The hidden `--remove-dir-on-exit`: an existing directory (not a symlink) owned by us.
    ///
    /// # Errors
    /// Missing, not a directory, someone else's.
    pub fn private_dir(p: PathBuf) -> Result<PathBuf, String> {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| lower(&e))?;
        if !meta.is_dir() {
            return Err("not a directory".into());
        }
        if meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err("not owned by us".into());
        }
        Ok(p)
    }

    fn lower(e: &std::io::Error) -> String {
        let s = e.to_string();
        let s = s.split(" (os error").next().unwrap_or(&s);
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("vitalring").chain(args.iter().copied()))
    }

    fn refused(args: &[&str]) -> clap::Error {
        match parse(args) {
            Ok(cli) => panic!("{args:?} was accepted: {cli:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn durations_must_be_finite_and_positive() {
        for sub in ["monitor", "sim", "demo"] {
            for bad in [
                "nan", "NaN", "inf", "-inf", "infinity", "-1", "0", "-0", "1e-12", "1e300", "x",
            ] {
                let e = refused(&[sub, &format!("--duration={bad}")]);
                assert_eq!(
                    e.kind(),
                    clap::error::ErrorKind::ValueValidation,
                    "{sub} {bad}"
                );
                assert_eq!(e.exit_code(), 2);
                // `--duration -inf` is refused as well (clap takes `-inf` for a flag).
                assert_eq!(refused(&[sub, "--duration", bad]).exit_code(), 2);
            }
            let (Command::Monitor(MonitorArgs { duration, .. })
            | Command::Sim(SimArgs { duration, .. })
            | Command::Demo(DemoArgs { duration, .. })) =
                parse(&[sub, "--duration", "0.25"]).unwrap().command
            else {
                unreachable!()
            };
            assert_eq!(duration, Some(0.25));
        }
        for (flag, bad) in [
            ("--fault-after", "nan"),
            ("--fault-after", "-1"),
            ("--burst-every", "0"),
            ("--burst-every", "inf"),
            ("--log-every", "-5"),
            ("--corrupt-rate", "nan"),
            ("--corrupt-rate", "1.5"),
            ("--burst-frames", "0"),
        ] {
            refused(&["sim", flag, bad]);
        }
        refused(&["monitor", "--trace-seconds", "nan"]);
        refused(&["monitor", "--trace-seconds", "0.5"]);
        assert!(parse(&["sim", "--fault-after", "0", "--log-every", "0"]).is_ok());
    }

    #[test]
    fn channel_names_follow_the_handshake_rule() {
        for bad in ["", ".hidden", "a/b", "../x", "sp ace", &"x".repeat(65)] {
            refused(&["monitor", "--channel", bad]);
        }
        assert!(parse(&["dump", "--channel", "ecg-1.bed_7"]).is_ok());
    }

    #[test]
    fn socket_paths_must_fit_a_socket_address_and_need_not_be_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let long = format!("/tmp/{}", "s".repeat(120));
        refused(&["monitor", "--socket", &long]);
        let odd = std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfe.sock");
        let cli = Cli::try_parse_from([
            std::ffi::OsStr::new("vitalring"),
            std::ffi::OsStr::new("monitor"),
            std::ffi::OsStr::new("--socket"),
            odd,
        ])
        .unwrap();
        let Command::Monitor(m) = cli.command else {
            unreachable!()
        };
        assert_eq!(m.endpoint.socket.unwrap().as_os_str(), odd);
    }

    fn sim_check(args: &[&str]) -> Result<(), String> {
        let mut all = vec!["sim"];
        all.extend_from_slice(args);
        parse(&all).unwrap().check()
    }

    #[test]
    fn frame_size_must_hold_the_encodings_largest_payload() {
        use vitalring_core::Encoding;
        for enc in [Encoding::Json, Encoding::Binary] {
            let name = match enc {
                Encoding::Json => "json",
                Encoding::Binary => "binary",
            };
            let min = payload_limits::min_frame_size(enc);
            let ok = min.to_string();
            let small = (min - 8).to_string();
            assert_eq!(
                sim_check(&["--encoding", name, "--frame-size", &ok]),
                Ok(())
            );
            let e = sim_check(&["--encoding", name, "--frame-size", &small]).unwrap_err();
            assert!(e.contains(&format!("at least {min}")), "{e}");
        }
        // The sizes the attack used: accepted before, then the simulator died publishing.
        for size in ["64", "128"] {
            assert!(sim_check(&["--frame-size", size]).is_err());
        }
        assert!(sim_check(&["--frame-size", "1048576", "--frames", "2048"]).is_err());
    }

    /// The computed minimum is the real one: every output of every scenario fits it, and the
    /// widest vitals fit for temperatures spread over the whole valid range.
    #[test]
    fn min_frame_size_holds_every_simulator_output() {
        use vitalring_core::layout::SLOT_OVERHEAD;
        use vitalring_core::payload::{encode, MAX_ENCODED_LEN};
        use vitalring_core::vitals::TEMP_RANGE;
        use vitalring_core::Encoding;
        use vitalring_sim::{SimConfig, Simulator};
        for enc in [Encoding::Json, Encoding::Binary] {
            let min = payload_limits::min_frame_size(enc) as usize;
            let max = payload_limits::max_payload_len(enc);
            assert!(min >= max + SLOT_OVERHEAD && min < max + SLOT_OVERHEAD + 8);
            let mut buf = [0u8; MAX_ENCODED_LEN];
            for scenario in vitalring_sim::Scenario::ALL {
                let start = 1_700_000_000_000_000_000;
                let mut sim = Simulator::new(SimConfig::new(scenario, 11, start));
                for out in sim.advance_to(start + 3_000_000_000) {
                    let len = encode(&crate::sim::to_record(&out), enc, &mut buf).unwrap();
                    assert!(len <= max, "{scenario}: {len} > {max}");
                }
            }
            let (lo, hi) = (TEMP_RANGE.start().to_bits(), TEMP_RANGE.end().to_bits());
            for bits in (lo..=hi).step_by(97) {
                let rec = payload_limits::widest_vitals(f32::from_bits(bits));
                let len = encode(&rec, enc, &mut buf).unwrap();
                assert!(len <= max, "temp {}: {len} > {max}", f32::from_bits(bits));
            }
        }
    }

    #[test]
    fn alarm_limits_are_in_range_and_ordered() {
        for args in [
            &["monitor", "--hr-low", "130", "--hr-high", "120"][..],
            &["demo", "--rr-low", "31"],
            &["monitor", "--hr-high", "301"],
            &["monitor", "--spo2-low", "101"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        assert_eq!(
            parse(&["monitor", "--hr-low", "119"]).unwrap().check(),
            Ok(())
        );
    }

    /// `docs/cli.md` states the minimum frame sizes; they must be the computed ones.
    #[test]
    fn docs_state_the_computed_frame_size_minimums() {
        use vitalring_core::layout::SLOT_OVERHEAD;
        use vitalring_core::Encoding;
        let doc = include_str!("../../docs/cli.md");
        for (enc, name) in [(Encoding::Json, "json"), (Encoding::Binary, "binary")] {
            let min = payload_limits::min_frame_size(enc);
            let max = payload_limits::max_payload_len(enc);
            assert!(
                doc.contains(&format!("**{min}** for `{name}`")),
                "{name}: {min}"
            );
            assert!(
                doc.contains(&format!("{max} + {SLOT_OVERHEAD} → {min}")),
                "{name}: {max} + {SLOT_OVERHEAD} → {min}"
            );
        }
    }
}
