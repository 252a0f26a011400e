//! The lesson pane: the current lesson's Markdown, rendered with live values, scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::Pane;
use super::pane_block;
use crate::tutor::app::App;
use crate::tutor::lessons::{BodyCache, task_lines};

/// The lesson text, wrapped to the pane, from `lesson_scroll`: the tasks as they stand
/// now, then the body from the cache.
pub fn render(frame: &mut Frame, app: &App, area: Rect, body: &mut BodyCache) {
    let theme = &app.theme;
    let position = if app.session.lessons.is_empty() {
        String::new()
    } else {
        format!(
            " {}/{} ",
            app.session.lesson_index + 1,
            app.session.lessons.len()
        )
    };
    let title = Line::from(vec![
        Span::raw(" Lesson"),
        Span::styled(position, theme.dim),
    ]);
    let block = pane_block(app, title, Some(Pane::Lesson))
        .title_bottom(Span::styled(" n next · p previous · L list ", theme.dim));
    let text = match app.session.lesson() {
        Some(lesson) => {
            let vars = app.vars();
            let mut lines = task_lines(lesson, &vars, &app.session.task_marks(), theme);
            lines.extend_from_slice(body.body(lesson, &vars, theme));
            Text::from(lines)
        }
        None => Text::raw("No lessons loaded."),
    };
    let paragraph = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((app.session.lesson_scroll, 0))
        .block(block);
    frame.render_widget(paragraph, area);
}
