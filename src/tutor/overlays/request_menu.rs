//! `m`: the ready-made requests, and a last row to type any request.

use crossterm::event::KeyEvent;

use super::line::{LineEdit, edit_line};
use super::{Command, EventState, step};
use crate::tutor::keymap::Action;
use crate::tutor::requests::RequestSpec;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestMenu {
    pub selected: usize,
    /// The request line being typed, once Enter was pressed on the last row.
    pub typing: Option<String>,
}

impl RequestMenu {
    pub fn on_typing(&mut self, key: &KeyEvent, out: &mut Vec<Command>) -> EventState {
        let Some(line) = self.typing.as_mut() else {
            return EventState::NotConsumed;
        };
        match edit_line(line, key) {
            LineEdit::Submit(line) => match RequestSpec::parse(&line) {
                Ok(spec) => out.extend([Command::Close, Command::Send(spec)]),
                Err(err) => out.push(Command::Say(err)),
            },
            LineEdit::Cancel => out.push(Command::Close),
            LineEdit::Quit => out.push(Command::Quit),
            LineEdit::Edited => {}
        }
        EventState::Consumed
    }

    pub fn on_action(
        &mut self,
        action: Action,
        menu: &[RequestSpec],
        out: &mut Vec<Command>,
    ) -> EventState {
        // The ready-made requests, then the line to type one.
        if step(&mut self.selected, action, menu.len() + 1) {
            return EventState::Consumed;
        }
        if action != Action::Inspect {
            return EventState::NotConsumed;
        }
        match menu.get(self.selected) {
            Some(spec) => out.extend([Command::Close, Command::Send(spec.clone())]),
            None => self.typing = Some(String::new()),
        }
        EventState::Consumed
    }
}
