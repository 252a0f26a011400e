//! The answer about one file: 200, 206 (one range or multipart), or 304, with its
//! validators; the body read in 64 KiB pieces as the client takes it.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::conditional::{
    Ranges, etag, if_range_matches, parse_ranges, precondition, unix_seconds,
};
use super::{Outcome, StaticRequest, status};
use crate::web_server::responses::{Body, empty, full};

/// Files up to this size are read in one go; larger ones stream.
const SMALL_FILE: u64 = 64 * 1024;
const CHUNK: usize = 64 * 1024;

pub(super) fn file_response(
    req: &StaticRequest,
    path: PathBuf,
    file: File,
    meta: &Metadata,
) -> Outcome {
    let size = meta.len();
    let mtime = meta.modified().map_or(0, unix_seconds);
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
    let answer = FileAnswer {
        file,
        size,
        head: *req.method == Method::HEAD,
        // The strings become header values without a copy.
        validators: [
            (header::LAST_MODIFIED, header_value(last_modified)),
            (header::ETAG, header_value(tag)),
        ],
    };
    if precondition.is_some() {
        return Outcome::Response {
            response: answer.not_modified(),
            path,
            size: 0,
        };
    }
    let content_type = req
        .conf
        .content_type(&path.file_name().unwrap_or_default().to_string_lossy());
    let (response, sent) = match ranges {
        Ranges::Whole | Ranges::Unsatisfiable => answer.whole(content_type),
        Ranges::Some(ranges) if ranges.len() == 1 => answer.range(ranges[0], content_type),
        Ranges::Some(ranges) => answer.multipart(&ranges, &content_type),
    };
    Outcome::Response {
        response,
        path,
        size: sent,
    }
}

/// One file about to be answered: what every kind of answer about it carries.
struct FileAnswer {
    file: File,
    size: u64,
    /// HEAD: the headers of a GET, no body.
    head: bool,
    validators: [(HeaderName, HeaderValue); 2],
}

impl FileAnswer {
    /// The response with the validators, its body `segments` or else `len` bytes from
    /// `start`. The values move in, as a clone of a String-backed header value allocates;
    /// the map is sized for every header the response will carry (these, Server, and
    /// whatever add_header adds).
    fn respond(
        self,
        status: StatusCode,
        segments: VecDeque<Segment>,
        start: u64,
        len: u64,
    ) -> Response<Body> {
        let body = if self.head {
            empty()
        } else {
            file_body(self.file, segments, start, len)
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.reserve(8);
        for (name, value) in self.validators {
            headers.insert(name, value);
        }
        response
    }

    /// 304: the validators again, no body.
    fn not_modified(mut self) -> Response<Body> {
        self.head = true;
        self.respond(StatusCode::NOT_MODIFIED, VecDeque::new(), 0, 0)
    }

    fn whole(self, content_type: HeaderValue) -> (Response<Body>, u64) {
        let size = self.size;
        let mut response = self.respond(StatusCode::OK, VecDeque::new(), 0, size);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        (response, size)
    }

    fn range(self, (start, end): (u64, u64), content_type: HeaderValue) -> (Response<Body>, u64) {
        let (size, len) = (self.size, end - start + 1);
        let mut response = self.respond(StatusCode::PARTIAL_CONTENT, VecDeque::new(), start, len);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(
            header::CONTENT_RANGE,
            header_value(format!("bytes {start}-{end}/{size}")),
        );
        (response, len)
    }

    fn multipart(self, ranges: &[(u64, u64)], content_type: &HeaderValue) -> (Response<Body>, u64) {
        // nginx's boundary is a zero-padded counter; any unique string will do.
        let boundary = format!("{:020}", fastrand::u64(..));
        let content_type = content_type.to_str().unwrap_or_default();
        let size = self.size;
        let mut segments = VecDeque::new();
        let mut total = 0u64;
        for &(start, end) in ranges {
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
        let mut response = self.respond(StatusCode::PARTIAL_CONTENT, segments, 0, total);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header_value(format!("multipart/byteranges; boundary={boundary}")),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
        (response, total)
    }
}

/// A header value from text this module wrote itself (dates, tags, ranges: always valid).
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
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
