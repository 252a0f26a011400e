//! What a lesson's Markdown may hold besides prose: `{{placeholders}}` for live values,
//! fenced code in the languages the lesson pane highlights, and `lesson:` links.

use crate::lessons::front_matter::line_of;

/// The live values a lesson may name.
pub const PLACEHOLDERS: &[&str] = &[
    "web_port",
    "wsgi_port",
    "web_url",
    "wsgi_url",
    "lab",
    "web_pid",
    "wsgi_pid",
    "workers",
];

/// Languages a fenced code block may carry.
pub const FENCE_LANGUAGES: &[&str] = &["nginx", "python", "sh", "http", "text"];

/// `{{name}}` with a name of letters and underscores that is not a known placeholder.
pub fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
                    && !PLACEHOLDERS.contains(&name)
                {
                    out.push(name.to_owned());
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Fenced code blocks without one of the allowed languages: (line, message).
pub(super) fn fence_problems(markdown: &str, first_line: usize) -> Vec<(usize, String)> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    let mut out = Vec::new();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        if let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = event {
            let lang = info.split_whitespace().next().unwrap_or("");
            let line = first_line + line_of(markdown, range.start) - 1;
            if lang.is_empty() {
                out.push((
                    line,
                    format!(
                        "a code block needs a language: one of {}",
                        FENCE_LANGUAGES.join(", ")
                    ),
                ));
            } else if !FENCE_LANGUAGES.contains(&lang) {
                out.push((
                    line,
                    format!(
                        "code block language \"{lang}\" is not one of {}",
                        FENCE_LANGUAGES.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

/// `[text](lesson:ID)` links: (line, ID).
pub(super) fn lesson_links(markdown: &str, first_line: usize) -> Vec<(usize, String)> {
    use pulldown_cmark::{Event, Parser, Tag};
    Parser::new(markdown)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                dest_url.strip_prefix("lesson:").map(|id| {
                    (
                        first_line + line_of(markdown, range.start) - 1,
                        id.to_owned(),
                    )
                })
            }
            _ => None,
        })
        .collect()
}
