//! The request path: one short ordered chain of steps, as nginx's phases.
//!
//! 1. check the request (line and header sizes, Host, the URI) — 400/414 on failure;
//! 2. choose the `server` by listen address and Host, then the `location` for the URI;
//! 3. `return` if the location says so;
//! 4. `proxy_pass` upstream, or answer from disk (`root`/`alias`, `index`, `autoindex`);
//! 5. error pages, `Server`, `add_header`; the access log line and the trace event are
//!    written when the last byte of the body has gone out.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};
use smallvec::SmallVec;

use super::config::{Config, LocConf, Server};
use super::log::{ErrorLog, Level};
use super::responses::{self, Body, empty, full};
use super::static_files::{self, StaticRequest};
use super::variables::{Var, VarSource, push_num};
use super::{location, proxy, uri};
use crate::trace::{Hop, TraceSink};

/// nginx's `large_client_header_buffers 4 8k`: one line may be 8 KiB, all of them 32 KiB.
const MAX_LINE: usize = 8 * 1024;
const MAX_HEADERS_TOTAL: usize = 32 * 1024;
/// Internal redirects (index files, error pages) allowed per request, as nginx's limit.
const MAX_REDIRECTS: usize = 10;

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
    pub upstream_addr: SmallVec<[Arc<str>; 1]>,
    pub upstream_status: SmallVec<[Option<u16>; 1]>,
    pub upstream_time: SmallVec<[Duration; 1]>,
}

impl Exchange {
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

    fn request_line(&self) -> String {
        format!(
            "{} {} {:?}",
            self.method, self.raw_path_and_query, self.version
        )
    }

    /// `scheme://host[:port]` for redirects: the Host header's name and the port we listen on.
    pub(super) fn origin(&self) -> String {
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

impl VarSource for Exchange {
    fn write_var(&self, var: &Var, out: &mut String) {
        match var {
            Var::Host => out.push_str(&self.host),
            Var::RemoteAddr => push_num(out, self.conn.peer.ip()),
            Var::RemotePort => push_num(out, self.conn.peer.port()),
            Var::RemoteUser => {}
            Var::ProxyAddXForwardedFor => {
                if let Some(previous) = self
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                {
                    out.push_str(previous);
                    out.push_str(", ");
                }
                push_num(out, self.conn.peer.ip());
            }
            Var::Scheme => out.push_str("http"),
            Var::RequestUri => out.push_str(&self.raw_path_and_query),
            Var::Uri => out.push_str(&String::from_utf8_lossy(&self.uri)),
            Var::Args => out.push_str(self.args.as_deref().unwrap_or("")),
            Var::IsArgs => {
                if self.args.is_some() {
                    out.push('?')
                }
            }
            Var::RequestId => out.push_str(&self.id),
            Var::RequestMethod => out.push_str(self.method.as_str()),
            Var::Request => out.push_str(&self.request_line()),
            Var::ServerProtocol => push_num(out, format_args!("{:?}", self.version)),
            Var::ServerAddr => push_num(out, self.conn.local.ip()),
            Var::ServerPort => push_num(out, self.conn.local.port()),
            Var::ServerName => {
                if let Some(name) = self.server.as_ref().and_then(|s| s.names.first()) {
                    out.push_str(name)
                }
            }
            Var::ProxyHost => {}
            Var::DocumentRoot => {
                if let Some(conf) = &self.conf {
                    let (super::config::DocRoot::Root(dir)
                    | super::config::DocRoot::Alias { dir, .. }) = &conf.doc_root;
                    out.push_str(&dir.to_string_lossy());
                }
            }
            Var::ContentLength => header_value(&self.headers, "content-length", out),
            Var::ContentType => header_value(&self.headers, "content-type", out),
            Var::Status => push_num(out, format_args!("{:03}", self.status)),
            Var::BodyBytesSent => push_num(out, self.bytes_sent),
            Var::BytesSent => push_num(out, self.bytes_sent),
            Var::RequestTime => {
                let t = self.started.elapsed();
                push_num(
                    out,
                    format_args!("{}.{:03}", t.as_secs(), t.subsec_millis()),
                )
            }
            Var::TimeLocal => {
                let now = time::OffsetDateTime::now_utc().to_offset(super::log::local_offset());
                let text = now
                    .format(time::macros::format_description!(
                        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
                    ))
                    .unwrap_or_default();
                out.push_str(&text);
            }
            Var::TimeIso8601 => {
                let now = time::OffsetDateTime::now_utc().to_offset(super::log::local_offset());
                let text = now
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
                    ))
                    .unwrap_or_default();
                out.push_str(&text);
            }
            Var::Msec => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                push_num(
                    out,
                    format_args!("{}.{:03}", now.as_secs(), now.subsec_millis()),
                )
            }
            Var::UpstreamAddr => out.push_str(&self.upstream_addr.join(", ")),
            Var::UpstreamStatus => {
                let parts: Vec<String> = self
                    .upstream_status
                    .iter()
                    .map(|s| s.map(|s| s.to_string()).unwrap_or_else(|| "502".into()))
                    .collect();
                out.push_str(&parts.join(", "));
            }
            Var::UpstreamResponseTime => {
                let parts: Vec<String> = self
                    .upstream_time
                    .iter()
                    .map(|t| format!("{}.{:03}", t.as_secs(), t.subsec_millis()))
                    .collect();
                out.push_str(&parts.join(", "));
            }
            Var::Http(name) => {
                let values: Vec<&str> = self
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                let sep = if name == "cookie" { "; " } else { ", " };
                out.push_str(&values.join(sep));
            }
            Var::SentHttp(name) => header_value(&self.response_headers, name, out),
            Var::Arg(name) => {
                if let Some(args) = &self.args {
                    for pair in args.split('&') {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        if k.eq_ignore_ascii_case(name) {
                            out.push_str(v);
                            break;
                        }
                    }
                }
            }
            Var::Cookie(name) => {
                for value in self
                    .headers
                    .get_all(header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                {
                    for pair in value.split(';') {
                        let (k, v) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
                        if k == name {
                            out.push_str(v);
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn header_value(headers: &HeaderMap, name: &str, out: &mut String) {
    if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
        out.push_str(value);
    }
}

/// A fresh `$request_id`: 32 hex digits.
fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = rand::random::<u128>();
    (0..32)
        .rev()
        .map(|i| HEX[((n >> (i * 4)) & 0xf) as usize] as char)
        .collect()
}

/// Answer one request. Never fails: every problem becomes a status code.
pub async fn handle(
    request: Request<Incoming>,
    conn: ConnInfo,
    config: Arc<Config>,
    trace: TraceSink,
) -> Result<Response<TrackedBody>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let raw_path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.to_string());
    // Boxed once, here: the exchange outlives this future (the access log is written when
    // the body is done) and is too large to move around by value.
    let mut x = Box::new(Exchange {
        id: request_id(),
        conn,
        started: Instant::now(),
        method: parts.method,
        version: parts.version,
        raw_path_and_query,
        headers: parts.headers,
        host: String::new(),
        uri: Vec::new(),
        args: None,
        internal_redirect: false,
        server: None,
        conf: None,
        trace,
        error_log: config.error_log.clone(),
        status: 0,
        bytes_sent: 0,
        response_headers: HeaderMap::new(),
        upstream_addr: SmallVec::new(),
        upstream_status: SmallVec::new(),
        upstream_time: SmallVec::new(),
    });
    x.trace.emit(Some(&x.id), || Hop::Received {
        method: x.method.to_string(),
        target: x.raw_path_and_query.clone(),
        version: format!("{:?}", x.version),
        headers: crate::trace::headers_of(&x.headers),
        peer: x.conn.peer.to_string(),
    });
    let answer = route(&mut x, &config, &parts.uri, body).await;
    // A request refused before a location was chosen gets the default server's settings.
    let conf = x
        .conf
        .clone()
        .unwrap_or_else(|| select_server(&config, &x.conn.listen, "").conf.clone());
    Ok(finish(x, answer, &conf))
}

/// What the chain of steps decided.
enum Answer {
    Response(Response<Body>),
    /// A status whose page the web server writes (after `error_page`, if any).
    Status(u16),
}

async fn route(x: &mut Exchange, config: &Config, target: &hyper::Uri, body: Incoming) -> Answer {
    // Until the Host header is known to be good, the default server is in charge.
    x.server = Some(select_server(config, &x.conn.listen, ""));
    if let Some(status) = check_request(x, target) {
        return Answer::Status(status);
    }
    let server = select_server(config, &x.conn.listen, &x.host);
    x.server = Some(server.clone());
    x.conf = Some(server.conf.clone());
    if let Some(ret) = &server.conf.ret {
        return answer_return(x, ret.code, ret.text.as_ref(), &server.conf);
    }

    let mut body = Some(body);
    let mut error_page_status: Option<u16> = None;
    let mut checked_body_size = false;
    for _ in 0..MAX_REDIRECTS {
        let found = location::find(&server.locations, &x.uri);
        let conf = found
            .map(|l| l.conf.clone())
            .unwrap_or_else(|| server.conf.clone());
        x.conf = Some(conf.clone());
        let handler = if conf.ret.is_some() {
            "return"
        } else if conf.proxy.is_some() {
            "proxy"
        } else {
            "static"
        };
        x.trace.emit(Some(&x.id), || Hop::LocationMatched {
            location: found.map(|l| l.pattern.clone()).unwrap_or_default(),
            modifier: found
                .map(|l| l.modifier.as_str().to_owned())
                .unwrap_or_default(),
            handler: handler.into(),
        });

        if !checked_body_size {
            checked_body_size = true;
            if let Some(len) = x
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                && conf.client_max_body_size > 0
                && len > conf.client_max_body_size
            {
                x.log(
                    Level::Error,
                    format!(
                        "client intended to send too large body: {len} bytes{}",
                        x.context(None)
                    ),
                );
                return Answer::Status(413);
            }
        }

        let outcome = if let Some(ret) = &conf.ret {
            answer_return(x, ret.code, ret.text.as_ref(), &conf)
        } else if let Some(proxy_pass) = &conf.proxy {
            match body.take() {
                Some(body) => match proxy::forward(x, proxy_pass, &conf, body).await {
                    proxy::Outcome::Response(response) => Answer::Response(response),
                    proxy::Outcome::Status(status) => Answer::Status(status),
                },
                None => Answer::Status(500),
            }
        } else {
            let request = StaticRequest {
                method: &x.method,
                uri: &x.uri,
                args: x.args.as_deref(),
                headers: &x.headers,
                conf: &conf,
            };
            match static_files::serve(&request) {
                static_files::Outcome::Response {
                    response,
                    path,
                    size,
                } => {
                    let status = response.status().as_u16();
                    x.trace.emit(Some(&x.id), || Hop::StaticServed {
                        path: path.to_string_lossy().into_owned(),
                        status,
                        size,
                    });
                    Answer::Response(response)
                }
                static_files::Outcome::Moved { location, path } => {
                    x.trace.emit(Some(&x.id), || Hop::StaticServed {
                        path: path.to_string_lossy().into_owned(),
                        status: 301,
                        size: 0,
                    });
                    let mut response = page_response(x, 301, &conf);
                    let location = format!("{}{location}", x.origin());
                    if let Ok(value) = HeaderValue::from_str(&location) {
                        response.headers_mut().insert(header::LOCATION, value);
                    }
                    Answer::Response(response)
                }
                static_files::Outcome::Redirect(new_uri) => {
                    x.uri = new_uri;
                    x.internal_redirect = true;
                    continue;
                }
                static_files::Outcome::Status {
                    status,
                    path,
                    log,
                    content_range,
                } => {
                    x.trace.emit(Some(&x.id), || Hop::StaticServed {
                        path: path.to_string_lossy().into_owned(),
                        status,
                        size: 0,
                    });
                    if let Some((level, message)) = log {
                        let line = format!("{message}{}", x.context(None));
                        x.log(level, line);
                    }
                    if let Some(range) = content_range {
                        let mut response = page_response(x, status, &conf);
                        if let Ok(value) = HeaderValue::from_str(&range) {
                            response.headers_mut().insert(header::CONTENT_RANGE, value);
                        }
                        Answer::Response(response)
                    } else {
                        Answer::Status(status)
                    }
                }
            }
        };

        // error_page: show another URI's content for this status (once per request).
        let status = match &outcome {
            Answer::Status(status) => *status,
            Answer::Response(response) => response.status().as_u16(),
        };
        if let Some(original) = error_page_status {
            // The error page's own request: answer with the original status.
            return match outcome {
                Answer::Response(mut response) if response.status().is_success() => {
                    *response.status_mut() =
                        StatusCode::from_u16(original).unwrap_or(StatusCode::OK);
                    // An error page is not the file it came from: no validators, no ranges.
                    let headers = response.headers_mut();
                    headers.remove(header::LAST_MODIFIED);
                    headers.remove(header::ACCEPT_RANGES);
                    Answer::Response(response)
                }
                _ => Answer::Status(original),
            };
        }
        if matches!(outcome, Answer::Status(_))
            && let Some(page) = conf.error_page.get(&status)
        {
            error_page_status = Some(page.status.unwrap_or(status));
            x.uri = page.uri.as_bytes().to_vec();
            x.args = None;
            x.internal_redirect = true;
            if x.method != Method::HEAD {
                x.method = Method::GET;
            }
            continue;
        }
        return outcome;
    }
    x.log(
        Level::Error,
        format!(
            "rewrite or internal redirection cycle while internally redirecting to \"{}\"{}",
            String::from_utf8_lossy(&x.uri),
            x.context(None)
        ),
    );
    Answer::Status(500)
}

/// Size limits, Host and URI checks; a status when the request is refused.
fn check_request(x: &mut Exchange, target: &hyper::Uri) -> Option<u16> {
    let request_line = x.method.as_str().len() + x.raw_path_and_query.len() + 10;
    if request_line > MAX_LINE {
        x.log(
            Level::Info,
            format!(
                "client sent too long URI while reading client request line{}",
                x.context(None)
            ),
        );
        return Some(414);
    }
    let mut total = request_line;
    for (name, value) in x.headers.iter() {
        let line = name.as_str().len() + value.len() + 4;
        total += line;
        if line > MAX_LINE || total > MAX_HEADERS_TOTAL {
            x.log(
                Level::Info,
                format!("client sent too long header line{}", x.context(None)),
            );
            return Some(494);
        }
    }
    // nginx accepts only methods of capital letters (and `_`); `get` is not GET.
    if !x
        .method
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_')
    {
        x.log(
            Level::Info,
            format!(
                "client sent invalid method while reading client request line{}",
                x.context(None)
            ),
        );
        return Some(400);
    }
    // Both framings at once is how request smuggling starts; nginx refuses it.
    if x.headers.contains_key(header::CONTENT_LENGTH)
        && x.headers.contains_key(header::TRANSFER_ENCODING)
    {
        x.log(Level::Info, format!("client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time while reading client request headers{}", x.context(None)));
        return Some(400);
    }
    // nginx ignores header names with underscores (underscores_in_headers off), which keeps
    // `X_Forwarded_For` from passing as `X-Forwarded-For` in CGI-style environs upstream.
    let underscored: Vec<_> = x
        .headers
        .keys()
        .filter(|k| k.as_str().contains('_'))
        .cloned()
        .collect();
    for name in underscored {
        x.log(Level::Info, format!("client sent invalid header line: \"{name}\" while reading client request headers{}", x.context(None)));
        x.headers.remove(&name);
    }

    let host_header = match target.authority() {
        Some(authority) => Some(authority.as_str().to_owned()),
        None => match x.headers.get_all(header::HOST).iter().count() {
            0 => None,
            1 => x
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned),
            _ => {
                x.log(
                    Level::Info,
                    format!("client sent duplicate host header{}", x.context(None)),
                );
                return Some(400);
            }
        },
    };
    match host_header {
        Some(host) => {
            match valid_host(&host) {
                Some(host) => x.host = host,
                None => {
                    x.log(Level::Info, format!("client sent invalid host header while reading client request headers{}", x.context(None)));
                    return Some(400);
                }
            }
        }
        None if x.version == Version::HTTP_11 => {
            x.log(Level::Info, format!("client sent HTTP/1.1 request without \"Host\" header while reading client request headers{}", x.context(None)));
            return Some(400);
        }
        None => {}
    }

    let path = target.path();
    x.args = target.query().map(str::to_owned);
    if target.scheme().is_none() && !x.raw_path_and_query.starts_with('/') {
        x.log(
            Level::Info,
            format!("client sent invalid request{}", x.context(None)),
        );
        return Some(400);
    }
    match uri::normalize(path) {
        Ok(normalized) => x.uri = normalized,
        Err(err) => {
            x.log(
                Level::Info,
                format!("{err} while reading client request line{}", x.context(None)),
            );
            return Some(400);
        }
    }
    None
}

/// The Host header as `$host`: lowercased, port removed; None when it is not a valid name.
fn valid_host(host: &str) -> Option<String> {
    // nginx's rules: the port after the last colon is dropped unchecked; the name must be
    // non-empty, without "..", slashes, backslashes, NUL or white space.
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        &host[..=end]
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty()
        || name.contains("..")
        || name.starts_with('.')
        || name
            .bytes()
            .any(|b| b == b'/' || b == b'\\' || b == 0 || b.is_ascii_whitespace())
    {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// The `server` block for this listen address and Host: exact name, then wildcards, then
/// the `default_server`, then the first one listening there.
fn select_server(config: &Config, listen: &str, host: &str) -> Arc<Server> {
    let on_listen = |s: &&Arc<Server>| s.listen.iter().any(|l| l.spec == listen);
    let candidates = || {
        let any_here = config.servers.iter().any(|s| on_listen(&s));
        config
            .servers
            .iter()
            .filter(move |s| !any_here || on_listen(s))
    };
    let wildcard = |name: &str| -> bool {
        if let Some(suffix) = name.strip_prefix('*') {
            return suffix.starts_with('.') && host.ends_with(suffix);
        }
        if let Some(domain) = name.strip_prefix('.') {
            return host == domain || host.ends_with(name);
        }
        if let Some(prefix) = name.strip_suffix(".*") {
            return host.len() > prefix.len()
                && host.starts_with(prefix)
                && host.as_bytes()[prefix.len()] == b'.';
        }
        false
    };
    candidates()
        .find(|s| s.names.iter().any(|n| n == host))
        .or_else(|| candidates().find(|s| s.names.iter().any(|n| wildcard(n))))
        .or_else(|| {
            candidates().find(|s| {
                s.listen
                    .iter()
                    .any(|l| l.spec == listen && l.default_server)
            })
        })
        .or_else(|| candidates().next())
        .cloned()
        .expect("a configuration has at least one server")
}

fn answer_return(
    x: &Exchange,
    code: u16,
    text: Option<&super::variables::Template>,
    conf: &LocConf,
) -> Answer {
    let text = text.map(|t| t.render(x));
    let redirect = matches!(code, 301 | 302 | 303 | 307 | 308);
    match text {
        Some(target) if redirect => {
            let location = if target.starts_with('/') {
                format!("{}{target}", x.origin())
            } else {
                target
            };
            let mut response = page_response(x, code, conf);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Answer::Response(response)
        }
        Some(body) => {
            let uri = String::from_utf8_lossy(&x.uri);
            let content_type = conf.content_type(uri.rsplit('/').next().unwrap_or(""));
            let response = Response::builder()
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, body.len())
                .body(full(body))
                .expect("valid return response");
            Answer::Response(response)
        }
        None if responses::has_page(code) => Answer::Status(code),
        None => Answer::Response(
            Response::builder()
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
                .header(header::CONTENT_LENGTH, 0)
                .body(empty())
                .expect("valid return response"),
        ),
    }
}

/// The web server's own page for a status.
fn page_response(x: &Exchange, status: u16, conf: &LocConf) -> Response<Body> {
    let wire_status = if status == 494 { 400 } else { status };
    let page = responses::page(status, conf.server_tokens);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(wire_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/html")
        .header(header::CONTENT_LENGTH, page.len());
    if matches!(status, 400 | 413 | 414 | 494 | 500 | 501) {
        builder = builder.header(header::CONNECTION, "close");
    }
    let body = if x.method == Method::HEAD {
        empty()
    } else {
        full(page)
    };
    builder.body(body).expect("valid page")
}

/// The last step: pages for bare statuses, `Server`, `add_header`, and the body wrapper that
/// writes the access log and the trace event when the response is done.
fn finish(mut x: Box<Exchange>, answer: Answer, conf: &LocConf) -> Response<TrackedBody> {
    let mut response = match answer {
        Answer::Response(response) => response,
        Answer::Status(status) => page_response(&x, status, conf),
    };
    let status = response.status().as_u16();
    if response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .is_none()
        && let Some(phrase) = responses::reason_phrase(status)
    {
        response.extensions_mut().insert(phrase);
    }
    let headers = response.headers_mut();
    headers.insert(
        header::SERVER,
        HeaderValue::from_static(responses::server_token(conf.server_tokens)),
    );
    if !conf.add_header.is_empty() {
        let qualifies = matches!(
            status,
            200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308
        );
        for add in conf.add_header.iter() {
            if !(qualifies || add.always) {
                continue;
            }
            let value = add.value.render(&*x);
            if !value.is_empty()
                && let Ok(value) = HeaderValue::from_str(&value)
            {
                response.headers_mut().append(add.name.clone(), value);
            }
        }
    }
    x.status = status;
    wrap(x, response, conf.access_log.clone())
}

fn wrap(
    x: Box<Exchange>,
    response: Response<Body>,
    access_log: Arc<Vec<super::log::AccessLog>>,
) -> Response<TrackedBody> {
    let (mut parts, body) = response.into_parts();
    let mut x = x;
    // Copied only for whoever reads them: the trace, or a log format with $sent_http_*.
    if x.trace.enabled()
        || access_log
            .iter()
            .any(|log| log.format.uses_response_headers)
    {
        x.response_headers = parts.headers.clone();
    }
    if parts.version != Version::HTTP_11 {
        parts.version = Version::HTTP_11;
    }
    let tracked = TrackedBody {
        inner: body,
        x: Some(x),
        access_log,
    };
    Response::from_parts(parts, tracked)
}

/// The response body, counted; when it ends (or the client goes away) the request is logged.
pub struct TrackedBody {
    inner: Body,
    x: Option<Box<Exchange>>,
    access_log: Arc<Vec<super::log::AccessLog>>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Some(x) = this.x.as_mut()
        {
            x.bytes_sent += data.len() as u64;
        }
        if let Poll::Ready(Some(Err(err))) = &polled
            && let Some(x) = this.x.as_ref()
        {
            x.log(
                Level::Error,
                format!("{err} while sending to client{}", x.context(None)),
            );
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        let Some(x) = self.x.take() else { return };
        x.trace.emit(Some(&x.id), || Hop::ResponseSent {
            status: x.status,
            bytes: x.bytes_sent,
            total_us: x.started.elapsed().as_micros() as u64,
            headers: crate::trace::headers_of(&x.response_headers),
        });
        for log in self.access_log.iter() {
            log.write(&*x);
        }
    }
}
