//! `vitalring export` (being written).
use crate::args::ExportArgs;
use crate::error::{CliError, CliResult};

/// `vitalring export`.
pub fn run(_args: &ExportArgs) -> CliResult {
    Err(CliError::failure("not yet"))
}
