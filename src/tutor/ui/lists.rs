//! Pick lists: the lesson list (`L`), the apps to switch to (`A`), the lab files to
//! restore (`O`); and the question any of them may ask.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::overlay_block;
use crate::tutor::app::App;
use crate::tutor::overlays::apps::LAB_APPS;
use crate::tutor::overlays::restore::RESTORABLE;
use crate::tutor::overlays::{AppList, Confirm, LessonList, Overlay, RestoreList};

/// A list: its title, its rows, the selected row and the row marked current.
struct List {
    title: &'static str,
    entries: Vec<String>,
    selected: usize,
    current: usize,
}

fn lessons(app: &App, list: &LessonList) -> List {
    let entries = app
        .session
        .lessons
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (done, total) = app.session.lesson_counts(i);
            let mark = if total > 0 && done == total {
                "✓"
            } else {
                " "
            };
            format!("{mark} {:>2}. {}  {done}/{total}", i + 1, l.title)
        })
        .collect();
    List {
        title: "Lessons · Enter opens · r resets a lesson's tasks",
        entries,
        selected: list.selected,
        current: app.session.lesson_index,
    }
}

fn apps(app: &App, list: &AppList) -> List {
    let typed = match &list.typing {
        Some(line) => format!("> {line}▏"),
        None => "> type any APP: module:callable, file.py:callable, builtin:NAME".to_owned(),
    };
    List {
        title: "Switch the app (restarts the WSGI server)",
        entries: LAB_APPS
            .iter()
            .map(ToString::to_string)
            .chain(std::iter::once(typed))
            .collect(),
        selected: list.selected,
        current: LAB_APPS
            .iter()
            .position(|a| *a == app.stack.app_spec)
            .unwrap_or(usize::MAX),
    }
}

fn restore(list: &RestoreList) -> List {
    let entries = RESTORABLE
        .iter()
        .zip(&list.modified)
        .map(|(name, changed)| {
            let state = if *changed {
                "changed by you"
            } else {
                "original"
            };
            format!("{name:<20} {state}")
        })
        .collect();
    List {
        title: "Restore a lab file (Enter, then y)",
        entries,
        selected: list.selected,
        current: usize::MAX,
    }
}

/// Whichever list is open, the selected entry highlighted.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let list = match &app.overlay {
        Some(Overlay::Lessons(list)) => lessons(app, list),
        Some(Overlay::Apps(list)) => apps(app, list),
        Some(Overlay::Restore(list)) => restore(list),
        Some(Overlay::Confirm(confirm)) => return render_confirm(frame, app, area, confirm),
        _ => return,
    };
    let theme = &app.theme;
    let lines: Vec<Line> = list
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let style = if i == list.selected {
                theme.selected
            } else {
                theme.text
            };
            let mark = if i == list.current { "▸ " } else { "  " };
            Line::from(vec![
                Span::styled(mark, theme.accent),
                Span::styled(text, style),
            ])
        })
        .collect();
    let block = overlay_block(app, list.title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// An "are you sure?": the question, then what y does.
fn render_confirm(frame: &mut Frame, app: &App, area: Rect, confirm: &Confirm) {
    let theme = &app.theme;
    let text = vec![
        Line::default(),
        Line::styled(format!(" {}", confirm.question), theme.server_error),
        Line::default(),
        Line::styled(
            format!(" {} · any other key: no", confirm.yes_label),
            theme.dim,
        ),
    ];
    let paragraph = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .block(overlay_block(app, confirm.title));
    frame.render_widget(paragraph, area);
}
