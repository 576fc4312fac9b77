//! `vitalring sim`: the patient simulator as a ring producer, paced against wall time.
//!
//! The simulator's outputs carry timestamps from its own sample clock (`start + k/60 s` for
//! vitals, `start + first × 4 ms` for waveform chunks). The loop publishes each output when
//! the monotonic clock reaches `start + (t − start)`: the schedule is absolute, so sleep
//! overshoot never accumulates into drift. Between outputs (and while a fault keeps it from
//! writing) the heartbeat is refreshed at least every [`HEARTBEAT_NS`].
//!
//! `--beds N` runs N patients (different seeds and scenarios) from this one thread, each on its
//! own ring and channel `bed1` .. `bedN`. Each channel answers `describe` and `stats` and the
//! commands in [`COMMANDS`] (see [`BedControl::command`]): a command is taken by the control
//! thread, which only sets a flag or a pending value; the producing loop applies it at its next
//! round (at most 20 ms later).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vitalring_core::{Encoding, Geometry, Record};
use vitalring_linux::request::{ChannelMeta, CommandError, RequestConfig};
use vitalring_sim::{Fault, Scenario, SimConfig, SimOutput, Simulator};

use crate::args::{Endpoint, SimArgs};
use crate::clock::{duration_ns, since_ns, wall_ns};
use crate::error::{CliError, CliResult};
use crate::link::Producer;
use crate::signals::Stop;

/// Longest time without a heartbeat refresh while the producer is alive and not stalled.
pub const HEARTBEAT_NS: u64 = 20_000_000;
/// Longest single sleep, so signals are noticed promptly.
const MAX_SLEEP_NS: u64 = 20_000_000;

/// The core record for a simulator output (the simulator crate's mapping).
pub use vitalring_sim::source::to_record;

/// What the producer loop writes to (the Linux producer; a test double in tests).
pub trait Sink {
    /// Publishes a record; returns its ring index.
    ///
    /// # Errors
    /// The record does not encode or fit.
    fn publish(&mut self, record: &Record, encoding: Encoding, t_ns: u64) -> CliResult<u64>;
    /// Refreshes the heartbeat without publishing.
    fn heartbeat(&mut self);
    /// Flips bit `bit` of byte `offset` of the slot holding ring index `index`.
    fn corrupt(&mut self, index: u64, offset: usize, bit: u8);
}

impl Sink for Producer {
    fn publish(&mut self, record: &Record, encoding: Encoding, t_ns: u64) -> CliResult<u64> {
        Producer::publish(self, record, encoding, t_ns)
    }
    fn heartbeat(&mut self) {
        Producer::heartbeat(self);
    }
    fn corrupt(&mut self, index: u64, offset: usize, bit: u8) {
        Producer::corrupt(self, index, offset, bit);
    }
}

/// SplitMix64 (the simulator crate's): the corruption and burst choices, seeded from `--seed`.
pub use vitalring_sim::SplitMix;

/// The transport fault this run injects, with the CLI's overrides applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// None.
    Clean,
    /// Stop writing and heart-beating `after_ns` after the start.
    Stall {
        /// When.
        after_ns: u64,
    },
    /// `abort()` `after_ns` after the start.
    Crash {
        /// When.
        after_ns: u64,
    },
    /// Bit-flip this fraction of committed frames.
    Corrupt {
        /// Probability per frame.
        rate: f64,
    },
    /// Every `every_ns`, write `frames` filler (heartbeat) frames flat out.
    Burst {
        /// Period.
        every_ns: u64,
        /// Frames per burst.
        frames: u64,
    },
}

impl Plan {
    /// The plan for `args`.
    ///
    /// # Errors
    /// An override out of range.
    pub fn from_args(args: &SimArgs) -> CliResult<Self> {
        let secs = |s: f64, what: &str| {
            if s.is_finite() && s >= 0.0 {
                Ok((s * 1e9) as u64)
            } else {
                Err(CliError::usage(format!(
                    "{what} must be a number of seconds >= 0"
                )))
            }
        };
        Ok(match args.scenario.to_sim().fault() {
            None => Self::Clean,
            Some(Fault::Stall { after_s }) => Self::Stall {
                after_ns: secs(args.fault_after.unwrap_or(after_s), "--fault-after")?,
            },
            Some(Fault::Crash { after_s }) => Self::Crash {
                after_ns: secs(args.fault_after.unwrap_or(after_s), "--fault-after")?,
            },
            Some(Fault::Corrupt { rate }) => {
                let rate = args.corrupt_rate.unwrap_or(rate);
                if !(0.0..=1.0).contains(&rate) {
                    return Err(CliError::usage("--corrupt-rate must be within 0..=1"));
                }
                Self::Corrupt { rate }
            }
            Some(Fault::Burst) => Self::Burst {
                every_ns: secs(args.burst_every, "--burst-every")?.max(1_000_000),
                frames: args
                    .burst_frames
                    .unwrap_or(4 * u64::from(args.frames))
                    .max(1),
            },
        })
    }
}

/// Counts for the log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimCounts {
    /// Vitals frames.
    pub vitals: u64,
    /// Waveform chunks.
    pub waveforms: u64,
    /// Filler frames of bursts.
    pub filler: u64,
    /// Frames bit-flipped.
    pub corrupted: u64,
}

/// Publishes one output and applies a corruption fault to it.
fn publish_one(
    sink: &mut dyn Sink,
    out: &SimOutput,
    encoding: Encoding,
    plan: Plan,
    rng: &mut SplitMix,
    counts: &mut SimCounts,
) -> CliResult {
    let record = to_record(out);
    let index = sink.publish(&record, encoding, out.t_ns())?;
    match out {
        SimOutput::Vitals(_) => counts.vitals += 1,
        SimOutput::Waveform(_) => counts.waveforms += 1,
    }
    if let Plan::Corrupt { rate } = plan {
        if rng.unit() < rate {
            // A bit of the first 16 payload bytes (every record's payload is longer): the CRC
            // no longer matches, so readers must reject the frame.
            let at = 24 + (rng.next_u64() % 16) as usize;
            sink.corrupt(index, at, (rng.next_u64() % 8) as u8);
            counts.corrupted += 1;
        }
    }
    Ok(())
}

/// What the control thread (commands) tells one bed's producing loop, and what it says
/// about the bed in `describe`.
pub struct BedControl {
    /// The bed number (`--beds`), or `None` for a single channel.
    bed: Option<u32>,
    /// A scenario to switch to live (taken by the loop).
    switch_to: Mutex<Option<Scenario>>,
    /// No frames and no heartbeats while set.
    paused: AtomicBool,
    /// An alarm test of this many ms was asked for (taken by the loop; 0: none).
    alarm_test_ms: AtomicU64,
    /// The scenario now (for the description).
    scenario: Mutex<Scenario>,
    /// The `describe` metadata, shared with the control server.
    meta: Arc<Mutex<ChannelMeta>>,
}

/// Commands the simulator accepts (`vitalring ctl CHANNEL ...`).
pub const COMMANDS: [&str; 4] = ["scenario", "pause", "resume", "alarm-test"];
/// Longest alarm test, s.
pub const MAX_ALARM_TEST_S: u64 = 300;
/// Vitals shown during an alarm test: above every default high limit / below every low one.
const ALARM_TEST_HR: u16 = 170;
const ALARM_TEST_SPO2: u8 = 80;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BedControl {
    fn new(bed: Option<u32>, scenario: Scenario, encoding: &str) -> Arc<Self> {
        let c = Arc::new(Self {
            bed,
            switch_to: Mutex::new(None),
            paused: AtomicBool::new(false),
            alarm_test_ms: AtomicU64::new(0),
            scenario: Mutex::new(scenario),
            meta: Arc::new(Mutex::new(ChannelMeta {
                kind: "simulator".into(),
                description: String::new(),
                encoding: encoding.into(),
            })),
        });
        c.describe();
        c
    }

    /// Rewrites the description: "bed 3, scenario afib" (", paused" while paused).
    fn describe(&self) {
        let scenario = *lock(&self.scenario);
        let mut d = match self.bed {
            Some(b) => format!("bed {b}, scenario {scenario}"),
            None => format!("scenario {scenario}"),
        };
        if self.paused.load(Ordering::Relaxed) {
            d.push_str(", paused");
        }
        lock(&self.meta).description = d;
    }

    /// Carries out one command (on the control server's thread: never blocks).
    ///
    /// # Errors
    /// An unknown command or bad arguments.
    pub fn command(&self, words: &[String]) -> Result<String, CommandError> {
        let name = words.first().map_or("", String::as_str);
        let args = words.get(1..).unwrap_or(&[]);
        let no_args = || {
            if args.is_empty() {
                Ok(())
            } else {
                Err(CommandError::BadArguments(format!(
                    "{name} takes no arguments"
                )))
            }
        };
        let reply = match name {
            "scenario" => {
                let [which] = args else {
                    return Err(CommandError::BadArguments(
                        "usage: scenario NAME (normal, tachycardia, bradycardia, afib, \
                         asystole, desaturation, apnea, motion)"
                            .into(),
                    ));
                };
                let scenario: Scenario =
                    which
                        .parse()
                        .map_err(|e: vitalring_sim::ParseScenarioError| {
                            CommandError::BadArguments(e.to_string())
                        })?;
                if scenario.fault().is_some() {
                    return Err(CommandError::BadArguments(format!(
                        "{scenario} is a transport fault, not a patient condition: choose it \
                         when starting the simulator (--scenario {scenario})"
                    )));
                }
                *lock(&self.switch_to) = Some(scenario);
                *lock(&self.scenario) = scenario;
                format!("scenario {scenario} from the next sample (signals continue, same epoch)")
            }
            "pause" => {
                no_args()?;
                self.paused.store(true, Ordering::Relaxed);
                "paused: no frames and no heartbeats until resume (readers will report a stall)"
                    .to_owned()
            }
            "resume" => {
                no_args()?;
                self.paused.store(false, Ordering::Relaxed);
                "resumed".to_owned()
            }
            "alarm-test" => {
                let secs = match args {
                    [] => 10,
                    [s] => s
                        .parse::<u64>()
                        .ok()
                        .filter(|s| (1..=MAX_ALARM_TEST_S).contains(s))
                        .ok_or_else(|| {
                            CommandError::BadArguments(format!(
                                "usage: alarm-test [SECONDS], 1 to {MAX_ALARM_TEST_S} (default 10)"
                            ))
                        })?,
                    _ => {
                        return Err(CommandError::BadArguments(
                            "usage: alarm-test [SECONDS]".into(),
                        ))
                    }
                };
                self.alarm_test_ms.store(secs * 1000, Ordering::Relaxed);
                format!(
                    "alarm test for {secs} s: the vitals read HR {ALARM_TEST_HR} bpm, pulse \
                     {ALARM_TEST_HR} bpm and SpO2 {ALARM_TEST_SPO2} % (waveforms unchanged)"
                )
            }
            other => return Err(CommandError::Unknown(other.to_owned())),
        };
        self.describe();
        Ok(reply)
    }

    /// The request configuration of this bed's producer.
    fn requests(self: &Arc<Self>, args: &SimArgs) -> RequestConfig {
        let me = Arc::clone(self);
        RequestConfig {
            meta: Arc::clone(&self.meta),
            commands: Some(Arc::new(move |words: &[String]| me.command(words))),
            command_names: COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
            command_uids: args.command_uid.clone(),
            ..RequestConfig::default()
        }
    }
}

/// The patient scenarios `--beds` cycles through after bed 1's.
pub const WARD: [Scenario; 8] = [
    Scenario::Normal,
    Scenario::Bradycardia,
    Scenario::Afib,
    Scenario::Desaturation,
    Scenario::Apnea,
    Scenario::Motion,
    Scenario::Tachycardia,
    Scenario::Asystole,
];

/// Seed and scenario of bed `k` (1-based) of `--beds`.
pub fn bed_plan(first: Scenario, seed: u64, k: u32) -> (Scenario, u64) {
    let seed = seed.wrapping_add(u64::from(k - 1));
    if k == 1 {
        return (first, seed);
    }
    let start = WARD.iter().position(|s| *s == first).unwrap_or(0);
    (WARD[(start + k as usize - 1) % WARD.len()], seed)
}

/// One simulated patient and the ring it writes.
pub struct Bed<'a> {
    /// Where its frames go.
    pub sink: &'a mut dyn Sink,
    /// The patient.
    pub sim: Simulator,
    /// Commands from the control thread.
    pub control: Arc<BedControl>,
    /// Label for log lines ("" for a single channel, "bed2: " for a bed).
    pub label: String,
    rng: SplitMix,
    counts: SimCounts,
    last_beat: u64,
    /// Alarm test until this time (ns since the start).
    alarm_until: u64,
    paused: bool,
}

impl<'a> Bed<'a> {
    /// A bed simulating `scenario` from `seed`, with simulated time starting at `start_wall`.
    pub fn new(
        sink: &'a mut dyn Sink,
        control: Arc<BedControl>,
        scenario: Scenario,
        seed: u64,
        start_wall: u64,
    ) -> Self {
        let label = control
            .bed
            .map_or_else(String::new, |b| format!("bed{b}: "));
        Self {
            sink,
            sim: Simulator::new(SimConfig::new(scenario, seed, start_wall)),
            control,
            label,
            rng: SplitMix::new(seed),
            counts: SimCounts::default(),
            last_beat: 0,
            alarm_until: 0,
            paused: false,
        }
    }
}

/// `vitalring sim`.
///
/// # Errors
/// Bad geometry, the socket is taken, or publishing failed.
pub fn run(args: &SimArgs, stop: &Stop) -> CliResult {
    let geometry = Geometry::new(args.frame_size, args.frames).map_err(|e| {
        CliError::usage(format!(
            "bad geometry --frame-size {} --frames {}: {e}",
            args.frame_size, args.frames
        ))
    })?;
    let plan = Plan::from_args(args)?;
    // The loop sleeps to an absolute schedule; the default 50 µs timer slack would make every
    // frame up to 50 µs late on top of the scheduler's own wake-up latency. Best effort.
    let _ = nix::sys::prctl::set_timerslack(1);
    let encoding = args.encoding.name();
    // (endpoint, bed number, scenario, seed) of each channel.
    let channels: Vec<(Endpoint, Option<u32>, Scenario, u64)> = match args.beds {
        None => vec![(
            args.endpoint.clone(),
            None,
            args.scenario.to_sim(),
            args.seed,
        )],
        Some(n) => (1..=n)
            .map(|k| {
                let (scenario, seed) = bed_plan(args.scenario.to_sim(), args.seed, k);
                let endpoint = Endpoint {
                    socket: None,
                    channel: format!("bed{k}"),
                    token_file: args.endpoint.token_file.clone(),
                };
                (endpoint, Some(k), scenario, seed)
            })
            .collect(),
    };
    let mut producers = Vec::with_capacity(channels.len());
    let mut controls = Vec::with_capacity(channels.len());
    for (endpoint, bed, scenario, seed) in &channels {
        let control = BedControl::new(*bed, *scenario, encoding);
        let requests = control.requests(args);
        let producer = Producer::create_with(endpoint, geometry, |c| {
            c.requests = requests;
            c.allowed_uids = args.allow_uid.clone();
        })?;
        eprintln!(
            "vitalring sim: serving {} | frame size {} B x {} frames ({} B) | epoch {:016x} | \
             scenario {} seed {} encoding {} | pid {}",
            producer.socket().display(),
            geometry.frame_size(),
            geometry.frame_count(),
            geometry.region_len(),
            producer.epoch(),
            if args.beds.is_some() {
                scenario.name()
            } else {
                args.scenario.name()
            },
            seed,
            encoding,
            std::process::id(),
        );
        producers.push(producer);
        controls.push(control);
    }
    let start_wall = wall_ns();
    let result = {
        let mut beds: Vec<Bed<'_>> = producers
            .iter_mut()
            .zip(&controls)
            .zip(&channels)
            .map(|((p, c), (_, _, scenario, seed))| {
                Bed::new(
                    p as &mut dyn Sink,
                    Arc::clone(c),
                    *scenario,
                    *seed,
                    start_wall,
                )
            })
            .collect();
        produce_beds(&mut beds, args, plan, stop, start_wall)
    };
    for producer in producers {
        // Every frame this producer committed, heartbeat frames included: a reader that
        // attached at `start_index` and drained after the stop accounts for
        // `published - start_index` of them.
        if args.beds.is_some() {
            eprintln!(
                "vitalring sim: {} published {}",
                producer.socket().display(),
                producer.published()
            );
        } else {
            eprintln!("vitalring sim: published {}", producer.published());
        }
        producer.shutdown();
    }
    result
}

/// Applies what the control thread asked for since the last round.
fn take_commands(bed: &mut Bed<'_>, now: u64) {
    if let Some(s) = lock(&bed.control.switch_to).take() {
        bed.sim.set_scenario(s);
        eprintln!("vitalring sim: {}scenario {s} (live switch)", bed.label);
    }
    let paused = bed.control.paused.load(Ordering::Relaxed);
    if paused != bed.paused {
        bed.paused = paused;
        eprintln!(
            "vitalring sim: {}{}",
            bed.label,
            if paused { "paused" } else { "resumed" }
        );
    }
    let ms = bed.control.alarm_test_ms.swap(0, Ordering::Relaxed);
    if ms > 0 {
        bed.alarm_until = now + ms * 1_000_000;
        eprintln!("vitalring sim: {}alarm test for {} s", bed.label, ms / 1000);
    }
}

/// The paced producer loop of every bed (one thread; each bed its own ring).
///
/// # Errors
/// Publishing failed.
pub fn produce_beds(
    beds: &mut [Bed<'_>],
    args: &SimArgs,
    plan: Plan,
    stop: &Stop,
    start_wall: u64,
) -> CliResult {
    let encoding = args.encoding.to_core();
    let start = Instant::now();
    let duration = duration_ns(args.duration);
    let log_every = duration_ns(Some(args.log_every)).filter(|&n| n > 0);
    let mut next_log = log_every.unwrap_or(u64::MAX);
    let mut next_burst = match plan {
        Plan::Burst { every_ns, .. } => every_ns,
        _ => u64::MAX,
    };
    let mut stalled = false;
    loop {
        let now = since_ns(start);
        if stop.requested() || duration.is_some_and(|d| now >= d) {
            break;
        }
        match plan {
            Plan::Crash { after_ns } if now >= after_ns => {
                let c = total(beds);
                eprintln!(
                    "vitalring sim: crash scenario: aborting after {} vitals, {} waveform frames",
                    c.vitals, c.waveforms
                );
                std::process::abort();
            }
            Plan::Stall { after_ns } if now >= after_ns && !stalled => {
                stalled = true;
                eprintln!(
                    "vitalring sim: stall scenario: no more frames or heartbeats (process stays \
                     alive until signalled)"
                );
            }
            _ => {}
        }
        let burst_due = matches!(plan, Plan::Burst { .. }) && now >= next_burst;
        if burst_due {
            if let Plan::Burst { every_ns, .. } = plan {
                next_burst = now + every_ns;
            }
        }
        for bed in beds.iter_mut() {
            take_commands(bed, now);
            let due = start_wall.saturating_add(now);
            if stalled || bed.paused {
                // A paused bed's patient lives on: what comes due is not sent.
                while bed.sim.peek_t_ns() <= due {
                    bed.sim.next_output();
                }
                continue;
            }
            while bed.sim.peek_t_ns() <= due {
                let mut out = bed.sim.next_output();
                if now < bed.alarm_until {
                    if let SimOutput::Vitals(v) = &mut out {
                        v.hr_bpm = ALARM_TEST_HR;
                        v.pulse_rate_bpm = ALARM_TEST_HR;
                        v.spo2_pct = ALARM_TEST_SPO2;
                    }
                }
                publish_one(
                    bed.sink,
                    &out,
                    encoding,
                    plan,
                    &mut bed.rng,
                    &mut bed.counts,
                )?;
                bed.last_beat = now;
            }
            if let (true, Plan::Burst { frames, .. }) = (burst_due, plan) {
                burst(bed.sink, frames, &mut bed.counts)?;
                bed.last_beat = now;
            }
            if now.saturating_sub(bed.last_beat) >= HEARTBEAT_NS {
                bed.sink.heartbeat();
                bed.last_beat = now;
            }
        }
        if now >= next_log {
            next_log = now + log_every.unwrap_or(u64::MAX);
            let c = total(beds);
            eprintln!(
                "vitalring sim: t={:.0}s vitals {} waveforms {} filler {} corrupted {}{}",
                now as f64 / 1e9,
                c.vitals,
                c.waveforms,
                c.filler,
                c.corrupted,
                if stalled { " (stalled)" } else { "" }
            );
        }
        // Sleep to the next scheduled output (absolute schedule: no drift), but wake for the
        // heartbeat, commands, signals and the end of the run.
        let now = since_ns(start);
        let mut wake = now + MAX_SLEEP_NS;
        if !stalled {
            for bed in beds.iter() {
                if !bed.paused {
                    let next_out = bed.sim.peek_t_ns().saturating_sub(start_wall);
                    wake = wake.min(next_out).min(bed.last_beat + HEARTBEAT_NS);
                }
            }
        }
        if let Some(d) = duration {
            wake = wake.min(d);
        }
        if wake > now {
            std::thread::sleep(Duration::from_nanos(wake - now));
        }
    }
    let c = total(beds);
    eprintln!(
        "vitalring sim: stopped after {:.1}s: vitals {} waveforms {} filler {} corrupted {}",
        since_ns(start) as f64 / 1e9,
        c.vitals,
        c.waveforms,
        c.filler,
        c.corrupted
    );
    Ok(())
}

fn total(beds: &[Bed<'_>]) -> SimCounts {
    beds.iter().fold(SimCounts::default(), |a, b| SimCounts {
        vitals: a.vitals + b.counts.vitals,
        waveforms: a.waveforms + b.counts.waveforms,
        filler: a.filler + b.counts.filler,
        corrupted: a.corrupted + b.counts.corrupted,
    })
}

/// Writes `frames` heartbeat frames as fast as possible: a reader that does not keep up is
/// lapped and reports the lost frames as dropped.
fn burst(sink: &mut dyn Sink, frames: u64, counts: &mut SimCounts) -> CliResult {
    for _ in 0..frames {
        sink.publish(&Record::Heartbeat, Encoding::Json, wall_ns())?;
        counts.filler += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::payload::{self, MAX_ENCODED_LEN};
    use vitalring_sim::Scenario;

    #[test]
    fn every_output_of_every_scenario_is_a_valid_record() {
        for scenario in Scenario::ALL {
            let start = 1_700_000_000_000_000_000;
            let mut sim = Simulator::new(SimConfig::new(scenario, 3, start));
            for out in sim.advance_to(start + 2_000_000_000) {
                let record = to_record(&out);
                for enc in [Encoding::Json, Encoding::Binary] {
                    let mut buf = [0u8; MAX_ENCODED_LEN];
                    let len = payload::encode(&record, enc, &mut buf)
                        .unwrap_or_else(|e| panic!("{scenario}: {e}"));
                    let back = payload::decode(record.frame_type(), enc, &buf[..len]).unwrap();
                    // JSON rounds the temperature; compare the rest exactly.
                    match (&record, &back) {
                        (Record::Waveform(a), Record::Waveform(b)) => assert_eq!(a, b),
                        (Record::Vitals(a), Record::Vitals(b)) => {
                            assert_eq!(a.hr_bpm, b.hr_bpm);
                            assert_eq!(a.nibp, b.nibp);
                        }
                        _ => panic!("record kind changed"),
                    }
                }
            }
        }
    }

    #[test]
    fn splitmix_is_deterministic_and_uniformish() {
        let mut a = SplitMix::new(9);
        let mut b = SplitMix::new(9);
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert_eq!(xs[0], b.unit());
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((0.4..0.6).contains(&mean));
    }
}
