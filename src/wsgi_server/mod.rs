//! The WSGI server: a mini gunicorn.
//!
//! ```text
//!  client ──HTTP──► arbiter (Rust, hyper) ──frames over pipes──► worker (python3)
//!                   builds the environ                           app(environ, start_response)
//!                   queues requests                              streams status, headers, body
//!                   keeps N workers alive                        back
//! ```
//!
//! How the parts fit:
//!
//! - [`arbiter`] binds, accepts connections, obeys signals and [`control`] commands, and
//!   shuts down gracefully;
//! - [`handler`] is the path of one request: received → [`check`]ed → [`environ`] built →
//!   queued in the [`pool`] until a [`worker`] is free → [`exchange`]d with the worker over
//!   the [`protocol`] → response ([`body`]);
//! - [`pool`] keeps the worker processes: checkout, check-in, respawn (with a backoff while
//!   new workers fail to boot), reload, resize;
//! - [`worker`] starts one Python worker running `assets/wsgi_worker.py`, found by
//!   [`python`];
//! - [`builtin`] holds the Rust demo apps, for machines without Python;
//! - [`app_spec`] parses the APP argument, [`log`] writes gunicorn-style logs.

pub mod app_spec;
pub mod arbiter;
pub mod body;
pub mod builtin;
pub mod check;
pub mod control;
pub mod environ;
pub mod exchange;
pub mod handler;
pub mod log;
pub mod pool;
pub mod protocol;
pub mod python;
pub mod worker;

use std::process::ExitCode;

use crate::cli::WsgiServerArgs;
use app_spec::AppSpec;

/// `wsgi-tutor wsgi-server`: run until stopped; the exit code says how it went.
pub fn main(args: WsgiServerArgs) -> ExitCode {
    log::init();
    let app = match AppSpec::parse(&args.app) {
        Ok(app) => app,
        Err(error) => {
            eprintln!("wsgi-tutor wsgi-server: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = args.chdir.as_ref().filter(|d| !d.is_dir()) {
        eprintln!(
            "wsgi-tutor wsgi-server: --chdir {}: no such directory",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let python = match &app {
        AppSpec::Builtin(_) => None,
        _ => match python::discover(args.python.as_deref(), args.chdir.as_deref()) {
            Ok(python) => Some(python),
            Err(message) => {
                eprintln!("wsgi-tutor wsgi-server: {message}");
                return ExitCode::FAILURE;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wsgi-tutor wsgi-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(arbiter::run(args, app, python));
    // Workers are gone by now; do not wait for stray tasks (stdin readers) to finish.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}
