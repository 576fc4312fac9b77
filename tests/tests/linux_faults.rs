//! Faults seen through the real handshake with an in-process producer: corrupted frames,
//! a tampered header, a hung writer whose control thread still answers, and recovery.

mod linux_common;
#[path = "../src/linux_pattern.rs"]
mod linux_pattern;

use linux_common::{figures, stats, wait_for, wait_until};
use vitalring_core::frame::RejectReason;
use vitalring_core::layout::{Encoding, Geometry};
use vitalring_core::slot::Start;
use vitalring_core::source::{
    ConnectionState, SensorDataSource, SensorError, SensorErrorKind, SensorEvent,
};
use vitalring_linux::{
    ProducerConfig, SharedMemoryProducer, SharedMemorySensorDataSource, SourceConfig,
};

fn producer(dir: &std::path::Path) -> SharedMemoryProducer {
    let mut cfg = ProducerConfig::new("faults");
    cfg.socket_path = Some(dir.join("f.sock"));
    cfg.geometry = Geometry::new(256, 64).unwrap();
    cfg.log = Some(std::sync::Arc::new(|_| {}));
    SharedMemoryProducer::create(cfg).unwrap()
}

fn source(dir: &std::path::Path, start: Start) -> SharedMemorySensorDataSource {
    let mut cfg = SourceConfig::new(dir.join("f.sock"), "faults");
    cfg.start = start;
    let mut source = SharedMemorySensorDataSource::new(cfg);
    source.start().unwrap();
    source
}

fn setup(dir: &std::path::Path) -> (SharedMemoryProducer, SharedMemorySensorDataSource) {
    let p = producer(dir);
    let s = source(dir, Start::Next);
    (p, s)
}

fn publish(p: &mut SharedMemoryProducer, i: u64) -> u64 {
    p.publish_record(
        &linux_pattern::record(i),
        Encoding::Json,
        vitalring_linux::clock::wall_ns(),
    )
    .unwrap()
}

#[test]
fn corrupted_frames_and_a_tampered_header_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(dir.path());
    // Frames 0..3 are published, then frame 1 is corrupted (the simulator's `corrupt`
    // scenario hook); a reader that starts at the oldest frame then reads all three.
    for i in 0..3 {
        publish(&mut p, i);
    }
    p.corrupt_frame(1, 8 * 30 + 3).unwrap();
    assert!(p.corrupt_frame(1, 256 * 8).is_err(), "bit outside the slot");
    let source = source(dir.path(), Start::Oldest);

    let mut seen = Vec::new();
    wait_for(source.receiver(), |ev| {
        match ev {
            SensorEvent::Vitals { index, .. } | SensorEvent::Waveform { index, .. } => {
                seen.push((*index, None))
            }
            SensorEvent::Error(e @ SensorError::Rejected { first, count, .. }) => {
                assert_eq!(*count, 1, "one rejected frame");
                seen.push((*first, Some(*e)));
            }
            SensorEvent::Error(e) => panic!("unexpected error event {e:?}"),
            SensorEvent::Connection { .. } => {}
        }
        (seen.len() == 3).then_some(())
    });
    assert_eq!((seen[0].0, seen[1].0, seen[2].0), (0, 1, 2));
    assert!(seen[0].1.is_none() && seen[2].1.is_none());
    let e = seen[1].1.expect("frame 1 rejected");
    assert_eq!(e.kind(), SensorErrorKind::Crc);
    assert!(matches!(
        e,
        SensorError::Rejected {
            reason: RejectReason::Crc { .. },
            ..
        }
    ));
    wait_until("counters", || {
        figures(&source).is_some_and(|s| s.moved_past == 3)
    });
    let s = stats(&source);
    assert_eq!((s.delivered, s.dropped, s.rejected), (2, 0, 1));

    // The header's immutable part is rewritten under the reader: one `header` error.
    p.region().poke_word(56, 0xDEAD).unwrap();
    wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Error(e) if e.kind() == SensorErrorKind::Header => Some(()),
        _ => None,
    });
}

#[test]
fn a_hung_writer_stays_stalled_and_recovers_when_it_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, source) = setup(dir.path());
    let epoch = p.epoch();
    publish(&mut p, 0);
    wait_for(source.receiver(), |ev| {
        matches!(ev, SensorEvent::Vitals { .. }).then_some(())
    });

    // The writer stops (no heartbeat) but the control server keeps answering.
    let age = wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Error(SensorError::Stalled { heartbeat_age }) => Some(heartbeat_age.0),
        _ => None,
    });
    assert!(age < 300_000_000, "{age}");
    // The reader retries the handshake, finds the same epoch, and stays stalled.
    wait_until("two reattach attempts", || p.server_stats().served >= 3);
    let s = stats(&source);
    assert_eq!(s.state, ConnectionState::Stalled);
    assert_eq!((s.reconnects, s.epoch), (0, Some(epoch)));

    // The writer resumes: back to Connected, same epoch, data flows.
    publish(&mut p, 1);
    wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Connection {
            state: ConnectionState::Connected,
            epoch: e,
        } => {
            assert_eq!(*e, Some(epoch));
            Some(())
        }
        SensorEvent::Connection {
            state: ConnectionState::Reconnecting,
            ..
        } => panic!("same producer: no reconnect"),
        _ => None,
    });
    wait_for(source.receiver(), |ev| match ev {
        SensorEvent::Waveform { index: 1, .. } => Some(()),
        _ => None,
    });
    assert_eq!(stats(&source).state, ConnectionState::Connected);
}
