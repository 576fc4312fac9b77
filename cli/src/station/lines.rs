//! `station --plain` and `station --json`: the single-bed monitor's lines, one per bed, with
//! the bed's name in front (plain) or a `bed` field (JSON), plus the station's own events
//! (beds added, gone, removed, unreachable) and a summary line a second. The JSON schema is
//! the monitor's ([`json::SCHEMA`]), with fields added, never renamed (docs/cli.md).

use serde_json::{json, Value};
use vitalring_core::source::{SensorErrorKind, SensorEvent};

use super::{Bed, Station, StationEvent};
use crate::monitor::json::{self, exact, SCHEMA};
use crate::monitor::plain;
use crate::monitor::state::LatencySummary;

/// `bed3 [   12s] connected    epoch=… | HR 72 … | alarms: - | socket live`: the monitor's
/// status line (which marks values that are not live `(stale)`), the bed's name first and the
/// state of its socket last.
pub fn plain_status(bed: &Bed, latency: Option<LatencySummary>, wall_ns: u64) -> String {
    let mut line = format!(
        "{} {} | socket {}",
        bed.name,
        plain::status_line(&bed.state, latency),
        bed.presence.name()
    );
    if !bed.values_live() {
        if let Some(age) = bed.vitals_age_ms(wall_ns) {
            line.push_str(&format!(" | values not live, {age} ms old"));
        }
    }
    line
}

/// A reader event worth a line of its own: a connection change, or an error other than
/// `dropped` (the status line counts drops).
pub fn plain_event(bed: &str, ev: &SensorEvent) -> Option<String> {
    match ev {
        SensorEvent::Connection { state, epoch } => Some(format!(
            "{bed}: connection: {}{}",
            state.name(),
            epoch.map_or(String::new(), |e| format!(" (epoch {e:016x})"))
        )),
        SensorEvent::Error(e) if e.kind() != SensorErrorKind::Dropped => {
            Some(format!("{bed}: error: {}: {e}", e.kind().name()))
        }
        _ => None,
    }
}

/// A station event as a plain line.
pub fn plain_station(ev: &StationEvent) -> String {
    match ev {
        StationEvent::Added { bed, socket } => format!("{bed}: added ({})", socket.display()),
        StationEvent::Stale { bed } => {
            format!("{bed}: socket stale: its producer no longer answers")
        }
        StationEvent::Back { bed } => format!("{bed}: socket live again"),
        StationEvent::Gone { bed } => format!("{bed}: socket gone"),
        StationEvent::Removed { bed } => format!("{bed}: removed"),
        StationEvent::Unreachable { bed, reason } => format!("{bed}: unreachable: {reason}"),
        StationEvent::ScanFailed { reason } => format!("station: error: {reason}"),
    }
}

/// The TUI's notice for a station event.
pub fn notice(ev: &StationEvent) -> Option<String> {
    match ev {
        StationEvent::Unreachable { .. } => None, // listed apart, while it lasts
        ev => Some(plain_station(ev)),
    }
}

/// `station | 3 beds, 2 live | dir … | stale sockets: -`, once a second before the beds.
pub fn plain_summary(s: &Station) -> String {
    let live = s.beds.iter().filter(|b| b.values_live()).count();
    let stale = if s.stale_sockets.is_empty() {
        "-".to_string()
    } else {
        s.stale_sockets.join(", ")
    };
    format!(
        "station | {} beds, {live} live | dir {} | stale sockets: {stale}",
        s.beds.len(),
        s.dir.display()
    )
}

/// The monitor's status object for one bed, with `bed`, `socket`, `presence`, `live`,
/// `label`, `latest_vitals` (the newest values with their age, or null) and `top_alarm` added
/// (added, never replacing a field of the monitor's: its `vitals` is a count).
pub fn json_status(bed: &Bed, latency: Option<LatencySummary>, wall_ns: u64) -> Value {
    let mut v = json::status(&bed.state, latency, wall_ns);
    let vitals = bed.state.vitals.map(|lv| {
        let mut o = json::vitals(lv.t_ns, lv.index, &lv.record);
        if let Some(m) = o.as_object_mut() {
            m.shift_remove("event");
            m.shift_remove("schema");
            m.insert(
                "age_ms".into(),
                json!(wall_ns.saturating_sub(lv.t_ns) / 1_000_000),
            );
        }
        o
    });
    let top = bed
        .alarms()
        .first()
        .map(|a| json!({"text": a.text, "priority": a.priority.name(), "technical": a.technical}));
    if let Some(m) = v.as_object_mut() {
        m.insert("bed".into(), json!(bed.name));
        m.insert(
            "socket".into(),
            json!(bed.path.to_string_lossy().into_owned()),
        );
        m.insert("presence".into(), json!(bed.presence.name()));
        m.insert("live".into(), json!(bed.values_live()));
        m.insert("label".into(), json!(bed.label().to_lowercase()));
        m.insert("latest_vitals".into(), vitals.unwrap_or(Value::Null));
        m.insert("top_alarm".into(), top.unwrap_or(Value::Null));
    }
    v
}

/// A reader event as JSON with its `bed`: connection changes and errors. Vitals and waveform
/// events are not repeated per bed (the status object carries the newest vitals; `vitalring
/// monitor --json --channel NAME` streams one bed in full).
pub fn json_event(bed: &str, ev: &SensorEvent, wall_ns: u64) -> Option<Value> {
    if !matches!(ev, SensorEvent::Connection { .. } | SensorEvent::Error(_)) {
        return None;
    }
    let mut v = json::event(ev, wall_ns);
    if let Some(m) = v.as_object_mut() {
        m.insert("bed".into(), json!(bed));
    }
    Some(v)
}

/// A station event as JSON: `bed_added`, `bed_stale`, `bed_back`, `bed_gone`, `bed_removed`,
/// `bed_unreachable`, `scan_failed`.
pub fn json_station(ev: &StationEvent, wall_ns: u64) -> Value {
    let (event, bed, extra) = match ev {
        StationEvent::Added { bed, socket } => (
            "bed_added",
            Some(bed),
            Some(("socket", json!(socket.to_string_lossy().into_owned()))),
        ),
        StationEvent::Stale { bed } => ("bed_stale", Some(bed), None),
        StationEvent::Back { bed } => ("bed_back", Some(bed), None),
        StationEvent::Gone { bed } => ("bed_gone", Some(bed), None),
        StationEvent::Removed { bed } => ("bed_removed", Some(bed), None),
        StationEvent::Unreachable { bed, reason } => (
            "bed_unreachable",
            Some(bed),
            Some(("reason", json!(reason))),
        ),
        StationEvent::ScanFailed { reason } => {
            ("scan_failed", None, Some(("reason", json!(reason))))
        }
    };
    let mut v = json!({
        "event": event,
        "schema": SCHEMA,
        "t_ns": exact(wall_ns),
    });
    if let Some(m) = v.as_object_mut() {
        if let Some(b) = bed {
            m.insert("bed".into(), json!(b));
        }
        if let Some((k, x)) = extra {
            m.insert(k.into(), x);
        }
    }
    v
}

/// `{"event":"station",...}`, once a second before the beds' status objects.
pub fn json_summary(s: &Station, wall_ns: u64) -> Value {
    json!({
        "event": "station",
        "schema": SCHEMA,
        "t_ns": exact(wall_ns),
        "dir": s.dir.to_string_lossy(),
        "beds": s.beds.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
        "live": s.beds.iter().filter(|b| b.values_live()).map(|b| b.name.as_str()).collect::<Vec<_>>(),
        "stale_sockets": s.stale_sockets,
        "unreachable": s.unreachable().into_iter().map(|(b, r)| json!({"bed": b, "reason": r})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::state::Limits;
    use crate::station::Presence;
    use std::path::Path;
    use vitalring_core::source::{ConnectionState, SensorError};
    use vitalring_core::time::{Nanos, UnixNs};
    use vitalring_core::vitals::{Nibp, VitalsRecord};

    fn bed(hr: u16) -> Bed {
        let mut b = Bed::new("bed7", Path::new("/d/bed7.sock"), Limits::default(), 100);
        b.state.apply(
            &SensorEvent::Connection {
                state: ConnectionState::Connected,
                epoch: Some(5),
            },
            0,
        );
        b.state.apply(
            &SensorEvent::Vitals {
                timestamp: UnixNs(1_000_000_000),
                index: 9,
                record: VitalsRecord {
                    hr_bpm: hr,
                    spo2_pct: 97,
                    rr_rpm: 15,
                    nibp: Some(Nibp {
                        systolic_mmhg: 118,
                        diastolic_mmhg: 76,
                        mean_mmhg: 90,
                    }),
                    temp_c: None,
                    pulse_rate_bpm: None,
                },
            },
            1_000_000_000,
        );
        b
    }

    #[test]
    fn plain_status_names_the_bed_and_marks_stale_values() {
        let b = bed(72);
        let l = plain_status(&b, None, 3_000_000_000);
        assert!(l.starts_with("bed7 ["), "{l}");
        assert!(l.contains("HR 72 SpO2 97 RR 15 NIBP 118/76 (90)"), "{l}");
        assert!(l.ends_with("alarms: - | socket live"), "{l}");
        assert!(!l.contains("stale"), "{l}");
        let mut b = bed(72);
        b.state.apply(
            &SensorEvent::Error(SensorError::Stalled {
                heartbeat_age: Nanos(260_000_000),
            }),
            0,
        );
        b.presence = Presence::Stale;
        let l = plain_status(&b, None, 3_000_000_000);
        assert!(l.contains("stalled"), "{l}");
        assert!(l.contains("(stale)"), "{l}");
        assert!(l.contains("SENSOR STALLED (high, technical)"), "{l}");
        assert!(
            l.contains("socket stale | values not live, 2000 ms old"),
            "{l}"
        );
    }

    #[test]
    fn json_status_carries_the_bed_its_vitals_and_liveness() {
        let b = bed(130);
        let v = json_status(&b, None, 3_000_000_000);
        assert_eq!(v["event"], "status");
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["bed"], "bed7");
        assert_eq!(v["socket"], "/d/bed7.sock");
        assert_eq!(v["state"], "connected");
        assert_eq!(v["presence"], "live");
        assert_eq!(v["live"], true);
        assert_eq!(v["latest_vitals"]["hr"], 130);
        assert_eq!(v["latest_vitals"]["nibp_sys"], 118);
        assert_eq!(v["latest_vitals"]["t_ns"], "1000000000");
        assert_eq!(v["latest_vitals"]["age_ms"], 2000);
        assert!(v["latest_vitals"].get("event").is_none());
        let keys: Vec<&String> = v["latest_vitals"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "t_ns", "index", "hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_map", "temp",
                "pr", "age_ms"
            ]
        );
        // The monitor's own fields are kept as they are (its `vitals` is a count of frames).
        assert_eq!(v["vitals"], 1);
        let base = json::status(&b.state, None, 3_000_000_000);
        for (k, x) in base.as_object().unwrap() {
            assert_eq!(&v[k], x, "monitor field {k} changed");
        }
        assert_eq!(v["alarms"][0], "HR HIGH");
        assert_eq!(v["top_alarm"]["priority"], "medium");
        let mut b = b;
        b.presence = Presence::Stale;
        let v = json_status(&b, None, 3_000_000_000);
        assert_eq!(v["live"], false);
        assert_eq!(v["presence"], "stale");
    }

    #[test]
    fn events_carry_the_bed() {
        let ev = SensorEvent::Connection {
            state: ConnectionState::Stalled,
            epoch: Some(5),
        };
        let v = json_event("bed7", &ev, 1).unwrap();
        assert_eq!(
            (v["event"].as_str(), v["bed"].as_str()),
            (Some("connection"), Some("bed7"))
        );
        assert_eq!(
            plain_event("bed7", &ev).unwrap(),
            "bed7: connection: stalled (epoch 0000000000000005)"
        );
        let added = StationEvent::Added {
            bed: "bed7".into(),
            socket: "/d/bed7.sock".into(),
        };
        let v = json_station(&added, 2);
        assert_eq!(v["event"], "bed_added");
        assert_eq!(v["socket"], "/d/bed7.sock");
        assert_eq!(plain_station(&added), "bed7: added (/d/bed7.sock)");
    }
}
