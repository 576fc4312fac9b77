//! `vitalring replay` (being written).
use crate::args::ReplayArgs;
use crate::error::{CliError, CliResult};
use crate::signals::Stop;

/// `vitalring replay`.
pub fn run(_args: &ReplayArgs, _stop: &Stop) -> CliResult {
    Err(CliError::failure("not yet"))
}
