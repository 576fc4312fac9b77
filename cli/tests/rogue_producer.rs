//! A rogue producer against the real `vitalring monitor` (and `dump`): the producer runs in
//! this test process and writes what an attacker with the ring's write side could write; the
//! reader is the real binary in its own process. Whatever the producer does, the monitor never
//! crashes, never shows a forged or implausible value as real, and its counters stay exact.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::{TempDir, BIN};
use serde_json::Value;
use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::{Encoding, FrameType};
use vitalring_core::payload::Record;
use vitalring_core::vitals::VitalsRecord;
use vitalring_core::Geometry;
use vitalring_linux::{ProducerConfig, SharedMemoryProducer};

/// Only turns a hang into a failure; nothing asserts how long anything took.
const LIMIT: Duration = Duration::from_secs(60);

/// The rogue side: a real producer (socket, sealed memfd) whose frames the test chooses.
struct Rogue {
    producer: SharedMemoryProducer,
    socket: PathBuf,
    _dir: TempDir,
}

impl Rogue {
    fn new(tag: &str, frame_size: u32, frames: u32) -> Self {
        let dir = TempDir::new(tag);
        let socket = dir.path().join("rogue.sock");
        let mut config = ProducerConfig::new("default");
        config.socket_path = Some(socket.clone());
        config.geometry = Geometry::new(frame_size, frames).unwrap();
        let producer = SharedMemoryProducer::create(config).expect("producer");
        Self {
            producer,
            socket,
            _dir: dir,
        }
    }

    fn now_ns() -> u64 {
        vitalring_linux::clock::wall_ns()
    }

    fn vitals(&mut self, hr: u16) {
        let rec = Record::Vitals(VitalsRecord {
            hr_bpm: hr,
            spo2_pct: 97,
            rr_rpm: 15,
            nibp: None,
            temp_c: None,
            pulse_rate_bpm: None,
        });
        self.producer
            .publish_record(&rec, Encoding::Json, Self::now_ns())
            .unwrap();
    }

    fn raw(&mut self, payload: &[u8], timestamp_ns: u64) {
        let meta = FrameMeta {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            timestamp: vitalring_core::time::UnixNs(timestamp_ns),
        };
        self.producer.publish_raw(meta, payload).unwrap();
    }

    /// Keeps the heartbeat alive for `d`.
    fn idle(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.producer.heartbeat_if_due();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// `vitalring monitor --json` against the rogue, its stdout lines arriving on a channel.
struct Monitor {
    child: Child,
    lines: Receiver<Value>,
    seen: Vec<Value>,
    stderr: std::thread::JoinHandle<String>,
}

impl Monitor {
    fn start(socket: &Path, secs: &str) -> Self {
        let mut child = Command::new(BIN)
            .args(["monitor", "--json", "--duration", secs, "--socket"])
            .arg(socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn monitor");
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not json: {line}: {e}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Waits (keeping the rogue's heartbeat alive) until a line matches.
    fn wait_for(&mut self, rogue: &mut Rogue, what: &str, f: impl Fn(&Value) -> bool) {
        let t0 = Instant::now();
        if self.seen.iter().any(&f) {
            return;
        }
        loop {
            match self.lines.recv_timeout(Duration::from_millis(5)) {
                Ok(v) => {
                    let hit = f(&v);
                    self.seen.push(v);
                    if hit {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("monitor ended before {what}: {:?}", self.child.try_wait())
                }
            }
            rogue.producer.heartbeat_if_due();
            if t0.elapsed() > LIMIT {
                panic!("hang guard: gave up waiting for {what}");
            }
        }
    }

    /// Waits for the monitor to exit by itself; returns every line it printed.
    fn finish(mut self, rogue: &mut Rogue) -> Vec<Value> {
        let t0 = Instant::now();
        let status = loop {
            rogue.producer.heartbeat_if_due();
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > LIMIT {
                panic!("hang guard: the monitor did not exit");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let err = self.stderr.join().unwrap();
        assert!(status.success(), "monitor failed ({status}): {err}");
        while let Ok(v) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(v);
        }
        self.seen
    }
}

fn connected(v: &Value) -> bool {
    v["event"] == "connection" && v["state"] == "connected"
}

fn hrs(lines: &[Value]) -> Vec<u64> {
    lines
        .iter()
        .filter(|v| v["event"] == "vitals")
        .map(|v| v["hr"].as_u64().unwrap())
        .collect()
}

fn last_status(lines: &[Value]) -> &Value {
    lines.iter().rev().find(|v| v["event"] == "status").unwrap()
}

#[test]
fn deeply_nested_json_in_a_large_slot_is_rejected_and_crashes_nothing() {
    // 40 000 levels under an unknown key, correct CRC: the payload needs a slot of ~80 KiB.
    let mut rogue = Rogue::new("nest", 128 * 1024, 8);
    let mut m = Monitor::start(&rogue.socket, "3");
    m.wait_for(&mut rogue, "connected", connected);
    let mut p = br#"{"hr":72,"spo2":98,"rr":16,"x":"#.to_vec();
    p.extend(std::iter::repeat_n(b'[', 40_000));
    p.extend(std::iter::repeat_n(b']', 40_000));
    p.push(b'}');
    rogue.raw(&p, Rogue::now_ns());
    rogue.vitals(61);
    m.wait_for(&mut rogue, "the next valid frame", |v| v["hr"] == 61);
    // `dump` decodes the same slots in its own process.
    let dump = Command::new(BIN)
        .args(["dump", "--json", "--last", "4", "--socket"])
        .arg(&rogue.socket)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let lines = m.finish(&mut rogue);
    assert_eq!(hrs(&lines), [61], "the nested frame is never shown");
    let s = last_status(&lines);
    assert_eq!(s["session"]["current"]["rejected"], 1, "{s}");
}

#[test]
fn an_escaped_duplicate_key_is_rejected_not_read_as_the_first_value() {
    let mut rogue = Rogue::new("dupkey", 4096, 64);
    let mut m = Monitor::start(&rogue.socket, "2");
    m.wait_for(&mut rogue, "connected", connected);
    rogue.raw(
        br#"{"hr":72,"spo2":98,"rr":16,"h\u0072":199}"#,
        Rogue::now_ns(),
    );
    rogue.vitals(62);
    m.wait_for(&mut rogue, "the next valid frame", |v| v["hr"] == 62);
    let lines = m.finish(&mut rogue);
    assert_eq!(hrs(&lines), [62]);
    assert_eq!(last_status(&lines)["session"]["current"]["rejected"], 1);
}

#[test]
fn implausible_timestamps_are_rejected_with_their_own_reason() {
    let mut rogue = Rogue::new("ts", 4096, 64);
    let mut m = Monitor::start(&rogue.socket, "2");
    m.wait_for(&mut rogue, "connected", connected);
    let forged = br#"{"hr":199,"spo2":98,"rr":16}"#;
    rogue.raw(forged, 0);
    rogue.raw(forged, u64::MAX);
    rogue.raw(forged, Rogue::now_ns() - 3 * 86_400 * 1_000_000_000);
    rogue.vitals(63);
    m.wait_for(&mut rogue, "the next valid frame", |v| v["hr"] == 63);
    let lines = m.finish(&mut rogue);
    assert_eq!(hrs(&lines), [63], "no forged HR 199 is ever shown");
    let s = last_status(&lines);
    assert_eq!(s["session"]["total"]["rejected_by"]["timestamp"], 3, "{s}");
    assert!(lines.iter().any(|v| v["event"] == "error"
        && v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("implausible frame timestamp"))));
}

#[test]
fn a_write_index_jump_is_a_ring_fault_and_the_reader_recovers_without_wrapped_counters() {
    let mut rogue = Rogue::new("widx", 4096, 64);
    let mut m = Monitor::start(&rogue.socket, "4");
    m.wait_for(&mut rogue, "connected", connected);
    rogue.vitals(64);
    m.wait_for(&mut rogue, "a first frame", |v| v["hr"] == 64);
    rogue.producer.region().poke_write_index(1 << 62).unwrap();
    m.wait_for(&mut rogue, "the fault report", |v| {
        v["event"] == "error" && v["kind"] == "header"
    });
    // The writer's next commit stores its real index; the reader re-handshakes and resumes.
    rogue.idle(Duration::from_millis(50));
    rogue.vitals(65);
    m.wait_for(&mut rogue, "reading again after the fault", |v| {
        v["hr"] == 65
    });
    let lines = m.finish(&mut rogue);
    assert_eq!(hrs(&lines), [64, 65]);
    let s = last_status(&lines);
    let total = &s["session"]["total"];
    assert!(total["dropped"].as_u64().unwrap() < 64, "{s}");
    assert!(s["session"]["faults"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn a_flood_of_bad_frames_hides_neither_the_next_valid_frame_nor_the_exact_count() {
    let mut rogue = Rogue::new("flood", 256, 32_768);
    let mut m = Monitor::start(&rogue.socket, "3");
    m.wait_for(&mut rogue, "connected", connected);
    for _ in 0..20_000 {
        rogue.raw(br#"{"hr":72,"#, Rogue::now_ns());
    }
    rogue.vitals(66);
    m.wait_for(&mut rogue, "the valid frame after the flood", |v| {
        v["hr"] == 66
    });
    let lines = m.finish(&mut rogue);
    assert_eq!(hrs(&lines), [66]);
    let s = last_status(&lines);
    let cur = &s["session"]["current"];
    assert_eq!(cur["rejected"], 20_000, "{s}");
    assert_eq!(cur["dropped"], 0, "{s}");
    assert_eq!(s["events_lost"], 0, "{s}");
    let reported: u64 = lines
        .iter()
        .filter(|v| v["event"] == "error" && v["kind"] == "malformed_payload")
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, 20_000, "the reports add up to the count");
}
