//! Keys → actions, in one table: the key handler, the `?` help and the status bar all read
//! it, so what the help says is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Something the learner asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    Quit,
    NextLesson,
    PreviousLesson,
    LessonList,
    RequestMenu,
    NextPane,
    PreviousPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Inspect,
    Back,
    ToggleWsgiServer,
    ReloadConfig,
    ReloadApp,
    MoreWorkers,
    FewerWorkers,
    SwitchApp,
    EditConfig,
    EditApp,
    Replay,
    WorkersPanel,
    Pause,
    Slower,
    Faster,
    ToggleMouse,
    RestoreFile,
    NextHint,
    TickSelfCheck,
    NextTask,
    PreviousTask,
    /// Pick choice N (1-9) of the lesson's open quiz.
    Answer(u8),
    Follow,
    /// Yes, to the question on screen.
    Confirm,
    /// In the lesson list: reset the selected lesson's tasks.
    ResetLesson,
}

/// One row of the table: the keys, the action, what the help says.
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the keys are written in the help, e.g. `↑/k`.
    pub label: &'static str,
    pub action: Action,
    pub description: &'static str,
    /// A word or two for the status bar, for the most useful few.
    pub status: Option<&'static str>,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    description: &'static str,
    status: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        description,
        status,
    }
}

use KeyCode::{BackTab, Char, Down, End, Enter, Esc, PageDown, PageUp, Tab, Up};

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(&[Char('?')], "?", Action::Help, "help: every key", Some("help")),
    b(&[Char('q')], "q", Action::Quit, "quit (stops both servers)", Some("quit")),
    b(&[Char('m')], "m", Action::RequestMenu, "request menu: send a request", Some("send a request")),
    b(&[Tab], "Tab", Action::NextPane, "next pane", Some("panes")),
    b(&[BackTab], "S-Tab", Action::PreviousPane, "previous pane", None),
    b(&[Up, Char('k')], "↑/k", Action::Up, "move up / scroll up", None),
    b(&[Down, Char('j')], "↓/j", Action::Down, "move down / scroll down", None),
    b(&[PageUp], "PgUp", Action::PageUp, "page up", None),
    b(&[PageDown], "PgDn", Action::PageDown, "page down", None),
    b(&[Enter], "Enter", Action::Inspect, "inspect the selected request", Some("inspect")),
    b(&[Esc], "Esc", Action::Back, "close the overlay / back", None),
    b(&[End, Char('f')], "f/End", Action::Follow, "follow the newest request", None),
    b(&[Char('n')], "n", Action::NextLesson, "next lesson", None),
    b(&[Char('p')], "p", Action::PreviousLesson, "previous lesson", None),
    b(&[Char('L')], "L", Action::LessonList, "lesson list", None),
    b(&[Char('s')], "s", Action::ToggleWsgiServer, "stop / start the WSGI server", Some("stop/start WSGI")),
    b(&[Char('R')], "R", Action::ReloadConfig, "reload the web server's config", Some("reload config")),
    b(&[Char('a')], "a", Action::ReloadApp, "reload the app (new workers)", None),
    b(&[Char('+'), Char('=')], "+", Action::MoreWorkers, "one worker more", None),
    b(&[Char('-')], "-", Action::FewerWorkers, "one worker less", None),
    b(&[Char('A')], "A", Action::SwitchApp, "switch the app", None),
    b(&[Char('e')], "e", Action::EditConfig, "edit nginx.conf ($EDITOR), reload on return", None),
    b(&[Char('E')], "E", Action::EditApp, "edit the app ($EDITOR), reload on return", None),
    b(&[Char('x')], "x", Action::Replay, "replay: via the web server and direct", None),
    b(&[Char('W')], "W", Action::WorkersPanel, "workers panel", None),
    b(&[Char(' ')], "space", Action::Pause, "pause / resume the animation", None),
    b(&[Char('[')], "[", Action::Slower, "slower animation", None),
    b(&[Char(']')], "]", Action::Faster, "faster animation", None),
    b(&[Char('M')], "M", Action::ToggleMouse, "release / capture the mouse (copy text)", None),
    b(&[Char('O')], "O", Action::RestoreFile, "restore a lab file to the original", None),
    b(&[Char('t')], "t", Action::NextTask, "pick the next task (for h, c, 1-9)", None),
    b(&[Char('T')], "T", Action::PreviousTask, "pick the previous task", None),
    b(&[Char('h')], "h", Action::NextHint, "next hint for the task", None),
    b(&[Char('c')], "c", Action::TickSelfCheck, "tick a self-check", None),
    b(DIGITS, "1-9", Action::Answer(1), "answer the lesson's open quiz", None),
    b(&[Char('y')], "y", Action::Confirm, "yes, to a question (any other key: no)", None),
    b(&[Char('r')], "r", Action::ResetLesson, "reset a lesson (in the lesson list)", None),
];

/// The quiz keys: one row of the table, each key answering with its own digit.
const DIGITS: &[KeyCode] = &[
    Char('1'),
    Char('2'),
    Char('3'),
    Char('4'),
    Char('5'),
    Char('6'),
    Char('7'),
    Char('8'),
    Char('9'),
];

/// The action bound to a key press, if any. Ctrl-C always quits.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    let action = BINDINGS
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.action)?;
    Some(match (action, key.code) {
        (Action::Answer(_), Char(c)) => Action::Answer(c as u8 - b'0'),
        (action, _) => action,
    })
}

/// The binding for an action (for labels like "press s").
pub fn binding(action: Action) -> &'static Binding {
    BINDINGS
        .iter()
        .find(|b| b.action == action)
        .expect("every action has a binding")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_and_every_key_round_trips() {
        let mut seen = Vec::new();
        for binding in BINDINGS {
            for key in binding.keys {
                assert!(!seen.contains(key), "{key:?} bound twice");
                seen.push(*key);
                let event = KeyEvent::new(*key, KeyModifiers::NONE);
                match (binding.action, key) {
                    (Action::Answer(_), Char(c)) => {
                        assert_eq!(action_for(&event), Some(Action::Answer(*c as u8 - b'0')));
                    }
                    (action, _) => assert_eq!(action_for(&event), Some(action)),
                }
            }
        }
    }

    #[test]
    fn the_keys_the_lessons_name_are_bound() {
        for (c, action) in [
            ('?', Action::Help),
            ('q', Action::Quit),
            ('n', Action::NextLesson),
            ('p', Action::PreviousLesson),
            ('L', Action::LessonList),
            ('m', Action::RequestMenu),
            ('s', Action::ToggleWsgiServer),
            ('R', Action::ReloadConfig),
            ('a', Action::ReloadApp),
            ('+', Action::MoreWorkers),
            ('-', Action::FewerWorkers),
            ('A', Action::SwitchApp),
            ('e', Action::EditConfig),
            ('E', Action::EditApp),
            ('x', Action::Replay),
            ('W', Action::WorkersPanel),
            (' ', Action::Pause),
            ('[', Action::Slower),
            (']', Action::Faster),
            ('M', Action::ToggleMouse),
            ('h', Action::NextHint),
            ('c', Action::TickSelfCheck),
            ('j', Action::Down),
            ('k', Action::Up),
            ('y', Action::Confirm),
            ('r', Action::ResetLesson),
            ('1', Action::Answer(1)),
            ('9', Action::Answer(9)),
        ] {
            let key = KeyEvent::new(Char(c), KeyModifiers::NONE);
            assert_eq!(action_for(&key), Some(action), "{c}");
        }
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
    }
}
