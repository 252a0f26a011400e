//! One worker process: how it is started, booted, watched and stopped.
//!
//! A worker is `python3 -c <assets/wsgi_worker.py> KIND TARGET CALLABLE`. Three small tasks
//! look after each one:
//!
//! - the **boot** task waits for the `B` frame (the app imported fine) or an `X` frame (it
//!   did not), and reports to the pool;
//! - the **reaper** owns the child process, waits for it to exit (or kills it when told
//!   to) and reports the exit to the pool, which starts a replacement; it reports only
//!   after the boot task has, so that the pool always hears "failed to boot" before
//!   "exited" (and never takes a worker that died while importing for a crash);
//! - the **output** task reads the worker's stderr line by line (where the worker points
//!   the app's `print`s and `wsgi.errors`) and logs each line with the worker's pid.
//!
//! The [`Worker`] handle itself is the two pipe ends the requests travel on. Dropping it
//! closes the worker's stdin, which is how a worker is asked to finish and exit.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{Notify, oneshot};

use super::app_spec::AppSpec;
use super::log::{self, Level};
use super::protocol::{self, FrameReader};
use super::python::Python;
use crate::trace::{Hop, TraceSink};

/// What every worker is started with.
pub struct WorkerConfig {
    pub python: Python,
    pub app: AppSpec,
    pub chdir: Option<PathBuf>,
    /// Also the longest a worker may take to import the app.
    pub timeout: Duration,
    /// Where the lines the app prints go, besides the log.
    pub sink: TraceSink,
}

/// A booted worker, ready for a request: the pipes to it and what the pool knows of it.
pub struct Worker {
    pub id: u64,
    pub pid: u32,
    pub generation: u64,
    pub served: u64,
    pub stdin: ChildStdin,
    pub reader: FrameReader<ChildStdout>,
    /// The request this worker serves (or served last), to tag what the app prints.
    pub request_id: Arc<Mutex<Option<String>>>,
}

/// What a worker's tasks tell the pool.
pub enum WorkerNews {
    Booted(Worker),
    BootFailed {
        id: u64,
        pid: u32,
        message: String,
        traceback: Option<String>,
    },
    Exited {
        id: u64,
        pid: u32,
        status: Option<ExitStatus>,
    },
}

/// A started worker process, not booted yet: its pid and the switch that kills it.
pub struct Spawned {
    pub pid: u32,
    pub kill: Arc<Notify>,
}

/// Start one worker process; its tasks report to `news`.
pub fn spawn(
    config: &WorkerConfig,
    id: u64,
    generation: u64,
    news: UnboundedSender<WorkerNews>,
) -> std::io::Result<Spawned> {
    let mut child = command(config).spawn()?;
    let pid = child.id().unwrap_or_default();
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    log::info(pid, &format!("Booting worker with pid: {pid}"));

    let request_id: Arc<Mutex<Option<String>>> = Arc::default();
    tokio::spawn(log_output(
        stderr,
        pid,
        request_id.clone(),
        config.sink.clone(),
    ));
    let kill = Arc::new(Notify::new());
    let (boot_told, boot_heard) = oneshot::channel();
    tokio::spawn(reap(child, id, pid, kill.clone(), news.clone(), boot_heard));
    let worker = Worker {
        id,
        pid,
        generation,
        served: 0,
        stdin,
        reader: FrameReader::new(stdout),
        request_id,
    };
    tokio::spawn(boot(worker, config.timeout, kill.clone(), news, boot_told));
    Ok(Spawned { pid, kill })
}

/// `python3 -c <worker script> KIND TARGET CALLABLE`, its three pipes ours.
fn command(config: &WorkerConfig) -> tokio::process::Command {
    let mut cmd = config.python.command();
    cmd.arg("-c")
        .arg(crate::embedded::WSGI_WORKER)
        .args(config.app.worker_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PYTHONUNBUFFERED", "1");
    if let Some(dir) = &config.chdir {
        cmd.current_dir(dir);
    }
    #[cfg(target_os = "linux")]
    {
        let arbiter = std::process::id();
        // SAFETY: prctl and getppid are async-signal-safe; between fork and exec we only ask
        // the kernel to kill this worker if the arbiter dies, so no worker outlives a crashed
        // or killed arbiter — also when it died before the signal was armed.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if u32::try_from(libc::getppid()).ok() != Some(arbiter) {
                    return Err(std::io::Error::other("the arbiter exited while starting"));
                }
                Ok(())
            });
        }
    }
    cmd
}

/// The output task: each line the worker writes to stderr, logged with its pid.
async fn log_output(
    stderr: ChildStderr,
    pid: u32,
    request_id: Arc<Mutex<Option<String>>>,
    sink: TraceSink,
) {
    // Bytes, not `lines()`: an app may print anything, and a line that is not UTF-8
    // must not stop the reading (the worker would then block on a full stderr pipe).
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        log::error_log(pid, Level::App, text);
        if sink.enabled() {
            let id = request_id.lock().expect("request id lock").clone();
            sink.emit(id.as_deref(), || Hop::AppOutput {
                worker_pid: pid,
                line: text.to_owned(),
            });
        }
        line.clear();
    }
}

/// The reaper: owns the child until it exits, by itself or killed when told to; tells the
/// pool once the boot task has told its news (bounded by the boot timeout).
async fn reap(
    mut child: Child,
    id: u64,
    pid: u32,
    kill: Arc<Notify>,
    news: UnboundedSender<WorkerNews>,
    boot_heard: oneshot::Receiver<()>,
) {
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        () = kill.notified() => {
            let _ = child.start_kill();
            child.wait().await.ok()
        }
    };
    let _ = boot_heard.await;
    let _ = news.send(WorkerNews::Exited { id, pid, status });
}

/// The boot task: the worker's first frame says whether the app imported.
async fn boot(
    mut worker: Worker,
    boot_timeout: Duration,
    kill: Arc<Notify>,
    news: UnboundedSender<WorkerNews>,
    boot_told: oneshot::Sender<()>,
) {
    let (id, pid) = (worker.id, worker.pid);
    let first = tokio::time::timeout(boot_timeout, worker.reader.next_frame()).await;
    let news_item = match first {
        Ok(Ok((protocol::BOOTED, _))) => WorkerNews::Booted(worker),
        Ok(Ok((protocol::ERROR, payload))) => {
            let report = AppErrorReport::parse(&payload);
            WorkerNews::BootFailed {
                id,
                pid,
                message: report.message,
                traceback: report.traceback,
            }
        }
        Ok(_) => WorkerNews::BootFailed {
            id,
            pid,
            message: "the worker exited before it finished importing the app".into(),
            traceback: None,
        },
        Err(_) => {
            kill.notify_one();
            WorkerNews::BootFailed {
                id,
                pid,
                message: format!(
                    "importing the app took longer than --timeout {} s",
                    boot_timeout.as_secs()
                ),
                traceback: None,
            }
        }
    };
    let _ = news.send(news_item);
    let _ = boot_told.send(());
}

/// The JSON of an `X` frame.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AppErrorReport {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub traceback: Option<String>,
}

impl AppErrorReport {
    pub fn parse(payload: &[u8]) -> Self {
        serde_json::from_slice(payload).unwrap_or_else(|_| AppErrorReport {
            kind: "protocol".into(),
            message: String::from_utf8_lossy(payload).into_owned(),
            traceback: None,
        })
    }
}

/// How gunicorn would describe an exit it did not ask for.
pub fn describe_exit(pid: u32, status: Option<ExitStatus>) -> String {
    let Some(status) = status else {
        return format!("Worker (pid:{pid}) exited");
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return if signal == libc::SIGKILL {
                format!("Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?")
            } else {
                format!("Worker (pid:{pid}) was sent signal {signal}!")
            };
        }
    }
    match status.code() {
        Some(code) => format!("Worker (pid:{pid}) exited with code {code}"),
        None => format!("Worker (pid:{pid}) exited"),
    }
}
