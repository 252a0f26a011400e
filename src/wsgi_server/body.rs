//! The response body hyper sends: either complete (the app returned a list, so the length
//! is known and no chunked encoding is needed) or streamed chunk by chunk as the worker
//! produces them (a generator), with an error to cut the connection when the app fails
//! after the headers went out.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// A chunk, or the reason the body stops short.
pub type Chunk = Result<Bytes, std::io::Error>;

pub enum WsgiBody {
    Full(Option<Bytes>),
    Stream {
        first: VecDeque<Bytes>,
        rest: mpsc::Receiver<Chunk>,
    },
}

impl WsgiBody {
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        WsgiBody::Full((!data.is_empty()).then_some(data))
    }

    pub fn empty() -> Self {
        WsgiBody::Full(None)
    }

    /// The length of a complete body (0 for a stream: not known yet).
    pub fn known_len(&self) -> u64 {
        match self {
            WsgiBody::Full(data) => data.as_ref().map_or(0, |d| d.len() as u64),
            WsgiBody::Stream { .. } => 0,
        }
    }
}

impl Body for WsgiBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            WsgiBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            WsgiBody::Stream { first, rest } => {
                if let Some(chunk) = first.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                rest.poll_recv(cx)
                    .map(|chunk| chunk.map(|c| c.map(Frame::data)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, WsgiBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WsgiBody::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            WsgiBody::Stream { .. } => SizeHint::default(),
        }
    }
}
