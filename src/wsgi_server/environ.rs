//! The PEP 3333 environ: the dictionary an application receives, built from one HTTP
//! request.
//!
//! The arbiter builds the CGI part here, in Rust, as (key, value) pairs whose values are
//! the raw bytes the worker turns into latin-1 `str`s: so `PATH_INFO` holds the
//! percent-decoded path byte for byte, exactly as PEP 3333 asks of "native strings". The
//! worker adds the Python objects (`wsgi.input`, `wsgi.errors`, `wsgi.version`, ...).
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the peer is this
//! machine (gunicorn's `forwarded_allow_ips` default): then the web server in front is the
//! peer, and it knows the real client and scheme.

use std::net::SocketAddr;

use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName};
use hyper::{HeaderMap, Method, Uri, Version};
use percent_encoding::percent_decode;

/// The request fields the environ is made of.
pub struct RequestHead<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// The CGI part of one environ, in order; values are raw (latin-1) bytes.
#[derive(Debug, Default, Clone)]
pub struct Environ {
    pub vars: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvironError {
    #[error("the path decodes to a NUL byte, which no environ string may hold")]
    NulInPath,
}

/// Longest value the trace shows before cutting it.
const TRACE_VALUE_MAX: usize = 300;

impl Environ {
    pub fn build(req: &RequestHead<'_>) -> Result<Environ, EnvironError> {
        let decoded: Vec<u8> = percent_decode(req.uri.path().as_bytes()).collect();
        if decoded.contains(&0) {
            return Err(EnvironError::NulInPath);
        }
        let (scheme, remote) = client(req);
        let mut vars: Vec<(String, Vec<u8>)> = Vec::with_capacity(24 + req.headers.len());
        let mut set = |k: &str, v: Vec<u8>| vars.push((k.to_owned(), v));
        set("REQUEST_METHOD", req.method.as_str().into());
        set("SCRIPT_NAME", Vec::new());
        set("PATH_INFO", decoded);
        set(
            "QUERY_STRING",
            req.uri.query().unwrap_or_default().as_bytes().to_vec(),
        );
        let target = req
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .as_bytes()
            .to_vec();
        set("RAW_URI", target);
        set("CONTENT_TYPE", header_bytes(req.headers, CONTENT_TYPE));
        set("CONTENT_LENGTH", header_bytes(req.headers, CONTENT_LENGTH));
        let (server_name, server_port) = server(req, &scheme);
        set("SERVER_NAME", server_name.into_bytes());
        set("SERVER_PORT", server_port.to_string().into_bytes());
        set("SERVER_PROTOCOL", version_str(req.version).into());
        set("SERVER_SOFTWARE", b"wsgi-tutor".to_vec());
        set("REMOTE_ADDR", remote.into_bytes());
        set("REMOTE_PORT", req.peer.port().to_string().into_bytes());
        set("wsgi.url_scheme", scheme.into_bytes());
        http_vars(req.headers, &mut vars);
        Ok(Environ { vars })
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// A value as Python will see it: each byte one character (latin-1).
    pub fn get_str(&self, key: &str) -> String {
        self.get(key).map(latin1).unwrap_or_default()
    }

    /// The blob the worker splits: `key\0value\0key\0value`.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.vars.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut out = Vec::with_capacity(size);
        for (i, (k, v)) in self.vars.iter().enumerate() {
            if i > 0 {
                out.push(0);
            }
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v);
        }
        out
    }

    /// The whole environ as the application sees it, long values cut, for the trace.
    pub fn for_trace(&self, input_len: Option<u64>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), shorten(latin1(v))))
            .collect();
        let input = match input_len {
            Some(n) => format!("<wsgi.input: {n} bytes>"),
            None => "<wsgi.input: streamed>".to_owned(),
        };
        for (k, v) in [
            ("wsgi.version", "(1, 0)"),
            ("wsgi.input", input.as_str()),
            ("wsgi.errors", "<sys.stderr of the worker>"),
            ("wsgi.multithread", "False"),
            ("wsgi.multiprocess", "True"),
            ("wsgi.run_once", "False"),
        ] {
            out.push((k.to_owned(), v.to_owned()));
        }
        out.sort();
        out
    }
}

/// Bytes as latin-1 text: byte N becomes U+00NN.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn shorten(mut s: String) -> String {
    if s.chars().count() > TRACE_VALUE_MAX {
        s = s.chars().take(TRACE_VALUE_MAX).collect();
        s.push('…');
    }
    s
}

/// The scheme and client address the app should see. The web server's `X-Forwarded-*`
/// are believed only when it is the peer: gunicorn's `forwarded_allow_ips` default,
/// "127.0.0.1,::1".
fn client(req: &RequestHead<'_>) -> (String, String) {
    let trusted = match req.peer.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => {
            ip == std::net::Ipv6Addr::LOCALHOST
                || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    };
    let forwarded_proto = header_str(req.headers, "x-forwarded-proto")
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| trusted && (p == "https" || p == "http"));
    let scheme = forwarded_proto.as_deref().unwrap_or("http").to_owned();
    let remote = header_str(req.headers, "x-forwarded-for")
        .filter(|_| trusted)
        // The last entry is the one our web server added: the peer it saw. Entries
        // before it were sent by the client and could say anything.
        .and_then(|v| v.rsplit(',').next().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| req.peer.ip().to_string());
    (scheme, remote)
}

/// SERVER_NAME and SERVER_PORT: from `Host` (or an absolute URI), else the socket.
fn server(req: &RequestHead<'_>, scheme: &str) -> (String, u16) {
    let default_port = if scheme == "https" { 443 } else { 80 };
    match header_str(req.headers, HOST.as_str())
        .or_else(|| req.uri.authority().map(hyper::http::uri::Authority::as_str))
    {
        Some(host) => split_host(host, default_port),
        None => (req.local.ip().to_string(), req.local.port()),
    }
}

/// The `HTTP_*` keys: every other header, its name upper-cased with `-` as `_`.
fn http_vars(headers: &HeaderMap, vars: &mut Vec<(String, Vec<u8>)>) {
    for name in headers.keys() {
        if name == CONTENT_TYPE || name == CONTENT_LENGTH {
            continue;
        }
        // `X-Foo_Bar` and `X-Foo-Bar` would both become HTTP_X_FOO_BAR; a client could
        // use that to smuggle a header past a proxy that checks one spelling. gunicorn
        // drops names with underscores for that reason, and so do we.
        if name.as_str().contains('_') {
            continue;
        }
        let mut key = String::with_capacity(5 + name.as_str().len());
        key.push_str("HTTP_");
        for c in name.as_str().chars() {
            key.push(if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            });
        }
        // Repeated headers are joined into one value, as one header line would carry
        // them (cookies with "; ", which is how a Cookie header separates them).
        let separator: &[u8] = if name == hyper::header::COOKIE {
            b"; "
        } else {
            b", "
        };
        let mut value = Vec::new();
        for (i, v) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                value.extend_from_slice(separator);
            }
            value.extend_from_slice(v.as_bytes());
        }
        vars.push((key, value));
    }
}

fn header_bytes(headers: &HeaderMap, name: HeaderName) -> Vec<u8> {
    headers
        .get(name)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn version_str(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// `example.com:8080` → ("example.com", 8080); `[::1]` → ("::1", default).
fn split_host(host: &str, default_port: u16) -> (String, u16) {
    if let Some((addr, tail)) = host.strip_prefix('[').and_then(|r| r.split_once(']')) {
        let port = tail
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default_port);
        return (addr.to_owned(), port);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => {
            (name.to_owned(), port.parse().expect("checked"))
        }
        _ => (host.to_owned(), default_port),
    }
}

#[cfg(test)]
mod tests;
