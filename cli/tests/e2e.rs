//! End-to-end tests of the `vitalring` binary: real processes, real sockets, real memfds.
//!
//! Every wait is bounded (a generous safety limit that only turns a hang into a failure);
//! no assertion is about how long something took. Rates are computed from the frames' own
//! timestamps, not from the wall clock.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vitalring");
/// Safety limit for anything we wait for.
const LIMIT: Duration = Duration::from_secs(30);

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "vitalring-cli-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("vr.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `ready` until it holds. The deadline only bounds a hung test (a setup step that never
/// happens); no test asserts how fast anything is.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !ready() {
        if Instant::now() > deadline {
            panic!("gave up waiting for {what} after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts `vitalring sim --socket <socket> <args>` and waits for its socket.
fn sim(socket: &Path, args: &[&str]) -> Proc {
    let child = Command::new(BIN)
        .arg("sim")
        .arg("--socket")
        .arg(socket)
        .args(["--log-every", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let mut p = Proc(child);
    wait_for("the sim socket", || {
        if let Ok(Some(status)) = p.0.try_wait() {
            panic!("sim exited during start-up: {status}");
        }
        socket.exists()
    });
    p
}

/// Runs `vitalring <args>` to completion, reading its output while it runs (a full pipe
/// would otherwise block it), and kills it if it outlives the safety limit.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vitalring");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("vitalring {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not json: {l}: {e}")))
        .collect()
}

/// A 64-bit identifier of the JSON output: a string of decimal digits (exact in any reader).
fn id(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}

fn events<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["event"] == kind).collect()
}

fn monitor_json(socket: &Path, secs: &str) -> Vec<Value> {
    let s = socket.to_str().unwrap();
    let out = run(&["monitor", "--socket", s, "--json", "--duration", secs]);
    assert!(
        out.status.success(),
        "monitor failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// Vitals per second of the run, from the frames' timestamps.
fn vitals_rate(lines: &[Value]) -> f64 {
    let v = events(lines, "vitals");
    assert!(v.len() >= 10, "only {} vitals events", v.len());
    let t0 = id(&v[0]["t_ns"]);
    let t1 = id(&v[v.len() - 1]["t_ns"]);
    (v.len() - 1) as f64 / ((t1 - t0) as f64 / 1e9)
}

/// Checks that every waveform channel is contiguous at 250 Hz; returns samples per channel.
fn check_waveforms(lines: &[Value]) -> HashMap<String, u64> {
    let mut next: HashMap<String, (u64, u64)> = HashMap::new();
    let mut count = HashMap::new();
    for w in events(lines, "waveform") {
        let ch = w["channel"].as_str().unwrap().to_string();
        assert_eq!(w["fs"], 250, "{w}");
        let first = id(&w["first"]);
        let n = w["samples"].as_array().unwrap().len() as u64;
        let t = id(&w["t_ns"]);
        if let Some(&(expected, t_prev)) = next.get(&ch) {
            assert_eq!(first, expected, "gap in {ch}: {w}");
            // The sample clock: 4 ms per sample.
            assert_eq!(
                t - t_prev,
                n * 4_000_000,
                "{ch} timestamps off the sample clock"
            );
        }
        next.insert(ch.clone(), (first + n, t));
        *count.entry(ch).or_insert(0) += n;
    }
    count
}

#[test]
fn help_of_every_subcommand_exits_0() {
    for sub in [
        &[][..],
        &["sim"],
        &["monitor"],
        &["dump"],
        &["bench"],
        &["demo"],
    ] {
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--help");
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.len() > 100, "{args:?}: {text}");
    }
    let text = String::from_utf8_lossy(&run(&["sim", "--help"]).stdout).to_string();
    for flag in [
        "--socket",
        "--channel",
        "--token-file",
        "--frame-size",
        "--frames",
        "--scenario",
        "--seed",
        "--encoding",
        "--duration",
        "[default: 4096]",
    ] {
        assert!(text.contains(flag), "sim --help lacks {flag}");
    }
}

#[test]
fn monitor_json_end_to_end() {
    let dir = TempDir::new("e2e");
    let _sim = sim(&dir.socket(), &["--scenario", "normal", "--seed", "5"]);
    let lines = monitor_json(&dir.socket(), "3");

    let rate = vitals_rate(&lines);
    assert!((50.0..=70.0).contains(&rate), "vitals rate {rate}/s");
    let v = events(&lines, "vitals")[0];
    for field in [
        "t_ns", "index", "hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_map", "temp", "pr",
    ] {
        assert!(!v[field].is_null(), "vitals lacks {field}: {v}");
    }

    let samples = check_waveforms(&lines);
    assert_eq!(samples.len(), 3, "{samples:?}");
    let wf = events(&lines, "waveform");
    let span_s = (id(&wf[wf.len() - 1]["t_ns"]) - id(&wf[0]["t_ns"])) as f64 / 1e9;
    for (ch, n) in &samples {
        let per_s = *n as f64 / span_s;
        assert!((225.0..=275.0).contains(&per_s), "{ch}: {per_s} samples/s");
    }

    let status = events(&lines, "status");
    assert!(status.len() >= 2, "{} status lines", status.len());
    for s in &status {
        let lat = &s["latency_us"];
        for f in ["p50", "p99", "max"] {
            assert!(lat.get(f).is_some(), "status lacks latency_us.{f}: {s}");
        }
        assert_eq!(s["rejected"], 0, "{s}");
        assert_eq!(s["dropped"], 0, "{s}");
        assert!(s["frames"].as_u64().is_some() && id(&s["epoch"]) != 0);
    }
    assert_eq!(status.last().unwrap()["state"], "connected");
    assert!(status.iter().any(|s| s["latency_us"]["p50"].is_number()));
    assert!(
        events(&lines, "error").is_empty(),
        "errors: {:?}",
        events(&lines, "error")
    );
}

#[test]
fn binary_encoding_end_to_end() {
    let dir = TempDir::new("bin");
    let _sim = sim(
        &dir.socket(),
        &[
            "--encoding",
            "binary",
            "--frame-size",
            "256",
            "--frames",
            "1024",
        ],
    );
    let lines = monitor_json(&dir.socket(), "2");
    let rate = vitals_rate(&lines);
    assert!((50.0..=70.0).contains(&rate), "vitals rate {rate}/s");
    assert_eq!(check_waveforms(&lines).len(), 3);
    assert!(events(&lines, "error").is_empty());
}

#[test]
fn kill_9_of_the_sim_is_reported_as_a_stall() {
    let dir = TempDir::new("kill");
    let mut sim = sim(&dir.socket(), &[]);
    let mut monitor = Proc(
        Command::new(BIN)
            .args(["monitor", "--json", "--duration", "8", "--socket"])
            .arg(dir.socket())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = monitor.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = rx.recv_timeout(LIMIT).expect("monitor output");
        serde_json::from_str(&line).unwrap()
    };
    // Connected and receiving first.
    while next()["event"] != "vitals" {}
    sim.0.kill().unwrap();
    sim.0.wait().unwrap();
    let stalled = loop {
        let v = next();
        if v["event"] == "error" && v["kind"] == "stalled" {
            break v;
        }
    };
    let age = stalled["heartbeat_age_ms"].as_f64().unwrap();
    assert!((250.0..300.0).contains(&age), "heartbeat_age_ms {age}");
    assert_eq!(stalled["count"], 1);
    // The state follows, and later status lines say so.
    loop {
        let v = next();
        if v["event"] == "status" {
            assert_eq!(v["state"], "stalled", "{v}");
            assert!(v["alarms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "SENSOR STALLED"));
            break;
        }
    }
    let status = monitor.0.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn stall_scenario_stops_heartbeat_but_keeps_the_process() {
    let dir = TempDir::new("stall");
    let mut sim = sim(
        &dir.socket(),
        &["--scenario", "stall", "--fault-after", "1"],
    );
    let lines = monitor_json(&dir.socket(), "2.5");
    let err = events(&lines, "error");
    assert!(
        err.iter().any(|e| e["kind"] == "stalled"),
        "no stall reported: {err:?}"
    );
    assert!(
        sim.0.try_wait().unwrap().is_none(),
        "the stalled sim exited"
    );
}

#[test]
fn corrupt_scenario_frames_are_rejected_by_crc() {
    let dir = TempDir::new("corrupt");
    let _sim = sim(
        &dir.socket(),
        &[
            "--scenario",
            "corrupt",
            "--corrupt-rate",
            "0.3",
            "--seed",
            "11",
        ],
    );
    let lines = monitor_json(&dir.socket(), "2");
    let crc = events(&lines, "error")
        .into_iter()
        .filter(|e| e["kind"] == "crc")
        .count();
    assert!(crc > 0, "no crc rejections");
    let last = *events(&lines, "status").last().unwrap();
    assert!(last["rejected"].as_u64().unwrap() > 0, "{last}");
    assert!(last["rejected_by"]["crc"].as_u64().unwrap() > 0, "{last}");
    // Good frames still flow.
    assert!(events(&lines, "vitals").len() > 10);
}

#[test]
fn burst_scenario_laps_the_reader() {
    let dir = TempDir::new("burst");
    let _sim = sim(
        &dir.socket(),
        &[
            "--scenario",
            "burst",
            "--burst-every",
            "0.5",
            "--burst-frames",
            "50000",
            "--frames",
            "64",
            "--frame-size",
            "256",
        ],
    );
    let lines = monitor_json(&dir.socket(), "2.2");
    // The status counters are the reader's own (never behind the drop reports printed before
    // them), and the final status line equals the sum of every drop report exactly.
    let mut dropped = 0;
    let mut statuses = 0;
    for v in &lines {
        if v["event"] == "error" && v["kind"] == "dropped" {
            dropped += v["count"].as_u64().unwrap();
        }
        if v["event"] == "status" {
            assert!(v["dropped"].as_u64().unwrap() >= dropped, "{v}");
            assert_eq!(v["rejected"], 0, "{v}");
            statuses += 1;
        }
    }
    assert!(statuses > 0);
    let last = lines.iter().rev().find(|v| v["event"] == "status").unwrap();
    assert_eq!(last["dropped"].as_u64().unwrap(), dropped, "{last}");
    assert!(
        dropped > 0,
        "a 64-slot ring and 50000-frame bursts, yet no drop"
    );
}

#[test]
fn crash_scenario_aborts_the_sim() {
    let dir = TempDir::new("crash");
    let mut sim = sim(
        &dir.socket(),
        &["--scenario", "crash", "--fault-after", "0.3"],
    );
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = sim.0.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > LIMIT {
            panic!("hang guard: crash scenario did not abort");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(6), "{status}"); // SIGABRT
}

#[test]
fn dump_json_agrees_with_the_sim_geometry() {
    let dir = TempDir::new("dump");
    let _sim = sim(&dir.socket(), &["--frame-size", "512", "--frames", "64"]);
    let s = dir.socket().to_str().unwrap().to_string();
    let doc = loop {
        let out = run(&["dump", "--socket", &s, "--json", "--last", "5"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("dump --json parses");
        if doc["frames"].as_array().unwrap().len() == 5 {
            break doc;
        }
    };
    let h = &doc["header"];
    assert_eq!(h["frame_size"], 512);
    assert_eq!(h["frame_count"], 64);
    assert_eq!(h["region_len"], 80 + 512 * 64);
    assert_eq!(h["version"], 1);
    assert_eq!(h["magic"], "0x534d5242");
    assert_eq!(h["crc_ok"], true);
    assert!(id(&h["epoch"]) != 0);
    assert!(id(&h["write_index"]) >= 5);
    let seals: Vec<&str> = doc["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for s in ["seal", "shrink", "grow", "future_write"] {
        assert!(seals.contains(&s), "{seals:?}");
    }
    let frames = doc["frames"].as_array().unwrap();
    let wi = id(&h["write_index"]);
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(id(&f["index"]), wi - 5 + k as u64);
        assert_eq!(f["status"], "ok", "{f}");
        assert!(f["record"]["kind"].is_string(), "{f}");
    }
    // The text form too.
    let out = run(&["dump", "--socket", &s, "--last", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("512 B x 64 frames"), "{text}");
}

#[test]
fn sigterm_stops_the_sim_cleanly_and_removes_its_socket() {
    let dir = TempDir::new("term");
    let mut sim = sim(&dir.socket(), &[]);
    let pid = sim.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = sim.0.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > LIMIT {
            panic!("hang guard: sim ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    assert!(!dir.socket().exists(), "socket left behind");
}

// `demo` cleanup: cli/tests/demo_cleanup.rs.

#[test]
fn monitor_without_a_producer_fails_with_one_line() {
    let dir = TempDir::new("missing");
    let s = dir.socket();
    for sub in ["monitor", "dump"] {
        let out = run(&[sub, "--socket", s.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(3), "{sub}: {:?}", out.status);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{sub}: {err}");
        assert!(err.contains("cannot connect"), "{err}");
        assert!(out.stdout.is_empty() || sub == "monitor");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = run(&["sim", "--frames", "1000", "--socket", "/nonexistent/x.sock"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    let out = run(&["sim", "--scenario", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}
