//! The JSON bodies: the exporter's status (a `status` envelope's body) and the channel's
//! describe metadata (the `describe` queryable's reply).
//!
//! As in `vitalring monitor --json`, every 64-bit identifier (epochs, stream ids, indices) is a
//! string of decimal digits, and counts are numbers. Readers ignore unknown fields.

use serde::{Deserialize, Serialize};
use vitalring_core::session::SessionStats;

/// The exporter's figures of its source ring (the reader session's own counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceCounts {
    /// Frames delivered by the source ring to the exporter (heartbeat frames included).
    pub delivered: u64,
    /// Of them, heartbeat frames.
    pub heartbeats: u64,
    /// Frames lost in the source ring (the exporter was lapped).
    pub dropped: u64,
    /// Frames the exporter's session rejected (never published).
    pub rejected: u64,
    /// Stalls of the source producer.
    pub stalls: u64,
    /// Producers attached so far.
    pub epochs: u64,
}

impl SourceCounts {
    /// From a session's statistics.
    pub fn of(stats: &SessionStats) -> Self {
        Self {
            delivered: stats.total.delivered,
            heartbeats: stats.total_heartbeats,
            dropped: stats.total.dropped(),
            rejected: stats.total.rejected.total(),
            stalls: stats.stalls,
            epochs: stats.epochs,
        }
    }
}

/// The body of a status envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusBody {
    /// The source ring as the exporter sees it: `connected`, `stalled`, `producer_stopped`,
    /// `reconnecting`, `connecting`, `disconnected` — or `exporter_stopped` in the exporter's
    /// last message.
    pub state: String,
    /// The key's host chunk.
    pub host: String,
    /// The key's channel chunk.
    pub channel: String,
    /// Frames published so far in this stream (also the envelope's `seq`).
    pub published: u64,
    /// Frames whose publication Zenoh refused (they are gaps on the far side).
    pub publish_errors: u64,
    /// The source session's counters.
    pub source: SourceCounts,
}

/// The state string an importer treats as "the source is live".
pub const CONNECTED: &str = "connected";
/// The state of the exporter's last message.
pub const EXPORTER_STOPPED: &str = "exporter_stopped";

/// Parses a status body from the network.
///
/// # Errors
/// Not a JSON object of this shape (serde_json's message).
pub fn parse_status(body: &[u8]) -> Result<StatusBody, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad status body: {e}"))
}

/// The `describe` reply: what a far side needs to know about the channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Describe {
    /// 1.
    pub schema: u32,
    /// `vitalring-bridge <version>`.
    pub bridge: String,
    /// The envelope version of the samples.
    pub envelope_version: u8,
    /// The key's host chunk.
    pub host: String,
    /// The key's channel chunk.
    pub channel: String,
    /// `vitalring/<host>/<channel>`.
    pub key_base: String,
    /// Data stream chunks under the base (`vitals`, `ecg_ii`, …).
    pub streams: Vec<String>,
    /// This exporter run (decimal string).
    pub stream: String,
    /// The source ring's control socket on the exporting host.
    pub source_socket: String,
    /// The source producer's epoch (decimal string).
    pub epoch: String,
    /// Source slot size, bytes: an importer's ring needs slots at least this large.
    pub frame_size: u32,
    /// Source slot count.
    pub frame_count: u32,
    /// As in the status.
    pub state: String,
    /// Frames published so far.
    pub published: u64,
    /// The source session's counters.
    pub source: SourceCounts,
    /// The source producer's own metadata, from its `describe` answer on the control socket
    /// (`null` when it gave none, e.g. an older producer).
    pub producer: Option<ProducerMeta>,
}

/// A producer's channel metadata, as its `describe` answer gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProducerMeta {
    /// What produces the data: `simulator`, `replay`, `bridge`, …
    pub kind: String,
    /// One line for people.
    pub description: String,
    /// Payload encoding: `json`, `binary` or `unspecified`.
    pub encoding: String,
}

/// The importer's ring metadata for an exporter's describe: kind `bridge`, a description that
/// says where the data comes from (and what the source producer said about it), and the source's
/// encoding — always within the rules every producer's metadata must pass (description cut at a
/// character boundary, control characters replaced), so nothing a far side sends can make the
/// local `describe` invalid.
pub fn imported_meta(
    key_base: &str,
    producer: Option<&ProducerMeta>,
) -> vitalring_linux::ChannelMeta {
    use vitalring_linux::request::MAX_DESCRIPTION_LEN;
    let mut description = format!("imported from {key_base} over zenoh");
    let mut encoding = "unspecified".to_owned();
    if let Some(p) = producer {
        description.push_str(&format!(" ({}: {})", p.kind, p.description));
        if matches!(p.encoding.as_str(), "json" | "binary") {
            encoding.clone_from(&p.encoding);
        }
    }
    let mut clean: String = description
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    while clean.len() > MAX_DESCRIPTION_LEN {
        clean.pop();
    }
    let meta = vitalring_linux::ChannelMeta {
        kind: "bridge".into(),
        description: clean,
        encoding,
    };
    if meta.check().is_ok() {
        meta
    } else {
        vitalring_linux::ChannelMeta {
            kind: "bridge".into(),
            description: String::new(),
            encoding: "unspecified".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_and_unknown_fields() {
        let s = StatusBody {
            state: CONNECTED.into(),
            host: "h".into(),
            channel: "c".into(),
            published: 7,
            ..StatusBody::default()
        };
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(parse_status(&json).unwrap(), s);
        let extra = br#"{"state":"stalled","future_field":[1,2,3]}"#;
        assert_eq!(parse_status(extra).unwrap().state, "stalled");
        assert!(parse_status(b"[").is_err());
        assert!(parse_status(br#"{"published":-1}"#).is_err());
    }

    #[test]
    fn imported_meta_is_always_valid() {
        let plain = imported_meta("vitalring/h/c", None);
        assert_eq!(plain.kind, "bridge");
        assert_eq!(plain.description, "imported from vitalring/h/c over zenoh");
        assert_eq!(plain.encoding, "unspecified");
        let sim = ProducerMeta {
            kind: "simulator".into(),
            description: "bed 3, scenario normal".into(),
            encoding: "binary".into(),
        };
        let m = imported_meta("vitalring/h/c", Some(&sim));
        assert_eq!(
            m.description,
            "imported from vitalring/h/c over zenoh (simulator: bed 3, scenario normal)"
        );
        assert_eq!(m.encoding, "binary");
        // Whatever a far side sends: long, multi-byte, control characters, odd encodings.
        for description in [
            "é".repeat(300),
            "a\nb\u{0}c\u{7f}".to_owned(),
            "x".repeat(10_000),
        ] {
            let hostile = ProducerMeta {
                kind: "Kind With Spaces\n".into(),
                description,
                encoding: "utf-16".into(),
            };
            let m = imported_meta("vitalring/h/c", Some(&hostile));
            assert!(m.check().is_ok(), "{m:?}");
            assert_eq!(m.kind, "bridge");
            assert_eq!(m.encoding, "unspecified");
        }
    }
}
