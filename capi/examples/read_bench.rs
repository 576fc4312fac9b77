//! Read-path throughput: the C API's `vitalring_try_read` loop against the Rust reader
//! (`LiveReader::step` with a counting sink) on the same kind of producer.
//!
//! ```text
//! B=target/release/examples/read_bench
//! $B /tmp/b.sock bench produce 2000000 &   # waits for one reader, then publishes flat out
//! $B /tmp/b.sock bench c 2000000            # or: rust
//! ```
//!
//! Prints frames delivered per second (heartbeats included) and the drops.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::time::Instant;

use vitalring_capi::*;
use vitalring_core::source::SensorEvent;
use vitalring_linux::{LiveReader, SourceConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, socket, channel, mode, frames] = &args[..] else {
        eprintln!("usage: read_bench SOCKET CHANNEL c|rust FRAMES");
        std::process::exit(2);
    };
    let frames: u64 = frames.parse().expect("FRAMES is a number");
    let (delivered, dropped, secs) = match mode.as_str() {
        "produce" => {
            produce(socket, channel, frames);
            return;
        }
        "rust" => {
            let mut config = SourceConfig::new(socket, channel);
            // As examples/c/read_bench.c.
            config.start = vitalring_core::slot::Start::Oldest;
            let mut live = LiveReader::connect(config).expect("connect");
            let mut n = 0u64;
            let mut sink = |e: SensorEvent| {
                if matches!(e, SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. }) {
                    n += 1;
                }
            };
            let mut start = None;
            loop {
                let next = live.step(&mut sink);
                let s = live.stats();
                if start.is_none() && s.current.position > s.current.start_index {
                    start = Some(Instant::now());
                }
                if s.current.position - s.current.start_index >= frames {
                    let c = s.current.counters;
                    break (
                        c.delivered,
                        c.dropped(),
                        start.map_or(0.0, |t| t.elapsed().as_secs_f64()),
                    );
                }
                live.wait(next);
            }
        }
        "c" => {
            let path = CString::new(socket.as_str()).expect("path");
            let chan = CString::new(channel.as_str()).expect("channel");
            let mut o = MaybeUninit::<vitalring_options>::uninit();
            let mut reader: *mut vitalring_reader = std::ptr::null_mut();
            let mut ev = MaybeUninit::<vitalring_event>::uninit();
            let mut st = MaybeUninit::<vitalring_stats>::uninit();
            // SAFETY: valid pointers to writable memory; the strings outlive the call; the
            // reader is used by this thread only and closed once.
            unsafe {
                vitalring_options_init(o.as_mut_ptr());
                let mut o = o.assume_init();
                o.socket_path = path.as_ptr();
                o.channel = chan.as_ptr();
                o.start = VITALRING_START_OLDEST;
                assert_eq!(
                    vitalring_connect(&o, &mut reader, std::ptr::null_mut(), 0),
                    VITALRING_OK
                );
                let mut start = None;
                let mut polls = 0u32;
                loop {
                    let rc = vitalring_read(reader, ev.as_mut_ptr(), 1000);
                    if start.is_none() && rc == VITALRING_OK && ev.assume_init_ref().index > 0 {
                        start = Some(Instant::now());
                    }
                    polls += 1;
                    if polls.is_multiple_of(64) || rc != VITALRING_OK {
                        vitalring_get_stats(reader, st.as_mut_ptr());
                        let s = st.assume_init_ref();
                        if s.position - s.start_index >= frames {
                            let r = (
                                s.delivered,
                                s.dropped_lapped + s.dropped_overwritten,
                                start.map_or(0.0, |t: Instant| t.elapsed().as_secs_f64()),
                            );
                            vitalring_close(reader);
                            break r;
                        }
                    }
                }
            }
        }
        other => panic!("mode is c or rust, not {other}"),
    };
    println!(
        "{mode}: delivered {delivered} dropped {dropped} in {secs:.3} s: {:.0} frames/s",
        delivered as f64 / secs
    );
}

/// Publishes `frames` binary waveform chunks (256-byte slots, 65536 of them) as fast as
/// possible once one reader was served, then drops the producer ("producer stopped").
fn produce(socket: &str, channel: &str, frames: u64) {
    use vitalring_core::vitals::{Channel, WaveformChunk};
    use vitalring_core::{Encoding, Geometry, Record};
    let mut config = vitalring_linux::ProducerConfig::new(channel);
    config.socket_path = Some(socket.into());
    config.geometry = Geometry::new(256, 65536).expect("geometry");
    let mut producer = vitalring_linux::SharedMemoryProducer::create(config).expect("producer");
    while producer.server_stats().served == 0 {
        producer.heartbeat_if_due();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut samples = heapless::Vec::new();
    samples.extend_from_slice(&[7; 10]).expect("10 samples fit");
    let mut chunk = WaveformChunk {
        channel: Channel::EcgII,
        fs_hz: 250,
        first: 0,
        samples,
    };
    let t = vitalring_linux::clock::wall_ns();
    for i in 0..frames {
        chunk.first = i * 10;
        producer
            .publish_record(&Record::Waveform(chunk.clone()), Encoding::Binary, t)
            .expect("publish");
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
}
