//! nginx's upstream module: `upstream name { server ...; keepalive n; }`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::build::Builder;
use super::commands::{
    ANYTHING, BLOCK_TAKE1, Command, Conf, Ctx, MORE1, Set, SetResult, TAKE1, cmd,
};
use super::syntax::Directive;
use super::values::resolve_addr;
use crate::web_server::upstream::Upstream;

use Ctx::{Http, Upstream as Ups};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("upstream", &[Http], BLOCK_TAKE1, Set::Early(upstream)),
    cmd("server", &[Ups], MORE1, Set::Upstream(server)),
    cmd("keepalive", &[Ups], TAKE1, Set::Upstream(keepalive)),
    cmd("keepalive_requests", &[Ups], ANYTHING, Set::Warn),
    cmd("keepalive_time", &[Ups], ANYTHING, Set::Warn),
    cmd("keepalive_timeout", &[Ups], ANYTHING, Set::Warn),
    cmd("least_conn", &[Ups], ANYTHING, Set::Warn),
    cmd("ip_hash", &[Ups], ANYTHING, Set::Warn),
];

/// An `upstream { }` being read.
#[derive(Default)]
pub(super) struct UpstreamDraft {
    /// Each server as written, and where it is.
    servers: Vec<(String, SocketAddr)>,
    /// Idle connections kept per worker; 0 closes each after use.
    keepalive: usize,
}

fn upstream(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    let name = d.args[0].clone();
    if b.upstreams.contains_key(&name) {
        return Err(d.error(format!("duplicate upstream \"{name}\"")));
    }
    let mut draft = UpstreamDraft::default();
    b.read(
        d.block.as_deref().unwrap_or_default(),
        &mut Conf::Upstream(&mut draft),
    )?;
    if draft.servers.is_empty() {
        return Err(d.error(format!("no servers are inside upstream \"{name}\"")));
    }
    let upstream = Upstream::new(name.clone(), draft.servers, draft.keepalive);
    b.upstreams.insert(name, Arc::new(upstream));
    Ok(())
}

/// `server address [weight=n max_fails=n fail_timeout=t backup down]`: the parameters are
/// accepted for real configs' sake; every server gets its turn.
fn server(b: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    let addr = &d.args[0];
    for param in &d.args[1..] {
        let known = ["weight=", "max_fails=", "fail_timeout=", "backup", "down"];
        if !known.iter().any(|k| param.starts_with(k)) {
            return Err(d.error(format!("invalid parameter \"{param}\"")));
        }
    }
    let resolved = resolve_addr(addr, 80)
        .map(|a| b.remap(a))
        .map_err(|why| d.error(format!("{why} in upstream \"{addr}\"")))?;
    draft.servers.push((addr.clone(), resolved));
    Ok(())
}

fn keepalive(_: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    draft.keepalive = d.args[0]
        .parse()
        .map_err(|_| d.error("invalid value \"keepalive\" directive"))?;
    Ok(())
}
