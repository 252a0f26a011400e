//! The replay comparison: one request sent through the web server and straight to the
//! WSGI server, and what the app saw each time — the environ keys a proxy changes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::overlay_block;
use crate::tutor::app::App;
use crate::tutor::requests::replay_pair;
use crate::tutor::traffic::Request;

/// The keys that differ between the two paths into the app.
const KEYS: &[&str] = &[
    "REMOTE_ADDR",
    "HTTP_HOST",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_REQUEST_ID",
    "HTTP_CONNECTION",
];

fn environ(req: Option<&Request>, key: &str) -> String {
    match req {
        None => "waiting…".into(),
        Some(r) if r.environ.is_empty() => match r.status() {
            Some(status) => format!("no app ({status})"),
            None => "waiting…".into(),
        },
        Some(r) => r
            .environ
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| "— absent".to_owned(), |(_, v)| v.clone()),
    }
}

/// Two columns of environ values, differences highlighted.
pub fn render(frame: &mut Frame, app: &App, area: Rect, replay: u64) {
    let theme = &app.theme;
    let (web, direct) = replay_pair(&app.watch.traffic, replay);
    let header = Row::new([
        "environ key",
        "through the web server",
        "straight to the WSGI server",
    ])
    .style(theme.accent);
    let rows: Vec<Row> = KEYS
        .iter()
        .map(|key| {
            let a = environ(web, key);
            let b = environ(direct, key);
            let style = if a == b { theme.text } else { theme.added };
            Row::new([
                Cell::from(Span::styled(*key, theme.accent)),
                Cell::from(Span::styled(a, style)),
                Cell::from(Span::styled(b, style)),
            ])
        })
        .collect();
    let block = overlay_block(app, "Replay: what the app saw").title_bottom(Line::styled(
        " highlighted: the web server changed it ",
        theme.added,
    ));
    let table = Table::new(
        rows,
        [
            Constraint::Length(23),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}
