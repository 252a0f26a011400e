//! Pick lists: the lesson list (`L`) and the apps to switch to (`A`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::overlay_block;
use crate::tutor::app::{App, LAB_APPS, Overlay, RESTORABLE};

/// Whichever list is open, the selected entry highlighted.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let (title, entries, selected, current): (&str, Vec<String>, usize, usize) =
        match &app.overlay {
            Some(Overlay::Lessons { selected }) => (
                "Lessons · Enter opens · r resets a lesson's tasks",
                app.lessons
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let (done, total) = app.lesson_counts(i);
                        let mark = if total > 0 && done == total {
                            "✓"
                        } else {
                            " "
                        };
                        format!("{mark} {:>2}. {}  {done}/{total}", i + 1, l.title)
                    })
                    .collect(),
                *selected,
                app.lesson_index,
            ),
            Some(Overlay::Apps { selected, typing }) => (
                "Switch the app (restarts the WSGI server)",
                LAB_APPS
                    .iter()
                    .map(|a| a.to_string())
                    .chain(std::iter::once(match typing {
                        Some(line) => format!("> {line}▏"),
                        None => "> type any APP: module:callable, file.py:callable, builtin:NAME"
                            .to_owned(),
                    }))
                    .collect(),
                *selected,
                LAB_APPS
                    .iter()
                    .position(|a| *a == app.app_spec)
                    .unwrap_or(usize::MAX),
            ),
            Some(Overlay::Restore {
                selected,
                modified,
                confirm,
            }) => {
                if *confirm {
                    let text = vec![
                        Line::default(),
                        Line::styled(
                            format!(
                                " Restore {} to the original? Your changes to it are lost.",
                                RESTORABLE[*selected]
                            ),
                            theme.server_error,
                        ),
                        Line::default(),
                        Line::styled(" y restores · any other key keeps your file", theme.dim),
                    ];
                    frame.render_widget(
                        Paragraph::new(text).block(overlay_block(app, "Restore a lab file")),
                        area,
                    );
                    return;
                }
                (
                    "Restore a lab file (Enter, then y)",
                    RESTORABLE
                        .iter()
                        .zip(modified)
                        .map(|(name, changed)| {
                            format!(
                                "{name:<20} {}",
                                if *changed {
                                    "changed by you"
                                } else {
                                    "original"
                                }
                            )
                        })
                        .collect(),
                    *selected,
                    usize::MAX,
                )
            }
            _ => return,
        };
    let lines: Vec<Line> = entries
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let style = if i == selected {
                theme.selected
            } else {
                theme.text
            };
            let mark = if i == current { "▸ " } else { "  " };
            Line::from(vec![
                Span::styled(mark, theme.accent),
                Span::styled(text, style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(overlay_block(app, title)), area);
}
