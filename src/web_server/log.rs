//! The access log (nginx's `combined` format, or a `log_format` of your own) and the error
//! log (`2026/11/24 10:48:45 [error] 4242#0: *5 connect() failed ...`).
//!
//! Each log file is written by its own thread fed through a bounded queue, so a request
//! never waits for the disk, and lines written close together reach the file in one write.
//! Files are opened once and shared across configuration reloads.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::variables::{Template, Var, VarSource};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogTarget {
    Stdout,
    Stderr,
    File(PathBuf),
}

/// One open log destination with its writer thread.
pub struct LogFile {
    tx: SyncSender<String>,
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
        let (tx, rx) = sync_channel(4096);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(rx, out))?;
        Ok(LogFile { tx })
    }

    /// Queue one line (without its newline). Waits only when the writer is far behind.
    pub fn write_line(&self, line: String) {
        let _ = self.tx.send(line);
    }
}

fn write_lines(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(line) = next {
            if out.write_all(line.as_bytes()).is_err() || out.write_all(b"\n").is_err() {
                return;
            }
            next = rx.try_recv().ok();
        }
        if out.flush().is_err() {
            return;
        }
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

/// `log_format name [escape=json] '...'`.
pub struct LogFormat {
    pub name: String,
    template: Template,
    escape_json: bool,
    /// Whether it logs response headers (`$sent_http_*`), which then must be kept.
    pub uses_response_headers: bool,
}

impl LogFormat {
    pub fn new(name: &str, template: Template, escape_json: bool) -> Self {
        Self {
            name: name.to_owned(),
            uses_response_headers: template.mentions_any(|v| matches!(v, Var::SentHttp(_))),
            template,
            escape_json,
        }
    }

    /// nginx's predefined format.
    pub fn combined() -> Self {
        let text = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
        Self::new(
            "combined",
            Template::parse(text).expect("combined parses"),
            false,
        )
    }
}

#[derive(Clone)]
pub struct AccessLog {
    pub file: Arc<LogFile>,
    pub format: Arc<LogFormat>,
}

impl AccessLog {
    pub fn write(&self, source: &dyn VarSource) {
        let escaping = Escaping {
            inner: source,
            json: self.format.escape_json,
        };
        let mut line = String::with_capacity(160);
        self.format.template.render_into(&escaping, &mut line);
        self.file.write_line(line);
    }
}

/// Values in a log line are escaped as nginx does, and a missing one is logged as `-`.
struct Escaping<'a> {
    inner: &'a dyn VarSource,
    json: bool,
}

impl VarSource for Escaping<'_> {
    fn write_var(&self, var: &Var, out: &mut String) {
        let mut value = String::new();
        self.inner.write_var(var, &mut value);
        if value.is_empty() && !self.json {
            out.push('-');
            return;
        }
        for c in value.chars() {
            match c {
                '"' | '\\' if self.json => {
                    out.push('\\');
                    out.push(c);
                }
                '"' | '\\' => {
                    out.push_str(&format!("\\x{:02X}", c as u32));
                }
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    if self.json {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        out.push_str(&format!("\\x{:02X}", c as u32));
                    }
                }
                c => out.push(c),
            }
        }
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
        let now = time::OffsetDateTime::now_utc().to_offset(local_offset());
        let stamp = now
            .format(time::macros::format_description!(
                "[year]/[month]/[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        let conn = connection.map(|c| format!("*{c} ")).unwrap_or_default();
        self.file.write_line(format!(
            "{stamp} [{}] {}#0: {conn}{message}",
            level.as_str(),
            std::process::id()
        ));
    }
}

/// The local UTC offset, read once (it cannot be read safely once threads are running).
pub fn local_offset() -> time::UtcOffset {
    use std::sync::OnceLock;
    static OFFSET: OnceLock<time::UtcOffset> = OnceLock::new();
    *OFFSET.get_or_init(|| time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Req;
    impl VarSource for Req {
        fn write_var(&self, var: &Var, out: &mut String) {
            match var {
                Var::RemoteAddr => out.push_str("127.0.0.1"),
                Var::TimeLocal => out.push_str("24/Nov/2026:10:00:00 +0000"),
                Var::Request => out.push_str("GET /a\"b HTTP/1.1"),
                Var::Status => out.push_str("200"),
                Var::BodyBytesSent => out.push('5'),
                Var::Http(name) if name == "user-agent" => out.push_str("curl/8"),
                _ => {}
            }
        }
    }

    #[test]
    fn combined_lines_look_like_nginx_s() {
        let format = LogFormat::combined();
        let escaping = Escaping {
            inner: &Req,
            json: false,
        };
        let mut line = String::new();
        format.template.render_into(&escaping, &mut line);
        assert_eq!(
            line,
            "127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] \"GET /a\\x22b HTTP/1.1\" 200 5 \"-\" \"curl/8\""
        );
    }
}
