//! The upstream's response as the client gets it: hop-by-hop and hidden headers removed,
//! redirects to the upstream pointed back at the web server, the body streamed under the
//! read timeout and the connection pooled once it is done.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, Version};
use smallvec::SmallVec;

use super::request::HOP_BY_HOP;
use crate::web_server::config::ProxyPass;
use crate::web_server::exchange::Exchange;
use crate::web_server::responses::Body;
use crate::web_server::upstream::{Upstream, UpstreamConn};

/// Where a finished response's connection goes back to: the upstream, the server's index,
/// the connection.
pub(super) type Pool = (Arc<Upstream>, usize, UpstreamConn);

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

/// nginx's `proxy_redirect default`: a Location pointing at the upstream's own URL is
/// rewritten to the location that proxies it (`http://app_server/x` →
/// `http://host:port/x`), so redirects from the app send the browser back through the web
/// server. A relative Location from the upstream is passed on as it is, as nginx does.
pub(super) fn redirect_default(response: &mut Response<Incoming>, proxy: &ProxyPass, x: &Exchange) {
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

/// The upstream's response as the client gets it: hop-by-hop and hidden headers removed,
/// the body streamed with the read timeout, the connection pooled afterwards if allowed.
pub(super) fn client_response(
    response: Response<Incoming>,
    pool: Option<Pool>,
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

/// The upstream's body on its way to the client.
struct UpstreamResponseBody {
    inner: Incoming,
    timeout: Duration,
    /// Set the first time the body has to wait: a small body already read with the
    /// response head never needs a timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pool: Option<Pool>,
}

impl UpstreamResponseBody {
    fn finished(&mut self) {
        if let Some((upstream, index, conn)) = self.pool.take() {
            upstream.put_idle(index, conn);
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
