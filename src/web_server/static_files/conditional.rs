//! Conditional requests and ranges, with nginx's rules: ETag and Last-Modified against
//! `If-*` headers (304, 412), and `Range` against the file's size (206, 416, or the whole).

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{self, HeaderMap, HeaderValue};

/// nginx's ETag: `"<mtime hex>-<size hex>"`.
pub(super) fn etag(mtime: u64, size: u64) -> String {
    format!("\"{mtime:x}-{size:x}\"")
}

pub(super) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// nginx's not-modified filter: 412 when If-Match / If-Unmodified-Since fail, 304 when
/// If-None-Match matches or If-Modified-Since equals Last-Modified exactly.
pub(super) fn precondition(headers: &HeaderMap, mtime: u64, tag: &str) -> Option<u16> {
    if let Some(value) = headers.get(header::IF_UNMODIFIED_SINCE).and_then(http_date)
        && mtime > value
    {
        return Some(412);
    }
    if let Some(value) = headers.get(header::IF_MATCH)
        && !etag_matches(value, tag, false)
    {
        return Some(412);
    }
    let ims = headers.get(header::IF_MODIFIED_SINCE);
    let inm = headers.get(header::IF_NONE_MATCH);
    if ims.is_none() && inm.is_none() {
        return None;
    }
    if let Some(ims) = ims
        && ims
            .to_str()
            .ok()
            .and_then(|s| httpdate::parse_http_date(s).ok())
            .map(unix_seconds)
            != Some(mtime)
    {
        return None;
    }
    if let Some(inm) = inm
        && !etag_matches(inm, tag, true)
    {
        return None;
    }
    Some(304)
}

fn http_date(value: &HeaderValue) -> Option<u64> {
    httpdate::parse_http_date(value.to_str().ok()?)
        .ok()
        .map(unix_seconds)
}

fn etag_matches(value: &HeaderValue, tag: &str, weak: bool) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    if text.trim() == "*" {
        return true;
    }
    text.split(',').map(str::trim).any(|candidate| {
        let candidate = if weak {
            candidate.strip_prefix("W/").unwrap_or(candidate)
        } else {
            candidate
        };
        candidate == tag
    })
}

pub(super) fn if_range_matches(headers: &HeaderMap, last_modified: &str, tag: &str) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(value) if value.starts_with('"') => value == tag,
        Some(value) => value == last_modified,
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Ranges {
    Whole,
    Unsatisfiable,
    Some(Vec<(u64, u64)>),
}

/// `bytes=0-99,200-,-50` against a file of `size` bytes, with nginx's rules: a unit other
/// than bytes is ignored; bad syntax or no satisfiable range is 416; ranges adding up to
/// more than the file answer the whole file.
pub(super) fn parse_ranges(value: &[u8], size: u64) -> Ranges {
    let Ok(text) = std::str::from_utf8(value) else {
        return Ranges::Unsatisfiable;
    };
    let Some(spec) = text.strip_prefix("bytes=") else {
        return Ranges::Whole;
    };
    let mut out = Vec::new();
    let mut total = 0u64;
    for part in spec.split(',') {
        let part = part.trim();
        let Some((a, b)) = part.split_once('-') else {
            return Ranges::Unsatisfiable;
        };
        let (a, b) = (a.trim(), b.trim());
        let number = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|_| s.bytes().all(|c| c.is_ascii_digit()))
        };
        let (start, end) = if a.is_empty() {
            let Some(suffix) = number(b) else {
                return Ranges::Unsatisfiable;
            };
            if suffix == 0 {
                continue;
            }
            (size.saturating_sub(suffix), size.saturating_sub(1))
        } else {
            let Some(start) = number(a) else {
                return Ranges::Unsatisfiable;
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match number(b) {
                    Some(end) if end >= start => end.min(size.saturating_sub(1)),
                    _ => return Ranges::Unsatisfiable,
                }
            };
            if start >= size {
                continue;
            }
            (start, end)
        };
        if size == 0 {
            continue;
        }
        total += end - start + 1;
        out.push((start, end));
    }
    if out.is_empty() {
        return Ranges::Unsatisfiable;
    }
    if total > size {
        return Ranges::Whole;
    }
    Ranges::Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_table() {
        let cases: &[(&str, Ranges)] = &[
            ("bytes=0-0", Ranges::Some(vec![(0, 0)])),
            ("bytes=0-99", Ranges::Some(vec![(0, 99)])),
            ("bytes=90-200", Ranges::Some(vec![(90, 99)])),
            ("bytes=-10", Ranges::Some(vec![(90, 99)])),
            ("bytes=-200", Ranges::Some(vec![(0, 99)])),
            ("bytes=50-", Ranges::Some(vec![(50, 99)])),
            ("bytes=0-1,5-6", Ranges::Some(vec![(0, 1), (5, 6)])),
            ("bytes=0-99,0-99", Ranges::Whole),
            ("items=0-1", Ranges::Whole),
            ("bytes=100-", Ranges::Unsatisfiable),
            ("bytes=5-2", Ranges::Unsatisfiable),
            ("bytes=abc", Ranges::Unsatisfiable),
            ("bytes=1-x", Ranges::Unsatisfiable),
        ];
        for (value, want) in cases {
            assert_eq!(&parse_ranges(value.as_bytes(), 100), want, "{value}");
        }
    }

    #[test]
    fn conditional_requests_follow_nginx() {
        let mtime = 1_700_000_000;
        let tag = etag(mtime, 10);
        let date = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(mtime));
        let later =
            httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(mtime + 60));
        let check = |pairs: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            precondition(&headers, mtime, &tag)
        };
        assert_eq!(check(&[]), None);
        assert_eq!(check(&[("if-none-match", &tag)]), Some(304));
        assert_eq!(check(&[("if-none-match", &format!("W/{tag}"))]), Some(304));
        assert_eq!(check(&[("if-none-match", "\"other\"")]), None);
        assert_eq!(check(&[("if-modified-since", &date)]), Some(304));
        // nginx compares If-Modified-Since exactly: a later date is not "not modified".
        assert_eq!(check(&[("if-modified-since", &later)]), None);
        assert_eq!(check(&[("if-match", "\"nope\"")]), Some(412));
        assert_eq!(check(&[("if-match", &tag)]), None);
    }
}
