//! The Zenoh key layout: `vitalring/<host>/<channel>/<stream>`.
//!
//! | key | what is published there |
//! | --- | --- |
//! | `vitalring/<host>/<channel>/vitals` | vitals frames |
//! | `vitalring/<host>/<channel>/ecg_ii`, `pleth`, `resp` | waveform frames of that channel |
//! | `vitalring/<host>/<channel>/heartbeat` | heartbeat frames (type 3), if the producer writes any |
//! | `vitalring/<host>/<channel>/status` | the exporter's status, every 100 ms and on every change |
//! | `vitalring/<host>/<channel>/describe` | a queryable: the channel's describe metadata (JSON) |
//!
//! `<host>` and `<channel>` are single key chunks: 1 to 64 characters of `A-Z a-z 0-9 . _ -`
//! (a channel name's own rule), so no `*`, `$`, `?`, `#` or `/` can turn a name into a
//! wildcard or another level.

use vitalring_core::payload::Record;
use vitalring_core::vitals::Channel;

/// First chunk of every key.
pub const PREFIX: &str = "vitalring";

/// Whether `name` is a valid `<host>` or `<channel>` chunk.
pub fn valid_chunk(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The `<stream>` chunk a record is published under.
pub fn stream_of(record: &Record) -> &'static str {
    match record {
        Record::Vitals(_) => "vitals",
        Record::Waveform(w) => match w.channel {
            Channel::EcgII => "ecg_ii",
            Channel::Pleth => "pleth",
            Channel::Resp => "resp",
        },
        Record::Heartbeat => "heartbeat",
    }
}

/// Every data stream chunk, in a fixed order.
pub const DATA_STREAMS: [&str; 5] = ["vitals", "ecg_ii", "pleth", "resp", "heartbeat"];

/// The keys of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `vitalring/<host>/<channel>`.
    pub base: String,
}

impl Keys {
    /// The keys of `channel` on `host` (both checked with [`valid_chunk`] by the caller).
    pub fn new(host: &str, channel: &str) -> Self {
        Self {
            base: format!("{PREFIX}/{host}/{channel}"),
        }
    }

    /// `<base>/<stream>`.
    pub fn key(&self, stream: &str) -> String {
        format!("{}/{stream}", self.base)
    }

    /// `<base>/*`: every stream and the status (what an importer subscribes to).
    pub fn all(&self) -> String {
        format!("{}/*", self.base)
    }
}

/// This machine's host name as a key chunk, if it is one.
pub fn local_host_name() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
    // A fully qualified name keeps its dots: they are allowed in a chunk.
    valid_chunk(&name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks() {
        assert!(valid_chunk("bed-12.icu_a"));
        for bad in [
            "", "a/b", "*", "**", "a*", "$x", "a?b", "a#b", ".hidden", "a b",
        ] {
            assert!(!valid_chunk(bad), "{bad:?}");
        }
        assert!(!valid_chunk(&"x".repeat(65)));
        let k = Keys::new("bed-12", "default");
        assert_eq!(k.key("vitals"), "vitalring/bed-12/default/vitals");
        assert_eq!(k.all(), "vitalring/bed-12/default/*");
    }
}
