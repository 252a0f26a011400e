//! `A`: the lab's apps to switch the WSGI server to, and a last row to type any APP.

use crossterm::event::KeyEvent;

use super::line::{LineEdit, edit_line};
use super::{Command, EventState, step};
use crate::tutor::keymap::Action;

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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppList {
    pub selected: usize,
    /// The APP spec being typed, once Enter was pressed on the last row.
    pub typing: Option<String>,
}

impl AppList {
    /// Opened on the app that runs now.
    pub fn at(app_spec: &str) -> AppList {
        AppList {
            selected: LAB_APPS.iter().position(|a| *a == app_spec).unwrap_or(0),
            typing: None,
        }
    }

    pub fn on_typing(&mut self, key: &KeyEvent, out: &mut Vec<Command>) -> EventState {
        let Some(line) = self.typing.as_mut() else {
            return EventState::NotConsumed;
        };
        match edit_line(line, key) {
            LineEdit::Submit(app) if app.trim().is_empty() => out.push(Command::Say(
                "type an APP: module:callable, path/to/file.py:callable or builtin:NAME".into(),
            )),
            LineEdit::Submit(app) => {
                out.extend([Command::Close, Command::SwitchApp(app.trim().to_owned())]);
            }
            LineEdit::Cancel => out.push(Command::Close),
            LineEdit::Quit => out.push(Command::Quit),
            LineEdit::Edited => {}
        }
        EventState::Consumed
    }

    pub fn on_action(&mut self, action: Action, out: &mut Vec<Command>) -> EventState {
        if step(&mut self.selected, action, LAB_APPS.len() + 1) {
            return EventState::Consumed;
        }
        if action != Action::Inspect {
            return EventState::NotConsumed;
        }
        match LAB_APPS.get(self.selected) {
            Some(app) => out.extend([Command::Close, Command::SwitchApp((*app).to_owned())]),
            None => self.typing = Some(String::new()),
        }
        EventState::Consumed
    }
}
