//! The command line: one binary, one subcommand per role in the architecture we teach.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A terminal tutor that shows how a Python web application is served:
/// browser → web server → WSGI server → application → and back.
#[derive(Debug, Parser)]
#[command(name = "wsgi-tutor", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub tutor: TutorArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to run the stack (the tutor's flags, and `serve`'s).
#[derive(Debug, Args, Clone)]
pub struct StackArgs {
    /// The web server's port (default 8080, or the next free one).
    #[arg(long, value_name = "PORT")]
    pub web_port: Option<u16>,
    /// The WSGI server's port (default 8000, or the next free one).
    #[arg(long, value_name = "PORT")]
    pub wsgi_port: Option<u16>,
    /// The WSGI application (default: the lab's apps/site.py, or builtin:site without Python).
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,
    /// WSGI worker processes.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,
    /// The web server's configuration (default: the lab's nginx.conf).
    #[arg(long, value_name = "CONF")]
    pub config: Option<PathBuf>,
    /// The lab folder with the files you edit (default: in your data directory).
    #[arg(long, value_name = "DIR")]
    pub lab: Option<PathBuf>,
}

/// The tutor's own flags (the screen, lessons, where state lives).
#[derive(Debug, Args, Clone, Default)]
pub struct TutorArgs {
    /// A lesson pack folder to use instead of the bundled lessons.
    #[arg(long, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// Where progress and the servers' logs live (default: your state directory).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// No colours (also when the NO_COLOR environment variable is set).
    #[arg(long)]
    pub no_color: bool,
    /// Colours for a light terminal background.
    #[arg(long)]
    pub light: bool,
    /// Leave the mouse to the terminal, so text can be selected and copied (M toggles).
    #[arg(long)]
    pub no_mouse: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Both servers without the tutor's screen, logs on the terminal (use your browser).
    Serve(StackArgs),
    /// For lesson authors: check a lesson pack.
    Lessons {
        #[command(subcommand)]
        command: LessonsCommand,
    },
    /// Your checklist: what is done, per lesson and task.
    Progress(ProgressArgs),
    /// The mini nginx: serves static files and passes other requests to the WSGI server.
    WebServer(WebServerArgs),
    /// The mini gunicorn: runs a Python WSGI application in prefork worker processes.
    WsgiServer(WsgiServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum LessonsCommand {
    /// Check a pack (default: the bundled lessons); every problem names file and line;
    /// exit status 1 on any.
    Check {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ProgressArgs {
    /// Print the checklist as JSON (for tools and instructors).
    #[arg(long)]
    pub json: bool,
    /// Wipe all progress (asks first, unless --yes).
    #[arg(long)]
    pub reset: bool,
    /// Do not ask before --reset.
    #[arg(long, requires = "reset")]
    pub yes: bool,
    /// Write the progress file to FILE (to move it to another machine or hand it in).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Merge a progress file written by --export into this one.
    #[arg(long, value_name = "FILE")]
    pub import: Option<PathBuf>,
    /// Where progress lives (default: your state directory).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The lesson pack the checklist is for (default: the bundled lessons).
    #[arg(long, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
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
    /// Take `reload` and `stop` commands, one per line, from standard input; end of input
    /// stops the server (how the tutor controls it on every platform).
    #[arg(long)]
    pub control_stdin: bool,
    /// Listen on / proxy to port TO wherever the configuration says FROM (repeatable); the
    /// tutor uses it to move off busy ports without editing your nginx.conf.
    #[arg(long, value_name = "FROM:TO", value_parser = parse_port_pair)]
    pub port: Vec<(u16, u16)>,
}

fn parse_port_pair(text: &str) -> Result<(u16, u16), String> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| format!("expected FROM:TO, like 8080:8081, got {text:?}"))?;
    let port = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("{s:?} is not a port number"))
    };
    Ok((port(from)?, port(to)?))
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
    #[arg(long = "graceful-timeout", value_name = "S", default_value_t = crate::control::GRACEFUL_TIMEOUT.as_secs())]
    pub graceful_timeout: u64,
    /// How long a connection may wait idle for its next request (0: no keep-alive).
    #[arg(long = "keep-alive", value_name = "S", default_value_t = 2)]
    pub keep_alive: u64,
    /// The most connections that may wait to be accepted (the kernel caps it at
    /// net.core.somaxconn); gunicorn's default.
    #[arg(long = "backlog", value_name = "N", default_value_t = crate::connection::accept::GUNICORN_BACKLOG,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    pub backlog: u32,
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
