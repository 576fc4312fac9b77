//! Cross-process data path: a `test-producer` child writes, a `SharedMemorySensorDataSource`
//! in this process reads. Also kill -9 (stall) and restart (reattach).

mod linux_common;
#[path = "../src/linux_pattern.rs"]
mod linux_pattern;

use linux_common::{figures, stats, wait_for, wait_until, ProducerProc};
use vitalring_core::payload::Record;
use vitalring_core::slot::Start;
use vitalring_core::source::{
    ConnectionState, SensorDataSource, SensorError, SensorErrorKind, SensorEvent,
};
use vitalring_linux::{SharedMemorySensorDataSource, SourceConfig};

const STALL_LIMIT_NS: u64 = 300_000_000;

fn check_stream(encoding: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("p.sock");
    let frames = 3000u64;
    let mut producer = ProducerProc::spawn(&[
        "--socket",
        sock.to_str().unwrap(),
        "--channel",
        "vitals",
        "--frames",
        &frames.to_string(),
        "--encoding",
        encoding,
        "--frame-count",
        "4096",
        "--wait-readers",
        "1",
        "--exit",
        "linger",
    ]);
    let mut cfg = SourceConfig::new(&sock, "vitals");
    cfg.start = Start::Oldest;
    cfg.event_capacity = 8192;
    let mut source = SharedMemorySensorDataSource::new(cfg);
    source.start().expect("start");
    assert!(source.is_active());
    assert_eq!(source.info().epoch, Some(producer.epoch));
    assert_eq!(source.info().frame_count, Some(4096));

    let mut next = 0u64;
    let mut saw_connected = false;
    // Frame 0's timestamp fixes the stream's base; every frame must then carry exactly
    // base + index * 4 ms, and the base must be the producer's recent past.
    let mut base: Option<u64> = None;
    let mut check_ts = |ts: u64, i: u64| {
        let b = *base.get_or_insert_with(|| {
            let b = linux_pattern::base_of(ts, i);
            let now = vitalring_linux::clock::wall_ns();
            assert!(
                b <= now && now - b < 600_000_000_000,
                "base {b} vs now {now}"
            );
            b
        });
        assert_eq!(ts, linux_pattern::timestamp_ns(b, i));
    };
    wait_for(source.receiver(), |ev| {
        match ev {
            SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch,
            } => {
                assert_eq!(*epoch, Some(producer.epoch));
                saw_connected = true;
            }
            SensorEvent::Connection { .. } => {}
            SensorEvent::Vitals {
                timestamp,
                index,
                record,
            } => {
                assert_eq!(*index, next, "in order");
                assert_eq!(Record::Vitals(*record), linux_pattern::record(next));
                check_ts(timestamp.0, next);
                next += 1;
            }
            SensorEvent::Waveform {
                timestamp,
                index,
                chunk,
            } => {
                assert_eq!(*index, next, "in order");
                assert_eq!(Record::Waveform(chunk.clone()), linux_pattern::record(next));
                check_ts(timestamp.0, next);
                next += 1;
            }
            SensorEvent::Error(e) => panic!("unexpected error event {e:?}"),
        }
        (next == frames).then_some(())
    });
    assert!(saw_connected);
    producer.wait_done();
    wait_until("counters to settle", || {
        figures(&source).is_some_and(|s| s.moved_past == frames)
    });
    let s = stats(&source);
    assert_eq!(s.delivered, frames);
    assert_eq!((s.dropped, s.rejected, s.events_lost), (0, 0, 0));
    assert_eq!(s.delivered + s.dropped + s.rejected, s.moved_past);
    assert_eq!(s.state, ConnectionState::Connected);
    source.stop();
    assert!(!source.is_active());
    let mut last = None;
    source.poll_events(&mut |ev| last = Some(ev));
    assert_eq!(
        last,
        Some(SensorEvent::Connection {
            state: ConnectionState::Disconnected,
            epoch: None
        })
    );
}

#[test]
fn json_frames_arrive_in_order_with_the_values_sent() {
    check_stream("json");
}

#[test]
fn binary_frames_arrive_in_order_with_the_values_sent() {
    check_stream("binary");
}

#[test]
fn kill9_is_a_stall_and_a_restarted_producer_is_reattached() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("k.sock");
    let s = sock.to_str().unwrap();
    let args = |frames: &'static str| {
        vec![
            "--socket",
            s,
            "--channel",
            "ecg",
            "--frames",
            frames,
            "--rate",
            "500",
            "--exit",
            "linger",
        ]
    };
    let mut first = ProducerProc::spawn(&args("100000"));
    let mut source = SharedMemorySensorDataSource::new(SourceConfig::new(&sock, "ecg"));
    source.start().expect("start");

    // Data flows.
    let mut data = 0;
    wait_for(source.receiver(), |ev| {
        if matches!(
            ev,
            SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. }
        ) {
            data += 1;
        }
        (data >= 50).then_some(())
    });

    first.kill9();
    let age = wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Error(SensorError::Stalled { heartbeat_age }) => Some(heartbeat_age.0),
        SensorEvent::Error(SensorError::Dropped { .. }) => None,
        SensorEvent::Error(e) => panic!("unexpected error {e:?}"),
        _ => None,
    });
    assert!(
        age > 250_000_000,
        "a stall is declared after the timeout, not before"
    );
    assert!(
        age < STALL_LIMIT_NS,
        "stall reported with heartbeat age {age} ns"
    );
    wait_for(source.receiver(), |ev| {
        matches!(
            ev,
            SensorEvent::Connection {
                state: ConnectionState::Stalled,
                ..
            }
        )
        .then_some(())
    });
    assert_eq!(stats(&source).state, ConnectionState::Stalled);
    assert!(sock.exists(), "kill -9 leaves a stale socket file");

    // A new producer on the same path: the stale socket is replaced, the reader reattaches.
    let second = ProducerProc::spawn(&args("100000"));
    assert_ne!(second.epoch, first.epoch);
    let mut reconnecting = false;
    wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Connection {
            state: ConnectionState::Reconnecting,
            epoch,
        } => {
            assert_eq!(*epoch, Some(second.epoch));
            reconnecting = true;
            None
        }
        SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch,
        } => {
            assert!(reconnecting, "Reconnecting comes before Connected");
            assert_eq!(*epoch, Some(second.epoch));
            Some(())
        }
        _ => None,
    });
    // Data from the new ring: indices restart from the new producer's first frame.
    let first_index = wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Vitals { index, .. } | SensorEvent::Waveform { index, .. } => Some(*index),
        _ => None,
    });
    assert!(
        first_index < 1000,
        "reads the new ring from its oldest frames"
    );
    let st = stats(&source);
    assert_eq!(st.epoch, Some(second.epoch));
    assert_eq!(st.reconnects, 1);
    assert_eq!(st.stalls, 1);
    assert_eq!(st.delivered + st.dropped + st.rejected, st.moved_past);
    source.stop();
}

#[test]
fn start_fails_cleanly_without_a_producer() {
    let dir = tempfile::tempdir().unwrap();
    let mut source =
        SharedMemorySensorDataSource::new(SourceConfig::new(dir.path().join("none.sock"), "x"));
    let err = source.start().unwrap_err();
    assert!(err.to_string().contains("no producer socket"), "{err}");
    assert!(!source.is_active());
    let mut events = Vec::new();
    source.poll_events(&mut |e| events.push(e));
    assert!(matches!(
        events.as_slice(),
        [
            SensorEvent::Connection {
                state: ConnectionState::Connecting,
                ..
            },
            SensorEvent::Error(e),
            SensorEvent::Connection {
                state: ConnectionState::Disconnected,
                ..
            },
        ] if e.kind() == SensorErrorKind::Handshake
    ));
}
