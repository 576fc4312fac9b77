//! `monitor --json`: one JSON object per line. The schema is a contract (docs/cli.md): add
//! fields or events, never rename or remove one; a change of a field's type bumps [`SCHEMA`].
//!
//! Exactness: every 64-bit identifier — timestamps (`t_ns`), ring indices (`index`), sample
//! indices (`first`), the producer `epoch` — is a JSON **string** of decimal digits, because
//! jq and JavaScript read JSON numbers as IEEE doubles, exact only up to 2^53, and these values
//! routinely exceed it (a timestamp in ns is about 1.8 × 10^18; an epoch is random 64 bits).
//! Counts and measurements (frames, dropped, hr, latency) stay numbers.

use serde_json::{json, Value};
use vitalring_core::session::{EpochStats, SessionStats};
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::vitals::{VitalsRecord, WaveformChunk};

use super::state::{LatencySummary, MonitorState};

/// Version of the JSON output of `monitor --json` and `dump --json` (the `schema` field).
/// 1 (no field): identifiers as numbers; 2: identifiers as decimal strings.
pub const SCHEMA: u32 = 2;

/// A 64-bit identifier as a decimal string, exact in every JSON reader.
pub fn exact(v: u64) -> Value {
    Value::String(v.to_string())
}

/// [`exact`], or `null`.
pub fn exact_opt(v: Option<u64>) -> Value {
    v.map_or(Value::Null, exact)
}

/// Temperature rounded to 0.01 °C, so an `f32` prints as `36.9`, not `36.900001525878906`.
fn temp(t: Option<f32>) -> Value {
    match t {
        Some(t) => json!((f64::from(t) * 100.0).round() / 100.0),
        None => Value::Null,
    }
}

/// `{"event":"vitals",...}`.
pub fn vitals(t_ns: u64, index: u64, r: &VitalsRecord) -> Value {
    json!({
        "event": "vitals",
        "schema": SCHEMA,
        "t_ns": exact(t_ns),
        "index": exact(index),
        "hr": r.hr_bpm,
        "spo2": r.spo2_pct,
        "rr": r.rr_rpm,
        "nibp_sys": r.nibp.map(|n| n.systolic_mmhg),
        "nibp_dia": r.nibp.map(|n| n.diastolic_mmhg),
        "nibp_map": r.nibp.map(|n| n.mean_mmhg),
        "temp": temp(r.temp_c),
        "pr": r.pulse_rate_bpm,
    })
}

/// `{"event":"waveform",...}`.
pub fn waveform(t_ns: u64, index: u64, c: &WaveformChunk) -> Value {
    json!({
        "event": "waveform",
        "schema": SCHEMA,
        "channel": c.channel.name(),
        "t_ns": exact(t_ns),
        "index": exact(index),
        "fs": c.fs_hz,
        "first": exact(c.first),
        "samples": c.samples.as_slice(),
    })
}

/// `{"event":"connection",...}`: the state changed.
pub fn connection(state: ConnectionState, epoch: Option<u64>, wall_ns: u64) -> Value {
    json!({
        "event": "connection",
        "schema": SCHEMA,
        "t_ns": exact(wall_ns),
        "state": state.name(),
        "epoch": exact_opt(epoch),
    })
}

/// `{"event":"error",...}`.
pub fn error(e: &SensorError, wall_ns: u64) -> Value {
    let (index, age, reason) = match e {
        SensorError::Dropped { first, .. } => (Some(*first), None, None),
        SensorError::Rejected { first, reason, .. } => {
            (Some(*first), None, Some(reason.to_string()))
        }
        SensorError::Stalled { heartbeat_age } => {
            (None, Some(round1(heartbeat_age.0 as f64 / 1e6)), None)
        }
        SensorError::Header(h) => (None, None, Some(h.to_string())),
        SensorError::Handshake(p) => (None, None, Some(format!("{p:?}").to_lowercase())),
        SensorError::EventsLost { .. } => (None, None, None),
    };
    json!({
        "event": "error",
        "schema": SCHEMA,
        "t_ns": exact(wall_ns),
        "kind": e.kind().name(),
        "count": e.count(),
        "index": exact_opt(index),
        "heartbeat_age_ms": age,
        "reason": reason,
    })
}

/// The JSON line for a data-source event.
pub fn event(e: &SensorEvent, wall_ns: u64) -> Value {
    match e {
        SensorEvent::Vitals {
            timestamp,
            index,
            record,
        } => vitals(timestamp.0, *index, record),
        SensorEvent::Waveform {
            timestamp,
            index,
            chunk,
        } => waveform(timestamp.0, *index, chunk),
        SensorEvent::Connection { state, epoch } => connection(*state, *epoch, wall_ns),
        SensorEvent::Error(err) => error(err, wall_ns),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `{"event":"status",...}`: once a second, with the latency of the window just closed. A new
/// field goes in the `json!` below: counts as numbers, identifiers through [`exact`].
pub fn status(s: &MonitorState, latency: Option<LatencySummary>, wall_ns: u64) -> Value {
    let c = &s.counts;
    json!({
        "event": "status",
        "schema": SCHEMA,
        "t_ns": exact(wall_ns),
        "state": s.state.name(),
        "epoch": exact_opt(s.epoch),
        "frames": c.frames(),
        "vitals": c.vitals,
        "waveforms": c.waveforms,
        "dropped": c.dropped,
        "rejected": c.rejected(),
        "rejected_by": {
            "crc": c.rejected_crc,
            "invalid_value": c.rejected_invalid_value,
            "malformed_payload": c.rejected_malformed,
            "invalid_frame": c.rejected_invalid_frame,
        },
        "latency_us": {
            "p50": latency.map(|l| round1(l.p50_us)),
            "p99": latency.map(|l| round1(l.p99_us)),
            "max": latency.map(|l| round1(l.max_us)),
            "n": latency.map_or(0, |l| l.n),
        },
        "alarms": s.alarms().iter().map(|a| a.text).collect::<Vec<_>>(),
        "events_lost": s.events_lost,
        "session": s.stats.as_ref().map(session),
    })
}

/// The session's own counters: the current ring's figures (`published - start_index =
/// delivered + dropped + rejected` once the producer stopped and the reader drained), the
/// previous ring's after a producer restart, and totals over every ring.
fn session(st: &SessionStats) -> Value {
    let epoch = |e: &EpochStats| {
        json!({
            "epoch": exact(e.epoch),
            "start_index": exact(e.start_index),
            "position": exact(e.position),
            "delivered": e.counters.delivered,
            "heartbeats": e.heartbeats,
            "dropped": e.counters.dropped(),
            "rejected": e.counters.rejected.total(),
        })
    };
    let rejected_by: serde_json::Map<String, Value> = st
        .total
        .rejected
        .as_array()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "current": epoch(&st.current),
        "previous": st.previous.as_ref().map(epoch),
        "total": {
            "delivered": st.total.delivered,
            "heartbeats": st.total_heartbeats,
            "dropped": st.total.dropped(),
            "rejected": st.total.rejected.total(),
            "rejected_by": rejected_by,
        },
        "epochs": st.epochs,
        "stalls": st.stalls,
        "faults": st.faults,
        "reattaches": st.reattaches,
        "write_index": exact(st.write_index),
    })
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::{chunk, connected, record};
    use super::*;
    use vitalring_core::vitals::Channel;

    #[test]
    fn vitals_line_has_every_documented_field() {
        let v = vitals(5, 9, &record(72, 98, 16));
        assert_eq!(
            v.to_string(),
            r#"{"event":"vitals","schema":2,"t_ns":"5","index":"9","hr":72,"spo2":98,"rr":16,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"temp":36.9,"pr":72}"#
        );
        let bare = VitalsRecord {
            nibp: None,
            temp_c: None,
            pulse_rate_bpm: None,
            ..record(72, 98, 16)
        };
        let v = vitals(5, 9, &bare);
        assert!(v["nibp_sys"].is_null() && v["temp"].is_null() && v["pr"].is_null());
    }

    #[test]
    fn waveform_and_error_lines() {
        let w = waveform(7, 2, &chunk(Channel::Pleth, 40, 3));
        assert_eq!(w["channel"], "pleth");
        assert_eq!(w["fs"], 250);
        assert_eq!(w["first"], "40");
        assert_eq!(w["samples"].as_array().unwrap().len(), 3);
        let e = error(
            &SensorError::Stalled {
                heartbeat_age: vitalring_core::time::Nanos(262_512_345),
            },
            1,
        );
        assert_eq!(e["kind"], "stalled");
        assert_eq!(e["heartbeat_age_ms"], 262.5);
        assert!(e["index"].is_null());
        assert_eq!(e["count"], 1);
        assert!(e["reason"].is_null());
    }

    /// Values above 2^53 come out digit for digit: a reader that parses numbers as doubles
    /// (jq, JavaScript) would print 17430500756243077655 as 17430500756243077000.
    #[test]
    fn identifiers_above_2_pow_53_are_exact() {
        let big = 17_430_500_756_243_077_655u64;
        let back = |v: &Value, f: &str| v[f].as_str().unwrap().parse::<u64>().unwrap();
        for line in [
            vitals(u64::MAX, big, &record(72, 98, 16)).to_string(),
            waveform(u64::MAX, big, &chunk(Channel::EcgII, big, 2)).to_string(),
            connection(ConnectionState::Connected, Some(big), u64::MAX).to_string(),
        ] {
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["schema"], SCHEMA, "{line}");
            assert_eq!(back(&v, "t_ns"), u64::MAX, "{line}");
            let id = if v["event"] == "connection" {
                "epoch"
            } else {
                "index"
            };
            assert_eq!(back(&v, id), big, "{line}");
            assert!(!line.contains(&format!(":{big}")), "a bare number: {line}");
        }
        let w = waveform(1, 2, &chunk(Channel::EcgII, big, 2));
        assert_eq!(back(&w, "first"), big);
        let e = error(
            &SensorError::Dropped {
                first: big,
                count: 1,
                cause: vitalring_core::slot::DropCause::Lapped,
            },
            u64::MAX,
        );
        assert_eq!(back(&e, "index"), big);
        assert_eq!(back(&e, "t_ns"), u64::MAX);
        let mut s = connected(72, 98, 16);
        s.epoch = Some(big);
        let st = status(&s, None, u64::MAX);
        assert_eq!(back(&st, "epoch"), big);
        assert_eq!(back(&st, "t_ns"), u64::MAX);
        assert!(st["frames"].is_u64(), "counts stay numbers: {st}");
    }

    #[test]
    fn status_line() {
        let mut s = connected(72, 98, 16);
        let l = s.latency.roll();
        let v = status(&s, l, 3);
        assert_eq!(v["state"], "connected");
        assert_eq!(v["epoch"], "7");
        assert_eq!(v["frames"], 301);
        assert_eq!(v["rejected"], 0);
        assert_eq!(v["latency_us"]["max"], 50.0);
        let v = status(&s, None, 3);
        assert!(v["latency_us"]["p50"].is_null());
    }
}
