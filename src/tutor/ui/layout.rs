//! Where each region goes: side by side on wide terminals, tabs on small ones, a message
//! below the minimum size. Pure geometry, shared by drawing and mouse hit-testing.

use ratatui::layout::{Constraint, Layout, Position, Rect};

/// The panes that take the focus (Tab cycles them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Lesson,
    Traffic,
    Inspector,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Lesson, Pane::Traffic, Pane::Inspector];

    #[must_use]
    pub fn next(self) -> Pane {
        match self {
            Pane::Lesson => Pane::Traffic,
            Pane::Traffic => Pane::Inspector,
            Pane::Inspector => Pane::Lesson,
        }
    }

    #[must_use]
    pub fn previous(self) -> Pane {
        self.next().next()
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Lesson => "Lesson",
            Pane::Traffic => "Diagram & traffic",
            Pane::Inspector => "Inspector",
        }
    }
}

/// The smallest terminal the tutor draws in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;
/// From this size up, the panes sit side by side.
pub const WIDE_WIDTH: u16 = 110;
pub const WIDE_HEIGHT: u16 = 30;
/// The diagram's height, borders included.
pub const DIAGRAM_HEIGHT: u16 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub lesson: Option<Rect>,
    pub diagram: Option<Rect>,
    pub traffic: Option<Rect>,
    pub inspector: Option<Rect>,
    /// The tab bar, in the small layout.
    pub tabs: Option<Rect>,
    pub status: Rect,
    /// Where an overlay (help, request menu...) goes.
    pub overlay: Rect,
    pub too_small: bool,
}

impl Areas {
    pub fn pane_at(&self, at: Position) -> Option<Pane> {
        let hit = |r: Option<Rect>| r.is_some_and(|r| r.contains(at));
        if hit(self.lesson) {
            Some(Pane::Lesson)
        } else if hit(self.traffic) || hit(self.diagram) {
            Some(Pane::Traffic)
        } else if hit(self.inspector) {
            Some(Pane::Inspector)
        } else {
            None
        }
    }

    /// The tab under a click in the tab bar: tabs are laid out as `tab_spans` draws them.
    pub fn tab_at(&self, at: Position) -> Option<Pane> {
        let bar = self.tabs?;
        if !bar.contains(at) {
            return None;
        }
        let mut x = bar.x;
        for pane in Pane::ALL {
            let width = tab_label(pane).chars().count() as u16;
            if at.x >= x && at.x < x + width {
                return Some(pane);
            }
            x += width + 1;
        }
        None
    }
}

pub fn tab_label(pane: Pane) -> String {
    let n = Pane::ALL.iter().position(|p| *p == pane).unwrap_or(0) + 1;
    format!(" {n} {} ", pane.title())
}

pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT
}

pub fn areas(area: Rect, focus: Pane, _overlay: bool) -> Areas {
    let overlay = area.centered(
        Constraint::Length(area.width.saturating_sub(4).min(104)),
        Constraint::Length(area.height.saturating_sub(2).min(30)),
    );
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Areas {
            status: Rect::default(),
            overlay,
            too_small: true,
            ..Areas::default()
        };
    }
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    if is_wide(area) {
        let [lesson, right] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Fill(1)]).areas(main);
        // The inspector grows while it has the focus (Enter on a request).
        let traffic_height = if focus == Pane::Inspector {
            Constraint::Length(7)
        } else {
            Constraint::Percentage(30)
        };
        let [diagram, traffic, inspector] = Layout::vertical([
            Constraint::Length(DIAGRAM_HEIGHT),
            traffic_height,
            Constraint::Fill(1),
        ])
        .areas(right);
        return Areas {
            lesson: Some(lesson),
            diagram: Some(diagram),
            traffic: Some(traffic),
            inspector: Some(inspector),
            tabs: None,
            status,
            overlay,
            too_small: false,
        };
    }
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(main);
    let mut areas = Areas {
        tabs: Some(tabs),
        status,
        overlay,
        ..Areas::default()
    };
    match focus {
        Pane::Lesson => areas.lesson = Some(body),
        Pane::Traffic => {
            let [diagram, traffic] =
                Layout::vertical([Constraint::Length(DIAGRAM_HEIGHT), Constraint::Fill(1)])
                    .areas(body);
            areas.diagram = Some(diagram);
            areas.traffic = Some(traffic);
        }
        Pane::Inspector => areas.inspector = Some(body),
    }
    areas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_terminals_show_everything_small_ones_one_tab() {
        let wide = areas(Rect::new(0, 0, 120, 40), Pane::Lesson, false);
        assert!(wide.lesson.is_some() && wide.traffic.is_some() && wide.inspector.is_some());
        assert!(wide.tabs.is_none());
        let small = areas(Rect::new(0, 0, 80, 24), Pane::Traffic, false);
        assert!(small.lesson.is_none() && small.traffic.is_some() && small.diagram.is_some());
        assert_eq!(small.tab_at(Position::new(1, 0)), Some(Pane::Lesson));
        let label = tab_label(Pane::Lesson).chars().count() as u16;
        assert_eq!(
            small.tab_at(Position::new(label + 2, 0)),
            Some(Pane::Traffic)
        );
        assert!(areas(Rect::new(0, 0, 40, 10), Pane::Lesson, false).too_small);
    }
}
