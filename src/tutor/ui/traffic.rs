//! The traffic list: one row per request, newest first, like mitmproxy's flow list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::layout::Pane;
use super::{duration, pane_block};
use crate::tutor::app::App;
use crate::tutor::traffic::{Request, Via};

/// Time, method, path, status, served by, duration and worker of each request.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    if app.watch.traffic.is_empty() {
        frame.render_widget(empty(app), area);
        return;
    }
    let selected = app.watch.selected_request().map(|r| r.seq);
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
            let row = row(app, req, with_worker);
            if Some(req.seq) == selected {
                row.style(app.theme.selected)
            } else {
                row
            }
        })
        .collect();
    let (names, widths) = columns(with_worker);
    let table = Table::new(rows, widths)
        .header(Row::new(names).style(app.theme.accent))
        .column_spacing(1)
        .block(pane_block(app, title(app), Some(Pane::Traffic)));
    frame.render_widget(table, area);
}

/// How many requests, how many dropped, and whether the list follows the newest.
fn title(app: &App) -> Line<'static> {
    let theme = &app.theme;
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
    Line::from(title)
}

fn row(app: &App, req: &Request, with_worker: bool) -> Row<'static> {
    let theme = &app.theme;
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
    Row::new(cells)
}

/// The column names and widths; the worker column only when the pane is wide enough.
fn columns(with_worker: bool) -> (Vec<&'static str>, Vec<Constraint>) {
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
    (names, widths)
}

/// What to do when nothing has been sent yet.
fn empty(app: &App) -> Paragraph<'static> {
    Paragraph::new(vec![
        Line::default(),
        Line::styled(
            "  No requests yet. Press m to send one, or in another terminal:",
            app.theme.dim,
        ),
        Line::styled(
            format!("  curl -i http://127.0.0.1:{}/", app.stack.web.port),
            app.theme.code,
        ),
    ])
    .block(pane_block(app, " Traffic ", Some(Pane::Traffic)))
}
