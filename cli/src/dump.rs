//! `vitalring dump`: connect once, print the ring header and the newest frames, each checked
//! with the core's `SlotView::new_checked` (the same decision a live reader makes).

use std::fmt::Write as _;
use std::io::Write;

use serde_json::{json, Value};
use vitalring_core::frame::{SlotError, SlotView};
use vitalring_core::layout::{header_crc, RingHeader, HEADER_SIZE};
use vitalring_core::payload::{self, Record};
use vitalring_core::{Encoding, FrameType};

use crate::args::DumpArgs;
use crate::clock::{utc, wall_ns};
use crate::error::{CliError, CliResult};
use crate::link::{self, Snapshot};
use crate::monitor::json;

/// One slot's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotReport {
    /// Ring index the slot should hold.
    pub index: u64,
    /// Slot number.
    pub slot: u64,
    /// `ok`, `not_committed`, `rejected` or `bad_size`.
    pub status: &'static str,
    /// Why, when not ok.
    pub error: Option<String>,
    /// Raw type byte.
    pub frame_type: u8,
    /// Raw encoding byte.
    pub encoding: u8,
    /// Timestamp field, ns since the Unix epoch.
    pub t_ns: u64,
    /// `dataSize` field.
    pub data_size: u32,
    /// The decoded record, when ok.
    pub record: Option<Record>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Checks and decodes a copy of the slot that should hold `index`.
pub fn check_slot(index: u64, frame_count: u64, bytes: &[u8]) -> SlotReport {
    let mut r = SlotReport {
        index,
        slot: index % frame_count.max(1),
        status: "ok",
        error: None,
        frame_type: bytes.first().copied().unwrap_or(0),
        encoding: bytes.get(1).copied().unwrap_or(0),
        t_ns: le_u64(bytes, 8),
        data_size: le_u32(bytes, 20),
        record: None,
    };
    match SlotView::new_checked(bytes, Some(index)) {
        Ok(view) => match payload::decode(view.meta.frame_type, view.meta.encoding, view.payload) {
            Ok(rec) => r.record = Some(rec),
            Err(e) => {
                r.status = "rejected";
                r.error = Some(e.to_string());
            }
        },
        Err(e) => {
            r.status = match e {
                SlotError::Size(_) => "bad_size",
                SlotError::NotCommitted(_) => "not_committed",
                SlotError::Rejected(_) => "rejected",
            };
            r.error = Some(e.to_string());
        }
    }
    r
}

fn type_name(t: u8) -> String {
    FrameType::try_from(t).map_or_else(
        |_| format!("unknown({t})"),
        |t| format!("{t:?}").to_lowercase(),
    )
}

fn encoding_name(e: u8) -> String {
    Encoding::try_from(e).map_or_else(
        |_| format!("unknown({e})"),
        |e| format!("{e:?}").to_lowercase(),
    )
}

fn record_json(r: &SlotReport) -> Value {
    let v = match &r.record {
        Some(Record::Vitals(v)) => json::vitals(r.t_ns, r.index, v),
        Some(Record::Waveform(w)) => json::waveform(r.t_ns, r.index, w),
        Some(Record::Heartbeat) => json!({"event": "heartbeat"}),
        None => return Value::Null,
    };
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        let kind = o.remove("event").unwrap_or(Value::Null);
        o.shift_remove("schema");
        o.shift_remove("index");
        o.shift_remove("t_ns");
        let mut out = serde_json::Map::new();
        out.insert("kind".into(), kind);
        out.extend(std::mem::take(o));
        return Value::Object(out);
    }
    v
}

/// The JSON document. 64-bit identifiers and times are decimal strings, exact in jq and
/// JavaScript (see [`json::SCHEMA`]); sizes, counts and ages are numbers.
pub fn to_json(s: &Snapshot, frames: &[SlotReport], wall_ms: u64) -> Value {
    let h = &s.header;
    let crc = header_crc(h);
    json!({
        "schema": json::SCHEMA,
        "socket": s.socket.display().to_string(),
        "header": {
            "magic": format!("{:#010x}", h.magic),
            "version": h.version,
            "frame_size": h.frame_size_bytes,
            "frame_count": h.frame_count,
            "region_len": HEADER_SIZE as u64 + u64::from(h.frame_count) * u64::from(h.frame_size_bytes),
            "write_index": json::exact(h.write_index),
            "heartbeat_ms": json::exact(h.heartbeat_timestamp),
            "heartbeat_age_ms": wall_ms.saturating_sub(h.heartbeat_timestamp),
            "epoch": json::exact(h.epoch),
            "created_unix_ns": json::exact(h.created_unix_ns),
            "created_utc": utc(h.created_unix_ns),
            "flags": h.flags,
            "crc32": format!("{:#010x}", h.crc32),
            "crc_ok": crc == h.crc32,
        },
        "seals": s.seals,
        "frames": frames.iter().map(|r| json!({
            "index": json::exact(r.index),
            "slot": r.slot,
            "status": r.status,
            "error": r.error,
            "type": type_name(r.frame_type),
            "encoding": encoding_name(r.encoding),
            "t_ns": json::exact(r.t_ns),
            "data_size": r.data_size,
            "record": record_json(r),
        })).collect::<Vec<_>>(),
    })
}

/// The text form.
pub fn to_text(s: &Snapshot, frames: &[SlotReport], wall_ms: u64) -> String {
    let h: &RingHeader = &s.header;
    let mut o = String::new();
    let crc = header_crc(h);
    let _ = writeln!(o, "socket        {}", s.socket.display());
    let _ = writeln!(o, "magic         {:#010x}  version {}", h.magic, h.version);
    let _ = writeln!(
        o,
        "geometry      {} B x {} frames ({} B mapped)",
        h.frame_size_bytes,
        h.frame_count,
        HEADER_SIZE as u64 + u64::from(h.frame_count) * u64::from(h.frame_size_bytes)
    );
    let _ = writeln!(o, "write index   {}", h.write_index);
    let _ = writeln!(
        o,
        "heartbeat     {} ms since epoch (age {} ms)",
        h.heartbeat_timestamp,
        wall_ms.saturating_sub(h.heartbeat_timestamp)
    );
    let _ = writeln!(o, "epoch         {:#018x}", h.epoch);
    let _ = writeln!(
        o,
        "created       {} ({} ns since epoch)",
        utc(h.created_unix_ns),
        h.created_unix_ns
    );
    let _ = writeln!(o, "flags         {:#x}", h.flags);
    let _ = writeln!(
        o,
        "header crc    {:#010x} ({})",
        h.crc32,
        if crc == h.crc32 { "ok" } else { "MISMATCH" }
    );
    let _ = writeln!(
        o,
        "seals         {}",
        s.seals
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |v| v.join(" | "))
    );
    let _ = writeln!(o, "last {} frames:", frames.len());
    for r in frames {
        let what = match &r.record {
            Some(Record::Vitals(v)) => format!(
                "HR {} SpO2 {} RR {} NIBP {} T {} PR {}",
                v.hr_bpm,
                v.spo2_pct,
                v.rr_rpm,
                v.nibp.map_or("--".into(), |n| format!(
                    "{}/{} ({})",
                    n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg
                )),
                v.temp_c.map_or("--".into(), |t| format!("{t:.1}")),
                v.pulse_rate_bpm.map_or("--".into(), |p| p.to_string()),
            ),
            Some(Record::Waveform(w)) => format!(
                "{} fs {} first {} n {} [{}]",
                w.channel,
                w.fs_hz,
                w.first,
                w.samples.len(),
                w.samples
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Some(Record::Heartbeat) => "heartbeat".to_string(),
            None => r.error.clone().unwrap_or_default(),
        };
        let _ = writeln!(
            o,
            "  #{:<8} slot {:<5} {:<13} {:<9} {:<6} t {} size {:<4} {}",
            r.index,
            r.slot,
            r.status,
            type_name(r.frame_type),
            encoding_name(r.encoding),
            r.t_ns,
            r.data_size,
            what
        );
    }
    o
}

/// `vitalring dump`.
///
/// # Errors
/// Could not connect (exit 3), stdout failed.
pub fn run(args: &DumpArgs) -> CliResult {
    let snap = link::snapshot(&args.endpoint, &args.trust, args.last)?;
    let fc = u64::from(snap.header.frame_count);
    let frames: Vec<SlotReport> = snap
        .slots
        .iter()
        .map(|(i, b)| check_slot(*i, fc, b))
        .collect();
    let wall_ms = wall_ns() / 1_000_000;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&to_json(&snap, &frames, wall_ms))
            .map_err(|e| CliError::failure(format!("cannot format json: {e}")))?;
        s.push('\n');
        s
    } else {
        to_text(&snap, &frames, wall_ms)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::failure(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::frame::{encode_slot, FrameMeta};
    use vitalring_core::Geometry;

    fn snapshot() -> (Snapshot, Vec<SlotReport>) {
        let g = Geometry::new(256, 8).unwrap();
        let mut header = RingHeader::new(g, 0xABCD, 5, 0);
        header.write_index = 3;
        header.heartbeat_timestamp = 1_000;
        let rec = crate::sim::to_record(&vitalring_sim::SimOutput::Vitals(vitalring_sim::Vitals {
            t_ns: 42,
            hr_bpm: 72,
            spo2_pct: 98,
            rr_rpm: 16,
            nibp: (120, 80, 93),
            temp_c: 36.9,
            pulse_rate_bpm: 72,
        }));
        let mut buf = [0u8; payload::MAX_ENCODED_LEN];
        let len = payload::encode(&rec, Encoding::Json, &mut buf).unwrap();
        let mut slots = Vec::new();
        for i in 0..3u64 {
            let mut s = vec![0u8; 256];
            let meta = FrameMeta {
                frame_type: FrameType::Vitals,
                encoding: Encoding::Json,
                timestamp: vitalring_core::time::UnixNs(42),
            };
            encode_slot(i, meta, &buf[..len], &mut s).unwrap();
            slots.push((i, s));
        }
        slots[1].1[30] ^= 1; // corrupt
        slots[2].1[4] = 0; // not committed
        let snap = Snapshot {
            socket: "/tmp/x.sock".into(),
            header,
            seals: Some(vec!["seal"]),
            slots,
        };
        let frames = snap
            .slots
            .iter()
            .map(|(i, b)| check_slot(*i, 8, b))
            .collect();
        (snap, frames)
    }

    /// Every 64-bit field of the document survives a reader that parses numbers as doubles.
    #[test]
    fn large_identifiers_are_exact_strings() {
        let (mut snap, mut frames) = snapshot();
        let big = 17_430_500_756_243_077_655u64;
        snap.header.epoch = big;
        snap.header.write_index = big;
        snap.header.created_unix_ns = u64::MAX;
        snap.header.heartbeat_timestamp = big;
        frames[0].index = big;
        frames[0].t_ns = u64::MAX - 1;
        let text = to_json(&snap, &frames, 1).to_string();
        let v: Value = serde_json::from_str(&text).unwrap();
        let back = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        assert_eq!(back(&v["header"]["epoch"]), big);
        assert_eq!(back(&v["header"]["write_index"]), big);
        assert_eq!(back(&v["header"]["heartbeat_ms"]), big);
        assert_eq!(back(&v["header"]["created_unix_ns"]), u64::MAX);
        assert_eq!(back(&v["frames"][0]["index"]), big);
        assert_eq!(back(&v["frames"][0]["t_ns"]), u64::MAX - 1);
        assert!(!text.contains(&format!(":{big}")), "a bare number: {text}");
    }

    #[test]
    fn slots_are_checked_and_decoded() {
        let (snap, frames) = snapshot();
        assert_eq!(frames[0].status, "ok");
        assert!(matches!(frames[0].record, Some(Record::Vitals(v)) if v.hr_bpm == 72));
        assert_eq!(frames[1].status, "rejected");
        assert!(frames[1].error.as_deref().unwrap().contains("crc"));
        assert_eq!(frames[2].status, "not_committed");
        let v = to_json(&snap, &frames, 1_250);
        assert_eq!(v["header"]["frame_size"], 256);
        assert_eq!(v["header"]["frame_count"], 8);
        assert_eq!(v["header"]["crc_ok"], true);
        assert_eq!(v["header"]["heartbeat_age_ms"], 250);
        assert_eq!(v["schema"], json::SCHEMA);
        assert_eq!(v["header"]["epoch"], "43981");
        assert_eq!(v["frames"][0]["index"], "0");
        assert_eq!(v["frames"][0]["t_ns"], "42");
        assert!(v["frames"][0]["record"].get("schema").is_none());
        assert_eq!(v["frames"][0]["record"]["kind"], "vitals");
        assert_eq!(v["frames"][0]["record"]["hr"], 72);
        assert_eq!(v["frames"][0]["type"], "vitals");
        assert!(v["frames"][1]["record"].is_null());
        let t = to_text(&snap, &frames, 1_250);
        assert!(t.contains("epoch         0x000000000000abcd"), "{t}");
        assert!(t.contains("256 B x 8 frames"), "{t}");
        assert!(t.contains("HR 72 SpO2 98"), "{t}");
        assert!(t.contains("not_committed"), "{t}");
    }
}
