//! The path of one HTTP request through the arbiter, in order: received → checked (Host,
//! see [`super::check`]) → environ built →
//! body read (small ones whole, so the worker is not held while a client uploads) →
//! queued until a worker is free → dispatched → the exchange with the worker (see
//! [`super::exchange`]) → response. Built-in apps take the same path, minus the worker.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderValue, REFERER, USER_AGENT};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request, Response, StatusCode};
use tokio::sync::oneshot;

use super::body::WsgiBody;
use super::builtin;
use super::check;
use super::environ::{Environ, RequestHead, version_str};
use super::exchange::{self, Outgoing, Trip, plain};
use super::log::{self, Level};
use super::pool::Pool;
use super::protocol::{BodyMode, request_frame};
use crate::trace::{Hop, TraceSink, headers_of};

/// Bodies up to this size travel inside the request frame, read whole before a worker is
/// taken; larger ones stream to the worker as they arrive.
const INLINE_BODY_MAX: u64 = 64 * 1024;
/// The most a built-in app reads of a request body.
const BUILTIN_BODY_MAX: usize = 16 * 1024 * 1024;

/// Who serves the requests: Python workers or a built-in Rust app.
pub enum Backend {
    Workers(Arc<Pool>),
    Builtin(String),
}

/// What every request handler shares.
pub struct Shared {
    pub backend: Backend,
    pub sink: TraceSink,
}

/// One request, start to finish. Never `Err`: every failure is an HTTP answer of its own.
pub async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Result<Response<WsgiBody>, Infallible> {
    let started = Instant::now();
    let request_id = request_id(&req);
    let sink = &shared.sink;
    sink.emit(Some(&request_id), || Hop::Received {
        method: req.method().to_string(),
        target: req.uri().to_string(),
        version: version_str(req.version()).to_owned(),
        headers: headers_of(req.headers()),
        peer: peer.to_string(),
    });
    let (parts, body) = req.into_parts();
    let mut trip = trip_of(&parts, request_id, started, peer, sink);
    if let Err(bad) = check::host(&parts) {
        let page = check::error_page(StatusCode::BAD_REQUEST, &bad.to_string());
        return Ok(answer(&trip, page, &bad.to_string()));
    }
    let environ = match Environ::build(&RequestHead {
        method: &parts.method,
        uri: &parts.uri,
        version: parts.version,
        headers: &parts.headers,
        peer,
        local,
    }) {
        Ok(environ) => environ,
        Err(error) => return Ok(refuse(&trip, StatusCode::BAD_REQUEST, &error.to_string())),
    };
    trip.remote = environ.get_str("REMOTE_ADDR");
    Ok(match &shared.backend {
        Backend::Workers(pool) => {
            let head_request = parts.method == hyper::Method::HEAD;
            match read_body(&parts.headers, body).await {
                Ok(body) => dispatch(pool.clone(), &environ, body, head_request, trip).await,
                Err(()) => refuse(
                    &trip,
                    StatusCode::BAD_REQUEST,
                    "the request body ended early",
                ),
            }
        }
        Backend::Builtin(name) => serve_builtin(name, &environ, body, trip).await,
    })
}

/// What the access log and the trace will say about this request.
fn trip_of(
    parts: &Parts,
    request_id: String,
    started: Instant,
    peer: SocketAddr,
    sink: &TraceSink,
) -> Trip {
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned());
    let header = |name| {
        parts
            .headers
            .get(name)
            .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    Trip {
        request_id,
        started,
        queue_us: 0,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        remote: peer.ip().to_string(),
        request_line: format!("{} {target} {}", parts.method, version_str(parts.version)),
        referer: header(REFERER),
        user_agent: header(USER_AGENT),
        sink: sink.clone(),
    }
}

/// A built-in app reads the whole body first, as a WSGI app reading `wsgi.input` would.
async fn serve_builtin(
    name: &str,
    environ: &Environ,
    body: Incoming,
    trip: Trip,
) -> Response<WsgiBody> {
    let body = match Limited::new(body, BUILTIN_BODY_MAX).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return refuse(
                &trip,
                StatusCode::PAYLOAD_TOO_LARGE,
                "the built-in apps read at most 16 MiB of request body",
            );
        }
    };
    let len = body.len() as u64;
    trip.sink
        .emit(Some(&trip.request_id), || Hop::EnvironBuilt {
            environ: environ.for_trace(Some(len)),
        });
    builtin::serve(name, environ, body, trip).await
}

/// The request body as it will travel to the worker.
struct BodyPlan {
    mode: BodyMode,
    /// The whole body, when it rides in the request frame.
    inline: Bytes,
    /// The body still to come, when it streams after the frame.
    stream: Option<Incoming>,
}

/// Small bodies are read whole now, before a worker is taken; `Err` when one ends early.
async fn read_body(headers: &HeaderMap, body: Incoming) -> Result<BodyPlan, ()> {
    let content_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let inline = |inline| BodyPlan {
        mode: BodyMode::Inline,
        inline,
        stream: None,
    };
    if hyper::body::Body::is_end_stream(&body) {
        Ok(inline(Bytes::new()))
    } else if content_length.is_some_and(|n| n <= INLINE_BODY_MAX) {
        match body.collect().await {
            Ok(collected) => Ok(inline(collected.to_bytes())),
            Err(_) => Err(()),
        }
    } else {
        Ok(BodyPlan {
            mode: BodyMode::Streamed,
            inline: Bytes::new(),
            stream: Some(body),
        })
    }
}

/// Queue for a worker, then hand the exchange to its own task (see [`super::exchange`]).
async fn dispatch(
    pool: Arc<Pool>,
    environ: &Environ,
    body: BodyPlan,
    head_request: bool,
    mut trip: Trip,
) -> Response<WsgiBody> {
    let inline_len = body.stream.is_none().then_some(body.inline.len() as u64);
    trip.sink
        .emit(Some(&trip.request_id), || Hop::EnvironBuilt {
            environ: environ.for_trace(inline_len),
        });
    let frame = request_frame(&environ.encode(), body.mode, &body.inline);

    let queued = Instant::now();
    let worker = match pool.checkout(&trip.request_id).await {
        Ok(worker) => worker,
        Err(error) => {
            return refuse(&trip, StatusCode::SERVICE_UNAVAILABLE, &error.to_string());
        }
    };
    trip.queue_us = queued.elapsed().as_micros() as u64;
    let (worker_pid, queue_us) = (worker.pid, trip.queue_us);
    trip.sink.emit(Some(&trip.request_id), || Hop::Dispatched {
        worker_pid,
        queue_us,
    });

    let (tx, rx) = oneshot::channel();
    let outgoing = Outgoing {
        frame,
        body: body.stream,
        head_request,
    };
    tokio::spawn(exchange::run(pool, worker, outgoing, trip, tx));
    rx.await.unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the worker gave no response",
        )
    })
}

/// An answer from the WSGI server itself, before any app ran.
fn refuse(trip: &Trip, status: StatusCode, message: &str) -> Response<WsgiBody> {
    answer(trip, plain(status, message), message)
}

/// Send `response`, a refusal: logged (a client's fault as gunicorn's `Invalid request`
/// warning, the server's as an error), traced and in the access log.
fn answer(trip: &Trip, response: Response<WsgiBody>, message: &str) -> Response<WsgiBody> {
    let status = response.status();
    let me = std::process::id();
    if status.is_client_error() {
        let line = format!("Invalid request from ip={}: {message}", trip.remote);
        log::error_log(me, Level::Warning, &line);
    } else {
        let line = format!(
            "{} answered {}: {message}",
            trip.request_line,
            status.as_u16()
        );
        log::error_log(me, Level::Error, &line);
    }
    let bytes = response.body().known_len();
    trip.sink.emit(Some(&trip.request_id), || Hop::Error {
        level: if status.is_client_error() {
            "warning"
        } else {
            "error"
        }
        .into(),
        message: message.to_owned(),
        status: Some(status.as_u16()),
    });
    trip.finish(status.as_u16(), bytes, 0, headers_of(response.headers()));
    response
}

/// The web server's `X-Request-Id` (so the tutor can join both traces), or a fresh one.
fn request_id<B>(req: &Request<B>) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(|| format!("{:032x}", fastrand::u128(..)), str::to_owned)
}
