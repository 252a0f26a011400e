//! `autoindex on`: the directory listing, laid out exactly as nginx lays it out (names
//! padded to 50 columns, dates in GMT, sizes right-aligned, folders first, hidden files left
//! out), with names escaped for the link and for the page.

use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

const NAME_LEN: usize = 50;

struct Entry {
    name: String,
    dir: bool,
    size: u64,
    mtime: i64,
}

/// The HTML listing of `dir`, shown for the (decoded) `uri`.
pub fn listing(dir: &Path, uri: &[u8]) -> io::Result<String> {
    let entries = entries(dir)?;
    let title = escape_html(&String::from_utf8_lossy(uri));
    let mut out = format!(
        "<html>\r\n<head><title>Index of {title}</title></head>\r\n<body>\r\n<h1>Index of {title}</h1><hr><pre><a href=\"../\">../</a>\r\n"
    );
    for entry in &entries {
        let mut shown = entry.name.clone();
        let mut href = escape_component(&entry.name);
        if entry.dir {
            shown.push('/');
            href.push('/');
        }
        // nginx measures names in bytes unless a `charset utf-8` is set, which we do not
        // support; so a name with accents gets fewer spaces, exactly as in nginx.
        let len = shown.len();
        let display = if len > NAME_LEN {
            let mut cut = NAME_LEN - 3;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}..&gt;", escape_html(&shown[..cut]))
        } else {
            escape_html(&shown)
        };
        out.push_str(&format!("<a href=\"{href}\">{display}</a>"));
        out.push_str(&" ".repeat(NAME_LEN.saturating_sub(len)));
        let date = time::OffsetDateTime::from_unix_timestamp(entry.mtime)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .format(time::macros::format_description!(
                "[day]-[month repr:short]-[year] [hour]:[minute]"
            ))
            .unwrap_or_default();
        out.push(' ');
        out.push_str(&date);
        if entry.dir {
            out.push_str("                   -\r\n");
        } else {
            out.push_str(&format!(" {:>19}\r\n", entry.size));
        }
    }
    out.push_str("</pre><hr></body>\r\n</html>\r\n");
    Ok(out)
}

/// The folder's entries, folders first, then by name; hidden ones left out.
fn entries(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Follow symlinks like nginx's stat(); skip entries that vanish or dangle.
        let Ok(meta) = std::fs::metadata(item.path()) else {
            continue;
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        entries.push(Entry {
            name,
            dir: meta.is_dir(),
            size: meta.len(),
            mtime,
        });
    }
    entries.sort_by(|a, b| b.dir.cmp(&a.dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A file name as one path segment of a URL.
fn escape_component(name: &str) -> String {
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(name, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_matches_nginx_layout_and_escapes_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("read me & <more>.txt"), "").unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        std::fs::write(dir.path().join("x".repeat(60)), "").unwrap();
        let html = listing(dir.path(), b"/static/docs/").unwrap();
        let lines: Vec<&str> = html.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "<head><title>Index of /static/docs/</title></head>"
        );
        assert!(lines[3].ends_with("<pre><a href=\"../\">../</a>"));
        assert!(
            lines[4].starts_with("<a href=\"sub/\">sub/</a>"),
            "{}",
            lines[4]
        );
        assert!(lines[4].ends_with("                   -"));
        assert!(lines[5].starts_with("<a href=\"b.txt\">b.txt</a>"));
        assert!(lines[5].ends_with(&format!(" {:>19}", 5)));
        // name column: 50 characters, then a space, then the 17-character date
        let visible = lines[5]
            .replace("<a href=\"b.txt\">", "")
            .replace("</a>", "");
        assert_eq!(visible.len(), 50 + 1 + 17 + 20);
        assert!(html.contains(
            "<a href=\"read%20me%20%26%20%3Cmore%3E.txt\">read me &amp; &lt;more&gt;.txt</a>"
        ));
        assert!(html.contains(&format!(">{}..&gt;</a>", "x".repeat(47))));
        assert!(!html.contains(".hidden"));
        assert!(html.ends_with("</pre><hr></body>\r\n</html>\r\n"));
    }
}
