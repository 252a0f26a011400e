//! Drawing: one file per screen region, each `render(frame, &App, area)`, reading the app
//! and never changing it. [`layout`] decides where the regions go.

pub mod compare;
pub mod diagram;
pub mod help;
pub mod inspector;
pub mod layout;
pub mod lesson;
pub mod lists;
pub mod request_menu;
pub mod status_bar;
pub mod traffic;
pub mod workers;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::app::App;
use super::lessons::BodyCache;
use super::overlays::Overlay;
use layout::{Pane, tab_label};

/// What the screen keeps between frames: the rendered lesson body (the model does not
/// cache view output).
#[derive(Default)]
pub struct Screen {
    lesson: BodyCache,
}

impl Screen {
    pub fn draw(&mut self, frame: &mut Frame, app: &App) {
        render_with(frame, app, &mut self.lesson);
    }
}

/// The whole screen, from nothing (tests; the tutor keeps a [`Screen`]).
pub fn render(frame: &mut Frame, app: &App) {
    Screen::default().draw(frame, app);
}

fn render_with(frame: &mut Frame, app: &App, lesson_body: &mut BodyCache) {
    let area = frame.area();
    let areas = app.areas();
    if areas.too_small {
        let text = format!(
            "The terminal is {}x{}; wsgi-tutor needs at least {}x{}.\nMake the window larger (or the font smaller). q quits.",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        );
        frame.render_widget(
            Paragraph::new(text)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    if let Some(tabs) = areas.tabs {
        let mut spans = Vec::new();
        for pane in Pane::ALL {
            let style = if pane == app.focus {
                app.theme.selected
            } else {
                app.theme.dim
            };
            spans.push(Span::styled(tab_label(pane), style));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled("Tab switches", app.theme.dim));
        frame.render_widget(Line::from(spans), tabs);
    }
    if let Some(r) = areas.lesson {
        lesson::render(frame, app, r, lesson_body);
    }
    if let Some(r) = areas.diagram {
        diagram::render(frame, app, r);
    }
    if let Some(r) = areas.traffic {
        traffic::render(frame, app, r);
    }
    if let Some(r) = areas.inspector {
        inspector::render(frame, app, r);
    }
    status_bar::render(frame, app, areas.status);
    if let Some(overlay) = &app.overlay {
        // A question is a small window: what it is about stays in view around it.
        let area = match overlay {
            Overlay::Confirm(_) => areas
                .overlay
                .centered(Constraint::Max(76), Constraint::Length(7)),
            _ => areas.overlay,
        };
        frame.render_widget(Clear, area);
        match overlay {
            Overlay::Help => help::render(frame, app, area),
            Overlay::RequestMenu(_) => request_menu::render(frame, app, area),
            Overlay::Workers => workers::render(frame, app, area),
            Overlay::Compare { replay } => compare::render(frame, app, area, *replay),
            Overlay::Apps(_) | Overlay::Lessons(_) | Overlay::Restore(_) | Overlay::Confirm(_) => {
                lists::render(frame, app, area);
            }
        }
    }
}

/// A pane's frame; the focused one stands out.
pub fn pane_block<'a>(app: &App, title: impl Into<Line<'a>>, pane: Option<Pane>) -> Block<'a> {
    let focused = pane.is_some_and(|p| p == app.focus && app.areas().tabs.is_none());
    let style: Style = if focused {
        app.theme.border_focus
    } else {
        app.theme.border
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(title)
}

/// An overlay's frame.
pub fn overlay_block<'a>(app: &App, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(app.theme.border_focus)
        .title(Span::styled(format!(" {title} "), app.theme.heading))
        .title_bottom(Span::styled(" Esc closes ", app.theme.dim))
}

/// Microseconds as a person reads them.
pub fn duration(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.0} s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else if us >= 10_000 {
        format!("{:.0} ms", us as f64 / 1e3)
    } else if us >= 1_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}
