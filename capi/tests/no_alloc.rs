//! The C read path allocates nothing: `vitalring_read`, `vitalring_try_read` and
//! `vitalring_get_stats` over hundreds of frames, counted by a `#[global_allocator]`.
//! One test function on purpose: the counter is process-wide.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use vitalring_capi::*;
use vitalring_core::vitals::{Channel, VitalsRecord, WaveformChunk};
use vitalring_core::{Encoding, Record};

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
        // SAFETY: forwarded contract of `GlobalAlloc::dealloc`.
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

#[test]
fn the_read_path_allocates_nothing() {
    let dir = common::temp_dir("alloc");
    let socket = dir.join("p.sock");
    let mut producer = common::producer(&socket);
    let path = CString::new(socket.as_os_str().as_bytes()).unwrap();
    let mut o = MaybeUninit::<vitalring_options>::uninit();
    // SAFETY: writable memory for one options struct; initialised by the call.
    let mut o = unsafe {
        vitalring_options_init(o.as_mut_ptr());
        o.assume_init()
    };
    o.socket_path = path.as_ptr();
    let mut reader: *mut vitalring_reader = ptr::null_mut();
    // SAFETY: valid options and out pointer.
    let rc = unsafe { vitalring_connect(&o, &mut reader, ptr::null_mut(), 0) };
    assert_eq!(rc, VITALRING_OK);
    let mut ev = MaybeUninit::<vitalring_event>::uninit();
    let mut st = MaybeUninit::<vitalring_stats>::uninit();

    let mut samples = heapless::Vec::new();
    samples.extend_from_slice(&[5; 10]).unwrap();
    let chunk = WaveformChunk {
        channel: Channel::Pleth,
        fs_hz: 250,
        first: 0,
        samples,
    };
    let v = VitalsRecord {
        hr_bpm: 70,
        spo2_pct: 97,
        rr_rpm: 12,
        ..Default::default()
    };
    let mut seen = 0u64;
    for round in 0..5 {
        for k in 0..100u64 {
            let t = vitalring_linux::clock::wall_ns();
            let record = if k % 4 == 0 {
                Record::Vitals(v)
            } else {
                let mut c = chunk.clone();
                c.first = (round * 100 + k) * 10;
                Record::Waveform(c)
            };
            producer.publish_record(&record, Encoding::Json, t).unwrap();
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        loop {
            // SAFETY: a live handle and writable event/stats.
            let rc = unsafe {
                if seen.is_multiple_of(2) {
                    vitalring_try_read(reader, ev.as_mut_ptr())
                } else {
                    vitalring_read(reader, ev.as_mut_ptr(), 0)
                }
            };
            // SAFETY: as above.
            let stats_rc = unsafe { vitalring_get_stats(reader, st.as_mut_ptr()) };
            assert_eq!(stats_rc, VITALRING_OK);
            if rc == VITALRING_NO_EVENT {
                break;
            }
            assert_eq!(rc, VITALRING_OK);
            seen += 1;
        }
        let after = ALLOCS.load(Ordering::Relaxed);
        assert_eq!(after - before, 0, "allocations while reading round {round}");
    }
    // The bulk path: frames handed to a callback, borrowed.
    unsafe extern "C" fn count(ctx: *mut core::ffi::c_void, _f: *const vitalring_frame) {
        // SAFETY: ctx is the u64 passed below.
        unsafe { *ctx.cast::<u64>() += 1 };
    }
    let mut handed = 0u64;
    for round in 0..5u64 {
        for k in 0..100u64 {
            let t = vitalring_linux::clock::wall_ns();
            let mut c = chunk.clone();
            c.first = (500 + round * 100 + k) * 10;
            producer
                .publish_record(&Record::Waveform(c), Encoding::Binary, t)
                .unwrap();
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        let mut n = 0u32;
        loop {
            // SAFETY: a live handle, a callback that does not re-enter it, its context.
            let rc = unsafe {
                vitalring_read_frames(reader, Some(count), (&raw mut handed).cast(), 64, 0, &mut n)
            };
            if rc == VITALRING_NO_EVENT {
                break;
            }
            assert_eq!(rc, VITALRING_OK);
        }
        // SAFETY: as above.
        let rc = unsafe { vitalring_get_stats(reader, st.as_mut_ptr()) };
        assert_eq!(rc, VITALRING_OK);
        let after = ALLOCS.load(Ordering::Relaxed);
        assert_eq!(
            after - before,
            0,
            "allocations in read_frames round {round}"
        );
    }
    assert_eq!(handed, 500, "every frame reached the callback");
    // SAFETY: written by the last successful call.
    let s = unsafe { st.assume_init() };
    assert_eq!(s.delivered, 1000, "every frame was read");
    // SAFETY: the handle from vitalring_connect, closed once.
    unsafe { vitalring_close(reader) };
    let _ = std::fs::remove_dir_all(&dir);
}
