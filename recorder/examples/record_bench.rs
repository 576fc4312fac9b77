//! Recorder benchmark: a producer thread publishes binary frames (one vitals frame, then
//! waveform chunks of 10 samples for ecg_ii, pleth and resp, in turn) into a ring of
//! `--frame-size`-byte slots at `--rate` frames/s, paced every millisecond; the recorder
//! ([`vitalring_recorder::record`], the code `vitalring record` runs) records them on the main
//! thread. Prints what was published, delivered, dropped, the recorder's CPU time (its polling
//! and HDF5 writer threads: the process's CPU time less the producer thread's) and the file
//! size.
//!
//! ```sh
//! cargo run --release -p vitalring-recorder --example record_bench -- --rate 100000 --seconds 10
//! cargo run --release -p vitalring-recorder --example record_bench -- --rate 135 --seconds 20
//! ```
//!
//! `0 frames lost to the recorder's own pace` means `dropped == 0` and
//! `delivered == published − start index`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vitalring_core::payload::Record;
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk};
use vitalring_core::{Encoding, Geometry};
use vitalring_linux::{ProducerConfig, SharedMemoryProducer, SourceConfig};
use vitalring_recorder::{record, RecordConfig};

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu(clock: nix::time::ClockId) -> Duration {
    let t = nix::time::clock_gettime(clock).expect("cpu clock");
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

fn main() {
    let rate = arg("--rate", 100_000.0);
    assert!(rate > 0.0, "--rate must be above 0");
    let seconds = arg("--seconds", 10.0);
    let frame_size = arg("--frame-size", 256.0) as u32;
    let frames = arg("--frames", 4096.0) as u32;
    let dir = std::env::temp_dir().join(format!("vr-record-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket = dir.join("bench.sock");
    let out: PathBuf = dir.join("bench.h5");

    let geometry = Geometry::new(frame_size, frames).expect("geometry");
    let mut config = ProducerConfig::new("bench");
    config.socket_path = Some(socket.clone());
    config.geometry = geometry;
    let mut producer = SharedMemoryProducer::create(config).expect("producer");
    let ready = Arc::new(AtomicBool::new(false));
    let go = Arc::clone(&ready);
    let run_for = Duration::from_secs_f64(seconds);
    let writer = std::thread::spawn(move || {
        while !go.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let vitals = Record::Vitals(VitalsRecord {
            hr_bpm: 72,
            spo2_pct: 98,
            rr_rpm: 14,
            nibp: Some(Nibp {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_mmhg: 93,
            }),
            temp_c: Some(36.9),
            pulse_rate_bpm: Some(72),
        });
        let mut next_sample = [0u64; 3];
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < run_for {
            let due = (start.elapsed().as_secs_f64() * rate) as u64;
            while sent < due {
                let k = (sent % 4) as usize;
                let record = if k == 0 {
                    vitals.clone()
                } else {
                    let c = k - 1;
                    let mut samples = heapless::Vec::new();
                    for i in 0..10 {
                        let _ = samples.push((next_sample[c] + i) as i32 % 1000);
                    }
                    let chunk = WaveformChunk {
                        channel: Channel::ALL[c],
                        fs_hz: 250,
                        first: next_sample[c],
                        samples,
                    };
                    next_sample[c] += 10;
                    Record::Waveform(chunk)
                };
                producer
                    .publish_record(&record, Encoding::Binary, vitalring_linux::clock::wall_ns())
                    .expect("publish");
                sent += 1;
            }
            producer.heartbeat_if_due();
            std::thread::sleep(Duration::from_millis(1));
        }
        let published = producer.published();
        let cpu = cpu(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID);
        drop(producer);
        (published, cpu)
    });

    let mut source = SourceConfig::new(&socket, "bench");
    source.max_sleep_us = 5000;
    let mut rc = RecordConfig::new(source, &out);
    rc.duration = Some(run_for + Duration::from_millis(1500));
    rc.flush_period = Duration::from_millis(arg("--flush-ms", 500.0) as u64);
    // Attach before the producer starts, then let it go.
    let go = Arc::clone(&ready);
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        go.store(true, Ordering::Release);
    });
    let process = nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID;
    let cpu0 = cpu(process);
    let t0 = Instant::now();
    let summary = record(&rc, &|| false).expect("record");
    let wall = t0.elapsed();
    starter.join().expect("starter");
    let (published, producer_cpu) = writer.join().expect("writer");
    // The recorder's polling and writer threads: the process less the producer thread.
    let cpu = cpu(process) - cpu0 - producer_cpu;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let t = summary.total;
    println!(
        "rate {rate:.0} frames/s x {seconds} s, {frame_size}-B slots x {frames}: published {published} \
         delivered {} dropped {} rejected {} | recorder CPU {:.3} s over {:.2} s = {:.2} % of a core \
         | file {:.1} MB",
        t.delivered,
        t.dropped(),
        t.rejected.total(),
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        size as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
