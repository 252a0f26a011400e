//! The mini gunicorn (work in progress).

use std::process::ExitCode;

use crate::cli::WsgiServerArgs;

pub fn main(_args: WsgiServerArgs) -> ExitCode {
    eprintln!("wsgi-tutor: the WSGI server is not built yet");
    ExitCode::FAILURE
}
