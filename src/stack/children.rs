//! The stack as the tutor runs it: both servers as children with their trace on pipes,
//! steered by [`StackCmd`]s, reporting what happens as [`Report`]s.
//!
//! Reports go into a bounded channel of the caller's own message type (`M: From<Report>`),
//! so the tutor's loop reads them beside its key presses without this module knowing the
//! tutor.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::describe;
use super::supervisor::{self, ServerProcess, StackPlan};
use crate::cli::StackArgs;
use crate::control::{Command, GRACEFUL_TIMEOUT};
use crate::trace::{Event, Process};

/// How long the WSGI server gets to finish when the tutor stops or restarts it (quitting
/// stops the whole stack in order within [`GRACEFUL_TIMEOUT`]).
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the stack is asked to do.
#[derive(Debug)]
pub enum StackCmd {
    Control(Process, Command),
    StopWsgi,
    /// Start (or restart) the WSGI server with this app and number of workers.
    StartWsgi {
        app: String,
        workers: usize,
    },
    /// Stop both servers in order within the graceful timeout, web server first; the sender
    /// hears when they are gone.
    Shutdown(oneshot::Sender<()>),
}

/// Where the stack runs, once the ports and paths are settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub web_port: u16,
    pub wsgi_port: u16,
    pub lab: PathBuf,
    pub config: PathBuf,
    pub app: String,
    pub workers: usize,
    /// Said once at start, e.g. that python3 is missing.
    pub note: Option<String>,
    /// Where the servers' own logs go.
    pub log: PathBuf,
}

/// How a server came to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerExit {
    /// The tutor stopped it (`s`).
    Stopped,
    /// The tutor stopped it to start it again with another app.
    MakingWay,
    /// It exited on its own; the exit status as the OS words it.
    Exited(String),
}

/// What happened to the stack.
#[derive(Debug, Clone)]
pub enum Report {
    Planned(Planned),
    Started {
        process: Process,
        pid: u32,
    },
    Failed {
        process: Process,
        error: String,
    },
    Exited {
        process: Process,
        exit: ServerExit,
    },
    /// Trace events from one server, in the order read; `now_ms` counts from the start.
    Trace {
        events: Vec<Event>,
        now_ms: u64,
    },
    /// Something to tell the learner (a command that could not be sent, a failed plan).
    Notice(String),
}

/// Everything one run of the stack needs.
pub struct Stack<M> {
    pub args: StackArgs,
    /// The servers' stderr goes here (appended).
    pub log: PathBuf,
    pub tx: mpsc::Sender<M>,
    /// The clock trace batches are stamped with.
    pub started: Instant,
}

impl<M: From<Report> + Send + 'static> Stack<M> {
    async fn report(&self, report: Report) {
        let _ = self.tx.send(M::from(report)).await;
    }

    /// Work out ports and paths (off the loop: it probes ports and writes the lab) and say
    /// where the stack runs.
    async fn plan(&self) -> Option<StackPlan> {
        let args = self.args.clone();
        let planned = tokio::task::spawn_blocking(move || super::serve::plan(&args, true)).await;
        let (plan, note) = match planned {
            Ok(Ok(planned)) => planned,
            Ok(Err(error)) => return self.cannot_start(error).await,
            Err(error) => return self.cannot_start(error.to_string()).await,
        };
        self.report(Report::Planned(Planned {
            web_port: plan.web_port,
            wsgi_port: plan.wsgi_port,
            lab: plan.lab.clone(),
            config: plan.config.clone(),
            app: plan.app.clone(),
            workers: plan.workers,
            note,
            log: self.log.clone(),
        }))
        .await;
        Some(plan)
    }

    /// Plan, start both servers and serve commands until shut down or the channel closes.
    pub async fn run(self, mut cmds: mpsc::Receiver<StackCmd>) {
        let Some(mut plan) = self.plan().await else {
            return;
        };
        let mut wsgi = self.spawn(Process::WsgiServer, &plan).await;
        let mut web = self.spawn(Process::WebServer, &plan).await;
        loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => break,
                    Some(StackCmd::Shutdown(done)) => {
                        supervisor::stop_in_order(web.as_mut(), wsgi.as_mut(), GRACEFUL_TIMEOUT).await;
                        let _ = done.send(());
                        return;
                    }
                    Some(StackCmd::Control(process, command)) => {
                        let server = match process {
                            Process::WebServer => web.as_mut(),
                            Process::WsgiServer => wsgi.as_mut(),
                        };
                        self.control(process, server, command).await;
                    }
                    Some(StackCmd::StopWsgi) => {
                        if stop(&mut wsgi).await {
                            self.exited(Process::WsgiServer, ServerExit::Stopped).await;
                        }
                    }
                    Some(StackCmd::StartWsgi { app, workers }) => {
                        if stop(&mut wsgi).await {
                            self.exited(Process::WsgiServer, ServerExit::MakingWay).await;
                        }
                        plan.app = app;
                        plan.workers = workers;
                        wsgi = self.spawn(Process::WsgiServer, &plan).await;
                    }
                },
                status = wait(&mut wsgi) => {
                    wsgi = None;
                    self.exited(Process::WsgiServer, ServerExit::Exited(status)).await;
                }
                status = wait(&mut web) => {
                    web = None;
                    self.exited(Process::WebServer, ServerExit::Exited(status)).await;
                }
            }
        }
    }

    async fn cannot_start(&self, error: String) -> Option<StackPlan> {
        tracing::error!("cannot start the stack: {error}");
        self.report(Report::Notice(format!("cannot start the stack: {error}")))
            .await;
        None
    }

    async fn exited(&self, process: Process, exit: ServerExit) {
        tracing::info!("the {} stopped: {exit:?}", describe(process));
        self.report(Report::Exited { process, exit }).await;
    }

    async fn control(
        &self,
        process: Process,
        server: Option<&mut ServerProcess>,
        command: Command,
    ) {
        let result = match server {
            Some(p) => p.control(command).await.map_err(|e| e.to_string()),
            None => Err("it is not running".to_owned()),
        };
        if let Err(e) = result {
            tracing::warn!(
                "cannot send \"{command}\" to the {}: {e}",
                describe(process)
            );
            self.report(Report::Notice(format!(
                "cannot send \"{command}\" to the {}: {e}",
                describe(process)
            )))
            .await;
        }
    }

    /// Start one server with its trace on a pipe and its log in the state directory.
    async fn spawn(&self, process: Process, plan: &StackPlan) -> Option<ServerProcess> {
        let mut cmd = match process {
            Process::WebServer => plan.web_server_command(),
            Process::WsgiServer => plan.wsgi_server_command(),
        };
        // Signals from the terminal (SIGHUP when the window closes, Ctrl-C) are the tutor's
        // to handle: each server has its own process group (see `supervisor`), and the
        // tutor stops them in order; they still die with it (PDEATHSIG, stdin).
        cmd.stdout(Stdio::piped());
        cmd.stderr(log_file(&self.log, process));
        match ServerProcess::spawn(process, cmd) {
            Ok(mut server) => {
                if let Some(stdout) = server.child.stdout.take() {
                    tokio::spawn(read_trace(stdout, self.tx.clone(), self.started));
                }
                if let Some(pid) = server.pid() {
                    tracing::info!("the {} started, pid {pid}", describe(process));
                    self.report(Report::Started { process, pid }).await;
                }
                Some(server)
            }
            Err(error) => {
                let error = error.to_string();
                tracing::error!("cannot start the {}: {error}", describe(process));
                self.report(Report::Failed { process, error }).await;
                None
            }
        }
    }
}

/// The servers' shared log file, with a line that says who starts writing.
fn log_file(log: &Path, process: Process) -> Stdio {
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        Ok(mut file) => {
            let _ = writeln!(file, "---- wsgi-tutor: starting the {}", describe(process));
            file.into()
        }
        Err(_) => Stdio::null(),
    }
}

/// Stop a server if one runs; whether there was one.
async fn stop(server: &mut Option<ServerProcess>) -> bool {
    match server.take() {
        Some(mut p) => {
            p.stop(STOP_GRACE).await;
            true
        }
        None => false,
    }
}

async fn wait(server: &mut Option<ServerProcess>) -> String {
    match server.as_mut() {
        Some(p) => match p.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        },
        None => std::future::pending().await,
    }
}

/// Read JSON lines from a server, in batches of whatever is already buffered.
async fn read_trace<M: From<Report>>(
    stdout: tokio::process::ChildStdout,
    tx: mpsc::Sender<M>,
    started: Instant,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = String::new();
    let batch = |events| {
        let now_ms = started.elapsed().as_millis() as u64;
        M::from(Report::Trace { events, now_ms })
    };
    loop {
        let mut events: Vec<Event> = Vec::new();
        loop {
            line.clear();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => {
                    if !events.is_empty() {
                        let _ = tx.send(batch(events)).await;
                    }
                    return;
                }
                Ok(_) => {
                    if let Ok(event) = serde_json::from_str::<Event>(line.trim_end()) {
                        events.push(event);
                    }
                }
            }
            if reader.buffer().is_empty() || events.len() >= 512 {
                break;
            }
        }
        if !events.is_empty() && tx.send(batch(events)).await.is_err() {
            return;
        }
    }
}
