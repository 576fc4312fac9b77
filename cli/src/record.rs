//! `vitalring record`: the recorder of `vitalring-recorder` on a channel, stopped by
//! SIGINT/SIGTERM/SIGHUP or `--duration`, with one summary line on stderr at the end (and
//! nothing before it: a failure is exactly one line).

use std::time::Duration;

use vitalring_linux::{SourceConfig, Token};
use vitalring_recorder::{record, RecordConfig, RecordError};

use crate::args::RecordArgs;
use crate::error::{CliError, CliResult};
use crate::link::socket_path;
use crate::signals::Stop;

/// A recorder does not need the monitor's latency: sleeping up to 1 ms when the ring is
/// empty keeps its CPU cost low at clinical rates, and a ring of the default 2048 slots takes
/// far longer than 1 ms to fill at any rate the recorder can keep up with.
const RECORDER_MAX_SLEEP_US: u32 = 1000;

/// `vitalring record`.
///
/// # Errors
/// The output exists, no producer (exit 3), writing failed.
pub fn run(args: &RecordArgs, stop: &Stop) -> CliResult {
    let socket = socket_path(&args.endpoint);
    let mut source = SourceConfig::new(&socket, &args.endpoint.channel);
    if let Some(p) = &args.endpoint.token_file {
        source.token = Some(Token::from_file(p).map_err(|e| {
            CliError::failure(format!("cannot use token file {}: {e}", p.display()))
        })?);
    }
    source.max_sleep_us = RECORDER_MAX_SLEEP_US;
    let mut config = RecordConfig::new(source, &args.out);
    config.duration = args.duration.map(Duration::from_secs_f64);
    config.segment = args.segment.map(|m| Duration::from_secs_f64(m * 60.0));
    let stop = stop.clone();
    let summary = record(&config, &move || stop.requested()).map_err(|e| match e {
        RecordError::Connect(e) => CliError::connect(format!("cannot connect: {e}")),
        other => CliError::failure(other.to_string()),
    })?;
    let c = summary.captured;
    let files: Vec<String> = summary
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!(
        "vitalring record: wrote {}: vitals {} | ecg_ii {} pleth {} resp {} samples | events {} \
         | epochs {} | delivered {} dropped {} rejected {}",
        files.join(", "),
        c.vitals,
        c.samples[0],
        c.samples[1],
        c.samples[2],
        c.events,
        summary.epochs.len(),
        summary.total.delivered,
        summary.total.dropped(),
        summary.total.rejected.total()
    );
    Ok(())
}
