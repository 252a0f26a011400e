//! The service wrapper that tells the connection loop when hyper may be let go: the
//! response it answered has been sent, and the connection may carry another request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper::{Request, Response, StatusCode};
use tokio::sync::Notify;

use super::{connection_has, request_keeps_alive};

/// Shared by one hyper connection's requests and the loop that runs it.
#[derive(Default)]
pub(super) struct Signal {
    notify: Notify,
    /// Requests hyper has handed to the service on this connection.
    started: AtomicUsize,
    /// The request whose finished response asked to park (0: none yet).
    finished: AtomicUsize,
}

impl Signal {
    pub(super) async fn parkable(&self) {
        self.notify.notified().await;
    }

    /// No request began after the one that asked to park: hyper stopped between requests.
    pub(super) fn parked_cleanly(&self) -> bool {
        self.started.load(Ordering::Acquire) == self.finished.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
pub(super) struct Parking<S> {
    inner: S,
    signal: Arc<Signal>,
    keep_alive: bool,
}

impl<S> Parking<S> {
    pub(super) fn new(inner: S, signal: Arc<Signal>, keep_alive: bool) -> Self {
        Parking {
            inner,
            signal,
            keep_alive,
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<Incoming>> for Parking<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: Send + 'static,
    B: Body + Unpin,
{
    type Response = Response<ParkingBody<B>>;
    type Error = S::Error;
    // Boxed: hyper's poll_without_shutdown needs an Unpin future.
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let number = self.signal.started.fetch_add(1, Ordering::AcqRel) + 1;
        let reusable =
            self.keep_alive && request_keeps_alive(&request) && request.body().is_end_stream();
        let signal = self.signal.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let reusable = reusable
                && response.status() != StatusCode::SWITCHING_PROTOCOLS
                && !connection_has(response.headers(), "close");
            Ok(response.map(|inner| ParkingBody {
                inner,
                signal: reusable.then_some((signal, number)),
            }))
        })
    }
}

/// The response body; when hyper drops it, the response has been written out.
pub(super) struct ParkingBody<B> {
    inner: B,
    signal: Option<(Arc<Signal>, usize)>,
}

impl<B: Body + Unpin> Body for ParkingBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for ParkingBody<B> {
    fn drop(&mut self) {
        if let Some((signal, number)) = self.signal.take() {
            signal.finished.store(number, Ordering::Release);
            signal.notify.notify_one();
        }
    }
}
