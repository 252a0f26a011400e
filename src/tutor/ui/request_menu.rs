//! The request menu, the tutor's built-in browser: ready-made requests, a line to type
//! one, and the equivalent curl command for each.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::overlay_block;
use crate::tutor::app::App;
use crate::tutor::overlays::{Overlay, RequestMenu};
use crate::tutor::requests::{RequestSpec, Target};

/// The list, the typing line, and the curl for what is selected.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let Some(Overlay::RequestMenu(RequestMenu { selected, typing })) = &app.overlay else {
        return;
    };
    let mut lines = ready_made(app, *selected);
    lines.extend(typing_line(app, *selected, typing.as_deref()));
    lines.push(Line::default());
    lines.extend(as_curl(app, *selected, typing.as_deref()));
    lines.push(Line::default());
    lines.push(Line::styled(
        " ↑/↓ choose · Enter send · Esc close",
        app.theme.dim,
    ));
    let block = overlay_block(app, "Send a request");
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// One numbered line per ready-made request, with the port it goes to.
fn ready_made(app: &App, selected: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = Vec::new();
    for (i, spec) in app.menu().iter().enumerate() {
        let style = if i == selected {
            theme.selected
        } else {
            theme.text
        };
        let port = match spec.to {
            Target::WebServer => app.stack.web.port,
            Target::WsgiServer => app.stack.wsgi.port,
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", i + 1), theme.dim),
            Span::styled(format!("{:<5}{:<22}", spec.method, spec.target), style),
            Span::styled(format!(" :{port} {}", spec.label), theme.dim),
        ]));
    }
    lines
}

/// The line to type a request on (selected after the ready-made ones), and its syntax.
fn typing_line(app: &App, selected: usize, typing: Option<&str>) -> [Line<'static>; 2] {
    let theme = &app.theme;
    let typed_style = if selected == app.menu().len() {
        theme.selected
    } else {
        theme.text
    };
    let typed = match typing {
        Some(line) => format!("{line}▏"),
        None => "type a request…".to_owned(),
    };
    [
        Line::from(vec![
            Span::styled(" > ", theme.dim),
            Span::styled(typed, typed_style),
        ]),
        Line::styled(
            "   METHOD PATH [Name:value]... [-- BODY]; put `direct` first to skip the web server",
            theme.dim,
        ),
    ]
}

/// The selected or typed request as a curl command, when it is a request at all.
fn as_curl(app: &App, selected: usize, typing: Option<&str>) -> Vec<Line<'static>> {
    let current: Option<RequestSpec> = match typing {
        Some(line) => RequestSpec::parse(line).ok(),
        None => app.menu().get(selected).cloned(),
    };
    let Some(spec) = current else {
        return Vec::new();
    };
    vec![
        Line::styled(" The same request from another terminal:", app.theme.accent),
        Line::styled(
            format!("   {}", spec.curl(app.stack.web.port, app.stack.wsgi.port)),
            app.theme.code,
        ),
    ]
}
