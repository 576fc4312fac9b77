//! The report: one record per run, a text table (`Display`) and JSON (serde).

use std::fmt;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::{Params, PayloadMode, PollMode, Scenario, TestKind, Transport};

/// Version tag of the JSON document.
pub const REPORT_SCHEMA: &str = "vitalring-bench/1";

/// One-way latency distribution, nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// 99.99th percentile.
    pub p9999_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

impl LatencySummary {
    /// Summarises an HDR histogram (`None` when it is empty).
    pub fn from_histogram(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        Some(LatencySummary {
            count: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            p9999_ns: h.value_at_quantile(0.9999),
            max_ns: h.max(),
        })
    }
}

/// Outcome of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    Ok,
    /// The transport cannot run it (not built in, not implemented).
    Unsupported,
    /// Something broke; see `error`.
    Failed,
}

/// Throughput figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThroughputFigures {
    /// Measured frames delivered per second (first to last delivery in the reader).
    pub frames_per_s: f64,
    /// `frames_per_s × size`.
    pub bytes_per_s: f64,
    /// Measured frames sent per second by the writer.
    pub writer_frames_per_s: f64,
    /// Measured duration, s (writer).
    pub duration_s: f64,
}

/// Reader CPU figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuFigures {
    /// (user + system) / wall time of the measured window, in % of one core.
    pub percent_of_one_core: f64,
    /// User CPU time, s.
    pub user_s: f64,
    /// System CPU time, s.
    pub sys_s: f64,
    /// Wall time, s.
    pub window_s: f64,
    /// Frames per second the writer sent.
    pub rate_hz: u32,
}

/// One run: one transport, one frame size, one scenario (two processes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Transport.
    pub transport: Transport,
    /// Frame size, bytes.
    pub size: usize,
    /// Payload mode (full frames or a vitals-sized payload).
    #[serde(default)]
    pub payload: PayloadMode,
    /// Bytes of bench payload per frame (full: `size`, except for the ring: `size - 32`;
    /// vitals: 150; floor-flag: 24).
    pub payload_bytes: usize,
    /// Scenario.
    pub scenario: Scenario,
    /// Test kind (from the scenario).
    pub kind: TestKind,
    /// Reader poll mode (from the scenario).
    pub mode: PollMode,
    /// Outcome.
    pub status: Status,
    /// Why it is not `ok`.
    pub error: Option<String>,
    /// Measured frames the writer sent.
    pub sent: u64,
    /// Measured frames the reader delivered.
    pub received: u64,
    /// `sent - received`: measured frames never delivered.
    pub lost: u64,
    /// Sequence gaps the reader saw (all phases, warm-up included).
    pub seq_gaps: u64,
    /// Frames the transport itself reported as dropped / rejected.
    pub transport_dropped: u64,
    /// Frames with a broken bench header, or delivered out of order.
    pub corrupt: u64,
    /// Writer and reader each ran pinned to its own CPU.
    pub pinned: bool,
    /// Reader CPU use over the measured window, % of one core (every run).
    pub reader_cpu_percent: Option<f64>,
    /// One-way latency (latency and CPU runs).
    pub latency: Option<LatencySummary>,
    /// Throughput run figures.
    pub throughput: Option<ThroughputFigures>,
    /// CPU run figures.
    pub cpu: Option<CpuFigures>,
}

impl RunRecord {
    /// A record for a run that did not measure anything.
    pub fn not_measured(
        transport: Transport,
        size: usize,
        payload: PayloadMode,
        scenario: Scenario,
        status: Status,
        error: String,
    ) -> Self {
        RunRecord {
            transport,
            size,
            payload,
            payload_bytes: 0,
            scenario,
            kind: scenario.kind(),
            mode: scenario.mode(),
            status,
            error: Some(error),
            sent: 0,
            received: 0,
            lost: 0,
            seq_gaps: 0,
            transport_dropped: 0,
            corrupt: 0,
            pinned: false,
            reader_cpu_percent: None,
            latency: None,
            throughput: None,
            cpu: None,
        }
    }
}

/// Where it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// CPUs available to the harness.
    pub cpus: usize,
    /// CPU the writers were pinned to.
    pub writer_cpu: Option<usize>,
    /// CPU the readers were pinned to.
    pub reader_cpu: Option<usize>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// Clock of the latency stamps.
    pub clock: String,
    /// Load average when the run started (`/proc/loadavg`, first three fields).
    pub loadavg: String,
}

/// The whole benchmark result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    /// `--quick` parameters.
    pub quick: bool,
    /// Host.
    pub host: HostInfo,
    /// Parameters used.
    pub params: Params,
    /// Wall time of the whole benchmark, s.
    pub total_s: f64,
    /// One record per run.
    pub runs: Vec<RunRecord>,
}

impl Report {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The record of one run, if it was part of the benchmark.
    pub fn find(
        &self,
        transport: Transport,
        size: usize,
        scenario: Scenario,
    ) -> Option<&RunRecord> {
        self.find_payload(transport, size, PayloadMode::Full, scenario)
    }

    /// The record of one run with a given payload mode.
    pub fn find_payload(
        &self,
        transport: Transport,
        size: usize,
        payload: PayloadMode,
        scenario: Scenario,
    ) -> Option<&RunRecord> {
        self.runs.iter().find(|r| {
            r.transport == transport
                && r.size == size
                && r.payload == payload
                && r.scenario == scenario
        })
    }
}

/// The size column: `4096`, or `4096v` for a vitals payload in a 4096-byte frame.
fn size_label(r: &RunRecord) -> String {
    match r.payload {
        PayloadMode::Full => r.size.to_string(),
        PayloadMode::Vitals => format!("{}v", r.size),
    }
}

fn us(ns: u64) -> String {
    let us = ns as f64 / 1_000.0;
    if us < 100.0 {
        format!("{us:.2}")
    } else if us < 10_000.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into())
}

fn not_ok(f: &mut fmt::Formatter<'_>, r: &RunRecord, lead: &str) -> fmt::Result {
    let what = match r.status {
        Status::Unsupported => "unsupported",
        _ => "FAILED",
    };
    let mut msg = r.error.clone().unwrap_or_default();
    if msg.len() > 90 {
        msg.truncate(87);
        msg.push_str("...");
    }
    writeln!(f, "{lead}  {what}: {msg}")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pin = match (self.host.writer_cpu, self.host.reader_cpu) {
            (Some(w), Some(r)) => format!("writer on CPU {w}, reader on CPU {r}"),
            _ => "not pinned".to_string(),
        };
        writeln!(
            f,
            "vitalring bench{} — {} CPUs ({pin}), kernel {}, load {}, {:.1} s",
            if self.quick { " --quick" } else { "" },
            self.host.cpus,
            self.host.kernel,
            self.host.loadavg,
            self.total_s
        )?;
        writeln!(
            f,
            "latency = writer stamp → reader delivery, both {}; warm-up discarded;",
            self.host.clock
        )?;
        writeln!(
            f,
            "rdr cpu% = reader process CPU over the measured window (a busy reader that is \
             well below 100% did not have its core: the numbers are disturbed)\n"
        )?;

        let lat: Vec<&RunRecord> = self
            .runs
            .iter()
            .filter(|r| r.kind == TestKind::Latency)
            .collect();
        if !lat.is_empty() {
            writeln!(f, "One-way latency (µs)")?;
            writeln!(
                f,
                "{:<12} {:>6} {:<8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6} {:>9}",
                "transport",
                "size",
                "mode",
                "p50",
                "p99",
                "p99.9",
                "max",
                "samples",
                "lost",
                "rdr cpu%"
            )?;
            for r in lat {
                let lead = format!("{:<12} {:>6} {:<8}", r.transport, size_label(r), r.mode);
                match (&r.status, &r.latency) {
                    (Status::Ok, Some(l)) => writeln!(
                        f,
                        "{lead} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6} {:>9}",
                        us(l.p50_ns),
                        us(l.p99_ns),
                        us(l.p999_ns),
                        us(l.max_ns),
                        l.count,
                        r.lost,
                        pct(r.reader_cpu_percent)
                    )?,
                    (Status::Ok, None) => writeln!(f, "{lead}  no samples")?,
                    _ => not_ok(f, r, &lead)?,
                }
            }
            writeln!(f)?;
        }

        let tp: Vec<&RunRecord> = self
            .runs
            .iter()
            .filter(|r| r.kind == TestKind::Throughput)
            .collect();
        if !tp.is_empty() {
            writeln!(
                f,
                "Maximum throughput (writer flat out, busy-polling reader)"
            )?;
            writeln!(
                f,
                "{:<12} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>10} {:>9}",
                "transport",
                "size",
                "frames/s",
                "bytes/s",
                "sent/s",
                "sent",
                "received",
                "lost",
                "rdr cpu%"
            )?;
            for r in tp {
                let lead = format!("{:<12} {:>6}", r.transport, size_label(r));
                match (&r.status, &r.throughput) {
                    (Status::Ok, Some(t)) => writeln!(
                        f,
                        "{lead} {:>11} {:>11} {:>11} {:>11} {:>11} {:>10} {:>9}",
                        si(t.frames_per_s),
                        format!("{}B", si(t.bytes_per_s)),
                        si(t.writer_frames_per_s),
                        r.sent,
                        r.received,
                        r.lost,
                        pct(r.reader_cpu_percent)
                    )?,
                    (Status::Ok, None) => writeln!(f, "{lead}  no frames")?,
                    _ => not_ok(f, r, &lead)?,
                }
            }
            writeln!(f)?;
        }

        let cpu: Vec<&RunRecord> = self
            .runs
            .iter()
            .filter(|r| r.kind == TestKind::Cpu)
            .collect();
        if !cpu.is_empty() {
            writeln!(
                f,
                "Reader CPU at clinical rate ({} frames/s = 60 vitals + 3 × 25 waveform, backoff)",
                self.params.cpu.rate_hz
            )?;
            writeln!(
                f,
                "{:<12} {:>6} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6}",
                "transport", "size", "cpu %", "p50 µs", "p99 µs", "max µs", "frames", "lost"
            )?;
            for r in cpu {
                let lead = format!("{:<12} {:>6}", r.transport, size_label(r));
                match (&r.status, &r.cpu) {
                    (Status::Ok, Some(c)) => {
                        let (p50, p99, max) = r
                            .latency
                            .map(|l| (us(l.p50_ns), us(l.p99_ns), us(l.max_ns)))
                            .unwrap_or_default();
                        writeln!(
                            f,
                            "{lead} {:>8.3} {:>8} {:>8} {:>9} {:>8} {:>6}",
                            c.percent_of_one_core, p50, p99, max, r.received, r.lost
                        )?
                    }
                    (Status::Ok, None) => writeln!(f, "{lead}  no frames")?,
                    _ => not_ok(f, r, &lead)?,
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
