//! nginx's upstream module: `upstream name { server ...; }`, with the keepalive module's
//! `keepalive n`, `keepalive_timeout`, `keepalive_requests` and `keepalive_time`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::build::Builder;
use super::commands::{
    ANYTHING, BLOCK_TAKE1, Command, Conf, Ctx, MORE1, Set, SetResult, TAKE1, cmd,
};
use super::syntax::Directive;
use super::values::{resolve_addr, time_arg};
use crate::web_server::upstream::{KeepAlive, Upstream};

use Ctx::{Http, Upstream as Ups};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("upstream", &[Http], BLOCK_TAKE1, Set::Early(upstream)),
    cmd("server", &[Ups], MORE1, Set::Upstream(server)),
    cmd("keepalive", &[Ups], TAKE1, Set::Upstream(keepalive)),
    cmd("keepalive_requests", &[Ups], TAKE1, Set::Upstream(keepalive_requests)),
    cmd("keepalive_time", &[Ups], TAKE1, Set::Upstream(keepalive_time)),
    cmd("keepalive_timeout", &[Ups], TAKE1, Set::Upstream(keepalive_timeout)),
    cmd("least_conn", &[Ups], ANYTHING, Set::Warn),
    cmd("ip_hash", &[Ups], ANYTHING, Set::Warn),
];

/// An `upstream { }` being read.
#[derive(Default)]
pub(super) struct UpstreamDraft {
    /// Each server as written, and where it is.
    servers: Vec<(String, SocketAddr)>,
    /// Each keep-alive setting once given (nginx refuses a second one).
    keepalive: Option<usize>,
    keepalive_timeout: Option<Duration>,
    keepalive_requests: Option<u64>,
    keepalive_time: Option<Duration>,
}

impl UpstreamDraft {
    /// The settings given, nginx's defaults for the rest.
    fn keepalive(&self) -> KeepAlive {
        let default = KeepAlive::default();
        KeepAlive {
            connections: self.keepalive.unwrap_or(default.connections),
            timeout: self.keepalive_timeout.unwrap_or(default.timeout),
            requests: self.keepalive_requests.unwrap_or(default.requests),
            time: self.keepalive_time.unwrap_or(default.time),
        }
    }
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
    let keepalive = draft.keepalive();
    let upstream = Upstream::new(name.clone(), draft.servers, keepalive);
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

/// A keep-alive setting given twice is nginx's "is duplicate".
fn once<T>(d: &Directive, slot: &mut Option<T>, value: T) -> SetResult {
    if slot.is_some() {
        return Err(d.error(format!("\"{}\" directive is duplicate", d.name)));
    }
    *slot = Some(value);
    Ok(())
}

/// `keepalive N`, N at least 1.
fn keepalive(_: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    let n = d.args[0]
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0 && d.args[0].bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            d.error(format!(
                "invalid value \"{}\" in \"keepalive\" directive",
                d.args[0]
            ))
        })?;
    once(d, &mut draft.keepalive, n)
}

fn keepalive_timeout(_: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    let timeout = time_arg(d)?;
    once(d, &mut draft.keepalive_timeout, timeout)
}

fn keepalive_time(_: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    let time = time_arg(d)?;
    once(d, &mut draft.keepalive_time, time)
}

/// A count as nginx's `ngx_conf_set_num_slot` reads it: digits only, at most i64::MAX;
/// 0 is allowed (no connection is then kept).
fn keepalive_requests(_: &mut Builder<'_>, d: &Directive, draft: &mut UpstreamDraft) -> SetResult {
    let text = &d.args[0];
    let n = text
        .parse::<u64>()
        .ok()
        .filter(|&n| {
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && i64::try_from(n).is_ok()
        })
        .ok_or_else(|| d.error(format!("\"{}\" directive invalid number", d.name)))?;
    once(d, &mut draft.keepalive_requests, n)
}
