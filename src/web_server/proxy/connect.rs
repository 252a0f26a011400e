//! Getting a connection to one upstream server: a pooled one that is still open and not
//! idle past `keepalive_timeout`, or a new one within `proxy_connect_timeout`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::error::UpstreamError;
use crate::web_server::config::syntax::os_error;
use crate::web_server::upstream::{Peer, Upstream, UpstreamConn};

/// A pooled connection, or a new one, ready to take a request.
pub(super) async fn connect(
    peer: &Peer,
    upstream: &Upstream,
    timeout: Duration,
) -> Result<UpstreamConn, UpstreamError> {
    let keepalive = upstream.keepalive;
    if keepalive.connections > 0
        && let Some(conn) = peer.take_idle(keepalive.timeout)
    {
        return Ok(conn);
    }
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(peer.addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(UpstreamError::Refused(os_error(&err))),
        Err(_) => return Err(UpstreamError::ConnectTimeout),
    };
    if keepalive.connections > 0 {
        // Kept-alive connections carry many small requests; nginx sets this for them only.
        let _ = stream.set_nodelay(true);
    }
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(CloseOnDrop(stream)))
        .await
        .map_err(|e| UpstreamError::Handshake(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(UpstreamConn::new(sender))
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
