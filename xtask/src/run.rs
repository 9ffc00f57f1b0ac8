//! (Not written yet.)

use std::process::ExitCode;

use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> Result<ExitCode, DynError> {
    Err("this command is not implemented yet".into())
}
