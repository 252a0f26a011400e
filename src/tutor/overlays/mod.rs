//! Floating windows over the panes. Each handles its own keys and says whether it used
//! them ([`EventState`], as gitui's components do); what it wants done beyond itself it
//! asks for as [`Command`]s, which the app carries out.

pub mod apps;
pub mod confirm;
pub mod lesson_list;
pub mod line;
pub mod request_menu;
pub mod restore;

use crossterm::event::KeyEvent;

pub use apps::AppList;
pub use confirm::{Confirm, Confirmed};
pub use lesson_list::LessonList;
pub use request_menu::RequestMenu;
pub use restore::RestoreList;

use crate::tutor::keymap::Action;
use crate::tutor::lessons::Lesson;
use crate::tutor::requests::RequestSpec;

/// Whether an overlay used a key; a key it did not use goes on to the global keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    Consumed,
    NotConsumed,
}

/// What an overlay asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Close,
    Send(RequestSpec),
    SwitchApp(String),
    OpenLesson(usize),
    /// Replace this overlay with a question.
    Ask(Confirm),
    Confirmed(Confirmed),
    Say(String),
    Quit,
}

/// What overlays may read of the app.
pub struct Context<'a> {
    pub menu: &'a [RequestSpec],
    pub lessons: &'a [Lesson],
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Workers,
    /// What the app saw for a request replayed through the web server and direct.
    Compare {
        replay: u64,
    },
    RequestMenu(RequestMenu),
    Apps(AppList),
    Lessons(LessonList),
    Restore(RestoreList),
    Confirm(Confirm),
}

/// Up and down in a list of `len` rows.
pub(crate) fn step(selected: &mut usize, action: Action, len: usize) -> bool {
    match action {
        Action::Up => *selected = selected.saturating_sub(1),
        Action::Down => *selected = (*selected + 1).min(len.saturating_sub(1)),
        _ => return false,
    }
    true
}

impl Overlay {
    /// A key while this overlay is open; `action` is what the keymap makes of it.
    pub fn on_key(
        &mut self,
        key: &KeyEvent,
        action: Option<Action>,
        cx: &Context<'_>,
        out: &mut Vec<Command>,
    ) -> EventState {
        if let Overlay::Confirm(confirm) = self {
            return confirm.on_key(action, out);
        }
        // A line being typed takes every key.
        match self {
            Overlay::RequestMenu(menu) if menu.typing.is_some() => {
                return menu.on_typing(key, out);
            }
            Overlay::Apps(apps) if apps.typing.is_some() => return apps.on_typing(key, out),
            _ => {}
        }
        let Some(action) = action else {
            return EventState::NotConsumed;
        };
        let close = matches!(
            (&*self, action),
            (_, Action::Back)
                | (Overlay::Help, Action::Help)
                | (Overlay::Workers, Action::WorkersPanel)
        );
        if close {
            out.push(Command::Close);
            return EventState::Consumed;
        }
        match self {
            Overlay::Help | Overlay::Workers | Overlay::Compare { .. } => {
                if matches!(action, Action::Up | Action::Down) {
                    EventState::Consumed
                } else {
                    EventState::NotConsumed
                }
            }
            Overlay::RequestMenu(menu) => menu.on_action(action, cx.menu, out),
            Overlay::Apps(apps) => apps.on_action(action, out),
            Overlay::Lessons(list) => list.on_action(action, cx.lessons, out),
            Overlay::Restore(list) => list.on_action(action, out),
            Overlay::Confirm(_) => EventState::Consumed,
        }
    }
}
