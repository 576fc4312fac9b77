//! `vitalring`: the command line of the vitalring shared-memory transport.
//!
//! | sub-command | module |
//! | --- | --- |
//! | `sim` | [`sim`]: the simulator as a paced ring producer, with transport faults |
//! | `monitor` | [`monitor`]: TUI / plain / JSON consumer of a `SensorDataSource` |
//! | `dump` | [`dump`]: header and newest frames, checked |
//! | `bench` | [`bench`]: `vitalring-bench` |
//! | `demo` | [`demo`]: sim child + monitor |
//! | `ls` | [`ls`]: the channels of this user, live or stale |
//! | `ctl` | [`ctl`]: requests to a producer (describe, stats, commands) |
//! | `readers` | [`readers`]: a producer's counters and attached readers |
//! | `record`, `replay`, `export` | [`record`], [`replay`], [`export`]: HDF5 recordings (`vitalring-recorder`) |
//! | `station` (= `monitor --all`) | [`station`]: every live channel at once, one tile per bed |
//!
//! Everything platform-specific goes through [`link`]. See `docs/cli.md`.
#![deny(unsafe_code)]

mod args;
mod bench;
mod clock;
mod ctl;
mod demo;
mod dump;
mod error;
mod export;
mod link;
mod ls;
mod monitor;
mod readers;
mod record;
mod replay;
mod signals;
mod sim;
mod station;
mod terminal;

use std::io::Write;
use std::process::ExitCode;

use args::{Cli, Command};
use error::{CliResult, EXIT_USAGE};
use signals::Stop;

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Bench(b) => bench::run(&b.args),
        Command::Dump(d) => dump::run(&d),
        Command::Sim(s) => {
            // Set by `demo` on its child: the directory goes when this process does, on every
            // way out that runs destructors (return, error, panic, a stop by signal).
            let _dir = s
                .remove_dir_on_exit
                .clone()
                .zip(s.endpoint.socket.clone())
                .map(|(dir, socket)| demo::RemoveOnDrop::new(dir, socket));
            sim::run(&s, &Stop::on_signals()?)
        }
        Command::Monitor(m) if m.all => station::run(
            &station::args::StationArgs::from_monitor(&m),
            &Stop::on_signals()?,
        ),
        Command::Monitor(m) => monitor::run(&m, &Stop::on_signals()?),
        Command::Station(s) => station::run(&s, &Stop::on_signals()?),
        Command::Demo(d) => demo::run(&d, &Stop::on_signals()?),
        Command::Record(r) => record::run(&r, &Stop::on_signals()?),
        Command::Replay(r) => replay::run(&r, &Stop::on_signals()?),
        Command::Export(x) => export::run(&x),
        Command::Ls(l) => ls::run(&l),
        Command::Ctl(c) => ctl::run(&c),
        Command::Readers(r) => readers::run(&r),
    }
}

/// `--help` and `--version` as clap prints them; any other parse error as one line,
/// `vitalring <sub-command>: error: <what>`, and exit status 2.
fn usage_error(e: &clap::Error, argv: &[std::ffi::OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE));
    }
    let sub = argv
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| {
            [
                "sim", "monitor", "dump", "bench", "demo", "record", "replay", "export", "ls",
                "ctl", "readers", "station",
            ]
            .contains(a)
        })
        .map_or_else(String::new, |a| format!(" {a}"));
    let _ = writeln!(
        std::io::stderr(),
        "vitalring{sub}: error: {}",
        Cli::one_line(e)
    );
    ExitCode::from(EXIT_USAGE)
}

fn main() -> ExitCode {
    // The benchmark re-runs this executable as its writer and reader processes. Arguments are
    // read as `OsString`s: a non-UTF-8 argument is clap's to judge, never a panic here.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == vitalring_bench::PEER_ARG) {
        let Some(argv) = argv
            .into_iter()
            .map(|a| a.into_string().ok())
            .collect::<Option<Vec<String>>>()
        else {
            let _ = writeln!(
                std::io::stderr(),
                "vitalring: error: benchmark peer arguments are not UTF-8"
            );
            return ExitCode::from(EXIT_USAGE);
        };
        let code = vitalring_bench::peer_main(&argv);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = match Cli::parse_checked(&argv) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &argv),
    };
    let name = cli.command.name();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`: it panics when stderr is gone (a closed terminal gives EIO).
            let _ = writeln!(std::io::stderr(), "vitalring {name}: error: {e}");
            ExitCode::from(e.code)
        }
    }
}
