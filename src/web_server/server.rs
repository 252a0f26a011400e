//! The server phase: which `server` block answers, by listen address and Host (nginx's
//! `server_name` matching).

use std::sync::Arc;

use super::config::{Config, Server};
use super::exchange::Exchange;

/// The server for the request's Host; its settings hold until a location is chosen.
pub fn find(x: &mut Exchange, config: &Config) -> Arc<Server> {
    let server = select(config, &x.conn.listen, &x.host);
    x.server = Some(server.clone());
    x.conf = Some(server.conf.clone());
    server
}

/// The `server` block for this listen address and Host: exact name, then wildcards, then
/// the `default_server`, then the first one listening there.
pub fn select(config: &Config, listen: &str, host: &str) -> Arc<Server> {
    let on_listen = |s: &&Arc<Server>| s.listen.iter().any(|l| l.spec == listen);
    let candidates = || {
        let any_here = config.servers.iter().any(|s| on_listen(&s));
        config
            .servers
            .iter()
            .filter(move |s| !any_here || on_listen(s))
    };
    let wildcard = |name: &str| -> bool {
        if let Some(suffix) = name.strip_prefix('*') {
            return suffix.starts_with('.') && host.ends_with(suffix);
        }
        if let Some(domain) = name.strip_prefix('.') {
            return host == domain || host.ends_with(name);
        }
        if let Some(prefix) = name.strip_suffix(".*") {
            return host.len() > prefix.len()
                && host.starts_with(prefix)
                && host.as_bytes()[prefix.len()] == b'.';
        }
        false
    };
    candidates()
        .find(|s| s.names.iter().any(|n| n == host))
        .or_else(|| candidates().find(|s| s.names.iter().any(|n| wildcard(n))))
        .or_else(|| {
            candidates().find(|s| {
                s.listen
                    .iter()
                    .any(|l| l.spec == listen && l.default_server)
            })
        })
        .or_else(|| candidates().next())
        .cloned()
        .expect("a configuration has at least one server")
}
