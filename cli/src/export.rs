//! `vitalring export`: a recording as PhysioNet WFDB records and/or CSV files (the formats are
//! described in `vitalring_recorder::export` and `docs/recording.md`).

use crate::args::ExportArgs;
use crate::error::{CliError, CliResult};

/// `vitalring export`.
///
/// # Errors
/// The file is not a readable recording, or an output could not be written.
pub fn run(args: &ExportArgs) -> CliResult {
    let rec = vitalring_recorder::read(&args.file).map_err(|e| CliError::failure(e.to_string()))?;
    if !rec.closed_cleanly {
        eprintln!(
            "vitalring export: note: {} was not closed cleanly; exporting what it holds",
            args.file.display()
        );
    }
    if let Some(dir) = &args.wfdb {
        let names = vitalring_recorder::export::wfdb(&rec, dir)
            .map_err(|e| CliError::failure(e.to_string()))?;
        eprintln!(
            "vitalring export: {} WFDB record(s) in {}: {}",
            names.len(),
            dir.display(),
            names.join(" ")
        );
    }
    if let Some(dir) = &args.csv {
        let files = vitalring_recorder::export::csv(&rec, dir)
            .map_err(|e| CliError::failure(e.to_string()))?;
        eprintln!(
            "vitalring export: CSV in {}: {}",
            dir.display(),
            files.join(" ")
        );
    }
    Ok(())
}
