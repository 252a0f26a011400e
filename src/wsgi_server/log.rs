//! gunicorn-style logs on standard error: the error log (`[time] [pid] [LEVEL] message`)
//! and the access log (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`).
//!
//! Lines go to a [`LogSink`]: a writer thread that waits a few milliseconds after the first
//! line for more, so under load one write carries many lines; order is kept, and request
//! handlers never wait on the terminal (when it falls far behind, lines are dropped and a
//! `[WARNING]` line says how many). [`flush`] writes what is pending right away (before
//! the process exits).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::log_sink::{LogSink, Options};

struct Logger {
    sink: LogSink,
    offset: UtcOffset,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// How long the writer waits for more lines before writing a batch.
const BATCH_WAIT: Duration = Duration::from_millis(5);

/// Lines that may wait for the writer before new ones are dropped.
const QUEUE_LINES: usize = 16 * 1024;

/// Start the writer. Call before the runtime starts threads: the local UTC offset can only
/// be read safely while the process is single-threaded.
pub fn init() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    LOGGER.get_or_init(|| {
        let options = Options {
            thread_name: "log-writer",
            capacity: QUEUE_LINES,
            linger: BATCH_WAIT,
            dropped_line: Box::new(move |count| {
                error_line(
                    OffsetDateTime::now_utc().to_offset(offset),
                    std::process::id(),
                    Level::Warning,
                    &format!("{count} log lines dropped: the log writer fell behind"),
                )
            }),
        };
        let sink = LogSink::spawn(std::io::stderr(), options).expect("spawn the log writer thread");
        Logger { sink, offset }
    });
}

/// Queue `text` (which ends with its newline) for standard error.
fn send(text: String) {
    match LOGGER.get() {
        Some(logger) => {
            let mut line = text;
            // The sink ends every line itself.
            if line.ends_with('\n') {
                line.pop();
            }
            logger.sink.write_line(line);
        }
        None => eprint!("{text}"),
    }
}

fn now() -> OffsetDateTime {
    let offset = LOGGER.get().map_or(UtcOffset::UTC, |l| l.offset);
    OffsetDateTime::now_utc().to_offset(offset)
}

const ERROR_TIME: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
);
const ACCESS_TIME: &[FormatItem<'static>] = format_description!(
    "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
);

/// Severity, as gunicorn names it.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    Info,
    Warning,
    Error,
    Critical,
    /// A line the application printed (stdout, stderr or `wsgi.errors`).
    App,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
            Level::App => "APP",
        }
    }
}

/// One error-log entry; `pid` is the process it is about (the arbiter or a worker).
pub fn error_log(pid: u32, level: Level, message: &str) {
    let mut text = error_line(now(), pid, level, message);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    send(text);
}

fn error_line(time: OffsetDateTime, pid: u32, level: Level, message: &str) -> String {
    let time = time.format(ERROR_TIME).unwrap_or_default();
    format!("[{time}] [{pid}] [{}] {message}", level.name())
}

pub fn info(pid: u32, message: &str) {
    error_log(pid, Level::Info, message);
}

/// What the access log needs to know about one request.
pub struct Access<'a> {
    pub remote: &'a str,
    pub request_line: &'a str,
    pub status: u16,
    pub bytes: Option<u64>,
    pub referer: &'a str,
    pub user_agent: &'a str,
}

/// The access log's timestamp, formatted once per second (it has no finer resolution).
fn access_time() -> String {
    static CACHE: Mutex<(i64, String)> = Mutex::new((i64::MIN, String::new()));
    let now = now();
    let mut cache = CACHE.lock().expect("time cache lock");
    if cache.0 != now.unix_timestamp() {
        *cache = (
            now.unix_timestamp(),
            now.format(ACCESS_TIME).unwrap_or_default(),
        );
    }
    cache.1.clone()
}

/// One access-log line, in gunicorn's default format.
pub fn access(entry: &Access<'_>) {
    let time = access_time();
    let bytes = entry
        .bytes
        .map_or_else(|| "-".to_owned(), |b| b.to_string());
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    send(format!(
        "{} - - [{time}] \"{}\" {} {bytes} \"{}\" \"{}\"\n",
        entry.remote,
        entry.request_line,
        entry.status,
        dash(entry.referer),
        dash(entry.user_agent)
    ));
}

/// Write every line logged so far (before exiting).
pub fn flush() {
    if let Some(logger) = LOGGER.get() {
        logger.sink.flush();
    }
}
