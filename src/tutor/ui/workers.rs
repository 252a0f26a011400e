//! The workers panel: the WSGI server's worker processes, what each served, and exits.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::overlay_block;
use crate::tutor::app::App;

/// Worker pids with their request counts, then recent exits and why.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let mut lines = vec![
        Line::styled(
            format!(
                " WSGI server pid {} · app {} · {} worker(s) asked for",
                app.stack.wsgi.pid.map_or("-".into(), |p| p.to_string()),
                app.stack.app_spec,
                app.stack.worker_count
            ),
            theme.accent,
        ),
        Line::default(),
        Line::styled(
            " worker pid   requests served (this session)",
            theme.heading,
        ),
    ];
    if app.stack.workers.is_empty() {
        lines.push(Line::styled(" no workers running", theme.dim));
    }
    for (pid, worker) in &app.stack.workers {
        lines.push(Line::raw(format!(" {pid:>10}   {}", worker.served)));
    }
    lines.push(Line::default());
    lines.push(Line::styled(" recent exits", theme.heading));
    if app.stack.worker_exits.is_empty() {
        lines.push(Line::styled(" none", theme.dim));
    }
    for (pid, reason) in app.stack.worker_exits.iter().rev() {
        lines.push(Line::raw(format!(" {pid:>10}   {reason}")));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        " + / - change the number of workers · a reloads the app · W closes",
        theme.dim,
    ));
    frame.render_widget(
        Paragraph::new(lines).block(overlay_block(app, "Workers")),
        area,
    );
}
