//! The stack as the tutor knows it: the two servers, the workers, the app and how many
//! workers were asked for. Fed by the stack's reports and the trace's stack hops; says what
//! the learner should read and what the open lesson should hear.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use super::notices::Notices;
use crate::lessons::tasks::{EventKind, StackEvent};
use crate::stack::children::{Planned, ServerExit};
use crate::stack::describe;
use crate::trace::{Event, ExitReason, Hop, Process};

/// A process of the stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerView {
    pub pid: Option<u32>,
    pub port: u16,
    pub state: ServerState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerState {
    #[default]
    Starting,
    Listening,
    Stopped,
    Failed,
}

/// A WSGI worker process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerView {
    pub served: u64,
}

/// How many worker exits the workers panel remembers.
const EXITS_KEPT: usize = 20;

#[derive(Debug, Default)]
pub struct StackView {
    pub web: ServerView,
    pub wsgi: ServerView,
    pub workers: BTreeMap<u32, WorkerView>,
    /// Worker exits, newest last.
    pub worker_exits: VecDeque<(u32, ExitReason)>,
    /// The workers asked for (the pool reports what it runs).
    pub worker_count: usize,
    pub app_spec: String,
    pub lab: PathBuf,
    pub config: PathBuf,
    /// An app the WSGI server is restarting with: the switch counts (for the lessons) once
    /// the app is up, not when it was asked for.
    switching_to: Option<String>,
    /// Start-up reports (the first worker count, the first start) are not the learner's
    /// doing.
    seen_workers: bool,
    seen_wsgi_stop: bool,
}

fn event(kind: EventKind) -> StackEvent {
    StackEvent {
        kind,
        ok: true,
        workers: None,
        app: None,
    }
}

impl StackView {
    fn server_mut(&mut self, process: Process) -> &mut ServerView {
        match process {
            Process::WebServer => &mut self.web,
            Process::WsgiServer => &mut self.wsgi,
        }
    }

    pub fn planned(&mut self, plan: Planned, notices: &mut Notices) {
        self.web.port = plan.web_port;
        self.wsgi.port = plan.wsgi_port;
        self.lab = plan.lab;
        self.config = plan.config;
        self.app_spec = plan.app;
        self.worker_count = plan.workers;
        notices.say(plan.note.unwrap_or_else(|| {
            format!(
                "lab folder {} · server logs in {}",
                self.lab.display(),
                plan.log.display()
            )
        }));
    }

    pub fn started(&mut self, process: Process, pid: u32) {
        let view = self.server_mut(process);
        view.pid = Some(pid);
        view.state = ServerState::Starting;
    }

    pub fn failed(&mut self, process: Process, error: &str, notices: &mut Notices) {
        if process == Process::WsgiServer {
            self.switching_to = None;
        }
        self.server_mut(process).state = ServerState::Failed;
        notices.say(format!(
            "the {} could not start: {error}",
            describe(process)
        ));
    }

    pub fn exited(
        &mut self,
        process: Process,
        exit: &ServerExit,
        notices: &mut Notices,
    ) -> Vec<StackEvent> {
        let view = self.server_mut(process);
        view.state = ServerState::Stopped;
        view.pid = None;
        match exit {
            // "switching to ..." stays up while the old server makes way.
            ServerExit::MakingWay => {}
            ServerExit::Stopped => notices.say(format!(
                "the {} stopped; press s to start it again",
                describe(process)
            )),
            ServerExit::Exited(status) => notices.say(format!(
                "the {} exited ({status}); its log is in the state directory",
                describe(process)
            )),
        }
        if process != Process::WsgiServer {
            return Vec::new();
        }
        self.workers.clear();
        self.seen_wsgi_stop = true;
        // The new app never came up (an import error, a wrong callable); the old server
        // making way for it is not that.
        if *exit != ServerExit::MakingWay {
            self.switching_to = None;
        }
        vec![event(EventKind::WsgiStopped)]
    }

    /// Restart the WSGI server with another app: what to start.
    pub fn switch_app(&mut self, app: String, notices: &mut Notices) -> (String, usize) {
        self.switching_to = Some(app.clone());
        self.app_spec = app.clone();
        notices.say(format!("switching the WSGI server to {app}"));
        (app, self.worker_count.max(1))
    }

    /// The app a switch asked for has a worker (or is built in and listening).
    fn app_is_up(&mut self, notices: &mut Notices, out: &mut Vec<StackEvent>) {
        if let Some(app) = self.switching_to.take() {
            notices.say(format!("the WSGI server runs {app}"));
            out.push(StackEvent {
                app: Some(app),
                ..event(EventKind::AppSwitched)
            });
        }
    }

    /// A trace event: the hops that say something about the stack itself.
    pub fn on_event(&mut self, ev: &Event, notices: &mut Notices) -> Vec<StackEvent> {
        let mut out = Vec::new();
        match &ev.hop {
            Hop::Listening { addr } => self.listening(ev, addr, notices, &mut out),
            Hop::WorkerBooted { worker_pid } => {
                self.workers.entry(*worker_pid).or_default();
                self.app_is_up(notices, &mut out);
            }
            Hop::WorkerExited { worker_pid, reason } => {
                self.workers.remove(worker_pid);
                if self.worker_exits.len() == EXITS_KEPT {
                    self.worker_exits.pop_front();
                }
                self.worker_exits.push_back((*worker_pid, *reason));
                if !reason.is_planned() {
                    notices.say(format!("worker {worker_pid} exited: {reason}"));
                }
            }
            Hop::WorkersChanged { workers } => {
                self.worker_count = *workers;
                if std::mem::replace(&mut self.seen_workers, true) {
                    out.push(StackEvent {
                        workers: Some(*workers),
                        ..event(EventKind::WorkersChanged)
                    });
                }
            }
            Hop::ConfigReloaded { ok, error } => {
                if *ok {
                    notices.say("the web server reloaded its configuration");
                } else {
                    // The refusal's reason (file and line) is what the lesson asks the
                    // learner to read: before any task it ticks.
                    notices.say_first(format!(
                        "reload refused, the old configuration keeps serving: {}",
                        error.as_deref().unwrap_or("error")
                    ));
                }
                out.push(StackEvent {
                    ok: *ok,
                    ..event(EventKind::ConfigReloaded)
                });
            }
            Hop::Error { message, .. } if ev.request_id.is_none() => {
                notices.say(format!("{}: {message}", describe(ev.process)));
            }
            Hop::Dispatched { worker_pid, .. } => {
                self.workers.entry(*worker_pid).or_default().served += 1;
            }
            _ => {}
        }
        out
    }

    fn listening(
        &mut self,
        ev: &Event,
        addr: &str,
        notices: &mut Notices,
        out: &mut Vec<StackEvent>,
    ) {
        if ev.process == Process::WsgiServer {
            if self.seen_wsgi_stop {
                out.push(event(EventKind::WsgiStarted));
            }
            // A built-in app has no worker to boot: listening is being up.
            if self
                .switching_to
                .as_deref()
                .is_some_and(|a| a.starts_with("builtin:"))
            {
                self.app_is_up(notices, out);
            }
        }
        let view = self.server_mut(ev.process);
        view.pid = Some(ev.pid);
        view.state = ServerState::Listening;
        if let Some(port) = addr.rsplit(':').next().and_then(|p| p.parse().ok()) {
            view.port = port;
        }
    }
}
