//! Answering from disk: `root` and `alias`, `index`, `autoindex`, the directory redirect,
//! conditional requests (ETag, Last-Modified → 304) and byte ranges (206, 416, multipart),
//! all as nginx does them. Nothing here reaches the WSGI server: that is the lesson.
//!
//! Files are read in 64 KiB pieces as the client takes them, so a large download costs a
//! small, fixed amount of memory.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::autoindex;
use super::config::{DocRoot, LocConf};
use super::log::Level;
use super::responses::{Body, empty, full};

/// Files up to this size are read in one go; larger ones stream.
const SMALL_FILE: u64 = 64 * 1024;
const CHUNK: usize = 64 * 1024;

pub struct StaticRequest<'a> {
    pub method: &'a Method,
    /// Decoded, normalised URI.
    pub uri: &'a [u8],
    pub args: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub conf: &'a LocConf,
}

pub enum Outcome {
    /// Send this (a file, a listing, a redirect, a 304 or 206).
    Response {
        response: Response<Body>,
        path: PathBuf,
        size: u64,
    },
    /// A directory asked for without its trailing slash: 301 to the same URI with one
    /// (`location` is the path and query; the caller puts scheme and host before it).
    Moved { location: String, path: PathBuf },
    /// nginx's internal redirect to an index file: choose a location again for this URI.
    Redirect(Vec<u8>),
    /// An error status; the caller writes the page. The log line says why.
    Status {
        status: u16,
        path: PathBuf,
        log: Option<(Level, String)>,
        /// 416 says how long the file is.
        content_range: Option<String>,
    },
}

fn status(status: u16, path: PathBuf, log: Option<(Level, String)>) -> Outcome {
    Outcome::Status {
        status,
        path,
        log,
        content_range: None,
    }
}

/// Map the URI onto the file system, refusing anything that would land outside the root
/// or alias.
pub fn file_path(doc_root: &DocRoot, uri: &[u8]) -> Option<PathBuf> {
    let (dir, rest): (&Path, &[u8]) = match doc_root {
        DocRoot::Root(dir) => (dir, uri),
        DocRoot::Alias {
            dir, regex: true, ..
        } => return Some(dir.clone()),
        DocRoot::Alias { dir, prefix, .. } => (dir, uri.get(prefix.len()..).unwrap_or_default()),
    };
    // `location /static` + `alias /lab/static` + `/staticfoo` would name `/lab/staticfoo`,
    // a sibling of the alias (nginx serves it; we do not).
    if !rest.is_empty() && rest[0] != b'/' && !dir.as_os_str().to_string_lossy().ends_with('/') {
        return None;
    }
    let mut path = PathBuf::with_capacity(dir.as_os_str().len() + rest.len() + 1);
    path.push(dir);
    for segment in rest.split(|&b| b == b'/') {
        if segment.is_empty() {
            continue;
        }
        let part = segment_path(segment)?;
        let part: &Path = &part;
        let mut components = part.components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => path.push(part),
            _ => return None,
        }
    }
    Some(path)
}

#[cfg(unix)]
fn segment_path(bytes: &[u8]) -> Option<std::borrow::Cow<'_, Path>> {
    use std::os::unix::ffi::OsStrExt;
    Some(Path::new(std::ffi::OsStr::from_bytes(bytes)).into())
}

#[cfg(not(unix))]
fn segment_path(bytes: &[u8]) -> Option<std::borrow::Cow<'_, Path>> {
    std::str::from_utf8(bytes).ok().map(|s| Path::new(s).into())
}

/// The root of the document tree, for `disable_symlinks` checks.
fn base_dir(doc_root: &DocRoot) -> &Path {
    match doc_root {
        DocRoot::Root(dir) | DocRoot::Alias { dir, .. } => dir,
    }
}

/// With `disable_symlinks on`, any symbolic link below the root refuses the request.
fn has_symlink(base: &Path, path: &Path) -> bool {
    let Ok(rest) = path.strip_prefix(base) else {
        return false;
    };
    let mut current = base.to_path_buf();
    for component in rest.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

pub fn serve(req: &StaticRequest) -> Outcome {
    let conf = req.conf;
    let get_or_head = *req.method == Method::GET || *req.method == Method::HEAD;
    if !get_or_head && *req.method != Method::POST {
        return status(405, PathBuf::new(), None);
    }
    let Some(path) = file_path(&conf.doc_root, req.uri) else {
        let log = format!(
            "\"{}\" would be outside the {} of this location",
            String::from_utf8_lossy(req.uri),
            match conf.doc_root {
                DocRoot::Root(_) => "root",
                DocRoot::Alias { .. } => "alias",
            }
        );
        return status(404, PathBuf::new(), Some((Level::Error, log)));
    };
    if conf.disable_symlinks && has_symlink(base_dir(&conf.doc_root), &path) {
        let log = format!(
            "open() \"{}\" failed (40: Too many levels of symbolic links)",
            path.display()
        );
        return status(403, path, Some((Level::Error, log)));
    }

    if req.uri.ends_with(b"/") {
        return directory(req, path, get_or_head);
    }

    // Open first and ask the open file for its metadata: one path lookup instead of two.
    let (file, meta) = match open_with_metadata(&path) {
        Ok(pair) => pair,
        Err(err) => return open_failed(path, &err),
    };
    if meta.is_dir() {
        let mut location = format!("{}/", super::uri::escape_path(req.uri));
        if let Some(args) = req.args {
            location.push('?');
            location.push_str(args);
        }
        return Outcome::Moved { location, path };
    }
    if !get_or_head {
        return status(405, path, None);
    }
    match file {
        Some(file) => file_response(req, path, file, &meta),
        None => status(404, path, None),
    }
}

/// The file (None for a directory where the platform cannot open one) and its metadata.
fn open_with_metadata(path: &Path) -> io::Result<(Option<File>, Metadata)> {
    match File::open(path) {
        Ok(file) => {
            let meta = file.metadata()?;
            Ok((Some(file), meta))
        }
        Err(err) => match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Ok((None, meta)),
            _ => Err(err),
        },
    }
}

fn open_failed(path: PathBuf, err: &io::Error) -> Outcome {
    let code = match err.kind() {
        io::ErrorKind::PermissionDenied => 403,
        _ => 404,
    };
    let log = format!(
        "open() \"{}\" failed ({})",
        path.display(),
        super::config::syntax::os_error(err)
    );
    status(code, path, Some((Level::Error, log)))
}

fn directory(req: &StaticRequest, dir: PathBuf, get_or_head: bool) -> Outcome {
    for index in &req.conf.index {
        if index.starts_with('/') {
            return Outcome::Redirect(index.as_bytes().to_vec());
        }
        let candidate = dir.join(index);
        if candidate.is_file() {
            let mut uri = req.uri.to_vec();
            uri.extend_from_slice(index.as_bytes());
            return Outcome::Redirect(uri);
        }
    }
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let log = format!("\"{}\" is not a directory", dir.display());
            return status(404, dir, Some((Level::Error, log)));
        }
        Err(err) => return open_failed(dir, &err),
    }
    // Only GET and HEAD get a listing; a POST falls through to "forbidden", as in nginx.
    if !req.conf.autoindex || !get_or_head {
        let log = format!("directory index of \"{}/\" is forbidden", dir.display());
        return status(403, dir, Some((Level::Error, log)));
    }
    match autoindex::listing(&dir, req.uri) {
        Ok(html) => {
            let size = html.len() as u64;
            let response = Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/html")
                .body(full(html))
                .expect("valid listing");
            Outcome::Response {
                response,
                path: dir,
                size,
            }
        }
        Err(err) => open_failed(dir, &err),
    }
}

/// nginx's ETag: `"<mtime hex>-<size hex>"`.
fn etag(mtime: u64, size: u64) -> String {
    format!("\"{mtime:x}-{size:x}\"")
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn file_response(req: &StaticRequest, path: PathBuf, file: File, meta: &Metadata) -> Outcome {
    let size = meta.len();
    let mtime = meta.modified().map(unix_seconds).unwrap_or(0);
    let last_modified = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(mtime));
    let tag = etag(mtime, size);

    let precondition = precondition(req.headers, mtime, &tag);
    if precondition == Some(412) {
        return status(412, path, None);
    }
    let ranges = match req.headers.get(header::RANGE) {
        _ if precondition.is_some() => Ranges::Whole,
        Some(range) if if_range_matches(req.headers, &last_modified, &tag) => {
            parse_ranges(range.as_bytes(), size)
        }
        _ => Ranges::Whole,
    };
    if ranges == Ranges::Unsatisfiable {
        return Outcome::Status {
            status: 416,
            path,
            log: None,
            content_range: Some(format!("bytes */{size}")),
        };
    }

    // The strings become header values without a copy; the map is sized for every header
    // the response will carry (these, Server, and whatever add_header adds).
    let validators = [
        (header::LAST_MODIFIED, header_value(last_modified)),
        (header::ETAG, header_value(tag)),
    ];
    // Called once, whichever answer it is: the values move in (a clone of a header value
    // made from a String would allocate).
    let respond = move |status: StatusCode, body: Body| {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.reserve(8);
        for (name, value) in validators {
            headers.insert(name, value);
        }
        response
    };
    if precondition.is_some() {
        // 304: the validators again, no body.
        return Outcome::Response {
            response: respond(StatusCode::NOT_MODIFIED, empty()),
            path,
            size: 0,
        };
    }

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let content_type = req.conf.content_type(&file_name);
    let head = *req.method == Method::HEAD;
    let (response, sent) = match ranges {
        Ranges::Whole | Ranges::Unsatisfiable => {
            let body = if head {
                empty()
            } else {
                file_body(file, VecDeque::new(), 0, size)
            };
            let mut response = respond(StatusCode::OK, body);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type);
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            (response, size)
        }
        Ranges::Some(ranges) if ranges.len() == 1 => {
            let (start, end) = ranges[0];
            let len = end - start + 1;
            let body = if head {
                empty()
            } else {
                file_body(file, VecDeque::new(), start, len)
            };
            let mut response = respond(StatusCode::PARTIAL_CONTENT, body);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type);
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            headers.insert(
                header::CONTENT_RANGE,
                header_value(format!("bytes {start}-{end}/{size}")),
            );
            (response, len)
        }
        Ranges::Some(ranges) => {
            // nginx's boundary is a zero-padded counter; any unique string will do.
            let boundary = format!("{:020}", rand::random::<u64>());
            let content_type = content_type.to_str().unwrap_or_default();
            let mut segments = VecDeque::new();
            let mut total = 0u64;
            for &(start, end) in &ranges {
                let part_head = format!(
                    "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {start}-{end}/{size}\r\n\r\n"
                );
                total += part_head.len() as u64 + (end - start + 1);
                segments.push_back(Segment::Bytes(Bytes::from(part_head)));
                segments.push_back(Segment::File {
                    start,
                    len: end - start + 1,
                });
            }
            let tail = format!("\r\n--{boundary}--\r\n");
            total += tail.len() as u64;
            segments.push_back(Segment::Bytes(Bytes::from(tail)));
            let body = if head {
                empty()
            } else {
                file_body(file, segments, 0, total)
            };
            let mut response = respond(StatusCode::PARTIAL_CONTENT, body);
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header_value(format!("multipart/byteranges; boundary={boundary}")),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
            (response, total)
        }
    };
    Outcome::Response {
        response,
        path,
        size: sent,
    }
}

/// A header value from text this module wrote itself (dates, tags, ranges: always valid).
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// nginx's not-modified filter: 412 when If-Match / If-Unmodified-Since fail, 304 when
/// If-None-Match matches or If-Modified-Since equals Last-Modified exactly.
fn precondition(headers: &HeaderMap, mtime: u64, tag: &str) -> Option<u16> {
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

fn if_range_matches(headers: &HeaderMap, last_modified: &str, tag: &str) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(value) if value.starts_with('"') => value == tag,
        Some(value) => value == last_modified,
    }
}

#[derive(Debug, PartialEq)]
enum Ranges {
    Whole,
    Unsatisfiable,
    Some(Vec<(u64, u64)>),
}

/// `bytes=0-99,200-,-50` against a file of `size` bytes, with nginx's rules: a unit other
/// than bytes is ignored; bad syntax or no satisfiable range is 416; ranges adding up to
/// more than the file answer the whole file.
fn parse_ranges(value: &[u8], size: u64) -> Ranges {
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

enum Segment {
    Bytes(Bytes),
    File { start: u64, len: u64 },
}

/// A body made of file pieces and literal bytes, read as the client takes it.
struct FileBody {
    file: File,
    segments: VecDeque<Segment>,
    remaining: u64,
}

/// The body for a file: `segments` when given (a multipart answer), else `len` bytes from
/// `start`. Small pieces are read at once: one read, no per-chunk polling.
fn file_body(file: File, mut segments: VecDeque<Segment>, start: u64, len: u64) -> Body {
    if segments.is_empty() {
        if len <= SMALL_FILE {
            let mut buf = vec![0u8; len as usize];
            if read_exact_at(&file, &mut buf, start).is_ok() {
                return full(buf);
            }
        }
        segments.push_back(Segment::File { start, len });
    }
    let remaining = segments
        .iter()
        .map(|s| match s {
            Segment::Bytes(b) => b.len() as u64,
            Segment::File { len, .. } => *len,
        })
        .sum();
    Body::stream(FileBody {
        file,
        segments,
        remaining,
    })
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        let Some(segment) = this.segments.pop_front() else {
            return Poll::Ready(None);
        };
        let chunk = match segment {
            Segment::Bytes(bytes) => bytes,
            Segment::File { start, len } => {
                let n = len.min(CHUNK as u64);
                let mut buf = vec![0u8; n as usize];
                // Page-cache reads of 64 KiB take microseconds; a thread hop would cost more.
                if let Err(err) = read_exact_at(&this.file, &mut buf, start) {
                    return Poll::Ready(Some(Err(err)));
                }
                if len > n {
                    this.segments.push_front(Segment::File {
                        start: start + n,
                        len: len - n,
                    });
                }
                Bytes::from(buf)
            }
        };
        this.remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
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
        ];
        for (value, want) in cases {
            assert_eq!(&parse_ranges(value.as_bytes(), 100), want, "{value}");
        }
    }

    #[test]
    fn alias_never_leaves_its_folder() {
        let alias = DocRoot::Alias {
            dir: PathBuf::from("/lab/static"),
            prefix: "/static".into(),
            regex: false,
        };
        assert_eq!(
            file_path(&alias, b"/static/a.css"),
            Some(PathBuf::from("/lab/static/a.css"))
        );
        assert_eq!(
            file_path(&alias, b"/static"),
            Some(PathBuf::from("/lab/static"))
        );
        assert_eq!(file_path(&alias, b"/staticfoo"), None);
        assert_eq!(file_path(&alias, b"/static../etc/passwd"), None);
        let root = DocRoot::Root(PathBuf::from("/srv"));
        assert_eq!(
            file_path(&root, b"/a/b.html"),
            Some(PathBuf::from("/srv/a/b.html"))
        );
        assert_eq!(file_path(&root, b"/a/../b"), None);
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
