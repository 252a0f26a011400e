//! gunicorn-style logs on standard error: the error log (`[time] [pid] [LEVEL] message`)
//! and the access log (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`).
//!
//! Lines are appended to a buffer that a writer thread empties a few milliseconds after
//! the first line arrives, so under load one write carries many lines and request handlers
//! never wait on the terminal; order is kept. [`flush`] writes what is pending right away
//! (before the process exits).

use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

struct Logger {
    pending: Mutex<Vec<u8>>,
    ready: Condvar,
    /// Held while writing, so batches reach stderr in the order they were taken.
    writing: Mutex<()>,
    offset: UtcOffset,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// How long the writer waits for more lines before writing a batch.
const BATCH_WAIT: Duration = Duration::from_millis(5);

/// Start the writer. Call before the runtime starts threads: the local UTC offset can only
/// be read safely while the process is single-threaded.
pub fn init() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let logger = LOGGER.get_or_init(|| Logger {
        pending: Mutex::new(Vec::new()),
        ready: Condvar::new(),
        writing: Mutex::new(()),
        offset,
    });
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            loop {
                {
                    let mut pending = logger.pending.lock().expect("log lock");
                    while pending.is_empty() {
                        pending = logger.ready.wait(pending).expect("log lock");
                    }
                }
                std::thread::sleep(BATCH_WAIT);
                write_pending(logger);
            }
        })
        .expect("spawn the log writer thread");
}

fn write_pending(logger: &Logger) {
    let _writing = logger.writing.lock().expect("log lock");
    let data = std::mem::take(&mut *logger.pending.lock().expect("log lock"));
    if !data.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&data);
        let _ = err.flush();
    }
}

fn send(text: String) {
    match LOGGER.get() {
        Some(logger) => {
            let mut pending = logger.pending.lock().expect("log lock");
            let was_empty = pending.is_empty();
            pending.extend_from_slice(text.as_bytes());
            drop(pending);
            if was_empty {
                logger.ready.notify_one();
            }
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
    let time = now().format(ERROR_TIME).unwrap_or_default();
    let mut text = format!("[{time}] [{pid}] [{}] {message}", level.name());
    if !text.ends_with('\n') {
        text.push('\n');
    }
    send(text);
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
        write_pending(logger);
    }
}
