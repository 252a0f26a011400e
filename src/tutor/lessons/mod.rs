//! The lesson pane's text: a lesson pack loaded by [`crate::lessons::pack`] (bundled, or
//! `--lessons DIR`), its Markdown body rendered into ratatui `Text` with live values filled
//! in and code blocks highlighted by syntect.
//!
//! Highlighting needs a syntax set with our nginx definition; building it takes longer than
//! the first frame may, so it is built once in the background ([`warm_up`]) and lessons are
//! shown plain until it is ready. Checking a pack and tracking tasks belong to the lessons
//! issue; here the tasks are only listed.

use std::path::Path;
use std::sync::OnceLock;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::{SyntaxDefinition, SyntaxSet};

use super::theme::{Theme, ThemeKind};
use crate::lessons::pack::Pack;

static NGINX_SYNTAX: &str = include_str!("../../../assets/syntaxes/nginx.sublime-syntax");

/// HTTP messages as lessons show them: request or status line, headers, then the body.
const HTTP_SYNTAX: &str = r#"%YAML 1.2
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
"#;

pub use crate::lessons::pack::Lesson;

pub use crate::lessons::Values as Vars;

/// The lessons of the bundled pack, or of `dir`; problems are reported, not fatal.
pub fn load(dir: Option<&Path>) -> (Vec<Lesson>, Vec<String>) {
    let pack = match dir {
        Some(dir) => Pack::load_dir(dir),
        None => Pack::bundled(),
    };
    match pack {
        Ok(pack) => (pack.lessons, Vec::new()),
        Err(problems) => (
            Vec::new(),
            problems.iter().map(ToString::to_string).collect(),
        ),
    }
}

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
fn code_lines(code: &str, lang: &str, theme: &Theme) -> Vec<Line<'static>> {
    let plain = |code: &str| {
        code.lines()
            .map(|l| {
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled(l.to_owned(), theme.code),
                ])
            })
            .collect()
    };
    let Some(hl) = HIGHLIGHTER.get().filter(|_| theme.colored()) else {
        return plain(code);
    };
    let token = match lang {
        "sh" | "shell" | "bash" | "console" => "sh",
        other => other,
    };
    let Some(syntax) = hl.syntaxes.find_syntax_by_token(token) else {
        return plain(code);
    };
    let theme_name = if theme.kind == ThemeKind::Light {
        "InspiredGitHub"
    } else {
        "base16-eighties.dark"
    };
    let mut lines = HighlightLines::new(syntax, &hl.themes.themes[theme_name]);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(code) {
        let Ok(ranges) = lines.highlight_line(line, &hl.syntaxes) else {
            return plain(code);
        };
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
    out
}

/// The one place the Markdown parser's options are set.
fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
}

/// Where one task stands, for the pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskMark {
    pub done: bool,
    /// Why the latest request did not complete it (traffic tasks).
    pub why_not: Option<String>,
    /// The task the keys h, c and 1-9 act on: the first one not done.
    pub current: bool,
    /// Hints revealed so far, with the total, then the solution once they are all shown.
    pub hints: Vec<String>,
    pub hints_total: usize,
    pub solution: Option<String>,
    /// The last quiz answer: right or not, and its explanation.
    pub answer: Option<(bool, String)>,
}

/// The whole pane's text: title and tasks, then the body. `marks` holds, per task in
/// order, where it stands.
pub fn render(lesson: &Lesson, vars: &Vars, marks: &[TaskMark], theme: &Theme) -> Text<'static> {
    let mut lines = task_lines(lesson, vars, marks, theme);
    lines.extend(body_lines(lesson, vars, theme));
    Text::from(lines)
}

/// The lesson's body, rendered once per lesson, theme and live values: Markdown and
/// syntect cost milliseconds, which a finished request must not pay.
#[derive(Default)]
pub struct BodyCache {
    key: Option<(String, ThemeKind, bool, Vars, bool)>,
    lines: Vec<Line<'static>>,
}

impl BodyCache {
    pub fn body(&mut self, lesson: &Lesson, vars: &Vars, theme: &Theme) -> &[Line<'static>] {
        let key = (
            lesson.id.clone(),
            theme.kind,
            theme.colored(),
            vars.clone(),
            highlighting_ready(),
        );
        if self.key.as_ref() != Some(&key) {
            self.lines = body_lines(lesson, vars, theme);
            self.key = Some(key);
        }
        &self.lines
    }
}

/// The title and the tasks with their marks, hints and answers (cheap: drawn every frame).
pub fn task_lines(
    lesson: &Lesson,
    vars: &Vars,
    marks: &[TaskMark],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(lesson.title.clone(), theme.heading),
        Line::default(),
    ];
    if lesson.tasks.is_empty() {
        return lines;
    }
    lines.push(Line::styled("Tasks", theme.accent));
    for (i, task) in lesson.tasks.iter().enumerate() {
        let mark = marks.get(i).cloned().unwrap_or_default();
        task_block(task, &mark, vars, theme, &mut lines);
    }
    lines.push(Line::default());
    lines
}

/// One task: its box, why not yet, and for the current one its choices, hints and solution.
fn task_block(
    task: &crate::lessons::tasks::Task,
    mark: &TaskMark,
    vars: &Vars,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    let bullet = match (mark.done, mark.current) {
        (true, true) => "▸ ☑ ",
        (true, false) => "  ☑ ",
        (false, true) => "▸ ☐ ",
        (false, false) => "  ☐ ",
    };
    let mut spans = vec![Span::raw(bullet)];
    spans.extend(inline(&vars.fill(&task.title), theme));
    lines.push(Line::from(spans));
    if let Some(why) = &mark.why_not {
        lines.push(Line::styled(format!("      not yet: {why}"), theme.dim));
    }
    let answer = mark.answer.as_ref().map(|(right, explain)| {
        let head = if *right {
            "      ✓ right: "
        } else {
            "      ✗ not quite: "
        };
        let mut spans = vec![Span::styled(head, theme.accent)];
        spans.extend(inline(&vars.fill(explain), theme));
        Line::from(spans)
    });
    if !mark.current {
        // A quiz answered right stays explained after the marker moves on.
        lines.extend(answer);
        return;
    }
    if let crate::lessons::tasks::Check::Quiz(choices) = &task.check {
        for (n, choice) in choices.iter().enumerate() {
            let mut spans = vec![Span::raw(format!("      {} ", n + 1))];
            spans.extend(inline(&vars.fill(&choice.text), theme));
            lines.push(Line::from(spans));
        }
        if mark.answer.is_none() {
            lines.push(Line::styled("      press 1-9 to answer", theme.dim));
        }
    }
    lines.extend(answer);
    for (n, hint) in mark.hints.iter().enumerate() {
        let mut spans = vec![Span::styled(
            format!("      hint {} of {}: ", n + 1, mark.hints_total),
            theme.accent,
        )];
        spans.extend(inline(&vars.fill(hint), theme));
        lines.push(Line::from(spans));
    }
    if let Some(solution) = &mark.solution {
        lines.push(Line::styled("      solution:", theme.accent));
        lines.extend(markdown(&vars.fill(solution), theme));
    } else if mark.hints.len() < mark.hints_total {
        let next = if mark.hints.is_empty() {
            "h: a hint"
        } else {
            "h: the next hint"
        };
        lines.push(Line::styled(format!("      {next}"), theme.dim));
    } else if task.solution.is_some() {
        lines.push(Line::styled("      h: the worked solution", theme.dim));
    }
}

/// The body with live values filled in; its own `# Title` repeats the front matter's, so
/// it is shown once, at the top.
fn body_lines(lesson: &Lesson, vars: &Vars, theme: &Theme) -> Vec<Line<'static>> {
    let body = vars.fill(&lesson.body);
    let trimmed = body.trim_start();
    let body = match trimmed.strip_prefix("# ") {
        Some(rest) if rest.lines().next().map(str::trim) == Some(lesson.title.trim()) => {
            rest.split_once('\n').map_or("", |(_, after)| after)
        }
        _ => body.as_str(),
    };
    markdown(body, theme)
}

/// Inline Markdown (a task title) as spans.
fn inline(text: &str, theme: &Theme) -> Vec<Span<'static>> {
    markdown(text, theme)
        .into_iter()
        .flat_map(|l| l.spans)
        .collect()
}

struct Table {
    rows: Vec<Vec<String>>,
    cell: String,
    row: Vec<String>,
}

/// Markdown → lines. Headings, emphasis, lists, quotes, links, tables and code blocks.
pub fn markdown(text: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut styles = vec![theme.text];
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut quote = 0usize;
    let mut code: Option<(String, String)> = None;
    let mut table: Option<Table> = None;
    let mut link: Option<String> = None;
    let prefix = |quote: usize, lists: &Vec<Option<u64>>| -> String {
        "│ ".repeat(quote) + &"  ".repeat(lists.len().saturating_sub(1))
    };
    let flush = |lines: &mut Vec<Line<'static>>, current: &mut Vec<Span<'static>>, quote: usize| {
        if !current.is_empty() {
            let mut spans = Vec::new();
            if quote > 0 && !current[0].content.starts_with('│') {
                spans.push(Span::raw("│ ".repeat(quote)));
            }
            spans.append(current);
            lines.push(Line::from(spans));
        }
    };
    let blank = |lines: &mut Vec<Line<'static>>| {
        if lines.last().is_some_and(|l| !l.spans.is_empty()) {
            lines.push(Line::default());
        }
    };
    for event in parser(text) {
        if let Some(t) = table.as_mut() {
            match event {
                Event::Text(s) | Event::Code(s) => {
                    t.cell.push_str(&s);
                    continue;
                }
                Event::End(TagEnd::TableCell) => {
                    t.row.push(std::mem::take(&mut t.cell));
                    continue;
                }
                Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                    t.rows.push(std::mem::take(&mut t.row));
                    continue;
                }
                Event::End(TagEnd::Table) => {}
                _ => continue,
            }
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut lines, &mut current, quote);
                blank(&mut lines);
                let marks = match level {
                    HeadingLevel::H1 => "",
                    HeadingLevel::H2 => "▌ ",
                    _ => "▸ ",
                };
                current.push(Span::styled(marks, theme.heading));
                styles.push(theme.heading);
            }
            Event::End(TagEnd::Heading(_)) => {
                styles.pop();
                flush(&mut lines, &mut current, quote);
                lines.push(Line::default());
            }
            Event::Start(Tag::Paragraph) if current.is_empty() && lists.is_empty() => {
                blank(&mut lines);
            }
            Event::End(TagEnd::Paragraph) => {
                flush(&mut lines, &mut current, quote);
                if lists.is_empty() {
                    lines.push(Line::default());
                }
            }
            Event::Start(Tag::Emphasis) => {
                let s = *styles.last().unwrap_or(&theme.text);
                styles.push(s.add_modifier(Modifier::ITALIC));
            }
            Event::Start(Tag::Strong) => {
                let s = *styles.last().unwrap_or(&theme.text);
                styles.push(s.add_modifier(Modifier::BOLD));
            }
            Event::Start(Tag::Strikethrough) => {
                let s = *styles.last().unwrap_or(&theme.text);
                styles.push(s.add_modifier(Modifier::CROSSED_OUT));
            }
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough) => {
                styles.pop();
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                let s = *styles.last().unwrap_or(&theme.text);
                styles.push(s.add_modifier(Modifier::UNDERLINED));
                link = Some(dest_url.to_string());
            }
            Event::End(TagEnd::Link) => {
                styles.pop();
                if let Some(url) = link.take()
                    && !url.starts_with("lesson:")
                {
                    current.push(Span::styled(format!(" <{url}>"), theme.dim));
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(&mut lines, &mut current, quote);
                quote += 1;
                let s = *styles.last().unwrap_or(&theme.text);
                styles.push(s.add_modifier(Modifier::ITALIC));
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(&mut lines, &mut current, quote);
                quote -= 1;
                styles.pop();
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut lines, &mut current, quote);
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut lines, &mut current, quote);
                lists.pop();
                if lists.is_empty() {
                    lines.push(Line::default());
                }
            }
            Event::Start(Tag::Item) => {
                flush(&mut lines, &mut current, quote);
                let indent = prefix(0, &lists);
                let bullet = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "• ".to_owned(),
                };
                current.push(Span::styled(format!("{indent}{bullet}"), theme.accent));
            }
            Event::End(TagEnd::Item) => flush(&mut lines, &mut current, quote),
            Event::Start(Tag::CodeBlock(kind)) => {
                flush(&mut lines, &mut current, quote);
                let lang = match kind {
                    CodeBlockKind::Fenced(lang) => lang.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, text)) = code.take() {
                    lines.extend(code_lines(&text, &lang, theme));
                    lines.push(Line::default());
                }
            }
            Event::Start(Tag::Table(_)) => {
                flush(&mut lines, &mut current, quote);
                table = Some(Table {
                    rows: Vec::new(),
                    cell: String::new(),
                    row: Vec::new(),
                });
            }
            Event::End(TagEnd::Table) => {
                if let Some(t) = table.take() {
                    lines.extend(table_lines(&t.rows, theme));
                    lines.push(Line::default());
                }
            }
            Event::Text(s) => {
                if let Some((_, text)) = code.as_mut() {
                    text.push_str(&s);
                } else {
                    let style = *styles.last().unwrap_or(&theme.text);
                    current.push(Span::styled(s.to_string(), style));
                }
            }
            Event::Code(s) => current.push(Span::styled(s.to_string(), theme.code)),
            Event::SoftBreak => current.push(Span::raw(" ")),
            Event::HardBreak => {
                flush(&mut lines, &mut current, quote);
                if !lists.is_empty() {
                    current.push(Span::raw(prefix(0, &lists) + "  "));
                }
            }
            Event::Rule => {
                flush(&mut lines, &mut current, quote);
                lines.push(Line::styled("────────────────────────────────", theme.dim));
            }
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    flush(&mut lines, &mut current, quote);
    while lines.last().is_some_and(|l| l.spans.is_empty()) {
        lines.pop();
    }
    lines
}

fn table_lines(rows: &[Vec<String>], theme: &Theme) -> Vec<Line<'static>> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut spans = vec![Span::raw("  ")];
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            let pad = width - cell.chars().count();
            let style = if r == 0 { theme.accent } else { theme.text };
            spans.push(Span::styled(format!("{cell}{}", " ".repeat(pad)), style));
            if i + 1 < columns {
                spans.push(Span::styled(" │ ", theme.dim));
            }
        }
        out.push(Line::from(spans));
        if r == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push(Line::styled(format!("  {}", rule.join("─┼─")), theme.dim));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_pack_loads_in_order() {
        let (lessons, errors) = load(None);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(lessons.len() >= 9);
        assert_eq!(lessons[0].id, "big-picture");
        assert!(lessons.iter().all(|l| !l.body.is_empty()));
    }

    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        let vars = Vars {
            web_port: 8081,
            wsgi_port: 8000,
            lab: "/lab".into(),
            web_pid: Some(7),
            wsgi_pid: None,
            workers: 2,
        };
        assert_eq!(
            vars.fill("curl {{web_url}}/ {{lab}} {{web_pid}} '{{' {}"),
            "curl http://127.0.0.1:8081/ /lab 7 '{{' {}"
        );
    }

    #[test]
    fn markdown_renders_blocks_readably() {
        warm_up();
        let theme = Theme::new(ThemeKind::Dark);
        let md = "# Title\n\nSome *text* and `code`.\n\n- one\n- two\n\n> quoted\n\n| a | bb |\n|---|---|\n| 1 | 2 |\n\n```nginx\nlocation /static { alias static; }\n```\n\n[next](lesson:x) and [pep](https://peps.python.org/pep-3333/)\n";
        let lines = markdown(md, &theme);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text[0], "Title");
        assert!(text.contains(&"Some text and code.".to_owned()));
        assert!(text.contains(&"• one".to_owned()));
        assert!(text.contains(&"│ quoted".to_owned()));
        assert!(text.contains(&"  a │ bb".to_owned()));
        assert!(text.contains(&"  location /static { alias static; }".to_owned()));
        assert!(
            text.last().unwrap() == "next and pep <https://peps.python.org/pep-3333/>",
            "{text:?}"
        );
        let http = code_lines("GET / HTTP/1.1\nHost: example\n", "http", &theme);
        assert!(http[0].spans.len() > 3, "{http:?}");
        // nginx is highlighted: the code line has several coloured spans.
        let code = lines
            .iter()
            .find(|l| l.to_string().contains("location /static"))
            .unwrap();
        assert!(code.spans.len() > 3, "{code:?}");
    }
}
