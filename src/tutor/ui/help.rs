//! The `?` overlay: every key, straight from the keymap table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::overlay_block;
use crate::tutor::app::App;
use crate::tutor::keymap::BINDINGS;

/// Every binding, two columns when there is room.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let block = overlay_block(app, "Keys");
    let inner = block.inner(area);
    let entries: Vec<Vec<Span>> = BINDINGS
        .iter()
        .map(|b| {
            vec![
                Span::styled(format!("{:>6} ", b.label), theme.accent),
                Span::raw(b.description),
            ]
        })
        .collect();
    let two_columns = inner.width >= 90 || entries.len() > inner.height as usize;
    let mut lines = Vec::new();
    if two_columns {
        let half = entries.len().div_ceil(2);
        let column = (inner.width / 2) as usize;
        for i in 0..half {
            let mut spans = entries[i].clone();
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            if let Some(right) = entries.get(i + half) {
                spans.push(Span::raw(" ".repeat(column.saturating_sub(used).max(1))));
                spans.extend(right.clone());
            }
            lines.push(Line::from(spans));
        }
    } else {
        lines.extend(entries.into_iter().map(Line::from));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "Mouse: wheel scrolls, click selects a request or a tab. Ctrl-C also quits.",
        theme.dim,
    ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
