//! The peer processes: the harness re-runs the executable as
//! `EXE __bench-peer '<json PeerSpec>'`, once as writer and once as reader.
//!
//! Protocol (stdin / stdout of the peer, one line each; peer → harness lines start with
//! `@@vitalring-bench@@ ` and carry one JSON message, other stdout lines are forwarded to stderr):
//!
//! * writer: open the transport → `ready` → wait for the line `go` → send warm-up, measured
//!   and end frames → `writer` result → keep the transport open until stdin reaches EOF.
//! * reader: open the transport → `ready` → receive until the end frame, or until the line
//!   `stop` / EOF on stdin → `reader` result.
//! * any failure: an `error` message (with `unsupported` set for [`BenchError::Unsupported`])
//!   and a non-zero exit status.
//!
//! Every frame starts with a 24-byte bench header: sequence number (u64, counts every frame
//! the writer sent, warm-up included), the writer's `CLOCK_MONOTONIC` stamp in ns taken just
//! before handing the frame to the transport (0 in throughput runs, which do not measure
//! latency), the frame kind (warm-up / measured / end) and a magic word. Warm-up frames are
//! received but not measured; the reader's CPU and time window starts at the first measured
//! frame.

use std::io::{BufRead, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::socket::{getsockopt, sockopt, SockType};
use nix::time::{clock_gettime, ClockId};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::report::LatencySummary;
use crate::transport::{
    self, Backoff, BenchTransport, FrameSink, FrameSource, PeerContext, Recv, Role,
};
use crate::{BenchError, PayloadMode, PollMode, TestKind, Transport};

/// `argv[1]` that makes the executable run as a benchmark peer: `main` must call
/// [`peer_main`] with the arguments and exit with its return value.
pub const PEER_ARG: &str = "__bench-peer";

/// Marks the peer's protocol lines on its stdout.
pub(crate) const PROTO_PREFIX: &str = "@@vitalring-bench@@ ";

/// Size of the bench header at the start of every payload.
pub const BENCH_HEADER_LEN: usize = 24;

const FRAME_MAGIC: u32 = 0x3142_5256; // "VRB1" little-endian

/// `CLOCK_MONOTONIC` in nanoseconds (comparable across processes on one host).
pub fn monotonic_ns() -> u64 {
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec() as u64),
        Err(_) => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum FrameKind {
    Warmup = 1,
    Measured = 2,
    End = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    seq: u64,
    stamp_ns: u64,
    kind: FrameKind,
}

impl FrameHeader {
    fn encode(&self, frame: &mut [u8]) {
        frame[0..8].copy_from_slice(&self.seq.to_le_bytes());
        frame[8..16].copy_from_slice(&self.stamp_ns.to_le_bytes());
        frame[16..20].copy_from_slice(&(self.kind as u32).to_le_bytes());
        frame[20..24].copy_from_slice(&FRAME_MAGIC.to_le_bytes());
    }

    fn decode(frame: &[u8]) -> Option<FrameHeader> {
        let h = frame.get(..BENCH_HEADER_LEN)?;
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or_default());
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap_or_default());
        if u32_at(20) != FRAME_MAGIC {
            return None;
        }
        let kind = match u32_at(16) {
            1 => FrameKind::Warmup,
            2 => FrameKind::Measured,
            3 => FrameKind::End,
            _ => return None,
        };
        Some(FrameHeader {
            seq: u64_at(0),
            stamp_ns: u64_at(8),
            kind,
        })
    }
}

/// When a writer phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Limit {
    Count(u64),
    Millis(u64),
}

/// How the writer spaces frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Pace {
    /// As fast as the transport takes them.
    FlatOut,
    /// Spin on the clock for a random gap in `[min, max]` ns after each send.
    Spin { min_gap_ns: u64, max_gap_ns: u64 },
    /// Sleep to a fixed-rate schedule.
    Rate { interval_ns: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Phase {
    pub limit: Limit,
    pub pace: Pace,
}

impl Phase {
    /// Rough upper bound of the phase's duration, for time-outs.
    pub(crate) fn estimate(&self) -> Duration {
        let per_frame_ns = match self.pace {
            Pace::FlatOut => 1_000,
            Pace::Spin { max_gap_ns, .. } => max_gap_ns + 20_000,
            Pace::Rate { interval_ns } => interval_ns,
        };
        match self.limit {
            Limit::Count(n) => Duration::from_nanos(n.saturating_mul(per_frame_ns)),
            Limit::Millis(ms) => Duration::from_millis(ms),
        }
    }
}

/// What the writer sends: warm-up frames, measured frames, then one end frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub warmup: Phase,
    pub measured: Phase,
}

/// Everything a peer process is told on its command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PeerSpec {
    pub role: Role,
    pub transport: Transport,
    pub size: usize,
    pub payload: PayloadMode,
    pub mode: PollMode,
    pub kind: TestKind,
    pub capacity: usize,
    pub name: String,
    pub scratch_dir: PathBuf,
    /// Inherited fd number of this peer's end of the link socket pair.
    pub link_fd: i32,
    /// CPU to pin to.
    pub cpu: Option<usize>,
    pub plan: Plan,
}

/// The writer's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct WriterResult {
    pub payload_len: usize,
    pub warmup_sent: u64,
    pub sent: u64,
    pub elapsed_ns: u64,
}

/// The reader's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReaderResult {
    pub payload_len: usize,
    pub warmup_received: u64,
    /// Measured frames delivered.
    pub received: u64,
    /// Frames missing from the sequence (all phases).
    pub seq_gaps: u64,
    /// Frames the transport reported as dropped / rejected.
    pub transport_dropped: u64,
    /// Frames whose bench header was garbage.
    pub malformed: u64,
    /// Frames whose sequence number went backwards.
    pub out_of_order: u64,
    /// First to last measured frame delivered, ns.
    pub active_ns: u64,
    /// First measured frame to end of receiving (end frame or stop), ns.
    pub window_ns: u64,
    /// CPU time of the reader process over `window_ns`.
    pub cpu_user_ns: u64,
    pub cpu_sys_ns: u64,
    /// `true` when the end frame arrived (else the harness had to say stop).
    pub saw_end: bool,
    pub latency: Option<LatencySummary>,
}

/// Peer → harness messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub(crate) enum PeerMsg {
    Ready { pinned_cpu: Option<usize> },
    Writer(WriterResult),
    Reader(ReaderResult),
    Error { unsupported: bool, message: String },
}

fn emit(msg: &PeerMsg) {
    if let Ok(json) = serde_json::to_string(msg) {
        let out = std::io::stdout();
        let mut out = out.lock();
        // If the harness is gone there is nobody to tell.
        let _ = writeln!(out, "{PROTO_PREFIX}{json}");
        let _ = out.flush();
    }
}

/// Entry point of a peer process. `args` is the process's whole `argv` (or any slice that
/// contains [`PEER_ARG`] followed by the spec). Returns the exit status.
pub fn peer_main(args: &[String]) -> i32 {
    let spec = args
        .iter()
        .position(|a| a == PEER_ARG)
        .and_then(|i| args.get(i + 1))
        .ok_or_else(|| BenchError::Peer(format!("usage: {PEER_ARG} <spec>")))
        .and_then(|json| serde_json::from_str::<PeerSpec>(json).map_err(BenchError::from));
    match spec.and_then(run_peer) {
        Ok(()) => 0,
        Err(e) => {
            let unsupported = e.is_unsupported();
            let message = match e {
                BenchError::Unsupported(m) => m,
                other => other.to_string(),
            };
            emit(&PeerMsg::Error {
                unsupported,
                message,
            });
            if unsupported {
                3
            } else {
                2
            }
        }
    }
}

fn pin_to(cpu: Option<usize>) -> Option<usize> {
    let cpu = cpu?;
    let mut set = CpuSet::new();
    set.set(cpu).ok()?;
    sched_setaffinity(Pid::from_raw(0), &set).ok()?;
    Some(cpu)
}

fn run_peer(spec: PeerSpec) -> Result<(), BenchError> {
    if spec.link_fd < 3 {
        return Err(BenchError::Peer(format!("bad link fd {}", spec.link_fd)));
    }
    // SAFETY: the harness cleared FD_CLOEXEC on exactly this descriptor (its end of a fresh
    // socket pair) just before spawning us and passed its number in the spec; we are the only
    // code in this process that knows it, so taking ownership here is the one and only owner.
    // A wrong number is caught by the socket-type check below (it fails on a non-socket).
    let link = unsafe { OwnedFd::from_raw_fd(spec.link_fd) };
    if getsockopt(&link, sockopt::SockType)? != SockType::SeqPacket {
        return Err(BenchError::Peer(
            "link fd is not a SOCK_SEQPACKET socket".into(),
        ));
    }
    let pinned = pin_to(spec.cpu);
    let ctx = PeerContext {
        role: spec.role,
        size: spec.size,
        payload: spec.payload,
        mode: spec.mode,
        kind: spec.kind,
        capacity: spec.capacity,
        name: spec.name.clone(),
        scratch_dir: spec.scratch_dir.clone(),
        link,
    };
    match spec.transport {
        Transport::Uds => run_role::<transport::uds::Uds>(&spec, &ctx, pinned),
        Transport::Floor => run_role::<transport::floor::Floor>(&spec, &ctx, pinned),
        Transport::FloorFlag => run_role::<transport::floor::FloorFlag>(&spec, &ctx, pinned),
        Transport::Vitalring => run_role::<transport::vitalring::Vitalring>(&spec, &ctx, pinned),
        Transport::VitalringLp => {
            run_role::<transport::vitalring::VitalringLowPower>(&spec, &ctx, pinned)
        }
        Transport::VitalringBlock => {
            run_role::<transport::vitalring::VitalringBlock>(&spec, &ctx, pinned)
        }
        Transport::VitalringNoWake => {
            run_role::<transport::vitalring::VitalringNoWake>(&spec, &ctx, pinned)
        }
        #[cfg(feature = "iceoryx2")]
        Transport::Iceoryx2 => run_role::<transport::iceoryx2::Iceoryx2>(&spec, &ctx, pinned),
        #[cfg(not(feature = "iceoryx2"))]
        Transport::Iceoryx2 => Err(BenchError::Unsupported(
            "built without the `iceoryx2` feature of vitalring-bench".into(),
        )),
    }
}

fn run_role<T: BenchTransport>(
    spec: &PeerSpec,
    ctx: &PeerContext,
    pinned: Option<usize>,
) -> Result<(), BenchError> {
    let stdin = std::io::stdin();
    match spec.role {
        Role::Writer => {
            let mut sink = T::open_writer(ctx)?;
            emit(&PeerMsg::Ready { pinned_cpu: pinned });
            let mut line = String::new();
            stdin.lock().read_line(&mut line)?;
            if line.trim() != "go" {
                return Err(BenchError::Peer(format!(
                    "writer expected `go`, got {line:?}"
                )));
            }
            let result = writer_loop(&mut sink, &spec.plan)?;
            emit(&PeerMsg::Writer(result));
            // Keep the transport alive until the harness is done with the reader.
            loop {
                line.clear();
                if stdin.lock().read_line(&mut line)? == 0 {
                    break;
                }
            }
            drop(sink);
            Ok(())
        }
        Role::Reader => {
            let mut source = T::open_reader(ctx)?;
            let stop = Arc::new(AtomicBool::new(false));
            let stop2 = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("stop-watch".into())
                .spawn(move || {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match stdin.lock().read_line(&mut line) {
                            Ok(0) | Err(_) => break,
                            Ok(_) if line.trim() == "stop" => break,
                            Ok(_) => {}
                        }
                    }
                    // Pairs with the Relaxed loads in `reader_loop`: a plain flag, no data
                    // is published with it.
                    stop2.store(true, Ordering::Relaxed);
                })?;
            emit(&PeerMsg::Ready { pinned_cpu: pinned });
            let result = reader_loop(&mut source, spec.mode, &stop)?;
            emit(&PeerMsg::Reader(result));
            Ok(())
        }
    }
}

/// xorshift64*: cheap jitter for the send gaps.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Rng(monotonic_ns() ^ (u64::from(std::process::id()) << 32) | 1)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if hi <= lo {
            lo
        } else {
            lo + r % (hi - lo + 1)
        }
    }
}

fn writer_loop<S: FrameSink>(sink: &mut S, plan: &Plan) -> Result<WriterResult, BenchError> {
    let len = sink.payload_len();
    if len < BENCH_HEADER_LEN {
        return Err(BenchError::Transport(format!(
            "payload of {len} bytes cannot hold the {BENCH_HEADER_LEN}-byte bench header"
        )));
    }
    let mut frame: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect();
    let mut seq = 0u64;
    let mut rng = Rng::new();
    let (warmup_sent, _) = run_phase(
        sink,
        &mut frame,
        &plan.warmup,
        FrameKind::Warmup,
        &mut seq,
        &mut rng,
    )?;
    let (sent, elapsed_ns) = run_phase(
        sink,
        &mut frame,
        &plan.measured,
        FrameKind::Measured,
        &mut seq,
        &mut rng,
    )?;
    FrameHeader {
        seq,
        stamp_ns: monotonic_ns(),
        kind: FrameKind::End,
    }
    .encode(&mut frame);
    sink.send(&frame)?;
    Ok(WriterResult {
        payload_len: len,
        warmup_sent,
        sent,
        elapsed_ns,
    })
}

fn run_phase<S: FrameSink>(
    sink: &mut S,
    frame: &mut [u8],
    phase: &Phase,
    kind: FrameKind,
    seq: &mut u64,
    rng: &mut Rng,
) -> Result<(u64, u64), BenchError> {
    let start = monotonic_ns();
    let mut n = 0u64;
    let mut next = start;
    loop {
        match phase.limit {
            Limit::Count(c) if n >= c => break,
            Limit::Count(_) => {}
            Limit::Millis(ms) => {
                // Flat out, the clock is read every 64 frames only.
                let check = !matches!(phase.pace, Pace::FlatOut) || n.is_multiple_of(64);
                if check && monotonic_ns().saturating_sub(start) >= ms * 1_000_000 {
                    break;
                }
            }
        }
        let stamp_ns = match phase.pace {
            Pace::FlatOut => 0,
            Pace::Spin { .. } => loop {
                let now = monotonic_ns();
                if now >= next {
                    break now;
                }
                std::hint::spin_loop();
            },
            Pace::Rate { .. } => {
                let now = monotonic_ns();
                if next > now {
                    std::thread::sleep(Duration::from_nanos(next - now));
                }
                monotonic_ns()
            }
        };
        FrameHeader {
            seq: *seq,
            stamp_ns,
            kind,
        }
        .encode(frame);
        sink.send(frame)?;
        *seq += 1;
        n += 1;
        match phase.pace {
            Pace::FlatOut => {}
            // The gap counts from this send: never shrink it to catch up (no bursts).
            Pace::Spin {
                min_gap_ns,
                max_gap_ns,
            } => next = stamp_ns + rng.range(min_gap_ns, max_gap_ns),
            Pace::Rate { interval_ns } => {
                next += interval_ns;
                if next + interval_ns < stamp_ns {
                    next = stamp_ns; // fell far behind: restart the schedule, no burst
                }
            }
        }
    }
    Ok((n, monotonic_ns().saturating_sub(start)))
}

fn cpu_ns() -> Result<(u64, u64), BenchError> {
    let u = getrusage(UsageWho::RUSAGE_SELF)?;
    let ns = |t: nix::sys::time::TimeVal| {
        (t.tv_sec() as u64) * 1_000_000_000 + (t.tv_usec() as u64) * 1_000
    };
    Ok((ns(u.user_time()), ns(u.system_time())))
}

/// Highest latency the histogram tracks (larger values are clamped): one minute.
const MAX_TRACKED_NS: u64 = 60_000_000_000;

fn reader_loop<S: FrameSource>(
    source: &mut S,
    mode: PollMode,
    stop: &AtomicBool,
) -> Result<ReaderResult, BenchError> {
    let len = source.payload_len();
    if len < BENCH_HEADER_LEN {
        return Err(BenchError::Transport(format!(
            "payload of {len} bytes cannot hold the {BENCH_HEADER_LEN}-byte bench header"
        )));
    }
    let mut buf = vec![0u8; len];
    let mut hist = Histogram::<u64>::new_with_bounds(1, MAX_TRACKED_NS, 3)
        .map_err(|e| BenchError::Peer(format!("histogram: {e}")))?;
    let mut backoff = Backoff::new();
    let mut r = ReaderResult {
        payload_len: len,
        ..ReaderResult::default()
    };
    let mut expected: Option<u64> = None;
    let (mut first_ns, mut last_ns) = (0u64, 0u64);
    let mut cpu_start = (0u64, 0u64);
    let mut since_stop_check = 0u32;
    loop {
        let got = match mode {
            PollMode::Busy => source.try_recv(&mut buf)?,
            PollMode::Backoff => source.recv_backoff(&mut buf, &mut backoff)?,
        };
        let n = match got {
            Recv::Frame(n) => n,
            Recv::Empty => {
                // Pairs with the Relaxed store of the stop-watch thread (a plain flag).
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
            Recv::Dropped(d) => {
                r.transport_dropped += d;
                continue;
            }
        };
        let now = monotonic_ns();
        let Some(h) = FrameHeader::decode(&buf[..n.min(len)]) else {
            r.malformed += 1;
            continue;
        };
        match expected {
            Some(e) if h.seq > e => r.seq_gaps += h.seq - e,
            Some(e) if h.seq < e => r.out_of_order += 1,
            _ => {}
        }
        expected = Some(h.seq + 1);
        match h.kind {
            FrameKind::Warmup => r.warmup_received += 1,
            FrameKind::Measured => {
                if r.received == 0 {
                    first_ns = now;
                    cpu_start = cpu_ns()?;
                }
                r.received += 1;
                last_ns = now;
                if h.stamp_ns != 0 {
                    hist.saturating_record(now.saturating_sub(h.stamp_ns).clamp(1, MAX_TRACKED_NS));
                }
            }
            FrameKind::End => {
                r.saw_end = true;
                break;
            }
        }
        since_stop_check += 1;
        if since_stop_check >= 4096 {
            since_stop_check = 0;
            // Pairs with the Relaxed store of the stop-watch thread (a plain flag).
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    let end_ns = monotonic_ns();
    if r.received > 0 {
        let cpu_end = cpu_ns()?;
        r.cpu_user_ns = cpu_end.0.saturating_sub(cpu_start.0);
        r.cpu_sys_ns = cpu_end.1.saturating_sub(cpu_start.1);
        r.active_ns = last_ns - first_ns;
        r.window_ns = end_ns.saturating_sub(first_ns);
    }
    r.latency = LatencySummary::from_histogram(&hist);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let mut f = vec![0u8; 64];
        let h = FrameHeader {
            seq: 0x0102_0304_0506_0708,
            stamp_ns: 42,
            kind: FrameKind::Measured,
        };
        h.encode(&mut f);
        assert_eq!(FrameHeader::decode(&f), Some(h));
        f[20] ^= 1;
        assert_eq!(FrameHeader::decode(&f), None);
        assert_eq!(FrameHeader::decode(&f[..10]), None);
    }

    #[test]
    fn rng_stays_in_range() {
        let mut r = Rng::new();
        for _ in 0..1000 {
            let v = r.range(10, 30);
            assert!((10..=30).contains(&v));
        }
        assert_eq!(r.range(5, 5), 5);
    }

    struct VecSink(Vec<Vec<u8>>);
    impl FrameSink for VecSink {
        fn payload_len(&self) -> usize {
            32
        }
        fn send(&mut self, p: &[u8]) -> Result<(), BenchError> {
            self.0.push(p.to_vec());
            Ok(())
        }
    }

    struct VecSource(std::collections::VecDeque<Vec<u8>>);
    impl FrameSource for VecSource {
        fn payload_len(&self) -> usize {
            32
        }
        fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError> {
            Ok(match self.0.pop_front() {
                Some(f) => {
                    buf[..f.len()].copy_from_slice(&f);
                    Recv::Frame(f.len())
                }
                None => Recv::Empty,
            })
        }
    }

    #[test]
    fn writer_and_reader_loops_account_for_every_frame() {
        let plan = Plan {
            warmup: Phase {
                limit: Limit::Count(3),
                pace: Pace::FlatOut,
            },
            measured: Phase {
                limit: Limit::Count(10),
                pace: Pace::Spin {
                    min_gap_ns: 0,
                    max_gap_ns: 1_000,
                },
            },
        };
        let mut sink = VecSink(Vec::new());
        let w = writer_loop(&mut sink, &plan).unwrap();
        assert_eq!((w.warmup_sent, w.sent), (3, 10));
        assert_eq!(sink.0.len(), 14);
        // Lose measured frame 5 (seq 3 + 5 = 8).
        let mut frames: std::collections::VecDeque<_> = sink.0.into();
        frames.remove(8);
        let stop = AtomicBool::new(false);
        let r = reader_loop(&mut VecSource(frames), PollMode::Busy, &stop).unwrap();
        assert!(r.saw_end);
        assert_eq!(r.warmup_received, 3);
        assert_eq!(r.received, 9);
        assert_eq!(r.seq_gaps, 1);
        assert_eq!(r.latency.unwrap().count, 9);
    }
}
