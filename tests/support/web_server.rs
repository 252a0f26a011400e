//! Shared helpers for the web server's integration tests: start the real binary on a free
//! loopback port, talk raw HTTP/1.1 to it, and run a tiny upstream in the test process.
//!
//! Included from each test file with `#[path = "support/web_server.rs"] mod support;`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_wsgi-tutor");

/// Lines collected from a child's pipe, with a condition variable to wait on.
#[derive(Clone, Default)]
pub struct Lines {
    inner: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Lines {
    fn collect_from(&self, pipe: impl Read + Send + 'static) {
        let lines = self.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                        let (lock, cv) = &*lines.inner;
                        lock.lock().unwrap().push(line);
                        cv.notify_all();
                    }
                }
            }
        });
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.all().join("\n")
    }

    /// Wait until some line satisfies `pred`; returns it.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.inner;
        let mut lines = lock.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|l| pred(l)) {
                return Some(line.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            lines = cv.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.inner
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| pred(l))
            .count()
    }
}

/// A running `wsgi-tutor web-server`.
pub struct Server {
    pub child: Child,
    pub pid: u32,
    pub port: u16,
    pub stderr: Lines,
    pub stdout: Lines,
    pub stdin: Option<ChildStdin>,
    pub conf: PathBuf,
}

/// Write `conf` as `dir/nginx.conf`.
pub fn write_conf(dir: &Path, conf: &str) -> PathBuf {
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

impl Server {
    /// Start with `conf` written to `dir/nginx.conf`, with `--trace-json`.
    pub fn start(dir: &Path, conf: &str) -> Server {
        let path = write_conf(dir, conf);
        Server::start_with(&path, &["--trace-json"])
    }

    /// Start with this config file and extra arguments; waits for the listening line.
    pub fn start_with(conf: &Path, extra: &[&str]) -> Server {
        Self::try_start(conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(conf: &Path, extra: &[&str]) -> Result<Server, String> {
        Self::try_start_in(None, None, conf, extra)
    }

    /// Start from another working directory.
    pub fn start_from(cwd: &Path, conf: &Path, extra: &[&str]) -> Server {
        Self::try_start_in(Some(cwd), None, conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start a server whose error log goes to a file (where the listening line is read).
    pub fn start_logging_to(error_log: &Path, conf: &Path, extra: &[&str]) -> Server {
        Self::try_start_in(None, Some(error_log), conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start_in(
        cwd: Option<&Path>,
        error_log: Option<&Path>,
        conf: &Path,
        extra: &[&str],
    ) -> Result<Server, String> {
        let mut command = Command::new(BIN);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .arg("web-server")
            .arg("-c")
            .arg(conf)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsgi-tutor web-server");
        let stderr = Lines::default();
        let stdout = Lines::default();
        stderr.collect_from(child.stderr.take().unwrap());
        stdout.collect_from(child.stdout.take().unwrap());
        let stdin = child.stdin.take();
        let pid = child.id();
        let parse_port = |l: &str| {
            l.split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
        };
        let mut port = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while port.is_none() && Instant::now() < deadline {
            let text = match error_log {
                Some(file) => std::fs::read_to_string(file).unwrap_or_default(),
                None => stderr.text(),
            };
            port = text.lines().find_map(parse_port);
            if port.is_none() && (text.contains("[emerg]") || !matches!(child.try_wait(), Ok(None)))
            {
                break;
            }
            if port.is_none() {
                thread::sleep(Duration::from_millis(20));
            }
        }
        let mut server = Server {
            child,
            pid,
            port: 0,
            stderr,
            stdout,
            stdin,
            conf: conf.to_path_buf(),
        };
        match port {
            Some(port) => {
                server.port = port;
                Ok(server)
            }
            None => {
                thread::sleep(Duration::from_millis(200));
                Err(format!(
                    "web server did not report a listening port; stderr:\n{}",
                    server.stderr.text()
                ))
            }
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn connect(&self) -> Conn {
        Conn::open(self.port)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn head(&self, path: &str) -> Response {
        self.request("HEAD", path, &[], b"")
    }

    /// One request on a fresh connection, with `Host: localhost` and `Connection: close`
    /// unless the given headers say otherwise.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut conn = self.connect();
        conn.send_request(method, path, headers, body);
        conn.read_response(method == "HEAD")
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Send exact bytes on a fresh connection and read one response.
    pub fn raw(&self, bytes: &[u8]) -> Result<Response, String> {
        let mut conn = self.connect();
        conn.send(bytes);
        conn.read_response(bytes.starts_with(b"HEAD "))
    }

    /// The JSON trace events written so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .all()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }

    /// Trace events of one request, in order.
    pub fn events_of(&self, request_id: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["request_id"] == request_id)
            .collect()
    }

    /// Wait until the trace stream has an event matching `pred`.
    pub fn wait_event(
        &self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let line = self.stdout.wait_for(timeout, |l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| pred(&v))
                .unwrap_or(false)
        })?;
        serde_json::from_str(&line).ok()
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(self.pid as libc::pid_t, sig);
        }
    }

    pub fn control(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin piped");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// (VmHWM, VmRSS) in KiB from /proc.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Run `wsgi-tutor web-server -c CONF -t`: (exit ok, stderr text).
pub fn test_config(conf: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("web-server")
        .arg("-c")
        .arg(conf)
        .arg("-t")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text)
}

// ---------------------------------------------------------------------------------------
// A raw HTTP/1.1 client.

#[derive(Debug, Clone)]
pub struct Response {
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
}

pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to web server");
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

    /// Read the status line and headers.
    pub fn read_head(&mut self) -> Result<Response, String> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| format!("reading status line: {e}"))?;
            if n == 0 {
                return Err("connection closed before a response".into());
            }
            if !line.trim().is_empty() {
                break;
            }
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let version = parts.next().unwrap_or("").to_owned();
        let status = parts
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let reason = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            let n = self
                .reader
                .read_line(&mut h)
                .map_err(|e| format!("reading headers: {e}"))?;
            if n == 0 {
                return Err("connection closed inside headers".into());
            }
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(Response {
            version,
            status,
            reason,
            headers,
            body: Vec::new(),
        })
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
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let mut buf = vec![0u8; 64 * 1024];
        if chunked {
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------
// A tiny upstream.

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
pub struct Upstream {
    pub port: u16,
    pub accepts: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<UpRequest>>>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let accepts = accepts.clone();
            let requests = requests.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let conn = accepts.fetch_add(1, Ordering::SeqCst) + 1;
                    let requests = requests.clone();
                    thread::spawn(move || {
                        let _ = serve_upstream_conn(stream, port, conn, requests);
                    });
                }
            });
        }
        Upstream {
            port,
            accepts,
            requests,
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
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn serve_upstream_conn(
    stream: TcpStream,
    port: u16,
    conn: usize,
    requests: Arc<Mutex<Vec<UpRequest>>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream.try_clone()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let version = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
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
            loop {
                let mut size_line = String::new();
                reader.read_line(&mut size_line)?;
                let size =
                    usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                        .unwrap_or(0);
                if size == 0 {
                    loop {
                        let mut t = String::new();
                        if reader.read_line(&mut t)? == 0 || t.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let mut left = size;
                while left > 0 {
                    let n = left.min(buf.len());
                    reader.read_exact(&mut buf[..n])?;
                    left -= n;
                }
                body_len += size as u64;
                let mut crlf = [0u8; 2];
                reader.read_exact(&mut crlf)?;
            }
        } else if let Some(len) = get("content-length").and_then(|v| v.parse::<u64>().ok()) {
            let mut left = len;
            while left > 0 {
                let n = (left as usize).min(buf.len());
                let got = reader.read(&mut buf[..n])?;
                if got == 0 {
                    return Ok(());
                }
                left -= got as u64;
            }
            body_len = len;
        }
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
            set_linger_zero(&stream);
            drop(out);
            drop(reader);
            drop(stream);
            return Ok(());
        }
        if path.contains("/close") {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(());
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
            if !keep_alive {
                return Ok(());
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
            return Ok(());
        }
        if let Some(at) = path.find("/redirect") {
            let prefix = &path[..at];
            write!(
                out,
                "HTTP/1.1 302 Found\r\nLocation: http://{host}{prefix}/target\r\nContent-Length: 0\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        if let Some(code) = number_after("/status/") {
            let text = format!("upstream says {code}\n");
            write!(
                out,
                "HTTP/1.1 {code} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )?;
            return Ok(());
        }
        if path.contains("/chunked") {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Upstream: {port}\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )?;
            return Ok(());
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
        // `/idle-close`: answer as kept alive, then close while idle, as an upstream
        // whose keepalive timeout ran out.
        if !keep_alive || !extra.is_empty() || path.contains("/idle-close") {
            return Ok(());
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

/// Wait until `f` is true or the timeout passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(25));
    }
}
