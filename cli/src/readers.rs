//! `vitalring readers CHANNEL`: the `stats` request, printed — the producer's counters and the
//! readers attached to it (the server's reader table).

use std::io::Write;

use serde_json::Value;
use vitalring_linux::request::{parse_stats, RequestKind, RequestStatus};

use crate::args::ReadersArgs;
use crate::ctl::{ask, refused};
use crate::error::{CliError, CliResult};

/// `vitalring readers`.
///
/// # Errors
/// No producer (exit 3), a refusal (exit 1).
pub fn run(args: &ReadersArgs) -> CliResult {
    let reply = ask(&args.target, RequestKind::Stats, &[])?;
    let channel = &args.target.channel;
    if reply.status != RequestStatus::Ok {
        return Err(refused(channel, "stats", &reply));
    }
    let stats = parse_stats(&reply.body)
        .map_err(|e| CliError::failure(format!("invalid stats from {channel}: {e}")))?;
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| CliError::failure(format!("cannot write: {e}"));
    if args.json {
        let v = serde_json::to_value(&stats).unwrap_or(Value::Null);
        return writeln!(out, "{v}").map_err(io);
    }
    let p = &stats.producer;
    let d = &stats.channel;
    writeln!(
        out,
        "{channel}: {} ({}), epoch {}, pid {}, up {:.0} s | published {} ({:.1}/s) | served {} \
         refused {} evicted {} requests {} | {} reader(s)",
        d.kind,
        d.description,
        d.epoch,
        d.pid,
        d.uptime_s,
        p.published,
        d.frame_rate_hz,
        p.served,
        p.refused,
        p.evicted,
        p.requests,
        stats.readers.len()
    )
    .map_err(io)?;
    if !stats.readers.is_empty() {
        writeln!(
            out,
            "{:>4} {:>8} {:>6} {:>12} {:>8} {:>10} {:>8} {:>8} {:>8}",
            "ID", "PID", "UID", "POSITION", "LAG", "DELIVERED", "DROPPED", "REJECTED", "SLEEPING"
        )
        .map_err(io)?;
    }
    for r in &stats.readers {
        writeln!(
            out,
            "{:>4} {:>8} {:>6} {:>12} {:>8} {:>10} {:>8} {:>8} {:>8}",
            r.id, r.pid, r.uid, r.position, r.lag, r.delivered, r.dropped, r.rejected, r.sleeping
        )
        .map_err(io)?;
    }
    Ok(())
}
