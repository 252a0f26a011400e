//! The traffic list: one row per request, newest first, like mitmproxy's flow list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::layout::Pane;
use super::{duration, pane_block};
use crate::tutor::app::App;
use crate::tutor::traffic::Via;

/// Time, method, path, status, served by, duration and worker of each request.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let selected = app.watch.selected_request().map(|r| r.seq);
    let mut title = vec![Span::raw(" Traffic ")];
    title.push(Span::styled(
        format!("{} requests", app.watch.traffic.len()),
        theme.dim,
    ));
    if app.watch.traffic.evicted > 0 {
        title.push(Span::styled(
            format!(", {} older dropped", app.watch.traffic.evicted),
            theme.dim,
        ));
    }
    title.push(Span::styled(
        if app.watch.follow {
            " · following "
        } else {
            " · f follows "
        },
        theme.dim,
    ));
    let block = pane_block(app, Line::from(title), Some(Pane::Traffic));
    let inner_height = area.height.saturating_sub(3) as usize;
    // Keep the selection on screen: skip rows above it when needed.
    let position = app
        .watch
        .traffic
        .iter()
        .rev()
        .position(|r| Some(r.seq) == selected)
        .unwrap_or(0);
    let skip = position.saturating_sub(inner_height.saturating_sub(1));
    let with_worker = area.width >= 82;
    let rows: Vec<Row> = app
        .watch
        .traffic
        .iter()
        .rev()
        .skip(skip)
        .take(inner_height)
        .map(|req| {
            let secs = req.start_us().saturating_sub(app.watch.start_us) as f64 / 1e6;
            let status = req
                .status()
                .map_or_else(|| "…".to_owned(), |s| s.to_string());
            let served = match req.served_by() {
                Some(s) => s.label().to_owned(),
                None if req.is_complete() => "-".to_owned(),
                None => "…".to_owned(),
            };
            let path = if req.via() == Via::Direct {
                format!("{} (direct)", req.target())
            } else {
                req.target().to_owned()
            };
            let took = if req.is_complete() {
                duration(req.timing().total_us)
            } else {
                String::new()
            };
            let mut cells = vec![
                Cell::from(format!("{secs:>7.3}")),
                Cell::from(req.method().to_owned()),
                Cell::from(path),
                Cell::from(Span::styled(status, theme.status(req.status()))),
                Cell::from(Span::styled(served, theme.served_by(req.served_by()))),
                Cell::from(took),
            ];
            if with_worker {
                cells.push(Cell::from(
                    req.worker_pid().map_or(String::new(), |p| p.to_string()),
                ));
            }
            let row = Row::new(cells);
            if Some(req.seq) == selected {
                row.style(theme.selected)
            } else {
                row
            }
        })
        .collect();
    let mut names = vec!["time s", "method", "path", "code", "served by", "took"];
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Fill(1),
        Constraint::Length(4),
        Constraint::Length(10),
        Constraint::Length(7),
    ];
    if with_worker {
        names.push("worker");
        widths.push(Constraint::Length(7));
    }
    let header = Row::new(names).style(theme.accent);
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    if app.watch.traffic.is_empty() {
        let empty = ratatui::widgets::Paragraph::new(vec![
            Line::default(),
            Line::styled(
                "  No requests yet. Press m to send one, or in another terminal:",
                theme.dim,
            ),
            Line::styled(
                format!("  curl -i http://127.0.0.1:{}/", app.stack.web.port),
                theme.code,
            ),
        ])
        .block(pane_block(app, " Traffic ", Some(Pane::Traffic)));
        frame.render_widget(empty, area);
        return;
    }
    frame.render_widget(table, area);
}
