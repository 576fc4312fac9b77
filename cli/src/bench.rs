//! `vitalring bench`: hands its arguments to `vitalring-bench`.

use crate::error::{CliError, CliResult};

/// Runs the benchmark with `args` (everything after `bench`) and prints its report.
///
/// # Errors
/// Bad arguments (exit 2) or a failed run (exit 1).
pub fn run(args: &[String]) -> CliResult {
    let opts = match vitalring_bench::BenchOptions::parse_args(args.iter().cloned()) {
        Ok(o) => o,
        Err(vitalring_bench::BenchError::Usage(text)) => {
            if args.iter().any(|a| a == "-h" || a == "--help") {
                print!("vitalring bench: cross-process benchmark\n\n{text}");
                return Ok(());
            }
            return Err(CliError::usage(text));
        }
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    let report = vitalring_bench::run(&opts).map_err(|e| CliError::failure(e.to_string()))?;
    print!("{report}");
    Ok(())
}
