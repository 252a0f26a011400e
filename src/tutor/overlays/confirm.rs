//! Every "are you sure?": a question, what yes does, and what no says. `y` confirms, any
//! other key declines; nothing else happens while it is open.

use super::{Command, EventState};
use crate::tutor::keymap::Action;

/// What a confirmed question does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Untick every task of lesson N.
    ResetLesson(usize),
    /// Write the original of this lab file over the learner's copy.
    Restore(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: &'static str,
    pub question: String,
    /// What pressing y does, in a few words ("y restores").
    pub yes_label: &'static str,
    pub yes: Confirmed,
    /// What the status line says when the learner declines.
    pub no: String,
}

impl Confirm {
    pub fn reset_lesson(index: usize, title: &str) -> Confirm {
        Confirm {
            title: "Reset a lesson",
            question: format!("Reset every task of \"{title}\"? Its ticks and hints are lost."),
            yes_label: "y resets",
            yes: Confirmed::ResetLesson(index),
            no: "nothing was reset".into(),
        }
    }

    pub fn restore(relative: &str) -> Confirm {
        Confirm {
            title: "Restore a lab file",
            question: format!("Restore {relative} to the original? Your changes to it are lost."),
            yes_label: "y restores",
            yes: Confirmed::Restore(relative.to_owned()),
            no: format!("{relative} left as it was"),
        }
    }

    pub fn on_key(&self, action: Option<Action>, out: &mut Vec<Command>) -> EventState {
        out.push(Command::Close);
        out.push(match action {
            Some(Action::Confirm) => Command::Confirmed(self.yes.clone()),
            _ => Command::Say(self.no.clone()),
        });
        EventState::Consumed
    }
}
