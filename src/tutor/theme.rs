//! Colours: a dark and a light theme, and a monochrome one for NO_COLOR / `--no-color` that
//! keeps every distinction with bold, underline and reverse instead.

use ratatui::style::{Color, Modifier, Style};

use super::animation::Outcome;
use super::traffic::ServedBy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeKind {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub kind: ThemeKind,
    pub text: Style,
    pub dim: Style,
    pub heading: Style,
    pub accent: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selected: Style,
    pub ok: Style,
    pub client_error: Style,
    pub server_error: Style,
    pub pending: Style,
    /// Headers a hop added (the web server's proxy headers).
    pub added: Style,
    pub code: Style,
    pub key: Style,
}

impl Theme {
    /// Long on purpose: one style per role for each of the three themes, side by side so a
    /// colour change is made in one place for all of them.
    pub fn new(kind: ThemeKind) -> Theme {
        let fg = |c: Color| Style::new().fg(c);
        match kind {
            ThemeKind::Dark | ThemeKind::Light => {
                let dark = kind == ThemeKind::Dark;
                let (text, dim) = if dark {
                    (Color::Reset, Color::DarkGray)
                } else {
                    (Color::Reset, Color::Gray)
                };
                Theme {
                    kind,
                    text: fg(text),
                    dim: fg(dim),
                    heading: fg(if dark { Color::LightCyan } else { Color::Blue })
                        .add_modifier(Modifier::BOLD),
                    accent: fg(if dark { Color::Cyan } else { Color::Blue }),
                    border: fg(dim),
                    border_focus: fg(if dark { Color::Cyan } else { Color::Blue }),
                    selected: Style::new().add_modifier(Modifier::REVERSED),
                    ok: fg(if dark {
                        Color::Green
                    } else {
                        Color::Rgb(0, 120, 0)
                    }),
                    client_error: fg(if dark {
                        Color::Yellow
                    } else {
                        Color::Rgb(150, 100, 0)
                    }),
                    server_error: fg(if dark { Color::LightRed } else { Color::Red }),
                    pending: fg(if dark { Color::LightBlue } else { Color::Blue }),
                    added: fg(if dark {
                        Color::LightMagenta
                    } else {
                        Color::Magenta
                    })
                    .add_modifier(Modifier::BOLD),
                    code: fg(if dark {
                        Color::LightYellow
                    } else {
                        Color::Rgb(120, 60, 0)
                    }),
                    key: fg(if dark { Color::Black } else { Color::White }).bg(if dark {
                        Color::Gray
                    } else {
                        Color::DarkGray
                    }),
                }
            }
            ThemeKind::Mono => {
                let plain = Style::new();
                Theme {
                    kind,
                    text: plain,
                    dim: plain,
                    heading: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    accent: plain.add_modifier(Modifier::BOLD),
                    border: plain,
                    border_focus: plain.add_modifier(Modifier::BOLD),
                    selected: plain.add_modifier(Modifier::REVERSED),
                    ok: plain,
                    client_error: plain.add_modifier(Modifier::UNDERLINED),
                    server_error: plain.add_modifier(Modifier::BOLD),
                    pending: plain.add_modifier(Modifier::ITALIC),
                    added: plain.add_modifier(Modifier::BOLD),
                    code: plain,
                    key: plain.add_modifier(Modifier::REVERSED),
                }
            }
        }
    }

    /// The theme the environment asks for: NO_COLOR (any value) means monochrome.
    pub fn from_env(no_color: bool, light: bool) -> Theme {
        let no_color = no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(if no_color {
            ThemeKind::Mono
        } else if light {
            ThemeKind::Light
        } else {
            ThemeKind::Dark
        })
    }

    pub fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Pending => self.pending,
            Outcome::Ok => self.ok,
            Outcome::ClientError => self.client_error,
            Outcome::ServerError => self.server_error,
        }
    }

    pub fn status(&self, status: Option<u16>) -> Style {
        self.outcome(match status {
            None => Outcome::Pending,
            Some(s) if s >= 500 => Outcome::ServerError,
            Some(s) if s >= 400 => Outcome::ClientError,
            Some(_) => Outcome::Ok,
        })
    }

    pub fn served_by(&self, served_by: Option<ServedBy>) -> Style {
        match served_by {
            Some(ServedBy::WebError | ServedBy::WsgiError) => self.server_error,
            Some(ServedBy::Static) => self.accent,
            _ => self.text,
        }
    }

    pub fn colored(&self) -> bool {
        self.kind != ThemeKind::Mono
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_is_monochrome_and_keeps_outcomes_apart() {
        let mono = Theme::from_env(true, false);
        assert_eq!(mono.kind, ThemeKind::Mono);
        assert!(!mono.colored());
        let styles = [
            mono.outcome(Outcome::Ok),
            mono.outcome(Outcome::ClientError),
            mono.outcome(Outcome::ServerError),
            mono.outcome(Outcome::Pending),
        ];
        for (i, a) in styles.iter().enumerate() {
            assert!(a.fg.is_none());
            for b in &styles[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(Theme::new(ThemeKind::Light).kind, ThemeKind::Light);
    }
}
