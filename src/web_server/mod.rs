//! The mini nginx (work in progress).

use std::process::ExitCode;

use crate::cli::WebServerArgs;

pub fn main(_args: WebServerArgs) -> ExitCode {
    ExitCode::FAILURE
}

pub fn main_default() -> ExitCode {
    ExitCode::FAILURE
}
