//! The lesson pane's text: lessons loaded from the embedded pack (or `--lessons DIR`),
//! their `+++` TOML front matter split off, and the Markdown body rendered into ratatui
//! `Text` with live values filled in and code blocks highlighted by syntect.
//!
//! Highlighting needs a syntax set with our nginx definition; building it takes longer than
//! the first frame may, so it is built once in the background ([`warm_up`]) and lessons are
//! shown plain until it is ready. Checking a pack and tracking tasks belong to the lessons
//! issue; here the tasks are only listed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use serde::Deserialize;
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::{SyntaxDefinition, SyntaxSet};

use super::theme::{Theme, ThemeKind};

static BUNDLED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static NGINX_SYNTAX: &str = include_str!("../../assets/syntaxes/nginx.sublime-syntax");

/// One lesson: what the pane shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub file: PathBuf,
    pub id: String,
    pub title: String,
    pub tasks: Vec<TaskInfo>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    title: String,
    #[serde(default)]
    tasks: Vec<TaskInfo>,
}

/// Live values for `{{placeholders}}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vars {
    pub web_port: u16,
    pub wsgi_port: u16,
    pub lab: String,
    pub web_pid: Option<u32>,
    pub wsgi_pid: Option<u32>,
    pub workers: usize,
}

impl Vars {
    /// Replace the eight placeholders; other braces are left alone.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_owned();
        }
        let pid = |p: Option<u32>| p.map_or_else(|| "PID".to_owned(), |p| p.to_string());
        text.replace("{{web_port}}", &self.web_port.to_string())
            .replace("{{wsgi_port}}", &self.wsgi_port.to_string())
            .replace(
                "{{web_url}}",
                &format!("http://127.0.0.1:{}", self.web_port),
            )
            .replace(
                "{{wsgi_url}}",
                &format!("http://127.0.0.1:{}", self.wsgi_port),
            )
            .replace("{{lab}}", &self.lab)
            .replace("{{web_pid}}", &pid(self.web_pid))
            .replace("{{wsgi_pid}}", &pid(self.wsgi_pid))
            .replace("{{workers}}", &self.workers.to_string())
    }
}

/// Split `+++`-delimited front matter from the body: `(meta, body)`.
pub fn split_front_matter(text: &str) -> Result<(&str, &str), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
        .ok_or("line 1: a lesson starts with a `+++` line (the front matter)")?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "+++" {
            return Ok((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err("the front matter is not closed by a `+++` line".into())
}

fn parse_lesson(file: PathBuf, text: &str) -> Result<Lesson, String> {
    let named = |e: String| format!("{}: {e}", file.display());
    let (meta, body) = split_front_matter(text).map_err(named)?;
    let meta: Meta = toml::from_str(meta).map_err(|e| named(e.to_string()))?;
    Ok(Lesson {
        file,
        id: meta.id,
        title: meta.title,
        tasks: meta.tasks,
        body: body.to_owned(),
    })
}

/// The lessons in a pack, in file-name order; files that do not parse are reported.
fn load(files: Vec<(PathBuf, String)>) -> (Vec<Lesson>, Vec<String>) {
    let mut files: Vec<_> = files
        .into_iter()
        .filter(|(p, _)| {
            p.extension().is_some_and(|e| e == "md")
                && p.file_name().is_some_and(|n| n != "README.md")
        })
        .collect();
    files.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    let mut lessons = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        match parse_lesson(path, &text) {
            Ok(lesson) => lessons.push(lesson),
            Err(e) => errors.push(e),
        }
    }
    (lessons, errors)
}

/// The pack embedded in the binary.
pub fn bundled() -> (Vec<Lesson>, Vec<String>) {
    load(
        BUNDLED
            .files()
            .map(|f| {
                (
                    f.path().to_path_buf(),
                    String::from_utf8_lossy(f.contents()).into_owned(),
                )
            })
            .collect(),
    )
}

/// A pack in a folder (`--lessons DIR`).
pub fn from_dir(dir: &Path) -> Result<(Vec<Lesson>, Vec<String>), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the lesson folder {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.push((path, text));
        }
    }
    Ok(load(files))
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
        if let Ok(nginx) = SyntaxDefinition::load_from_str(NGINX_SYNTAX, true, Some("nginx")) {
            builder.add(nginx);
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

/// A lesson as the pane shows it: title, tasks, then the body.
pub fn render(lesson: &Lesson, vars: &Vars, theme: &Theme) -> Text<'static> {
    let mut lines = vec![
        Line::styled(lesson.title.clone(), theme.heading),
        Line::default(),
    ];
    if !lesson.tasks.is_empty() {
        lines.push(Line::styled("Tasks", theme.accent));
        for task in &lesson.tasks {
            let mut spans = vec![Span::raw("  ☐ ")];
            spans.extend(inline(&vars.fill(&task.title), theme));
            lines.push(Line::from(spans));
        }
        lines.push(Line::default());
    }
    let body = vars.fill(&lesson.body);
    // The body's own `# Title` repeats the front matter's: show it once, at the top.
    let trimmed = body.trim_start();
    let body = match trimmed.strip_prefix("# ") {
        Some(rest) if rest.lines().next().map(str::trim) == Some(lesson.title.trim()) => {
            rest.split_once('\n').map_or("", |(_, after)| after)
        }
        _ => body.as_str(),
    };
    lines.extend(markdown(body, theme));
    Text::from(lines)
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
    fn front_matter_splits_and_errors_say_why() {
        let table = [
            (
                "+++\nid = \"a\"\n+++\nbody\n",
                Ok(("id = \"a\"\n", "body\n")),
            ),
            ("+++\r\nx\r\n+++\r\nb", Ok(("x\r\n", "b"))),
            ("no front matter", Err("line 1")),
            ("+++\nid = \"a\"\n", Err("not closed")),
        ];
        for (input, expected) in table {
            match (split_front_matter(input), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => assert!(got.contains(want), "{got}"),
                (got, want) => panic!("{input:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn the_bundled_pack_loads_in_order() {
        let (lessons, errors) = bundled();
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
            vars.fill("curl {{web_url}}/ {{lab}} {{web_pid}} {{wsgi_pid}} '{{' {}"),
            "curl http://127.0.0.1:8081/ /lab 7 PID '{{' {}"
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
        // nginx is highlighted: the code line has several coloured spans.
        let code = lines
            .iter()
            .find(|l| l.to_string().contains("location /static"))
            .unwrap();
        assert!(code.spans.len() > 3, "{code:?}");
    }
}
