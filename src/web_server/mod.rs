//! The web server: a mini nginx.
//!
//! It reads a real nginx-syntax configuration ([`config`]), and for each request chooses a
//! `server` and a `location` ([`location`]), then either answers from disk
//! ([`static_files`], [`autoindex`]) or passes the request upstream ([`proxy`],
//! [`upstream`]) — to the WSGI server, in the architecture the tutor teaches. [`handler`]
//! is that chain of steps, nginx's phases, each in a module of its own, all reading and
//! writing one [`exchange`]; [`listener`] accepts connections, reloads and shuts down;
//! [`log`] writes nginx-style access and error logs; [`uri`] decodes and normalises the
//! URI before anything looks at it.

pub mod autoindex;
pub mod check;
pub mod config;
pub mod content;
pub mod error_page;
pub mod exchange;
pub mod filters;
pub mod handler;
pub mod limits;
pub mod listener;
pub mod location;
pub mod log;
pub mod proxy;
pub mod responses;
pub mod rewrite;
pub mod server;
pub mod static_files;
pub mod upstream;
pub mod uri;
pub mod variables;

use std::path::Path;
use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::WebServerArgs;
use crate::trace::{Process, TraceSink};
use listener::{Control, WebServer};

/// `wsgi-tutor web-server -c CONF [-t] [--trace-json] [--control-stdin]`.
pub fn main(args: WebServerArgs) -> ExitCode {
    if args.test {
        return test_config(&args.config, args.port.clone());
    }
    let trace = if args.trace_json {
        TraceSink::to_stdout(Process::WebServer)
    } else {
        TraceSink::disabled()
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("wsgi-tutor: [emerg] cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match WebServer::load(args.config.clone(), args.port.clone(), trace) {
            Ok(server) => server,
            Err(err) => {
                eprintln!("wsgi-tutor: {err}");
                return ExitCode::FAILURE;
            }
        };
        let (tx, rx) = mpsc::channel::<Control>(8);
        listener::watch_signals(tx.clone());
        if args.control_stdin {
            listener::watch_stdin(tx.clone());
        }
        match server.run(rx).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("wsgi-tutor: [emerg] {err}");
                ExitCode::FAILURE
            }
        }
    })
}

/// One thread per CPU we may run on; on a single CPU (or when pinned to one) a
/// single-threaded runtime, which skips the cross-thread wake-ups.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
}

/// `-t`: check the configuration the way `nginx -t` does, and say so.
fn test_config(path: &Path, port_map: Vec<(u16, u16)>) -> ExitCode {
    let mut context = config::LoadContext::new(false, port_map);
    match config::load(path, &mut context) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("wsgi-tutor: {warning}");
            }
            eprintln!(
                "wsgi-tutor: the configuration file {} syntax is ok",
                path.display()
            );
            eprintln!(
                "wsgi-tutor: configuration file {} test is successful",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("wsgi-tutor: {err}");
            eprintln!(
                "wsgi-tutor: configuration file {} test failed",
                path.display()
            );
            ExitCode::FAILURE
        }
    }
}
