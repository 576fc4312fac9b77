//! What to benchmark: transports, frame sizes, scenarios and their parameters.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::BenchError;

/// The transports the benchmark knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The project's own ring over a memfd ([`crate::transport::vitalring`]), default backoff
    /// (sleeps of at most 50 µs).
    Vitalring,
    /// The same ring with a low-power backoff (sleeps of up to 1 ms): less CPU, more latency.
    #[serde(rename = "vitalring-lp")]
    VitalringLp,
    /// The same ring with a sleeping reader: it asks for a status page (a lease) and, with
    /// nothing to read, sleeps in `FUTEX_WAIT` until the writer wakes it (the product's
    /// default reader). In busy mode it never sleeps, but the writer still checks its page
    /// after every commit: the cost of the wake path with no reader asleep.
    #[serde(rename = "vitalring-block")]
    VitalringBlock,
    /// [`Transport::VitalringBlock`] with the writer's wake path switched off
    /// (`SharedMemoryProducer::set_wake_enabled(false)`) and a polling reader: the baseline
    /// for the wake path's throughput cost. Not in the default set.
    #[serde(rename = "vitalring-nowake")]
    VitalringNoWake,
    /// iceoryx2 publish-subscribe (needs the `iceoryx2` cargo feature).
    Iceoryx2,
    /// A connected `AF_UNIX`/`SOCK_SEQPACKET` socket pair (baseline).
    Uds,
    /// The machine's floor: a bare copy ring in shared memory (per-slot sequence word with
    /// Release/Acquire, relaxed 64-bit copy, no checks at all).
    Floor,
    /// The machine's floor for a signal: one cache line (sequence word and the 24-byte bench
    /// header) stored by the writer and spun on by the reader; every size moves 24 bytes.
    #[serde(rename = "floor-flag")]
    FloorFlag,
}

impl Transport {
    /// Every transport, in report order.
    pub const ALL: [Transport; 8] = [
        Transport::Vitalring,
        Transport::VitalringLp,
        Transport::VitalringBlock,
        Transport::VitalringNoWake,
        Transport::Iceoryx2,
        Transport::Uds,
        Transport::Floor,
        Transport::FloorFlag,
    ];

    /// The transports this build can run (iceoryx2 only with the `iceoryx2` feature). The
    /// vitalring hook is always listed: until it is implemented its runs report `unsupported`.
    pub fn available() -> Vec<Transport> {
        Transport::ALL
            .into_iter()
            .filter(|t| *t != Transport::Iceoryx2 || cfg!(feature = "iceoryx2"))
            .filter(|t| *t != Transport::VitalringNoWake)
            .collect()
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Vitalring => "vitalring",
            Transport::VitalringLp => "vitalring-lp",
            Transport::VitalringBlock => "vitalring-block",
            Transport::VitalringNoWake => "vitalring-nowake",
            Transport::Iceoryx2 => "iceoryx2",
            Transport::Uds => "uds",
            Transport::Floor => "floor",
            Transport::FloorFlag => "floor-flag",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Transport {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vitalring" | "ring" => Ok(Transport::Vitalring),
            "vitalring-lp" | "ring-lp" => Ok(Transport::VitalringLp),
            "vitalring-block" | "ring-block" | "block" => Ok(Transport::VitalringBlock),
            "vitalring-nowake" | "ring-nowake" | "nowake" => Ok(Transport::VitalringNoWake),
            "iceoryx2" | "iox2" => Ok(Transport::Iceoryx2),
            "uds" | "unix" | "seqpacket" => Ok(Transport::Uds),
            "floor" => Ok(Transport::Floor),
            "floor-flag" | "flag" => Ok(Transport::FloorFlag),
            other => Err(BenchError::Usage(format!(
                "unknown transport {other:?} (expected vitalring, vitalring-lp, vitalring-block, \
                 vitalring-nowake, iceoryx2, uds, floor or floor-flag)"
            ))),
        }
    }
}

/// What each frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PayloadMode {
    /// The whole frame: `size` bytes per message (the ring: `size - 32`, the slot's capacity).
    #[default]
    Full,
    /// A vitals-sized payload of [`VITALS_PAYLOAD_LEN`] bytes in a frame of `size` bytes (the
    /// common case: the default 4096-byte slot carrying one JSON vitals record). Only run at
    /// sizes whose payload capacity holds it.
    Vitals,
}

/// Bytes per frame in [`PayloadMode::Vitals`]: about what the simulator's JSON vitals record
/// takes (heart rate, SpO2, respiration, NIBP, temperature, pulse rate, with their keys).
pub const VITALS_PAYLOAD_LEN: usize = 150;

impl PayloadMode {
    /// Both modes, in report order.
    pub const ALL: [PayloadMode; 2] = [PayloadMode::Full, PayloadMode::Vitals];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            PayloadMode::Full => "full",
            PayloadMode::Vitals => "vitals",
        }
    }

    /// Bytes per message for a transport whose frames can hold `capacity` bytes: `capacity`
    /// (full) or [`VITALS_PAYLOAD_LEN`] (vitals, if it fits).
    pub fn payload_len(self, capacity: usize) -> usize {
        match self {
            PayloadMode::Full => capacity,
            PayloadMode::Vitals => VITALS_PAYLOAD_LEN.min(capacity),
        }
    }

    /// Whether this mode is run at frame size `size` (vitals: only where a ring slot of that
    /// size holds the vitals payload with room to spare, i.e. it is not a full slot).
    pub fn applies_to(self, size: usize) -> bool {
        match self {
            PayloadMode::Full => true,
            PayloadMode::Vitals => size >= 2 * VITALS_PAYLOAD_LEN + 32,
        }
    }
}

impl fmt::Display for PayloadMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// How the reader waits for the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollMode {
    /// Poll without ever giving up the CPU.
    Busy,
    /// CPU-friendly waiting: the transport's own blocking wait (UDS: blocking `recv`), or
    /// [`crate::Backoff`]: spin a little, then `yield_now`, then sleeps of at most 50 µs.
    Backoff,
}

impl fmt::Display for PollMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            PollMode::Busy => "busy",
            PollMode::Backoff => "backoff",
        })
    }
}

/// What is measured in one run (one writer process, one reader process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// One-way latency of paced frames.
    Latency,
    /// Frames per second with the writer sending flat out.
    Throughput,
    /// Reader CPU use at the clinical rate.
    Cpu,
}

impl fmt::Display for TestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TestKind::Latency => "latency",
            TestKind::Throughput => "throughput",
            TestKind::Cpu => "cpu",
        })
    }
}

/// A test kind with its reader poll mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Latency, busy-polling reader.
    LatencyBusy,
    /// Latency, backoff reader.
    LatencyBackoff,
    /// Maximum sustained throughput, busy-polling reader.
    Throughput,
    /// Reader CPU at 60 Hz vitals + 3 × 25 Hz waveform frames, backoff reader.
    ClinicalCpu,
}

impl Scenario {
    /// All scenarios, in report order.
    pub const ALL: [Scenario; 4] = [
        Scenario::LatencyBusy,
        Scenario::LatencyBackoff,
        Scenario::Throughput,
        Scenario::ClinicalCpu,
    ];

    /// The test kind.
    pub fn kind(self) -> TestKind {
        match self {
            Scenario::LatencyBusy | Scenario::LatencyBackoff => TestKind::Latency,
            Scenario::Throughput => TestKind::Throughput,
            Scenario::ClinicalCpu => TestKind::Cpu,
        }
    }

    /// The reader's poll mode.
    pub fn mode(self) -> PollMode {
        match self {
            Scenario::LatencyBusy | Scenario::Throughput => PollMode::Busy,
            Scenario::LatencyBackoff | Scenario::ClinicalCpu => PollMode::Backoff,
        }
    }
}

/// Parameters of a latency run.
///
/// The writer sends one frame, then waits (spinning on `CLOCK_MONOTONIC`) a random gap drawn
/// uniformly from `[min_gap_ns, max_gap_ns]` measured from the previous send, and so on. The
/// gap never shrinks to catch up, so a writer that was descheduled does not burst (no
/// queueing of our own making). The random gap keeps the sends from phase-locking with the
/// reader's backoff sleeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyParams {
    /// Frames sent (and discarded by the reader) before measuring.
    pub warmup: u64,
    /// Frames measured.
    pub count: u64,
    /// Smallest gap between two sends, ns.
    pub min_gap_ns: u64,
    /// Largest gap between two sends, ns.
    pub max_gap_ns: u64,
}

/// Parameters of a throughput run: the writer sends flat out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputParams {
    /// Warm-up time, ms (frames not counted).
    pub warmup_ms: u64,
    /// Measured time, ms.
    pub duration_ms: u64,
}

/// Parameters of the clinical-rate CPU run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuParams {
    /// Frames per second: 60 vitals + 3 × 25 waveform frames (250 Hz samples, 10 per frame)
    /// = 135, sent evenly spaced (the worst case for wake-ups).
    pub rate_hz: u32,
    /// Warm-up frames (sent at the same rate).
    pub warmup: u64,
    /// Measured time, ms.
    pub duration_ms: u64,
}

/// All run parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Latency, busy-polling reader.
    pub latency_busy: LatencyParams,
    /// Latency, backoff reader.
    pub latency_backoff: LatencyParams,
    /// Throughput.
    pub throughput: ThroughputParams,
    /// Clinical-rate CPU.
    pub cpu: CpuParams,
    /// Queue depth in frames offered to the transports: the vitalring ring's `frameCount`
    /// and iceoryx2's subscriber buffer. Power of two.
    pub capacity: usize,
}

impl Params {
    /// The full run: a few minutes for 3 transports × 3 sizes.
    pub fn full() -> Self {
        Params {
            latency_busy: LatencyParams {
                warmup: 20_000,
                count: 200_000,
                min_gap_ns: 10_000,
                max_gap_ns: 30_000,
            },
            latency_backoff: LatencyParams {
                warmup: 1_000,
                count: 20_000,
                min_gap_ns: 100_000,
                max_gap_ns: 300_000,
            },
            throughput: ThroughputParams {
                warmup_ms: 500,
                duration_ms: 3_000,
            },
            cpu: CpuParams {
                rate_hz: 135,
                warmup: 27,
                duration_ms: 10_000,
            },
            capacity: 2048,
        }
    }

    /// `--quick`: the whole set in well under a minute.
    pub fn quick() -> Self {
        Params {
            latency_busy: LatencyParams {
                warmup: 2_000,
                count: 20_000,
                ..Params::full().latency_busy
            },
            latency_backoff: LatencyParams {
                warmup: 200,
                count: 2_000,
                ..Params::full().latency_backoff
            },
            throughput: ThroughputParams {
                warmup_ms: 100,
                duration_ms: 500,
            },
            cpu: CpuParams {
                rate_hz: 135,
                warmup: 10,
                duration_ms: 2_000,
            },
            capacity: 2048,
        }
    }

    /// Tiny counts for smoke tests: numbers are meaningless, the plumbing is exercised.
    pub fn tiny() -> Self {
        Params {
            latency_busy: LatencyParams {
                warmup: 20,
                count: 200,
                min_gap_ns: 5_000,
                max_gap_ns: 10_000,
            },
            latency_backoff: LatencyParams {
                warmup: 5,
                count: 50,
                min_gap_ns: 50_000,
                max_gap_ns: 100_000,
            },
            throughput: ThroughputParams {
                warmup_ms: 10,
                duration_ms: 50,
            },
            cpu: CpuParams {
                rate_hz: 135,
                warmup: 2,
                duration_ms: 100,
            },
            capacity: 256,
        }
    }
}

/// Frame sizes of the issue.
pub const DEFAULT_SIZES: [usize; 3] = [64, 256, 4096];

/// Options of one benchmark run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Shorter runs (see [`Params::quick`]); ignored when `params` is given.
    pub quick: bool,
    /// Frame sizes in bytes: multiples of 8, 64 ..= 1 MiB. Every transport moves `size` bytes
    /// per message (vitalring: `frameSizeBytes = size`, so its payload is `size - 32`).
    pub sizes: Vec<usize>,
    /// Transports, in report order.
    pub transports: Vec<Transport>,
    /// Queue depth in frames, overriding the parameter set's (`--capacity`).
    pub capacity: Option<usize>,
    /// Scenarios, in report order.
    pub scenarios: Vec<Scenario>,
    /// Payload modes, in report order (vitals only at sizes it applies to).
    pub payloads: Vec<PayloadMode>,
    /// Write the JSON report here as well.
    pub json_out: Option<PathBuf>,
    /// Explicit parameters (overrides `quick`).
    pub params: Option<Params>,
    /// The executable re-run as the peer processes (default: `std::env::current_exe()`).
    /// It must call [`crate::peer_main`] when `argv[1] == PEER_ARG`.
    pub peer_exe: Option<PathBuf>,
    /// Pin the writer and the reader to two different CPUs when there are two.
    pub pin: bool,
    /// One progress line per run on stderr.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            quick: false,
            sizes: DEFAULT_SIZES.to_vec(),
            transports: Transport::available(),
            capacity: None,
            scenarios: Scenario::ALL.to_vec(),
            payloads: PayloadMode::ALL.to_vec(),
            json_out: None,
            params: None,
            peer_exe: None,
            pin: true,
            progress: true,
        }
    }
}

/// Help text of [`BenchOptions::parse_args`].
pub const USAGE: &str = "\
usage: bench [--quick] [--sizes 64,256,4096] [--transports vitalring,vitalring-lp,iceoryx2,uds]
             [--scenarios latency-busy,latency-backoff,throughput,cpu] [--json PATH]
             [--payloads full,vitals] [--capacity N] [--no-pin] [--no-progress]
  Runs writer and reader in separate processes and prints one-way latency (busy and
  backoff polling), maximum throughput with lost frames, and reader CPU at 135 frames/s.

  transports: vitalring     the real producer, handshake and core reader (backoff sleeps <= 50 us)
              vitalring-lp  the same with a low-power backoff (sleeps <= 1 ms)
              vitalring-block  the same with a sleeping reader (futex wake-up, the default
                            of monitor, recorder and bindings); busy mode never sleeps
              vitalring-nowake the block reader's ring with the writer's wake path off and a
                            polling reader (not in the default set: the wake path's cost)
              iceoryx2      iceoryx2 publish-subscribe (build with --features iceoryx2)
              uds           AF_UNIX SOCK_SEQPACKET baseline
              floor         the machine's floor: a bare shared-memory copy ring, no checks
              floor-flag    the floor for a signal: one cache line, 24 bytes per frame
  --payloads    full: every message fills the frame; vitals: a 150-byte payload (one JSON
                vitals record) in a frame of that size, at sizes >= 332 (default: both)
  --quick       short runs: the whole default set in under a minute
  --json PATH   also write the report as JSON (schema \"vitalring-bench/1\")
  --no-pin      do not pin writer and reader to different CPUs
  --capacity N  queue depth in frames, a power of two (ring frameCount, iceoryx2 subscriber
                buffer; default 2048, --quick 256): a ring of 2048 x 4096 B is 8 MiB, more
                than the caches hold; a small one shows the in-cache speed
";

impl BenchOptions {
    /// The parameters in force.
    pub fn effective_params(&self) -> Params {
        let mut p = match &self.params {
            Some(p) => p.clone(),
            None if self.quick => Params::quick(),
            None => Params::full(),
        };
        if let Some(c) = self.capacity {
            p.capacity = c;
        }
        p
    }

    /// Parses command-line arguments (without the program name / sub-command), see [`USAGE`].
    /// `--help` yields `Err(BenchError::Usage(USAGE))`.
    pub fn parse_args<I, S>(args: I) -> Result<Self, BenchError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut opts = BenchOptions::default();
        let mut it = args.into_iter().map(Into::into);
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, BenchError> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| BenchError::Usage(format!("{name} needs a value")))
            };
            match flag.as_str() {
                "--quick" => opts.quick = true,
                "--no-pin" => opts.pin = false,
                "--no-progress" => opts.progress = false,
                "--json" => opts.json_out = Some(PathBuf::from(value("--json")?)),
                "--capacity" => {
                    let v = value("--capacity")?;
                    opts.capacity = Some(v.parse().map_err(|_| {
                        BenchError::Usage(format!("--capacity {v:?}: expected a number of frames"))
                    })?);
                }
                "--sizes" => {
                    opts.sizes = value("--sizes")?
                        .split(',')
                        .map(|s| {
                            s.trim().parse::<usize>().map_err(|_| {
                                BenchError::Usage(format!("bad size {s:?} in --sizes"))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--transports" => {
                    opts.transports = value("--transports")?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?;
                }
                "--payloads" => {
                    opts.payloads = value("--payloads")?
                        .split(',')
                        .map(|p| match p.trim().to_ascii_lowercase().as_str() {
                            "full" => Ok(PayloadMode::Full),
                            "vitals" => Ok(PayloadMode::Vitals),
                            other => Err(BenchError::Usage(format!(
                                "unknown payload mode {other:?} (expected full or vitals)"
                            ))),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--scenarios" => {
                    opts.scenarios = value("--scenarios")?
                        .split(',')
                        .map(parse_scenario)
                        .collect::<Result<_, _>>()?;
                }
                "-h" | "--help" => return Err(BenchError::Usage(USAGE.to_string())),
                other => {
                    return Err(BenchError::Usage(format!(
                        "unknown argument {other:?}\n{USAGE}"
                    )))
                }
            }
        }
        opts.validate()?;
        Ok(opts)
    }

    /// Checks sizes and lists.
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.sizes.is_empty()
            || self.transports.is_empty()
            || self.scenarios.is_empty()
            || self.payloads.is_empty()
        {
            return Err(BenchError::Usage(
                "sizes, transports, scenarios and payloads must not be empty".into(),
            ));
        }
        for &s in &self.sizes {
            if s < 64 || s % 8 != 0 || s > 1 << 20 {
                return Err(BenchError::Usage(format!(
                    "frame size {s} invalid: a multiple of 8 from 64 to 1048576"
                )));
            }
        }
        let p = self.effective_params();
        if !p.capacity.is_power_of_two() {
            return Err(BenchError::Usage(format!(
                "capacity {} is not a power of two",
                p.capacity
            )));
        }
        for l in [&p.latency_busy, &p.latency_backoff] {
            if l.min_gap_ns > l.max_gap_ns || l.count == 0 {
                return Err(BenchError::Usage("bad latency parameters".into()));
            }
        }
        if p.cpu.rate_hz == 0 {
            return Err(BenchError::Usage("cpu.rate_hz must be positive".into()));
        }
        Ok(())
    }
}

fn parse_scenario(s: &str) -> Result<Scenario, BenchError> {
    match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "latency-busy" | "busy" => Ok(Scenario::LatencyBusy),
        "latency-backoff" | "backoff" => Ok(Scenario::LatencyBackoff),
        "latency" => Err(BenchError::Usage(
            "say latency-busy or latency-backoff".into(),
        )),
        "throughput" => Ok(Scenario::Throughput),
        "cpu" | "clinical-cpu" => Ok(Scenario::ClinicalCpu),
        other => Err(BenchError::Usage(format!("unknown scenario {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments() {
        let o = BenchOptions::parse_args([
            "--quick",
            "--sizes",
            "64,256",
            "--transports=uds,vitalring",
            "--json",
            "/tmp/x.json",
            "--scenarios",
            "latency-busy,cpu",
        ])
        .unwrap();
        assert!(o.quick);
        assert_eq!(o.sizes, vec![64, 256]);
        assert_eq!(o.transports, vec![Transport::Uds, Transport::Vitalring]);
        assert_eq!(
            o.scenarios,
            vec![Scenario::LatencyBusy, Scenario::ClinicalCpu]
        );
        assert_eq!(
            o.json_out.as_deref(),
            Some(std::path::Path::new("/tmp/x.json"))
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(BenchOptions::parse_args(["--sizes", "65"]).is_err());
        assert!(BenchOptions::parse_args(["--sizes", "32"]).is_err());
        assert!(BenchOptions::parse_args(["--transports", "tcp"]).is_err());
        assert!(BenchOptions::parse_args(["--bogus"]).is_err());
        assert!(BenchOptions::parse_args(["--json"]).is_err());
    }

    #[test]
    fn capacity_overrides_the_preset_and_must_be_a_power_of_two() {
        let o = BenchOptions::parse_args(["--capacity", "128"]).unwrap();
        assert_eq!(o.effective_params().capacity, 128);
        let o = BenchOptions::parse_args(["--quick", "--capacity=4096"]).unwrap();
        assert_eq!(o.effective_params().capacity, 4096);
        assert!(BenchOptions::parse_args(["--capacity", "100"]).is_err());
        assert!(BenchOptions::parse_args(["--capacity", "many"]).is_err());
    }

    #[test]
    fn presets_validate() {
        for p in [Params::full(), Params::quick(), Params::tiny()] {
            let o = BenchOptions {
                params: Some(p),
                ..BenchOptions::default()
            };
            o.validate().unwrap();
        }
    }
}
