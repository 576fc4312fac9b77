//! `vitalring ls`: the channels of this user, found by their sockets in the default directory
//! and probed with a `describe` request (see `vitalring_linux::discovery`). No broker: a
//! channel is live while its producer answers on its socket.

use std::io::Write;

use serde_json::{json, Value};
use vitalring_linux::discovery::{self, ChannelEntry, Liveness};

use crate::args::LsArgs;
use crate::error::{CliError, CliResult};

fn state(e: &ChannelEntry) -> &'static str {
    match e.liveness {
        Liveness::Live => "live",
        Liveness::Stale => "stale",
        Liveness::Unknown(_) => "unknown",
    }
}

/// The JSON object of one socket.
fn entry_json(e: &ChannelEntry) -> Value {
    let mut v = json!({
        "name": e.name,
        "socket": e.path.display().to_string(),
        "state": state(e),
    });
    if let Liveness::Unknown(errno) = e.liveness {
        v["error"] = json!(errno.desc().to_lowercase());
    }
    if let Some(s) = e.refused {
        v["refused"] = json!(s.name());
    }
    if let Some(d) = &e.describe {
        v["describe"] = serde_json::to_value(d).unwrap_or(Value::Null);
    }
    v
}

fn uptime(s: f64) -> String {
    let s = s.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `vitalring ls`.
///
/// # Errors
/// The directory cannot be read, or stdout is gone.
pub fn run(args: &LsArgs) -> CliResult {
    let dir = vitalring_linux::paths::default_socket_dir();
    let mut entries = discovery::list_channels_in(&dir)
        .map_err(|e| CliError::failure(format!("cannot list {}: {e}", dir.display())))?;
    let mut removed = Vec::new();
    if args.clean {
        for e in entries.iter().filter(|e| e.liveness == Liveness::Stale) {
            match discovery::remove_stale(e) {
                Ok(()) => removed.push(e.name.clone()),
                Err(why) => eprintln!("vitalring ls: kept {}: {why}", e.path.display()),
            }
        }
        entries.retain(|e| !removed.contains(&e.name));
    }
    if args.live_only {
        entries.retain(|e| e.liveness == Liveness::Live);
    }
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| CliError::failure(format!("cannot write: {e}"));
    if args.json {
        let list: Vec<Value> = entries.iter().map(entry_json).collect();
        writeln!(out, "{}", Value::Array(list)).map_err(io)?;
    } else {
        if entries.is_empty() {
            writeln!(out, "no channels in {}", dir.display()).map_err(io)?;
        } else {
            writeln!(
                out,
                "{:<16} {:<7} {:<10} {:<8} {:<14} {:<16} {:>8} {:>8} {:>7}  DESCRIPTION",
                "NAME",
                "STATE",
                "KIND",
                "ENCODING",
                "GEOMETRY",
                "EPOCH",
                "UPTIME",
                "RATE/S",
                "READERS"
            )
            .map_err(io)?;
        }
        for e in &entries {
            match &e.describe {
                Some(d) => writeln!(
                    out,
                    "{:<16} {:<7} {:<10} {:<8} {:<14} {:<16} {:>8} {:>8.1} {:>7}  {}",
                    e.name,
                    state(e),
                    d.kind,
                    d.encoding,
                    format!("{}x{}", d.frame_size, d.frame_count),
                    d.epoch,
                    uptime(d.uptime_s),
                    d.frame_rate_hz,
                    d.readers,
                    d.description
                ),
                None => writeln!(
                    out,
                    "{:<16} {:<7} {}",
                    e.name,
                    state(e),
                    match (e.liveness, e.refused) {
                        (_, Some(s)) => format!("(describe refused: {s})"),
                        (Liveness::Stale, _) =>
                            "(producer gone; `vitalring ls --clean` removes the socket)".into(),
                        (Liveness::Unknown(errno), _) =>
                            format!("({})", errno.desc().to_lowercase()),
                        (Liveness::Live, None) => "(no describe answer)".into(),
                    }
                ),
            }
            .map_err(io)?;
        }
    }
    for name in removed {
        eprintln!("vitalring ls: removed the stale socket of {name}");
    }
    Ok(())
}
