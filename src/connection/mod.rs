//! One client connection, kept alive the way nginx keeps it: cheap while idle.
//!
//! hyper holds a read and a write buffer (8 KiB each) for as long as a connection lives,
//! so 5,000 idle keep-alive connections cost ~100 MB where nginx, which frees its buffers
//! between requests, needs a few. Here hyper serves a connection only while a request is
//! on it: once a response has gone out and the connection may be reused, hyper is asked
//! to finish, its socket is taken back ("parked": a socket and a timer, no buffers) and a
//! fresh hyper connection starts when the next request's first byte arrives. Bytes hyper
//! had already read (a pipelined request) go back in front of the socket.
//!
//! A request with a body is the exception: whether hyper drained the body is not visible
//! from outside, so that connection stays with hyper until the next body-less request.
//!
//! Both servers use this module; [`accept`] is their shared accept loop.

pub mod accept;
mod io;
mod parking;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use io::Io;
use parking::{Parking, Signal};

/// How long a connection may wait, and what its first line may be.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// From accept to the first byte of the first request (nginx: `client_header_timeout`).
    pub first_byte: Duration,
    /// From the end of a response to the first byte of the next request (nginx:
    /// `keepalive_timeout`, gunicorn: `--keep-alive`). Zero turns keep-alive off.
    pub keepalive: Duration,
    /// The longest request line before the connection is refused (nginx answers 414).
    pub max_request_line: Option<usize>,
}

/// Why a connection ended.
#[derive(Debug)]
pub enum Ended {
    /// The client closed it, or the last response said `Connection: close`.
    Closed,
    /// Nothing arrived within the policy's wait.
    IdleTimeout,
    /// The server is shutting down; the connection was idle or its request finished.
    Shutdown,
    /// The request line was longer than the policy allows; nothing was answered yet, so
    /// the caller writes its own answer on the stream.
    LineTooLong(TcpStream),
    /// hyper's error (it has already answered a request it could not parse).
    Http(hyper::Error),
    /// The socket failed while parked.
    Io(std::io::Error),
}

/// Serve `stream` with `service` until it ends; see the module comment for the parking.
pub async fn serve<S, B>(
    stream: TcpStream,
    builder: &http1::Builder,
    policy: Policy,
    service: S,
    shutdown: &CancellationToken,
) -> Ended
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Unpin + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Unpin + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut stream = stream;
    let mut ahead = Bytes::new();
    let mut wait = policy.first_byte;
    loop {
        if ahead.is_empty() {
            tokio::select! {
                ready = tokio::time::timeout(wait, stream.readable()) => match ready {
                    Err(_) => return Ended::IdleTimeout,
                    Ok(Err(err)) => return Ended::Io(err),
                    Ok(Ok(())) => {}
                },
                () = shutdown.cancelled() => return Ended::Shutdown,
            }
        }
        // Boxed: a parked connection's task then carries only what the wait needs, not
        // the state of a request in progress.
        let served = Box::pin(serve_one(
            stream,
            ahead,
            builder,
            policy,
            service.clone(),
            shutdown,
        ));
        let (io, unread) = match served.await {
            Ok(pair) => pair,
            Err(ended) => return ended,
        };
        let (socket, rest) = io.into_stream();
        stream = socket;
        ahead = if unread.is_empty() {
            rest
        } else if rest.is_empty() {
            unread
        } else {
            [unread, rest].concat().into()
        };
        wait = policy.keepalive;
    }
}

/// One hyper connection, from the first byte of a request to the point where hyper has
/// let go of the socket; `Ok` when it may carry another request.
async fn serve_one<S, B>(
    stream: TcpStream,
    ahead: Bytes,
    builder: &http1::Builder,
    policy: Policy,
    service: S,
    shutdown: &CancellationToken,
) -> Result<(Io, Bytes), Ended>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Unpin + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Unpin + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let signal = Arc::new(Signal::default());
    let service = Parking::new(service, signal.clone(), !policy.keepalive.is_zero());
    let io = Io::new(stream, ahead, policy.max_request_line);
    let mut conn = builder.serve_connection(TokioIo::new(io), service);
    let mut asked = false;
    let mut stopping = false;
    let result = loop {
        tokio::select! {
            result = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => break result,
            () = signal.parkable(), if !asked && !stopping => {
                asked = true;
                std::pin::Pin::new(&mut conn).graceful_shutdown();
            }
            () = shutdown.cancelled(), if !stopping => {
                stopping = true;
                std::pin::Pin::new(&mut conn).graceful_shutdown();
            }
        }
    };
    let parts = conn.into_parts();
    let (io, unread) = (parts.io.into_inner(), parts.read_buf);
    if io.too_long() {
        return Err(Ended::LineTooLong(io.into_stream().0));
    }
    if let Err(err) = result {
        return Err(Ended::Http(err));
    }
    if stopping {
        return Err(Ended::Shutdown);
    }
    // hyper finished on its own (the client closed, or `Connection: close`), or a request
    // began after the one that asked to park: its answer said close.
    if !asked || !signal.parked_cleanly() {
        return Err(Ended::Closed);
    }
    Ok((io, unread))
}

/// Whether the client wants this connection kept after the response (RFC 9112 §9.3).
fn request_keeps_alive<T>(request: &Request<T>) -> bool {
    let close = |token: &str| connection_has(request.headers(), token);
    match request.version() {
        hyper::Version::HTTP_11 => !close("close"),
        hyper::Version::HTTP_10 => close("keep-alive"),
        _ => false,
    }
}

fn connection_has(headers: &hyper::HeaderMap, token: &str) -> bool {
    headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests;
