//! End-to-end runs of the harness with tiny counts. No assertion is made on timing numbers.

use std::path::PathBuf;

use vitalring_bench::{
    run, BenchOptions, Params, PayloadMode, Scenario, Status, Transport, VITALS_PAYLOAD_LEN,
};

fn peer_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vitalring-bench"))
}

fn tiny(transports: Vec<Transport>, sizes: Vec<usize>, json: Option<PathBuf>) -> BenchOptions {
    BenchOptions {
        quick: true,
        sizes,
        transports,
        json_out: json,
        params: Some(Params::tiny()),
        peer_exe: Some(peer_exe()),
        progress: false,
        ..BenchOptions::default()
    }
}

#[test]
fn uds_runs_end_to_end_and_json_has_expected_keys() {
    let json_path = std::env::temp_dir().join(format!("vrbench-e2e-{}.json", std::process::id()));
    let opts = tiny(
        vec![Transport::Uds],
        vec![64, 256, 4096],
        Some(json_path.clone()),
    );
    let report = run(&opts).expect("benchmark runs");

    // Full frames at every size, the vitals payload only at 4096 (256 is too small for it).
    assert_eq!(report.runs.len(), 4 * Scenario::ALL.len());
    for r in &report.runs {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.transport, Transport::Uds);
        match r.payload {
            PayloadMode::Full => assert_eq!(r.payload_bytes, r.size),
            PayloadMode::Vitals => {
                assert_eq!(r.size, 4096);
                assert_eq!(r.payload_bytes, VITALS_PAYLOAD_LEN);
            }
        }
        // A socket applies back-pressure: nothing is ever lost.
        assert_eq!(r.lost, 0, "{r:?}");
        assert_eq!(r.corrupt, 0, "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!(r.sent > 0 && r.received == r.sent, "{r:?}");
    }
    let p = Params::tiny();
    for size in [64, 256, 4096] {
        let busy = report
            .find(Transport::Uds, size, Scenario::LatencyBusy)
            .unwrap();
        assert_eq!(busy.latency.unwrap().count, p.latency_busy.count);
        let backoff = report
            .find(Transport::Uds, size, Scenario::LatencyBackoff)
            .unwrap();
        assert_eq!(backoff.latency.unwrap().count, p.latency_backoff.count);
        assert!(report
            .find(Transport::Uds, size, Scenario::Throughput)
            .unwrap()
            .throughput
            .is_some());
        assert!(report
            .find(Transport::Uds, size, Scenario::ClinicalCpu)
            .unwrap()
            .cpu
            .is_some());
    }

    let table = report.to_string();
    for needle in ["One-way latency", "Maximum throughput", "Reader CPU", "uds"] {
        assert!(table.contains(needle), "table lacks {needle:?}:\n{table}");
    }

    let text = std::fs::read_to_string(&json_path).expect("JSON file written");
    let _ = std::fs::remove_file(&json_path);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    for key in ["schema", "quick", "host", "params", "total_s", "runs"] {
        assert!(v.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(v["schema"], "vitalring-bench/1");
    for key in ["cpus", "writer_cpu", "reader_cpu", "clock"] {
        assert!(v["host"].get(key).is_some(), "host lacks {key}");
    }
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 16);
    for r in runs {
        for key in [
            "transport",
            "payload",
            "size",
            "payload_bytes",
            "scenario",
            "kind",
            "mode",
            "status",
            "error",
            "sent",
            "received",
            "lost",
            "pinned",
            "reader_cpu_percent",
            "latency",
            "throughput",
            "cpu",
        ] {
            assert!(r.get(key).is_some(), "run lacks {key}: {r}");
        }
        assert_eq!(r["transport"], "uds");
        assert_eq!(r["status"], "ok");
    }
    let lat = runs
        .iter()
        .find(|r| r["scenario"] == "latency_busy")
        .unwrap();
    for key in [
        "count", "min_ns", "mean_ns", "p50_ns", "p99_ns", "p999_ns", "max_ns",
    ] {
        assert!(lat["latency"].get(key).is_some(), "latency lacks {key}");
    }
    let tp = runs.iter().find(|r| r["scenario"] == "throughput").unwrap();
    for key in [
        "frames_per_s",
        "bytes_per_s",
        "writer_frames_per_s",
        "duration_s",
    ] {
        assert!(
            tp["throughput"].get(key).is_some(),
            "throughput lacks {key}"
        );
    }
    let cpu = runs
        .iter()
        .find(|r| r["scenario"] == "clinical_cpu")
        .unwrap();
    for key in [
        "percent_of_one_core",
        "user_s",
        "sys_s",
        "window_s",
        "rate_hz",
    ] {
        assert!(cpu["cpu"].get(key).is_some(), "cpu lacks {key}");
    }
}

#[test]
fn vitalring_runs_end_to_end_through_the_real_handshake() {
    let opts = tiny(
        vec![Transport::Vitalring, Transport::VitalringLp],
        vec![64, 4096],
        None,
    );
    let report = run(&opts).expect("benchmark runs");
    // Two transports × (64 full, 4096 full, 4096 vitals).
    assert_eq!(report.runs.len(), 2 * 3 * Scenario::ALL.len());
    for r in &report.runs {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.corrupt, 0, "{r:?}");
        assert!(r.received > 0, "{r:?}");
        let expected = match r.payload {
            PayloadMode::Full => r.size - 32,
            PayloadMode::Vitals => VITALS_PAYLOAD_LEN,
        };
        assert_eq!(r.payload_bytes, expected, "{r:?}");
    }
}

/// The floor transports run through the same harness: a bare copy ring moving the whole frame
/// (or the vitals payload), and the one-line flag moving only the 24-byte bench header.
#[test]
fn floor_transports_run_end_to_end() {
    let opts = tiny(
        vec![Transport::Floor, Transport::FloorFlag],
        vec![4096],
        None,
    );
    let report = run(&opts).expect("benchmark runs");
    assert_eq!(report.runs.len(), 2 * 2 * Scenario::ALL.len());
    for r in &report.runs {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        // The reader saw the writer's frames: delivered, or (the one-slot flag under a loaded
        // machine, whose reader may not run while the writer overwrites) counted as dropped.
        assert!(r.received > 0 || r.transport_dropped > 0, "{r:?}");
        let expected = match (r.transport, r.payload) {
            (Transport::FloorFlag, _) => 24,
            (_, PayloadMode::Full) => 4096,
            (_, PayloadMode::Vitals) => VITALS_PAYLOAD_LEN,
        };
        assert_eq!(r.payload_bytes, expected, "{r:?}");
    }
}

#[cfg(not(feature = "iceoryx2"))]
#[test]
fn unavailable_transports_are_reported_not_fatal() {
    let opts = tiny(vec![Transport::Iceoryx2], vec![64, 256], None);
    let report = run(&opts).expect("benchmark runs");
    assert_eq!(report.runs.len(), 2 * Scenario::ALL.len());
    for r in &report.runs {
        assert_eq!(r.status, Status::Unsupported, "{r:?}");
        assert!(r.error.as_deref().is_some_and(|e| !e.is_empty()));
    }
    assert!(report.to_string().contains("unsupported"));
}

#[cfg(feature = "iceoryx2")]
#[test]
fn iceoryx2_runs_end_to_end() {
    let opts = tiny(vec![Transport::Iceoryx2], vec![64, 4096], None);
    let report = run(&opts).expect("benchmark runs");
    for r in &report.runs {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.corrupt, 0, "{r:?}");
        assert!(r.received > 0, "{r:?}");
    }
}

#[test]
fn peer_rejects_garbage_spec() {
    let out = std::process::Command::new(peer_exe())
        .args([vitalring_bench::PEER_ARG, "{not json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"msg\":\"error\""), "{stdout}");
}
