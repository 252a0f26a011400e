//! The tutor's state and the one function that changes it.
//!
//! [`App::update`] takes a [`Msg`] (a key, a batch of trace events, a server that exited,
//! the answer to a request the menu sent...) and returns [`Effect`]s as data; the effects
//! executor performs them and sends the results back as messages. `update` does no I/O and
//! rendering only reads `&App`, so everything here is tested without a terminal.
//!
//! The state is four sub-models, each with its own small update: [`StackView`] (servers,
//! workers, the app), [`Watch`] (traffic, selection, inspector, replays), [`Session`]
//! (lessons, tracker, progress) and [`Notices`] (the status line, with "task done" kept
//! apart); plus the open [`Overlay`], which handles its own keys.

mod actions;
pub mod msg;
pub mod notices;
pub mod session;
pub mod stack;
pub mod watch;

use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::Text;

pub use crate::stack::children::{Planned, ServerExit};
pub use msg::{EditTarget, Effect, Msg};
pub use notices::Notices;
pub use session::{Seen, Session};
pub use stack::{ServerState, ServerView, StackView, WorkerView};
pub use watch::Watch;

use super::keymap;
use super::lessons::{self, Lesson, Vars};
use super::overlays::{self, Command, Confirmed, EventState, Overlay};
use super::requests::{self, RequestSpec, Target};
use super::theme::Theme;
use super::ui::layout::{self, Areas, Pane};
use crate::lessons::tasks::StackEvent;
use crate::trace::Event;

/// Everything the screen shows.
pub struct App {
    pub stack: StackView,
    pub watch: Watch,
    pub session: Session,
    pub notices: Notices,
    pub overlay: Option<Overlay>,
    pub focus: Pane,
    pub size: (u16, u16),
    pub theme: Theme,
    pub mouse_captured: bool,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    menu: Vec<RequestSpec>,
}

impl App {
    pub fn new(lessons: Vec<Lesson>, theme: Theme, mouse: bool) -> App {
        App {
            stack: StackView::default(),
            watch: Watch::default(),
            session: Session::new(lessons),
            notices: Notices::default(),
            overlay: None,
            focus: Pane::Traffic,
            size: (120, 40),
            theme,
            mouse_captured: mouse,
            quit: false,
            dirty: true,
            menu: requests::menu_requests(),
        }
    }

    /// Continue from a saved checklist, at the lesson the learner was on.
    pub fn resume(&mut self, progress: crate::lessons::progress::Progress) {
        self.session.resume(progress);
        // Opening the lesson it was saved at is not a change to save.
        self.session.take_changed();
    }

    pub fn menu(&self) -> &[RequestSpec] {
        &self.menu
    }

    /// Whether the frame timer must run.
    pub fn animating(&self) -> bool {
        self.watch.animation.in_flight()
    }

    /// What the status line says.
    pub fn notice(&self) -> Option<String> {
        self.notices.line()
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
            web_port: self.stack.web.port,
            wsgi_port: self.stack.wsgi.port,
            lab: self.stack.lab.display().to_string(),
            web_pid: self.stack.web.pid,
            wsgi_pid: self.stack.wsgi.pid,
            workers: self.stack.worker_count,
        }
    }

    /// The open lesson as the pane shows it (rendered afresh; the pane itself caches).
    pub fn lesson_text(&self) -> Text<'static> {
        match self.session.lesson() {
            Some(lesson) => lessons::render(
                lesson,
                &self.vars(),
                &self.session.task_marks(),
                &self.theme,
            ),
            None => Text::raw("No lessons loaded."),
        }
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
                    self.on_trace(event, now_ms);
                }
                self.watch.tick(now_ms);
            }
            Msg::Tick { now_ms } => self.watch.frame(now_ms),
            Msg::Planned(plan) => self.stack.planned(plan, &mut self.notices),
            Msg::ServerStarted { process, pid } => self.stack.started(process, pid),
            Msg::ServerFailed { process, error } => {
                self.stack.failed(process, &error, &mut self.notices);
            }
            Msg::ServerExited { process, exit } => {
                let heard = self.stack.exited(process, &exit, &mut self.notices);
                self.lesson_hears(heard);
            }
            Msg::RequestDone { label, result } => self.notices.say(match result {
                Ok(status) => format!("{label} → {status}"),
                Err(err) => format!("{label}: {err}"),
            }),
            Msg::EditorDone { target, ok } => self.editor_done(target, ok, &mut effects),
            Msg::RestoreScanned(modified) => {
                self.overlay = Some(Overlay::Restore(overlays::RestoreList {
                    selected: 0,
                    modified,
                }));
            }
            Msg::Notice(text) => self.notices.say(text),
            // The lesson pane notices the highlighter itself; this only redraws.
            Msg::HighlightReady => {}
            Msg::Quit => self.quit(&mut effects),
        }
        if changed {
            self.dirty = true;
        }
        if self.session.take_changed() {
            effects.push(Effect::SaveProgress(self.session.progress.clone()));
        }
        effects
    }

    fn lesson_hears(&mut self, events: Vec<StackEvent>) {
        for event in events {
            self.session.track(Seen::Stack(event), &mut self.notices);
        }
    }

    fn on_trace(&mut self, event: &Event, now_ms: u64) {
        let heard = self.stack.on_event(event, &mut self.notices);
        self.lesson_hears(heard);
        if let Some(observation) = self.watch.on_event(event, now_ms) {
            self.session
                .track(Seen::Request(observation), &mut self.notices);
        }
    }

    fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let before = self.notices.mark();
        self.handle_key(key, effects);
        self.notices.after_key(before);
    }

    fn handle_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let action = keymap::action_for(&key);
        if let Some(overlay) = self.overlay.as_mut() {
            let cx = overlays::Context {
                menu: &self.menu,
                lessons: &self.session.lessons,
            };
            let mut commands = Vec::new();
            let state = overlay.on_key(&key, action, &cx, &mut commands);
            for command in commands {
                self.command(command, effects);
            }
            if state == EventState::Consumed {
                return;
            }
        }
        if let Some(action) = action {
            self.on_action(action, effects);
        }
    }

    /// What an overlay asked for.
    fn command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        match command {
            Command::Close => self.overlay = None,
            Command::Send(spec) => self.send(spec, effects),
            Command::SwitchApp(app) => self.switch_app(app, effects),
            Command::OpenLesson(index) => self.session.open(index),
            Command::Ask(confirm) => self.overlay = Some(Overlay::Confirm(confirm)),
            Command::Confirmed(Confirmed::ResetLesson(index)) => {
                self.session.reset_lesson(index, &mut self.notices);
            }
            Command::Confirmed(Confirmed::Restore(relative)) => {
                self.notices.say(format!("restoring {relative}"));
                effects.push(Effect::RestoreFile {
                    lab: self.stack.lab.clone(),
                    relative,
                });
            }
            Command::Say(text) => self.notices.say(text),
            Command::Quit => self.quit(effects),
        }
    }

    fn quit(&mut self, effects: &mut Vec<Effect>) {
        self.quit = true;
        effects.push(Effect::Quit);
    }

    /// Send a request from the menu (or a replay); the list follows the newest.
    fn send(&mut self, spec: RequestSpec, effects: &mut Vec<Effect>) {
        self.watch.follow = true;
        effects.push(self.request(spec));
    }

    /// The effect that sends a request to the server it names.
    fn request(&self, spec: RequestSpec) -> Effect {
        let port = match spec.to {
            Target::WebServer => self.stack.web.port,
            Target::WsgiServer => self.stack.wsgi.port,
        };
        Effect::SendRequest { spec, port }
    }

    fn switch_app(&mut self, app: String, effects: &mut Vec<Effect>) {
        let (app, workers) = self.stack.switch_app(app, &mut self.notices);
        effects.push(Effect::StartWsgi { app, workers });
    }

    fn move_by(&mut self, delta: i32) {
        match self.focus {
            Pane::Lesson => self.session.scroll(delta),
            Pane::Inspector => self.watch.scroll_inspector(delta),
            Pane::Traffic => self.watch.move_selection(delta),
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
                let up = mouse.kind == MouseEventKind::ScrollUp;
                self.move_by(if up { -3 } else { 3 });
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
                // Row 0 is the border, row 1 the header; then newest first.
                if pane == Pane::Traffic
                    && let Some(list) = areas.traffic
                    && at.y >= list.y + 2
                {
                    let row = usize::from(at.y - list.y - 2);
                    let seq = self.watch.traffic.iter().rev().nth(row).map(|r| r.seq);
                    if let Some(seq) = seq {
                        self.watch.select(seq);
                    }
                }
                true
            }
            _ => false,
        }
    }
}

/// Whether a request went through the web server, for labels.
pub fn via_label(req: &super::traffic::Request) -> &'static str {
    match req.via() {
        super::traffic::Via::WebServer => "via web server",
        super::traffic::Via::Direct => "direct to WSGI server",
    }
}
