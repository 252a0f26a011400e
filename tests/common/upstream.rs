//! A tiny HTTP upstream in the test process, for the web server's proxy to talk to.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct UpRequest {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    pub conn: usize,
}

impl UpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP upstream on a free port. What it does depends on what the request's path
/// contains (anywhere, so a location prefix may come first):
///
/// - `/sleep/MS` waits MS milliseconds, then echoes;
/// - `/reset` resets the connection without answering; `/close` closes it;
/// - `/big/N` streams N bytes of generated data (`Content-Length`);
/// - `/hop` answers with hop-by-hop and hidden headers that must not reach the client;
/// - `/redirect` answers 302 to `http://<Host><path before /redirect>/target`, and
///   `/relredirect` 302 to `<path before /relredirect>/target`;
/// - `/status/N` answers status N with a short text body; `/chunked` a chunked body;
/// - anything else echoes: a plain-text body with the request line, headers and the size of
///   the request body (which it reads and counts, never stores).
///
/// Every response carries `X-Upstream: <port>`. Keep-alive is honoured for HTTP/1.1 requests
/// without `Connection: close`; `accepts` counts connections.
///
/// Only finished requests are recorded in `requests`: a request whose body ended early (a
/// chunked body without its last chunk, fewer bytes than its Content-Length, broken chunk
/// framing) is counted in `incomplete` and never answered. `closes` has one entry per
/// connection the other side closed, with how long it had been idle then.
pub struct Upstream {
    pub port: u16,
    pub accepts: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<UpRequest>>>,
    pub incomplete: Arc<AtomicUsize>,
    pub closes: Arc<Mutex<Vec<Closed>>>,
    stop: Arc<AtomicBool>,
}

/// A connection the web server closed: which one, and how long after its last response.
#[derive(Debug, Clone)]
pub struct Closed {
    pub conn: usize,
    pub idle: Duration,
    /// Requests it carried.
    pub requests: usize,
}

/// What one connection's thread shares with the test.
#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<UpRequest>>>,
    incomplete: Arc<AtomicUsize>,
    closes: Arc<Mutex<Vec<Closed>>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepts = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            requests: Arc::new(Mutex::new(Vec::new())),
            incomplete: Arc::new(AtomicUsize::new(0)),
            closes: Arc::new(Mutex::new(Vec::new())),
        };
        let stop = Arc::new(AtomicBool::new(false));
        {
            let accepts = accepts.clone();
            let shared = shared.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let conn = accepts.fetch_add(1, Ordering::SeqCst) + 1;
                    let shared = shared.clone();
                    thread::spawn(move || {
                        let _ = serve_upstream_conn(stream, port, conn, &shared);
                    });
                }
            });
        }
        Upstream {
            port,
            accepts,
            requests: shared.requests,
            incomplete: shared.incomplete,
            closes: shared.closes,
            stop,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn accepted(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> Option<UpRequest> {
        self.requests.lock().unwrap().last().cloned()
    }

    pub fn all(&self) -> Vec<UpRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests whose head arrived but whose body never finished.
    pub fn incomplete(&self) -> usize {
        self.incomplete.load(Ordering::SeqCst)
    }

    /// Connections the other side closed, so far.
    pub fn closed(&self) -> Vec<Closed> {
        self.closes.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn set_linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own with a correctly sized struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// A request's line and headers, as the upstream read them.
struct RequestHead {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

/// Read one request head (blank lines before it skipped) and parse it with `httparse`;
/// `None` when the connection ends first or the head does not parse.
fn read_request_head(reader: &mut impl BufRead) -> std::io::Result<Option<RequestHead>> {
    let mut head = Vec::new();
    loop {
        if reader.read_until(b'\n', &mut head)? == 0 {
            return Ok(None);
        }
        if head.iter().all(u8::is_ascii_whitespace) {
            head.clear();
        } else if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = parsed.parse(&head) else {
        return Ok(None);
    };
    Ok(Some(RequestHead {
        method: parsed.method.unwrap_or("").to_owned(),
        target: parsed.path.unwrap_or("").to_owned(),
        version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
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
    }))
}

/// Read a chunked body to its end; its size, or None when the framing is broken or the
/// connection ends before the last chunk.
fn read_chunked(reader: &mut impl BufRead, buf: &mut [u8]) -> std::io::Result<Option<u64>> {
    let mut body_len = 0u64;
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 || !size_line.ends_with("\r\n") {
            return Ok(None);
        }
        let digits = size_line.trim_end().split(';').next().unwrap_or("");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Ok(size) = usize::from_str_radix(digits, 16) else {
            return Ok(None);
        };
        if size == 0 {
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 {
                    return Ok(None);
                }
                if t.trim().is_empty() {
                    return Ok(Some(body_len));
                }
            }
        }
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len());
            let got = reader.read(&mut buf[..n])?;
            if got == 0 {
                return Ok(None);
            }
            left -= got;
        }
        body_len += size as u64;
        let mut crlf = [0u8; 2];
        if reader.read_exact(&mut crlf).is_err() || &crlf != b"\r\n" {
            return Ok(None);
        }
    }
}

/// Serve one connection; when the other side closes it, record how long it had been idle.
fn serve_upstream_conn(
    stream: TcpStream,
    port: u16,
    conn: usize,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut idle_since = std::time::Instant::now();
    let mut served = 0;
    let result = serve_requests(&stream, port, conn, shared, &mut idle_since, &mut served);
    if matches!(result, Ok(true)) {
        shared.closes.lock().unwrap().push(Closed {
            conn,
            idle: idle_since.elapsed(),
            requests: served,
        });
    }
    result.map(|_| ())
}

/// The requests of one connection; `Ok(true)` when it ended because the other side closed
/// it between requests.
fn serve_requests(
    stream: &TcpStream,
    port: u16,
    conn: usize,
    shared: &Shared,
    idle_since: &mut std::time::Instant,
    served: &mut usize,
) -> std::io::Result<bool> {
    let requests = &shared.requests;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream.try_clone()?;
    loop {
        let Some(RequestHead {
            method,
            target,
            version,
            headers,
        }) = read_request_head(&mut reader)?
        else {
            return Ok(true);
        };
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        // Read (and count) the request body.
        let mut body_len = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            let Some(len) = read_chunked(&mut reader, &mut buf)? else {
                shared.incomplete.fetch_add(1, Ordering::SeqCst);
                return Ok(false);
            };
            body_len = len;
        } else if let Some(len) = get("content-length").and_then(|v| v.parse::<u64>().ok()) {
            let mut left = len;
            while left > 0 {
                let n = (left as usize).min(buf.len());
                let got = reader.read(&mut buf[..n])?;
                if got == 0 {
                    shared.incomplete.fetch_add(1, Ordering::SeqCst);
                    return Ok(false);
                }
                left -= got as u64;
            }
            body_len = len;
        }
        *served += 1;
        let keep_alive = version == "HTTP/1.1"
            && !get("connection").is_some_and(|v| v.to_ascii_lowercase().contains("close"));
        let request = UpRequest {
            method: method.clone(),
            target: target.clone(),
            version: version.clone(),
            headers: headers.clone(),
            body_len,
            conn,
        };
        requests.lock().unwrap().push(request);

        let path = target.split('?').next().unwrap_or("");
        let number_after = |marker: &str| -> Option<u64> {
            let at = path.find(marker)?;
            path[at + marker.len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        };
        let conn_header = if keep_alive { "keep-alive" } else { "close" };
        if path.contains("/reset") {
            // The caller drops the socket itself on return: with linger 0 that is a reset.
            set_linger_zero(stream);
            drop(out);
            drop(reader);
            return Ok(false);
        }
        if path.contains("/close") {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(false);
        }
        if let Some(ms) = number_after("/sleep/") {
            thread::sleep(Duration::from_millis(ms));
        }
        if let Some(n) = number_after("/big/") {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\nX-Upstream: {port}\r\nConnection: {conn_header}\r\n\r\n"
            )?;
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            let mut left = n;
            while left > 0 {
                let k = (left as usize).min(chunk.len());
                out.write_all(&chunk[..k])?;
                left -= k as u64;
            }
            out.flush()?;
            *idle_since = std::time::Instant::now();
            if !keep_alive {
                return Ok(false);
            }
            continue;
        }
        let host = get("host").unwrap_or_default();
        if let Some(at) = path.find("/relredirect") {
            let prefix = &path[..at];
            write!(
                out,
                "HTTP/1.1 302 Found\r\nLocation: {prefix}/target\r\nContent-Length: 0\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(false);
        }
        if let Some(at) = path.find("/redirect") {
            let prefix = &path[..at];
            write!(
                out,
                "HTTP/1.1 302 Found\r\nLocation: http://{host}{prefix}/target\r\nContent-Length: 0\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(false);
        }
        if let Some(code) = number_after("/status/") {
            let text = format!("upstream says {code}\n");
            write!(
                out,
                "HTTP/1.1 {code} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )?;
            return Ok(false);
        }
        if path.contains("/chunked") {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )?;
            return Ok(false);
        }
        let mut body = format!("method {method}\nuri {target}\nversion {version}\n");
        for (n, v) in &headers {
            body.push_str(&format!("header {}: {v}\n", n.to_ascii_lowercase()));
        }
        body.push_str(&format!("body-len {body_len}\nconn {conn}\n"));
        let extra = if path.contains("/hop") {
            "Keep-Alive: timeout=5\r\nConnection: close\r\nX-Pad: avoid browser bug\r\nServer: upstream-server/9\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nX-Kept: yes\r\n"
        } else {
            ""
        };
        let connection = if extra.is_empty() {
            format!("Connection: {conn_header}\r\n")
        } else {
            String::new()
        };
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Upstream: {port}\r\n{connection}{extra}\r\n{body}",
            body.len()
        )?;
        out.flush()?;
        *idle_since = std::time::Instant::now();
        // `/idle-close`: answer as kept alive, then close while idle, as an upstream
        // whose keepalive timeout ran out.
        if !keep_alive || !extra.is_empty() || path.contains("/idle-close") {
            return Ok(false);
        }
    }
}

/// Parse the echo body into `key -> values` (headers under `header <name>`).
pub fn parse_echo(body: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("header ") {
            let (n, v) = h.split_once(": ").unwrap_or((h.trim_end_matches(':'), ""));
            out.entry(format!("header {n}"))
                .or_default()
                .push(v.to_owned());
        } else if let Some((k, v)) = line.split_once(' ') {
            out.entry(k.to_owned()).or_default().push(v.to_owned());
        }
    }
    out
}
