//! `proxy_pass`: handing a request to the WSGI server (or any HTTP upstream) and its
//! response back to the client, the way nginx does it.
//!
//! - The upstream request is HTTP/1.0 with `Connection: close` unless the configuration
//!   says `proxy_http_version 1.1` (and clears `Connection` to let `keepalive` pool work).
//! - `Host` is `$proxy_host` unless `proxy_set_header Host ...` says otherwise; the client's
//!   other headers go along, minus the hop-by-hop ones. `X-Request-Id` always goes along so
//!   the tutor can follow the request into the WSGI server.
//! - Bodies stream both ways; nothing is held whole in memory.
//! - A refused connection tries the next server of the upstream; when none answers the
//!   client gets 502, and 504 when the upstream is slower than `proxy_read_timeout`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, Version};
use hyper_util::rt::TokioIo;
use smallvec::SmallVec;
use tokio::net::TcpStream;

use super::config::{HttpVersion, LocConf, ProxyPass};
use super::handler::Exchange;
use super::log::Level;
use super::responses::{Body, empty, full};
use super::upstream::{Peer, Upstream, UpstreamBody};
use super::variables::Var;
use crate::trace::Hop;

/// Headers that describe one connection, not the message; never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Response headers nginx does not pass to the client (it sends its own Date and Server).
const HIDDEN: &[&str] = &[
    "date",
    "server",
    "x-pad",
    "x-accel-expires",
    "x-accel-redirect",
    "x-accel-limit-rate",
    "x-accel-buffering",
    "x-accel-charset",
];

pub enum Outcome {
    Response(Response<Body>),
    /// An error status for the client; the page is the caller's to write.
    Status(u16),
}

/// Pass the request upstream and return what to send the client.
pub async fn forward(
    x: &mut Exchange,
    proxy: &ProxyPass,
    conf: &LocConf,
    body: Incoming,
) -> Outcome {
    let upstream_uri = upstream_uri(x, proxy);
    let version = match conf.proxy_http_version {
        HttpVersion::Http10 => Version::HTTP_10,
        HttpVersion::Http11 => Version::HTTP_11,
    };
    let (mut headers, added) = upstream_headers(x, proxy, conf);
    let asked_to_close = connection_close(&headers);

    // The body: streamed with a size check, or collected when HTTP/1.0 needs a length.
    let too_large = Arc::new(AtomicBool::new(false));
    let has_body = x.headers.contains_key(header::CONTENT_LENGTH)
        || x.headers.contains_key(header::TRANSFER_ENCODING);
    let mut content_length = x
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut version = version;
    let mut body_slot: Option<UpstreamBody> = if !has_body {
        None
    } else if content_length.is_none()
        && version == Version::HTTP_10
        && conf.client_max_body_size > 0
    {
        // nginx buffers a chunked body to send it with a length; ours is bounded by
        // client_max_body_size, so memory is too.
        match Limited::new(body, conf.client_max_body_size as usize)
            .collect()
            .await
        {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                content_length = Some(bytes.len() as u64);
                Some(full(bytes))
            }
            Err(err)
                if err
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                x.log(
                    Level::Error,
                    "client intended to send too large chunked body".into(),
                );
                return Outcome::Status(413);
            }
            Err(_) => return Outcome::Status(400),
        }
    } else {
        if content_length.is_none() {
            version = Version::HTTP_11;
        }
        Some(Body::stream(LimitedBody {
            inner: body,
            seen: 0,
            limit: conf.client_max_body_size,
            too_large: too_large.clone(),
        }))
    };
    let retryable = body_slot.is_none() && is_idempotent(&x.method);

    let make_request = |body: UpstreamBody, headers: HeaderMap| {
        let mut request = Request::builder()
            .method(x.method.clone())
            .uri(&upstream_uri)
            .version(version)
            .body(body)
            .expect("valid upstream request");
        *request.headers_mut() = headers;
        if let Some(len) = content_length {
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        request
    };

    let upstream = proxy.upstream.clone();
    let peers = upstream.order();
    if peers.is_empty() {
        x.log(
            Level::Error,
            format!(
                "no live upstreams while connecting to upstream{}",
                x.context(None)
            ),
        );
        return Outcome::Status(502);
    }
    let mut last_status = 502;
    let mut sent = false;
    for (attempt, peer) in peers.iter().enumerate() {
        // A request whose body already went to a server that failed cannot be sent again;
        // one that never got past connect() can, as in nginx.
        if sent && !retryable {
            break;
        }
        // The address actually used, as nginx logs it (a mapped port shows as mapped).
        let url = || format!("http://{}{}", peer.addr_text, upstream_uri);
        x.upstream_addr.push(peer.addr_text.clone());
        let started = Instant::now();
        let mut sender = match connect(peer, &upstream, conf.proxy_connect_timeout).await {
            Ok(sender) => sender,
            Err(why) => {
                x.log(
                    Level::Error,
                    format!(
                        "{why} while connecting to upstream{}",
                        x.context(Some(&url()))
                    ),
                );
                x.upstream_status.push(None);
                x.upstream_time.push(started.elapsed());
                if upstream.peers.len() > 1 {
                    peer.mark_failed();
                }
                last_status = if why.starts_with("upstream timed out") {
                    504
                } else {
                    502
                };
                continue;
            }
        };
        let body = body_slot.take().unwrap_or_else(empty);
        sent = true;
        x.trace.emit(Some(&x.id), || Hop::Proxied {
            upstream: peer.addr_text.to_string(),
            uri: upstream_uri.clone(),
            version: if version == Version::HTTP_10 {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            }
            .into(),
            headers: crate::trace::headers_of(&headers),
            added: added.clone(),
        });
        // The headers are copied only when another server may still need them.
        let request = if retryable && attempt + 1 < peers.len() {
            make_request(body, headers.clone())
        } else {
            make_request(body, std::mem::take(&mut headers))
        };
        let response =
            tokio::time::timeout(conf.proxy_read_timeout, sender.send_request(request)).await;
        let elapsed = started.elapsed();
        x.upstream_time.push(elapsed);
        match response {
            Ok(Ok(response)) => {
                peer.mark_ok();
                let status = response.status().as_u16();
                x.upstream_status.push(Some(status));
                x.trace.emit(Some(&x.id), || Hop::UpstreamAnswered {
                    upstream: peer.addr_text.to_string(),
                    status,
                    time_us: elapsed.as_micros() as u64,
                });
                let keep = upstream.keepalive > 0
                    && version == Version::HTTP_11
                    && !connection_close(response.headers())
                    && !asked_to_close;
                let mut response = response;
                redirect_default(&mut response, proxy, x);
                return Outcome::Response(client_response(
                    response,
                    keep.then(|| (upstream.clone(), peer_index(&upstream, peer), sender)),
                    conf.proxy_read_timeout,
                ));
            }
            Ok(Err(err)) => {
                x.upstream_status.push(None);
                if too_large.load(Ordering::Relaxed) {
                    x.log(
                        Level::Error,
                        format!("client intended to send too large body{}", x.context(None)),
                    );
                    return Outcome::Status(413);
                }
                let why = if err.is_incomplete_message() || err.is_closed() {
                    "upstream prematurely closed connection while reading response header from upstream".to_owned()
                } else if err.is_body_write_aborted() || err.is_user() {
                    "client closed or failed while sending the request body to upstream".to_owned()
                } else {
                    format!(
                        "upstream sent an invalid response ({err}) while reading response header from upstream"
                    )
                };
                x.log(Level::Error, format!("{why}{}", x.context(Some(&url()))));
                last_status = 502;
            }
            Err(_) => {
                x.upstream_status.push(Some(504));
                x.log(
                    Level::Error,
                    format!(
                        "upstream timed out (110: Connection timed out) while reading response header from upstream{}",
                        x.context(Some(&url()))
                    ),
                );
                return Outcome::Status(504);
            }
        }
    }
    Outcome::Status(last_status)
}

/// nginx's `proxy_redirect default`: a Location pointing at the upstream's own URL is
/// rewritten to the location that proxies it (`http://app_server/x` →
/// `http://host:port/x`), so redirects from the app send the browser back through the web
/// server. A relative Location from the upstream is passed on as it is, as nginx does.
fn redirect_default(response: &mut Response<Incoming>, proxy: &ProxyPass, x: &Exchange) {
    let refresh = HeaderName::from_static("refresh");
    if !response.headers().contains_key(header::LOCATION)
        && !response.headers().contains_key(&refresh)
    {
        return;
    }
    let origin = x.origin();
    let (from, to) = match &proxy.uri {
        Some(uri) => (
            format!("http://{}{uri}", proxy.proxy_host),
            proxy.location_prefix.clone(),
        ),
        None => (format!("http://{}/", proxy.proxy_host), "/".to_owned()),
    };
    for name in [header::LOCATION, refresh] {
        let Some(value) = response.headers().get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let rewritten = if let Some(rest) = value.strip_prefix(from.as_str()) {
            format!("{origin}{to}{rest}")
        } else if name == "refresh"
            && let Some(at) = value.find(from.as_str())
        {
            format!("{}{origin}{to}{}", &value[..at], &value[at + from.len()..])
        } else {
            continue;
        };
        if let Ok(value) = HeaderValue::from_str(&rewritten) {
            response.headers_mut().insert(name, value);
        }
    }
}

fn peer_index(upstream: &Upstream, peer: &Peer) -> usize {
    upstream
        .peers
        .iter()
        .position(|p| std::ptr::eq(p, peer))
        .unwrap_or(0)
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

fn connection_close(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    })
}

/// A pooled connection, or a new one, ready to take a request.
async fn connect(
    peer: &Peer,
    upstream: &Upstream,
    timeout: Duration,
) -> Result<SendRequest<UpstreamBody>, String> {
    if upstream.keepalive > 0
        && let Some(sender) = peer.take_idle()
    {
        return Ok(sender);
    }
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(peer.addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            return Err(format!(
                "connect() failed ({})",
                super::config::syntax::os_error(&err)
            ));
        }
        Err(_) => return Err("upstream timed out (110: Connection timed out)".into()),
    };
    if upstream.keepalive > 0 {
        // Kept-alive connections carry many small requests; nginx sets this for them only.
        let _ = stream.set_nodelay(true);
    }
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(CloseOnDrop(stream)))
        .await
        .map_err(|e| format!("upstream handshake failed ({e})"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// An upstream socket that is closed, not shut down first: hyper's shutdown(SHUT_WR) before
/// the close costs a system call per request and tells the upstream nothing it will not
/// learn from the close (nginx just closes too).
struct CloseOnDrop(TcpStream);

impl tokio::io::AsyncRead for CloseOnDrop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for CloseOnDrop {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The URI sent upstream: the client's own when `proxy_pass` has no URI part; otherwise
/// the location's prefix replaced by that URI part.
fn upstream_uri(x: &Exchange, proxy: &ProxyPass) -> String {
    let Some(replacement) = &proxy.uri else {
        return if x.internal_redirect {
            with_args(&super::uri::escape_path(&x.uri), x.args.as_deref())
        } else {
            x.raw_path_and_query.clone()
        };
    };
    let prefix = proxy.location_prefix.as_bytes();
    let mut out = replacement.clone();
    if let Some(rest) = x.uri.strip_prefix(prefix) {
        out.push_str(&super::uri::escape_path(rest));
    }
    with_args(&out, x.args.as_deref())
}

fn with_args(path: &str, args: Option<&str>) -> String {
    match args {
        Some(args) => format!("{path}?{args}"),
        None => path.to_owned(),
    }
}

/// The headers sent upstream, and which of them the web server set itself.
fn upstream_headers(
    x: &Exchange,
    proxy: &ProxyPass,
    conf: &LocConf,
) -> (HeaderMap, Vec<(String, String)>) {
    let source = ProxyVars { x, proxy };
    let set = &conf.proxy_set_header;
    let mut headers = HeaderMap::with_capacity(x.headers.len() + set.len());
    let mut added = Vec::new();
    for (name, template) in set.iter() {
        let value = template.render(&source);
        if value.is_empty() {
            continue;
        }
        let Ok(header_value) = HeaderValue::from_str(&value) else {
            continue;
        };
        // Only the trace reads this list.
        if x.trace.enabled() {
            added.push((name.as_str().to_owned(), value));
        }
        headers.append(name.clone(), header_value);
    }
    for (name, value) in x.headers.iter() {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower)
            || name == header::CONTENT_LENGTH
            || name == header::EXPECT
            || set.iter().any(|(n, _)| n == name)
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    (headers, added)
}

/// Variables as `proxy_set_header` sees them: the request's, plus `$proxy_host`.
struct ProxyVars<'a> {
    x: &'a Exchange,
    proxy: &'a ProxyPass,
}

impl super::variables::VarSource for ProxyVars<'_> {
    fn write_var(&self, var: &Var, out: &mut String) {
        match var {
            Var::ProxyHost => out.push_str(&self.proxy.proxy_host),
            other => self.x.write_var(other, out),
        }
    }
}

/// The upstream's response as the client gets it: hop-by-hop and hidden headers removed,
/// the body streamed with the read timeout, the connection pooled afterwards if allowed.
fn client_response(
    response: Response<Incoming>,
    pool: Option<(Arc<Upstream>, usize, SendRequest<UpstreamBody>)>,
    read_timeout: Duration,
) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    // Headers named in Connection are hop-by-hop too.
    let mut strip: SmallVec<[HeaderName; 4]> = parts
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| {
            !t.is_empty()
                && !t.eq_ignore_ascii_case("close")
                && !t.eq_ignore_ascii_case("keep-alive")
        })
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    // One look at each header, instead of a lookup for every name that might be there.
    for name in parts.headers.keys() {
        if HOP_BY_HOP.contains(&name.as_str()) || HIDDEN.contains(&name.as_str()) {
            strip.push(name.clone());
        }
    }
    for name in strip {
        parts.headers.remove(name);
    }
    parts.version = Version::HTTP_11;
    let body = UpstreamResponseBody {
        inner: body,
        timeout: read_timeout,
        sleep: None,
        pool,
    };
    Response::from_parts(parts, Body::stream(body))
}

/// The client's request body on its way upstream, cut off past `client_max_body_size`.
struct LimitedBody {
    inner: Incoming,
    seen: u64,
    limit: u64,
    too_large: Arc<AtomicBool>,
}

impl hyper::body::Body for LimitedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.limit > 0 && this.seen > this.limit {
                        this.too_large.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "request body too large",
                        ))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(std::io::Error::other(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

struct UpstreamResponseBody {
    inner: Incoming,
    timeout: Duration,
    /// Set the first time the body has to wait: a small body already read with the
    /// response head never needs a timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pool: Option<(Arc<Upstream>, usize, SendRequest<UpstreamBody>)>,
}

impl UpstreamResponseBody {
    fn finished(&mut self) {
        if let Some((upstream, index, sender)) = self.pool.take() {
            upstream.peers[index].put_idle(sender, upstream.keepalive);
        }
    }
}

impl hyper::body::Body for UpstreamResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(sleep) = this.sleep.as_mut() {
                    sleep
                        .as_mut()
                        .reset(tokio::time::Instant::now() + this.timeout);
                }
                if this.inner.is_end_stream() {
                    this.finished();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.pool = None;
                Poll::Ready(Some(Err(std::io::Error::other(err))))
            }
            Poll::Ready(None) => {
                this.finished();
                Poll::Ready(None)
            }
            Poll::Pending => match this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(this.timeout)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    this.pool = None;
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "upstream timed out while reading upstream",
                    ))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamResponseBody {
    fn drop(&mut self) {
        // A body dropped before its end leaves the connection mid-message: never pool it.
        if !self.inner.is_end_stream() {
            self.pool = None;
        }
        self.finished();
    }
}
