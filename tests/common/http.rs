//! A small blocking HTTP/1.1 client for the tests: requests written by hand (so they can be
//! as odd as a test wants), response heads parsed with `httparse`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response as the tests see it.
#[derive(Debug, Clone)]
pub struct Response {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// Parse a complete response head (status line, headers, blank line) at the start of
/// `bytes`: the response without a body, and the length of the head.
pub fn parse_head(bytes: &[u8]) -> Result<(Response, usize), String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut headers);
    let len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return Err(format!(
                "incomplete response head {:?}",
                String::from_utf8_lossy(bytes)
            ));
        }
        Err(e) => {
            return Err(format!(
                "bad response head ({e}): {:?}",
                String::from_utf8_lossy(bytes)
            ));
        }
    };
    let response = Response {
        version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
        status: parsed.code.unwrap_or(0),
        reason: parsed.reason.unwrap_or("").to_owned(),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    Ok((response, len))
}

/// Parse a whole response read until the server closed the connection. The body is what
/// follows the head (de-chunked unless `head_only`), so a body sent where none may be is
/// seen.
pub fn parse_response(raw: &[u8], head_only: bool) -> Response {
    let (mut response, len) = parse_head(raw).unwrap_or_else(|e| panic!("{e}"));
    let rest = &raw[len..];
    response.body = if !head_only && response.is_chunked() {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    response
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
}

/// One request on a fresh connection with `Host: 127.0.0.1:PORT` and `Connection: close`,
/// read until the server closes. A `Transfer-Encoding: chunked` header makes the body go
/// out in chunks; otherwise it gets a `Content-Length` (always for POST).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if !chunked && (!body.is_empty() || method == "POST") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if chunked {
        for piece in body.chunks(1000) {
            stream
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .unwrap();
            stream.write_all(piece).unwrap();
            stream.write_all(b"\r\n").unwrap();
        }
        stream.write_all(b"0\r\n\r\n").unwrap();
    } else {
        stream.write_all(body).unwrap();
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw, method == "HEAD")
}

/// Send `raw` on a fresh connection and read until the server closes it: the response, or
/// `None` when nothing listens, nothing came back in time or the head is not complete (a
/// server still starting, or gone).
pub fn try_exchange(port: u16, raw: &[u8], timeout: Duration) -> Option<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(raw).ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    let head_only = raw.starts_with(b"HEAD ");
    parse_head(&bytes).ok()?;
    Some(parse_response(&bytes, head_only))
}

/// A connection that reads responses one at a time, as they are framed.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send(&mut self, bytes: &[u8]) {
        // The server may close early (413, 400): a write error is not a test failure.
        let _ = self.stream.write_all(bytes);
        let _ = self.stream.flush();
    }

    /// Send a request; `Host: localhost` and `Connection: close` are added unless given.
    pub fn send_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut out = format!("{method} {path} HTTP/1.1\r\n");
        let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
        if !has("host") {
            out.push_str("Host: localhost\r\n");
        }
        if !has("connection") {
            out.push_str("Connection: close\r\n");
        }
        for (n, v) in headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() && !has("content-length") && !has("transfer-encoding") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
    }

    /// Read the status line and headers (blank lines before the status line are skipped).
    pub fn read_head(&mut self) -> Result<Response, String> {
        let mut head = Vec::new();
        loop {
            let n = self
                .reader
                .read_until(b'\n', &mut head)
                .map_err(|e| format!("reading the response head: {e}"))?;
            if n == 0 {
                return Err(if head.iter().all(u8::is_ascii_whitespace) {
                    "connection closed before a response".into()
                } else {
                    format!(
                        "connection closed inside the response head {:?}",
                        String::from_utf8_lossy(&head)
                    )
                });
            }
            if head.iter().all(u8::is_ascii_whitespace) {
                head.clear();
            } else if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                break;
            }
        }
        parse_head(&head).map(|(response, _)| response)
    }

    /// Read the body of a response whose head was read, handing it to `sink` piece by piece.
    pub fn read_body_with(
        &mut self,
        head: &Response,
        head_request: bool,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String> {
        if head_request || head.status == 204 || head.status == 304 || head.status < 200 {
            return Ok(());
        }
        let mut buf = vec![0u8; 64 * 1024];
        if head.is_chunked() {
            loop {
                let mut size_line = String::new();
                self.reader
                    .read_line(&mut size_line)
                    .map_err(|e| format!("chunk size: {e}"))?;
                let size_text = size_line.trim().split(';').next().unwrap_or("");
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| format!("bad chunk size {size_line:?}"))?;
                if size == 0 {
                    // trailers
                    loop {
                        let mut t = String::new();
                        let n = self.reader.read_line(&mut t).map_err(|e| e.to_string())?;
                        if n == 0 || t.trim().is_empty() {
                            return Ok(());
                        }
                    }
                }
                let mut left = size;
                while left > 0 {
                    let n = left.min(buf.len());
                    self.reader
                        .read_exact(&mut buf[..n])
                        .map_err(|e| format!("chunk data: {e}"))?;
                    sink(&buf[..n]);
                    left -= n;
                }
                let mut crlf = [0u8; 2];
                self.reader
                    .read_exact(&mut crlf)
                    .map_err(|e| format!("chunk end: {e}"))?;
            }
        } else if let Some(len) = head.header("content-length") {
            let mut left: u64 = len
                .parse()
                .map_err(|_| format!("bad content-length {len}"))?;
            while left > 0 {
                let n = (left as usize).min(buf.len());
                let got = self
                    .reader
                    .read(&mut buf[..n])
                    .map_err(|e| format!("body: {e}"))?;
                if got == 0 {
                    return Err(format!("connection closed with {left} body bytes missing"));
                }
                sink(&buf[..got]);
                left -= got as u64;
            }
            Ok(())
        } else {
            loop {
                let got = self
                    .reader
                    .read(&mut buf)
                    .map_err(|e| format!("body until close: {e}"))?;
                if got == 0 {
                    return Ok(());
                }
                sink(&buf[..got]);
            }
        }
    }

    pub fn read_response(&mut self, head_request: bool) -> Result<Response, String> {
        let mut response = self.read_head()?;
        // interim responses (100 Continue) come before the real one
        while (100..200).contains(&response.status) && response.status != 101 {
            response = self.read_head()?;
        }
        let mut body = Vec::new();
        let head = response.clone();
        self.read_body_with(&head, head_request, &mut |b| body.extend_from_slice(b))?;
        response.body = body;
        Ok(response)
    }

    /// True when the server has closed the connection (EOF or reset) within `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        let mut b = [0u8; 1];
        let closed = match self.reader.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        closed
    }
}
