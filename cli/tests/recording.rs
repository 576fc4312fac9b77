//! `vitalring record` end to end: real simulator and recorder processes, and the recording read
//! back by a real h5py (the venv `.ci/python-venv.sh` makes; its interpreter is
//! `$VITALRING_PYTHON`, else `target/venv/bin/python`). In CI (`CI=true`) a missing
//! interpreter fails these tests; elsewhere they say so and pass without running.
//!
//! Every wait is bounded only to turn a hang into a failure; no assertion is about speed.
//! Rates come from the frames' own timestamps.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, run_cmd, wait_for, Proc, TempDir, BIN, LIMIT};
use serde_json::Value;

/// The Python interpreter with h5py, numpy and wfdb, or `None` (outside CI only).
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("VITALRING_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import h5py, numpy, wfdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI: no Python with h5py, numpy and wfdb at {} (run .ci/python-venv.sh and set \
         VITALRING_PYTHON)",
        candidate.display()
    );
    eprintln!(
        "skipped: no Python with h5py, numpy and wfdb at {}; run .ci/python-venv.sh",
        candidate.display()
    );
    None
}

/// Reads `file` with h5py into one JSON value (see `tests/py/inspect_recording.py`).
fn inspect(py: &Path, file: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/inspect_recording.py");
    let mut cmd = Command::new(py);
    cmd.arg(script).arg(file);
    let out = run_cmd(cmd);
    assert!(
        out.status.success(),
        "h5py could not read {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inspect output is JSON")
}

/// Reads `file` with h5py once the recorder has created it and started SWMR writing (between
/// the two, an open fails: retried, bounded).
fn inspect_when_ready(py: &Path, file: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/inspect_recording.py");
    let mut out = None;
    wait_for("a readable recording", || {
        if !file.exists() {
            return false;
        }
        let mut cmd = Command::new(py);
        cmd.arg(&script).arg(file);
        let o = run_cmd(cmd);
        if o.status.success() {
            out = Some(o.stdout);
        }
        out.is_some()
    });
    serde_json::from_slice(&out.unwrap()).expect("inspect output is JSON")
}

/// A background process whose stderr is collected.
struct Bg {
    proc: Proc,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Bg {
    fn start(args: &[&str]) -> Self {
        let mut child: Child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vitalring");
        let mut stderr = child.stderr.take().unwrap();
        let err = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        Self {
            proc: Proc(child),
            err: Some(err),
        }
    }

    fn pid(&self) -> u32 {
        self.proc.0.id()
    }

    /// Waits for the exit; returns success and stderr.
    fn finish(mut self) -> (bool, String) {
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = self.proc.0.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > LIMIT * 2 {
                panic!("hang guard: process did not exit (hung)");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let err = self.err.take().unwrap().join().unwrap();
        (status.success(), String::from_utf8_lossy(&err).into_owned())
    }
}

fn sim(socket: &Path, args: &[&str]) -> Bg {
    let mut all = vec![
        "sim",
        "--socket",
        socket.to_str().unwrap(),
        "--log-every",
        "0",
    ];
    all.extend_from_slice(args);
    let mut bg = Bg::start(&all);
    wait_for("the sim socket", || {
        if let Ok(Some(status)) = bg.proc.0.try_wait() {
            panic!("sim exited during start-up: {status}");
        }
        socket.exists()
    });
    bg
}

fn record(socket: &Path, out: &Path, args: &[&str]) -> Bg {
    let mut all = vec![
        "record",
        "--socket",
        socket.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    Bg::start(&all)
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Rows of the events table: (kind, epoch, first, count, detail).
fn events(rec: &Value) -> Vec<(String, u64, u64, u64, String)> {
    let e = &rec["tables"]["events"];
    let kinds = strs(&e["kind"]);
    let epochs = u64s(&e["epoch"]);
    let first = u64s(&e["first"]);
    let count = u64s(&e["count"]);
    let detail = strs(&e["detail"]);
    (0..kinds.len())
        .map(|i| {
            (
                kinds[i].clone(),
                epochs[i],
                first[i],
                count[i],
                detail[i].clone(),
            )
        })
        .collect()
}

/// Checks one channel: every chunk's samples lie where its row says, and within a segment
/// chunks follow each other sample for sample and 4 ms per sample. Returns the number of
/// segments.
fn check_channel(name: &str, w: &Value) -> usize {
    let c = &w["chunks"];
    let first = u64s(&c["first_sample_index"]);
    let offset = u64s(&c["offset"]);
    let count = u64s(&c["count"]);
    let time = u64s(&c["time_ns"]);
    let fs = u64s(&c["sample_rate_hz"]);
    let seg_offset = u64s(&w["segments"]["offset"]);
    let n_samples = w["samples"].as_array().unwrap().len() as u64;
    assert_eq!(w["dtype"], "int32", "{name}: native integer samples");
    assert!(!first.is_empty(), "{name}: no chunks");
    assert_eq!(seg_offset.first(), Some(&0), "{name}: first segment at 0");
    let mut expected_offset = 0;
    for i in 0..first.len() {
        assert_eq!(offset[i], expected_offset, "{name}: chunk {i} offset");
        expected_offset += count[i];
        assert_eq!(fs[i], 250, "{name}: rate");
        if i > 0 && !seg_offset.contains(&offset[i]) {
            // Same segment: contiguous, on the 250 Hz sample clock.
            assert_eq!(
                first[i],
                first[i - 1] + count[i - 1],
                "{name}: hidden gap at {i}"
            );
            assert_eq!(
                time[i] - time[i - 1],
                count[i - 1] * 4_000_000,
                "{name}: clock"
            );
        }
    }
    assert_eq!(expected_offset, n_samples, "{name}: samples vs chunk rows");
    seg_offset.len()
}

#[test]
fn twenty_seconds_of_the_simulator_read_by_h5py_equal_what_a_monitor_received() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("rec20");
    let socket = dir.path().join("vr.sock");
    let file = dir.path().join("rec.h5");
    let sim = sim(&socket, &["--seed", "5"]);
    let rec = record(&socket, &file, &["--duration", "20"]);
    // While it is written, h5py reads it (SWMR), as soon as the file is set up.
    let live = inspect_when_ready(&py, &file);
    assert!(live["attrs"].get("closed_cleanly").is_none());
    let s = socket.to_str().unwrap();
    let monitor = run(&["monitor", "--socket", s, "--json", "--duration", "18"]);
    assert!(monitor.status.success());
    let (ok, err) = rec.finish();
    assert!(ok, "record failed: {err}");
    drop(sim);
    let r = inspect(&py, &file);

    // Attributes.
    let a = &r["attrs"];
    for key in [
        "format",
        "format_version",
        "vitalring_version",
        "wire_format_version",
        "channel",
        "first_epoch",
        "epochs",
        "frame_size",
        "frame_count",
        "started_unix_ns",
        "stopped_unix_ns",
        "fill_u16",
        "closed_cleanly",
        "frames_delivered",
        "frames_dropped",
        "frames_rejected",
    ] {
        assert!(a.get(key).is_some(), "no root attribute {key}: {a}");
    }
    assert_eq!(a["format"], "vitalring-recording");
    assert_eq!(a["wire_format_version"], 1);
    assert_eq!(a["frames_dropped"], 0);
    assert_eq!(a["frames_rejected"], 0);
    assert_eq!(u64s(&a["epochs"]), vec![a["first_epoch"].as_u64().unwrap()]);

    // Waveforms: 250 Hz, one segment each (no missing sample), attributes.
    let mut by_index: HashMap<u64, (String, Vec<i64>)> = HashMap::new();
    for name in ["ecg_ii", "pleth", "resp"] {
        let w = &r["waveforms"][name];
        assert_eq!(check_channel(name, w), 1, "{name}: one contiguous segment");
        let wa = &w["attrs"];
        assert_eq!(wa["sample_rate_hz"], 250);
        assert!(wa["units"].as_str().is_some_and(|u| !u.is_empty()));
        let first = u64s(&w["chunks"]["first_sample_index"]);
        assert_eq!(wa["first_sample_index"].as_u64(), Some(first[0]));
        assert_eq!(
            wa["start_time_ns"].as_u64(),
            Some(u64s(&w["chunks"]["time_ns"])[0])
        );
        let n = w["samples"].as_array().unwrap().len() as f64;
        assert!(n >= 19.0 * 250.0, "{name}: {n} samples in 20 s");
        let samples: Vec<i64> = w["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let idx = u64s(&w["chunks"]["index"]);
        let off = u64s(&w["chunks"]["offset"]);
        let cnt = u64s(&w["chunks"]["count"]);
        for i in 0..idx.len() {
            let s = off[i] as usize..(off[i] + cnt[i]) as usize;
            by_index.insert(idx[i], (name.to_string(), samples[s].to_vec()));
        }
    }
    assert!(
        !events(&r)
            .iter()
            .any(|e| e.0 == "waveform_gap" || e.0 == "dropped"),
        "{:?}",
        events(&r)
    );

    // Vitals: ~60/s from their own timestamps.
    let v = &r["tables"]["vitals"];
    let t = u64s(&v["time_ns"]);
    let rate = (t.len() - 1) as f64 / ((t[t.len() - 1] - t[0]) as f64 / 1e9);
    assert!((58.0..=62.0).contains(&rate), "vitals rate {rate}/s");

    // Values equal what the monitor received, frame by frame (same ring index).
    let vidx = u64s(&v["index"]);
    let row: HashMap<u64, usize> = vidx.iter().enumerate().map(|(i, &x)| (x, i)).collect();
    let col = |name: &str, i: usize| v[name][i].clone();
    let (mut vitals_compared, mut chunks_compared) = (0, 0);
    for line in String::from_utf8_lossy(&monitor.stdout).lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let Some(index) = m["index"].as_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        if m["event"] == "vitals" {
            let Some(&i) = row.get(&index) else { continue };
            assert_eq!(
                col("time_ns", i).as_u64(),
                m["t_ns"].as_str().unwrap().parse().ok()
            );
            for (ours, theirs) in [
                ("hr_bpm", "hr"),
                ("spo2_pct", "spo2"),
                ("rr_rpm", "rr"),
                ("nibp_systolic_mmhg", "nibp_sys"),
                ("nibp_diastolic_mmhg", "nibp_dia"),
                ("nibp_mean_mmhg", "nibp_map"),
                ("pulse_rate_bpm", "pr"),
            ] {
                assert_eq!(col(ours, i), m[theirs], "{ours} at index {index}");
            }
            let temp = col("temp_c", i).as_f64().unwrap();
            assert!(
                (temp - m["temp"].as_f64().unwrap()).abs() < 0.051,
                "temp at {index}"
            );
            vitals_compared += 1;
        } else if m["event"] == "waveform" {
            let Some((name, samples)) = by_index.get(&index) else {
                continue;
            };
            assert_eq!(m["channel"], name.as_str());
            let theirs: Vec<i64> = m["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            assert_eq!(&theirs, samples, "{name} samples at index {index}");
            chunks_compared += 1;
        }
    }
    assert!(
        vitals_compared >= 60 * 15,
        "only {vitals_compared} vitals compared"
    );
    assert!(
        chunks_compared >= 75 * 15,
        "only {chunks_compared} chunks compared"
    );

    // What h5py read while the file was being written is a prefix of the final file.
    let lt = u64s(&live["tables"]["vitals"]["time_ns"]);
    assert!(!lt.is_empty());
    assert_eq!(&t[..lt.len()], &lt[..]);
}

/// A deterministic "random" delay in [lo, hi) ms from the clock, printed for reruns.
fn random_ms(lo: u64, hi: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let ms = lo + (nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % (hi - lo);
    eprintln!("kill after {ms} ms");
    ms
}

#[test]
fn kill_9_of_the_recorder_leaves_a_file_h5py_reads_up_to_the_last_flush() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("reckill");
    let socket = dir.path().join("vr.sock");
    let file = dir.path().join("rec.h5");
    let _sim = sim(&socket, &["--seed", "9"]);
    let rec = record(&socket, &file, &[]);
    inspect_when_ready(&py, &file);
    std::thread::sleep(Duration::from_millis(random_ms(500, 3000)));
    // Read while it is written, then kill it without warning.
    let before = inspect(&py, &file);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(rec.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let (ok, _) = rec.finish();
    assert!(!ok);
    let after = inspect(&py, &file);
    assert!(after["attrs"].get("closed_cleanly").is_none());
    assert!(after["attrs"].get("first_epoch").is_some());
    // Everything flushed before the kill is there, unchanged.
    for table in ["vitals", "events", "epochs"] {
        for (col, vals) in before["tables"][table].as_object().unwrap() {
            let b = vals.as_array().unwrap();
            let a = after["tables"][table][col].as_array().unwrap();
            assert!(a.len() >= b.len(), "{table}/{col} shrank");
            assert_eq!(&a[..b.len()], &b[..], "{table}/{col} changed");
        }
    }
    for name in ["ecg_ii", "pleth", "resp"] {
        let w = &after["waveforms"][name];
        assert_eq!(check_channel(name, w), 1, "{name}");
        let b = before["waveforms"][name]["samples"].as_array().unwrap();
        let a = w["samples"].as_array().unwrap();
        assert!(
            a.len() >= b.len() && a[..b.len()] == b[..],
            "{name} samples"
        );
    }
    assert!(!u64s(&after["tables"]["vitals"]["time_ns"]).is_empty());
}

#[test]
fn a_producer_restart_is_a_new_epoch_and_a_new_segment_never_joined_samples() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("recepoch");
    let socket = dir.path().join("vr.sock");
    let file = dir.path().join("rec.h5");
    let first = sim(&socket, &["--seed", "1", "--duration", "2"]);
    let rec = record(&socket, &file, &["--duration", "5"]);
    let (ok, _) = first.finish();
    assert!(ok);
    wait_for("the first producer's socket to go", || !socket.exists());
    let _second = sim(&socket, &["--seed", "2"]);
    let (ok, err) = rec.finish();
    assert!(ok, "record failed: {err}");
    let r = inspect(&py, &file);

    let epochs = u64s(&r["tables"]["epochs"]["epoch"]);
    assert_eq!(epochs.len(), 2, "{epochs:?}");
    assert_ne!(epochs[0], epochs[1]);
    assert_eq!(u64s(&r["attrs"]["epochs"]), epochs);
    let ev = events(&r);
    assert!(ev
        .iter()
        .any(|e| e.0 == "connection" && e.4 == "producer_stopped"));
    assert!(ev.iter().any(|e| e.0 == "epoch" && e.1 == epochs[1]));
    let vepochs = u64s(&r["tables"]["vitals"]["epoch"]);
    assert!(vepochs.contains(&epochs[0]) && vepochs.contains(&epochs[1]));
    for name in ["ecg_ii", "pleth", "resp"] {
        let w = &r["waveforms"][name];
        assert_eq!(check_channel(name, w), 2, "{name}: one segment per epoch");
        assert_eq!(u64s(&w["segments"]["epoch"]), epochs, "{name}");
        let gap = ev
            .iter()
            .find(|e| e.0 == "waveform_gap" && e.4.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: no gap event: {ev:?}"));
        assert!(gap.4.contains("new epoch"), "{gap:?}");
    }
}

#[test]
fn burst_drops_are_recorded_with_exact_counts() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("recburst");
    let socket = dir.path().join("vr.sock");
    let file = dir.path().join("rec.h5");
    let sim = sim(
        &socket,
        &[
            "--scenario",
            "burst",
            "--frames",
            "64",
            "--burst-frames",
            "20000",
            "--burst-every",
            "0.7",
            "--duration",
            "3",
        ],
    );
    let rec = record(&socket, &file, &["--duration", "4.5"]);
    let (ok, sim_err) = sim.finish();
    assert!(ok, "{sim_err}");
    let published: u64 = sim_err
        .lines()
        .find_map(|l| l.strip_prefix("vitalring sim: published "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 'published' line: {sim_err}"));
    let (ok, err) = rec.finish();
    assert!(ok, "record failed: {err}");
    let r = inspect(&py, &file);
    let a = &r["attrs"];
    let delivered = a["frames_delivered"].as_u64().unwrap();
    let dropped = a["frames_dropped"].as_u64().unwrap();
    let rejected = a["frames_rejected"].as_u64().unwrap();
    let heartbeats = a["heartbeat_frames"].as_u64().unwrap();
    let start = u64s(&r["tables"]["epochs"]["start_index"])[0];
    assert!(dropped > 0, "the bursts never lapped the recorder");
    // Every index the producer published after the recorder attached is accounted for.
    assert_eq!(start + delivered + dropped + rejected, published);
    // Every delivered frame is a stored row or a (counted) heartbeat frame.
    let vitals = u64s(&r["tables"]["vitals"]["index"]);
    let mut stored: Vec<u64> = vitals.clone();
    for name in ["ecg_ii", "pleth", "resp"] {
        stored.extend(u64s(&r["waveforms"][name]["chunks"]["index"]));
    }
    assert_eq!(stored.len() as u64 + heartbeats, delivered);
    // The drop events add up exactly, do not overlap, and no stored frame lies inside one.
    let mut runs: Vec<(u64, u64)> = events(&r)
        .into_iter()
        .filter(|e| e.0 == "dropped")
        .map(|e| (e.2, e.3))
        .collect();
    runs.sort_unstable();
    assert_eq!(runs.iter().map(|r| r.1).sum::<u64>(), dropped);
    for w in runs.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0, "overlapping drop runs {w:?}");
    }
    for ix in &stored {
        assert!(
            !runs.iter().any(|&(f, c)| (f..f + c).contains(ix)),
            "stored frame {ix} inside a drop run"
        );
    }
}

/// Samples per channel and vitals rows of a recording, as comparable values (times as offsets
/// from the first vitals frame, since a replay stamps frames with its own clock).
fn content(r: &Value) -> Value {
    let v = &r["tables"]["vitals"];
    let t = u64s(&v["time_ns"]);
    let mut out = serde_json::Map::new();
    let cols: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for col in cols {
        if ["index", "epoch", "time_ns"].contains(&col) {
            continue;
        }
        out.insert(format!("vitals/{col}"), v[col].clone());
    }
    let rel: Vec<u64> = t.iter().map(|x| x - t[0]).collect();
    out.insert("vitals/time_offset_ns".into(), serde_json::json!(rel));
    for name in ["ecg_ii", "pleth", "resp"] {
        let w = &r["waveforms"][name];
        out.insert(format!("{name}/samples"), w["samples"].clone());
        for col in ["first_sample_index", "count", "sample_rate_hz", "encoding"] {
            out.insert(format!("{name}/{col}"), w["chunks"][col].clone());
        }
        let ct: Vec<u64> = u64s(&w["chunks"]["time_ns"])
            .iter()
            .map(|x| x - t[0])
            .collect();
        out.insert(format!("{name}/time_offset_ns"), serde_json::json!(ct));
    }
    Value::Object(out)
}

#[test]
fn record_replay_record_gives_the_same_samples_and_vitals() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("recreplay");
    let socket = dir.path().join("vr.sock");
    let first = dir.path().join("first.h5");
    let second = dir.path().join("second.h5");
    // A short original, in binary encoding for one half of the check of the encoding column.
    let sim = sim(
        &socket,
        &["--seed", "3", "--encoding", "binary", "--duration", "3"],
    );
    let rec = record(&socket, &first, &["--duration", "4"]);
    let (ok, _) = sim.finish();
    assert!(ok);
    let (ok, err) = rec.finish();
    assert!(ok, "{err}");
    wait_for("the sim socket to go", || !socket.exists());

    let replay = Bg::start(&[
        "replay",
        first.to_str().unwrap(),
        "--socket",
        socket.to_str().unwrap(),
    ]);
    wait_for("the replay socket", || socket.exists());
    let rec = record(&socket, &second, &["--duration", "4.5"]);
    let (ok, err) = replay.finish();
    assert!(ok, "replay failed: {err}");
    let (ok, err) = rec.finish();
    assert!(ok, "{err}");

    let a = inspect(&py, &first);
    let b = inspect(&py, &second);
    assert!(u64s(&a["tables"]["vitals"]["time_ns"]).len() > 100);
    assert_eq!(content(&a), content(&b));
    assert_eq!(b["attrs"]["frames_dropped"], 0);
    assert_ne!(a["attrs"]["first_epoch"], b["attrs"]["first_epoch"]);
}

#[test]
fn wfdb_export_reads_back_with_wfdb_rdrecord() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("recwfdb");
    let socket = dir.path().join("vr.sock");
    let file = dir.path().join("rec.h5");
    let out = dir.path().join("wfdb");
    let _sim = sim(&socket, &["--seed", "4"]);
    let (ok, err) = record(&socket, &file, &["--duration", "2"]).finish();
    assert!(ok, "{err}");
    let e = run(&[
        "export",
        file.to_str().unwrap(),
        "--wfdb",
        out.to_str().unwrap(),
    ]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let r = inspect(&py, &file);
    let script = r#"
import json, sys, wfdb
out = {}
for name in open(sys.argv[1] + "/RECORDS").read().split():
    rec = wfdb.rdrecord(sys.argv[1] + "/" + name)
    out[name] = {"fs": rec.fs, "len": rec.sig_len, "units": rec.units,
                 "samples": [int(round(x)) for x in rec.p_signal[:, 0]]}
json.dump(out, sys.stdout)
"#;
    let mut cmd = Command::new(&py);
    cmd.args(["-c", script, out.to_str().unwrap()]);
    let o = run_cmd(cmd);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back: Value = serde_json::from_slice(&o.stdout).unwrap();
    for name in ["ecg_ii", "pleth", "resp"] {
        let rec = &back[format!("{name}_000")];
        assert_eq!(rec["fs"], 250.0, "{name}");
        assert_eq!(rec["samples"], r["waveforms"][name]["samples"], "{name}");
    }
    assert_eq!(back["ecg_ii_000"]["units"][0], "uV");
}

#[test]
fn segment_rotation_makes_clean_files_that_continue_each_other_and_a_catalog() {
    let Some(py) = python() else { return };
    let dir = TempDir::new("recseg");
    let socket = dir.path().join("vr.sock");
    let out = dir.path().join("rot.h5");
    let _sim = sim(&socket, &["--seed", "6"]);
    // 0.02 minutes = 1.2 s per file.
    let (ok, err) = record(&socket, &out, &["--duration", "3", "--segment", "0.02"]).finish();
    assert!(ok, "{err}");
    let catalog = std::fs::read_to_string(dir.path().join("rot.catalog.csv")).unwrap();
    let lines: Vec<&str> = catalog.lines().collect();
    assert_eq!(
        lines[0],
        "file,first_time_ns,last_time_ns,first_index,last_index,epochs"
    );
    assert!(lines.len() >= 3, "{catalog}");
    let mut next: HashMap<&str, u64> = HashMap::new();
    let mut last_index = None;
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(',').collect();
        let r = inspect(&py, &dir.path().join(f[0]));
        assert_eq!(r["attrs"]["closed_cleanly"], 1, "{}", f[0]);
        let first_index: u64 = f[3].parse().unwrap();
        if let Some(prev) = last_index {
            assert_eq!(first_index, prev + 1, "a frame fell between two files");
        }
        last_index = Some(f[4].parse::<u64>().unwrap());
        for name in ["ecg_ii", "pleth", "resp"] {
            let w = &r["waveforms"][name];
            assert_eq!(check_channel(name, w), 1, "{}: {name}", f[0]);
            let firsts = u64s(&w["chunks"]["first_sample_index"]);
            let counts = u64s(&w["chunks"]["count"]);
            if let Some(&n) = next.get(name) {
                assert_eq!(firsts[0], n, "{}: {name} does not continue", f[0]);
            }
            next.insert(name, firsts[firsts.len() - 1] + counts[counts.len() - 1]);
        }
    }
}

/// Exit status and the single stderr line of `vitalring <args>`.
fn fails(args: &[&str]) -> (i32, String) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let code = out.status.code().expect("exited, not killed");
    assert_ne!(code, 0, "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    (code, err)
}

#[test]
fn bad_uses_of_record_replay_and_export_fail_with_one_line() {
    let dir = TempDir::new("recbad");
    let d = dir.path();
    let socket = d.join("none.sock");
    let s = socket.to_str().unwrap();
    let junk = d.join("junk.h5");
    std::fs::write(&junk, b"not an hdf5 file").unwrap();
    let j = junk.to_str().unwrap();
    let out = d.join("out.h5");
    let o = out.to_str().unwrap();
    for sub in ["record", "replay", "export"] {
        let h = run(&[sub, "--help"]);
        assert!(h.status.success() && h.stdout.len() > 100, "{sub} --help");
    }
    assert_eq!(fails(&["record", "--socket", s]).0, 2, "no --out");
    assert_eq!(fails(&["record", "--out", o, "--duration", "nan"]).0, 2);
    assert_eq!(fails(&["record", "--out", o, "--segment", "-1"]).0, 2);
    let (code, err) = fails(&["record", "--socket", s, "--out", o]);
    assert_eq!(code, 3, "no producer: {err}");
    assert!(!out.exists(), "a file was left without a producer");
    let (code, err) = fails(&["record", "--socket", s, "--out", j]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&junk).unwrap(), b"not an hdf5 file");
    let missing = d.join("missing.h5");
    assert_eq!(fails(&["replay", missing.to_str().unwrap()]).0, 2);
    assert_eq!(fails(&["replay", j, "--speed", "0"]).0, 2);
    assert_eq!(fails(&["replay", j, "--from", "5", "--to", "2"]).0, 2);
    assert_eq!(fails(&["export", j]).0, 2, "neither --wfdb nor --csv");
    for args in [
        &["replay", j, "--socket", s][..],
        &["export", j, "--csv", d.to_str().unwrap()],
    ] {
        let (code, err) = fails(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("junk.h5"), "{err}");
    }
}
