//! The importer against a scripted exporter (this test, as a Zenoh peer on loopback): gaps in
//! the frame numbers are counted as dropped and never joined (the imported waveform keeps its
//! hole), and every kind of bad message — garbage, a broken CRC, an unknown envelope version,
//! a frame on the wrong key, a duplicate, an out-of-range value, a second exporter on the same
//! key — is counted and never written into the local ring.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;
use vitalring_bridge::envelope::{Envelope, Kind};
use vitalring_core::layout::{Encoding, FrameType};
use zenoh::qos::{CongestionControl, Priority};
use zenoh::Wait;

const STREAM: u64 = 0x5157_0000_0000_0001;
const OTHER: u64 = 0x5157_0000_0000_0002;
const EPOCH: u64 = 0xE90C_0000_0000_0007;

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn frame(stream: u64, seq: u64, index: u64, frame_type: FrameType, body: &[u8]) -> Vec<u8> {
    Envelope {
        kind: Kind::Frame {
            frame_type,
            encoding: Encoding::Json,
        },
        stream,
        seq,
        epoch: EPOCH,
        index,
        timestamp_ns: now_ns(),
        body,
    }
    .to_vec()
}

fn status(stream: u64, published: u64) -> Vec<u8> {
    let body = format!(
        r#"{{"state":"connected","host":"{HOST}","channel":"src","published":{published}}}"#
    );
    Envelope {
        kind: Kind::Status,
        stream,
        seq: published,
        epoch: EPOCH,
        index: 0,
        timestamp_ns: now_ns(),
        body: body.as_bytes(),
    }
    .to_vec()
}

const VITALS: &[u8] = br#"{"hr":72,"spo2":98,"rr":14}"#;

fn ecg(first: u64) -> Vec<u8> {
    format!(r#"{{"ch":"ecg_ii","fs":250,"first":{first},"samples":[1,2,3,4,5,6,7,8,9,10]}}"#)
        .into_bytes()
}

#[test]
fn gaps_are_counted_and_forgeries_are_refused() {
    let dir = tempdir();
    let dst = dir.path().join("dst.sock");
    let port = free_port();

    let mut config = zenoh::Config::default();
    config
        .insert_json5("listen/endpoints", &format!(r#"["tcp/127.0.0.1:{port}"]"#))
        .unwrap();
    config
        .insert_json5("scouting/multicast/enabled", "false")
        .unwrap();
    config
        .insert_json5("scouting/gossip/enabled", "false")
        .unwrap();
    let session = zenoh::open(config).wait().expect("zenoh session");
    let base = format!("vitalring/{HOST}/src");
    let publisher = |stream: &str| {
        session
            .declare_publisher(format!("{base}/{stream}"))
            .congestion_control(CongestionControl::Block)
            .priority(Priority::DataHigh)
            .express(true)
            .wait()
            .expect("publisher")
    };
    let (vitals, ecg_ii, st) = (
        publisher("vitals"),
        publisher("ecg_ii"),
        publisher("status"),
    );

    let mut imp = import(&dst, port, &[]);
    // Say "nothing published yet" until the importer hears it.
    let mut seen = Vec::new();
    let start = Instant::now();
    loop {
        st.put(status(STREAM, 0)).wait().unwrap();
        if let Ok(line) = imp.stdout.recv_timeout(Duration::from_millis(50)) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let heard = v["counts"]["status"].as_u64().unwrap_or(0) > 0;
                seen.push(v);
                if heard {
                    break;
                }
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            panic!("hang guard: the importer never heard the scripted exporter");
        }
    }

    // Frames 0..9: vitals.
    for seq in 0..10 {
        vitals
            .put(frame(STREAM, seq, seq, FrameType::Vitals, VITALS))
            .wait()
            .unwrap();
    }
    // Not envelopes, or broken ones.
    vitals.put(b"hello".to_vec()).wait().unwrap();
    let mut bad_crc = frame(STREAM, 10, 10, FrameType::Vitals, VITALS);
    bad_crc[60] ^= 0x01;
    vitals.put(bad_crc).wait().unwrap();
    let mut v2 = frame(STREAM, 10, 10, FrameType::Vitals, VITALS);
    v2[4] = 2;
    vitals.put(v2).wait().unwrap();
    // A vitals frame on the ECG key.
    ecg_ii
        .put(frame(STREAM, 10, 10, FrameType::Vitals, VITALS))
        .wait()
        .unwrap();
    // A duplicate of frame 5.
    vitals
        .put(frame(STREAM, 5, 5, FrameType::Vitals, VITALS))
        .wait()
        .unwrap();
    // ECG: frame 10 (samples 0..9), frames 11 and 12 lost, frame 13 (samples 30..39).
    ecg_ii
        .put(frame(STREAM, 10, 10, FrameType::Waveform, &ecg(0)))
        .wait()
        .unwrap();
    ecg_ii
        .put(frame(STREAM, 13, 13, FrameType::Waveform, &ecg(30)))
        .wait()
        .unwrap();
    // Frame 14: a heart rate of 400 (out of range).
    vitals
        .put(frame(
            STREAM,
            14,
            14,
            FrameType::Vitals,
            br#"{"hr":400,"spo2":98,"rr":14}"#,
        ))
        .wait()
        .unwrap();
    // A second exporter on the same key while the first is live.
    vitals
        .put(frame(OTHER, 0, 0, FrameType::Vitals, VITALS))
        .wait()
        .unwrap();
    // The status says 20 frames were published: 15..19 never arrived.
    st.put(status(STREAM, 20)).wait().unwrap();

    imp.wait_json(Duration::from_secs(60), &mut seen, |v| {
        v["counts"]["dropped"].as_u64().unwrap_or(0) >= 7
    });

    let dump = std::process::Command::new(vitalring())
        .args(["dump", "--json", "--last", "12", "--socket"])
        .arg(&dst)
        .args(["--channel", "dst"])
        .output()
        .expect("dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump: Value = serde_json::from_slice(&dump.stdout).expect("dump json");

    assert_eq!(
        imp.signal_and_wait(nix::sys::signal::Signal::SIGTERM),
        Some(0)
    );
    let lines: Vec<Value> = imp
        .drain_stdout()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let c = lines.last().expect("last line")["counts"].clone();
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("delivered"), 12, "{c}");
    assert_eq!(n("dropped"), 2 + 5, "{c}");
    assert_eq!(n("rejected"), 1, "{c}");
    assert_eq!(n("payload"), 1, "{c}");
    assert_eq!(n("duplicate"), 1, "{c}");
    assert_eq!(n("foreign"), 1, "{c}");
    assert_eq!(n("invalid"), 4, "{c}");
    assert_eq!(n("joined_at"), 0, "{c}");
    assert_eq!(20, n("delivered") + n("dropped") + n("rejected"));

    // The local ring holds the 12 good frames only; the ECG keeps its hole (first 0, then 30).
    assert_eq!(dump["header"]["write_index"], "12");
    let frames = dump["frames"].as_array().unwrap();
    assert!(frames.iter().all(|f| f["status"] == "ok"), "{dump}");
    let firsts: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "waveform")
        .map(|f| f["record"]["first"].as_str().unwrap())
        .collect();
    assert_eq!(firsts, ["0", "30"]);
    assert!(frames
        .iter()
        .filter(|f| f["type"] == "vitals")
        .all(|f| f["record"]["hr"] == 72));
}
