//! Killing and restarting the exporter, then the producer: the importer reports the lost link
//! or the stalled source, a monitor on the imported ring reports `stalled` (it stays attached:
//! the importer's ring lives on), and both recover by themselves when the stream is back.

use std::time::Duration;

use crate::common::*;
use nix::sys::signal::Signal;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn vitals_count(lines: &[Value]) -> usize {
    events(lines, "vitals").count()
}

/// Waits for the monitor to report `state` (a connection event), then for `n` more vitals.
fn monitor_goes(mon: &Proc, seen: &mut Vec<Value>, state: &str) {
    mon.wait_json(LIMIT, seen, |v| {
        v["event"] == "connection" && v["state"] == state
    });
}

fn monitor_gets_vitals(mon: &Proc, seen: &mut Vec<Value>, n: usize) {
    let before = vitals_count(seen);
    collect_until(mon, LIMIT, seen, |s| vitals_count(s) >= before + n);
}

#[test]
fn exporter_and_producer_restarts_are_reported_and_recovered() {
    let dir = tempdir();
    let src = dir.path().join("src.sock");
    let dst = dir.path().join("dst.sock");
    let port = free_port();
    let imp = import(&dst, port, &[]);
    let mut sim1 = sim(&src, &["--seed", "4"]);
    let mut exp1 = export(&src, port, &[]);
    let mut isee = Vec::new();
    wait_live(&imp, &mut isee);
    let mon = monitor(&dst, "dst", &[]);
    let mut msee = Vec::new();
    monitor_gets_vitals(&mon, &mut msee, 10);

    // 1. The exporter dies (SIGKILL: no last word). The importer notices the silence; the
    //    monitor sees the ring stalled.
    exp1.signal_and_wait(Signal::SIGKILL);
    imp.wait_json(LIMIT, &mut isee, |v| v["state"] == "link_lost");
    monitor_goes(&mon, &mut msee, "stalled");

    // A new exporter on the same port: the importer follows its stream, the monitor recovers
    // on the same ring (same epoch) and gets data again.
    let exp2 = export(&src, port, &[]);
    imp.wait_json(LIMIT, &mut isee, |v| {
        v["state"] == "live" && v["counts"]["streams"] == 2
    });
    monitor_goes(&mon, &mut msee, "connected");
    monitor_gets_vitals(&mon, &mut msee, 10);

    // 2. The producer dies (SIGKILL). The exporter's reader stalls, it says so, the importer
    //    stops the local heartbeat: the monitor reports the ring stalled again.
    let old_epoch =
        imp.wait_json(LIMIT, &mut isee, |v| v["source_epoch"].is_string())["source_epoch"].clone();
    sim1.signal_and_wait(Signal::SIGKILL);
    imp.wait_json(LIMIT, &mut isee, |v| {
        v["state"] == "source_down" && v["source_state"] == "stalled"
    });
    monitor_goes(&mon, &mut msee, "stalled");

    // A new producer on the same socket: the exporter re-attaches (new epoch), the importer
    // reports the restart and feeds the ring again, the monitor recovers.
    let _sim2 = sim(&src, &["--seed", "5"]);
    exp2.wait_stderr(LIMIT, "source producer restarted");
    let back = imp.wait_json(LIMIT, &mut isee, |v| {
        v["state"] == "live" && v["source_epoch"].is_string() && v["source_epoch"] != old_epoch
    });
    assert_eq!(back["counts"]["streams"], 2, "{back}");
    monitor_goes(&mon, &mut msee, "connected");
    monitor_gets_vitals(&mon, &mut msee, 10);

    // Through all of it the monitor stayed on one ring: the importer's.
    let epochs: std::collections::HashSet<&str> = events(&msee, "connection")
        .filter_map(|v| v["epoch"].as_str())
        .collect();
    assert_eq!(epochs.len(), 1, "the imported ring changed: {epochs:?}");
    let errs: Vec<String> = imp.drain_stderr();
    assert!(
        errs.iter().any(|l| l.contains("link lost")),
        "importer never said the link was lost: {errs:?}"
    );
}
