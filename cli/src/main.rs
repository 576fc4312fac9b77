//! `vitalring`: the command line of the vitalring shared-memory transport.
//!
//! | sub-command | module |
//! | --- | --- |
//! | `sim` | [`sim`]: the simulator as a paced ring producer, with transport faults |
//! | `monitor` | [`monitor`]: TUI / plain / JSON consumer of a `SensorDataSource` |
//! | `dump` | [`dump`]: header and newest frames, checked |
//! | `bench` | [`bench`]: `vitalring-bench` |
//! | `demo` | [`demo`]: sim child + monitor |
//!
//! Everything platform-specific goes through [`link`]. See `docs/cli.md`.
#![deny(unsafe_code)]

mod args;
mod bench;
mod clock;
mod demo;
mod dump;
mod error;
mod link;
mod monitor;
mod signals;
mod sim;

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
        Command::Monitor(m) => monitor::run(&m, &Stop::on_signals()?),
        Command::Demo(d) => demo::run(&d, &Stop::on_signals()?),
    }
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
    let cli = Cli::parse_checked();
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
