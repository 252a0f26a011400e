//! The request as it goes upstream: its URI, its headers (hop-by-hop ones removed,
//! `proxy_set_header` applied) and the client's body, built once and sent to one server
//! after another.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Version};

use super::error::UpstreamError;
use crate::web_server::config::{HttpVersion, LocConf, ProxyPass};
use crate::web_server::exchange::Exchange;
use crate::web_server::responses::{Body, empty, full};
use crate::web_server::upstream::UpstreamBody;
use crate::web_server::variables::{Var, VarSource};

/// Headers that describe one connection, not the message; never forwarded.
pub(super) const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What goes upstream, ready to be sent to the next server tried.
pub(super) struct Outgoing {
    pub uri: String,
    pub version: Version,
    headers: HeaderMap,
    /// The headers the web server set itself, for the trace.
    pub added: Vec<(String, String)>,
    content_length: Option<u64>,
    /// Taken by the first server that is connected to.
    body: Option<UpstreamBody>,
    /// What went wrong with the client's body on its way, set by the body itself: sending
    /// then fails, and this says it was the client's doing, not the upstream's.
    fault: Arc<OnceLock<UpstreamError>>,
    /// The request's own headers say `Connection: close`: the connection is not pooled.
    pub asked_to_close: bool,
    /// Without a body, an idempotent request may go to another server after a failure.
    pub retryable: bool,
    /// Whether a server has been given the request (and with it the body).
    pub sent: bool,
}

impl Outgoing {
    /// Fails only on the client's body: a chunked one too large, malformed or cut short
    /// while it is collected.
    pub(super) async fn prepare(
        x: &Exchange,
        proxy: &ProxyPass,
        conf: &LocConf,
        body: Incoming,
    ) -> Result<Outgoing, UpstreamError> {
        let (headers, added) = upstream_headers(x, proxy, conf);
        let mut version = match conf.proxy_http_version {
            HttpVersion::Http10 => Version::HTTP_10,
            HttpVersion::Http11 => Version::HTTP_11,
        };
        let fault = Arc::new(OnceLock::new());
        let has_body = x.headers.contains_key(header::CONTENT_LENGTH)
            || x.headers.contains_key(header::TRANSFER_ENCODING);
        let mut content_length = x
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // The body: streamed with a size check, or collected when HTTP/1.0 needs a length
        // and the client sent it chunked; a streamed chunked body needs HTTP/1.1.
        let body = if !has_body {
            None
        } else if content_length.is_none()
            && version == Version::HTTP_10
            && conf.client_max_body_size > 0
        {
            let bytes = collect(body, conf.client_max_body_size).await?;
            content_length = Some(bytes.len() as u64);
            Some(full(bytes))
        } else {
            if content_length.is_none() {
                version = Version::HTTP_11;
            }
            Some(Body::stream(LimitedBody {
                inner: body,
                seen: 0,
                limit: conf.client_max_body_size,
                fault: fault.clone(),
            }))
        };
        Ok(Outgoing {
            uri: upstream_uri(x, proxy),
            version,
            asked_to_close: super::connection_close(&headers),
            retryable: body.is_none() && is_idempotent(&x.method),
            headers,
            added,
            content_length,
            body,
            fault,
            sent: false,
        })
    }

    /// The trace's view of the headers sent.
    pub(super) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The request for the next server; `last` when no other server will need the headers
    /// (they are copied only when one may).
    pub(super) fn request(&mut self, method: &Method, last: bool) -> Request<UpstreamBody> {
        self.sent = true;
        let headers = if last {
            std::mem::take(&mut self.headers)
        } else {
            self.headers.clone()
        };
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&self.uri)
            .version(self.version)
            .body(self.body.take().unwrap_or_else(empty))
            .expect("valid upstream request");
        *request.headers_mut() = headers;
        if let Some(len) = self.content_length {
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        request
    }

    /// Why sending failed when it was the client's body: past `client_max_body_size`,
    /// malformed, or cut short.
    pub(super) fn body_fault(&self) -> Option<UpstreamError> {
        self.fault.get().cloned()
    }
}

/// nginx buffers a chunked body to send it with a length; ours is bounded by
/// client_max_body_size, so memory is too.
async fn collect(body: Incoming, limit: u64) -> Result<Bytes, UpstreamError> {
    match Limited::new(body, limit as usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(UpstreamError::TooLargeChunked)
        }
        Err(err) => Err(err.downcast_ref::<hyper::Error>().map_or(
            UpstreamError::ClientClosedBody,
            UpstreamError::from_client_body,
        )),
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// The URI sent upstream: the client's own when `proxy_pass` has no URI part; otherwise
/// the location's prefix replaced by that URI part.
fn upstream_uri(x: &Exchange, proxy: &ProxyPass) -> String {
    let Some(replacement) = &proxy.uri else {
        return if x.internal_redirect {
            with_args(
                &crate::web_server::uri::escape_path(&x.uri),
                x.args.as_deref(),
            )
        } else {
            x.raw_path_and_query.clone()
        };
    };
    let prefix = proxy.location_prefix.as_bytes();
    let mut out = replacement.clone();
    if let Some(rest) = x.uri.strip_prefix(prefix) {
        out.push_str(&crate::web_server::uri::escape_path(rest));
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
    for (name, value) in &x.headers {
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

impl VarSource for ProxyVars<'_> {
    fn write_var(&self, var: &Var, out: &mut String) {
        match var {
            Var::ProxyHost => out.push_str(&self.proxy.proxy_host),
            other => self.x.write_var(other, out),
        }
    }
}

/// The client's request body on its way upstream, cut off past `client_max_body_size`; a
/// failure of the client's (too large, malformed, cut short) is kept in `fault` before the
/// body errors, so hyper's error sending it is not taken for the upstream's. An errored body
/// never gets its last chunk written: the upstream never sees a finished request.
struct LimitedBody {
    inner: Incoming,
    seen: u64,
    limit: u64,
    fault: Arc<OnceLock<UpstreamError>>,
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
                        let _ = this.fault.set(UpstreamError::TooLarge);
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "request body too large",
                        ))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                let _ = this.fault.set(UpstreamError::from_client_body(&err));
                Poll::Ready(Some(Err(std::io::Error::other(err))))
            }
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
