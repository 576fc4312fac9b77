//! Latency and throughput of the bridge on loopback TCP.
//!
//! This process is the producer (a `SharedMemoryProducer` writing small JSON vitals frames
//! stamped with the wall clock at publish time) and two readers with the default wait (they
//! sleep until the writer wakes them): one on the source ring (the baseline: the ring alone)
//! and one on the imported ring (the whole path: the exporter's reader, Zenoh over TCP on
//! 127.0.0.1, the importer, its ring). The exporter and importer are real `vitalring-bridge`
//! processes, run from next to this example (same build profile).
//!
//! ```sh
//! CARGO_TARGET_DIR=target/bridge cargo build --release --manifest-path bridge/Cargo.toml --examples --bins
//! target/bridge/release/examples/bridge_bench --rate 1000 --seconds 5
//! target/bridge/release/examples/bridge_bench --rate 0 --frames 100000
//! ```
//!
//! Latency = reader's wall clock at delivery − the frame's timestamp (both this host's
//! `CLOCK_REALTIME`). Throughput = frames the imported-ring reader got per second of the run.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use vitalring_core::frame::{FrameMeta, FrameView};
use vitalring_core::layout::{Encoding, FrameType, Geometry};
use vitalring_core::payload::Record;
use vitalring_core::session::Sink;
use vitalring_core::slot::LapPolicy;
use vitalring_core::source::SensorEvent;
use vitalring_core::time::UnixNs;
use vitalring_linux::clock::wall_ns;
use vitalring_linux::{LiveReader, ProducerConfig, SharedMemoryProducer, SourceConfig};

/// Latency and throughput of vitalring-bridge on loopback TCP (see the file's header).
#[derive(Debug, Parser)]
struct Args {
    /// Frames per second to publish; 0 = as fast as possible.
    #[arg(long, default_value = "1000")]
    rate: u64,
    /// Seconds to publish at `--rate` (ignored with `--rate 0`).
    #[arg(long, default_value = "5")]
    seconds: f64,
    /// Frames to publish with `--rate 0`.
    #[arg(long, default_value = "100000")]
    frames: u64,
    /// The vitalring-bridge binary [default: next to this example's directory].
    #[arg(long)]
    bridge: Option<PathBuf>,
}

struct Measure {
    hist: Histogram<u64>,
    frames: u64,
    /// `frames`, for the main thread to watch.
    progress: Arc<AtomicU64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Sink for Measure {
    fn event(&mut self, _event: SensorEvent) {}

    fn frame(&mut self, frame: &FrameView<'_>, _record: &Record) {
        let now = wall_ns();
        let lat = now.saturating_sub(frame.meta.timestamp.0);
        let _ = self.hist.record(lat.max(1));
        self.frames += 1;
        self.progress.store(self.frames, Ordering::Relaxed);
        let t = Instant::now();
        self.first.get_or_insert(t);
        self.last = Some(t);
    }
}

fn reader(
    path: PathBuf,
    channel: &str,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> std::thread::JoinHandle<Measure> {
    let mut config = SourceConfig::new(path, channel);
    config.lap_policy = LapPolicy::Oldest;
    let start = Instant::now();
    let mut live = loop {
        match LiveReader::connect(config.clone()) {
            Ok(l) => break l,
            Err(e) if start.elapsed() > Duration::from_secs(20) => panic!("reader: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    std::thread::spawn(move || {
        let mut m = Measure {
            hist: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram"),
            frames: 0,
            progress,
            first: None,
            last: None,
        };
        while !stop.load(Ordering::Relaxed) {
            let next = live.step(&mut m);
            live.wait(next);
        }
        m
    })
}

fn spawn(bridge: &PathBuf, args: &[&str]) -> Child {
    Command::new(bridge)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("vitalring-bridge")
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn main() {
    let args = Args::parse();
    let bridge = args.bridge.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("current exe");
        exe.parent()
            .and_then(|p| p.parent())
            .expect("examples dir")
            .join("vitalring-bridge")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src.sock");
    let dst = dir.path().join("dst.sock");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let mut producer = SharedMemoryProducer::create(ProducerConfig {
        socket_path: Some(src.clone()),
        geometry: Geometry::new(256, 65536).expect("geometry"),
        ..ProducerConfig::new("src")
    })
    .expect("producer");
    let (s, d) = (src.to_str().unwrap(), dst.to_str().unwrap());
    let mut import = spawn(
        &bridge,
        &[
            "import",
            "--socket",
            d,
            "--channel",
            "dst",
            "--remote-host",
            "bench",
            "--remote-channel",
            "src",
            "--connect",
            &endpoint,
            "--frame-size",
            "256",
            "--frames",
            "65536",
            "--log-every",
            "0",
        ],
    );
    let mut export = spawn(
        &bridge,
        &[
            "export",
            "--socket",
            s,
            "--channel",
            "src",
            "--host-name",
            "bench",
            "--listen",
            &endpoint,
            "--log-every",
            "0",
        ],
    );
    let payload = br#"{"hr":72,"spo2":98,"rr":14}"#;
    let publish = |p: &mut SharedMemoryProducer| {
        let meta = FrameMeta {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            timestamp: UnixNs(wall_ns()),
        };
        p.publish_raw(meta, payload).expect("publish");
    };
    // Warm up until the imported ring exists and carries frames.
    while !dst.exists() {
        producer.heartbeat_if_due();
        std::thread::sleep(Duration::from_millis(10));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let warm = reader(dst.clone(), "dst", Arc::clone(&stop), Arc::default());
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        publish(&mut producer);
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let warmed = warm.join().expect("warm-up reader");
    assert!(
        warmed.frames > 0,
        "no frame crossed the bridge in 3 s of warm-up"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let far_count = Arc::new(AtomicU64::new(0));
    let base = reader(src.clone(), "src", Arc::clone(&stop), Arc::default());
    let far = reader(
        dst.clone(),
        "dst",
        Arc::clone(&stop),
        Arc::clone(&far_count),
    );
    let start = Instant::now();
    let mut sent = 0u64;
    if args.rate == 0 {
        while sent < args.frames {
            publish(&mut producer);
            sent += 1;
        }
    } else {
        let period = Duration::from_secs_f64(1.0 / args.rate as f64);
        let total = (args.seconds * args.rate as f64) as u64;
        while sent < total {
            let due = start + period * u32::try_from(sent).unwrap_or(u32::MAX);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            publish(&mut producer);
            sent += 1;
        }
    }
    let publish_secs = start.elapsed().as_secs_f64();
    // Let the tail arrive (until every frame did, or nothing more came for 3 s), keeping the
    // source alive.
    let mut last = (0, Instant::now());
    while far_count.load(Ordering::Relaxed) < sent && last.1.elapsed() < Duration::from_secs(3) {
        let n = far_count.load(Ordering::Relaxed);
        if n != last.0 {
            last = (n, Instant::now());
        }
        producer.heartbeat_if_due();
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let base = base.join().expect("base reader");
    let far = far.join().expect("far reader");
    let _ = export.kill();
    let _ = import.kill();
    let _ = export.wait();
    let _ = import.wait();

    let span = |m: &Measure| match (m.first, m.last) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => f64::NAN,
    };
    println!(
        "rate {} /s, sent {sent} in {publish_secs:.2} s ({:.0} /s)",
        if args.rate == 0 {
            "max".to_owned()
        } else {
            args.rate.to_string()
        },
        sent as f64 / publish_secs
    );
    for (name, m) in [("ring only", &base), ("bridged  ", &far)] {
        println!(
            "{name}: received {} ({} lost), {:.0} frames/s; latency µs p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.1}",
            m.frames,
            sent.saturating_sub(m.frames),
            m.frames as f64 / span(m),
            us(m.hist.value_at_quantile(0.5)),
            us(m.hist.value_at_quantile(0.99)),
            us(m.hist.value_at_quantile(0.999)),
            us(m.hist.max()),
        );
    }
}
