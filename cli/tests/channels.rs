//! Channels, discovery and requests, with real processes: `vitalring sim` producers (one of
//! them `--beds 4`), `vitalring ls`, `ctl`, `readers`, and `vitalring monitor --json` readers.
//! Every test runs in its own runtime directory (`XDG_RUNTIME_DIR`), so the default socket
//! directory is private to it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{run_cmd, Proc, TempDir, BIN, LIMIT};
use serde_json::Value;
use vitalring_linux::request::{
    parse_reply, Answer, Reply, Request, RequestKind, RequestStatus, MAX_REQUEST_BODY,
};

/// A private runtime directory: `$XDG_RUNTIME_DIR` of every process a test starts.
struct Runtime(TempDir);

impl Runtime {
    fn new(tag: &str) -> Self {
        Self(TempDir::new(tag))
    }

    fn dir(&self) -> PathBuf {
        self.0.path().join("vitalring")
    }

    fn socket(&self, channel: &str) -> PathBuf {
        self.dir().join(format!("{channel}.sock"))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).env("XDG_RUNTIME_DIR", self.0.path());
        c
    }

    /// `vitalring <args>` to completion.
    fn run(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args))
    }

    /// `vitalring <args>`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vitalring {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A simulator serving `channels` (waits until each answers `describe`).
    fn sim(&self, args: &[&str], channels: &[&str]) -> Proc {
        let mut full = vec!["sim", "--log-every", "0"];
        full.extend_from_slice(args);
        let p = Proc(
            self.command(&full)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        for c in channels {
            let start = Instant::now();
            while !self.run(&["ctl", c, "describe"]).status.success() {
                if start.elapsed() > LIMIT {
                    panic!("hang guard: {c} never answered describe");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        p
    }

    /// `ls --json` as a list.
    fn ls(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.ok(&["ls", "--json"])).unwrap();
        v.as_array().unwrap().clone()
    }

    fn describe(&self, channel: &str) -> Value {
        let v: Value =
            serde_json::from_str(&self.ok(&["ctl", channel, "describe", "--json"])).unwrap();
        assert_eq!(v["status"], "ok", "{v}");
        v["reply"].clone()
    }

    fn monitor(&self, channel: &str) -> Monitor {
        Monitor::start(self.command(&["monitor", "--json", "--channel", channel]))
    }
}

/// A `vitalring monitor --json` reader, its lines parsed as they come.
struct Monitor {
    _proc: Proc,
    rx: mpsc::Receiver<Value>,
    /// Every line so far.
    seen: Vec<Value>,
}

impl Monitor {
    fn start(mut cmd: Command) -> Self {
        let mut p = Proc(
            cmd.args(["--duration", "120"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let (tx, rx) = mpsc::channel();
        let out = p.0.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            _proc: p,
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads lines until `pred` holds for one (returned); `what` names it for the hang guard.
    fn until(
        &mut self,
        what: &str,
        limit: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            if start.elapsed() > limit {
                panic!("hang guard: no {what} after {limit:?}");
            }
            if let Ok(v) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(v.clone());
                if pred(&v) {
                    return v;
                }
            }
        }
    }

    /// Takes every line that arrived so far.
    fn drain(&mut self) {
        while let Ok(v) = self.rx.try_recv() {
            self.seen.push(v);
        }
    }

    fn hr(v: &Value) -> Option<u64> {
        (v["event"] == "vitals").then(|| v["hr"].as_u64()).flatten()
    }

    /// The epochs of every `connected` state, in order.
    fn connected_epochs(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|v| v["event"] == "connection" && v["state"] == "connected")
            .map(|v| v["epoch"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Error events (drops, rejects, stalls, …).
    fn errors(&self) -> Vec<&Value> {
        self.seen.iter().filter(|v| v["event"] == "error").collect()
    }

    /// Whether every waveform channel's chunks were contiguous (no missing samples).
    fn waveforms_contiguous(&self) -> bool {
        let mut next = std::collections::HashMap::new();
        for w in self.seen.iter().filter(|v| v["event"] == "waveform") {
            let ch = w["channel"].as_str().unwrap().to_owned();
            let first: u64 = w["first"].as_str().unwrap().parse().unwrap();
            let n = w["samples"].as_array().unwrap().len() as u64;
            if let Some(expected) = next.insert(ch, first + n) {
                if expected != first {
                    return false;
                }
            }
        }
        true
    }
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list:?}"))
}

#[test]
fn three_producers_are_listed_a_killed_one_is_stale_and_only_its_socket_is_cleaned() {
    let rt = Runtime::new("ls");
    let mut a = rt.sim(
        &["--channel", "ward-a", "--scenario", "afib", "--seed", "5"],
        &["ward-a"],
    );
    let _b = rt.sim(
        &[
            "--channel",
            "ward-b",
            "--encoding",
            "binary",
            "--frames",
            "1024",
        ],
        &["ward-b"],
    );
    let _beds = rt.sim(&["--beds", "4"], &["bed1", "bed2", "bed3", "bed4"]);

    let list = rt.ls();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bed1", "bed2", "bed3", "bed4", "ward-a", "ward-b"]);
    for e in &list {
        assert_eq!(e["state"], "live", "{e}");
        let d = &e["describe"];
        assert_eq!(d["name"], e["name"]);
        assert_eq!(d["kind"], "simulator", "{e}");
        assert!(d["uptime_s"].as_f64().unwrap() > 0.0, "{e}");
        assert_eq!(d["readers"], 0, "{e}");
        assert_eq!(d["epoch"].as_str().unwrap().len(), 16, "{e}");
    }
    // Each bed is its own ring: four different epochs, and different patients.
    let epochs: std::collections::HashSet<&str> = list[..4]
        .iter()
        .map(|e| e["describe"]["epoch"].as_str().unwrap())
        .collect();
    assert_eq!(epochs.len(), 4);
    let bed3 = &by_name(&list, "bed3")["describe"];
    assert_eq!(bed3["description"], "bed 3, scenario afib");
    assert_eq!(bed3["encoding"], "json");
    assert_eq!(
        (bed3["frame_size"].as_u64(), bed3["frame_count"].as_u64()),
        (Some(4096), Some(2048))
    );
    assert_eq!(
        by_name(&list, "bed1")["describe"]["description"],
        "bed 1, scenario normal"
    );
    let wa = &by_name(&list, "ward-a")["describe"];
    assert_eq!(wa["description"], "scenario afib");
    let wb = &by_name(&list, "ward-b")["describe"];
    assert_eq!(wb["encoding"], "binary");
    assert_eq!(wb["frame_count"], 1024);
    // The epoch is the ring's: the one a reader gets in the handshake.
    let dump: Value =
        serde_json::from_str(&rt.ok(&["dump", "--channel", "bed3", "--json", "--last", "1"]))
            .unwrap();
    let ring_epoch: u64 = dump["header"]["epoch"].as_str().unwrap().parse().unwrap();
    assert_eq!(bed3["epoch"], format!("{ring_epoch:016x}"));
    // The producers publish at their paced rate (60 vitals + 3 x 25 chunks a second); measured
    // since each producer's start, so only a lower bound is meaningful here.
    let start = Instant::now();
    loop {
        let rate = rt.describe("ward-a")["frame_rate_hz"].as_f64().unwrap();
        if rate > 60.0 {
            break;
        }
        if start.elapsed() > LIMIT {
            panic!("hang guard: ward-a publishes at {rate}/s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // kill -9: its socket stays behind, and is shown stale (not live) at once.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    let killed = Instant::now();
    loop {
        let list = rt.ls();
        if by_name(&list, "ward-a")["state"] == "stale" {
            assert!(by_name(&list, "ward-a").get("describe").is_none());
            for n in ["bed1", "bed2", "bed3", "bed4", "ward-b"] {
                assert_eq!(by_name(&list, n)["state"], "live");
            }
            break;
        }
        if killed.elapsed() > Duration::from_secs(1) {
            panic!("hang guard: ward-a not shown stale 1 s after kill -9: {list:?}");
        }
    }
    let live = rt.ok(&["ls", "--json", "--live-only"]);
    assert!(!live.contains("ward-a"), "{live}");
    let table = rt.ok(&["ls"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ward-a") && l.contains("stale")),
        "{table}"
    );

    // --clean removes that socket and nothing else.
    assert!(rt.socket("ward-a").exists());
    let out = rt.run(&["ls", "--clean"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed the stale socket of ward-a"));
    assert!(!rt.socket("ward-a").exists());
    let mut left: Vec<String> = std::fs::read_dir(rt.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "bed1.sock",
            "bed2.sock",
            "bed3.sock",
            "bed4.sock",
            "ward-b.sock"
        ]
    );
    let list = rt.ls();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|e| e["state"] == "live"));
}

#[test]
fn a_live_socket_is_never_cleaned() {
    let rt = Runtime::new("clean");
    let _p = rt.sim(&["--channel", "keep"], &["keep"]);
    // A socket nobody listens on, beside it.
    drop(std::os::unix::net::UnixListener::bind(rt.socket("dead")).unwrap());
    let out = rt.run(&["ls", "--clean", "--json"]);
    assert!(out.status.success());
    assert!(rt.socket("keep").exists());
    assert!(!rt.socket("dead").exists());
    assert_eq!(rt.describe("keep")["name"], "keep");
}

#[test]
fn ctl_scenario_changes_only_that_bed_without_a_new_epoch_or_a_gap() {
    let rt = Runtime::new("switch");
    let _beds = rt.sim(&["--beds", "4"], &["bed1", "bed2", "bed3", "bed4"]);
    let mut m1 = rt.monitor("bed1");
    let mut m2 = rt.monitor("bed2");
    let mut m4 = rt.monitor("bed4");
    for m in [&mut m1, &mut m2, &mut m4] {
        m.until("vitals", LIMIT, |v| v["event"] == "vitals");
    }
    let before3 = rt.describe("bed3")["description"].clone();

    let out = rt.ok(&["ctl", "bed2", "scenario", "tachycardia"]);
    assert!(out.contains("scenario tachycardia"), "{out}");
    assert_eq!(
        rt.describe("bed2")["description"],
        "bed 2, scenario tachycardia"
    );

    // bed2's heart rate ramps up to the tachycardia's rate (72 -> 150 bpm over 30 s).
    m2.until("bed2 heart rate >= 130", Duration::from_secs(90), |v| {
        Monitor::hr(v).is_some_and(|hr| hr >= 130)
    });
    // Meanwhile the other beds kept their patients.
    for (name, m) in [("bed1", &mut m1), ("bed4", &mut m4)] {
        m.drain();
        let max = m.seen.iter().filter_map(Monitor::hr).max().unwrap();
        assert!(max < 110, "{name} heart rate rose to {max}");
    }
    assert_eq!(rt.describe("bed1")["description"], "bed 1, scenario normal");
    assert_eq!(rt.describe("bed3")["description"], before3);
    assert_eq!(
        rt.describe("bed4")["description"],
        "bed 4, scenario desaturation"
    );
    // No reader saw a new epoch, a drop, a reject or a gap in any waveform. (On a loaded
    // machine a producer not scheduled for 250 ms is reported stalled and then connected
    // again, with the same epoch: that is neither a gap nor a new ring.)
    for (name, m) in [("bed1", &m1), ("bed2", &m2), ("bed4", &m4)] {
        let errors: Vec<&Value> = m
            .errors()
            .into_iter()
            .filter(|e| e["kind"] != "stalled")
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let mut epochs = m.connected_epochs();
        epochs.dedup();
        assert_eq!(epochs.len(), 1, "{name}: {epochs:?}");
        assert!(m.waveforms_contiguous(), "{name}: a waveform gap");
    }
}

#[test]
fn pause_is_a_stall_and_resume_reconnects_with_the_same_epoch() {
    let rt = Runtime::new("pause");
    let _p = rt.sim(&["--channel", "p1"], &["p1"]);
    let mut m = rt.monitor("p1");
    let first = m.until("connected", LIMIT, |v| {
        v["event"] == "connection" && v["state"] == "connected"
    });
    m.until("vitals", LIMIT, |v| v["event"] == "vitals");
    assert!(rt.ok(&["ctl", "p1", "pause"]).contains("paused"));
    assert!(rt.describe("p1")["description"]
        .as_str()
        .unwrap()
        .ends_with(", paused"));
    let stalled = m.until("stalled", LIMIT, |v| {
        v["event"] == "error" && v["kind"] == "stalled"
    });
    // The reader reports the stall within 300 ms of the last heartbeat.
    let age = stalled["heartbeat_age_ms"].as_f64().unwrap();
    assert!((250.0..300.0).contains(&age), "heartbeat_age_ms {age}");
    assert!(rt.ok(&["ctl", "p1", "resume"]).contains("resumed"));
    let again = m.until("connected again", LIMIT, |v| {
        v["event"] == "connection" && v["state"] == "connected"
    });
    assert_eq!(again["epoch"], first["epoch"]);
    m.until("vitals after resume", LIMIT, |v| v["event"] == "vitals");
    assert!(!m
        .seen
        .iter()
        .any(|v| v["event"] == "connection" && v["state"] == "reconnecting"));
}

#[test]
fn alarm_test_shows_alarming_vitals_for_its_duration() {
    let rt = Runtime::new("alarm");
    let _p = rt.sim(&["--channel", "al"], &["al"]);
    let mut m = rt.monitor("al");
    m.until("normal vitals", LIMIT, |v| {
        Monitor::hr(v).is_some_and(|hr| hr < 100)
    });
    rt.ok(&["ctl", "al", "alarm-test", "1"]);
    m.until("alarm-test vitals", LIMIT, |v| {
        Monitor::hr(v) == Some(170) && v["spo2"] == 80
    });
    m.until("normal vitals after the test", LIMIT, |v| {
        Monitor::hr(v).is_some_and(|hr| hr < 100)
    });
    let bad = rt.run(&["ctl", "al", "alarm-test", "0", "--json"]);
    assert_eq!(bad.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["status"], "bad_arguments");
}

/// Sends raw bytes as a connection's first message; returns what came back, parsed.
fn raw(socket: &Path, bytes: &[u8]) -> Reply {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    match parse_reply(&buf) {
        Ok(Answer::Reply(r)) => r,
        other => panic!(
            "no whole reply to {} bytes: {other:?} ({buf:?})",
            bytes.len()
        ),
    }
}

fn request(kind: RequestKind, channel: &str, token: Option<&[u8]>, words: &[&str]) -> Vec<u8> {
    Request::new(kind, channel, token, words)
        .unwrap()
        .to_bytes()
}

#[test]
fn bad_requests_get_their_status_and_the_producer_keeps_serving() {
    let rt = Runtime::new("badreq");
    let token = rt.0.path().join("token");
    std::fs::write(&token, b"s3cret").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tok = token.to_str().unwrap();
    let _p = Proc(
        rt.command(&[
            "sim",
            "--channel",
            "rq",
            "--token-file",
            tok,
            "--log-every",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let sock = rt.socket("rq");
    let start = Instant::now();
    while !rt
        .run(&["ctl", "rq", "describe", "--token-file", tok])
        .status
        .success()
    {
        if start.elapsed() > LIMIT {
            panic!("hang guard: rq never answered");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Some(&b"s3cret"[..]);
    let good = request(RequestKind::Command, "rq", t, &["pause"]);

    // Malformed: two spaces between words; a body on a describe; padding after the channel.
    let mut two_spaces = request(RequestKind::Command, "rq", t, &["scenario", "afib"]);
    two_spaces[140] += 1;
    two_spaces.insert(144 + "scenario".len(), b' ');
    let mut bad_pad = request(RequestKind::Describe, "rq", t, &[]);
    bad_pad[8 + 10] = b'x';
    // Oversized: a body length over the limit is refused from the header alone.
    let mut oversized = request(RequestKind::Command, "rq", t, &["pause"]);
    oversized[140..144].copy_from_slice(&((MAX_REQUEST_BODY as u32) + 1).to_le_bytes());
    // Unknown request kind, bad version.
    let mut unknown_kind = request(RequestKind::Describe, "rq", t, &[]);
    unknown_kind[6] = 77;
    let mut bad_version = good.clone();
    bad_version[4] = 9;
    let cases: Vec<(&str, Vec<u8>, RequestStatus)> = vec![
        ("two spaces", two_spaces, RequestStatus::Malformed),
        ("channel padding", bad_pad, RequestStatus::Malformed),
        ("oversized", oversized, RequestStatus::TooLarge),
        ("unknown kind", unknown_kind, RequestStatus::UnknownRequest),
        ("bad version", bad_version, RequestStatus::BadVersion),
        (
            "unknown command",
            request(RequestKind::Command, "rq", t, &["self-destruct"]),
            RequestStatus::UnknownCommand,
        ),
        (
            "bad arguments",
            request(RequestKind::Command, "rq", t, &["scenario", "zombie"]),
            RequestStatus::BadArguments,
        ),
        (
            "no token",
            request(RequestKind::Command, "rq", None, &["pause"]),
            RequestStatus::BadToken,
        ),
        (
            "wrong token",
            request(RequestKind::Describe, "rq", Some(b"guess"), &[]),
            RequestStatus::BadToken,
        ),
        (
            "other channel",
            request(RequestKind::Describe, "bed9", t, &[]),
            RequestStatus::UnknownChannel,
        ),
        ("garbage", b"hello?\n".to_vec(), RequestStatus::BadMagic),
    ];
    for (what, bytes, status) in &cases {
        let r = raw(&sock, bytes);
        assert_eq!(r.status, *status, "{what}: {r:?}");
    }
    // A request that stops half-way is answered Malformed at the deadline.
    let r = raw_partial(&sock, &good[..100]);
    assert_eq!(r.status, RequestStatus::Malformed);
    // Nothing of that paused the producer (the unknown or refused commands did nothing) ...
    let d: Value =
        serde_json::from_str(&rt.ok(&["ctl", "rq", "describe", "--token-file", tok])).unwrap();
    assert_eq!(d["description"], "scenario normal");
    // ... and it still serves readers: a follow-up handshake.
    rt.ok(&[
        "dump",
        "--channel",
        "rq",
        "--token-file",
        tok,
        "--last",
        "1",
    ]);
    // And the stats count the requests, and the refusals did not count as refused handshakes.
    let s: Value =
        serde_json::from_str(&rt.ok(&["readers", "rq", "--json", "--token-file", tok])).unwrap();
    assert!(
        s["producer"]["requests"].as_u64().unwrap() >= cases.len() as u64,
        "{s}"
    );
    assert_eq!(s["producer"]["served"], 1, "{s}");
    assert!(s["readers"].is_array(), "{s}");
    // `ctl` says what was refused in one line, exit 1.
    let out = rt.run(&["ctl", "rq", "self-destruct", "--token-file", tok]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown_command"), "{err}");
}

/// Sends a first part of a request and then nothing: the server answers at its deadline.
fn raw_partial(socket: &Path, bytes: &[u8]) -> Reply {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    match parse_reply(&buf) {
        Ok(Answer::Reply(r)) => r,
        other => panic!("no reply: {other:?}"),
    }
}

#[test]
fn a_uid_allowed_to_read_is_refused_commands_unless_allowed_to_command() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client under another uid");
        return;
    }
    let dir = TempDir::new("perm");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = 65534u32;
    let start_sim = |name: &str, extra: &[&str]| {
        let sock = dir.path().join(format!("{name}.sock"));
        let mut args = vec!["sim", "--log-every", "0", "--channel", name, "--socket"];
        args.push(sock.to_str().unwrap());
        args.extend_from_slice(extra);
        let p = Proc(
            Command::new(BIN)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        common::wait_for("socket", || sock.exists());
        // Opened up on purpose: only the producer's uid checks stand between.
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        (p, sock)
    };
    let as_nobody = |sock: &Path, channel: &str, words: &[&str]| {
        let mut c = Command::new(BIN);
        c.args([
            "ctl",
            channel,
            "--json",
            "--allow-server-uid",
            "0",
            "--socket",
        ])
        .arg(sock)
        .args(words)
        .uid(nobody)
        .gid(nobody);
        let out = run_cmd(c);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let status = |r: &(Option<i32>, Value, String)| r.1["status"].as_str().unwrap_or("").to_owned();

    // Not on the allow-list at all: refused before the request is read.
    let (_p0, s0) = start_sim("closed", &[]);
    let r = as_nobody(&s0, "closed", &["describe"]);
    assert_eq!(status(&r), "uid_not_allowed", "{r:?}");

    // Allowed to read: describe and stats yes, commands no.
    let (_p1, s1) = start_sim("readonly", &["--allow-uid", "65534"]);
    let r = as_nobody(&s1, "readonly", &["describe"]);
    assert_eq!((r.0, status(&r)), (Some(0), "ok".to_owned()), "{r:?}");
    let r = as_nobody(&s1, "readonly", &["stats"]);
    assert_eq!(status(&r), "ok", "{r:?}");
    let r = as_nobody(&s1, "readonly", &["pause"]);
    assert_eq!(
        (r.0, status(&r)),
        (Some(1), "not_permitted".to_owned()),
        "{r:?}"
    );
    let r = as_nobody(&s1, "readonly", &["describe"]);
    assert!(!r.1["reply"]["description"]
        .as_str()
        .unwrap()
        .contains("paused"));

    // Allowed to command as well.
    let (_p2, s2) = start_sim(
        "commander",
        &["--allow-uid", "65534", "--command-uid", "65534"],
    );
    let r = as_nobody(&s2, "commander", &["pause"]);
    assert_eq!(status(&r), "ok", "{r:?}");
    let r = as_nobody(&s2, "commander", &["describe"]);
    assert!(
        r.1["reply"]["description"]
            .as_str()
            .unwrap()
            .ends_with(", paused"),
        "{r:?}"
    );
}

/// The entries of `vitalring readers CHANNEL --json` whose pid is `pid`.
fn readers_with_pid(rt: &Runtime, channel: &str, pid: u32) -> Vec<Value> {
    let s: Value = serde_json::from_str(&rt.ok(&["readers", channel, "--json"])).unwrap();
    s["readers"]
        .as_array()
        .unwrap_or_else(|| panic!("no reader list: {s}"))
        .iter()
        .filter(|r| r["pid"].as_u64() == Some(u64::from(pid)))
        .cloned()
        .collect()
}

#[test]
fn a_monitor_is_listed_by_readers_with_its_counters_and_leaves_the_list_when_killed() {
    let rt = Runtime::new("readers");
    let _p = rt.sim(&["--channel", "r1"], &["r1"]);
    let mut m = rt.monitor("r1");
    m.until("vitals", LIMIT, |v| v["event"] == "vitals");
    let pid = m._proc.0.id();
    // The monitor holds a lease: it is listed with its pid, sleeps (the default wait) and
    // reports what it delivered (its status page is refreshed every 100 ms).
    let start = Instant::now();
    let entry = loop {
        if start.elapsed() > LIMIT {
            panic!("hang guard: monitor pid {pid} never listed with delivered frames");
        }
        if let Some(r) = readers_with_pid(&rt, "r1", pid).pop() {
            if r["delivered"].as_u64().unwrap_or(0) > 0 {
                break r;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entry["sleeping"], true, "{entry}");
    assert_eq!(entry["dropped"], 0, "{entry}");
    assert_eq!(entry["rejected"], 0, "{entry}");
    assert_eq!(rt.describe("r1")["readers"], 1);
    // kill -9: the lease closes and the entry goes.
    m._proc.0.kill().unwrap();
    let _ = m._proc.0.wait();
    let start = Instant::now();
    while !readers_with_pid(&rt, "r1", pid).is_empty() {
        if start.elapsed() > Duration::from_secs(5) {
            panic!("hang guard: killed monitor pid {pid} still listed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(rt.describe("r1")["readers"], 0);
}
