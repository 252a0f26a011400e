//! The diagram: Browser → Web server → WSGI server → App as boxes, with each request as a
//! dot travelling the edges (requests on the upper lane, responses on the lower), coloured
//! by outcome. Dots that wait sit under the box they wait at.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::layout::Pane;
use super::pane_block;
use crate::tutor::animation::{Position, Stop};
use crate::tutor::app::{App, ServerState, ServerView};

const STOPS: [Stop; 4] = [Stop::Browser, Stop::WebServer, Stop::WsgiServer, Stop::App];

/// The four boxes, the edges between them and the requests in flight.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane_block(app, title(app), Some(Pane::Traffic));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(geo) = Geometry::of(inner) else {
        return;
    };
    boxes(frame, app, geo);
    let buf = frame.buffer_mut();
    for edge in 0..3u16 {
        draw_edge(buf, app, geo, edge);
    }
    // In the rates view nothing flies and nothing waits.
    if !app.watch.animation.rates_mode {
        let (waiting, queued) = draw_dots(buf, app, geo);
        waiting_counts(buf, app, geo, waiting, queued);
    }
}

/// Where the boxes and edges go inside the pane.
#[derive(Clone, Copy)]
struct Geometry {
    inner: Rect,
    box_w: u16,
    edge_w: u16,
    /// The boxes' top row; the edge labels go on the row above.
    top: u16,
}

impl Geometry {
    /// None when four boxes of 10 and three edges of 3 do not fit.
    fn of(inner: Rect) -> Option<Geometry> {
        if inner.width < 4 * 10 + 3 * 3 || inner.height < 6 {
            return None;
        }
        let box_w = ((inner.width.saturating_sub(3 * 5)) / 4).clamp(10, 18);
        Some(Geometry {
            inner,
            box_w,
            edge_w: (inner.width - 4 * box_w) / 3,
            top: inner.y + 1,
        })
    }

    fn box_x(&self, i: u16) -> u16 {
        self.inner.x + i * (self.box_w + self.edge_w)
    }

    /// The first column of edge `edge`, right of the box before it.
    fn edge_x(&self, edge: u16) -> u16 {
        self.box_x(edge) + self.box_w
    }
}

/// Speed, pause, and the request that entered last, so a dot can be told from the others.
fn title(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let anim = &app.watch.animation;
    let mut title = vec![Span::raw(" Diagram ")];
    title.push(Span::styled(format!("{}× ", anim.speed()), theme.dim));
    if anim.paused {
        title.push(Span::styled("paused ", theme.client_error));
    }
    if !anim.rates_mode
        && let Some(req) = anim
            .flights
            .last()
            .and_then(|f| app.watch.traffic.get(f.seq))
    {
        let status = req.status().map_or(String::new(), |s| format!(" → {s}"));
        title.push(Span::styled(
            format!("· ● {} {}{status} ", req.method(), req.target()),
            theme.status(req.status()),
        ));
    }
    Line::from(title)
}

fn boxes(frame: &mut Frame, app: &App, geo: Geometry) {
    let theme = &app.theme;
    let workers = app.stack.workers.len();
    let pids: Vec<String> = app.stack.workers.keys().map(ToString::to_string).collect();
    let contents: [(&str, String, String, Style); 4] = [
        ("Browser", "curl · menu".into(), "you".into(), theme.border),
        server_lines("Web server", &app.stack.web, app),
        server_lines("WSGI server", &app.stack.wsgi, app),
        (
            "App",
            if app.stack.wsgi.state == ServerState::Stopped {
                "no workers".into()
            } else {
                format!("{workers} worker{}", if workers == 1 { "" } else { "s" })
            },
            pids.join(" "),
            theme.border,
        ),
    ];
    for (i, (name, second, third, style)) in contents.into_iter().enumerate() {
        let rect = Rect::new(geo.box_x(i as u16), geo.top, geo.box_w, 5).intersection(geo.inner);
        let text = vec![
            Line::styled(name, theme.heading),
            Line::raw(second),
            Line::styled(third, theme.dim),
        ];
        let boxed = Paragraph::new(text)
            .centered()
            .block(Block::default().borders(Borders::ALL).border_style(style));
        frame.render_widget(boxed, rect);
    }
}

/// One edge: two lanes (requests above, responses below) and a label over them.
fn draw_edge(buf: &mut Buffer, app: &App, geo: Geometry, edge: u16) {
    let theme = &app.theme;
    let (x0, top, edge_w) = (geo.edge_x(edge), geo.top, geo.edge_w);
    let broken = edge == 1 && app.stack.wsgi.state != ServerState::Listening;
    let lane_style = if broken {
        theme.server_error
    } else {
        theme.dim
    };
    for dx in 0..edge_w {
        let fwd = if dx == edge_w - 1 { "▶" } else { "─" };
        let back = if dx == 0 { "◀" } else { "─" };
        buf[(x0 + dx, top + 1)]
            .set_symbol(fwd)
            .set_style(lane_style);
        buf[(x0 + dx, top + 3)]
            .set_symbol(back)
            .set_style(lane_style);
    }
    if broken {
        let mid = x0 + edge_w / 2;
        buf[(mid, top + 2)]
            .set_symbol("✗")
            .set_style(theme.server_error);
    }
    let label: String = edge_label(app, edge, edge_w)
        .chars()
        .take(edge_w as usize)
        .collect();
    let lx = x0 + (edge_w.saturating_sub(label.chars().count() as u16)) / 2;
    buf.set_string(lx, geo.inner.y, label, theme.dim);
}

/// Its rate in the rates view, else what the edge is (HTTP, with the port if it fits).
fn edge_label(app: &App, edge: u16, edge_w: u16) -> String {
    if app.watch.animation.rates_mode {
        return format!("{}/s", app.watch.animation.edge_rates()[edge as usize]);
    }
    let port = match edge {
        0 => app.stack.web.port,
        _ => app.stack.wsgi.port,
    };
    match edge {
        2 => "pipes".to_owned(),
        _ if edge_w >= 11 && port != 0 => format!("HTTP :{port}"),
        _ => "HTTP".to_owned(),
    }
}

/// Draws the dots on the edges; returns how many wait at each box and in the queue.
fn draw_dots(buf: &mut Buffer, app: &App, geo: Geometry) -> ([usize; 4], usize) {
    let mut waiting = [0usize; 4];
    let mut queued = 0usize;
    for dot in app.watch.animation.dots(&app.watch.traffic) {
        let style = app.theme.outcome(dot.outcome);
        match dot.position {
            Position::OnEdge {
                edge,
                forward,
                progress,
            } => {
                let x0 = geo.edge_x(edge as u16);
                let step = (progress.clamp(0.0, 1.0) * f64::from(geo.edge_w - 1)).round() as u16;
                let (x, y) = if forward {
                    (x0 + step, geo.top + 1)
                } else {
                    (x0 + geo.edge_w - 1 - step, geo.top + 3)
                };
                buf[(x, y)].set_symbol("●").set_style(style);
            }
            Position::At(stop) => {
                waiting[STOPS.iter().position(|s| *s == stop).unwrap_or(0)] += 1;
            }
            Position::Queued => queued += 1,
        }
    }
    (waiting, queued)
}

/// Under each box, the dots that wait there (and the WSGI server's queue).
fn waiting_counts(buf: &mut Buffer, app: &App, geo: Geometry, waiting: [usize; 4], queued: usize) {
    let below = geo.top + 5;
    if below >= geo.inner.y + geo.inner.height {
        return;
    }
    for (i, n) in waiting.iter().enumerate() {
        let mut text = String::new();
        if *n > 0 {
            text = match STOPS[i] {
                Stop::App => format!("● {n} running"),
                Stop::Browser => format!("● {n}"),
                _ => format!("● {n} waiting"),
            };
        }
        if STOPS[i] == Stop::WsgiServer && queued > 0 {
            text = format!("⧗ {queued} queued {text}");
        }
        if !text.is_empty() {
            let text: String = text.chars().take(geo.box_w as usize).collect();
            buf.set_string(geo.box_x(i as u16), below, text, app.theme.pending);
        }
    }
}

fn server_lines(
    name: &'static str,
    view: &ServerView,
    app: &App,
) -> (&'static str, String, String, Style) {
    let theme = &app.theme;
    let port = if view.port == 0 {
        String::new()
    } else {
        format!(":{}", view.port)
    };
    let (third, style) = match (view.state, view.pid) {
        (ServerState::Stopped, _) => ("stopped".to_owned(), theme.server_error),
        (ServerState::Failed, _) => ("failed".to_owned(), theme.server_error),
        (ServerState::Starting, Some(pid)) => (format!("pid {pid} …"), theme.pending),
        (ServerState::Starting, None) => ("starting…".to_owned(), theme.pending),
        (ServerState::Listening, pid) => {
            (pid.map_or(String::new(), |p| format!("pid {p}")), theme.ok)
        }
    };
    (name, port, third, style)
}
