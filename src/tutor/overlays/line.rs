//! A line being typed in an overlay (a request, an APP spec).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key did to the line.
pub enum LineEdit {
    Submit(String),
    Cancel,
    /// Ctrl-C quits, even while typing.
    Quit,
    Edited,
}

/// One key into a text line: characters and Backspace edit it, Enter and Esc end it.
pub fn edit_line(line: &mut String, key: &KeyEvent) -> LineEdit {
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
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
