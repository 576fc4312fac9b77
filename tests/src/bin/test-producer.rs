//! A producer process for the Linux integration tests.
//!
//! ```text
//! test-producer [--socket PATH] --channel NAME [--frames N] [--rate HZ]
//!               [--encoding json|binary] [--frame-size F] [--frame-count N]
//!               [--wait-readers N] [--token-file PATH] [--allow-uid UID]
//!               [--handshake-timeout-ms MS] [--exit linger|exit|hang]
//! ```
//!
//! Prints `READY <epoch> <socket path>` once serving, publishes frame `i` =
//! `linux_pattern::record(i)` for `i` in `0..N` (after `--wait-readers` readers were served),
//! prints `DONE <N>`, then: `linger` keeps heartbeating until killed, `exit` returns (the
//! socket is removed), `hang` stops heartbeating but keeps the control server alive.

#[path = "../linux_pattern.rs"]
mod linux_pattern;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use vitalring_core::layout::{Encoding, Geometry};
use vitalring_linux::{ProducerConfig, SharedMemoryProducer, Token};

struct Args {
    socket: Option<PathBuf>,
    channel: String,
    frames: u64,
    rate: u64,
    encoding: Encoding,
    frame_size: u32,
    frame_count: u32,
    wait_readers: u64,
    token_file: Option<PathBuf>,
    allow_uids: Vec<u32>,
    handshake_timeout_ms: u64,
    exit: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        socket: None,
        channel: "test".into(),
        frames: 0,
        rate: 0,
        encoding: Encoding::Json,
        frame_size: 512,
        frame_count: 4096,
        wait_readers: 0,
        token_file: None,
        allow_uids: Vec::new(),
        handshake_timeout_ms: 1000,
        exit: "linger".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |s: String| {
            s.parse::<u64>()
                .map_err(|e| format!("bad number {s:?}: {e}"))
        };
        match flag.as_str() {
            "--socket" => a.socket = Some(PathBuf::from(val()?)),
            "--channel" => a.channel = val()?,
            "--frames" => a.frames = num(val()?)?,
            "--rate" => a.rate = num(val()?)?,
            "--encoding" => {
                a.encoding = match val()?.as_str() {
                    "json" => Encoding::Json,
                    "binary" => Encoding::Binary,
                    other => return Err(format!("unknown encoding {other}")),
                }
            }
            "--frame-size" => a.frame_size = num(val()?)? as u32,
            "--frame-count" => a.frame_count = num(val()?)? as u32,
            "--wait-readers" => a.wait_readers = num(val()?)?,
            "--token-file" => a.token_file = Some(PathBuf::from(val()?)),
            "--allow-uid" => a.allow_uids.push(num(val()?)? as u32),
            "--handshake-timeout-ms" => a.handshake_timeout_ms = num(val()?)?,
            "--exit" => a.exit = val()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let a = parse()?;
    let geometry = Geometry::new(a.frame_size, a.frame_count).map_err(|e| e.to_string())?;
    let mut cfg = ProducerConfig::new(&a.channel);
    cfg.socket_path = a.socket;
    cfg.geometry = geometry;
    cfg.allowed_uids = a.allow_uids;
    cfg.handshake_timeout = Duration::from_millis(a.handshake_timeout_ms);
    if let Some(p) = &a.token_file {
        cfg.token = Some(Token::from_file(p).map_err(|e| e.to_string())?);
    }
    let mut producer = SharedMemoryProducer::create(cfg).map_err(|e| e.to_string())?;
    let path = producer
        .socket_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = std::io::stdout();
    writeln!(out, "READY {} {path}", producer.epoch()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;

    while producer.server_stats().served < a.wait_readers {
        producer.heartbeat_if_due();
        std::thread::sleep(Duration::from_millis(1));
    }
    let period = (a.rate > 0).then(|| Duration::from_nanos(1_000_000_000 / a.rate));
    let base = producer.region().header_snapshot().created_unix_ns;
    for i in 0..a.frames {
        let index = producer
            .publish_record(
                &linux_pattern::record(i),
                a.encoding,
                linux_pattern::timestamp_ns(base, i),
            )
            .map_err(|e| e.to_string())?;
        if index != i {
            return Err(format!("published index {index}, expected {i}"));
        }
        if let Some(p) = period {
            std::thread::sleep(p);
        }
        producer.heartbeat_if_due();
    }
    writeln!(out, "DONE {}", a.frames).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    match a.exit.as_str() {
        "exit" => Ok(()),
        "hang" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        _ => loop {
            producer.heartbeat_if_due();
            std::thread::sleep(Duration::from_millis(5));
        },
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("test-producer: {e}");
        std::process::exit(1);
    }
}
