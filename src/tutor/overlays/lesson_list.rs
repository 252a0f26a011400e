//! `L`: the lessons with their done counts; Enter opens one, `r` asks to reset one.

use super::{Command, Confirm, EventState, step};
use crate::tutor::keymap::Action;
use crate::tutor::lessons::Lesson;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LessonList {
    pub selected: usize,
}

impl LessonList {
    pub fn on_action(
        &mut self,
        action: Action,
        lessons: &[Lesson],
        out: &mut Vec<Command>,
    ) -> EventState {
        if step(&mut self.selected, action, lessons.len()) {
            return EventState::Consumed;
        }
        match action {
            Action::Inspect => out.extend([Command::Close, Command::OpenLesson(self.selected)]),
            Action::ResetLesson => {
                if let Some(lesson) = lessons.get(self.selected) {
                    out.push(Command::Ask(Confirm::reset_lesson(
                        self.selected,
                        &lesson.title,
                    )));
                }
            }
            _ => return EventState::NotConsumed,
        }
        EventState::Consumed
    }
}
