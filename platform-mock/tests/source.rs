//! `MockSensorDataSource` produces the events the Linux source does, deterministically.

use std::time::Duration;

use vitalring_core::layout::{Encoding, FrameType};
use vitalring_core::source::{ConnectionState, SensorDataSource, SensorError, SensorEvent};
use vitalring_core::time::Nanos;
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk};
use vitalring_mock::{Fault, MockConfig, MockSensorDataSource, ScriptStep};

fn vitals(hr: u16) -> VitalsRecord {
    VitalsRecord {
        hr_bpm: hr,
        spo2_pct: 97,
        rr_rpm: 16,
        nibp: Some(Nibp {
            systolic_mmhg: 118,
            diastolic_mmhg: 76,
            mean_mmhg: 90,
        }),
        temp_c: Some(36.75),
        pulse_rate_bpm: Some(hr),
    }
}

fn chunk() -> WaveformChunk {
    WaveformChunk {
        channel: Channel::EcgII,
        fs_hz: 250,
        first: 500,
        samples: heapless::Vec::from_slice(&[12, -40, 900, 1100, -3]).unwrap(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn kinds(events: &[SensorEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            SensorEvent::Vitals { record, .. } => format!("vitals {}", record.hr_bpm),
            SensorEvent::Waveform { chunk, .. } => format!("wave {}", chunk.first),
            SensorEvent::Connection { state, epoch } => {
                format!("conn {} {}", state.name(), epoch.unwrap_or(0))
            }
            SensorEvent::Error(e) => format!("err {} x{}", e.kind().name(), e.count()),
        })
        .collect()
}

fn script() -> Vec<ScriptStep> {
    vec![
        ScriptStep::Vitals(vitals(72), Encoding::Json),
        ScriptStep::Waveform(chunk(), Encoding::Binary),
        ScriptStep::Poll,
        ScriptStep::Vitals(vitals(80), Encoding::Binary),
        ScriptStep::Fault(Fault::FlipBit {
            back: 0,
            offset: 30,
            bit: 2,
        }),
        ScriptStep::Raw {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            payload: br#"{"hr":420,"spo2":97,"rr":16}"#.to_vec(),
        },
        ScriptStep::Raw {
            frame_type: FrameType::Vitals,
            encoding: Encoding::Json,
            payload: br#"{"hr":72,"spo2":97"#.to_vec(),
        },
        ScriptStep::Poll,
        // A live but idle writer: never stalls.
        ScriptStep::Idle {
            total: ms(400),
            every: ms(50),
        },
        ScriptStep::Poll,
        // A dead writer: 250 ms is not yet a stall, 251 ms is.
        ScriptStep::Advance(ms(250)),
        ScriptStep::Poll,
        ScriptStep::Advance(ms(1)),
        ScriptStep::Poll,
        ScriptStep::Advance(ms(1)),
        ScriptStep::Vitals(vitals(90), Encoding::Json),
        ScriptStep::Poll,
        ScriptStep::Fault(Fault::Lap { frames: 100 }),
        ScriptStep::Poll,
        ScriptStep::Fault(Fault::RewriteGeometry {
            frame_size: Some(1024),
            frame_count: None,
            fix_crc: true,
        }),
        // The session re-checks the header every 100 ms of reader time.
        ScriptStep::Advance(ms(100)),
        ScriptStep::Poll,
        ScriptStep::Poll,
    ]
}

#[test]
fn a_script_yields_the_linux_source_events_in_order() {
    let mut src = MockSensorDataSource::new(MockConfig::default(), script()).unwrap();
    assert!(!src.is_active());
    assert_eq!(src.poll_events(&mut |_| panic!("inactive")), 0);
    src.start().unwrap();
    src.start().unwrap(); // no-op while active
    assert!(src.is_active());
    let info = src.info();
    assert_eq!(
        (
            info.kind,
            info.channel.as_str(),
            info.epoch,
            info.frame_size
        ),
        ("mock", "mock", Some(1), Some(512))
    );
    let events = src.run_to_end();
    assert!(src.script_errors().is_empty(), "{:?}", src.script_errors());
    assert_eq!(
        kinds(&events),
        [
            "conn connected 1",
            "vitals 72",
            "wave 500",
            "err crc x1",
            "err invalid_value x1",
            "err malformed_payload x1",
            "err stalled x1",
            "conn stalled 1",
            "conn connected 1",
            "vitals 90",
            "err dropped x99",
            // The header check finds the rewrite: a fault, then a re-handshake that the
            // producer answers with a ring that does not validate (once per wake-up).
            "err header x1",
            "conn reconnecting 1",
            "err handshake_failed x1",
            "err handshake_failed x1",
        ]
    );
    let stall = events
        .iter()
        .find_map(|e| match e {
            SensorEvent::Error(SensorError::Stalled { heartbeat_age }) => Some(*heartbeat_age),
            _ => None,
        })
        .unwrap();
    assert_eq!(stall, Nanos(251_000_000));
    let stats = src.stats().unwrap();
    let c = stats.current.counters;
    assert_eq!(
        c.accounted(),
        stats.current.position - stats.current.start_index
    );
    assert_eq!(
        (c.delivered, c.dropped_lapped, c.rejected.total()),
        (4, 99, 3),
        "vitals 72, wave 500, vitals 90 and the last lap frame delivered; crc, range, \
         malformed rejected"
    );
    assert_eq!(stats.current.heartbeats, 1, "the last lap frame");
    assert_eq!(stats.faults, 1);
    src.stop();
    assert!(!src.is_active());
}

#[test]
fn the_same_script_gives_the_same_events() {
    let run = || {
        let mut src = MockSensorDataSource::new(MockConfig::default(), script()).unwrap();
        src.start().unwrap();
        src.run_to_end()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_restarted_producer_is_found_again_after_the_stall() {
    let steps = vec![
        ScriptStep::Vitals(vitals(60), Encoding::Binary),
        ScriptStep::Poll,
        ScriptStep::Restart { epoch: 2 },
        ScriptStep::Vitals(vitals(61), Encoding::Binary),
        ScriptStep::Advance(ms(100)),
        ScriptStep::Poll,
        ScriptStep::Advance(ms(200)),
        ScriptStep::Poll,
        ScriptStep::Vitals(vitals(62), Encoding::Json),
        ScriptStep::Poll,
    ];
    let mut src = MockSensorDataSource::new(MockConfig::default(), steps).unwrap();
    src.start().unwrap();
    let events = src.run_to_end();
    assert_eq!(
        kinds(&events),
        [
            "conn connected 1",
            "vitals 60",
            "err stalled x1",
            "conn stalled 1",
            "conn reconnecting 2",
            "conn connected 2",
            "vitals 61",
            "vitals 62",
        ]
    );
    assert_eq!(src.info().epoch, Some(2));
    let stats = src.stats().unwrap();
    let previous = stats.previous.unwrap();
    assert_eq!((previous.epoch, previous.counters.delivered), (1, 1));
    assert_eq!(stats.current.counters.delivered, 2);
    assert_eq!(stats.total.delivered, 3, "totals carry over the restart");
    assert_eq!(stats.epochs, 2);
    let _ = ConnectionState::Connected;
}

#[test]
fn torn_writes_are_never_delivered() {
    let steps = vec![
        ScriptStep::Fault(Fault::TornWrite {
            advance_write_index: true,
        }),
        ScriptStep::Fault(Fault::TornWrite {
            advance_write_index: false,
        }),
        ScriptStep::Poll,
        ScriptStep::Vitals(vitals(70), Encoding::Json),
        ScriptStep::Poll,
    ];
    let mut src = MockSensorDataSource::new(MockConfig::default(), steps).unwrap();
    src.start().unwrap();
    let events = src.run_to_end();
    assert_eq!(
        kinds(&events),
        ["conn connected 1", "err dropped x1", "vitals 70"]
    );
}

/// A writer more than a ring ahead of what the reader's time allows is a ring fault. With a
/// clock that does not move (the manual clock between script steps), re-attaching to the same
/// producer cannot change that verdict: the reader re-attaches once, then waits for its clock
/// to move instead of re-attaching at every poll. Once time moves it re-attaches and reads on,
/// and the frames it could not read are counted, not lost silently.
#[test]
fn a_write_index_a_ring_ahead_on_a_frozen_clock_is_not_reattached_in_a_loop() {
    let frames = u64::from(MockConfig::default().geometry.frame_count());
    let steps = vec![
        ScriptStep::Vitals(vitals(60), Encoding::Json),
        ScriptStep::Poll,
        // Three rings' worth of frames in no reader time at all.
        ScriptStep::Fault(Fault::Lap { frames: 3 * frames }),
        ScriptStep::Poll,
    ];
    let mut src = MockSensorDataSource::new(MockConfig::default(), steps).unwrap();
    src.start().unwrap();
    let mut events = src.run_to_end();
    // The reader's thread keeps waking up; the clock still does not move.
    // Under Miri every wake-up costs milliseconds; a hundred still tell a loop from a back-off.
    let wakeups = if cfg!(miri) { 100 } else { 1000 };
    for _ in 0..wakeups {
        src.poll_events(&mut |e| events.push(e));
    }
    let stats = src.stats().unwrap();
    assert!(
        stats.reattaches <= 1,
        "{} re-attaches (and {} faults) without the clock moving",
        stats.reattaches,
        stats.faults
    );
    assert!(stats.faults <= 2, "{} faults", stats.faults);
    assert_eq!(stats.state, ConnectionState::Reconnecting);
    assert!(
        events.len() < 20,
        "{} events: {:?}",
        events.len(),
        kinds(&events[..events.len().min(12)])
    );
    assert_eq!(
        kinds(&events[..3]),
        ["conn connected 1", "vitals 60", "err header x1"]
    );

    // Time moves: the next wake-up re-attaches and the reader reads on.
    src.push_steps([
        ScriptStep::Advance(ms(2)),
        ScriptStep::Vitals(vitals(61), Encoding::Json),
        ScriptStep::Poll,
    ]);
    let events = src.run_to_end();
    let kinds = kinds(&events);
    assert!(kinds.contains(&"conn connected 1".to_string()), "{kinds:?}");
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("vitals 61"),
        "{kinds:?}"
    );
    let stats = src.stats().unwrap();
    assert_eq!(stats.state, ConnectionState::Connected);
    let c = stats.current;
    assert_eq!(
        c.position - c.start_index,
        c.counters.accounted(),
        "every index accounted for: {c:?}"
    );
    assert_eq!(c.position, 3 * frames + 2, "read up to the writer: {c:?}");
    assert!(
        c.counters.dropped() > 0,
        "the lapped frames are counted as dropped: {c:?}"
    );
}
