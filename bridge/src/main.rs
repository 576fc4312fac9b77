//! `vitalring-bridge`: the command line over the library's `export` and `import`. See
//! `docs/bridge.md`.
#![deny(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use vitalring_bridge::args::{Cli, Command};
use vitalring_bridge::report::{Failure, EXIT_USAGE};
use vitalring_bridge::signals::Stop;
use vitalring_bridge::{export, import};
fn run(cli: &Cli) -> Result<(), Failure> {
    let stop = Stop::on_signals()?;
    match &cli.command {
        Command::Export(a) => export::run(a, &stop),
        Command::Import(a) => import::run(a, &stop),
    }
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
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
                .filter(|a| ["export", "import"].contains(a))
                .map_or_else(String::new, |a| format!(" {a}"));
            let _ = writeln!(
                std::io::stderr(),
                "vitalring-bridge{sub}: error: {}",
                Cli::one_line(&e)
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "vitalring-bridge {}: error: {}",
                cli.command.name(),
                e.message
            );
            ExitCode::from(e.code)
        }
    }
}
