//! Upstreams: the servers `proxy_pass` sends requests to.
//!
//! An `upstream` block lists several servers; requests go round robin, and a server that
//! refuses a connection is skipped for `fail_timeout` (10 s) while others are tried, as in
//! nginx. `proxy_pass http://127.0.0.1:8000` is an upstream of one server. With `keepalive N`
//! (and `proxy_http_version 1.1`), finished connections wait in a small pool for the next
//! request instead of being closed.
//!
//! The pool follows nginx's keepalive module: an idle connection is closed after
//! `keepalive_timeout` (60 s) by a sweeper task that runs only while the pool holds
//! connections; a connection is not pooled again after `keepalive_requests` (1000)
//! requests or once it is older than `keepalive_time` (1 h); a full pool closes its oldest
//! idle connection to keep the newest.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;

/// The body type sent upstream.
pub type UpstreamBody = super::responses::Body;

/// How long a failed server is left alone (nginx's `fail_timeout` default).
const FAIL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Peer {
    /// The address as written in the configuration (`127.0.0.1:8000`, `app:8000`).
    pub name: String,
    pub addr: SocketAddr,
    /// `addr` as `$upstream_addr` prints it, made once.
    pub addr_text: std::sync::Arc<str>,
    failed_until: Mutex<Option<Instant>>,
    idle: Mutex<IdlePool>,
}

/// The upstream block's keep-alive settings (nginx's `ngx_http_upstream_keepalive_module`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// `keepalive N`: idle connections kept per server; 0 closes each after use.
    pub connections: usize,
    /// `keepalive_timeout`: how long a connection may wait idle in the pool.
    pub timeout: Duration,
    /// `keepalive_requests`: requests one connection carries before it is closed.
    pub requests: u64,
    /// `keepalive_time`: how long after it was opened a connection stops being reused.
    pub time: Duration,
}

impl Default for KeepAlive {
    /// nginx's defaults, with no pool.
    fn default() -> Self {
        Self {
            connections: 0,
            timeout: Duration::from_secs(60),
            requests: 1000,
            time: Duration::from_secs(3600),
        }
    }
}

/// A connection to an upstream server, with what the keep-alive limits count.
pub struct UpstreamConn {
    pub sender: SendRequest<UpstreamBody>,
    opened: Instant,
    requests: u64,
}

impl UpstreamConn {
    pub fn new(sender: SendRequest<UpstreamBody>) -> Self {
        Self {
            sender,
            opened: Instant::now(),
            requests: 0,
        }
    }

    /// A request is about to go out on this connection (nginx's `c->requests++`).
    pub fn count_request(&mut self) {
        self.requests += 1;
    }
}

/// A server's idle connections, oldest first, and whether a sweeper is watching them.
#[derive(Default)]
struct IdlePool {
    conns: Vec<(UpstreamConn, Instant)>,
    sweeping: bool,
}

/// One try at one server of an upstream, for `$upstream_addr`, `$upstream_status` and
/// `$upstream_response_time`.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub addr: std::sync::Arc<str>,
    /// None when the server never answered.
    pub status: Option<u16>,
    pub time: Duration,
}

pub struct Upstream {
    pub name: String,
    pub peers: Vec<Peer>,
    pub keepalive: KeepAlive,
    next: AtomicUsize,
}

impl Upstream {
    pub fn new(name: String, servers: Vec<(String, SocketAddr)>, keepalive: KeepAlive) -> Self {
        Self {
            name,
            peers: servers
                .into_iter()
                .map(|(name, addr)| Peer {
                    name,
                    addr,
                    addr_text: addr.to_string().into(),
                    failed_until: Mutex::new(None),
                    idle: Mutex::new(IdlePool::default()),
                })
                .collect(),
            keepalive,
            next: AtomicUsize::new(0),
        }
    }

    /// The servers to try for one request, in order: round robin, failed ones left out
    /// (unless every one has failed, or there is only one — nginx never gives up on a
    /// single server).
    pub fn order(&self) -> smallvec::SmallVec<[&Peer; 4]> {
        let n = self.peers.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let rotated = (0..n).map(|i| &self.peers[(start + i) % n]);
        if n == 1 {
            return rotated.collect();
        }
        let now = Instant::now();
        rotated.filter(|p| !p.is_failed(now)).collect()
    }

    /// Keep a finished connection to server `index` for the next request, unless it has
    /// carried `keepalive_requests` requests or lived `keepalive_time` (nginx's
    /// `ngx_http_upstream_free_keepalive_peer`); a full pool closes its oldest. The first
    /// connection parked starts the sweeper that closes idle ones after `keepalive_timeout`.
    pub fn put_idle(self: &Arc<Self>, index: usize, conn: UpstreamConn) {
        let ka = self.keepalive;
        if ka.connections == 0
            || ka.timeout.is_zero()
            || conn.sender.is_closed()
            || conn.requests >= ka.requests
            || conn.opened.elapsed() > ka.time
        {
            return;
        }
        // Outside a runtime nothing could close it later: let it go now.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(peer) = self.peers.get(index) else {
            return;
        };
        let mut pool = peer.idle.lock().unwrap();
        let evicted = if pool.conns.len() >= ka.connections {
            Some(pool.conns.remove(0))
        } else {
            None
        };
        pool.conns.push((conn, Instant::now()));
        let start = !pool.sweeping;
        pool.sweeping = true;
        drop(pool);
        drop(evicted);
        if start {
            runtime.spawn(sweep(Arc::downgrade(self), index));
        }
    }
}

/// Close server `index`'s connections that have been idle for `keepalive_timeout`, waking
/// when the oldest one is due; ends when the pool is empty, or the upstream is gone (a
/// reload dropped its configuration, and with it the pool).
async fn sweep(upstream: Weak<Upstream>, index: usize) {
    loop {
        let due = {
            let Some(upstream) = upstream.upgrade() else {
                return;
            };
            let timeout = upstream.keepalive.timeout;
            let Some(peer) = upstream.peers.get(index) else {
                return;
            };
            let mut pool = peer.idle.lock().unwrap();
            let now = Instant::now();
            // Dropping a connection's sender lets hyper end it and close the socket.
            pool.conns.retain(|(conn, since)| {
                now.duration_since(*since) < timeout && !conn.sender.is_closed()
            });
            let Some(oldest) = pool.conns.iter().map(|(_, since)| *since).min() else {
                pool.sweeping = false;
                return;
            };
            oldest + timeout
        };
        tokio::time::sleep_until(due.into()).await;
    }
}

impl Peer {
    fn is_failed(&self, now: Instant) -> bool {
        matches!(*self.failed_until.lock().unwrap(), Some(until) if until > now)
    }

    pub fn mark_failed(&self) {
        *self.failed_until.lock().unwrap() = Some(Instant::now() + FAIL_TIMEOUT);
    }

    pub fn mark_ok(&self) {
        let mut failed = self.failed_until.lock().unwrap();
        if failed.is_some() {
            *failed = None;
        }
    }

    /// The most recently parked kept-alive connection that is still open and not past
    /// `timeout`, if any (the sweeper may not have come round yet).
    pub fn take_idle(&self, timeout: Duration) -> Option<UpstreamConn> {
        let mut pool = self.idle.lock().unwrap();
        while let Some((conn, since)) = pool.conns.pop() {
            if since.elapsed() < timeout && !conn.sender.is_closed() && conn.sender.is_ready() {
                return Some(conn);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(n: usize) -> Upstream {
        let servers = (0..n)
            .map(|i| {
                (
                    format!("s{i}"),
                    SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
                )
            })
            .collect();
        Upstream::new("backend".into(), servers, KeepAlive::default())
    }

    #[test]
    fn round_robin_skips_failed_servers_until_all_failed() {
        let up = upstream(3);
        let first: Vec<_> = up.order().iter().map(|p| p.name.clone()).collect();
        let second: Vec<_> = up.order().iter().map(|p| p.name.clone()).collect();
        assert_eq!(first, ["s0", "s1", "s2"]);
        assert_eq!(second, ["s1", "s2", "s0"]);
        up.peers[2].mark_failed();
        let names: Vec<_> = up.order().iter().map(|p| p.name.clone()).collect();
        assert_eq!(names, ["s0", "s1"]);
        up.peers[0].mark_failed();
        up.peers[1].mark_failed();
        assert!(up.order().is_empty());
        let single = upstream(1);
        single.peers[0].mark_failed();
        assert_eq!(single.order().len(), 1);
    }
}
