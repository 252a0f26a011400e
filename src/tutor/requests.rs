//! The tutor's built-in browser: the requests the menu offers, a typed request line, the
//! replay of a request through both paths, and the small HTTP client that sends them.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::traffic::{Request, Traffic, Via};

/// The User-Agent of requests the tutor sends (not a browser's).
pub const USER_AGENT: &str = "wsgi-tutor/0.1";

/// The header that marks the two requests of one replay, so they can be found again.
pub const REPLAY_HEADER: &str = "x-tutor-replay";

/// Which server a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    WebServer,
    WsgiServer,
}

/// A request the tutor sends, as the request menu describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub label: String,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub to: Target,
}

impl RequestSpec {
    fn get(label: &str, target: &str) -> Self {
        RequestSpec {
            label: label.into(),
            method: "GET".into(),
            target: target.into(),
            headers: vec![],
            body: None,
            to: Target::WebServer,
        }
    }

    /// The same request as a curl command line.
    pub fn curl(&self, web_port: u16, wsgi_port: u16) -> String {
        let port = match self.to {
            Target::WebServer => web_port,
            Target::WsgiServer => wsgi_port,
        };
        let mut cmd = String::from("curl -i");
        if self.method != "GET" && !(self.method == "POST" && self.body.is_some()) {
            cmd.push_str(&format!(" -X {}", self.method));
        }
        for (name, value) in &self.headers {
            cmd.push_str(&format!(" -H '{name}: {value}'"));
        }
        if let Some(body) = &self.body {
            cmd.push_str(&format!(" -d '{body}'"));
        }
        cmd.push_str(&format!(" 'http://127.0.0.1:{port}{}'", self.target));
        cmd
    }

    /// Parse a typed line: `METHOD PATH [Name:value]... [-- BODY]`, e.g.
    /// `POST /form -- name=Ada` or `GET /environ X-Color:teal`. `direct` in front sends it
    /// to the WSGI server's port.
    pub fn parse(line: &str) -> Result<RequestSpec, String> {
        let (head, body) = match line.split_once(" -- ") {
            Some((h, b)) => (h, Some(b.to_owned())),
            None => (line, None),
        };
        let mut words = head.split_whitespace().peekable();
        let mut to = Target::WebServer;
        if words.peek() == Some(&"direct") {
            to = Target::WsgiServer;
            words.next();
        }
        let method = words
            .next()
            .ok_or("type a request, e.g. GET /environ X-Color:teal")?
            .to_ascii_uppercase();
        if !method.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("{method:?} is not a method (GET, POST, ...)"));
        }
        let target = words.next().unwrap_or("/").to_owned();
        if !target.starts_with('/') {
            return Err(format!("the path must start with /, got {target:?}"));
        }
        let mut headers = Vec::new();
        for word in words {
            let (name, value) = word
                .split_once(':')
                .ok_or_else(|| format!("{word:?}: write headers as Name:value"))?;
            headers.push((name.to_owned(), value.to_owned()));
        }
        Ok(RequestSpec {
            label: line.trim().to_owned(),
            method,
            target,
            headers,
            body,
            to,
        })
    }
}

/// The ready-made requests in the menu.
pub fn menu_requests() -> Vec<RequestSpec> {
    let mut post = RequestSpec::get("a form with a body", "/form");
    post.method = "POST".into();
    post.headers = vec![(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    )];
    post.body = Some("name=Ada&color=teal".into());
    let mut direct = RequestSpec::get("the environ, skipping the web server", "/environ");
    direct.to = Target::WsgiServer;
    vec![
        RequestSpec::get("the app's home page", "/"),
        RequestSpec::get("a static file", "/static/style.css"),
        RequestSpec::get("a static directory listing", "/static/docs/"),
        RequestSpec::get("what the app receives", "/environ"),
        post,
        RequestSpec::get("a slow page (2 s)", "/slow?ms=2000"),
        RequestSpec::get("an app error (500)", "/boom"),
        RequestSpec::get("a missing file (404)", "/static/missing.png"),
        direct,
    ]
}

/// The two requests of replay `n` of `req`: through the web server, then straight to the
/// WSGI server, marked with [`REPLAY_HEADER`] so [`replay_pair`] finds them again. `None`
/// when the trace has not seen what the client sent.
pub fn replay_specs(req: &Request, n: u64) -> Option<[RequestSpec; 2]> {
    let received = req.client_request()?;
    let mut headers: Vec<(String, String)> = received
        .headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.to_ascii_lowercase().as_str(),
                "host" | "content-length" | "connection" | "user-agent" | REPLAY_HEADER
            )
        })
        .cloned()
        .collect();
    headers.push((REPLAY_HEADER.to_owned(), n.to_string()));
    let spec = |to, where_| RequestSpec {
        label: format!("replay {} {} {where_}", received.method, received.target),
        method: received.method.clone(),
        target: received.target.clone(),
        headers: headers.clone(),
        body: None,
        to,
    };
    Some([
        spec(Target::WebServer, "through the web server"),
        spec(Target::WsgiServer, "straight to the WSGI server"),
    ])
}

/// The requests of replay `n`: (through the web server, straight to the WSGI server).
pub fn replay_pair(traffic: &Traffic, n: u64) -> (Option<&Request>, Option<&Request>) {
    let value = n.to_string();
    let of = |via: Via| {
        traffic.iter().rev().find(|r| {
            r.via() == via
                && r.client_request().is_some_and(|c| {
                    c.headers
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case(REPLAY_HEADER) && *v == value)
                })
        })
    };
    (of(Via::WebServer), of(Via::Direct))
}

/// A small HTTP/1.1 client: send, read the status, drain the body. Returns the status.
pub async fn send(spec: &RequestSpec, port: u16) -> Result<u16, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
        stream
            .write_all(&request_bytes(spec, port))
            .await
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .await
            .map_err(|e| e.to_string())?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("not an HTTP response: {status_line:?}"))?;
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink).await;
        Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(120), exchange)
        .await
        .unwrap_or_else(|_| Err("no answer within 120 s".into()))
}

/// The request as it goes on the wire (one request, then the connection closes).
fn request_bytes(spec: &RequestSpec, port: u16) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n",
        spec.method, spec.target
    );
    for (name, value) in &spec.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = spec.body.as_deref().unwrap_or_default();
    if spec.body.is_some() {
        let typed = spec
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if !typed {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head.push_str(body);
    head.into_bytes()
}
