//! nginx's http core module: `server` and `location` blocks, `listen`, `server_name`, and
//! the connection and request limits.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::build::{Builder, HttpDraft};
use super::commands::{
    BLOCK_NOARGS, BLOCK_TAKE12, Command, Ctx, FLAG, HTTP_ALL, MORE1, Set, SetResult, TAKE1, TAKE12,
    cmd,
};
use super::level::{Settings, inherit, merge};
use super::syntax::Directive;
use super::values::{on_off, resolve_addr, size_arg, time_arg};
use super::{ConfigError, Listen, LocConf, Modifier, ProxyPass};

use Ctx::{Http, Location, Server};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("server", &[Http], BLOCK_NOARGS, Set::Http(server)),
    cmd("listen", &[Server], MORE1, Set::Server(listen)),
    cmd("server_name", &[Server], MORE1, Set::Server(server_name)),
    cmd("location", &[Server], BLOCK_TAKE12, Set::Server(location)),
    cmd("location", &[Location], BLOCK_TAKE12, Set::Location(nested_location)),
    cmd("client_max_body_size", HTTP_ALL, TAKE1, Set::Level(client_max_body_size)),
    // Read only at the http and server levels: a location's value is accepted and unused.
    cmd("keepalive_timeout", HTTP_ALL, TAKE12, Set::Level(keepalive_timeout)),
    cmd("client_header_timeout", &[Http, Server], TAKE12, Set::Level(client_header_timeout)),
    cmd("server_tokens", HTTP_ALL, FLAG, Set::Level(server_tokens)),
];

#[derive(Default)]
pub(super) struct Own {
    client_max_body_size: Option<u64>,
    server_tokens: Option<bool>,
    pub(super) keepalive_timeout: Option<Duration>,
    pub(super) client_header_timeout: Option<Duration>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        merge(&self.client_max_body_size, &mut conf.client_max_body_size);
        merge(&self.server_tokens, &mut conf.server_tokens);
    }
}

/// A `server { }` being read: its own directives first, its locations after (a setting
/// written below a location still applies to it).
#[derive(Default)]
pub(super) struct ServerDraft {
    pub(super) level: Settings,
    pub(super) listen: Vec<Listen>,
    pub(super) names: Vec<String>,
    pub(super) locations: Vec<Directive>,
}

/// A `location { }` being read; what `alias` and `proxy_pass` need to know of it.
pub(super) struct LocationDraft {
    pub(super) level: Settings,
    pub(super) modifier: Modifier,
    pub(super) pattern: String,
    pub(super) nested: Vec<Directive>,
    pub(super) proxy: Option<ProxyPass>,
}

impl LocationDraft {
    pub(super) fn new(modifier: Modifier, pattern: String) -> Self {
        Self {
            level: Settings::default(),
            modifier,
            pattern,
            nested: Vec::new(),
            proxy: None,
        }
    }

    /// The location's settings, merged over its parent's.
    pub(super) fn conf(&mut self, parent: &LocConf) -> LocConf {
        let name = match self.modifier {
            Modifier::Prefix => self.pattern.clone(),
            m => format!("{} {}", m.as_str(), self.pattern),
        };
        let mut conf = inherit(parent, &self.level, &name);
        conf.proxy = self.proxy.take();
        conf
    }

    pub(super) fn is_regex(&self) -> bool {
        matches!(self.modifier, Modifier::Regex | Modifier::RegexCaseless)
    }
}

fn server(_: &mut Builder<'_>, d: &Directive, http: &mut HttpDraft) -> SetResult {
    http.servers.push(d.clone());
    Ok(())
}

fn listen(b: &mut Builder<'_>, d: &Directive, server: &mut ServerDraft) -> SetResult {
    let mut listen = parse_listen(d)?;
    listen.addr = b.remap(listen.addr);
    server.listen.push(listen);
    Ok(())
}

fn server_name(_: &mut Builder<'_>, d: &Directive, server: &mut ServerDraft) -> SetResult {
    server
        .names
        .extend(d.args.iter().map(|n| n.to_ascii_lowercase()));
    Ok(())
}

fn location(_: &mut Builder<'_>, d: &Directive, server: &mut ServerDraft) -> SetResult {
    server.locations.push(d.clone());
    Ok(())
}

fn nested_location(_: &mut Builder<'_>, d: &Directive, outer: &mut LocationDraft) -> SetResult {
    if outer.modifier == Modifier::Exact {
        return Err(d.error(format!(
            "location \"{}\" could not be inside the exact location \"{}\"",
            d.args.last().cloned().unwrap_or_default(),
            outer.pattern
        )));
    }
    outer.nested.push(d.clone());
    Ok(())
}

fn client_max_body_size(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.core.client_max_body_size = Some(size_arg(d)?);
    Ok(())
}

fn keepalive_timeout(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.core.keepalive_timeout = Some(time_arg(d)?);
    Ok(())
}

fn client_header_timeout(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.core.client_header_timeout = Some(time_arg(d)?);
    Ok(())
}

fn server_tokens(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.core.server_tokens = Some(on_off(d)?);
    Ok(())
}

fn parse_listen(d: &Directive) -> Result<Listen, ConfigError> {
    let spec = &d.args[0];
    let mut default_server = false;
    let mut options = Listen::DEFAULT_OPTIONS;
    for param in &d.args[1..] {
        match param.as_str() {
            "default_server" | "default" => default_server = true,
            "reuseport" => options.reuseport = true,
            "deferred" => options.deferred = true,
            // Each address gets a socket of its own here anyway, which is what `bind` asks.
            "bind" => {}
            p if p.starts_with("backlog=") => {
                options.backlog = p["backlog=".len()..]
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0 && i32::try_from(*n).is_ok())
                    .ok_or_else(|| {
                        d.error(format!("invalid backlog \"{}\"", &p["backlog=".len()..]))
                    })?;
            }
            p => return Err(d.error(format!("invalid parameter \"{p}\""))),
        }
    }
    let invalid = |why: &str| d.error(format!("{why} in \"{spec}\" of the \"listen\" directive"));
    let addr = if let Ok(port) = spec.parse::<u16>() {
        // A bare port: loopback, not every interface, unless asked (`*:8080`, `0.0.0.0:8080`).
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else if let Some(port) = spec.strip_prefix("*:") {
        let port = port.parse::<u16>().map_err(|_| invalid("invalid port"))?;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    } else {
        resolve_addr(spec, 80).map_err(invalid)?
    };
    Ok(Listen {
        spec: spec.clone(),
        addr,
        default_server,
        options,
    })
}
