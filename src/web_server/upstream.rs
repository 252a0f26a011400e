//! Upstreams: the servers `proxy_pass` sends requests to.
//!
//! An `upstream` block lists several servers; requests go round robin, and a server that
//! refuses a connection is skipped for `fail_timeout` (10 s) while others are tried, as in
//! nginx. `proxy_pass http://127.0.0.1:8000` is an upstream of one server. With `keepalive N`
//! (and `proxy_http_version 1.1`), finished connections wait in a small pool for the next
//! request instead of being closed.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    idle: Mutex<Vec<SendRequest<UpstreamBody>>>,
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
    /// Idle connections kept per server (0: close after every request).
    pub keepalive: usize,
    next: AtomicUsize,
}

impl Upstream {
    pub fn new(name: String, servers: Vec<(String, SocketAddr)>, keepalive: usize) -> Self {
        Self {
            name,
            peers: servers
                .into_iter()
                .map(|(name, addr)| Peer {
                    name,
                    addr,
                    addr_text: addr.to_string().into(),
                    failed_until: Mutex::new(None),
                    idle: Mutex::new(Vec::new()),
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

    /// A kept-alive connection that is still open, if any.
    pub fn take_idle(&self) -> Option<SendRequest<UpstreamBody>> {
        let mut idle = self.idle.lock().unwrap();
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Keep a connection for the next request, if the pool has room.
    pub fn put_idle(&self, sender: SendRequest<UpstreamBody>, keepalive: usize) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap();
        if idle.len() < keepalive {
            idle.push(sender);
        }
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
        Upstream::new("backend".into(), servers, 0)
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
