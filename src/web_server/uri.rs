//! The request URI as nginx sees it before choosing a location: percent-decoded, slashes
//! merged, `.` and `..` resolved. A `..` that would climb above `/` makes the request
//! invalid (400), which is the first of the defences that keep files outside the document
//! root out of reach.

/// Why a URI was refused (always answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("client sent invalid request target")]
    NotAPath,
    #[error("client sent invalid percent-encoding in the URI")]
    BadEscape,
    #[error("client sent a NUL byte in the URI")]
    Nul,
    #[error("client sent a URI that climbs above \"/\" with \"..\"")]
    AboveRoot,
}

/// Decode and normalise the path part of a request target (no query string).
pub fn normalize(raw_path: &str) -> Result<Vec<u8>, UriError> {
    let raw = raw_path.as_bytes();
    if raw.first() != Some(&b'/') {
        return Err(UriError::NotAPath);
    }
    let decoded = percent_decode(raw)?;
    // Build the result segment by segment; `..` pops the previous segment.
    let mut out: Vec<u8> = Vec::with_capacity(decoded.len());
    let ends_with_slash = decoded.last() == Some(&b'/')
        || decoded.ends_with(b"/.")
        || decoded.ends_with(b"/..")
        || decoded.as_slice() == b"/";
    for segment in decoded.split(|&b| is_separator(b)) {
        match segment {
            b"" | b"." => {}
            b".." => {
                let Some(cut) = out.iter().rposition(|&b| b == b'/') else {
                    return Err(UriError::AboveRoot);
                };
                out.truncate(cut);
            }
            _ => {
                out.push(b'/');
                out.extend_from_slice(segment);
            }
        }
    }
    if out.is_empty() || ends_with_slash {
        out.push(b'/');
    }
    Ok(out)
}

/// Backslashes separate path segments only where the operating system says so.
fn is_separator(b: u8) -> bool {
    b == b'/' || (cfg!(windows) && b == b'\\')
}

fn percent_decode(raw: &[u8]) -> Result<Vec<u8>, UriError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3).ok_or(UriError::BadEscape)?;
            let value = (hex_value(hex[0]).ok_or(UriError::BadEscape)? << 4)
                | hex_value(hex[1]).ok_or(UriError::BadEscape)?;
            if value == 0 {
                return Err(UriError::Nul);
            }
            out.push(value);
            i += 3;
        } else {
            if b == 0 {
                return Err(UriError::Nul);
            }
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encode a decoded path for use in a URL (links, redirects, upstream URIs).
pub fn escape_path(path: &[u8]) -> String {
    const SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@');
    percent_encoding::percent_encode(path, SAFE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        let ok = [
            ("/", "/"),
            ("/static", "/static"),
            ("/static/", "/static/"),
            ("//static///css//a.css", "/static/css/a.css"),
            ("/a/./b", "/a/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/../c", "/a/c"),
            ("/a/%2e%2e/b", "/b"),
            ("/a%2Fb", "/a/b"),
            ("/%7Euser", "/~user"),
            ("/a/.", "/a/"),
            ("/space%20name", "/space name"),
            ("/%252e%252e/x", "/%2e%2e/x"),
        ];
        for (raw, want) in ok {
            assert_eq!(
                normalize(raw).map(|p| String::from_utf8(p).unwrap()),
                Ok(want.into()),
                "{raw}"
            );
        }
        let bad = [
            ("/..", UriError::AboveRoot),
            ("/../etc/passwd", UriError::AboveRoot),
            ("/static/../../etc/passwd", UriError::AboveRoot),
            ("/static/%2e%2e/%2e%2e/etc/passwd", UriError::AboveRoot),
            ("/static/..%2f..%2fetc/passwd", UriError::AboveRoot),
            ("/a%00.html", UriError::Nul),
            ("/a%zz", UriError::BadEscape),
            ("/a%2", UriError::BadEscape),
            ("*", UriError::NotAPath),
            ("", UriError::NotAPath),
        ];
        for (raw, want) in bad {
            assert_eq!(normalize(raw), Err(want), "{raw}");
        }
    }

    #[test]
    fn overlong_and_backslash_stay_literal_bytes() {
        // %c0%ae is an overlong '.', which must not act as a dot.
        assert_eq!(
            normalize("/%c0%ae%c0%ae/x").unwrap(),
            b"/\xc0\xae\xc0\xae/x"
        );
        if cfg!(unix) {
            assert_eq!(normalize("/a\\..\\b").unwrap(), b"/a\\..\\b");
        }
    }

    #[test]
    fn escaping_round_trips_through_normalize() {
        let path = b"/docs/read me & more.txt";
        let escaped = escape_path(path);
        assert_eq!(escaped, "/docs/read%20me%20&%20more.txt");
        assert_eq!(normalize(&escaped).unwrap(), path);
    }
}
