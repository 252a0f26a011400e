//! Listening sockets and the accept loop's two rules: take every connection the kernel
//! has queued before waiting again (a burst of connects must not overflow the listen
//! queue), and when the process is out of file descriptors, pause instead of spinning —
//! nginx stops accepting for 500 ms (`accept_mutex_delay`) and so does this.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// nginx's listen backlog on Linux (`NGX_LISTEN_BACKLOG`); the kernel caps it at
/// `net.core.somaxconn`.
pub const NGINX_BACKLOG: u32 = 511;

/// gunicorn's `--backlog` default.
pub const GUNICORN_BACKLOG: u32 = 2048;

/// How long accepting pauses when the process has no descriptor left.
pub const RESOURCE_PAUSE: Duration = Duration::from_millis(500);

/// At most this many connections are taken per wake-up, so that the loop still notices
/// that it was asked to stop.
const BATCH: usize = 128;

/// How a listening socket is set up (nginx's `listen` parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub backlog: u32,
    /// `SO_REUSEPORT`: several sockets on one address, the kernel spreading connections.
    pub reuseport: bool,
    /// `TCP_DEFER_ACCEPT` (Linux): wake up only when the client has sent data.
    pub deferred: bool,
}

impl Options {
    pub fn with_backlog(backlog: u32) -> Options {
        Options {
            backlog,
            reuseport: false,
            deferred: false,
        }
    }
}

/// Bind and listen with `options`.
pub fn bind(addr: SocketAddr, options: Options) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As std and nginx do: a restarted server can bind while old connections linger.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if options.reuseport {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    let listener = socket.listen(options.backlog)?;
    #[cfg(target_os = "linux")]
    if options.deferred {
        defer_accept(&listener)?;
    }
    Ok(listener)
}

#[cfg(target_os = "linux")]
fn defer_accept(listener: &TcpListener) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option of the right size.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const seconds).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Wait for connections and take all that are queued (up to a batch). An error is
/// returned only when nothing was accepted; one that comes after some connections
/// shows again at the next call, as the kernel still has it.
pub async fn accept_batch(
    listener: &TcpListener,
    into: &mut Vec<(TcpStream, SocketAddr)>,
) -> io::Result<()> {
    poll_fn(|cx| {
        loop {
            match listener.poll_accept(cx) {
                Poll::Ready(Ok(pair)) => {
                    into.push(pair);
                    if into.len() >= BATCH {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Err(err)) if into.is_empty() => return Poll::Ready(Err(err)),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending if into.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Ok(())),
            }
        }
    })
    .await
}

/// The process (or system) ran out of descriptors or memory: accepting again at once
/// would fail again.
pub fn out_of_resources(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            err.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        err.kind() == io::ErrorKind::OutOfMemory
    }
}
