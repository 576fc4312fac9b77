//! Accounting checkable from outside, and the producer's clean exit, with real processes:
//! `vitalring sim` prints how many frames it published, `vitalring monitor --json` prints the
//! reader session's own counters in its final status line, and when the producer stopped first
//! `published - start_index = delivered + dropped + rejected` exactly — under the `corrupt` and
//! `burst` scenarios too. A producer that exits cleanly is "producer_stopped", never "stalled".

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{wait_for, Proc, TempDir, BIN};
use serde_json::Value;

fn spawn(args: &[&str]) -> Proc {
    Proc(
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vitalring"),
    )
}

/// Waits for the process to exit (bounded) and returns (success, stdout, stderr).
fn finish(mut p: Proc) -> (bool, String, String) {
    let mut out = p.0.stdout.take().unwrap();
    let mut err = p.0.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = None;
    wait_for("the process to exit", || {
        status = p.0.try_wait().unwrap();
        status.is_some()
    });
    let ok = status.is_some_and(|s| s.success());
    (ok, o.join().unwrap(), e.join().unwrap())
}

fn wait_for_socket(p: &mut Proc, socket: &Path) {
    wait_for("the producer's socket", || {
        if let Ok(Some(s)) = p.0.try_wait() {
            panic!("producer exited during start-up: {s}");
        }
        socket.exists()
    });
}

fn id(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}

fn published(sim_stderr: &str) -> u64 {
    sim_stderr
        .lines()
        .find_map(|l| l.strip_prefix("vitalring sim: published "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 'published N' line in: {sim_stderr}"))
}

/// Runs a sim for `sim_secs` and a monitor that outlives it; returns (published, the
/// monitor's JSON lines).
fn run(tag: &str, sim_args: &[&str]) -> (u64, Vec<Value>) {
    let dir = TempDir::new(tag);
    let socket = dir.path().join("vr.sock");
    let s = socket.to_str().unwrap();
    let mut args = vec!["sim", "--socket", s, "--log-every", "0", "--duration", "2"];
    args.extend_from_slice(sim_args);
    let mut sim = spawn(&args);
    wait_for_socket(&mut sim, &socket);
    let monitor = spawn(&["monitor", "--socket", s, "--json", "--duration", "4"]);
    let (sim_ok, _, sim_err) = finish(sim);
    assert!(sim_ok, "sim failed: {sim_err}");
    let (mon_ok, out, err) = finish(monitor);
    assert!(mon_ok, "monitor failed: {err}");
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not json: {l}: {e}")))
        .collect();
    (published(&sim_err), lines)
}

/// The final status line's session figures satisfy the accounting identity against the
/// producer's own count; returns them.
fn check_accounting(published: u64, lines: &[Value]) -> Value {
    let last = lines
        .iter()
        .rev()
        .find(|v| v["event"] == "status")
        .expect("a final status line");
    assert_eq!(last["state"], "producer_stopped", "{last}");
    let cur = &last["session"]["current"];
    let start = id(&cur["start_index"]);
    let delivered = cur["delivered"].as_u64().unwrap();
    let dropped = cur["dropped"].as_u64().unwrap();
    let rejected = cur["rejected"].as_u64().unwrap();
    assert_eq!(
        id(&cur["position"]),
        published,
        "the reader drained the ring: {last}"
    );
    assert_eq!(
        published - start,
        delivered + dropped + rejected,
        "published {published} - start_index {start} != delivered {delivered} + dropped \
         {dropped} + rejected {rejected}: {last}"
    );
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "connection" && v["state"] == "producer_stopped"),
        "the clean exit is reported as producer_stopped"
    );
    assert!(
        !lines
            .iter()
            .any(|v| v["event"] == "error" && v["kind"] == "stalled"),
        "a clean exit is not a stall"
    );
    cur.clone()
}

#[test]
fn a_clean_run_accounts_for_every_published_frame_and_ends_producer_stopped() {
    let (published, lines) = run("normal", &[]);
    let cur = check_accounting(published, &lines);
    assert_eq!(cur["dropped"], 0);
    assert_eq!(cur["rejected"], 0);
    assert!(cur["heartbeats"].as_u64().is_some());
}

#[test]
fn the_corrupt_scenario_accounts_exactly() {
    let (published, lines) = run(
        "corrupt",
        &["--scenario", "corrupt", "--corrupt-rate", "0.2"],
    );
    let cur = check_accounting(published, &lines);
    assert!(cur["rejected"].as_u64().unwrap() > 0, "{cur}");
}

#[test]
fn the_burst_scenario_accounts_exactly() {
    let (published, lines) = run(
        "burst",
        &[
            "--scenario",
            "burst",
            "--burst-every",
            "0.5",
            "--burst-frames",
            "20000",
            "--frames",
            "64",
            "--frame-size",
            "256",
        ],
    );
    let cur = check_accounting(published, &lines);
    assert!(cur["dropped"].as_u64().unwrap() > 0, "{cur}");
}

#[test]
fn the_in_process_simulator_needs_no_producer_and_accounts_exactly() {
    let (ok, out, err) = finish(spawn(&[
        "monitor",
        "--simulate",
        "afib",
        "--json",
        "--duration",
        "2",
    ]));
    assert!(ok, "monitor --simulate failed: {err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let vitals = lines.iter().filter(|v| v["event"] == "vitals").count();
    assert!(vitals > 60, "two seconds of 60 Hz vitals, got {vitals}");
    let last = lines.iter().rev().find(|v| v["event"] == "status").unwrap();
    let cur = &last["session"]["current"];
    let moved = id(&cur["position"]) - id(&cur["start_index"]);
    assert_eq!(
        moved,
        cur["delivered"].as_u64().unwrap()
            + cur["dropped"].as_u64().unwrap()
            + cur["rejected"].as_u64().unwrap()
    );
    assert_eq!(cur["rejected"], 0, "{last}");
}
