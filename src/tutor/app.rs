//! The tutor's state and the one function that changes it.
//!
//! [`App::update`] takes a [`Msg`] (a key, a batch of trace events, a server that exited,
//! the answer to a request the menu sent...) and returns [`Effect`]s as data; the runner
//! performs them and feeds the results back as messages. Rendering only reads `&App`, so
//! everything here is tested without a terminal.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::Text;

use super::animation::Animation;
use super::keymap::{self, Action};
use super::lessons::{self, Lesson, Vars};
use super::theme::Theme;
use super::traffic::{Request, Traffic, Via};
use super::ui::layout::{self, Areas, Pane};
use crate::lessons::progress::Progress;
use crate::lessons::tasks::{EventKind, Observation, StackEvent};
use crate::lessons::tracker::Tracker;
use crate::trace::{Event, Hop, Process};

/// What the open lesson's tasks are shown.
enum TrackEvent {
    Request(Observation),
    Stack(StackEvent),
}

/// Something that happened, for [`App::update`].
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
    /// A server process exited; `expected` when the tutor stopped it.
    ServerExited {
        process: Process,
        status: String,
        expected: bool,
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
    /// Something to tell the learner in the status bar.
    Notice(String),
    /// Code highlighting is ready: render the lesson again.
    HighlightReady,
}

/// What a key did to a line being typed.
enum LineEdit {
    Submit(String),
    Cancel,
    /// Ctrl-C quits, even while typing.
    Quit,
    Edited,
}

/// One key into a text line: characters and Backspace edit it, Enter and Esc end it.
fn edit_line(line: &mut String, key: KeyEvent) -> LineEdit {
    let control = key
        .modifiers
        .contains(crossterm::event::KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter => LineEdit::Submit(line.clone()),
        KeyCode::Esc => LineEdit::Cancel,
        KeyCode::Backspace => {
            line.pop();
            LineEdit::Edited
        }
        KeyCode::Char('c') if control => LineEdit::Quit,
        KeyCode::Char(c) if !control => {
            line.push(c);
            LineEdit::Edited
        }
        _ => LineEdit::Edited,
    }
}

/// Where the stack runs.
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

/// What the runner should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send an HTTP request to one of the servers.
    SendRequest(RequestSpec),
    /// A control line to a server's stdin (`reload`, `workers 3`).
    Control(Process, String),
    StopWsgi,
    /// Start (or restart) the WSGI server with this app and number of workers.
    StartWsgi {
        app: String,
        workers: usize,
    },
    /// Suspend the screen, run `$EDITOR` on the file, then report [`Msg::EditorDone`].
    Edit {
        path: PathBuf,
        target: EditTarget,
    },
    SetMouseCapture(bool),
    /// Write the checklist to the state directory (atomically).
    SaveProgress(Progress),
    /// Write the original of a lab file over the learner's copy, then reload what uses it.
    RestoreFile {
        relative: String,
    },
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    Config,
    App,
}

/// Which server a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    WebServer,
    WsgiServer,
}

/// A request the tutor sends, as the request menu describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub label: String,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub to: Target,
}

impl RequestSpec {
    fn get(label: &str, target: &str) -> Self {
        RequestSpec {
            label: label.into(),
            method: "GET".into(),
            target: target.into(),
            headers: vec![],
            body: None,
            to: Target::WebServer,
        }
    }

    /// The same request as a curl command line.
    pub fn curl(&self, web_port: u16, wsgi_port: u16) -> String {
        let port = match self.to {
            Target::WebServer => web_port,
            Target::WsgiServer => wsgi_port,
        };
        let mut cmd = String::from("curl -i");
        if self.method != "GET" && !(self.method == "POST" && self.body.is_some()) {
            cmd.push_str(&format!(" -X {}", self.method));
        }
        for (name, value) in &self.headers {
            cmd.push_str(&format!(" -H '{name}: {value}'"));
        }
        if let Some(body) = &self.body {
            cmd.push_str(&format!(" -d '{body}'"));
        }
        cmd.push_str(&format!(" 'http://127.0.0.1:{port}{}'", self.target));
        cmd
    }

    /// Parse a typed line: `METHOD PATH [Name:value]... [-- BODY]`, e.g.
    /// `POST /form -- name=Ada` or `GET /environ X-Color:teal`. `direct` in front sends it
    /// to the WSGI server's port.
    pub fn parse(line: &str) -> Result<RequestSpec, String> {
        let (head, body) = match line.split_once(" -- ") {
            Some((h, b)) => (h, Some(b.to_owned())),
            None => (line, None),
        };
        let mut words = head.split_whitespace().peekable();
        let mut to = Target::WebServer;
        if words.peek() == Some(&"direct") {
            to = Target::WsgiServer;
            words.next();
        }
        let method = words
            .next()
            .ok_or("type a request, e.g. GET /environ X-Color:teal")?
            .to_ascii_uppercase();
        if !method.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("{method:?} is not a method (GET, POST, ...)"));
        }
        let target = words.next().unwrap_or("/").to_owned();
        if !target.starts_with('/') {
            return Err(format!("the path must start with /, got {target:?}"));
        }
        let mut headers = Vec::new();
        for word in words {
            let (name, value) = word
                .split_once(':')
                .ok_or_else(|| format!("{word:?}: write headers as Name:value"))?;
            headers.push((name.to_owned(), value.to_owned()));
        }
        Ok(RequestSpec {
            label: line.trim().to_owned(),
            method,
            target,
            headers,
            body,
            to,
        })
    }
}

/// The ready-made requests in the menu.
pub fn menu_requests() -> Vec<RequestSpec> {
    let mut post = RequestSpec::get("a form with a body", "/form");
    post.method = "POST".into();
    post.headers = vec![(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    )];
    post.body = Some("name=Ada&color=teal".into());
    let mut direct = RequestSpec::get("the environ, skipping the web server", "/environ");
    direct.to = Target::WsgiServer;
    vec![
        RequestSpec::get("the app's home page", "/"),
        RequestSpec::get("a static file", "/static/style.css"),
        RequestSpec::get("a static directory listing", "/static/docs/"),
        RequestSpec::get("what the app receives", "/environ"),
        post,
        RequestSpec::get("a slow page (2 s)", "/slow?ms=2000"),
        RequestSpec::get("an app error (500)", "/boom"),
        RequestSpec::get("a missing file (404)", "/static/missing.png"),
        direct,
    ]
}

/// The lab files `O` can restore to the original, relative to the lab folder.
pub const RESTORABLE: &[&str] = &[
    "nginx.conf",
    "apps/site.py",
    "apps/hello.py",
    "apps/environ.py",
    "apps/slow.py",
    "apps/form.py",
    "apps/counter.py",
    "apps/stream.py",
    "apps/framework.py",
    "apps/broken.py",
    "static/index.html",
    "static/style.css",
];

/// The header that marks the two requests of one replay, so they can be found again.
pub const REPLAY_HEADER: &str = "x-tutor-replay";

/// The requests of replay `n`: (through the web server, straight to the WSGI server).
pub fn replay_pair(traffic: &Traffic, n: u64) -> (Option<&Request>, Option<&Request>) {
    let value = n.to_string();
    let of = |via: Via| {
        traffic.iter().rev().find(|r| {
            r.via() == via
                && r.client_request().is_some_and(|c| {
                    c.headers
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case(REPLAY_HEADER) && *v == value)
                })
        })
    };
    (of(Via::WebServer), of(Via::Direct))
}

/// The apps in the lab that `A` offers.
pub const LAB_APPS: &[&str] = &[
    "apps/site.py:application",
    "apps/hello.py:application",
    "apps/environ.py:application",
    "apps/slow.py:application",
    "apps/form.py:application",
    "apps/counter.py:application",
    "apps/stream.py:application",
    "apps/framework.py:application",
    "apps/broken.py:application",
    "builtin:site",
];

/// A process of the stack as the tutor knows it.
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

/// A floating window over the panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    RequestMenu {
        selected: usize,
        typing: Option<String>,
    },
    Workers,
    /// The apps to switch to; the entry after the list is a line to type any APP spec.
    Apps {
        selected: usize,
        typing: Option<String>,
    },
    Lessons {
        selected: usize,
    },
    /// What the app saw for a request replayed through the web server and direct.
    Compare {
        replay: u64,
    },
    /// The lab files that can be restored; `confirm` while asking "really?".
    Restore {
        selected: usize,
        modified: Vec<bool>,
        confirm: bool,
    },
}

impl Overlay {
    /// The selected row of a list overlay.
    fn selected_mut(&mut self) -> Option<&mut usize> {
        match self {
            Overlay::RequestMenu { selected, .. }
            | Overlay::Apps { selected, .. }
            | Overlay::Lessons { selected }
            | Overlay::Restore { selected, .. } => Some(selected),
            Overlay::Help | Overlay::Workers | Overlay::Compare { .. } => None,
        }
    }
}

/// Everything the screen shows.
pub struct App {
    pub traffic: Traffic,
    pub animation: Animation,
    pub web: ServerView,
    pub wsgi: ServerView,
    pub workers: BTreeMap<u32, WorkerView>,
    /// Worker exits, newest last: (pid, reason).
    pub worker_exits: VecDeque<(u32, String)>,
    pub worker_count: usize,
    pub app_spec: String,
    pub lab: PathBuf,
    pub config: PathBuf,
    pub focus: Pane,
    pub overlay: Option<Overlay>,
    /// The selected request (by seq); `None` with `follow` means the newest.
    pub selected: Option<u64>,
    pub follow: bool,
    pub inspector_scroll: u16,
    pub lessons: Vec<Lesson>,
    pub lesson_index: usize,
    /// The task the learner picked with t / T; None: the first one not done.
    pub selected_task: Option<String>,
    /// An app the WSGI server is restarting with: the switch counts (for the lessons)
    /// once the app is up, not when it was asked for.
    switching_to: Option<String>,
    pub lesson_scroll: u16,
    /// The current lesson rendered with live values (rebuilt when they change).
    pub lesson_text: Text<'static>,
    lesson_vars: Option<(usize, Vars)>,
    pub notice: Option<String>,
    pub size: (u16, u16),
    pub theme: Theme,
    pub mouse_captured: bool,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The trace clock when the tutor started: the traffic list's times count from here.
    pub start_us: u64,
    newest_seq: Option<u64>,
    menu: Vec<RequestSpec>,
    replays: u64,
    /// The learner's checklist; saved by the runner when it changes.
    pub progress: Progress,
    tracker: Option<Tracker>,
    progress_changed: bool,
    /// Start-up reports (the first worker count, the first start) are not the learner's doing.
    seen_workers: bool,
    seen_wsgi_stop: bool,
    /// A lesson whose tasks the learner asked to reset, waiting for `y`.
    pending_reset: Option<usize>,
}

/// The status of a WSGI server stopped to make way for another app (`Msg::ServerExited`).
pub const RESTARTING: &str = "restarting";

/// A notice, plus the way on when it finished the lesson (the tutor never moves on itself).
fn with_lesson_done(lesson: &Lesson, progress: &Progress, notice: String) -> String {
    if crate::lessons::tracker::complete(lesson, progress) {
        format!("{notice} — every task of this lesson is done; press n for the next one")
    } else {
        notice
    }
}

impl App {
    pub fn new(lessons: Vec<Lesson>, theme: Theme, mouse: bool) -> App {
        let mut app = App {
            traffic: Traffic::new(),
            animation: Animation::default(),
            web: ServerView::default(),
            wsgi: ServerView::default(),
            workers: BTreeMap::new(),
            worker_exits: VecDeque::new(),
            worker_count: 0,
            app_spec: String::new(),
            lab: PathBuf::new(),
            config: PathBuf::new(),
            focus: Pane::Traffic,
            overlay: None,
            selected: None,
            follow: true,
            inspector_scroll: 0,
            lessons,
            lesson_index: 0,
            selected_task: None,
            switching_to: None,
            lesson_scroll: 0,
            lesson_text: Text::default(),
            lesson_vars: None,
            notice: None,
            size: (120, 40),
            theme,
            mouse_captured: mouse,
            quit: false,
            dirty: true,
            start_us: crate::trace::now_us(),
            newest_seq: None,
            menu: menu_requests(),
            replays: 0,
            progress: Progress::new(),
            tracker: None,
            progress_changed: false,
            seen_workers: false,
            seen_wsgi_stop: false,
            pending_reset: None,
        };
        app.open_lesson(0);
        app.progress_changed = false;
        app.refresh_lesson();
        app
    }

    /// Continue from a saved checklist, at the lesson the learner was on.
    pub fn resume(&mut self, progress: Progress) {
        let index = progress
            .current
            .as_deref()
            .and_then(|id| self.lessons.iter().position(|l| l.id == id))
            .unwrap_or(0);
        self.progress = progress;
        self.open_lesson(index);
        self.lesson_vars = None;
        self.refresh_lesson();
    }

    /// A request finished or something was done to the stack: let the open lesson's tasks
    /// look at it, and say which ones that completed.
    fn track(&mut self, seen: TrackEvent) {
        let Some(tracker) = self.tracker.as_mut() else {
            return;
        };
        let Some(lesson) = self.lessons.get(self.lesson_index) else {
            return;
        };
        let done = match seen {
            TrackEvent::Request(observation) => {
                tracker.on_request(lesson, &mut self.progress, observation)
            }
            TrackEvent::Stack(event) => tracker.on_event(lesson, &mut self.progress, &event),
        };
        // Reasons may have changed even when nothing was completed.
        self.lesson_vars = None;
        if done.is_empty() {
            return;
        }
        self.progress_changed = true;
        let titles: Vec<String> = done
            .iter()
            .filter_map(|id| lesson.tasks.iter().find(|t| &t.id == id))
            .map(|t| t.title.replace('`', "").replace("**", ""))
            .collect();
        self.notice = Some(with_lesson_done(
            lesson,
            &self.progress,
            format!("✓ task done: {}", titles.join("; ")),
        ));
    }

    /// The app a switch asked for has a worker (or is built in and listening).
    fn app_is_up(&mut self) {
        if let Some(app) = self.switching_to.take() {
            self.notice = Some(format!("the WSGI server runs {app}"));
            self.stack_event(EventKind::AppSwitched, true, None, Some(app));
        }
    }

    fn stack_event(
        &mut self,
        kind: EventKind,
        ok: bool,
        workers: Option<usize>,
        app: Option<String>,
    ) {
        self.track(TrackEvent::Stack(StackEvent {
            kind,
            ok,
            workers,
            app,
        }));
    }

    /// Done and total tasks of a lesson, for the lesson list.
    pub fn lesson_counts(&self, index: usize) -> (usize, usize) {
        let Some(lesson) = self.lessons.get(index) else {
            return (0, 0);
        };
        let done = lesson
            .tasks
            .iter()
            .filter(|t| self.progress.is_done(&lesson.id, &t.id))
            .count();
        (done, lesson.tasks.len())
    }

    /// Where each task of the open lesson stands, in order.
    fn task_marks(&self) -> Vec<lessons::TaskMark> {
        let Some(lesson) = self.lessons.get(self.lesson_index) else {
            return Vec::new();
        };
        let current = self.current_task().map(|t| t.id.clone());
        lesson
            .tasks
            .iter()
            .map(|task| {
                let done = self.progress.is_done(&lesson.id, &task.id);
                let tracker = self.tracker.as_ref();
                let hints = tracker.and_then(|t| t.hints(lesson, &self.progress, &task.id));
                lessons::TaskMark {
                    done,
                    why_not: if done {
                        None
                    } else {
                        tracker.and_then(|t| t.why_not(&task.id)).map(str::to_owned)
                    },
                    current: current.as_deref() == Some(task.id.as_str()),
                    hints_total: hints.as_ref().map_or(0, |h| h.total),
                    hints: hints
                        .as_ref()
                        .map(|h| h.revealed.iter().map(|s| s.to_string()).collect())
                        .unwrap_or_default(),
                    solution: hints.and_then(|h| h.solution.map(str::to_owned)),
                    answer: tracker
                        .and_then(|t| t.last_answer(&task.id))
                        .map(|a| (a.correct, a.explain.clone())),
                }
            })
            .collect()
    }

    /// The task h, c and 1-9 act on: the one picked with t / T, else the first not done.
    fn current_task(&self) -> Option<&crate::lessons::tasks::Task> {
        let lesson = self.lessons.get(self.lesson_index)?;
        if let Some(id) = &self.selected_task
            && let Some(task) = lesson.tasks.iter().find(|t| &t.id == id)
        {
            return Some(task);
        }
        lesson
            .tasks
            .iter()
            .find(|t| !self.progress.is_done(&lesson.id, &t.id))
    }

    /// t / T: move the task marker, wrapping around; done tasks can be picked too (a
    /// self-check is unticked with c).
    fn select_task(&mut self, forward: bool) {
        let Some(lesson) = self.lessons.get(self.lesson_index) else {
            return;
        };
        let n = lesson.tasks.len();
        if n == 0 {
            self.notice = Some("this lesson has no tasks".into());
            return;
        }
        let at = self
            .current_task()
            .and_then(|c| lesson.tasks.iter().position(|t| t.id == c.id));
        let next = match (at, forward) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        self.selected_task = Some(lesson.tasks[next].id.clone());
        self.lesson_vars = None;
    }

    /// h, c and 1-9: a hint for the current task, tick it, or answer its quiz.
    fn task_key(&mut self, action: Action) {
        use crate::lessons::tasks::Check;
        let current = self.current_task().cloned();
        // A quiz answer goes to the current task if it is a quiz, else to the lesson's first
        // open quiz: a traffic task still waiting above it must not block the answer.
        let task = match (action, &current) {
            (Action::Answer(_), Some(task)) if !matches!(task.check, Check::Quiz(_)) => self
                .lessons
                .get(self.lesson_index)
                .and_then(|lesson| {
                    lesson.tasks.iter().find(|t| {
                        matches!(t.check, Check::Quiz(_))
                            && !self.progress.is_done(&lesson.id, &t.id)
                    })
                })
                .cloned()
                .or(current),
            _ => current,
        };
        let Some(task) = task else {
            self.notice =
                Some("every task of this lesson is done; press n for the next lesson".into());
            return;
        };
        let (Some(lesson), Some(tracker)) =
            (self.lessons.get(self.lesson_index), self.tracker.as_mut())
        else {
            return;
        };
        match (action, &task.check) {
            (Action::NextHint, _) if task.hints.is_empty() && task.solution.is_none() => {
                self.notice =
                    Some("this task has no hints: the lesson text says what to do".into());
            }
            (Action::NextHint, _) => {
                tracker.next_hint(lesson, &mut self.progress, &task.id);
                self.progress_changed = true;
            }
            (Action::TickSelfCheck, Check::SelfCheck) => {
                tracker.toggle(lesson, &mut self.progress, &task.id);
                self.progress_changed = true;
                self.notice = Some(if self.progress.is_done(&lesson.id, &task.id) {
                    with_lesson_done(lesson, &self.progress, "✓ ticked".into())
                } else {
                    "unticked".into()
                });
            }
            (Action::TickSelfCheck, _) => {
                self.notice =
                    Some("c ticks a self-check; this task is checked from what you do".into());
            }
            (Action::Answer(n), Check::Quiz(_)) => {
                match tracker.answer(lesson, &mut self.progress, &task.id, usize::from(n) - 1) {
                    Some(answer) => {
                        self.progress_changed |= answer.correct;
                        self.notice = Some(if answer.correct {
                            with_lesson_done(lesson, &self.progress, "✓ right".into())
                        } else {
                            "not quite: read why, then try again".into()
                        });
                    }
                    None => self.notice = Some(format!("this quiz has no choice {n}")),
                }
            }
            (Action::Answer(_), _) => {
                self.notice = Some("1-9 answer a quiz; the current task is not one".into());
            }
            _ => {}
        }
        self.lesson_vars = None;
    }

    pub fn menu(&self) -> &[RequestSpec] {
        &self.menu
    }

    /// Whether the frame timer must run.
    pub fn animating(&self) -> bool {
        self.animation.in_flight()
    }

    /// The request the inspector shows.
    pub fn selected_request(&self) -> Option<&Request> {
        match self.selected {
            Some(seq) if !self.follow => self.traffic.get(seq),
            _ => self.traffic.newest(),
        }
    }

    pub fn areas(&self) -> Areas {
        layout::areas(
            Rect::new(0, 0, self.size.0, self.size.1),
            self.focus,
            self.overlay.is_some(),
        )
    }

    /// Live values for the lesson's `{{placeholders}}`.
    pub fn vars(&self) -> Vars {
        Vars {
            web_port: self.web.port,
            wsgi_port: self.wsgi.port,
            lab: self.lab.display().to_string(),
            web_pid: self.web.pid,
            wsgi_pid: self.wsgi.pid,
            workers: self.worker_count,
        }
    }

    fn refresh_lesson(&mut self) {
        let vars = self.vars();
        if self.lesson_vars.as_ref() == Some(&(self.lesson_index, vars.clone())) {
            return;
        }
        self.lesson_text = match self.lessons.get(self.lesson_index) {
            Some(lesson) => lessons::render(lesson, &vars, &self.task_marks(), &self.theme),
            None => Text::raw("No lessons loaded."),
        };
        self.lesson_vars = Some((self.lesson_index, vars));
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut changed = true;
        match msg {
            Msg::Key(key) => self.on_key(key, &mut effects),
            Msg::Mouse(mouse) => changed = self.on_mouse(mouse),
            Msg::Resize(w, h) => self.size = (w, h),
            Msg::Trace { events, now_ms } => {
                for event in &events {
                    self.on_event(event, now_ms);
                }
                self.animation.tick(now_ms, &self.traffic);
            }
            Msg::Tick { now_ms } => {
                self.animation.tick(now_ms, &self.traffic);
                if !self.animation.in_flight() {
                    self.animation.idle();
                }
            }
            Msg::Planned(plan) => {
                self.web.port = plan.web_port;
                self.wsgi.port = plan.wsgi_port;
                self.lab = plan.lab;
                self.config = plan.config;
                self.app_spec = plan.app;
                self.worker_count = plan.workers;
                self.notice = Some(plan.note.unwrap_or_else(|| {
                    format!(
                        "lab folder {} · server logs in {}",
                        self.lab.display(),
                        plan.log.display()
                    )
                }));
            }
            Msg::ServerStarted { process, pid } => {
                let view = self.server_mut(process);
                view.pid = Some(pid);
                view.state = ServerState::Starting;
            }
            Msg::ServerFailed { process, error } => {
                if process == Process::WsgiServer {
                    self.switching_to = None;
                }
                self.server_mut(process).state = ServerState::Failed;
                self.notice = Some(format!("the {} could not start: {error}", name(process)));
            }
            Msg::ServerExited {
                process,
                status,
                expected,
            } => {
                // Making way for a new app is not stopping.
                let restarting = status == RESTARTING;
                let view = self.server_mut(process);
                view.state = ServerState::Stopped;
                view.pid = None;
                if process == Process::WsgiServer {
                    self.workers.clear();
                    self.seen_wsgi_stop = true;
                    // The new app never came up (an import error, a wrong callable); the
                    // old server making way for it is not that.
                    if !restarting {
                        self.switching_to = None;
                    }
                }
                // "switching to ..." stays up while the old server makes way.
                self.notice = Some(if restarting {
                    self.notice.take().unwrap_or_default()
                } else if expected {
                    format!("the {} stopped; press s to start it again", name(process))
                } else {
                    format!(
                        "the {} exited ({status}); its log is in the state directory",
                        name(process)
                    )
                });
                if process == Process::WsgiServer {
                    self.stack_event(EventKind::WsgiStopped, true, None, None);
                }
            }
            Msg::RequestDone { label, result } => {
                self.notice = Some(match result {
                    Ok(status) => format!("{label} → {status}"),
                    Err(err) => format!("{label}: {err}"),
                });
            }
            Msg::EditorDone { target, ok } => {
                if ok {
                    effects.push(match target {
                        EditTarget::Config => Effect::Control(Process::WebServer, "reload".into()),
                        EditTarget::App => {
                            self.stack_event(EventKind::AppReloaded, true, None, None);
                            Effect::Control(Process::WsgiServer, "reload".into())
                        }
                    });
                    self.notice = Some(match target {
                        EditTarget::Config => "nginx.conf saved: reloading the web server".into(),
                        EditTarget::App => "app saved: reloading the workers".into(),
                    });
                } else {
                    self.notice =
                        Some("the editor did not finish cleanly; nothing reloaded".into());
                }
            }
            Msg::Notice(text) => self.notice = Some(text),
            Msg::HighlightReady => self.lesson_vars = None,
        }
        self.refresh_lesson();
        if changed {
            self.dirty = true;
        }
        if std::mem::take(&mut self.progress_changed) {
            effects.push(Effect::SaveProgress(self.progress.clone()));
        }
        effects
    }

    fn server_mut(&mut self, process: Process) -> &mut ServerView {
        match process {
            Process::WebServer => &mut self.web,
            Process::WsgiServer => &mut self.wsgi,
        }
    }

    fn on_event(&mut self, event: &Event, now_ms: u64) {
        match &event.hop {
            Hop::Listening { addr } => {
                if event.process == Process::WsgiServer && self.seen_wsgi_stop {
                    self.stack_event(EventKind::WsgiStarted, true, None, None);
                }
                // A built-in app has no worker to boot: listening is being up.
                if event.process == Process::WsgiServer
                    && self
                        .switching_to
                        .as_deref()
                        .is_some_and(|a| a.starts_with("builtin:"))
                {
                    self.app_is_up();
                }
                let view = self.server_mut(event.process);
                view.pid = Some(event.pid);
                view.state = ServerState::Listening;
                if let Some(port) = addr.rsplit(':').next().and_then(|p| p.parse().ok()) {
                    view.port = port;
                }
            }
            Hop::WorkerBooted { worker_pid } => {
                self.workers.entry(*worker_pid).or_default();
                self.app_is_up();
            }
            Hop::WorkerExited { worker_pid, reason } => {
                self.workers.remove(worker_pid);
                if self.worker_exits.len() == 20 {
                    self.worker_exits.pop_front();
                }
                self.worker_exits.push_back((*worker_pid, reason.clone()));
                if reason != "shutdown" && reason != "reload" && reason != "scale down" {
                    self.notice = Some(format!("worker {worker_pid} exited: {reason}"));
                }
            }
            Hop::WorkersChanged { workers } => {
                self.worker_count = *workers;
                if std::mem::replace(&mut self.seen_workers, true) {
                    self.stack_event(EventKind::WorkersChanged, true, Some(*workers), None);
                }
            }
            Hop::ConfigReloaded { ok, error } => {
                let reload = if *ok {
                    "the web server reloaded its configuration".to_owned()
                } else {
                    format!(
                        "reload refused, the old configuration keeps serving: {}",
                        error.as_deref().unwrap_or("error")
                    )
                };
                self.notice = Some(reload.clone());
                // After the reload notice, so a completed task is what the learner reads;
                // but a refusal's reason (file and line) is what the lesson asks them to
                // read, so it stays first.
                self.stack_event(EventKind::ConfigReloaded, *ok, None, None);
                if !*ok && self.notice.as_deref() != Some(reload.as_str()) {
                    let task = self.notice.take().unwrap_or_default();
                    self.notice = Some(format!("{reload} · {task}"));
                }
            }
            Hop::Error { message, .. } if event.request_id.is_none() => {
                self.notice = Some(format!("{}: {message}", name(event.process)));
            }
            _ => {}
        }
        let was_complete = event
            .request_id
            .as_deref()
            .and_then(|id| self.traffic.by_request_id(id))
            .is_some_and(Request::is_complete);
        let Some(seq) = self.traffic.apply(event) else {
            return;
        };
        // Judged when the answer is in, and again when the WSGI server's side of it arrives
        // later (its trace comes through another pipe than the web server's).
        let late_wsgi_news = was_complete && event.process == Process::WsgiServer;
        if (!was_complete || late_wsgi_news)
            && let Some(request) = self.traffic.get(seq)
            && request.is_complete()
        {
            let observation = request.observation();
            self.track(TrackEvent::Request(observation));
        }
        if self.newest_seq.is_none_or(|n| seq > n) {
            self.newest_seq = Some(seq);
            // Following, the inspector now shows another request: from its top.
            if self.follow {
                self.inspector_scroll = 0;
            }
            self.animation.add(seq, now_ms);
        }
        if let Hop::Dispatched { worker_pid, .. } = event.hop {
            self.workers.entry(worker_pid).or_default().served += 1;
        }
        let complete = matches!(event.hop, Hop::ResponseSent { .. })
            && self.traffic.get(seq).is_some_and(Request::is_complete);
        if complete && let Some(req) = self.traffic.get(seq) {
            self.animation.count_edges(req, now_ms);
        }
    }

    fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        if key.kind == crossterm::event::KeyEventKind::Release {
            return;
        }
        // Typing an APP spec: every key is text until Enter or Esc.
        if let Some(Overlay::Apps {
            typing: Some(line), ..
        }) = &mut self.overlay
        {
            match edit_line(line, key) {
                LineEdit::Submit(app) => {
                    let app = app.trim().to_owned();
                    if app.is_empty() {
                        self.notice = Some(
                            "type an APP: module:callable, path/to/file.py:callable or builtin:NAME"
                                .into(),
                        );
                    } else {
                        self.overlay = None;
                        self.switch_app(app, effects);
                    }
                }
                LineEdit::Cancel => self.overlay = None,
                LineEdit::Quit => {
                    self.quit = true;
                    effects.push(Effect::Quit);
                }
                LineEdit::Edited => {}
            }
            return;
        }
        // Typing a request: every key is text until Enter or Esc.
        if let Some(Overlay::RequestMenu {
            typing: Some(line), ..
        }) = &mut self.overlay
        {
            match edit_line(line, key) {
                LineEdit::Submit(line) => match RequestSpec::parse(&line) {
                    Ok(spec) => {
                        self.overlay = None;
                        effects.push(Effect::SendRequest(spec));
                        self.follow = true;
                    }
                    Err(err) => self.notice = Some(err),
                },
                LineEdit::Cancel => self.overlay = None,
                LineEdit::Quit => {
                    self.quit = true;
                    effects.push(Effect::Quit);
                }
                LineEdit::Edited => {}
            }
            return;
        }
        // Confirming a lesson reset: y resets, anything else cancels.
        if let Some(index) = self.pending_reset.take() {
            let Some(lesson) = self.lessons.get(index) else {
                return;
            };
            if key.code == KeyCode::Char('y') {
                let id = lesson.id.clone();
                let title = lesson.title.clone();
                self.progress.reset_lesson(&id);
                if index == self.lesson_index {
                    self.open_lesson(index);
                }
                self.progress_changed = true;
                self.lesson_vars = None;
                self.notice = Some(format!("the tasks of \"{title}\" are reset"));
            } else {
                self.notice = Some("nothing was reset".into());
            }
            return;
        }
        // In the lesson list, r asks to reset the selected lesson's tasks.
        if let Some(Overlay::Lessons { selected }) = &self.overlay
            && key.code == KeyCode::Char('r')
        {
            let index = *selected;
            if let Some(lesson) = self.lessons.get(index) {
                self.notice = Some(format!(
                    "reset every task of \"{}\"? press y to confirm, any other key to keep them",
                    lesson.title
                ));
                self.pending_reset = Some(index);
                self.overlay = None;
            }
            return;
        }
        // Confirming a restore: y restores, anything else cancels.
        if let Some(Overlay::Restore {
            selected,
            confirm: true,
            ..
        }) = &self.overlay
        {
            let relative = RESTORABLE[*selected].to_owned();
            if key.code == KeyCode::Char('y') {
                self.notice = Some(format!("{relative} restored to the original"));
                effects.push(Effect::RestoreFile { relative });
            } else {
                self.notice = Some(format!("{relative} left as it was"));
            }
            self.overlay = None;
            return;
        }
        let Some(action) = keymap::action_for(&key) else {
            return;
        };
        if let Some(overlay) = self.overlay.clone()
            && self.on_overlay_key(overlay, action, effects)
        {
            return;
        }
        self.on_action(action, effects);
    }

    /// Keys while an overlay is open; `true` when the overlay used the key.
    fn on_overlay_key(
        &mut self,
        overlay: Overlay,
        action: Action,
        effects: &mut Vec<Effect>,
    ) -> bool {
        let close = matches!(action, Action::Back)
            || (matches!(action, Action::Help) && overlay == Overlay::Help)
            || (matches!(action, Action::WorkersPanel) && overlay == Overlay::Workers);
        if close {
            self.overlay = None;
            return true;
        }
        if action == Action::Quit {
            return false;
        }
        let count = match &overlay {
            Overlay::RequestMenu { .. } => self.menu.len() + 1,
            Overlay::Apps { .. } => LAB_APPS.len() + 1,
            Overlay::Lessons { .. } => self.lessons.len(),
            Overlay::Restore { .. } => RESTORABLE.len(),
            Overlay::Help | Overlay::Workers | Overlay::Compare { .. } => 0,
        };
        // Up and down move the selection of every list overlay the same way.
        if matches!(action, Action::Up | Action::Down)
            && let Some(Some(selected)) = self.overlay.as_mut().map(Overlay::selected_mut)
        {
            *selected = match action {
                Action::Up => selected.saturating_sub(1),
                _ => (*selected + 1).min(count.saturating_sub(1)),
            };
            return true;
        }
        match (overlay, action) {
            (Overlay::RequestMenu { selected, .. }, Action::Inspect) => {
                if selected == self.menu.len() {
                    self.overlay = Some(Overlay::RequestMenu {
                        selected,
                        typing: Some(String::new()),
                    });
                } else {
                    effects.push(Effect::SendRequest(self.menu[selected].clone()));
                    self.overlay = None;
                    self.follow = true;
                }
            }
            (Overlay::Apps { selected, .. }, Action::Inspect) => {
                if selected == LAB_APPS.len() {
                    self.overlay = Some(Overlay::Apps {
                        selected,
                        typing: Some(String::new()),
                    });
                } else {
                    self.overlay = None;
                    self.switch_app(LAB_APPS[selected].to_owned(), effects);
                }
            }
            (
                Overlay::Restore {
                    selected, modified, ..
                },
                Action::Inspect,
            ) => {
                self.overlay = Some(Overlay::Restore {
                    selected,
                    modified,
                    confirm: true,
                });
            }
            (Overlay::Lessons { selected }, Action::Inspect) => {
                self.overlay = None;
                self.open_lesson(selected);
            }
            (
                Overlay::Help | Overlay::Workers | Overlay::Compare { .. },
                Action::Up | Action::Down,
            ) => {}
            _ => return false,
        }
        true
    }

    /// Restart the WSGI server with another app.
    fn switch_app(&mut self, app: String, effects: &mut Vec<Effect>) {
        self.switching_to = Some(app.clone());
        self.app_spec = app.clone();
        self.notice = Some(format!("switching the WSGI server to {app}"));
        effects.push(Effect::StartWsgi {
            app,
            workers: self.worker_count.max(1),
        });
    }

    fn open_lesson(&mut self, index: usize) {
        if let Some(lesson) = self.lessons.get(index) {
            self.lesson_index = index;
            self.lesson_scroll = 0;
            self.selected_task = None;
            // Only what happens while a lesson is open counts towards it.
            self.tracker = Some(Tracker::open(lesson, &mut self.progress));
            self.progress_changed = true;
        }
    }

    fn on_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        match action {
            Action::Quit => {
                self.quit = true;
                effects.push(Effect::Quit);
            }
            Action::Help => self.overlay = Some(Overlay::Help),
            Action::RequestMenu => {
                self.overlay = Some(Overlay::RequestMenu {
                    selected: 0,
                    typing: None,
                })
            }
            Action::WorkersPanel => self.overlay = Some(Overlay::Workers),
            Action::SwitchApp => {
                let selected = LAB_APPS
                    .iter()
                    .position(|a| *a == self.app_spec)
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Apps {
                    selected,
                    typing: None,
                });
            }
            Action::LessonList => {
                self.overlay = Some(Overlay::Lessons {
                    selected: self.lesson_index,
                })
            }
            Action::Back => self.overlay = None,
            Action::NextPane => self.focus = self.focus.next(),
            Action::PreviousPane => self.focus = self.focus.previous(),
            Action::NextLesson => self.open_lesson(self.lesson_index + 1),
            Action::PreviousLesson => self.open_lesson(self.lesson_index.saturating_sub(1)),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-10),
            Action::PageDown => self.move_by(10),
            Action::RestoreFile => {
                // Preparing an existing lab only writes files that are missing.
                let lab = crate::lab::Lab::prepare(Some(self.lab.clone())).ok();
                let modified = RESTORABLE
                    .iter()
                    .map(|relative| {
                        let original = lab.as_ref().and_then(|lab| lab.original(relative));
                        let current = std::fs::read(self.lab.join(relative)).ok();
                        original.is_some() && current != original
                    })
                    .collect();
                self.overlay = Some(Overlay::Restore {
                    selected: 0,
                    modified,
                    confirm: false,
                });
            }
            Action::Follow => {
                self.follow = true;
                self.selected = None;
            }
            Action::Inspect => {
                if self.focus == Pane::Traffic {
                    self.pin_selection();
                    self.focus = Pane::Inspector;
                    self.inspector_scroll = 0;
                }
            }
            Action::ToggleWsgiServer => match self.wsgi.state {
                ServerState::Stopped | ServerState::Failed => {
                    self.notice = Some("starting the WSGI server".into());
                    effects.push(Effect::StartWsgi {
                        app: self.app_spec.clone(),
                        workers: self.worker_count.max(1),
                    });
                }
                ServerState::Starting | ServerState::Listening => {
                    self.notice = Some(
                        "stopping the WSGI server: requests to the app now get 502 from the web server"
                            .into(),
                    );
                    effects.push(Effect::StopWsgi);
                }
            },
            Action::ReloadConfig => {
                self.notice = Some("asking the web server to reload nginx.conf".into());
                effects.push(Effect::Control(Process::WebServer, "reload".into()));
            }
            Action::ReloadApp => {
                self.stack_event(EventKind::AppReloaded, true, None, None);
                self.notice = Some("reloading the app: new workers import it afresh".into());
                effects.push(Effect::Control(Process::WsgiServer, "reload".into()));
            }
            Action::MoreWorkers => {
                self.worker_count += 1;
                effects.push(Effect::Control(
                    Process::WsgiServer,
                    format!("workers {}", self.worker_count),
                ));
            }
            Action::FewerWorkers => {
                if self.worker_count > 1 {
                    self.worker_count -= 1;
                    effects.push(Effect::Control(
                        Process::WsgiServer,
                        format!("workers {}", self.worker_count),
                    ));
                } else {
                    self.notice = Some("one worker is the least a WSGI server can run".into());
                }
            }
            Action::EditConfig => effects.push(Effect::Edit {
                path: self.config.clone(),
                target: EditTarget::Config,
            }),
            Action::EditApp => {
                let file = self
                    .app_spec
                    .split_once(':')
                    .map_or(self.app_spec.as_str(), |(f, _)| f);
                if file == "builtin" || !file.ends_with(".py") {
                    self.notice = Some(format!(
                        "{} is not a file in the lab; switch to a lab app with A first",
                        self.app_spec
                    ));
                } else {
                    effects.push(Effect::Edit {
                        path: self.lab.join(file),
                        target: EditTarget::App,
                    });
                }
            }
            Action::Replay => {
                if let Some(req) = self.selected_request() {
                    let received = req.client_request().cloned();
                    if let Some(received) = received {
                        self.replays += 1;
                        let replay = self.replays;
                        let mut headers: Vec<(String, String)> = received
                            .headers
                            .iter()
                            .filter(|(n, _)| {
                                !matches!(
                                    n.to_ascii_lowercase().as_str(),
                                    "host"
                                        | "content-length"
                                        | "connection"
                                        | "user-agent"
                                        | REPLAY_HEADER
                                )
                            })
                            .cloned()
                            .collect();
                        headers.push((REPLAY_HEADER.to_owned(), replay.to_string()));
                        for (to, where_) in [
                            (Target::WebServer, "through the web server"),
                            (Target::WsgiServer, "straight to the WSGI server"),
                        ] {
                            effects.push(Effect::SendRequest(RequestSpec {
                                label: format!(
                                    "replay {} {} {where_}",
                                    received.method, received.target
                                ),
                                method: received.method.clone(),
                                target: received.target.clone(),
                                headers: headers.clone(),
                                body: None,
                                to,
                            }));
                        }
                        self.overlay = Some(Overlay::Compare { replay });
                        if matches!(received.method.as_str(), "POST" | "PUT" | "PATCH") {
                            self.notice = Some(
                                "the trace does not keep request bodies: replayed without one"
                                    .into(),
                            );
                        }
                    }
                } else {
                    self.notice = Some("no request to replay yet: press m to send one".into());
                }
            }
            Action::Pause => self.animation.paused = !self.animation.paused,
            Action::Slower => self.animation.slower(),
            Action::Faster => self.animation.faster(),
            Action::ToggleMouse => {
                self.mouse_captured = !self.mouse_captured;
                self.notice = Some(if self.mouse_captured {
                    "mouse captured: wheel scrolls, click selects (M to release)".into()
                } else {
                    "mouse released: select text to copy it (M to capture again)".into()
                });
                effects.push(Effect::SetMouseCapture(self.mouse_captured));
            }
            Action::NextHint | Action::TickSelfCheck | Action::Answer(_) => self.task_key(action),
            Action::NextTask => self.select_task(true),
            Action::PreviousTask => self.select_task(false),
        }
    }

    /// Freeze the selection on the request shown now.
    fn pin_selection(&mut self) {
        if self.follow {
            self.selected = self.traffic.newest().map(|r| r.seq);
            self.follow = false;
        }
    }

    fn move_by(&mut self, delta: i32) {
        match self.focus {
            Pane::Lesson => {
                // Wrapping makes the text longer than its lines; this bound is generous.
                let max = self.lesson_text.lines.len() as i32 * 2;
                self.lesson_scroll = (self.lesson_scroll as i32 + delta).clamp(0, max) as u16;
            }
            Pane::Inspector => {
                let max = self.selected_request().map_or(0, |r| r.environ.len() + 80) as i32;
                self.inspector_scroll = (self.inspector_scroll as i32 + delta).clamp(0, max) as u16;
            }
            Pane::Traffic => {
                // The list shows the newest first, so "down" is older.
                let Some(newest) = self.traffic.newest().map(|r| r.seq) else {
                    return;
                };
                let oldest = self.traffic.iter().next().map_or(0, |r| r.seq);
                let current = if self.follow {
                    newest
                } else {
                    self.selected.unwrap_or(newest)
                };
                let next = (current as i64 - delta as i64).clamp(oldest as i64, newest as i64);
                self.selected = Some(next as u64);
                self.follow = next as u64 == newest && delta < 0;
                self.inspector_scroll = 0;
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> bool {
        let at = Position::new(mouse.column, mouse.row);
        let areas = self.areas();
        let pane = areas.pane_at(at);
        match mouse.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let Some(pane) = pane else { return false };
                let old = self.focus;
                self.focus = pane;
                self.move_by(if mouse.kind == MouseEventKind::ScrollUp {
                    -3
                } else {
                    3
                });
                if pane != old && areas.tabs.is_some() {
                    self.focus = old;
                }
                true
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(tab) = areas.tab_at(at) {
                    self.focus = tab;
                    return true;
                }
                let Some(pane) = pane else { return false };
                self.focus = pane;
                if pane == Pane::Traffic
                    && let Some(list) = areas.traffic
                {
                    // Row 0 is the border, row 1 the header; then newest first.
                    let row = at.y.saturating_sub(list.y + 2) as usize;
                    if at.y >= list.y + 2
                        && let Some(req) = self.traffic.iter().rev().nth(row)
                    {
                        self.selected = Some(req.seq);
                        self.follow = false;
                        self.inspector_scroll = 0;
                    }
                }
                true
            }
            _ => false,
        }
    }
}

pub fn name(process: Process) -> &'static str {
    super::supervisor::describe(process)
}

/// Whether a request went through the web server, for labels.
pub fn via_label(req: &Request) -> &'static str {
    match req.via() {
        Via::WebServer => "via web server",
        Via::Direct => "direct to WSGI server",
    }
}
