//! The harness: runs every (transport, size, scenario) as a writer process and a reader
//! process and collects their reports.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sched::{sched_getaffinity, CpuSet};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;

use crate::peer::{
    Limit, Pace, PeerMsg, PeerSpec, Phase, Plan, ReaderResult, WriterResult, PEER_ARG, PROTO_PREFIX,
};
use crate::report::{
    CpuFigures, HostInfo, Report, RunRecord, Status, ThroughputFigures, REPORT_SCHEMA,
};
use crate::transport::Role;
use crate::{BenchError, BenchOptions, Params, PayloadMode, Scenario, TestKind, Transport};

/// Serialises "clear FD_CLOEXEC → spawn → close" so that no other spawn from this process
/// inherits a link fd meant for one peer.
static SPAWN_LOCK: Mutex<()> = Mutex::new(());
static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How long a peer may take to set its transport up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the reader may take to report after the writer finished, before it is told to stop.
const END_GRACE: Duration = Duration::from_secs(2);

/// Runs the benchmark described by `opts`. Runs that fail or are unsupported are recorded
/// in the report (status `failed` / `unsupported`) and do not stop the others; only bad
/// options or a failure to write the JSON file return an error.
pub fn run(opts: &BenchOptions) -> Result<Report, BenchError> {
    opts.validate()?;
    let params = opts.effective_params();
    let exe = match &opts.peer_exe {
        Some(p) => p.clone(),
        None => std::env::current_exe()?,
    };
    let (writer_cpu, reader_cpu) = if opts.pin { pick_cpus() } else { (None, None) };
    let host = HostInfo {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        writer_cpu,
        reader_cpu,
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        clock: "CLOCK_MONOTONIC".into(),
        loadavg: read_trimmed("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let started = Instant::now();
    let cells: Vec<(usize, PayloadMode)> = opts
        .sizes
        .iter()
        .flat_map(|&size| {
            opts.payloads
                .iter()
                .filter(move |p| p.applies_to(size))
                .map(move |&p| (size, p))
        })
        .collect();
    let total = opts.transports.len() * cells.len() * opts.scenarios.len();
    let mut runs = Vec::with_capacity(total);
    for &transport in &opts.transports {
        let mut unsupported: Option<String> = None;
        for &(size, payload) in &cells {
            for &scenario in &opts.scenarios {
                let record = match &unsupported {
                    Some(why) => RunRecord::not_measured(
                        transport,
                        size,
                        payload,
                        scenario,
                        Status::Unsupported,
                        why.clone(),
                    ),
                    None => {
                        let t0 = Instant::now();
                        let r = run_one(
                            &exe,
                            transport,
                            (size, payload),
                            scenario,
                            &params,
                            writer_cpu,
                            reader_cpu,
                        );
                        if opts.progress {
                            eprintln!(
                                "[{}/{total}] {transport} {size} B {payload} {scenario:?}: {} ({:.1} s)",
                                runs.len() + 1,
                                match &r.status {
                                    Status::Ok => "ok".to_string(),
                                    _ => format!(
                                        "{:?}: {}",
                                        r.status,
                                        r.error.clone().unwrap_or_default()
                                    ),
                                },
                                t0.elapsed().as_secs_f64()
                            );
                        }
                        if r.status == Status::Unsupported {
                            unsupported = r.error.clone();
                        }
                        r
                    }
                };
                runs.push(record);
            }
        }
    }
    let report = Report {
        schema: REPORT_SCHEMA.into(),
        quick: opts.quick && opts.params.is_none(),
        host,
        params,
        total_s: started.elapsed().as_secs_f64(),
        runs,
    };
    if let Some(path) = &opts.json_out {
        std::fs::write(path, report.to_json() + "\n")?;
    }
    Ok(report)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The first two CPUs this process may run on (writer, reader), if there are two.
fn pick_cpus() -> (Option<usize>, Option<usize>) {
    let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
        return (None, None);
    };
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&i| set.is_set(i).unwrap_or(false))
        .take(2)
        .collect();
    match cpus[..] {
        [w, r] => (Some(w), Some(r)),
        _ => (None, None),
    }
}

/// The writer's plan for a scenario.
pub(crate) fn plan_for(scenario: Scenario, p: &Params) -> Plan {
    match scenario {
        Scenario::LatencyBusy | Scenario::LatencyBackoff => {
            let l = if scenario == Scenario::LatencyBusy {
                &p.latency_busy
            } else {
                &p.latency_backoff
            };
            let pace = Pace::Spin {
                min_gap_ns: l.min_gap_ns,
                max_gap_ns: l.max_gap_ns,
            };
            Plan {
                warmup: Phase {
                    limit: Limit::Count(l.warmup),
                    pace,
                },
                measured: Phase {
                    limit: Limit::Count(l.count),
                    pace,
                },
            }
        }
        Scenario::Throughput => Plan {
            warmup: Phase {
                limit: Limit::Millis(p.throughput.warmup_ms),
                pace: Pace::FlatOut,
            },
            measured: Phase {
                limit: Limit::Millis(p.throughput.duration_ms),
                pace: Pace::FlatOut,
            },
        },
        Scenario::ClinicalCpu => {
            let pace = Pace::Rate {
                interval_ns: 1_000_000_000 / u64::from(p.cpu.rate_hz.max(1)),
            };
            Plan {
                warmup: Phase {
                    limit: Limit::Count(p.cpu.warmup),
                    pace,
                },
                measured: Phase {
                    limit: Limit::Millis(p.cpu.duration_ms),
                    pace,
                },
            }
        }
    }
}

/// A running peer process.
struct Peer {
    role: Role,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<PeerMsg>,
}

impl Peer {
    fn spawn(exe: &Path, spec: &PeerSpec, link: OwnedFd) -> Result<Peer, BenchError> {
        let json = serde_json::to_string(spec)?;
        let mut child = {
            let _guard = SPAWN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            // Let exactly this fd cross the exec; it is closed in the harness right after.
            fcntl(&link, FcntlArg::F_SETFD(FdFlag::empty()))?;
            let spawned = Command::new(exe)
                .arg(PEER_ARG)
                .arg(&json)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn();
            drop(link);
            spawned.map_err(|e| BenchError::Peer(format!("cannot start {}: {e}", exe.display())))?
        };
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Peer("no stdout pipe".into()))?;
        let (tx, rx) = mpsc::channel();
        let role = spec.role;
        std::thread::Builder::new()
            .name(format!("peer-{role:?}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    match line.strip_prefix(PROTO_PREFIX) {
                        Some(json) => {
                            let msg = serde_json::from_str::<PeerMsg>(json).unwrap_or_else(|e| {
                                PeerMsg::Error {
                                    unsupported: false,
                                    message: format!("unparsable peer message ({e}): {json}"),
                                }
                            });
                            if tx.send(msg).is_err() {
                                break;
                            }
                        }
                        None => eprintln!("[{role:?} peer] {line}"),
                    }
                }
            })?;
        Ok(Peer {
            role,
            stdin: child.stdin.take(),
            child,
            rx,
        })
    }

    fn expect(&mut self, timeout: Duration, what: &str) -> Result<PeerMsg, BenchError> {
        match self.rx.recv_timeout(timeout) {
            Ok(PeerMsg::Error {
                unsupported: true,
                message,
            }) => Err(BenchError::Unsupported(message)),
            Ok(PeerMsg::Error { message, .. }) => {
                Err(BenchError::Peer(format!("{:?}: {message}", self.role)))
            }
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => Err(BenchError::Timeout(format!(
                "{:?} peer did not send {what} within {timeout:?}",
                self.role
            ))),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self
                    .child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                Err(BenchError::Peer(format!(
                    "{:?} peer exited ({status}) before {what}",
                    self.role
                )))
            }
        }
    }

    fn say(&mut self, line: &str) -> Result<(), BenchError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| BenchError::Peer("peer stdin closed".into()))?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Closes stdin (the peer's cue to exit) and reaps the process, killing it after `grace`.
    fn finish(mut self, grace: Duration) {
        self.stdin.take();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        // Drop kills and reaps.
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin.take();
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Removes the run's scratch directory when the run ends.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_one(
    exe: &Path,
    transport: Transport,
    (size, payload): (usize, PayloadMode),
    scenario: Scenario,
    params: &Params,
    writer_cpu: Option<usize>,
    reader_cpu: Option<usize>,
) -> RunRecord {
    match measure(
        exe,
        transport,
        (size, payload),
        scenario,
        params,
        writer_cpu,
        reader_cpu,
    ) {
        Ok(r) => r,
        Err(e) => {
            let status = if e.is_unsupported() {
                Status::Unsupported
            } else {
                Status::Failed
            };
            let msg = match e {
                BenchError::Unsupported(m) => m,
                other => other.to_string(),
            };
            RunRecord::not_measured(transport, size, payload, scenario, status, msg)
        }
    }
}

fn measure(
    exe: &Path,
    transport: Transport,
    (size, payload): (usize, PayloadMode),
    scenario: Scenario,
    params: &Params,
    writer_cpu: Option<usize>,
    reader_cpu: Option<usize>,
) -> Result<RunRecord, BenchError> {
    let plan = plan_for(scenario, params);
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("vrb-{}-{n}", std::process::id());
    let scratch = std::env::temp_dir().join(&name);
    std::fs::DirBuilder::new().mode(0o700).create(&scratch)?;
    let _scratch = ScratchDir(scratch.clone());
    let (writer_link, reader_link) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let spec = |role: Role, cpu: Option<usize>, link: &OwnedFd| {
        use std::os::fd::AsRawFd;
        PeerSpec {
            role,
            transport,
            size,
            payload,
            mode: scenario.mode(),
            kind: scenario.kind(),
            capacity: params.capacity,
            name: name.clone(),
            scratch_dir: scratch.clone(),
            link_fd: link.as_raw_fd(),
            cpu,
            plan,
        }
    };

    let writer_spec = spec(Role::Writer, writer_cpu, &writer_link);
    let mut writer = Peer::spawn(exe, &writer_spec, writer_link)?;
    let w_ready = writer.expect(SETUP_TIMEOUT, "ready")?;
    let reader_spec = spec(Role::Reader, reader_cpu, &reader_link);
    let mut reader = Peer::spawn(exe, &reader_spec, reader_link)?;
    let r_ready = reader.expect(SETUP_TIMEOUT, "ready")?;
    let pinned = matches!(
        (&w_ready, &r_ready),
        (
            PeerMsg::Ready {
                pinned_cpu: Some(_)
            },
            PeerMsg::Ready {
                pinned_cpu: Some(_)
            }
        )
    );

    writer.say("go")?;
    let budget = plan.warmup.estimate() + plan.measured.estimate() + Duration::from_secs(30);
    let w: WriterResult = match writer.expect(budget, "its result")? {
        PeerMsg::Writer(w) => w,
        other => return Err(BenchError::Peer(format!("writer sent {other:?}"))),
    };
    let r_msg = match reader.rx.recv_timeout(END_GRACE) {
        Ok(m) => m,
        Err(_) => {
            // The end frame did not arrive (lost, or the reader is behind): ask it to stop.
            let _ = reader.say("stop");
            reader.expect(Duration::from_secs(10), "its result")?
        }
    };
    let r: ReaderResult = match r_msg {
        PeerMsg::Reader(r) => r,
        PeerMsg::Error {
            unsupported: true,
            message,
        } => return Err(BenchError::Unsupported(message)),
        PeerMsg::Error { message, .. } => {
            return Err(BenchError::Peer(format!("Reader: {message}")))
        }
        other => return Err(BenchError::Peer(format!("reader sent {other:?}"))),
    };
    reader.finish(Duration::from_secs(2));
    writer.finish(Duration::from_secs(5));

    if w.payload_len != r.payload_len {
        return Err(BenchError::Peer(format!(
            "writer payload {} bytes, reader payload {} bytes",
            w.payload_len, r.payload_len
        )));
    }
    let secs = |ns: u64| ns as f64 / 1e9;
    let reader_cpu_percent = (r.window_ns > 0)
        .then(|| (r.cpu_user_ns + r.cpu_sys_ns) as f64 / r.window_ns as f64 * 100.0);
    let throughput = (scenario.kind() == TestKind::Throughput && r.received > 0).then(|| {
        let active = secs(r.active_ns.max(1));
        let fps = r.received.saturating_sub(1).max(1) as f64 / active;
        ThroughputFigures {
            frames_per_s: fps,
            bytes_per_s: fps * w.payload_len as f64,
            writer_frames_per_s: w.sent as f64 / secs(w.elapsed_ns.max(1)),
            duration_s: secs(w.elapsed_ns),
        }
    });
    let cpu = (scenario.kind() == TestKind::Cpu && r.window_ns > 0).then(|| CpuFigures {
        percent_of_one_core: reader_cpu_percent.unwrap_or(0.0),
        user_s: secs(r.cpu_user_ns),
        sys_s: secs(r.cpu_sys_ns),
        window_s: secs(r.window_ns),
        rate_hz: params.cpu.rate_hz,
    });
    Ok(RunRecord {
        transport,
        size,
        payload,
        payload_bytes: w.payload_len,
        scenario,
        kind: scenario.kind(),
        mode: scenario.mode(),
        status: Status::Ok,
        error: (!r.saw_end).then(|| "end frame not received; reader was told to stop".to_string()),
        sent: w.sent,
        received: r.received,
        lost: w.sent.saturating_sub(r.received),
        seq_gaps: r.seq_gaps,
        transport_dropped: r.transport_dropped,
        corrupt: r.malformed + r.out_of_order,
        pinned,
        reader_cpu_percent,
        latency: r.latency,
        throughput,
        cpu,
    })
}
