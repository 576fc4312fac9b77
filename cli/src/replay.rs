//! `vitalring replay`: a recording republished into a ring by a producer, at its original pace
//! or scaled by `--speed`, so every reader (monitor, recorder, dump) works on it unchanged.
//!
//! Timestamps: a republished frame is stamped with the replay's own time, `start + (t − t0) /
//! speed`, where `t` is its recorded acquisition time and `t0` that of the first frame
//! replayed. Readers check that a frame's time is close to the ring's creation and the
//! writer's heartbeat, so the original times (possibly days old) would be rejected; the
//! recording keeps them, and at `--speed 1` a replayed frame's time differs from its original
//! by one constant. The schedule is absolute (each frame's due time is computed from the start,
//! so a late wake-up never shifts the frames after it). The summary line on exit gives the
//! lateness distribution against the schedule (p50, p99, p99.9, max); on a loaded machine run
//! it with real-time priority (`chrt -f 10 vitalring replay ...`) to keep the tail inside 1 ms.

use std::time::{Duration, Instant};

use vitalring_core::Geometry;
use vitalring_recorder::replay::{plan, rebuild};

use crate::args::ReplayArgs;
use crate::clock::{since_ns, wall_ns};
use crate::error::{CliError, CliResult};
use crate::link::Producer;
use crate::signals::Stop;

/// Longest single sleep, so signals and heartbeats are served promptly.
const MAX_SLEEP: Duration = Duration::from_millis(20);

/// `vitalring replay`.
///
/// # Errors
/// The file is not a readable recording, the window selects nothing, the socket is taken,
/// publishing failed.
pub fn run(args: &ReplayArgs, stop: &Stop) -> CliResult {
    let rec = vitalring_recorder::read(&args.file).map_err(|e| CliError::failure(e.to_string()))?;
    let all = plan(&rec);
    let Some(t0) = all.first().map(|p| p.time_ns) else {
        return Err(CliError::failure(format!(
            "{} holds no frames to replay",
            args.file.display()
        )));
    };
    let secs = |s: f64| (s * 1e9) as u64;
    let from = t0.saturating_add(args.from.map_or(0, secs));
    let to = args.to.map_or(u64::MAX, |s| t0.saturating_add(secs(s)));
    let window: Vec<_> = all
        .into_iter()
        .filter(|p| (from..to).contains(&p.time_ns))
        .collect();
    let Some(base) = window.first().map(|p| p.time_ns) else {
        return Err(CliError::usage(
            "--from/--to select no frame of the recording",
        ));
    };
    let geometry = Geometry::new(rec.frame_size, rec.frame_count).unwrap_or(Geometry::DEFAULT);
    let _ = nix::sys::prctl::set_timerslack(1);
    let mut producer = Producer::create(&args.endpoint, geometry)?;
    eprintln!(
        "vitalring replay: serving {} | {} frames from {} | speed {} | epoch {:016x} | pid {}",
        producer.socket().display(),
        window.len(),
        args.file.display(),
        args.speed,
        producer.epoch(),
        std::process::id()
    );
    // Timing against the schedule: how late each publish was.
    let mut timing = Timing::new();
    let result = (|| -> CliResult {
        'passes: loop {
            let start = Instant::now();
            let start_wall = wall_ns();
            for p in &window {
                // A recording's times need not be monotonic (a restarted producer's clock):
                // an earlier time is due at once.
                let due = (p.time_ns.saturating_sub(base) as f64 / args.speed) as u64;
                loop {
                    if stop.requested() {
                        break 'passes;
                    }
                    let now = since_ns(start);
                    if now >= due {
                        break;
                    }
                    producer.heartbeat();
                    // Sleeping to the deadline, not spinning before it: measured on the
                    // shared VM (docs/benchmarks.md, "Replay timing"), spinning the last
                    // 200 µs lowered the median lateness but, without real-time priority,
                    // got the process starved for up to a second under load.
                    std::thread::sleep(Duration::from_nanos(due - now).min(MAX_SLEEP));
                }
                let (record, encoding) = rebuild(&rec, p.row)
                    .map_err(|e| CliError::failure(format!("{}: {e}", args.file.display())))?;
                producer.publish(&record, encoding, start_wall + due)?;
                timing.record(since_ns(start).saturating_sub(due));
            }
            if !args.repeat {
                break;
            }
        }
        Ok(())
    })();
    eprintln!(
        "vitalring replay: published {} | {}",
        producer.published(),
        timing.summary()
    );
    producer.shutdown();
    result
}

/// How late each frame was published against its schedule (ns after its due time on the
/// monotonic clock), as a histogram: 1 µs resolution up to a minute.
struct Timing {
    late: hdrhistogram::Histogram<u64>,
    over_1ms: u64,
}

impl Timing {
    fn new() -> Self {
        Self {
            // 3 significant figures from 1 µs to 60 s: bounds the histogram's size.
            late: hdrhistogram::Histogram::new_with_bounds(1_000, 60_000_000_000, 3)
                .expect("constant bounds are valid"),
            over_1ms: 0,
        }
    }

    fn record(&mut self, late_ns: u64) {
        self.late.saturating_record(late_ns.max(1_000));
        self.over_1ms += u64::from(late_ns > 1_000_000);
    }

    /// `timing: p50 .. p99 .. p99.9 .. max .. µs late over N frames, M more than 1 ms late`.
    fn summary(&self) -> String {
        let us = |q: f64| self.late.value_at_quantile(q) as f64 / 1e3;
        format!(
            "timing: p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs late over {} \
             frames, {} more than 1 ms late",
            us(0.5),
            us(0.99),
            us(0.999),
            self.late.max() as f64 / 1e3,
            self.late.len(),
            self.over_1ms
        )
    }
}
