//! Tables, gathered cell by cell while they are parsed and laid out at their end, when the
//! columns' widths are known.

use std::mem;

use pulldown_cmark::{Event, TagEnd};
use ratatui::text::{Line, Span};

use crate::tutor::theme::Theme;

/// A table's cells as plain text (styles and links inside cells are dropped), laid out
/// when it ends.
#[derive(Default)]
pub(super) struct Table {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: String,
}

impl Table {
    /// Takes every event inside the table, all but its end, which the writer handles.
    pub(super) fn absorb(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::Text(s) | Event::Code(s) => self.cell.push_str(s),
            Event::End(TagEnd::TableCell) => self.row.push(mem::take(&mut self.cell)),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                self.rows.push(mem::take(&mut self.row));
            }
            Event::End(TagEnd::Table) => return false,
            _ => {}
        }
        true
    }

    /// Columns padded to their widest cell; the header row underlined by a rule.
    pub(super) fn lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = Vec::new();
        for (r, row) in self.rows.iter().enumerate() {
            let style = if r == 0 { theme.accent } else { theme.text };
            let mut spans = vec![Span::raw("  ")];
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let pad = width - cell.chars().count();
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
}

#[cfg(test)]
mod tests {
    use ratatui::text::Span;

    use super::super::markdown;
    use crate::tutor::theme::{Theme, ThemeKind};

    #[test]
    fn a_table_shows_inline_code_as_plain_cell_text() {
        let theme = Theme::new(ThemeKind::Dark);
        let md = "| request | `status` |\n|---|---|\n| `GET /` | 200 |\n| short |\n";
        let lines = markdown(md, &theme);
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "  request │ status",
                "  ────────┼───────",
                "  GET /   │ 200   ",
                "  short   │       ",
            ]
        );
        assert_eq!(lines[0].spans[3], Span::styled("status", theme.accent));
        assert_eq!(lines[2].spans[1], Span::styled("GET /  ", theme.text));
    }
}
