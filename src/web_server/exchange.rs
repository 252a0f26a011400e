//! One request on its way through the web server, and what it became: what every phase
//! reads and writes (nginx's `ngx_http_request_t`), and the error-log lines about it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::header::{self, HeaderMap};
use hyper::http::request::Parts;
use hyper::{Method, Version};
use smallvec::SmallVec;

use super::config::{LocConf, Server};
use super::log::{ErrorLog, Level};
use super::upstream::Attempt;
use crate::trace::{Hop, TraceSink};

/// What the request path knows about the connection a request came in on.
#[derive(Clone)]
pub struct ConnInfo {
    pub id: u64,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The `listen` this connection was accepted on, as written in the configuration.
    pub listen: Arc<str>,
}

/// One request on its way through the web server, and what it became.
pub struct Exchange {
    pub id: String,
    pub conn: ConnInfo,
    pub started: Instant,
    pub method: Method,
    pub version: Version,
    /// The request target's path and query, as the client sent them.
    pub raw_path_and_query: String,
    pub headers: HeaderMap,
    /// `$host`: from the Host header, lowercased, without the port.
    pub host: String,
    /// Decoded, normalised path; changes on an internal redirect.
    pub uri: Vec<u8>,
    pub args: Option<String>,
    pub internal_redirect: bool,
    pub server: Option<Arc<Server>>,
    pub conf: Option<Arc<LocConf>>,
    pub trace: TraceSink,
    pub error_log: Arc<ErrorLog>,
    pub status: u16,
    pub bytes_sent: u64,
    pub response_headers: HeaderMap,
    /// One entry per upstream server tried; almost always one, so kept inline.
    pub attempts: SmallVec<[Attempt; 1]>,
}

impl Exchange {
    /// A request just read, with a fresh `$request_id`; `received` goes to the trace.
    /// The method and headers move out of `parts`; its URI stays for the check phase.
    pub fn received(
        parts: &mut Parts,
        conn: ConnInfo,
        error_log: Arc<ErrorLog>,
        trace: TraceSink,
    ) -> Exchange {
        let raw_path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned());
        let x = Exchange {
            id: request_id(),
            conn,
            started: Instant::now(),
            method: std::mem::take(&mut parts.method),
            version: parts.version,
            raw_path_and_query,
            headers: std::mem::take(&mut parts.headers),
            host: String::new(),
            uri: Vec::new(),
            args: None,
            internal_redirect: false,
            server: None,
            conf: None,
            trace,
            error_log,
            status: 0,
            bytes_sent: 0,
            response_headers: HeaderMap::new(),
            attempts: SmallVec::new(),
        };
        x.trace.emit(Some(&x.id), || Hop::Received {
            method: x.method.to_string(),
            target: x.raw_path_and_query.clone(),
            version: format!("{:?}", x.version),
            headers: crate::trace::headers_of(&x.headers),
            peer: x.conn.peer.to_string(),
        });
        x
    }

    /// Write to the error log with the connection number; errors also go to the trace, so
    /// the tutor can say why (without the client/request tail it already shows).
    pub fn log(&self, level: Level, message: String) {
        if level >= Level::Error {
            self.trace.emit(Some(&self.id), || Hop::Error {
                level: level.as_str().to_owned(),
                message: message
                    .split(", client: ")
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                status: None,
            });
        }
        self.error_log
            .log(level, Some(self.conn.id), format_args!("{message}"));
    }

    /// nginx's tail for error lines: `, client: ..., server: ..., request: "...", host: "..."`.
    pub fn context(&self, upstream: Option<&str>) -> String {
        let server = self
            .server
            .as_ref()
            .and_then(|s| s.names.first().cloned())
            .unwrap_or_default();
        let mut out = format!(
            ", client: {}, server: {server}, request: \"{}\"",
            self.conn.peer.ip(),
            self.request_line()
        );
        if let Some(upstream) = upstream {
            out.push_str(&format!(", upstream: \"{upstream}\""));
        }
        if let Some(host) = self.headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            out.push_str(&format!(", host: \"{host}\""));
        }
        out
    }

    /// `$request`: the request line as the client sent it.
    pub fn request_line(&self) -> String {
        format!(
            "{} {} {:?}",
            self.method, self.raw_path_and_query, self.version
        )
    }

    /// `scheme://host[:port]` for redirects: the Host header's name and the port we listen on.
    pub fn origin(&self) -> String {
        let host = if self.host.is_empty() {
            self.conn.local.ip().to_string()
        } else {
            self.host.clone()
        };
        match self.conn.local.port() {
            80 => format!("http://{host}"),
            port => format!("http://{host}:{port}"),
        }
    }
}

/// A fresh `$request_id`: 32 hex digits.
fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = fastrand::u128(..);
    (0..32)
        .rev()
        .map(|i| HEX[((n >> (i * 4)) & 0xf) as usize] as char)
        .collect()
}
