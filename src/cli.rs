//! The command line: one binary, one subcommand per role in the architecture we teach.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A terminal tutor that shows how a Python web application is served:
/// browser → web server → WSGI server → application → and back.
#[derive(Debug, Parser)]
#[command(name = "wsgi-tutor", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The mini nginx: serves static files and passes other requests to the WSGI server.
    WebServer(WebServerArgs),
    /// The mini gunicorn: runs a Python WSGI application in prefork worker processes.
    WsgiServer(WsgiServerArgs),
}

#[derive(Debug, Args, Clone)]
pub struct WebServerArgs {
    /// The configuration file (nginx syntax).
    #[arg(short = 'c', long = "config", value_name = "CONF")]
    pub config: PathBuf,
    /// Test the configuration and exit, like `nginx -t`.
    #[arg(short = 't', long = "test")]
    pub test: bool,
    /// Write one JSON line per hop event to standard output (the tutor reads these).
    #[arg(long)]
    pub trace_json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct WsgiServerArgs {
    /// The socket to bind, HOST:PORT.
    #[arg(
        short = 'b',
        long = "bind",
        value_name = "ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub bind: String,
    /// The number of worker processes.
    #[arg(short = 'w', long = "workers", value_name = "N", default_value_t = 1)]
    pub workers: usize,
    /// A worker busy for longer than this many seconds on one request (or on importing the
    /// app) is killed and replaced; its client gets 504.
    #[arg(short = 't', long = "timeout", value_name = "S", default_value_t = 30)]
    pub timeout: u64,
    /// How long in-flight requests may take to finish on shutdown.
    #[arg(long = "graceful-timeout", value_name = "S", default_value_t = 30)]
    pub graceful_timeout: u64,
    /// Restart a worker after it has served this many requests (0: never).
    #[arg(long = "max-requests", value_name = "N", default_value_t = 0)]
    pub max_requests: u64,
    /// Change to this directory before loading the application.
    #[arg(long = "chdir", value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Write one JSON line per hop event to standard output (the tutor reads these).
    #[arg(long)]
    pub trace_json: bool,
    /// Read control commands from standard input, one per line: `reload`, `workers N`,
    /// `workers +1`, `workers -1`, `stop`. The end of input stops the server.
    #[arg(long)]
    pub control_stdin: bool,
    /// The Python interpreter for the workers (default: python3, python, then py -3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
    /// The application: `module:callable`, `path/to/file.py:callable` or `builtin:NAME`.
    #[arg(value_name = "APP")]
    pub app: String,
}
