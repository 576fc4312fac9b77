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
}
