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
//!
//! [`forward`] only reads the exchange: what it tried comes back in [`Forwarded`], for the
//! caller to keep. `request` builds what goes upstream, `connect` reaches a server,
//! `response` shapes what comes back, `error` names what went wrong.

mod connect;
mod error;
mod request;
mod response;

use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Response, Version};
use smallvec::SmallVec;

pub use error::{Tail, UpstreamError};

use super::config::{LocConf, ProxyPass};
use super::exchange::Exchange;
use super::responses::Body;
use super::upstream::{Attempt, Peer, Upstream, UpstreamConn};
use crate::trace::Hop;
use request::Outgoing;

/// What `proxy_pass` came to: the response for the client, or why there is none, and every
/// server tried on the way.
pub struct Forwarded {
    pub answer: Result<Response<Body>, UpstreamError>,
    pub attempts: SmallVec<[Attempt; 1]>,
}

/// Pass the request upstream and return what to send the client. Every failure is in the
/// error log by the time this returns.
pub async fn forward(x: &Exchange, proxy: &ProxyPass, conf: &LocConf, body: Incoming) -> Forwarded {
    let mut attempts = SmallVec::new();
    let answer = match Outgoing::prepare(x, proxy, conf, body).await {
        Ok(outgoing) => try_servers(x, proxy, conf, outgoing, &mut attempts).await,
        Err(err) => {
            log_failure(x, &err, "");
            Err(err)
        }
    };
    Forwarded { answer, attempts }
}

/// The upstream's servers in turn, until one answers or the request cannot be sent again.
async fn try_servers(
    x: &Exchange,
    proxy: &ProxyPass,
    conf: &LocConf,
    mut out: Outgoing,
    attempts: &mut SmallVec<[Attempt; 1]>,
) -> Result<Response<Body>, UpstreamError> {
    let upstream = &proxy.upstream;
    let peers = upstream.order();
    if peers.is_empty() {
        let err = UpstreamError::NoLiveUpstreams;
        log_failure(x, &err, "");
        return Err(err);
    }
    let mut last = None;
    for (i, peer) in peers.iter().enumerate() {
        // A request whose body already went to a server that failed cannot be sent again;
        // one that never got past connect() can, as in nginx.
        if out.sent && !out.retryable {
            break;
        }
        let others_may_follow = out.retryable && i + 1 < peers.len();
        let (attempt, result) =
            attempt(x, conf, &mut out, upstream, peer, !others_may_follow).await;
        attempts.push(attempt);
        match result {
            Ok((response, conn)) => {
                peer.mark_ok();
                return Ok(respond(x, proxy, conf, &out, peer, response, conn));
            }
            Err(err) => {
                if err.at_connect() && upstream.peers.len() > 1 {
                    peer.mark_failed();
                }
                // The address actually used, as nginx logs it (a mapped port shows as mapped).
                log_failure(x, &err, &format!("http://{}{}", peer.addr_text, out.uri));
                if !err.tries_next_server() {
                    return Err(err);
                }
                last = Some(err);
            }
        }
    }
    Err(last.unwrap_or(UpstreamError::NoLiveUpstreams))
}

/// One server: connect (or reuse a pooled connection), send, wait for the response head.
async fn attempt(
    x: &Exchange,
    conf: &LocConf,
    out: &mut Outgoing,
    upstream: &Upstream,
    peer: &Peer,
    last: bool,
) -> (
    Attempt,
    Result<(Response<Incoming>, UpstreamConn), UpstreamError>,
) {
    let started = Instant::now();
    let mut attempt = Attempt {
        addr: peer.addr_text.clone(),
        status: None,
        time: Duration::ZERO,
    };
    let mut conn = match connect::connect(peer, upstream, conf.proxy_connect_timeout).await {
        Ok(conn) => conn,
        Err(err) => {
            attempt.time = started.elapsed();
            return (attempt, Err(err));
        }
    };
    x.trace.emit(Some(&x.id), || Hop::Proxied {
        upstream: peer.addr_text.to_string(),
        uri: out.uri.clone(),
        version: if out.version == Version::HTTP_10 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        }
        .into(),
        headers: crate::trace::headers_of(out.headers()),
        added: out.added.clone(),
    });
    let request = out.request(&x.method, last);
    conn.count_request();
    let response =
        tokio::time::timeout(conf.proxy_read_timeout, conn.sender.send_request(request)).await;
    attempt.time = started.elapsed();
    let result = match response {
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            attempt.status = Some(status);
            x.trace.emit(Some(&x.id), || Hop::UpstreamAnswered {
                upstream: peer.addr_text.to_string(),
                status,
                time_us: attempt.time.as_micros() as u64,
            });
            Ok((response, conn))
        }
        // The client's body failing makes hyper's send fail too, in one of several ways:
        // the fault the body recorded says it was the client's.
        Ok(Err(err)) => Err(out
            .body_fault()
            .unwrap_or_else(|| UpstreamError::from_send(&err))),
        Err(_) => {
            attempt.status = Some(504);
            Err(UpstreamError::ReadTimeout)
        }
    };
    (attempt, result)
}

/// The answer for the client, its connection pooled afterwards when both sides allow it.
fn respond(
    x: &Exchange,
    proxy: &ProxyPass,
    conf: &LocConf,
    out: &Outgoing,
    peer: &Peer,
    mut response: Response<Incoming>,
    conn: UpstreamConn,
) -> Response<Body> {
    let upstream = &proxy.upstream;
    let keep = upstream.keepalive.connections > 0
        && out.version == Version::HTTP_11
        && !connection_close(response.headers())
        && !out.asked_to_close;
    response::redirect_default(&mut response, proxy, x);
    response::client_response(
        response,
        keep.then(|| (upstream.clone(), peer_index(upstream, peer), conn)),
        conf.proxy_read_timeout,
    )
}

/// The error-log line for `err`; `upstream` is the URL tried, when the line names it.
fn log_failure(x: &Exchange, err: &UpstreamError, upstream: &str) {
    let line = err.log_line(|tail| match tail {
        Tail::Upstream => x.context(Some(upstream)),
        Tail::Request | Tail::Nothing => x.context(None),
    });
    if let Some(line) = line {
        x.log(err.level(), line);
    }
}

fn peer_index(upstream: &Upstream, peer: &Peer) -> usize {
    upstream
        .peers
        .iter()
        .position(|p| std::ptr::eq(p, peer))
        .unwrap_or(0)
}

fn connection_close(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    })
}
