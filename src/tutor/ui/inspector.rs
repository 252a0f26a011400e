//! The inspector: the selected request hop by hop — as the browser sent it, as the web
//! server forwarded it (added headers highlighted), the environ, start_response, the
//! response, and a timing waterfall.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::Pane;
use super::{duration, pane_block};
use crate::tutor::app::App;
use crate::tutor::theme::Theme;
use crate::tutor::traffic::{Forwarded, Request, ServedBy, Via};

/// The selected request's hops, scrollable.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let (title, lines) = match app.watch.selected_request() {
        Some(req) => (
            format!(" Inspector: {} {} ", req.method(), req.target()),
            lines(req, theme, area.width.saturating_sub(2)),
        ),
        None => (
            " Inspector ".to_owned(),
            vec![Line::styled(
                "Select a request in the traffic list (↑/↓, Enter) to see every hop.",
                theme.dim,
            )],
        ),
    };
    let block = pane_block(app, title, Some(Pane::Inspector));
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.watch.inspector_scroll, 0))
        .block(block);
    frame.render_widget(paragraph, area);
}

fn section(lines: &mut Vec<Line<'_>>, theme: &Theme, title: String) {
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines.push(Line::styled(title, theme.heading));
}

fn header_lines<'a>(
    lines: &mut Vec<Line<'a>>,
    headers: &'a [(String, String)],
    added: &[(String, String)],
    theme: &Theme,
) {
    for (name, value) in headers {
        let is_added = added.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let (mark, style) = if is_added {
            ("+ ", theme.added)
        } else {
            ("  ", theme.text)
        };
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(
                format!("{name}: "),
                if is_added { style } else { theme.accent },
            ),
            Span::styled(value.as_str(), style),
        ]));
    }
}

/// Every hop of one request as lines, in the order the request travelled them.
pub fn lines<'a>(req: &'a Request, theme: &Theme, width: u16) -> Vec<Line<'a>> {
    let direct = req.via() == Via::Direct;
    let mut lines = vec![summary(req, direct, theme)];
    as_sent(&mut lines, req, direct, theme);
    if !direct {
        at_web_server(&mut lines, req, theme);
    }
    environ(&mut lines, req, theme, width);
    start_response(&mut lines, req, theme);
    app_error(&mut lines, req, theme);
    app_output(&mut lines, req, theme);
    server_errors(&mut lines, req, theme);
    response(&mut lines, req, theme, width);
    lines
}

/// The status and, in words, which layer answered.
fn summary(req: &Request, direct: bool, theme: &Theme) -> Line<'static> {
    let summary = match req.served_by() {
        Some(ServedBy::Static) => {
            "answered by the web server from disk: the WSGI server never saw it"
        }
        Some(ServedBy::Wsgi) if direct => {
            "sent straight to the WSGI server, bypassing the web server"
        }
        Some(ServedBy::Wsgi) => "passed by the web server to the WSGI server, answered by the app",
        Some(ServedBy::WebError) => "the web server answered itself: no answer from upstream",
        Some(ServedBy::WsgiError) => "the WSGI server answered instead of the app",
        Some(ServedBy::Return) => "answered by the web server's `return` directive",
        None => "in progress…",
    };
    Line::from(vec![
        Span::styled(
            req.status().map_or("…".into(), |s| format!("{s} ")),
            theme.status(req.status()),
        ),
        Span::raw(summary),
    ])
}

fn as_sent<'a>(lines: &mut Vec<Line<'a>>, req: &'a Request, direct: bool, theme: &Theme) {
    let Some(sent) = req.client_request() else {
        return;
    };
    let to = if direct { "WSGI server" } else { "web server" };
    section(
        lines,
        theme,
        format!("① As the client sent it (to the {to}, from {})", sent.peer),
    );
    lines.push(Line::styled(
        format!("  {} {} {}", sent.method, sent.target, sent.version),
        theme.code,
    ));
    header_lines(lines, &sent.headers, &[], theme);
}

/// The location chosen, then what the web server did: answer from disk or forward.
fn at_web_server<'a>(lines: &mut Vec<Line<'a>>, req: &'a Request, theme: &Theme) {
    if let Some((location, handler)) = &req.location {
        lines.push(Line::from(vec![
            Span::styled("  location ", theme.dim),
            Span::styled(location.as_str(), theme.accent),
            Span::styled(format!(" → {handler}"), theme.dim),
        ]));
    }
    if let Some((path, status)) = &req.static_served {
        section(lines, theme, "② The web server answered from disk".into());
        lines.push(Line::raw(format!("  {path} → {status}")));
    } else if let Some(fwd) = &req.forwarded {
        forwarded(lines, req, fwd, theme);
    }
}

fn forwarded(lines: &mut Vec<Line<'_>>, req: &Request, fwd: &Forwarded, theme: &Theme) {
    section(
        lines,
        theme,
        format!("② As the web server forwarded it (to {})", fwd.upstream),
    );
    lines.push(Line::styled(
        format!("  {} {} {}", req.method(), fwd.uri, fwd.version),
        theme.code,
    ));
    // What the web server set, highlighted; the client's own headers go on as sent.
    let added: Vec<(String, String)> = fwd
        .headers
        .iter()
        .filter(|(n, _)| fwd.added.iter().any(|(a, _)| a.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    let passed = fwd.headers.len().saturating_sub(added.len());
    for (name, value) in added {
        lines.push(Line::from(vec![
            Span::styled(format!("+ {name}: "), theme.added),
            Span::styled(value, theme.added),
        ]));
    }
    lines.push(Line::styled(
        format!("  + set by the web server; {passed} more passed on as the client sent them"),
        theme.dim,
    ));
}

/// The environ, the variables the proxy chain shaped highlighted.
fn environ<'a>(lines: &mut Vec<Line<'a>>, req: &'a Request, theme: &Theme, width: u16) {
    if req.environ.is_empty() {
        return;
    }
    let worker = req
        .worker_pid()
        .map_or(String::new(), |p| format!(", worker {p}"));
    section(
        lines,
        theme,
        format!("③ The environ the app received{worker}"),
    );
    let key_width = req
        .environ
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0)
        .min(width as usize / 2);
    for (key, value) in &req.environ {
        let style =
            if key.starts_with("HTTP_X_FORWARDED") || key == "REMOTE_ADDR" || key == "HTTP_HOST" {
                theme.added
            } else {
                theme.text
            };
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:key_width$} "), theme.accent),
            Span::styled(value.as_str(), style),
        ]));
    }
}

fn start_response<'a>(lines: &mut Vec<Line<'a>>, req: &'a Request, theme: &Theme) {
    let Some((status, headers)) = &req.start_response else {
        return;
    };
    section(lines, theme, "④ start_response(status, headers)".into());
    lines.push(Line::styled(format!("  {status}"), theme.code));
    header_lines(lines, headers, &[], theme);
}

fn app_error(lines: &mut Vec<Line<'_>>, req: &Request, theme: &Theme) {
    let Some((kind, message, traceback)) = &req.app_error else {
        return;
    };
    section(lines, theme, format!("✗ The app failed ({kind})"));
    lines.push(Line::styled(format!("  {message}"), theme.server_error));
    for l in traceback.iter().flat_map(|tb| tb.lines()) {
        lines.push(Line::styled(format!("  {l}"), theme.dim));
    }
}

fn app_output(lines: &mut Vec<Line<'_>>, req: &Request, theme: &Theme) {
    if req.app_output.is_empty() {
        return;
    }
    section(
        lines,
        theme,
        "What the app printed (it goes to the WSGI server's log)".into(),
    );
    for line in &req.app_output {
        lines.push(Line::styled(format!("  {line}"), theme.dim));
    }
}

/// The servers' own error lines, under whatever section came last.
fn server_errors(lines: &mut Vec<Line<'_>>, req: &Request, theme: &Theme) {
    for (process, message) in &req.errors {
        lines.push(Line::styled(
            format!("  {}: {message}", crate::stack::describe(*process)),
            theme.server_error,
        ));
    }
}

fn response<'a>(lines: &mut Vec<Line<'a>>, req: &'a Request, theme: &Theme, width: u16) {
    let Some(resp) = req.client_response() else {
        return;
    };
    section(
        lines,
        theme,
        format!("⑤ The response the client got ({} bytes)", resp.bytes),
    );
    lines.push(Line::styled(
        format!("  {}", resp.status),
        theme.status(Some(resp.status)),
    ));
    header_lines(lines, &resp.headers, &[], theme);
    waterfall(lines, req, theme, width);
}

fn waterfall(lines: &mut Vec<Line<'_>>, req: &Request, theme: &Theme, width: u16) {
    let t = req.timing();
    section(
        lines,
        theme,
        format!("⑥ Timing, {} in all", duration(t.total_us)),
    );
    let bar_width = f64::from(width.saturating_sub(30).max(10));
    let total = t.total_us.max(1) as f64;
    let mut offset = 0.0;
    let rows = [
        ("web server", t.web_us, theme.accent),
        ("queue", t.queue_us, theme.client_error),
        ("app", t.app_us, theme.ok),
    ];
    for (name, us, style) in rows {
        if name != "web server" && !req.reached_wsgi() {
            continue;
        }
        let start = (offset / total * bar_width).round() as usize;
        let len = ((us as f64 / total * bar_width).round() as usize).max(1);
        lines.push(Line::from(vec![
            Span::styled(format!("  {name:<10} {:>9} ", duration(us)), theme.text),
            Span::raw(" ".repeat(start)),
            Span::styled("█".repeat(len), style),
        ]));
        if name != "web server" {
            offset += us as f64;
        }
    }
}
