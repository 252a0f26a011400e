//! What reaches [`super::App::update`] and what it asks for in return.

use std::path::PathBuf;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::control::Command;
use crate::lessons::progress::Progress;
use crate::stack::children::{Planned, Report, ServerExit};
use crate::trace::{Event, Process};
use crate::tutor::requests::RequestSpec;

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Trace events from the servers, in the order read; `now_ms` is wall time.
    Trace {
        events: Vec<Event>,
        now_ms: u64,
    },
    /// The animation frame timer (only runs while something moves).
    Tick {
        now_ms: u64,
    },
    /// Where the stack runs, once the ports and paths are settled.
    Planned(Planned),
    /// A server process started (its pid) or could not start.
    ServerStarted {
        process: Process,
        pid: u32,
    },
    ServerFailed {
        process: Process,
        error: String,
    },
    ServerExited {
        process: Process,
        exit: ServerExit,
    },
    /// The answer to a request the tutor sent (status line), or why it failed.
    RequestDone {
        label: String,
        result: Result<u16, String>,
    },
    /// `$EDITOR` returned.
    EditorDone {
        target: EditTarget,
        ok: bool,
    },
    /// Which of the restorable lab files differ from the original (for the `O` list).
    RestoreScanned(Vec<bool>),
    /// Something to tell the learner in the status bar.
    Notice(String),
    /// Code highlighting is ready: render the lesson again.
    HighlightReady,
    /// The terminal is gone or a signal asked to stop: quit whatever is open (a question or
    /// a line being typed would take a `q` as an answer).
    Quit,
}

impl From<Report> for Msg {
    fn from(report: Report) -> Msg {
        match report {
            Report::Planned(plan) => Msg::Planned(plan),
            Report::Started { process, pid } => Msg::ServerStarted { process, pid },
            Report::Failed { process, error } => Msg::ServerFailed { process, error },
            Report::Exited { process, exit } => Msg::ServerExited { process, exit },
            Report::Trace { events, now_ms } => Msg::Trace { events, now_ms },
            Report::Notice(text) => Msg::Notice(text),
        }
    }
}

/// What the runner should do; performed in one place (`tutor::effects`), each result a
/// message back through the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send an HTTP request to a server on this port.
    SendRequest {
        spec: RequestSpec,
        port: u16,
    },
    /// A control command to a server's stdin.
    Control(Process, Command),
    StopWsgi,
    /// Start (or restart) the WSGI server with this app and number of workers.
    StartWsgi {
        app: String,
        workers: usize,
    },
    /// Suspend the screen, run the editor on the file, then report [`Msg::EditorDone`].
    Edit {
        path: PathBuf,
        target: EditTarget,
    },
    SetMouseCapture(bool),
    /// Write the checklist to the state directory (atomically).
    SaveProgress(Progress),
    /// Compare the lab's restorable files with the originals: [`Msg::RestoreScanned`].
    ScanRestorable {
        lab: PathBuf,
    },
    /// Write the original of a lab file over the learner's copy, then reload what uses it.
    RestoreFile {
        lab: PathBuf,
        relative: String,
    },
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    Config,
    App,
}
