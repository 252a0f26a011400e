//! The socket as hyper sees it: bytes read ahead by an earlier hyper connection come
//! first, and the request line is checked before hyper sees any of it — its length (nginx
//! answers 414 where hyper would say 431) and its version (nginx and gunicorn serve
//! `HTTP/1.2` as HTTP/1.1; hyper's parser refuses it).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

enum Line {
    /// Bytes held back until the request line is complete.
    Checking(BytesMut),
    Passed,
    TooLong,
}

pub(super) struct Io {
    stream: TcpStream,
    ahead: Bytes,
    line: Line,
    max_line: usize,
}

impl Io {
    pub(super) fn new(stream: TcpStream, ahead: Bytes, max_line: Option<usize>) -> Io {
        Io {
            stream,
            ahead,
            line: match max_line {
                Some(_) => Line::Checking(BytesMut::new()),
                None => Line::Passed,
            },
            max_line: max_line.unwrap_or(usize::MAX),
        }
    }

    pub(super) fn too_long(&self) -> bool {
        matches!(self.line, Line::TooLong)
    }

    /// The socket back, with the bytes read from it that nobody has consumed yet.
    pub(super) fn into_stream(self) -> (TcpStream, Bytes) {
        let ahead = match self.line {
            Line::Checking(mut held) if !held.is_empty() => {
                held.extend_from_slice(&self.ahead);
                held.freeze()
            }
            // An empty `Bytes` may still hold the buffer it was cut from; a parked
            // connection must not.
            _ if self.ahead.is_empty() => Bytes::new(),
            _ => self.ahead,
        };
        (self.stream, ahead)
    }
}

enum Verdict {
    Complete,
    NeedMore,
    TooLong,
}

/// Look at the request line in `held` (after any empty lines, which RFC 9112 §2.2 says to
/// ignore), rewriting an `HTTP/1.x` version with a single-digit minor to `HTTP/1.1`.
fn inspect(held: &mut [u8], max_line: usize) -> Verdict {
    let start = held
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(held.len());
    let Some(lf) = held[start..].iter().position(|&b| b == b'\n') else {
        return if held.len() - start > max_line {
            Verdict::TooLong
        } else {
            Verdict::NeedMore
        };
    };
    if lf + 1 > max_line {
        return Verdict::TooLong;
    }
    let line = &mut held[start..start + lf];
    let line = match line.last() {
        Some(b'\r') => {
            let n = line.len() - 1;
            &mut line[..n]
        }
        _ => line,
    };
    if let Some(version) = line.len().checked_sub(9).map(|at| &mut line[at..])
        && version.starts_with(b" HTTP/1.")
        && (b'2'..=b'9').contains(&version[8])
    {
        version[8] = b'1';
    }
    Verdict::Complete
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.line {
                Line::Passed => {
                    if this.ahead.is_empty() {
                        return Pin::new(&mut this.stream).poll_read(cx, buf);
                    }
                    let n = this.ahead.len().min(buf.remaining());
                    buf.put_slice(&this.ahead[..n]);
                    this.ahead.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Line::TooLong => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "request line too long",
                    )));
                }
                Line::Checking(held) => {
                    if !this.ahead.is_empty() {
                        held.extend_from_slice(&this.ahead);
                        this.ahead = Bytes::new();
                    }
                    match inspect(held, this.max_line) {
                        Verdict::Complete => {
                            this.ahead = std::mem::take(held).freeze();
                            this.line = Line::Passed;
                        }
                        Verdict::TooLong => this.line = Line::TooLong,
                        Verdict::NeedMore => {
                            held.reserve(2048);
                            let n = ready!(tokio_util::io::poll_read_buf(
                                Pin::new(&mut this.stream),
                                cx,
                                held
                            ))?;
                            if n == 0 {
                                // The client stopped mid-line: hand over what came, then EOF.
                                this.ahead = std::mem::take(held).freeze();
                                this.line = Line::Passed;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, max: usize) -> (String, &'static str) {
        let mut held = line.as_bytes().to_vec();
        let verdict = match inspect(&mut held, max) {
            Verdict::Complete => "complete",
            Verdict::NeedMore => "more",
            Verdict::TooLong => "too long",
        };
        (String::from_utf8(held).unwrap(), verdict)
    }

    #[test]
    fn minor_versions_above_one_are_served_as_http_1_1() {
        assert_eq!(
            check("GET / HTTP/1.2\r\nHost: a\r\n", 100),
            ("GET / HTTP/1.1\r\nHost: a\r\n".into(), "complete")
        );
        assert_eq!(check("\r\nGET / HTTP/1.9\n", 100).0, "\r\nGET / HTTP/1.1\n");
        assert_eq!(check("GET / HTTP/1.0\r\n", 100).0, "GET / HTTP/1.0\r\n");
        // Not a version this server can serve: hyper answers it (400).
        assert_eq!(check("GET / HTTP/2.0\r\n", 100).0, "GET / HTTP/2.0\r\n");
        assert_eq!(check("GET /HTTP/1.2\r\n", 100).0, "GET /HTTP/1.2\r\n");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_before_it_ends() {
        assert_eq!(check("GET /aaaa", 100).1, "more");
        assert_eq!(
            check(&format!("GET /{}", "a".repeat(200)), 100).1,
            "too long"
        );
        assert_eq!(
            check(&format!("GET /{} HTTP/1.1\r\n", "a".repeat(200)), 100).1,
            "too long"
        );
        assert_eq!(check("\r\n\r\nGET / HTTP/1.1\r\n", 17).1, "complete");
        assert_eq!(check("GET / HTTP/1.1\r\n", 15).1, "too long");
    }
}
