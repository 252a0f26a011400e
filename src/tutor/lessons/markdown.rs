//! Markdown → ratatui lines: a `Writer` fed pulldown-cmark events one at a time, each
//! construct's start and end a small method (after joshka/tui-markdown's `TextWriter`), so
//! that what a construct needs to remember (open lists, quotes, a code block or table being
//! gathered) is a named field, and another construct is another arm and method.

mod table;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use self::table::Table;
use super::highlight::code_lines;
use crate::tutor::theme::Theme;

/// Markdown → lines. Headings, emphasis, lists, quotes, links, tables and code blocks.
pub fn markdown(text: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut writer = Writer::new(theme);
    for event in parser(text) {
        writer.event(event);
    }
    writer.finish()
}

/// Inline Markdown (a task title) as spans.
pub(super) fn inline(text: &str, theme: &Theme) -> Vec<Span<'static>> {
    markdown(text, theme)
        .into_iter()
        .flat_map(|l| l.spans)
        .collect()
}

/// The one place the Markdown parser's options are set.
fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
}

const RULE: &str = "────────────────────────────────";

/// The lines so far and the constructs open at the current event.
struct Writer<'t> {
    theme: &'t Theme,
    lines: Vec<Line<'static>>,
    /// The line being written: it is ended by its block's end or a hard break, so that
    /// spans from several events (text, code, a link's target) share it.
    current: Vec<Span<'static>>,
    /// Inline styles, innermost last; emphasis inside a heading or quote adds to theirs.
    styles: Vec<Style>,
    /// Open lists, innermost last: an ordered one's next number, `None` for bullets.
    lists: Vec<Option<u64>>,
    /// Open block quotes, each a `│ ` bar in front of the lines written inside it.
    quotes: usize,
    /// An open code block's language and text: syntect needs the whole block at once.
    code: Option<(String, String)>,
    /// An open table: its columns' widths are known only at its end.
    table: Option<Table>,
    /// The open link's target, written after its text at the link's end.
    link: Option<String>,
}

impl<'t> Writer<'t> {
    fn new(theme: &'t Theme) -> Self {
        Writer {
            theme,
            lines: Vec::new(),
            current: Vec::new(),
            styles: vec![theme.text],
            lists: Vec::new(),
            quotes: 0,
            code: None,
            table: None,
            link: None,
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if let Some(table) = &mut self.table
            && table.absorb(&event)
        {
            return;
        }
        match event {
            Event::Start(tag) => self.start_tag(tag),
            Event::End(tag) => self.end_tag(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.push(code.to_string(), self.theme.code),
            Event::SoftBreak => self.current.push(Span::raw(" ")),
            Event::HardBreak => self.hard_break(),
            Event::Rule => {
                self.flush();
                self.lines.push(Line::styled(RULE, self.theme.dim));
            }
            // HTML is not shown; footnotes, task lists and math are not enabled.
            _ => {}
        }
    }

    fn start_tag(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => self.start_heading(level),
            Tag::Paragraph => self.start_paragraph(),
            Tag::Emphasis => self.push_style(Modifier::ITALIC),
            Tag::Strong => self.push_style(Modifier::BOLD),
            Tag::Strikethrough => self.push_style(Modifier::CROSSED_OUT),
            Tag::Link { dest_url, .. } => {
                self.push_style(Modifier::UNDERLINED);
                self.link = Some(dest_url.to_string());
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quotes += 1;
                self.push_style(Modifier::ITALIC);
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => self.start_item(),
            Tag::CodeBlock(kind) => {
                self.flush();
                let lang = match kind {
                    CodeBlockKind::Fenced(lang) => lang.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(Table::default());
            }
            // An image shows its alt text, which comes as text events.
            _ => {}
        }
    }

    fn end_tag(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.flush();
                self.lines.push(Line::default());
            }
            TagEnd::Paragraph => {
                self.flush();
                self.end_block_outside_lists();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link => self.end_link(),
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quotes -= 1;
                self.styles.pop();
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.end_block_outside_lists();
            }
            TagEnd::Item => self.flush(),
            TagEnd::CodeBlock => self.end_code(),
            TagEnd::Table => self.end_table(),
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        match &mut self.code {
            Some((_, code)) => code.push_str(text),
            None => self.push(text.to_owned(), self.style()),
        }
    }

    fn start_heading(&mut self, level: HeadingLevel) {
        self.flush();
        self.blank();
        let mark = match level {
            HeadingLevel::H1 => "",
            HeadingLevel::H2 => "▌ ",
            _ => "▸ ",
        };
        self.current.push(Span::styled(mark, self.theme.heading));
        self.styles.push(self.theme.heading);
    }

    fn start_paragraph(&mut self) {
        // In a list the paragraph goes on its item's line, after the bullet.
        if self.current.is_empty() && self.lists.is_empty() {
            self.blank();
        }
    }

    fn start_item(&mut self) {
        self.flush();
        let bullet = match self.lists.last_mut() {
            Some(Some(n)) => {
                *n += 1;
                format!("{}. ", *n - 1)
            }
            _ => "• ".to_owned(),
        };
        let line = format!("{}{bullet}", self.indent());
        self.push(line, self.theme.accent);
    }

    fn hard_break(&mut self) {
        self.flush();
        // An item's broken line goes on under the item's text, not under its bullet.
        if !self.lists.is_empty() {
            self.current.push(Span::raw(self.indent() + "  "));
        }
    }

    fn end_link(&mut self) {
        self.styles.pop();
        // A `lesson:` target names another lesson of the pack, not a page one could open.
        if let Some(url) = self.link.take()
            && !url.starts_with("lesson:")
        {
            self.push(format!(" <{url}>"), self.theme.dim);
        }
    }

    fn end_code(&mut self) {
        if let Some((lang, text)) = self.code.take() {
            self.lines.extend(code_lines(&text, &lang, self.theme));
            self.lines.push(Line::default());
        }
    }

    fn end_table(&mut self) {
        if let Some(table) = self.table.take() {
            self.lines.extend(table.lines(self.theme));
            self.lines.push(Line::default());
        }
    }

    /// The blank line after a block, kept back inside a list so that its items stay together.
    fn end_block_outside_lists(&mut self) {
        if self.lists.is_empty() {
            self.lines.push(Line::default());
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.flush();
        while self.lines.last().is_some_and(|l| l.spans.is_empty()) {
            self.lines.pop();
        }
        self.lines
    }

    /// Ends the line being written, behind a bar per open quote.
    fn flush(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let mut spans = Vec::new();
        // Text that already starts with a bar (a quote drawn by hand) gets no second one.
        if self.quotes > 0 && !self.current[0].content.starts_with('│') {
            spans.push(Span::raw("│ ".repeat(self.quotes)));
        }
        spans.append(&mut self.current);
        self.lines.push(Line::from(spans));
    }

    /// A blank line before a block, unless there is one already or nothing yet.
    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.spans.is_empty()) {
            self.lines.push(Line::default());
        }
    }

    /// A nested list's bullets stand two columns further in per level.
    fn indent(&self) -> String {
        "  ".repeat(self.lists.len().saturating_sub(1))
    }

    fn style(&self) -> Style {
        *self.styles.last().unwrap_or(&self.theme.text)
    }

    fn push_style(&mut self, modifier: Modifier) {
        self.styles.push(self.style().add_modifier(modifier));
    }

    fn push(&mut self, content: String, style: Style) {
        self.current.push(Span::styled(content, style));
    }
}

#[cfg(test)]
mod tests {
    use super::super::warm_up;
    use super::*;
    use crate::tutor::theme::ThemeKind;

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn markdown_renders_blocks_readably() {
        warm_up();
        let theme = Theme::new(ThemeKind::Dark);
        let md = "# Title\n\nSome *text* and `code`.\n\n- one\n- two\n\n> quoted\n\n| a | bb |\n|---|---|\n| 1 | 2 |\n\n```nginx\nlocation /static { alias static; }\n```\n\n[next](lesson:x) and [pep](https://peps.python.org/pep-3333/)\n";
        let lines = markdown(md, &theme);
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
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

    #[test]
    fn nested_lists_indent_two_columns_a_level_and_end_with_one_blank_line() {
        let theme = Theme::new(ThemeKind::Dark);
        let lines = markdown("- a\n  - b\n    - c\n  - d\n- e\n\nafter", &theme);
        assert_eq!(
            texts(&lines),
            ["• a", "  • b", "    • c", "  • d", "• e", "", "after"]
        );
        assert_eq!(lines[2].spans[0], Span::styled("    • ", theme.accent));
    }

    #[test]
    fn numbered_lists_count_from_their_own_start() {
        let theme = Theme::new(ThemeKind::Dark);
        let md = "7. seven\n8. eight\n   1. inner\n   2. inner too\n9. nine\n";
        let lines = markdown(md, &theme);
        assert_eq!(
            texts(&lines),
            [
                "7. seven",
                "8. eight",
                "  1. inner",
                "  2. inner too",
                "9. nine"
            ]
        );
        assert_eq!(lines[3].spans[0], Span::styled("  2. ", theme.accent));
    }

    #[test]
    fn a_hard_break_in_a_list_item_goes_on_under_its_text() {
        let theme = Theme::new(ThemeKind::Dark);
        // Both spellings of a hard break: two trailing spaces and a backslash.
        let lines = markdown("- first  \n  second\\\n  third\n- next\n", &theme);
        assert_eq!(texts(&lines), ["• first", "  second", "  third", "• next"]);
        assert_eq!(lines[1].spans[0], Span::raw("  "));
        let nested = markdown("- out\n  - in  \n    more\n", &theme);
        assert_eq!(texts(&nested), ["• out", "  • in", "    more"]);
    }

    #[test]
    fn a_quote_bars_its_heading_and_text() {
        let theme = Theme::new(ThemeKind::Dark);
        let lines = markdown("> ## Workers\n> pre-*fork*\n\nafter", &theme);
        assert_eq!(
            texts(&lines),
            ["│ ▌ Workers", "", "│ pre-fork", "", "after"]
        );
        assert_eq!(lines[0].spans[2], Span::styled("Workers", theme.heading));
        let italic = theme.text.add_modifier(Modifier::ITALIC);
        assert_eq!(lines[2].spans[1], Span::styled("pre-", italic));
        assert_eq!(lines[4].spans[0], Span::styled("after", theme.text));
    }
}
