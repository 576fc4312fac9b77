//! The data-source conformance suite (`vitalring_tests::source_conformance`) against every
//! `SensorDataSource`: the mock, the shared-memory source reading a real producer (memfd, Unix
//! socket handshake, a reader thread), the in-process simulator and a recording replay.

#[path = "../src/linux_pattern.rs"]
mod linux_pattern;

use vitalring_core::payload::Record;
use vitalring_core::source::{SensorDataSource, SensorEvent};
use vitalring_core::{Encoding, Geometry};
use vitalring_tests::source_conformance::{FaultHarness, SourceHarness, StopHarness};

/// The geometry every harness uses: 64 slots, so a burst of a few hundred frames laps.
fn geometry() -> Geometry {
    Geometry::new(512, 64).expect("geometry")
}

mod mock {
    use super::*;
    use std::time::Duration;
    use vitalring_core::layout::FrameType;
    use vitalring_mock::source::{MockConfig, MockSensorDataSource, ScriptStep};

    pub struct Mock {
        src: MockSensorDataSource,
        next: u64,
        queued: u64,
    }

    impl Mock {
        pub fn new() -> Self {
            let config = MockConfig {
                geometry: geometry(),
                ..MockConfig::default()
            };
            Self {
                src: MockSensorDataSource::new(config, []).expect("mock"),
                next: 0,
                queued: 0,
            }
        }
    }

    impl SourceHarness for Mock {
        type Source = MockSensorDataSource;
        fn name(&self) -> &'static str {
            "mock"
        }
        fn source(&mut self) -> &mut MockSensorDataSource {
            &mut self.src
        }
        fn frame_count(&self) -> u64 {
            64
        }
        fn publish(&mut self, n: u64) {
            let steps: Vec<ScriptStep> = (0..n)
                .map(|_| {
                    let r = linux_pattern::record(self.next);
                    self.next += 1;
                    match r {
                        Record::Vitals(v) => ScriptStep::Vitals(v, Encoding::Json),
                        Record::Waveform(w) => ScriptStep::Waveform(w, Encoding::Json),
                        Record::Heartbeat => ScriptStep::HeartbeatFrame,
                    }
                })
                .collect();
            self.queued += n;
            // Time passes while a producer writes (1 µs a frame): the session refuses a
            // `writeIndex` that moved more than a ring plus one frame per ns of its time.
            self.src
                .push_steps([ScriptStep::Advance(Duration::from_micros(n))]);
            self.src.push_steps(steps);
        }
        fn published(&self) -> u64 {
            // Steps run at the next poll: count them as published already, so a drain waits
            // for them.
            self.src.published().max(self.queued)
        }
        fn poll(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
            self.src.poll_events(sink)
        }
        fn deterministic(&self) -> bool {
            true
        }
    }

    impl FaultHarness for Mock {
        fn publish_malformed(&mut self) -> u64 {
            let index = self.published();
            self.queued += 1;
            self.src.push_steps([ScriptStep::Raw {
                frame_type: FrameType::Vitals,
                encoding: Encoding::Json,
                payload: vitalring_tests::source_conformance::MALFORMED.to_vec(),
            }]);
            index
        }
    }

    impl StopHarness for Mock {
        fn stop_producer(&mut self) {
            self.src.push_steps([ScriptStep::Stop]);
        }
    }

    vitalring_tests::source_conformance_tests!(Mock::new());
    vitalring_tests::source_fault_tests!(Mock::new());
    vitalring_tests::source_stop_tests!(Mock::new());
}

mod shared_memory {
    use super::*;
    use vitalring_core::frame::FrameMeta;
    use vitalring_core::layout::FrameType;
    use vitalring_core::time::UnixNs;
    use vitalring_linux::clock::wall_ns;
    use vitalring_linux::{
        ProducerConfig, SharedMemoryProducer, SharedMemorySensorDataSource, SourceConfig,
    };

    /// A real producer (sealed memfd, control server on a Unix socket) in this process and
    /// the shared-memory source attached to it through the real handshake, reading on its
    /// own thread.
    pub struct Shm {
        src: SharedMemorySensorDataSource,
        producer: SharedMemoryProducer,
        next: u64,
        _dir: tempfile::TempDir,
    }

    impl Shm {
        pub fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let sock = dir.path().join("conformance.sock");
            let mut pc = ProducerConfig::new("conformance");
            pc.socket_path = Some(sock.clone());
            pc.geometry = geometry();
            let producer = SharedMemoryProducer::create(pc).expect("producer");
            let mut cfg = SourceConfig::new(&sock, "conformance");
            // Room for every event of the largest burst: the suite's consumer never falls
            // behind, so the events must say what the counters say.
            cfg.event_capacity = 1 << 16;
            Self {
                src: SharedMemorySensorDataSource::new(cfg),
                producer,
                next: 0,
                _dir: dir,
            }
        }
    }

    impl SourceHarness for Shm {
        type Source = SharedMemorySensorDataSource;
        fn name(&self) -> &'static str {
            "shared-memory"
        }
        fn source(&mut self) -> &mut SharedMemorySensorDataSource {
            &mut self.src
        }
        fn frame_count(&self) -> u64 {
            64
        }
        fn publish(&mut self, n: u64) {
            for _ in 0..n {
                let r = linux_pattern::record(self.next);
                self.next += 1;
                self.producer
                    .publish_record(&r, Encoding::Json, wall_ns())
                    .expect("publish");
            }
        }
        fn published(&self) -> u64 {
            self.producer.published()
        }
        fn poll(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
            self.producer.heartbeat_if_due();
            self.src.poll_events(sink)
        }
        fn deterministic(&self) -> bool {
            false
        }
    }

    impl FaultHarness for Shm {
        fn publish_malformed(&mut self) -> u64 {
            self.producer
                .publish_raw(
                    FrameMeta {
                        frame_type: FrameType::Vitals,
                        encoding: Encoding::Json,
                        timestamp: UnixNs(wall_ns()),
                    },
                    vitalring_tests::source_conformance::MALFORMED,
                )
                .expect("publish")
        }
    }

    impl StopHarness for Shm {
        fn stop_producer(&mut self) {
            self.producer.mark_stopped();
        }
    }

    vitalring_tests::source_conformance_tests!(Shm::new());
    vitalring_tests::source_fault_tests!(Shm::new());
    vitalring_tests::source_stop_tests!(Shm::new());
}

mod simulator {
    use super::*;
    use std::time::Duration;
    use vitalring_sim::source::SimulatorDataSource;
    use vitalring_sim::Scenario;

    /// The simulator in this process, on simulated time: `publish(n)` moves it on by about
    /// `n` frames (135 a second: 60 vitals and 3 × 25 waveform chunks).
    pub struct Sim {
        src: SimulatorDataSource,
        elapsed: Duration,
    }

    impl Sim {
        pub fn new() -> Self {
            Self {
                src: SimulatorDataSource::new(Scenario::Normal, 7, Encoding::Json, geometry())
                    .expect("simulator"),
                elapsed: Duration::ZERO,
            }
        }
    }

    impl SourceHarness for Sim {
        type Source = SimulatorDataSource;
        fn name(&self) -> &'static str {
            "simulator"
        }
        fn source(&mut self) -> &mut SimulatorDataSource {
            &mut self.src
        }
        fn frame_count(&self) -> u64 {
            64
        }
        fn publish(&mut self, n: u64) {
            self.elapsed += Duration::from_nanos(n * 1_000_000_000 / 135);
        }
        fn published(&self) -> u64 {
            self.src.published()
        }
        fn poll(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
            if self.src.is_active() {
                self.src.poll_at(self.elapsed, sink)
            } else {
                self.src.poll_events(sink)
            }
        }
        fn deterministic(&self) -> bool {
            true
        }
    }

    vitalring_tests::source_conformance_tests!(Sim::new());
}

mod replay {
    use super::*;
    use std::time::Duration;
    use vitalring_core::vitals::Channel;
    use vitalring_recorder::h5::Tables;
    use vitalring_recorder::layout::FILL_U16;
    use vitalring_recorder::{Recording, ReplayDataSource};

    /// Frames in the recording (4 ms apart: 80 s).
    const FRAMES: u64 = 20_000;
    const STEP_NS: u64 = 4_000_000;

    /// A recording of the test pattern, as `vitalring record` stores it: vitals rows and
    /// waveform chunk rows with their samples, acquisition times a day in the past.
    fn recording() -> Recording {
        let mut t = Tables::default();
        let base = 1_700_000_000_000_000_000u64;
        for i in 0..FRAMES {
            let time = base + i * STEP_NS;
            match linux_pattern::record(i) {
                Record::Vitals(v) => {
                    let r = &mut t.vitals;
                    r.time_ns.push(time);
                    r.index.push(i);
                    r.epoch.push(5);
                    r.encoding.push(Encoding::Json as u8);
                    r.hr_bpm.push(v.hr_bpm);
                    r.spo2_pct.push(v.spo2_pct);
                    r.rr_rpm.push(v.rr_rpm);
                    r.nibp_systolic_mmhg
                        .push(v.nibp.map_or(FILL_U16, |n| n.systolic_mmhg));
                    r.nibp_diastolic_mmhg
                        .push(v.nibp.map_or(FILL_U16, |n| n.diastolic_mmhg));
                    r.nibp_mean_mmhg
                        .push(v.nibp.map_or(FILL_U16, |n| n.mean_mmhg));
                    r.temp_c.push(v.temp_c.unwrap_or(f32::NAN));
                    r.pulse_rate_bpm.push(v.pulse_rate_bpm.unwrap_or(FILL_U16));
                }
                Record::Waveform(w) => {
                    let k = Channel::ALL.iter().position(|&c| c == w.channel).unwrap();
                    let wave = &mut t.waves[k];
                    let c = &mut wave.chunks;
                    c.time_ns.push(time);
                    c.index.push(i);
                    c.epoch.push(5);
                    c.first_sample_index.push(w.first);
                    c.offset.push(wave.samples.len() as u64);
                    c.count.push(w.samples.len() as u16);
                    c.sample_rate_hz.push(w.fs_hz);
                    c.encoding.push(Encoding::Json as u8);
                    wave.samples.extend(w.samples.iter());
                }
                Record::Heartbeat => {}
            }
        }
        t.epochs.epoch.push(5);
        t.epochs.attached_ns.push(base);
        t.epochs.start_index.push(0);
        t.epochs.created_unix_ns.push(base);
        t.epochs.frame_size.push(512);
        t.epochs.frame_count.push(64);
        Recording {
            tables: t,
            channel: "conformance".into(),
            first_epoch: 5,
            frame_size: 512,
            frame_count: 64,
            closed_cleanly: true,
        }
    }

    /// The recording replayed on simulated time at its recorded pace: `publish(n)` moves on
    /// by `n` frames' worth.
    pub struct Replay {
        src: ReplayDataSource,
        elapsed: Duration,
        to_end: bool,
    }

    impl Replay {
        pub fn new() -> Self {
            Self {
                src: ReplayDataSource::new(recording(), 1.0).expect("replay"),
                elapsed: Duration::ZERO,
                to_end: false,
            }
        }
    }

    impl SourceHarness for Replay {
        type Source = ReplayDataSource;
        fn name(&self) -> &'static str {
            "replay"
        }
        fn source(&mut self) -> &mut ReplayDataSource {
            &mut self.src
        }
        fn frame_count(&self) -> u64 {
            64
        }
        fn publish(&mut self, n: u64) {
            self.elapsed += Duration::from_nanos(n * STEP_NS);
        }
        fn published(&self) -> u64 {
            self.src.published()
        }
        fn poll(&mut self, sink: &mut dyn FnMut(SensorEvent)) -> usize {
            if self.to_end && !self.src.finished() {
                self.publish(32);
            }
            if self.src.is_active() {
                self.src.poll_at(self.elapsed, sink)
            } else {
                self.src.poll_events(sink)
            }
        }
        fn deterministic(&self) -> bool {
            true
        }
    }

    impl StopHarness for Replay {
        /// The recording's end: every frame published (half a ring per poll from now on, as
        /// at the recorded pace), then the ring marked "producer stopped".
        fn stop_producer(&mut self) {
            self.to_end = true;
        }
    }

    vitalring_tests::source_conformance_tests!(Replay::new());
    vitalring_tests::source_stop_tests!(Replay::new());

    /// The replay delivers the recording's records, in order, with its own timestamps spaced
    /// as recorded.
    #[test]
    fn replay_delivers_the_recorded_records_at_their_spacing() {
        let mut h = Replay::new();
        h.src.start().unwrap();
        let mut events = Vec::new();
        h.publish(40);
        vitalring_tests::source_conformance::drain(&mut h, &mut events);
        let data: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                SensorEvent::Vitals {
                    timestamp,
                    index,
                    record,
                } => Some((timestamp.0, *index, Record::Vitals(*record))),
                SensorEvent::Waveform {
                    timestamp,
                    index,
                    chunk,
                } => Some((timestamp.0, *index, Record::Waveform(chunk.clone()))),
                _ => None,
            })
            .collect();
        assert_eq!(data.len(), 41, "frames at 0..=160 ms");
        for (k, (t, index, record)) in data.iter().enumerate() {
            assert_eq!(*index, k as u64);
            assert_eq!(*record, linux_pattern::record(k as u64));
            assert_eq!(t - data[0].0, k as u64 * STEP_NS);
        }
    }

    /// The same recording through an HDF5 file, as `vitalring record` writes it: the replay
    /// source opened from the file delivers the recorded records.
    #[test]
    fn replay_source_opens_a_recording_file() {
        use vitalring_recorder::h5::{FileFacts, H5Recording, Totals};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.h5");
        let rec = recording();
        let facts = FileFacts {
            channel: rec.channel.clone(),
            socket: "conformance.sock".into(),
            first_epoch: rec.first_epoch,
            frame_size: rec.frame_size,
            frame_count: rec.frame_count,
            started_unix_ns: 1_700_000_000_000_000_000,
        };
        let mut file = H5Recording::create(&path, &facts, &[None, None, None]).unwrap();
        file.append(&rec.tables).unwrap();
        file.close(&Totals::default()).unwrap();
        let mut src = ReplayDataSource::open(&path, 2.0).unwrap();
        assert_eq!(src.frames() as u64, FRAMES);
        src.start().unwrap();
        let mut got = Vec::new();
        // 50 ms at speed 2: the frames recorded in the first 100 ms (0..=25).
        src.poll_at(Duration::from_millis(50), &mut |e| got.push(e));
        let data: Vec<_> = got
            .iter()
            .filter_map(|e| match e {
                SensorEvent::Vitals { index, record, .. } => {
                    Some((*index, Record::Vitals(*record)))
                }
                SensorEvent::Waveform { index, chunk, .. } => {
                    Some((*index, Record::Waveform(chunk.clone())))
                }
                _ => None,
            })
            .collect();
        assert_eq!(data.len(), 26);
        for (k, (index, record)) in data.iter().enumerate() {
            assert_eq!(
                (*index, record),
                (k as u64, &linux_pattern::record(k as u64))
            );
        }
        assert!(ReplayDataSource::open(&dir.path().join("missing.h5"), 1.0).is_err());
        assert!(matches!(
            ReplayDataSource::new(recording(), 0.0),
            Err(vitalring_recorder::ReplaySourceError::Speed)
        ));
    }
}
