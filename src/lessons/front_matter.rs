//! Splitting a lesson file into its TOML front matter and its Markdown body.

/// A lesson file cut in two, with the line each part starts on (1-based).
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub meta: &'a str,
    pub meta_line: usize,
    pub body: &'a str,
    pub body_line: usize,
}

/// Why a file has no usable front matter, and the line to point at.
#[derive(Debug, PartialEq, Eq)]
pub struct SplitError {
    pub line: usize,
    pub message: &'static str,
}

/// `+++` on the first line, the TOML, `+++` on a line of its own, then the body.
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "+++" {
        return Err(SplitError {
            line: 1,
            message: "a lesson must start with a front matter: a line \"+++\", TOML, then \"+++\"",
        });
    }
    let meta_start = first.len();
    let mut offset = meta_start;
    let mut line = 1;
    for l in lines {
        line += 1;
        if l.trim_end() == "+++" {
            return Ok(Split {
                meta: &text[meta_start..offset],
                meta_line: 2,
                body: &text[offset + l.len()..],
                body_line: line + 1,
            });
        }
        offset += l.len();
    }
    Err(SplitError {
        line,
        message: "the front matter is not closed: no line \"+++\" after it",
    })
}

/// The 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_table() {
        let ok = split("+++\nid = \"a\"\n+++\n# Body\n").unwrap();
        assert_eq!(ok.meta, "id = \"a\"\n");
        assert_eq!((ok.meta_line, ok.body_line), (2, 4));
        assert_eq!(ok.body, "# Body\n");

        let crlf = split("+++\r\nid = 1\r\n+++\r\nbody").unwrap();
        assert_eq!(crlf.meta, "id = 1\r\n");
        assert_eq!(crlf.body, "body");

        let empty_body = split("+++\n+++").unwrap();
        assert_eq!((empty_body.meta, empty_body.body), ("", ""));

        assert_eq!(split("# no front matter\n").unwrap_err().line, 1);
        assert_eq!(split("").unwrap_err().line, 1);
        let open = split("+++\nid = 1\ntitle = 2\n").unwrap_err();
        assert_eq!(open.line, 3);
        assert!(open.message.contains("not closed"));
        // "++++" is not the delimiter
        assert!(split("+++\na = 1\n++++\n").is_err());
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
