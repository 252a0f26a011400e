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

/// The largest offset nginx parses (`NGX_MAX_OFF_T_VALUE`, its off_t being an i64): a range
/// number past it is unsatisfiable (416), never wrapped or clamped.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// `bytes=0-99,200-,-50` against a file of `size` bytes, as nginx's range filter parses it
/// (`ngx_http_range_parse`): a unit other than `bytes=` (any case), or nothing after it,
/// answers the whole file; spaces (not tabs) may surround the numbers; a malformed range or
/// a number above i64::MAX makes the whole header unsatisfiable (416); a range that selects
/// nothing (`5-2`, `100-` on a shorter file, `-0`) is skipped, and 416 comes only when no
/// range is left; ranges adding up to more than the file answer the whole file.
pub(super) fn parse_ranges(value: &[u8], size: u64) -> Ranges {
    if value.len() < 7 || !value[..6].eq_ignore_ascii_case(b"bytes=") {
        return Ranges::Whole;
    }
    match parse_byte_ranges(&value[6..], size) {
        None => Ranges::Unsatisfiable,
        Some((ranges, _)) if ranges.is_empty() => Ranges::Unsatisfiable,
        Some((_, total)) if total > size => Ranges::Whole,
        Some((ranges, _)) => Ranges::Some(ranges),
    }
}

/// The ranges that select something (first and last byte) and the bytes they add up to;
/// None when the header is malformed.
fn parse_byte_ranges(spec: &[u8], size: u64) -> Option<(Vec<(u64, u64)>, u64)> {
    let mut p = RangeCursor { spec, at: 0 };
    let mut out = Vec::new();
    let mut total = 0u64;
    loop {
        p.skip_spaces();
        let (start, end) = if p.peek() == Some(b'-') {
            // `-N`: the last N bytes.
            p.at += 1;
            let suffix = p.number()?;
            p.end_of_range()?;
            (size.saturating_sub(suffix), size)
        } else {
            let start = p.number()?;
            p.skip_spaces();
            if p.peek() != Some(b'-') {
                return None;
            }
            p.at += 1;
            p.skip_spaces();
            if matches!(p.peek(), None | Some(b',')) {
                (start, size)
            } else {
                let last = p.number()?;
                p.end_of_range()?;
                (start, if last >= size { size } else { last + 1 })
            }
        };
        // `end` is one past the last byte.
        if start < end {
            out.push((start, end - 1));
            total += end - start;
        }
        if p.peek() != Some(b',') {
            break;
        }
        p.at += 1;
    }
    Some((out, total))
}

/// nginx's pointer walking a Range header after `bytes=`.
struct RangeCursor<'a> {
    spec: &'a [u8],
    at: usize,
}

impl RangeCursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.spec.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// One or more digits, refused past [`MAX_OFFSET`] as nginx's `cutoff`/`cutlim` do.
    fn number(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        let mut digits = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|&n| n <= MAX_OFFSET)?;
            self.at += 1;
            digits += 1;
        }
        (digits > 0).then_some(n)
    }

    /// After a range's last number: spaces, then a comma or the end.
    fn end_of_range(&mut self) -> Option<()> {
        self.skip_spaces();
        matches!(self.peek(), None | Some(b',')).then_some(())
    }
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
            // a range that selects nothing is skipped, not fatal
            ("bytes=5-2,0-1", Ranges::Some(vec![(0, 1)])),
            ("bytes=100-,0-1", Ranges::Some(vec![(0, 1)])),
            ("bytes=-0,0-1", Ranges::Some(vec![(0, 1)])),
            ("bytes=-0", Ranges::Unsatisfiable),
            // nginx's syntax: the unit in any case, spaces (not tabs), nothing after `bytes=`
            ("Bytes=0-4", Ranges::Some(vec![(0, 4)])),
            ("BYTES=0-4", Ranges::Some(vec![(0, 4)])),
            ("bytes= 0 - 4 , 6-7", Ranges::Some(vec![(0, 4), (6, 7)])),
            ("bytes=\t0-4", Ranges::Unsatisfiable),
            ("bytes=", Ranges::Whole),
            ("bytes=0-1,", Ranges::Unsatisfiable),
            ("bytes=0-4;x", Ranges::Unsatisfiable),
            ("bytes=+1-2", Ranges::Unsatisfiable),
            (
                "bytes=0-00000000000000000000000001",
                Ranges::Some(vec![(0, 1)]),
            ),
            // numbers are nginx's off_t: i64::MAX is taken, one more is 416
            ("bytes=0-9223372036854775807", Ranges::Some(vec![(0, 99)])),
            ("bytes=0-9223372036854775808", Ranges::Unsatisfiable),
            ("bytes=0-18446744073709551615", Ranges::Unsatisfiable),
            ("bytes=0-18446744073709551616", Ranges::Unsatisfiable),
            ("bytes=0-1234567890123456789012345", Ranges::Unsatisfiable),
            ("bytes=9223372036854775807-", Ranges::Unsatisfiable),
            ("bytes=9223372036854775808-", Ranges::Unsatisfiable),
            ("bytes=-9223372036854775807", Ranges::Some(vec![(0, 99)])),
            ("bytes=-9223372036854775808", Ranges::Unsatisfiable),
            ("bytes=-18446744073709551615", Ranges::Unsatisfiable),
            ("bytes=0-4,9223372036854775808-", Ranges::Unsatisfiable),
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
