//! Zero heap allocations per frame on the reader's path, counted by a `#[global_allocator]`.
//!
//! One test function on purpose: the counter is process-wide, so nothing else may run
//! concurrently in this binary.

#[path = "../src/linux_pattern.rs"]
mod linux_pattern;

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vitalring_core::layout::{Encoding, Geometry};
use vitalring_core::payload;
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start};
use vitalring_core::source::{SensorDataSource, SensorEvent};
use vitalring_linux::client::accept_reply;
use vitalring_linux::wire::ControlMessage;
use vitalring_linux::{
    ProducerConfig, SharedMemoryProducer, SharedMemorySensorDataSource, SourceConfig,
};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// with a relaxed atomic neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract of `GlobalAlloc::alloc`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract of `GlobalAlloc::dealloc` (`ptr` came from `System`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract of `GlobalAlloc::alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract of `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

#[test]
fn reader_paths_allocate_nothing_per_frame() {
    let geometry = Geometry::new(512, 8192).unwrap();
    // The counter counts.
    let probe = allocs();
    drop(std::hint::black_box(vec![1u8; 10]));
    assert!(allocs() > probe);

    // 1. The core Reader over a real read-only mapping of a real sealed memfd.
    let mut producer = SharedMemoryProducer::without_server("alloc", geometry, 99).unwrap();
    let dup = producer.memfd().as_fd().try_clone_to_owned().unwrap();
    let reply = ControlMessage::ok(geometry, 99).to_bytes();
    let mapping = accept_reply(&reply, vec![dup], false)
        .unwrap()
        .map()
        .unwrap()
        .into_ring();
    let scratch = vec![0u8; geometry.payload_capacity()];
    let mut reader = Reader::attach(mapping, scratch, LapPolicy::Latest, Start::Next).unwrap();
    let mut step = |i: u64, producer: &mut SharedMemoryProducer| {
        for enc in [Encoding::Json, Encoding::Binary] {
            producer
                .publish_record(
                    &linux_pattern::record(i),
                    enc,
                    linux_pattern::timestamp_ns(vitalring_linux::clock::wall_ns(), i),
                )
                .unwrap();
            match reader.poll() {
                Poll::Frame(v) => assert_eq!(
                    payload::decode(v.meta.frame_type, v.meta.encoding, v.payload),
                    Ok(linux_pattern::record(i))
                ),
                other => panic!("{other:?}"),
            }
        }
    };
    for i in 0..100 {
        step(i, &mut producer);
    }
    let before = allocs();
    for i in 100..5100 {
        step(i, &mut producer);
    }
    let during = allocs() - before;
    assert_eq!(
        during, 0,
        "{during} allocations for 10000 frames (publish + poll)"
    );
    drop(reader);
    drop(producer);

    // 2. The whole data source (polling thread, watchdog, backoff, events to a callback) over
    //    the real handshake.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sock");
    let mut cfg = ProducerConfig::new("alloc");
    cfg.socket_path = Some(path.clone());
    cfg.geometry = geometry;
    let mut producer = SharedMemoryProducer::create(cfg).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let mut source = SharedMemorySensorDataSource::with_callback(
        SourceConfig::new(&path, "alloc"),
        Box::new(move |ev| {
            if matches!(
                ev,
                SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. }
            ) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }),
    );
    source.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let publish_and_wait = |from: u64, to: u64, producer: &mut SharedMemoryProducer| {
        for i in from..to {
            producer
                .publish_record(
                    &linux_pattern::record(i),
                    Encoding::Json,
                    vitalring_linux::clock::wall_ns(),
                )
                .unwrap();
        }
        while seen.load(Ordering::Relaxed) < to {
            assert!(Instant::now() < deadline, "frames not delivered");
            producer.heartbeat_if_due();
            std::thread::yield_now();
        }
    };
    publish_and_wait(0, 500, &mut producer);
    let before = allocs();
    publish_and_wait(500, 6500, &mut producer);
    let during = allocs() - before;
    assert_eq!(
        during, 0,
        "{during} allocations for 6000 frames through the data source"
    );
    let stats = source.stats().expect("attached");
    assert_eq!(
        stats.total.dropped() + stats.total.rejected.total() + source.events_lost(),
        0
    );
    source.stop();
}
