//! The Zenoh configuration: a JSON5 file (`--config`), the flags on top of it, and the
//! bridge's safe defaults.
//!
//! Order: start from the file, or from Zenoh's defaults plus quick reconnection (first retry
//! after 100 ms, then at most every second); then `--mode`, `--listen` and `--connect` replace
//! the file's values when given. Multicast and gossip scouting are turned **off** whatever the
//! file says, unless `--scouting` is given: the bridge only talks to the endpoints it was told
//! (a patient's data must not go to whatever answers a multicast probe). Without a file, the
//! exporter listens on [`DEFAULT_LISTEN`] (loopback only).

use std::path::PathBuf;
use std::str::FromStr;

use zenoh::config::EndPoint;
use zenoh::Config;

/// Where an exporter listens when neither `--listen` nor a config file says: loopback only.
pub const DEFAULT_LISTEN: &str = "tcp/127.0.0.1:7447";

/// How long a publication may wait for room in Zenoh's send queue (microseconds, Zenoh's
/// `transport/link/tx/queue/congestion_control/block/wait_before_close`) before Zenoh gives up
/// on that link and closes it: the bound on how long a stuck link (a peer that stopped
/// reading) can hold the exporter's reader. 5 s, Zenoh's own default, stated here so it is
/// the bridge's decision: well within what a ring holds (2048 frames are about 15 s of a
/// patient monitor's stream), so the exporter catches up without losing a frame after a
/// hiccup of a few seconds, while a peer gone for longer is cut off rather than holding every
/// other importer back. A configuration file keeps its own value.
pub const BLOCK_LIMIT_US: u64 = 5_000_000;

/// Peer or client (a router is Zenoh's own `zenohd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Talks to its peers directly; may listen and connect (the default).
    Peer,
    /// Connects to one peer or router; never listens.
    Client,
}

impl Mode {
    fn json(self) -> &'static str {
        match self {
            Self::Peer => "\"peer\"",
            Self::Client => "\"client\"",
        }
    }
}

/// Zenoh flags common to `export` and `import`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ZenohArgs {
    /// Zenoh configuration file (JSON5, Zenoh's own format: endpoints, TLS, access control).
    /// The flags below override its values; scouting stays off unless --scouting is given.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Zenoh mode [default: peer, or the file's].
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Listen on this Zenoh endpoint, e.g. tcp/127.0.0.1:7447 or tcp/0.0.0.0:7447 (all
    /// interfaces: use TLS there, see docs/bridge.md); repeatable.
    #[arg(long, value_name = "ENDPOINT", value_parser = parse_endpoint)]
    pub listen: Vec<String>,
    /// Connect to this Zenoh endpoint, e.g. tcp/192.0.2.10:7447; repeatable. A peer keeps
    /// retrying an endpoint that is down (first after 100 ms, then every second).
    #[arg(long, value_name = "ENDPOINT", value_parser = parse_endpoint)]
    pub connect: Vec<String>,
    /// Allow Zenoh's multicast and gossip scouting (off by default: only the endpoints given
    /// are used).
    #[arg(long)]
    pub scouting: bool,
}

/// clap value parser: a Zenoh endpoint (`proto/address[?metadata][#config]`).
fn parse_endpoint(s: &str) -> Result<String, String> {
    let e = EndPoint::from_str(s).map_err(|e| format!("not a zenoh endpoint: {e}"))?;
    let proto = e.protocol();
    let proto = proto.as_str();
    if !SUPPORTED.contains(&proto) {
        return Err(format!(
            "protocol {proto:?} is not built into this bridge (it has: {})",
            SUPPORTED.join(", ")
        ));
    }
    Ok(s.to_owned())
}

/// The link protocols compiled in (cargo features of zenoh, see Cargo.toml).
#[cfg(feature = "tls")]
pub const SUPPORTED: &[&str] = &["tcp", "unixsock-stream", "tls"];
/// The link protocols compiled in (cargo features of zenoh, see Cargo.toml).
#[cfg(not(feature = "tls"))]
pub const SUPPORTED: &[&str] = &["tcp", "unixsock-stream"];

fn set(config: &mut Config, key: &str, value: &str) -> Result<(), String> {
    config
        .insert_json5(key, value)
        .map_err(|e| format!("zenoh configuration {key} = {value}: {e}"))
}

fn endpoints_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

/// Whether an endpoint's address is a loopback or Unix-socket one (nothing off this host).
pub fn is_local(endpoint: &str) -> bool {
    let Ok(e) = EndPoint::from_str(endpoint) else {
        return false;
    };
    if e.protocol().as_str() == "unixsock-stream" {
        return true;
    }
    let address = e.address();
    let address = address.as_str();
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The configuration for these flags. `default_listen` is used when neither the flags nor a
/// file name listen endpoints (the exporter's loopback default).
///
/// # Errors
/// The file cannot be read or parsed, a value is refused by Zenoh, or the flags contradict
/// each other (a client cannot listen) — as one line.
pub fn build(args: &ZenohArgs, default_listen: Option<&str>) -> Result<Config, String> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)
            .map_err(|e| format!("cannot use zenoh configuration {}: {e}", path.display()))?,
        None => {
            let mut c = Config::default();
            set(&mut c, "mode", Mode::Peer.json())?;
            set(
                &mut c,
                "connect/retry",
                "{period_init_ms: 100, period_max_ms: 1000, period_increase_factor: 2}",
            )?;
            // Zenoh's own default for a peer listens on every interface (`tcp/[::]:0`): never
            // that. The exporter's default is loopback; the importer listens nowhere unless told.
            let listen: Vec<String> = default_listen.map(str::to_owned).into_iter().collect();
            set(&mut c, "listen/endpoints", &endpoints_json(&listen))?;
            set(
                &mut c,
                "transport/link/tx/queue/congestion_control/block/wait_before_close",
                &BLOCK_LIMIT_US.to_string(),
            )?;
            c
        }
    };
    if let Some(mode) = args.mode {
        set(&mut config, "mode", mode.json())?;
    }
    if !args.listen.is_empty() {
        if args.mode == Some(Mode::Client) {
            return Err("a zenoh client cannot listen: drop --listen or use --mode peer".into());
        }
        set(
            &mut config,
            "listen/endpoints",
            &endpoints_json(&args.listen),
        )?;
    }
    if !args.connect.is_empty() {
        set(
            &mut config,
            "connect/endpoints",
            &endpoints_json(&args.connect),
        )?;
    }
    if args.mode == Some(Mode::Client) && args.config.is_none() {
        // A client has nothing to listen on; the exporter's default does not apply.
        set(&mut config, "listen/endpoints", "[]")?;
    }
    if !args.scouting {
        set(&mut config, "scouting/multicast/enabled", "false")?;
        set(&mut config, "scouting/gossip/enabled", "false")?;
    }
    Ok(config)
}

/// The endpoints a configuration listens on (for the start line and the exposure warning).
pub fn listen_endpoints(config: &Config) -> Vec<String> {
    endpoint_list(config, "listen/endpoints")
}

/// The endpoints a configuration connects to.
pub fn connect_endpoints(config: &Config) -> Vec<String> {
    endpoint_list(config, "connect/endpoints")
}

fn endpoint_list(config: &Config, key: &str) -> Vec<String> {
    let Ok(json) = config.get_json(key) else {
        return Vec::new();
    };
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        // Mode-dependent lists: {"peer": [...], "router": [...]}; show them all.
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter_map(|(_, v)| v.as_array().cloned())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_without_scouting() {
        let c = build(&ZenohArgs::default(), Some(DEFAULT_LISTEN)).unwrap();
        assert_eq!(listen_endpoints(&c), vec![DEFAULT_LISTEN.to_owned()]);
        assert_eq!(c.get_json("scouting/multicast/enabled").unwrap(), "false");
        assert_eq!(c.get_json("scouting/gossip/enabled").unwrap(), "false");
        assert_eq!(c.get_json("mode").unwrap(), "\"peer\"");
        assert_eq!(
            c.get_json("transport/link/tx/queue/congestion_control/block/wait_before_close")
                .unwrap(),
            BLOCK_LIMIT_US.to_string()
        );
    }

    #[test]
    fn flags_override_and_client_cannot_listen() {
        let args = ZenohArgs {
            connect: vec!["tcp/127.0.0.1:7000".into()],
            listen: vec!["tcp/127.0.0.1:7001".into()],
            ..ZenohArgs::default()
        };
        let c = build(&args, Some(DEFAULT_LISTEN)).unwrap();
        assert_eq!(listen_endpoints(&c), vec!["tcp/127.0.0.1:7001".to_owned()]);
        assert_eq!(connect_endpoints(&c), vec!["tcp/127.0.0.1:7000".to_owned()]);
        let args = ZenohArgs {
            mode: Some(Mode::Client),
            ..args
        };
        assert!(build(&args, None)
            .unwrap_err()
            .contains("client cannot listen"));
    }

    #[test]
    fn endpoints_are_checked() {
        assert!(parse_endpoint("tcp/127.0.0.1:7447").is_ok());
        assert!(parse_endpoint("nonsense").is_err());
        assert!(parse_endpoint("udp/127.0.0.1:7447").is_err());
        assert!(is_local("tcp/127.0.0.1:7447"));
        assert!(is_local("tcp/localhost:7447"));
        assert!(is_local("tcp/[::1]:7447"));
        assert!(!is_local("tcp/0.0.0.0:7447"));
        assert!(!is_local("tcp/192.0.2.1:7447"));
    }
}
