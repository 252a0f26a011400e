//! Code blocks coloured by syntect, with our own nginx and HTTP syntaxes beside its defaults.
//!
//! Building that syntax set takes longer than the first frame may, so it is built once in the
//! background ([`warm_up`]) and code is shown plain until it is ready.

use std::sync::OnceLock;

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::{SyntaxDefinition, SyntaxSet};

use crate::embedded::NGINX_SYNTAX;
use crate::tutor::theme::{Theme, ThemeKind};

/// HTTP messages as lessons show them: request or status line, headers, then the body.
const HTTP_SYNTAX: &str = r"%YAML 1.2
---
name: HTTP
scope: source.http
file_extensions: [http]
contexts:
  main:
    - match: '^([A-Z]+)\s+(\S+)\s+(HTTP/[0-9.]+)\s*$'
      captures:
        1: keyword.control.http
        2: string.unquoted.uri.http
        3: constant.numeric.http
    - match: '^(HTTP/[0-9.]+)\s+([0-9]{3})(.*)$'
      captures:
        1: constant.numeric.http
        2: constant.numeric.status.http
        3: string.unquoted.reason.http
    - match: '^([A-Za-z0-9!#$%&''*+.^_`|~-]+)(:)(.*)$'
      captures:
        1: entity.name.tag.header.http
        2: punctuation.separator.http
        3: string.unquoted.value.http
";

struct Highlighter {
    syntaxes: SyntaxSet,
    themes: ThemeSet,
}

static HIGHLIGHTER: OnceLock<Highlighter> = OnceLock::new();

/// Build the syntax set (with nginx) once; call from a background thread at start.
pub fn warm_up() {
    HIGHLIGHTER.get_or_init(|| {
        let mut builder = SyntaxSet::load_defaults_newlines().into_builder();
        for (text, name) in [(NGINX_SYNTAX, "nginx"), (HTTP_SYNTAX, "http")] {
            if let Ok(syntax) = SyntaxDefinition::load_from_str(text, true, Some(name)) {
                builder.add(syntax);
            }
        }
        Highlighter {
            syntaxes: builder.build(),
            themes: ThemeSet::load_defaults(),
        }
    });
}

pub fn highlighting_ready() -> bool {
    HIGHLIGHTER.get().is_some()
}

/// Code lines, highlighted when the highlighter is ready and colours are on.
pub(super) fn code_lines(code: &str, lang: &str, theme: &Theme) -> Vec<Line<'static>> {
    let Some(hl) = HIGHLIGHTER.get().filter(|_| theme.colored()) else {
        return plain_lines(code, theme);
    };
    let token = match lang {
        "sh" | "shell" | "bash" | "console" => "sh",
        other => other,
    };
    hl.syntaxes
        .find_syntax_by_token(token)
        .and_then(|syntax| highlighted(hl, syntax, code, theme.kind))
        .unwrap_or_else(|| plain_lines(code, theme))
}

/// Every line in syntect's colours, or `None` if any line fails (the block is then plain
/// rather than half coloured).
fn highlighted(
    hl: &Highlighter,
    syntax: &syntect::parsing::SyntaxReference,
    code: &str,
    kind: ThemeKind,
) -> Option<Vec<Line<'static>>> {
    let theme_name = if kind == ThemeKind::Light {
        "InspiredGitHub"
    } else {
        "base16-eighties.dark"
    };
    let mut lines = HighlightLines::new(syntax, &hl.themes.themes[theme_name]);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(code) {
        let ranges = lines.highlight_line(line, &hl.syntaxes).ok()?;
        let mut spans = vec![Span::raw("  ")];
        for (style, text) in ranges {
            let text = text.trim_end_matches(['\n', '\r']);
            if text.is_empty() {
                continue;
            }
            let c = style.foreground;
            spans.push(Span::styled(
                text.to_owned(),
                Style::new().fg(Color::Rgb(c.r, c.g, c.b)),
            ));
        }
        out.push(Line::from(spans));
    }
    Some(out)
}

fn plain_lines(code: &str, theme: &Theme) -> Vec<Line<'static>> {
    code.lines()
        .map(|l| {
            Line::from(vec![
                Span::raw("  "),
                Span::styled(l.to_owned(), theme.code),
            ])
        })
        .collect()
}
