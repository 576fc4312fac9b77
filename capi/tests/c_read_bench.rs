//! `examples/c/read_bench.c`, compiled with the system C compiler and linked against the static
//! library: both C read paths (`vitalring_read` per event, `vitalring_read_frames` with a
//! callback over borrowed frames) see exactly the frames a producer in another thread
//! published — same count, same samples and heart rates — and end when it stops.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vitalring_core::vitals::{Channel, VitalsRecord, WaveformChunk};
use vitalring_core::{Encoding, Geometry, Record};
use vitalring_linux::{ProducerConfig, SharedMemoryProducer};

const HANG_GUARD: Duration = Duration::from_secs(60);
const FRAMES: u64 = 300;

/// Publishes FRAMES frames (every 3rd vitals, the others waveform chunks of 10 samples) once a
/// reader is attached, then stops; returns the sum the bench must print.
fn publish(socket: &std::path::Path) -> i64 {
    let mut config = ProducerConfig::new("bench");
    config.socket_path = Some(socket.to_path_buf());
    // Room for every frame: nothing is lapped however slowly the reader is scheduled.
    config.geometry = Geometry::new(512, 1024).expect("geometry");
    let mut producer = SharedMemoryProducer::create(config).expect("producer");
    let start = Instant::now();
    while producer.server_stats().served == 0 {
        if start.elapsed() > HANG_GUARD {
            panic!("hang guard: read_bench never attached");
        }
        producer.heartbeat_if_due();
        std::thread::sleep(Duration::from_millis(2));
    }
    // The bench starts at the oldest frame the ring holds: it sees frame 0 whenever it maps.
    let t = vitalring_linux::clock::wall_ns();
    let mut sum = 0i64;
    for i in 0..FRAMES {
        let rec = if i % 3 == 0 {
            let hr = 40 + (i % 100) as u16;
            sum += i64::from(hr);
            Record::Vitals(VitalsRecord {
                hr_bpm: hr,
                spo2_pct: 97,
                rr_rpm: 14,
                ..Default::default()
            })
        } else {
            let mut samples = heapless::Vec::new();
            for k in 0..10u64 {
                let s = (i * 10 + k) as i32 - 1000;
                sum += i64::from(s);
                samples.push(s).expect("10 samples fit");
            }
            Record::Waveform(WaveformChunk {
                channel: Channel::EcgII,
                fs_hz: 250,
                first: i * 10,
                samples,
            })
        };
        producer
            .publish_record(&rec, Encoding::Binary, t + i)
            .expect("publish");
    }
    std::thread::sleep(Duration::from_millis(50));
    drop(producer); // "producer stopped": the bench ends
    sum
}

fn run(mode: &str) {
    let dir = common::temp_dir(&format!("bench-{mode}"));
    let bench = common::build_example(&dir, "read_bench");
    let socket = dir.join("b.sock");
    let sock = socket.clone();
    let producer = std::thread::spawn(move || publish(&sock));
    common::wait_for(HANG_GUARD, || socket.exists().then_some(()));
    let mut child = Command::new(&bench)
        .arg(&socket)
        .args(["bench", mode, &(FRAMES * 10).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start read_bench");
    let expected_sum = producer.join().expect("producer thread");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("hang guard: read_bench did not exit");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "{mode}: {status}; {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every data frame, exactly; nothing dropped or rejected; the same sum in both modes.
    let want = format!("{mode}: ");
    let line = stdout.lines().next().expect("one line");
    assert!(line.starts_with(&want), "{line}");
    assert!(
        line.contains(&format!(
            " dropped 0 rejected 0 data {FRAMES} sum {expected_sum} in "
        )),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn read_bench_event_path_sees_every_published_frame() {
    run("event");
}

#[test]
fn read_bench_frame_callback_path_sees_every_published_frame() {
    run("frames");
}
