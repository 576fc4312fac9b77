//! Readers that sleep, and the producer's view of its readers (leases, status pages), with
//! real processes: this test process is the producer (`SharedMemoryProducer`), the readers are
//! `test-sleeper` children (the real `LiveReader`, or a hostile page scribbler).

mod linux_common;
#[path = "../src/linux_pattern.rs"]
mod linux_pattern;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use linux_common::PATIENCE;
use vitalring_core::layout::{Encoding, Geometry};
use vitalring_linux::{ProducerConfig, ReaderInfo, SharedMemoryProducer};

struct Reader {
    child: Child,
    lines: BufReader<ChildStdout>,
    pid: i32,
}

impl Reader {
    fn spawn(sock: &std::path::Path, mode: &str, frames: u64) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_test-sleeper"))
            .args(["--socket", sock.to_str().unwrap(), "--channel", "wake"])
            .args(["--mode", mode, "--frames", &frames.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn test-sleeper");
        let lines = BufReader::new(child.stdout.take().unwrap());
        let pid = child.id() as i32;
        let mut r = Self { child, lines, pid };
        let attached = r.line();
        assert!(attached.starts_with("ATTACHED"), "reader said {attached:?}");
        r
    }

    /// The next line the reader prints (a closed stdout reads as "").
    fn line(&mut self) -> String {
        let mut line = String::new();
        let _ = self.lines.read_line(&mut line);
        line.trim_end().to_owned()
    }

    /// The `DONE` line's fields.
    fn done(&mut self) -> Done {
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "reader exited without DONE");
            if let Some(rest) = line.strip_prefix("DONE ") {
                let field = |k: &str| -> u64 {
                    rest.split_whitespace()
                        .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("no {k} in {line:?}"))
                };
                return Done {
                    delivered: field("delivered"),
                    dropped: field("dropped"),
                    rejected: field("rejected"),
                    position: field("position"),
                    stalls: field("stalls"),
                };
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Done {
    delivered: u64,
    dropped: u64,
    rejected: u64,
    position: u64,
    stalls: u64,
}

fn producer(dir: &tempfile::TempDir) -> SharedMemoryProducer {
    let mut cfg = ProducerConfig::new("wake");
    cfg.socket_path = Some(dir.path().join("wake.sock"));
    cfg.geometry = Geometry::new(512, 256).unwrap();
    SharedMemoryProducer::create(cfg).expect("producer")
}

fn publish(p: &mut SharedMemoryProducer, i: u64) {
    let base = vitalring_linux::clock::wall_ns();
    p.publish_record(
        &linux_pattern::record(i),
        Encoding::Binary,
        linux_pattern::timestamp_ns(base, 0),
    )
    .expect("publish");
}

/// Waits (keeping the heartbeat alive) until `cond` holds on the reader list.
fn wait_readers(
    p: &mut SharedMemoryProducer,
    what: &str,
    cond: impl Fn(&[ReaderInfo]) -> bool,
) -> Vec<ReaderInfo> {
    let start = Instant::now();
    loop {
        let list = p.readers();
        if cond(&list) {
            return list;
        }
        if start.elapsed() > PATIENCE {
            panic!("hang guard: waiting for {what}; readers now {list:#?}");
        }
        p.heartbeat_if_due();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn find(list: &[ReaderInfo], pid: i32) -> &ReaderInfo {
    list.iter()
        .find(|r| r.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} not listed: {list:#?}"))
}

/// Publishes `n` frames, one every `gap`, keeping the heartbeat alive in between.
fn publish_slowly(p: &mut SharedMemoryProducer, n: u64, gap: Duration) {
    for i in 0..n {
        let until = Instant::now() + gap;
        while Instant::now() < until {
            p.heartbeat_if_due();
            std::thread::sleep(Duration::from_millis(1));
        }
        publish(p, i);
    }
}

#[test]
fn a_sleeping_reader_gets_every_frame_of_a_slow_producer_and_its_counters_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(&dir);
    let frames = 40;
    let mut r = Reader::spawn(&dir.path().join("wake.sock"), "sleep", frames);
    let list = wait_readers(&mut p, "the reader's lease", |l| l.len() == 1);
    assert_eq!(list[0].pid, r.pid);
    assert_eq!(list[0].uid, nix::unistd::geteuid().as_raw());
    // It says it sleeps; and it is really asleep between frames (flag set while idle).
    wait_readers(&mut p, "the reader to report that it sleeps", |l| {
        l[0].sleeping
    });
    publish_slowly(&mut p, frames, Duration::from_millis(50));
    let done = r.done();
    assert_eq!(
        done,
        Done {
            delivered: frames,
            dropped: 0,
            rejected: 0,
            position: frames,
            stalls: 0
        },
        "every frame, nothing lost, no stall report"
    );
    // The producer's list says exactly what the reader says about itself.
    let list = p.readers();
    let me = find(&list, r.pid);
    assert_eq!(
        (me.delivered, me.dropped, me.rejected, me.position, me.lag),
        (
            done.delivered,
            done.dropped,
            done.rejected,
            done.position,
            0
        )
    );
    assert!(me.sleeping && me.page_error.is_none());
    assert!(me.last_heartbeat_unix_ms > 0 && me.attached_unix_ms > 0);
    // The reader was woken by the writer, not only by its timeouts.
    assert!(p.wakes() > 0, "the writer never woke the sleeping reader");
}

#[test]
fn a_sleeping_and_a_busy_reader_share_a_ring() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(&dir);
    let frames = 60;
    let sock = dir.path().join("wake.sock");
    let mut sleeper = Reader::spawn(&sock, "sleep", frames);
    let mut busy = Reader::spawn(&sock, "busy", frames);
    let list = wait_readers(&mut p, "two leases", |l| l.len() == 2);
    assert!(find(&list, sleeper.pid).sleeping);
    assert!(!find(&list, busy.pid).sleeping);
    publish_slowly(&mut p, frames, Duration::from_millis(5));
    for r in [&mut sleeper, &mut busy] {
        let d = r.done();
        assert_eq!((d.delivered, d.dropped, d.rejected), (frames, 0, 0));
    }
}

#[test]
fn a_reader_killed_with_sigkill_leaves_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(&dir);
    let sock = dir.path().join("wake.sock");
    let mut victim = Reader::spawn(&sock, "sleep", u64::MAX);
    let keeper = Reader::spawn(&sock, "sleep", u64::MAX);
    wait_readers(&mut p, "two leases", |l| l.len() == 2);
    let _ = victim.child.kill(); // SIGKILL
    let _ = victim.child.wait();
    let gone = victim.pid;
    let list = wait_readers(&mut p, "the killed reader to leave the list", |l| {
        l.iter().all(|r| r.pid != gone)
    });
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].pid, keeper.pid);
    // The writer keeps going (its wake set drops the dead page at its next commit).
    publish(&mut p, 0);
}

#[test]
fn a_hostile_page_cannot_change_what_others_receive_or_block_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(&dir);
    let sock = dir.path().join("wake.sock");
    let frames = 300;
    let hostile = Reader::spawn(&sock, "hostile", 0);
    let mut honest = Reader::spawn(&sock, "sleep", frames);
    wait_readers(&mut p, "two leases", |l| l.len() == 2);
    // Bursts with short gaps: the honest reader sleeps between them; the hostile page keeps
    // its sleeping flag on and garbage everywhere else.
    for burst in 0..30 {
        for i in 0..10 {
            publish(&mut p, burst * 10 + i);
        }
        let until = Instant::now() + Duration::from_millis(3);
        while Instant::now() < until {
            p.heartbeat_if_due();
            std::thread::yield_now();
        }
    }
    let d = honest.done();
    assert_eq!((d.delivered, d.dropped, d.rejected), (frames, 0, 0));
    // The hostile row is only the hostile reader's: listed, its page refused or garbage.
    let list = p.readers();
    let h = find(&list, hostile.pid);
    let o = find(&list, honest.pid);
    assert!(o.page_error.is_none() && o.delivered == frames);
    assert!(h.page_error.is_some() || h.delivered != frames);
}

#[test]
fn a_sleeping_reader_reports_a_stall_and_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(&dir);
    let mut r = Reader::spawn(&dir.path().join("wake.sock"), "sleep", u64::MAX);
    wait_readers(&mut p, "the reader asleep", |l| {
        l.len() == 1 && l[0].sleeping
    });
    publish(&mut p, 0);
    // Pause: no frame, no heartbeat. The reader sleeps with its watchdog's timeout.
    assert_eq!(r.line(), "STALLED");
    // Resume, then stop cleanly: the stop mark wakes it.
    publish(&mut p, 1);
    drop(p);
    assert_eq!(r.line(), "STOPPED");
    let d = r.done();
    assert_eq!((d.delivered, d.dropped, d.rejected), (2, 0, 0));
}
