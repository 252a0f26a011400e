//! What each key of the keymap does when no overlay took it: one small method per action
//! that is more than a line.

use super::{App, EditTarget, Effect};
use crate::control::Command;
use crate::lessons::tasks::{EventKind, StackEvent};
use crate::trace::Process;
use crate::tutor::app::{Seen, ServerState};
use crate::tutor::keymap::Action;
use crate::tutor::overlays::{AppList, LessonList, Overlay, RequestMenu};
use crate::tutor::ui::layout::Pane;

impl App {
    /// Long on purpose: one arm per action of the keymap, each a line or a call, so the
    /// whole keyboard reads as one table.
    pub(super) fn on_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        match action {
            Action::Quit => self.quit(effects),
            Action::Help => self.overlay = Some(Overlay::Help),
            Action::RequestMenu => {
                self.overlay = Some(Overlay::RequestMenu(RequestMenu::default()));
            }
            Action::WorkersPanel => self.overlay = Some(Overlay::Workers),
            Action::SwitchApp => {
                self.overlay = Some(Overlay::Apps(AppList::at(&self.stack.app_spec)));
            }
            Action::LessonList => {
                let selected = self.session.lesson_index;
                self.overlay = Some(Overlay::Lessons(LessonList { selected }));
            }
            Action::Back => self.overlay = None,
            Action::NextPane => self.focus = self.focus.next(),
            Action::PreviousPane => self.focus = self.focus.previous(),
            Action::NextLesson => self.session.open(self.session.lesson_index + 1),
            Action::PreviousLesson => {
                self.session
                    .open(self.session.lesson_index.saturating_sub(1));
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-10),
            Action::PageDown => self.move_by(10),
            Action::RestoreFile => effects.push(Effect::ScanRestorable {
                lab: self.stack.lab.clone(),
            }),
            Action::Follow => self.watch.follow_newest(),
            Action::Inspect => self.inspect(),
            Action::ToggleWsgiServer => self.toggle_wsgi(effects),
            Action::ReloadConfig => {
                self.notices
                    .say("asking the web server to reload nginx.conf");
                effects.push(Effect::Control(Process::WebServer, Command::Reload));
            }
            Action::ReloadApp => self.reload_app(effects),
            Action::MoreWorkers => self.set_workers(self.stack.worker_count + 1, effects),
            Action::FewerWorkers => self.fewer_workers(effects),
            Action::EditConfig => effects.push(Effect::Edit {
                path: self.stack.config.clone(),
                target: EditTarget::Config,
            }),
            Action::EditApp => self.edit_app(effects),
            Action::Replay => self.replay(effects),
            Action::Pause => self.watch.animation.paused = !self.watch.animation.paused,
            Action::Slower => self.watch.animation.slower(),
            Action::Faster => self.watch.animation.faster(),
            Action::ToggleMouse => self.toggle_mouse(effects),
            Action::NextHint | Action::TickSelfCheck | Action::Answer(_) => {
                self.session.task_key(action, &mut self.notices);
            }
            Action::NextTask => self.session.select_task(true, &mut self.notices),
            Action::PreviousTask => self.session.select_task(false, &mut self.notices),
            Action::Confirm => self.notices.say("y answers a question; none is open"),
            Action::ResetLesson => self
                .notices
                .say("r resets a lesson's tasks from the lesson list: press L first"),
        }
    }

    fn inspect(&mut self) {
        if self.focus == Pane::Traffic {
            self.watch.pin();
            self.focus = Pane::Inspector;
            self.watch.inspector_scroll = 0;
        }
    }

    fn toggle_wsgi(&mut self, effects: &mut Vec<Effect>) {
        match self.stack.wsgi.state {
            ServerState::Stopped | ServerState::Failed => {
                self.notices.say("starting the WSGI server");
                effects.push(Effect::StartWsgi {
                    app: self.stack.app_spec.clone(),
                    workers: self.stack.worker_count.max(1),
                });
            }
            ServerState::Starting | ServerState::Listening => {
                self.notices.say(
                    "stopping the WSGI server: requests to the app now get 502 from the web server",
                );
                effects.push(Effect::StopWsgi);
            }
        }
    }

    fn reload_app(&mut self, effects: &mut Vec<Effect>) {
        self.app_reloaded();
        self.notices
            .say("reloading the app: new workers import it afresh");
        effects.push(Effect::Control(Process::WsgiServer, Command::Reload));
    }

    /// The lesson hears that the app was reloaded (by `a` or after editing it).
    fn app_reloaded(&mut self) {
        let event = StackEvent {
            kind: EventKind::AppReloaded,
            ok: true,
            workers: None,
            app: None,
        };
        self.session.track(Seen::Stack(event), &mut self.notices);
    }

    fn set_workers(&mut self, workers: usize, effects: &mut Vec<Effect>) {
        self.stack.worker_count = workers;
        effects.push(Effect::Control(
            Process::WsgiServer,
            Command::Workers(workers),
        ));
    }

    fn fewer_workers(&mut self, effects: &mut Vec<Effect>) {
        if self.stack.worker_count > 1 {
            self.set_workers(self.stack.worker_count - 1, effects);
        } else {
            self.notices
                .say("one worker is the least a WSGI server can run");
        }
    }

    fn edit_app(&mut self, effects: &mut Vec<Effect>) {
        let spec = &self.stack.app_spec;
        let file = spec.split_once(':').map_or(spec.as_str(), |(f, _)| f);
        if file == "builtin" || !file.ends_with(".py") {
            self.notices.say(format!(
                "{spec} is not a file in the lab; switch to a lab app with A first"
            ));
        } else {
            effects.push(Effect::Edit {
                path: self.stack.lab.join(file),
                target: EditTarget::App,
            });
        }
    }

    /// `$EDITOR` returned: reload what was edited.
    pub(super) fn editor_done(&mut self, target: EditTarget, ok: bool, effects: &mut Vec<Effect>) {
        if !ok {
            self.notices
                .say("the editor did not finish cleanly; nothing reloaded");
            return;
        }
        match target {
            EditTarget::Config => {
                effects.push(Effect::Control(Process::WebServer, Command::Reload));
                self.notices
                    .say("nginx.conf saved: reloading the web server");
            }
            EditTarget::App => {
                self.app_reloaded();
                effects.push(Effect::Control(Process::WsgiServer, Command::Reload));
                self.notices.say("app saved: reloading the workers");
            }
        }
    }

    /// Send the selected request again, through the web server and straight to the WSGI
    /// server, and compare what the app saw.
    fn replay(&mut self, effects: &mut Vec<Effect>) {
        if self.watch.selected_request().is_none() {
            self.notices
                .say("no request to replay yet: press m to send one");
            return;
        }
        let Some((replay, specs)) = self.watch.replay() else {
            return;
        };
        let has_body = matches!(specs[0].method.as_str(), "POST" | "PUT" | "PATCH");
        effects.extend(specs.map(|spec| self.request(spec)));
        self.overlay = Some(Overlay::Compare { replay });
        if has_body {
            self.notices
                .say("the trace does not keep request bodies: replayed without one");
        }
    }

    fn toggle_mouse(&mut self, effects: &mut Vec<Effect>) {
        self.mouse_captured = !self.mouse_captured;
        self.notices.say(if self.mouse_captured {
            "mouse captured: wheel scrolls, click selects (M to release)"
        } else {
            "mouse released: select text to copy it (M to capture again)"
        });
        effects.push(Effect::SetMouseCapture(self.mouse_captured));
    }
}
