//! What the example checks, and the values it expects. No core API calls here: those are in
//! `ring_api`; this module decides what is right.
//!
//! With both halves (features `writer` and `reader`), one loop plays producer and consumer
//! over the same `static` ring:
//!
//! 1. records in order, each polled right after it is published: vitals and waveform chunks
//!    in binary (and in JSON with the `json` feature), then a heartbeat frame; each must come
//!    back equal, with its index, timestamp and encoding;
//! 2. a committed frame with one flipped payload bit: rejected for its CRC, and the next frame
//!    is delivered;
//! 3. a lap: `frameCount + 3` frames without polling; the reader reports exactly the lapped
//!    indices as dropped, then delivers the newest;
//! 4. the accounting: `delivered + dropped + rejected` equals the indices the reader moved
//!    past, which equals the frames published, and each count is the one expected; the
//!    header's heartbeat is the last time the writer was given.
//!
//! A build with only one half runs what it can alone (see [`run`]); those builds exist to
//! measure the footprint of each half.

#[cfg(any(feature = "writer", feature = "reader"))]
use crate::ring_api::Ring;
#[cfg(all(feature = "writer", feature = "reader"))]
use crate::ring_api::{Event, Tally};
#[cfg(any(feature = "writer", feature = "reader"))]
use vitalring_core::{
    payload::Record,
    vitals::{Channel, Nibp, VitalsRecord, WaveformChunk},
    Encoding,
};

/// The producer instance id written into the header.
#[cfg(any(feature = "writer", feature = "reader"))]
const EPOCH: u64 = 0x5EED_F00D;

/// The clock the core is given: Unix milliseconds, advanced by the scenario. A device would
/// read its RTC or a SysTick-derived time here; the core itself never reads a clock.
#[cfg(any(feature = "writer", feature = "reader"))]
struct Clock {
    now_ms: u64,
}

#[cfg(any(feature = "writer", feature = "reader"))]
impl Clock {
    fn new() -> Self {
        Self {
            now_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
        }
    }

    /// Advances one millisecond and returns (now in ms, now in ns) for one publish.
    fn tick(&mut self) -> (u64, u64) {
        self.now_ms += 1;
        (self.now_ms, self.now_ms * 1_000_000)
    }
}

/// Failures so far; each one is logged where it is found.
#[derive(Default)]
struct Check {
    failures: u32,
}

impl Check {
    fn that(&mut self, ok: bool, what: &str) {
        if ok {
            defmt::debug!("ok: {=str}", what);
        } else {
            self.failures += 1;
            defmt::error!("FAILED: {=str}", what);
        }
    }

    fn eq<T: PartialEq + defmt::Format>(&mut self, got: T, want: T, what: &str) {
        if got == want {
            defmt::debug!("ok: {=str}", what);
        } else {
            self.failures += 1;
            defmt::error!("FAILED: {=str}: got {}, want {}", what, got, want);
        }
    }
}

#[cfg(any(feature = "writer", feature = "reader"))]
fn vitals(hr_bpm: u16, full: bool) -> Record {
    Record::Vitals(VitalsRecord {
        hr_bpm,
        spo2_pct: 97,
        rr_rpm: 16,
        nibp: full.then_some(Nibp {
            systolic_mmhg: 121,
            diastolic_mmhg: 79,
            mean_mmhg: 93,
        }),
        temp_c: full.then_some(37.1),
        pulse_rate_bpm: full.then_some(hr_bpm),
    })
}

#[cfg(any(feature = "writer", feature = "reader"))]
fn chunk(channel: Channel, first: u64, base: i32) -> Record {
    let mut chunk = WaveformChunk {
        channel,
        fs_hz: 250,
        first,
        samples: Default::default(),
    };
    for i in 0..10 {
        // Never fails: 10 is below the chunk capacity.
        let _ = chunk.samples.push(base + 37 * i - 150);
    }
    Record::Waveform(chunk)
}

/// The records published in order in step 1, with their encodings.
#[cfg(any(feature = "writer", feature = "reader"))]
fn in_order() -> [(Record, Encoding); 5] {
    let json = if cfg!(feature = "json") {
        Encoding::Json
    } else {
        Encoding::Binary
    };
    [
        (vitals(72, true), Encoding::Binary),
        (vitals(74, false), json),
        (chunk(Channel::EcgII, 0, 800), Encoding::Binary),
        (chunk(Channel::Pleth, 10, -2000), json),
        // A heartbeat frame always travels with the JSON encoding byte (it has no payload).
        (Record::Heartbeat, Encoding::Json),
    ]
}

/// Runs the scenario over `ring`; true if every check passed.
#[cfg(all(feature = "writer", feature = "reader"))]
pub fn run(ring: &'static Ring) -> bool {
    use crate::ring_api::{Consumer, Producer, GEOMETRY};

    let mut check = Check::default();
    let mut clock = Clock::new();
    let (now_ms, _) = clock.tick();
    let mut producer = match Producer::create(ring, EPOCH, now_ms) {
        Ok(p) => p,
        Err(e) => {
            defmt::error!("FAILED: writer create: {}", e);
            return false;
        }
    };
    let mut consumer = match Consumer::attach(ring) {
        Ok(c) => c,
        Err(e) => {
            defmt::error!("FAILED: reader attach: {}", e);
            return false;
        }
    };
    check.eq(
        consumer.poll(),
        Event::Empty,
        "a fresh ring has nothing to read",
    );
    check.eq(
        consumer.split_64(),
        !cfg!(target_has_atomic = "64"),
        "the header flags split 64-bit words exactly when the target lacks 64-bit atomics",
    );

    // 1. Every kind of record, in both encodings, comes back equal.
    let mut delivered = 0u64;
    for (record, encoding) in in_order() {
        let (now_ms, ts) = clock.tick();
        let published = if record == Record::Heartbeat {
            producer.heartbeat(ts, now_ms)
        } else {
            producer.publish(&record, encoding, ts, now_ms)
        };
        let index = producer.published() - 1;
        check.eq(
            published.ok(),
            Some(index),
            "publish returns the frame's index",
        );
        let want = Event::Record {
            index,
            timestamp_ns: ts,
            encoding,
            record,
        };
        check.eq(consumer.poll(), want, "the record comes back equal");
        delivered += 1;
    }
    check.eq(
        consumer.poll(),
        Event::Empty,
        "nothing more after the records",
    );

    // 2. A flipped payload bit is caught by the CRC; the next frame is delivered.
    let (now_ms, ts) = clock.tick();
    let bad = producer.publish(&vitals(80, true), Encoding::Binary, ts, now_ms);
    let bad_index = producer.published() - 1;
    check.that(bad.is_ok(), "publish the frame to corrupt");
    check.that(producer.corrupt_payload(bad_index), "flip a payload bit");
    check.eq(
        consumer.poll(),
        Event::Rejected {
            index: bad_index,
            crc: true,
        },
        "a corrupted frame is rejected for its crc",
    );
    let (now_ms, ts) = clock.tick();
    let next = vitals(81, true);
    let _ = producer.publish(&next, Encoding::Binary, ts, now_ms);
    check.eq(
        consumer.poll(),
        Event::Record {
            index: bad_index + 1,
            timestamp_ns: ts,
            encoding: Encoding::Binary,
            record: next,
        },
        "the frame after a corrupted one is delivered",
    );
    delivered += 1;

    // 3. Lapped: frameCount + 3 frames unread; the reader drops all but the newest.
    let first_unread = producer.published();
    let laps = u64::from(GEOMETRY.frame_count()) + 3;
    let mut last = (Record::Heartbeat, 0);
    for i in 0..laps {
        let (now_ms, ts) = clock.tick();
        let record = vitals(60 + i as u16, i % 2 == 0);
        let _ = producer.publish(&record, Encoding::Binary, ts, now_ms);
        last = (record, ts);
    }
    check.eq(
        consumer.poll(),
        Event::Dropped {
            first: first_unread,
            count: laps - 1,
            lapped: true,
        },
        "a lapped reader drops exactly the overwritten and skipped indices",
    );
    check.eq(
        consumer.poll(),
        Event::Record {
            index: first_unread + laps - 1,
            timestamp_ns: last.1,
            encoding: Encoding::Binary,
            record: last.0,
        },
        "then delivers the newest frame",
    );
    delivered += 1;
    check.eq(consumer.poll(), Event::Empty, "and is caught up");

    // 4. The accounting is exact.
    let tally = consumer.tally();
    defmt::info!("reader: {}", tally);
    let published = producer.published();
    check.eq(
        tally,
        Tally {
            delivered,
            dropped: laps - 1,
            lapped: laps - 1,
            rejected: 1,
            rejected_crc: 1,
            moved_past: published,
        },
        "every count is the expected one",
    );
    check.eq(
        tally.delivered + tally.dropped + tally.rejected,
        tally.moved_past,
        "delivered + dropped + rejected = indices moved past",
    );
    check.eq(
        consumer.heartbeat_ms(),
        clock.now_ms,
        "the header heartbeat is the writer's last time",
    );
    report(check, published)
}

/// Writer alone (a footprint probe): every publish gets the next index.
#[cfg(all(feature = "writer", not(feature = "reader")))]
pub fn run(ring: &'static Ring) -> bool {
    let mut check = Check::default();
    let mut clock = Clock::new();
    let (now_ms, _) = clock.tick();
    let Ok(mut producer) = crate::ring_api::Producer::create(ring, EPOCH, now_ms) else {
        defmt::error!("FAILED: writer create");
        return false;
    };
    for (i, (record, encoding)) in in_order().into_iter().enumerate() {
        let (now_ms, ts) = clock.tick();
        let got = if record == Record::Heartbeat {
            producer.heartbeat(ts, now_ms)
        } else {
            producer.publish(&record, encoding, ts, now_ms)
        };
        check.eq(got.ok(), Some(i as u64), "publish returns the next index");
    }
    let published = producer.published();
    report(check, published)
}

/// Reader alone (a footprint probe): nobody created the ring, so attaching must fail on its
/// header; the polling code is linked all the same.
#[cfg(all(feature = "reader", not(feature = "writer")))]
pub fn run(ring: &'static Ring) -> bool {
    let mut check = Check::default();
    match crate::ring_api::Consumer::attach(ring) {
        Ok(mut consumer) => {
            while consumer.poll() != crate::ring_api::Event::Empty {}
            defmt::error!(
                "FAILED: attached to an uninitialised ring: {}",
                consumer.tally()
            );
            check.that(false, "an uninitialised ring is refused");
        }
        Err(e) => {
            defmt::info!("attach refused as expected: {}", e);
            check.that(true, "an uninitialised ring is refused");
        }
    }
    report(check, 0)
}

/// Neither half: the harness alone (cortex-m-rt, defmt, semihosting), the baseline that the
/// other builds' sizes are compared with.
#[cfg(not(any(feature = "writer", feature = "reader")))]
pub fn run() -> bool {
    report(Check::default(), 0)
}

fn report(check: Check, published: u64) -> bool {
    if check.failures == 0 {
        defmt::info!(
            "PASS: {=u64} frames published, every check passed",
            published
        );
        true
    } else {
        defmt::error!("FAIL: {=u32} checks failed", check.failures);
        false
    }
}
