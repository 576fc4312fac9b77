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

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use error::CliResult;
use signals::Stop;

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Bench(b) => bench::run(&b.args),
        Command::Dump(d) => dump::run(&d),
        Command::Sim(s) => sim::run(&s, &Stop::on_signals()?),
        Command::Monitor(m) => monitor::run(&m, &Stop::on_signals()?),
        Command::Demo(d) => demo::run(&d, &Stop::on_signals()?),
    }
}

fn main() -> ExitCode {
    // The benchmark re-runs this executable as its writer and reader processes.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(vitalring_bench::PEER_ARG) {
        let code = vitalring_bench::peer_main(&argv);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = Cli::parse();
    let name = match &cli.command {
        Command::Sim(_) => "sim",
        Command::Monitor(_) => "monitor",
        Command::Dump(_) => "dump",
        Command::Bench(_) => "bench",
        Command::Demo(_) => "demo",
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vitalring {name}: error: {e}");
            ExitCode::from(e.code)
        }
    }
}
