//! `monitor --json`: one JSON object per line. The schema is a contract (docs/cli.md): add
//! fields or events, never rename or remove one.

use serde_json::{json, Value};
use vitalring_core::session::{EpochStats, SessionStats};
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_core::vitals::{VitalsRecord, WaveformChunk};

use super::state::{LatencySummary, MonitorState};

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
        "t_ns": t_ns,
        "index": index,
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
        "channel": c.channel.name(),
        "t_ns": t_ns,
        "index": index,
        "fs": c.fs_hz,
        "first": c.first,
        "samples": c.samples.as_slice(),
    })
}

/// `{"event":"connection",...}`: the state changed.
pub fn connection(state: ConnectionState, epoch: Option<u64>, wall_ns: u64) -> Value {
    json!({
        "event": "connection",
        "t_ns": wall_ns,
        "state": state.name(),
        "epoch": epoch,
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
        "t_ns": wall_ns,
        "kind": e.kind().name(),
        "count": e.count(),
        "index": index,
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

/// `{"event":"status",...}`: once a second, with the latency of the window just closed.
pub fn status(s: &MonitorState, latency: Option<LatencySummary>, wall_ns: u64) -> Value {
    let c = &s.counts;
    json!({
        "event": "status",
        "t_ns": wall_ns,
        "state": s.state.name(),
        "epoch": s.epoch,
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
            "epoch": e.epoch,
            "start_index": e.start_index,
            "position": e.position,
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
        "write_index": st.write_index,
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
            r#"{"event":"vitals","t_ns":5,"index":9,"hr":72,"spo2":98,"rr":16,"nibp_sys":120,"nibp_dia":80,"nibp_map":93,"temp":36.9,"pr":72}"#
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
        assert_eq!(w["first"], 40);
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

    #[test]
    fn status_line() {
        let mut s = connected(72, 98, 16);
        let l = s.latency.roll();
        let v = status(&s, l, 3);
        assert_eq!(v["state"], "connected");
        assert_eq!(v["epoch"], 7);
        assert_eq!(v["frames"], 301);
        assert_eq!(v["rejected"], 0);
        assert_eq!(v["latency_us"]["max"], 50.0);
        let v = status(&s, None, 3);
        assert!(v["latency_us"]["p50"].is_null());
    }
}
