//! gunicorn-style logs on standard error: the error log (`[time] [pid] [LEVEL] message`)
//! and the access log (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`).
//!
//! Lines go through a channel to one writer thread, so request handlers never wait on the
//! terminal and the order of lines is the order they were logged. The writer flushes
//! whenever the channel runs empty; [`flush`] waits for that before the process exits.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

enum Line {
    Text(String),
    Flush(Sender<()>),
}

struct Logger {
    tx: std::sync::Mutex<Sender<Line>>,
    offset: UtcOffset,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Start the writer. Call before the runtime starts threads: the local UTC offset can only
/// be read safely while the process is single-threaded.
pub fn init() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let (tx, rx) = channel::<Line>();
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            let mut err = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
            while let Ok(first) = rx.recv() {
                let mut next = Some(first);
                while let Some(line) = next {
                    match line {
                        Line::Text(text) => {
                            let _ = err.write_all(text.as_bytes());
                        }
                        Line::Flush(done) => {
                            let _ = err.flush();
                            let _ = done.send(());
                        }
                    }
                    next = rx.try_recv().ok();
                }
                let _ = err.flush();
            }
        })
        .expect("spawn the log writer thread");
    let _ = LOGGER.set(Logger {
        tx: std::sync::Mutex::new(tx),
        offset,
    });
}

fn send(text: String) {
    match LOGGER.get() {
        Some(logger) => {
            let _ = logger.tx.lock().expect("log lock").send(Line::Text(text));
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

/// One access-log line, in gunicorn's default format.
pub fn access(entry: &Access<'_>) {
    let time = now().format(ACCESS_TIME).unwrap_or_default();
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

/// Wait until every line logged so far is written (before exiting).
pub fn flush() {
    let Some(logger) = LOGGER.get() else { return };
    let (tx, rx) = channel();
    if logger
        .tx
        .lock()
        .expect("log lock")
        .send(Line::Flush(tx))
        .is_ok()
    {
        let _ = rx.recv_timeout(std::time::Duration::from_secs(2));
    }
}
