//! `vitalring sim`: the patient simulator as a ring producer, paced against wall time.
//!
//! The simulator's outputs carry timestamps from its own sample clock (`start + k/60 s` for
//! vitals, `start + first × 4 ms` for waveform chunks). The loop publishes each output when
//! the monotonic clock reaches `start + (t − start)`: the schedule is absolute, so sleep
//! overshoot never accumulates into drift. Between outputs (and while a fault keeps it from
//! writing) the heartbeat is refreshed at least every [`HEARTBEAT_NS`].

use std::time::{Duration, Instant};

use vitalring_core::{Encoding, Geometry, Record};
use vitalring_sim::{Fault, SimConfig, SimOutput, Simulator};

use crate::args::SimArgs;
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
    let mut producer = Producer::create(&args.endpoint, geometry)?;
    eprintln!(
        "vitalring sim: serving {} | frame size {} B x {} frames ({} B) | epoch {:016x} | \
         scenario {} seed {} encoding {} | pid {}",
        producer.socket().display(),
        geometry.frame_size(),
        geometry.frame_count(),
        geometry.region_len(),
        producer.epoch(),
        args.scenario.name(),
        args.seed,
        match args.encoding {
            crate::args::EncodingArg::Json => "json",
            crate::args::EncodingArg::Binary => "binary",
        },
        std::process::id(),
    );
    let result = produce(&mut producer, args, plan, stop);
    // Every frame this producer committed, heartbeat frames included: a reader that attached at
    // `start_index` and drained after the stop accounts for `published - start_index` of them.
    eprintln!("vitalring sim: published {}", producer.published());
    producer.shutdown();
    result
}

/// The paced producer loop.
///
/// # Errors
/// Publishing failed.
pub fn produce(sink: &mut dyn Sink, args: &SimArgs, plan: Plan, stop: &Stop) -> CliResult {
    let encoding = args.encoding.to_core();
    let start_wall = wall_ns();
    let start = Instant::now();
    let mut sim = Simulator::new(SimConfig::new(
        args.scenario.to_sim(),
        args.seed,
        start_wall,
    ));
    let mut rng = SplitMix::new(args.seed);
    let mut counts = SimCounts::default();
    let duration = duration_ns(args.duration);
    let log_every = duration_ns(Some(args.log_every)).filter(|&n| n > 0);
    let mut next_log = log_every.unwrap_or(u64::MAX);
    let mut last_beat = 0u64;
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
                eprintln!(
                    "vitalring sim: crash scenario: aborting after {} vitals, {} waveform frames",
                    counts.vitals, counts.waveforms
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
        if !stalled {
            let due = start_wall.saturating_add(now);
            while sim.peek_t_ns() <= due {
                let out = sim.next_output();
                publish_one(sink, &out, encoding, plan, &mut rng, &mut counts)?;
                last_beat = now;
            }
            if let Plan::Burst { every_ns, frames } = plan {
                if now >= next_burst {
                    next_burst = now + every_ns;
                    burst(sink, frames, &mut counts)?;
                    last_beat = now;
                }
            }
            if now.saturating_sub(last_beat) >= HEARTBEAT_NS {
                sink.heartbeat();
                last_beat = now;
            }
        }
        if now >= next_log {
            next_log = now + log_every.unwrap_or(u64::MAX);
            eprintln!(
                "vitalring sim: t={:.0}s vitals {} waveforms {} filler {} corrupted {}{}",
                now as f64 / 1e9,
                counts.vitals,
                counts.waveforms,
                counts.filler,
                counts.corrupted,
                if stalled { " (stalled)" } else { "" }
            );
        }
        // Sleep to the next scheduled output (absolute schedule: no drift), but wake for the
        // heartbeat, signals and the end of the run.
        let now = since_ns(start);
        let next_out = sim.peek_t_ns().saturating_sub(start_wall);
        let mut wake = now + MAX_SLEEP_NS;
        if !stalled {
            wake = wake.min(next_out).min(last_beat + HEARTBEAT_NS);
        }
        if let Some(d) = duration {
            wake = wake.min(d);
        }
        if wake > now {
            std::thread::sleep(Duration::from_nanos(wake - now));
        }
    }
    eprintln!(
        "vitalring sim: stopped after {:.1}s: vitals {} waveforms {} filler {} corrupted {}",
        since_ns(start) as f64 / 1e9,
        counts.vitals,
        counts.waveforms,
        counts.filler,
        counts.corrupted
    );
    Ok(())
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
