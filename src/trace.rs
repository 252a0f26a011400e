//! Hop events: the contract between the servers and the tutor.
//!
//! With `--trace-json`, the web server and the WSGI server write one JSON object per line
//! to standard output, one for every step a request takes through them. The tutor reads
//! both streams and joins them on `request_id` (the `X-Request-Id` the web server sets), so
//! one request can be followed browser → web server → WSGI server → app → back.
//!
//! Every line has these fields:
//!
//! | field        | type            | meaning |
//! |--------------|-----------------|---------|
//! | `ts_us`      | integer         | monotonic clock in microseconds; on Linux and macOS it is the system-wide `CLOCK_MONOTONIC`, so events of both servers can be ordered against each other |
//! | `process`    | string          | `"web-server"` or `"wsgi-server"` |
//! | `pid`        | integer         | the process that emitted the event |
//! | `request_id` | string, absent  | 32 lowercase hex digits; absent on events that belong to no request |
//! | `event`      | string          | which hop; the remaining fields depend on it, see [`Hop`] |
//!
//! Headers are lists of `[name, value]` pairs in the order they were seen, values decoded as
//! UTF-8 with invalid bytes replaced. Times are microseconds.
//!
//! Example, a static file:
//!
//! ```json
//! {"ts_us":81236518,"process":"web-server","pid":4242,"request_id":"5f0c…","event":"received","method":"GET","target":"/static/style.css","version":"HTTP/1.1","headers":[["host","localhost:8080"]],"peer":"127.0.0.1:53712"}
//! {"ts_us":81236530,"process":"web-server","pid":4242,"request_id":"5f0c…","event":"location_matched","location":"/static","modifier":"","handler":"static"}
//! {"ts_us":81236561,"process":"web-server","pid":4242,"request_id":"5f0c…","event":"static_served","path":"/home/me/lab/static/style.css","status":200,"size":1432}
//! {"ts_us":81236590,"process":"web-server","pid":4242,"request_id":"5f0c…","event":"response_sent","status":200,"bytes":1432,"total_us":72,"headers":[["content-type","text/css"]]}
//! ```
//!
//! The stream is bounded: events go through a fixed-size queue to a writer thread, and when
//! the reader cannot keep up, events are dropped and counted instead of slowing the server;
//! a `dropped` event then says how many were lost.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use serde::{Deserialize, Serialize};

/// One `[name, value]` header pair.
pub type Header = (String, String);

/// Which server emitted an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Process {
    WebServer,
    WsgiServer,
}

/// One line of the trace stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub ts_us: u64,
    pub process: Process,
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub hop: Hop,
}

/// What happened at this hop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Hop {
    // ---- both servers -------------------------------------------------------------
    /// The server is accepting connections on `addr`.
    Listening { addr: String },
    /// A request arrived, as the client sent it.
    Received {
        method: String,
        target: String,
        version: String,
        headers: Vec<Header>,
        peer: String,
    },
    /// The response went back to the client: status line and headers as sent, body size.
    ResponseSent {
        status: u16,
        bytes: u64,
        total_us: u64,
        headers: Vec<Header>,
    },
    /// Something went wrong; `status` is the response it caused, if any. The web server
    /// sends one for each error-log line of a request (`connect() failed (111: Connection
    /// refused) while connecting to upstream`), without the log's client/request tail.
    Error {
        level: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// The writer could not keep up and this many events were lost.
    Dropped { count: u64 },

    // ---- web server ---------------------------------------------------------------
    /// The configuration chose a `location` block, and the content handler it runs.
    LocationMatched {
        location: String,
        modifier: String,
        handler: Handler,
    },
    /// A file or directory listing was answered from disk (or refused: see `status`).
    StaticServed {
        path: String,
        status: u16,
        size: u64,
    },
    /// The request was passed upstream: `headers` as sent, `added` those the web server set.
    Proxied {
        upstream: String,
        uri: String,
        version: String,
        headers: Vec<Header>,
        added: Vec<Header>,
    },
    /// The upstream's response head arrived.
    UpstreamAnswered {
        upstream: String,
        status: u16,
        time_us: u64,
    },
    /// A configuration reload: `ok` false means the old configuration keeps serving.
    ConfigReloaded {
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },

    // ---- WSGI server --------------------------------------------------------------
    /// Every worker is busy; the request waits. `queue_len` counts it.
    Queued { queue_len: usize },
    /// A worker took the request.
    Dispatched { worker_pid: u32, queue_us: u64 },
    /// The environ handed to the application (long values shortened).
    EnvironBuilt { environ: Vec<(String, String)> },
    /// The application called `start_response`.
    StartResponse {
        status: String,
        headers: Vec<Header>,
    },
    /// The body went out: how many non-empty chunks and bytes.
    BodySent { chunks: u64, bytes: u64 },
    /// The request is done; where its time went.
    Finished {
        status: u16,
        queue_us: u64,
        app_us: u64,
        total_us: u64,
    },
    /// The application raised, or broke a rule of PEP 3333.
    AppError {
        kind: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceback: Option<String>,
    },
    /// A worker process finished importing the application.
    WorkerBooted { worker_pid: u32 },
    /// A worker process exited, and why.
    WorkerExited { worker_pid: u32, reason: ExitReason },
    /// The number of workers changed.
    WorkersChanged { workers: usize },
    /// A line a worker's application printed (stdout, stderr or `wsgi.errors`); the
    /// request id is the one that worker was serving last.
    AppOutput { worker_pid: u32, line: String },
}

/// The content handler a location runs (nginx's content phase): on the wire `return`,
/// `proxy` or `static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handler {
    /// `return CODE [TEXT|URL]`.
    Return,
    /// `proxy_pass`: the request goes upstream.
    Proxy,
    /// Files from `root` / `alias`.
    Static,
}

impl std::fmt::Display for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handler::Return => "return",
            Handler::Proxy => "proxy",
            Handler::Static => "static",
        })
    }
}

/// Why a worker process exited; on the wire as the words gunicorn's logs would use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitReason {
    /// The server is stopping.
    #[serde(rename = "shutdown")]
    Shutdown,
    /// A newer generation of workers took over (SIGHUP, `reload`).
    #[serde(rename = "reload")]
    Reload,
    /// Fewer workers were asked for (SIGTTOU, `workers N`).
    #[serde(rename = "workers decreased")]
    WorkersDecreased,
    /// It served `--max-requests`.
    #[serde(rename = "max requests")]
    MaxRequests,
    /// It took longer than `--timeout` and was killed.
    #[serde(rename = "timeout")]
    Timeout,
    /// It could not import the application.
    #[serde(rename = "failed to boot")]
    FailedToBoot,
    /// It died on its own.
    #[serde(rename = "crash")]
    Crash,
}

impl ExitReason {
    /// The server meant it: not news for the learner.
    pub fn is_planned(self) -> bool {
        matches!(
            self,
            ExitReason::Shutdown | ExitReason::Reload | ExitReason::WorkersDecreased
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Shutdown => "shutdown",
            ExitReason::Reload => "reload",
            ExitReason::WorkersDecreased => "workers decreased",
            ExitReason::MaxRequests => "max requests",
            ExitReason::Timeout => "timeout",
            ExitReason::FailedToBoot => "failed to boot",
            ExitReason::Crash => "crash",
        }
    }
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Microseconds on the monotonic clock shared by every process on this machine.
#[cfg(unix)]
pub fn now_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// Microseconds since this process started (not comparable across processes on this OS).
#[cfg(not(unix))]
pub fn now_us() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Where a server sends its events. Cloning is cheap; a disabled sink costs one branch.
#[derive(Clone)]
pub struct TraceSink {
    inner: Option<Arc<SinkInner>>,
}

struct SinkInner {
    process: Process,
    pid: u32,
    tx: SyncSender<Event>,
    dropped: AtomicU64,
}

/// How many events may wait for the writer before new ones are dropped.
const QUEUE_EVENTS: usize = 16 * 1024;

impl TraceSink {
    /// A sink that records nothing.
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Events go, one JSON line each, to `out` from a writer thread.
    pub fn to_writer(process: Process, out: impl Write + Send + 'static) -> Self {
        let (tx, rx) = sync_channel(QUEUE_EVENTS);
        let inner = Arc::new(SinkInner {
            process,
            pid: std::process::id(),
            tx,
            dropped: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("trace-writer".into())
            .spawn(move || write_events(rx, out, weak))
            .expect("spawn trace writer thread");
        Self { inner: Some(inner) }
    }

    /// Events go to standard output.
    pub fn to_stdout(process: Process) -> Self {
        Self::to_writer(process, std::io::stdout())
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Record a hop. `hop` is only built when tracing is on.
    pub fn emit(&self, request_id: Option<&str>, hop: impl FnOnce() -> Hop) {
        let Some(inner) = &self.inner else { return };
        let event = Event {
            ts_us: now_us(),
            process: inner.process,
            pid: inner.pid,
            request_id: request_id.map(str::to_owned),
            hop: hop(),
        };
        match inner.tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                inner.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

fn write_events(rx: Receiver<Event>, out: impl Write, sink: std::sync::Weak<SinkInner>) {
    /// Under sustained load the queue never empties; losses are reported at least this often.
    const REPORT_EVERY: usize = 1024;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let report_drops = |out: &mut std::io::BufWriter<_>| {
        let Some(inner) = sink.upgrade() else { return };
        let count = inner.dropped.swap(0, Ordering::Relaxed);
        if count > 0 {
            let event = Event {
                ts_us: now_us(),
                process: inner.process,
                pid: inner.pid,
                request_id: None,
                hop: Hop::Dropped { count },
            };
            let _ = serde_json::to_writer(&mut *out, &event);
            let _ = out.write_all(b"\n");
        }
    };
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(event) = next {
            if serde_json::to_writer(&mut out, &event).is_err() || out.write_all(b"\n").is_err() {
                return;
            }
            written += 1;
            if written % REPORT_EVERY == 0 {
                report_drops(&mut out);
            }
            next = rx.try_recv().ok();
        }
        // The queue is empty: report losses, then let the reader see everything so far.
        report_drops(&mut out);
        if out.flush().is_err() {
            return;
        }
    }
}

/// Header pairs as the trace shows them.
pub fn headers_of(map: &hyper::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
