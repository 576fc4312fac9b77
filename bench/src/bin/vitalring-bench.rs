//! Stand-alone driver of the benchmark (the product's `vitalring bench` does the same).

use std::process::ExitCode;

use vitalring_bench::{peer_main, run, BenchError, BenchOptions, PEER_ARG};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(PEER_ARG) {
        return ExitCode::from(peer_main(&args).clamp(0, 255) as u8);
    }
    let opts = match BenchOptions::parse_args(args.iter().skip(1).cloned()) {
        Ok(o) => o,
        Err(BenchError::Usage(m)) if args.iter().any(|a| a == "--help" || a == "-h") => {
            print!("{m}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("vitalring-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(report) => {
            print!("{report}");
            if let Some(p) = &opts.json_out {
                eprintln!("JSON report written to {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vitalring-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
