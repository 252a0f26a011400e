//! The bottom line: the latest notice, or the most useful keys from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tutor::app::App;
use crate::tutor::keymap::BINDINGS;

/// The latest notice on the left, key hints after it, dropped-event counts when any.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let mut spans = Vec::new();
    let lost = app.watch.traffic.dropped_events + app.watch.animation.skipped;
    if app.watch.traffic.dropped_events > 0 {
        spans.push(Span::styled(
            format!(" {} events dropped ", app.watch.traffic.dropped_events),
            theme.server_error,
        ));
    }
    if app.watch.animation.rates_mode {
        spans.push(Span::styled(
            " heavy traffic: showing rates ",
            theme.client_error,
        ));
    } else if app.watch.animation.paused {
        spans.push(Span::styled(" paused (space) ", theme.client_error));
    }
    let _ = lost;
    if let Some(notice) = app.notice() {
        spans.push(Span::styled(format!(" {notice} "), theme.accent));
        spans.push(Span::raw(" "));
    }
    for binding in BINDINGS {
        let Some(short) = binding.status else {
            continue;
        };
        spans.push(Span::styled(format!(" {} ", binding.label), theme.key));
        spans.push(Span::styled(format!(" {short} "), theme.dim));
    }
    frame.render_widget(Line::from(spans), area);
}
