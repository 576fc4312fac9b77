//! The C entry points called through their C ABI from Rust: null pointers, bad options and
//! failed handshakes come back as codes with a readable line; events and counters are exact.

mod common;

use std::ffi::{c_char, CStr, CString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::time::Duration;

use vitalring_capi::*;
use vitalring_core::vitals::VitalsRecord;
use vitalring_core::{Encoding, Record};

fn options() -> vitalring_options {
    let mut o = MaybeUninit::<vitalring_options>::uninit();
    // SAFETY: a valid pointer to writable memory for one options struct.
    let rc = unsafe { vitalring_options_init(o.as_mut_ptr()) };
    assert_eq!(rc, VITALRING_OK);
    // SAFETY: vitalring_options_init wrote every field.
    unsafe { o.assume_init() }
}

fn text(buf: &[c_char]) -> String {
    // SAFETY: the library NUL-terminates every message it writes into a zeroed buffer.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn null_pointers_are_rejected_with_a_code() {
    let mut reader: *mut vitalring_reader = ptr::null_mut();
    let o = options();
    let mut ev = MaybeUninit::<vitalring_event>::uninit();
    let mut st = MaybeUninit::<vitalring_stats>::uninit();
    // SAFETY: every pointer is null or valid; the functions must reject the nulls.
    unsafe {
        assert_eq!(vitalring_options_init(ptr::null_mut()), VITALRING_E_NULL);
        assert_eq!(
            vitalring_connect(ptr::null(), &mut reader, ptr::null_mut(), 0),
            VITALRING_E_NULL
        );
        assert_eq!(
            vitalring_connect(&o, ptr::null_mut(), ptr::null_mut(), 0),
            VITALRING_E_NULL
        );
        assert_eq!(
            vitalring_read(ptr::null_mut(), ev.as_mut_ptr(), 0),
            VITALRING_E_NULL
        );
        assert_eq!(
            vitalring_try_read(ptr::null_mut(), ev.as_mut_ptr()),
            VITALRING_E_NULL
        );
        assert_eq!(
            vitalring_get_stats(ptr::null_mut(), st.as_mut_ptr()),
            VITALRING_E_NULL
        );
        // A misaligned handle pointer is refused before any dereference.
        let bogus = ptr::without_provenance_mut::<vitalring_reader>(1);
        assert_eq!(vitalring_try_read(bogus, ev.as_mut_ptr()), VITALRING_E_NULL);
        vitalring_close(ptr::null_mut());
    }
}

#[test]
fn failed_connects_say_why_in_one_line() {
    let dir = common::temp_dir("connect");
    let missing = CString::new(dir.join("none.sock").as_os_str().as_bytes()).unwrap();
    let mut o = options();
    o.socket_path = missing.as_ptr();
    let mut reader: *mut vitalring_reader = ptr::without_provenance_mut(8);
    let mut why = [0 as c_char; 256];
    // SAFETY: valid options, out pointer and buffer.
    let rc = unsafe { vitalring_connect(&o, &mut reader, why.as_mut_ptr(), why.len()) };
    assert_eq!(rc, VITALRING_E_NO_PRODUCER);
    assert!(reader.is_null(), "out is cleared on failure");
    assert!(
        text(&why).starts_with("no producer socket at "),
        "{}",
        text(&why)
    );

    o.lap_policy = 7;
    // SAFETY: as above.
    let rc = unsafe { vitalring_connect(&o, &mut reader, why.as_mut_ptr(), why.len()) };
    assert_eq!(rc, VITALRING_E_INVALID_ARGUMENT);
    assert_eq!(text(&why), "unknown lap policy 7");

    let mut o = options();
    let bad = [0xffu8 as c_char, 0];
    o.channel = bad.as_ptr();
    // SAFETY: as above; the channel is NUL-terminated but not UTF-8.
    let rc = unsafe { vitalring_connect(&o, &mut reader, why.as_mut_ptr(), why.len()) };
    assert_eq!(rc, VITALRING_E_INVALID_ARGUMENT);
    assert_eq!(text(&why), "channel is not UTF-8");

    let token = CString::new(dir.join("no-token").as_os_str().as_bytes()).unwrap();
    let mut o = options();
    o.socket_path = missing.as_ptr();
    o.token_file = token.as_ptr();
    // SAFETY: as above.
    let rc = unsafe { vitalring_connect(&o, &mut reader, why.as_mut_ptr(), why.len()) };
    assert_eq!(rc, VITALRING_E_TOKEN);
    assert!(text(&why).starts_with("token file "), "{}", text(&why));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_and_counters_through_the_c_abi() {
    let dir = common::temp_dir("events");
    let socket = dir.join("p.sock");
    let mut producer = common::producer(&socket);
    let path = CString::new(socket.as_os_str().as_bytes()).unwrap();
    let mut o = options();
    o.socket_path = path.as_ptr();
    let mut reader: *mut vitalring_reader = ptr::null_mut();
    // SAFETY: valid options and out pointer.
    let rc = unsafe { vitalring_connect(&o, &mut reader, ptr::null_mut(), 0) };
    assert_eq!(rc, VITALRING_OK);

    let mut ev = MaybeUninit::<vitalring_event>::uninit();
    // The first event says the reader is connected, with the producer's epoch.
    // SAFETY: a live handle and a writable event.
    let rc = unsafe { vitalring_try_read(reader, ev.as_mut_ptr()) };
    assert_eq!(rc, VITALRING_OK);
    // SAFETY: VITALRING_OK means the event was written.
    let e = unsafe { ev.assume_init_ref() };
    assert_eq!(e.kind, VITALRING_EVENT_CONNECTION);
    assert_eq!(e.connection.state, VITALRING_STATE_CONNECTED);
    assert_eq!(
        (e.connection.has_epoch, e.connection.epoch),
        (1, producer.epoch())
    );
    // Nothing published yet.
    // SAFETY: as above.
    let rc = unsafe { vitalring_try_read(reader, ev.as_mut_ptr()) };
    assert_eq!(rc, VITALRING_NO_EVENT);

    let v = VitalsRecord {
        hr_bpm: 77,
        spo2_pct: 95,
        rr_rpm: 18,
        nibp: None,
        temp_c: Some(38.5),
        pulse_rate_bpm: None,
    };
    let t = vitalring_linux::clock::wall_ns();
    let index = producer
        .publish_record(&Record::Vitals(v), Encoding::Binary, t)
        .unwrap();
    // SAFETY: as above.
    let rc = unsafe { vitalring_read(reader, ev.as_mut_ptr(), 10_000) };
    assert_eq!(rc, VITALRING_OK);
    // SAFETY: written.
    let e = unsafe { ev.assume_init_ref() };
    assert_eq!(
        (e.kind, e.index, e.timestamp_ns),
        (VITALRING_EVENT_VITALS, index, t)
    );
    let want = vitalring_vitals {
        hr_bpm: 77,
        spo2_pct: 95,
        rr_rpm: 18,
        has_temp: 1,
        temp_c: 38.5,
        ..Default::default()
    };
    assert_eq!(e.vitals, want);

    // A blocking read with nothing to read times out.
    // SAFETY: as above.
    let rc = unsafe { vitalring_read(reader, ev.as_mut_ptr(), 20) };
    assert_eq!(rc, VITALRING_NO_EVENT);

    let bad = producer
        .publish_record(&Record::Vitals(v), Encoding::Json, t)
        .unwrap();
    producer.corrupt_frame(bad, 40 * 8).unwrap();
    // SAFETY: as above.
    let rc = unsafe { vitalring_read(reader, ev.as_mut_ptr(), 10_000) };
    assert_eq!(rc, VITALRING_OK);
    // SAFETY: written.
    let e = unsafe { ev.assume_init_ref() };
    assert_eq!(e.kind, VITALRING_EVENT_PROBLEM);
    assert_eq!(
        (e.problem.kind, e.problem.first, e.problem.count),
        (VITALRING_PROBLEM_CRC, index + 1, 1)
    );
    assert!(text(&e.problem.message).starts_with("1 frame(s) rejected from index"));

    let mut st = MaybeUninit::<vitalring_stats>::uninit();
    // SAFETY: a live handle and writable stats.
    let rc = unsafe { vitalring_get_stats(reader, st.as_mut_ptr()) };
    assert_eq!(rc, VITALRING_OK);
    // SAFETY: written.
    let s = unsafe { st.assume_init() };
    assert_eq!((s.delivered, s.rejected, s.rejected_crc), (1, 1, 1));
    assert_eq!(s.position - s.start_index, 2);
    assert_eq!(
        (s.epoch, s.frame_size, s.frame_count),
        (producer.epoch(), 4096, 256)
    );
    assert_eq!(s.state, VITALRING_STATE_CONNECTED);

    // A stopped producer arrives as a connection event.
    drop(producer);
    let e = common::wait_for(Duration::from_secs(10), || {
        // SAFETY: as above.
        let rc = unsafe { vitalring_read(reader, ev.as_mut_ptr(), 100) };
        // SAFETY: written when OK.
        (rc == VITALRING_OK).then(|| unsafe { ev.assume_init() })
    });
    assert_eq!(
        (e.kind, e.connection.state),
        (VITALRING_EVENT_CONNECTION, VITALRING_STATE_STOPPED)
    );
    // SAFETY: the handle from vitalring_connect, closed once.
    unsafe { vitalring_close(reader) };
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the frame callback saw, copied out of the borrowed views.
#[derive(Debug, Default)]
struct Seen {
    frames: Vec<(u32, u64, u64, u32)>,
    vitals: Vec<vitalring_vitals>,
    samples: Vec<(u32, u32, u64, Vec<i32>)>,
    payloads: Vec<Vec<u8>>,
}

unsafe extern "C" fn on_frame(ctx: *mut std::ffi::c_void, f: *const vitalring_frame) {
    // SAFETY: ctx is the `Seen` passed to vitalring_read_frames; f is valid for the call.
    let (seen, f) = unsafe { (&mut *ctx.cast::<Seen>(), &*f) };
    seen.frames
        .push((f.kind, f.index, f.timestamp_ns, f.encoding));
    // SAFETY: payload points to payload_len bytes for the duration of the call.
    let payload = unsafe { std::slice::from_raw_parts(f.payload, f.payload_len as usize) };
    seen.payloads.push(payload.to_vec());
    if f.kind == VITALRING_EVENT_VITALS {
        assert!(f.samples.is_null() && f.count == 0);
        seen.vitals.push(f.vitals);
    } else {
        // SAFETY: samples points to count decoded samples for the duration of the call.
        let s = unsafe { std::slice::from_raw_parts(f.samples, f.count as usize) };
        seen.samples.push((f.channel, f.fs_hz, f.first, s.to_vec()));
    }
}

#[test]
fn read_frames_hands_every_delivered_frame_to_the_callback_and_queues_the_rest() {
    use vitalring_core::vitals::{Channel, WaveformChunk};
    let dir = common::temp_dir("frames");
    let socket = dir.join("p.sock");
    let mut producer = common::producer(&socket);
    let path = CString::new(socket.as_os_str().as_bytes()).unwrap();
    let mut o = options();
    o.socket_path = path.as_ptr();
    let mut reader: *mut vitalring_reader = ptr::null_mut();
    // SAFETY: valid options and out pointer.
    let got = unsafe { vitalring_connect(&o, &mut reader, ptr::null_mut(), 0) };
    assert_eq!(got, VITALRING_OK);
    let mut seen = Seen::default();
    let ctx = (&raw mut seen).cast::<std::ffi::c_void>();
    let mut n = 99u32;
    // Nothing published: the connection event is waiting, so the call ends at once with 0.
    // SAFETY: a live handle, a callback that does not re-enter it, its context and `n`.
    let rc = unsafe { vitalring_read_frames(reader, Some(on_frame), ctx, 100, 10_000, &mut n) };
    assert_eq!((rc, n), (VITALRING_OK, 0));
    let mut ev = MaybeUninit::<vitalring_event>::uninit();
    // SAFETY: a live handle and a writable event.
    let got = unsafe { vitalring_pop_event(reader, ev.as_mut_ptr()) };
    assert_eq!(got, VITALRING_OK);
    // SAFETY: written.
    let got = unsafe { ev.assume_init_ref() }.kind;
    assert_eq!(got, VITALRING_EVENT_CONNECTION);
    // Nothing at all: a timeout.
    // SAFETY: as above.
    let rc = unsafe { vitalring_read_frames(reader, Some(on_frame), ctx, 100, 20, &mut n) };
    assert_eq!((rc, n), (VITALRING_NO_EVENT, 0));

    let t = vitalring_linux::clock::wall_ns();
    let v = VitalsRecord {
        hr_bpm: 81,
        spo2_pct: 96,
        rr_rpm: 15,
        nibp: None,
        temp_c: Some(37.25),
        pulse_rate_bpm: Some(80),
    };
    let mut published = Vec::new();
    for k in 0..10u64 {
        let rec = if k % 2 == 0 {
            Record::Vitals(v)
        } else {
            let mut samples = heapless::Vec::new();
            for s in 0..10 {
                samples.push((k * 100 + s) as i32 - 300).unwrap();
            }
            Record::Waveform(WaveformChunk {
                channel: Channel::Pleth,
                fs_hz: 250,
                first: k * 10,
                samples,
            })
        };
        let enc = if k % 3 == 0 {
            Encoding::Json
        } else {
            Encoding::Binary
        };
        let index = producer.publish_record(&rec, enc, t + k).unwrap();
        published.push((index, rec, enc));
        if k == 4 {
            producer.publish_heartbeat(); // counted, not handed over
        }
    }
    let bad = producer
        .publish_record(&Record::Vitals(v), Encoding::Json, t)
        .unwrap();
    producer.corrupt_frame(bad, 40 * 8).unwrap();

    // Popping does not read the ring: the frames stay for the callback.
    // SAFETY: a live handle and a writable event.
    let got = unsafe { vitalring_pop_event(reader, ev.as_mut_ptr()) };
    assert_eq!(got, VITALRING_NO_EVENT);
    let mut total = 0;
    common::wait_for(Duration::from_secs(10), || {
        // SAFETY: as above.
        let rc = unsafe { vitalring_read_frames(reader, Some(on_frame), ctx, 4, 100, &mut n) };
        assert!(rc == VITALRING_OK || rc == VITALRING_NO_EVENT, "{rc}");
        total += n;
        (total >= 10).then_some(())
    });
    assert_eq!(total, 10);
    let want: Vec<_> = published
        .iter()
        .enumerate()
        .map(|(k, (index, rec, enc))| {
            let kind = match rec {
                Record::Vitals(_) => VITALRING_EVENT_VITALS,
                _ => VITALRING_EVENT_WAVEFORM,
            };
            (kind, *index, t + k as u64, *enc as u32)
        })
        .collect();
    assert_eq!(seen.frames, want);
    let vit = vitalring_vitals {
        hr_bpm: 81,
        spo2_pct: 96,
        rr_rpm: 15,
        has_temp: 1,
        temp_c: 37.25,
        has_pulse_rate: 1,
        pulse_rate_bpm: 80,
        ..Default::default()
    };
    assert_eq!(seen.vitals, vec![vit; 5]);
    for (j, (ch, fs, first, s)) in seen.samples.iter().enumerate() {
        let k = 2 * j as u64 + 1;
        assert_eq!((*ch, *fs, *first), (2, 250, k * 10));
        assert_eq!(
            s,
            &(0..10)
                .map(|s| (k * 100 + s) as i32 - 300)
                .collect::<Vec<_>>()
        );
    }
    // JSON payloads are the producer's text.
    assert_eq!(seen.payloads[0].first(), Some(&b'{'));
    // The corrupted frame never reached the callback: it is a queued problem event.
    let e = common::wait_for(Duration::from_secs(10), || {
        // SAFETY: as above.
        let rc = unsafe { vitalring_read_frames(reader, Some(on_frame), ctx, 4, 100, &mut n) };
        assert_eq!(n, 0);
        let _ = rc;
        // SAFETY: as above.
        (unsafe { vitalring_pop_event(reader, ev.as_mut_ptr()) } == VITALRING_OK)
            // SAFETY: written when OK.
            .then(|| unsafe { ev.assume_init() })
    });
    assert_eq!(
        (e.kind, e.problem.kind, e.problem.first),
        (VITALRING_EVENT_PROBLEM, VITALRING_PROBLEM_CRC, bad)
    );
    assert_eq!(seen.frames.len(), 10);
    let mut st = MaybeUninit::<vitalring_stats>::uninit();
    // SAFETY: a live handle and writable stats.
    let got = unsafe { vitalring_get_stats(reader, st.as_mut_ptr()) };
    assert_eq!(got, VITALRING_OK);
    // SAFETY: written.
    let s = unsafe { st.assume_init() };
    assert_eq!((s.delivered, s.heartbeats, s.rejected), (11, 1, 1));
    // A null callback is refused.
    // SAFETY: as above.
    let got = unsafe { vitalring_read_frames(reader, None, ctx, 4, 0, &mut n) };
    assert_eq!(got, VITALRING_E_NULL);
    // SAFETY: the handle from vitalring_connect, closed once.
    unsafe { vitalring_close(reader) };
    let _ = std::fs::remove_dir_all(&dir);
}
