//! The access log (nginx's `combined` format, or a `log_format` of your own) and the error
//! log (`2026/11/24 10:48:45 [error] 4242#0: *5 connect() failed ...`).
//!
//! Each log file is a [`LogSink`]: a writer thread fed through a bounded queue, so a request
//! never waits for the disk; when the writer falls behind, lines are dropped, counted, and
//! reported in an error-log line of their own. Files are opened once and shared across
//! configuration reloads. `access` holds the formats and the response body that writes
//! the access line when the last byte has gone out.

mod access;

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use access::{AccessLog, LogFormat, TrackedBody, track};

use crate::log_sink::{LogSink, Options};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogTarget {
    Stdout,
    Stderr,
    File(PathBuf),
}

/// Lines that may wait for a log file's writer before new ones are dropped.
const QUEUE_LINES: usize = 4096;

/// One open log destination with its writer thread.
pub struct LogFile {
    sink: LogSink,
}

impl LogFile {
    fn open(target: &LogTarget) -> std::io::Result<LogFile> {
        let out: Box<dyn Write + Send> = match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::Stderr => Box::new(std::io::stderr()),
            LogTarget::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                )
            }
        };
        let options = Options {
            thread_name: "log-writer",
            capacity: QUEUE_LINES,
            linger: Duration::ZERO,
            dropped_line: Box::new(|count| {
                error_line(
                    Level::Warn,
                    None,
                    format_args!("{count} log lines dropped: the log writer fell behind"),
                )
            }),
        };
        Ok(LogFile {
            sink: LogSink::spawn(out, options)?,
        })
    }

    /// Queue one line (without its newline). Never waits; see [`LogSink::write_line`].
    pub fn write_line(&self, line: String) {
        self.sink.write_line(line);
    }
}

/// Log files by destination, kept across reloads so a reload does not reopen them.
pub struct LogFiles {
    open: HashMap<LogTarget, Arc<LogFile>>,
    /// Where the access log goes when the configuration names none.
    pub default_access: LogTarget,
    /// With `--trace-json`, standard output carries trace events only; logs meant for it
    /// go to standard error instead.
    stdout_is_trace: bool,
}

impl LogFiles {
    pub fn new(stdout_is_trace: bool) -> Self {
        Self {
            open: HashMap::new(),
            default_access: LogTarget::Stdout,
            stdout_is_trace,
        }
    }

    pub fn open(&mut self, target: &LogTarget) -> std::io::Result<Arc<LogFile>> {
        let target = match target {
            LogTarget::Stdout if self.stdout_is_trace => &LogTarget::Stderr,
            other => other,
        };
        if let Some(file) = self.open.get(target) {
            return Ok(file.clone());
        }
        let file = Arc::new(LogFile::open(target)?);
        self.open.insert(target.clone(), file.clone());
        Ok(file)
    }
}

/// Error log severities, nginx's names and order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Crit,
    Alert,
    Emerg,
}

impl Level {
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "notice" => Level::Notice,
            "warn" => Level::Warn,
            "error" => Level::Error,
            "crit" => Level::Crit,
            "alert" => Level::Alert,
            "emerg" => Level::Emerg,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Crit => "crit",
            Level::Alert => "alert",
            Level::Emerg => "emerg",
        }
    }
}

pub struct ErrorLog {
    file: Arc<LogFile>,
    level: Level,
}

impl ErrorLog {
    pub fn new(file: Arc<LogFile>, level: Level) -> Self {
        Self { file, level }
    }

    pub fn enabled(&self, level: Level) -> bool {
        level >= self.level
    }

    /// One line in nginx's shape; `connection` is the `*N` connection number, if any.
    pub fn log(&self, level: Level, connection: Option<u64>, message: fmt::Arguments) {
        if !self.enabled(level) {
            return;
        }
        self.file.write_line(error_line(level, connection, message));
    }
}

fn error_line(level: Level, connection: Option<u64>, message: fmt::Arguments) -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(local_offset());
    let stamp = now
        .format(time::macros::format_description!(
            "[year]/[month]/[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let conn = connection.map(|c| format!("*{c} ")).unwrap_or_default();
    format!(
        "{stamp} [{}] {}#0: {conn}{message}",
        level.as_str(),
        std::process::id()
    )
}

/// The local UTC offset, read once (it cannot be read safely once threads are running).
pub fn local_offset() -> time::UtcOffset {
    use std::sync::OnceLock;
    static OFFSET: OnceLock<time::UtcOffset> = OnceLock::new();
    *OFFSET.get_or_init(|| time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC))
}
