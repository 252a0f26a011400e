//! The lesson pane: the current lesson's Markdown, rendered with live values, scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::Pane;
use super::pane_block;
use crate::tutor::app::App;

/// The lesson text, wrapped to the pane, from `lesson_scroll`.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let position = if app.lessons.is_empty() {
        String::new()
    } else {
        format!(" {}/{} ", app.lesson_index + 1, app.lessons.len())
    };
    let title = Line::from(vec![
        Span::raw(" Lesson"),
        Span::styled(position, theme.dim),
    ]);
    let block = pane_block(app, title, Some(Pane::Lesson))
        .title_bottom(Span::styled(" n next · p previous · L list ", theme.dim));
    let paragraph = Paragraph::new(app.lesson_text.clone())
        .wrap(Wrap { trim: false })
        .scroll((app.lesson_scroll, 0))
        .block(block);
    frame.render_widget(paragraph, area);
}
