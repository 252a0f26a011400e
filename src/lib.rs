//! wsgi-tutor teaches how a Python web application is served by running the architecture
//! it teaches.
//!
//! - [`web_server`] is the mini nginx: it reads an nginx-syntax configuration, answers
//!   static files itself and passes everything else upstream (`proxy_pass`).
//! - [`wsgi_server`] is the mini gunicorn: an arbiter that speaks HTTP, builds the PEP 3333
//!   environ and hands each request to a prefork Python worker process.
//! - [`trace`] is the contract between those servers and the tutor: one JSON line per hop.
//! - [`stack`] runs both servers as child processes (free ports, control over stdin, no
//!   orphans); `serve` and the tutor share it.
//! - [`control`] is the control commands the servers take on stdin and the tutor sends.
//! - [`tutor`] is the screen: it reads the stack's trace events and shows every request
//!   travel the stack beside the lessons.
//! - [`lessons`] is the curriculum: lesson packs, the tasks the tutor checks, progress.
//! - [`cli`] is the command line; `main.rs` only parses it and calls [`run`].

pub mod cli;
pub mod connection;
pub mod control;
pub mod embedded;
pub mod lab;
pub mod lessons;
pub mod log_sink;
pub mod stack;
pub mod trace;
pub mod tutor;
pub mod web_server;
pub mod wsgi_server;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Run one subcommand to completion; errors are printed here, in the style of the tool.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::WebServer(args)) => web_server::main(args),
        Some(Command::WsgiServer(args)) => wsgi_server::main(args),
        Some(Command::Serve(args)) => stack::serve::main(args),
        Some(Command::Lessons { command }) => lessons::main(command),
        Some(Command::Progress(args)) => lessons::progress_main(args),
        None => tutor::runner::main(cli.stack, cli.tutor),
    }
}
