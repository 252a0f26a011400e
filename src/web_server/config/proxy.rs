//! nginx's proxy module: `proxy_pass` and how the proxied request is made.

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{self, HeaderName};

use super::build::Builder;
use super::commands::{Command, Ctx, HTTP_ALL, Set, SetResult, TAKE1, TAKE2, TAKE12, cmd};
use super::http_core::LocationDraft;
use super::level::{Settings, merge};
use super::syntax::Directive;
use super::values::{header_name, resolve_addr, template, time_arg};
use super::{HttpVersion, LocConf, ProxyPass};
use crate::web_server::upstream::{KeepAlive, Upstream};
use crate::web_server::variables::Template;

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("proxy_pass", &[Ctx::Location], TAKE1, Set::Location(proxy_pass)),
    cmd("proxy_set_header", HTTP_ALL, TAKE2, Set::Level(proxy_set_header)),
    cmd("proxy_http_version", HTTP_ALL, TAKE1, Set::Level(proxy_http_version)),
    cmd("proxy_connect_timeout", HTTP_ALL, TAKE12, Set::Level(proxy_connect_timeout)),
    cmd("proxy_read_timeout", HTTP_ALL, TAKE12, Set::Level(proxy_read_timeout)),
];

#[derive(Default)]
pub(super) struct Own {
    /// Replaces the inherited list when the level has any, as in nginx (not merged).
    set_header: Vec<(HeaderName, Template)>,
    http_version: Option<HttpVersion>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        if !self.set_header.is_empty() {
            conf.proxy_set_header = Arc::new(headers(&self.set_header));
        }
        merge(&self.http_version, &mut conf.proxy_http_version);
        merge(&self.connect_timeout, &mut conf.proxy_connect_timeout);
        merge(&self.read_timeout, &mut conf.proxy_read_timeout);
    }
}

/// The headers the web server sets on a proxied request: nginx's defaults (`Host
/// $proxy_host`, `Connection close`), our `X-Request-Id $request_id`, and a level's own
/// `proxy_set_header` lines over them (an empty value removes a header).
pub(super) fn headers(own: &[(HeaderName, Template)]) -> Vec<(HeaderName, Template)> {
    let mut set = vec![
        (header::HOST, Template::parse("$proxy_host").expect("valid")),
        (header::CONNECTION, Template::literal("close")),
        (
            HeaderName::from_static("x-request-id"),
            Template::parse("$request_id").expect("valid"),
        ),
    ];
    for (name, value) in own {
        match set.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => set.push((name.clone(), value.clone())),
        }
    }
    set
}

/// `proxy_pass http://host[:port][/uri]`, where host may name an `upstream`.
fn proxy_pass(b: &mut Builder<'_>, d: &Directive, location: &mut LocationDraft) -> SetResult {
    if location.proxy.is_some() {
        return Err(d.error("\"proxy_pass\" directive is duplicate"));
    }
    let url = &d.args[0];
    let Some(rest) = url.strip_prefix("http://") else {
        if url.starts_with("https://") {
            return Err(d.error(format!(
                "https upstreams are not supported by wsgi-tutor: \"{url}\""
            )));
        }
        return Err(d.error(format!("invalid URL prefix in \"{url}\"")));
    };
    if url.contains('$') {
        return Err(d.error("variables in \"proxy_pass\" are not supported by wsgi-tutor"));
    }
    let (hostport, uri) = match rest.find('/') {
        Some(at) => (&rest[..at], Some(rest[at..].to_owned())),
        None => (rest, None),
    };
    if uri.is_some() && location.is_regex() {
        return Err(
            d.error("\"proxy_pass\" cannot have URI part in location given by regular expression")
        );
    }
    let upstream = if let Some(up) = b.upstreams.get(hostport) {
        up.clone()
    } else {
        let addr = resolve_addr(hostport, 80)
            .map(|a| b.remap(a))
            .map_err(|why| d.error(format!("{why} in upstream \"{hostport}\"")))?;
        let peers = vec![(hostport.to_owned(), addr)];
        Arc::new(Upstream::new(
            hostport.to_owned(),
            peers,
            KeepAlive::default(),
        ))
    };
    location.proxy = Some(ProxyPass {
        upstream,
        uri,
        proxy_host: hostport.strip_suffix(":80").unwrap_or(hostport).to_owned(),
        location_prefix: location.pattern.clone(),
        display: url.clone(),
    });
    Ok(())
}

fn proxy_set_header(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let name = header_name(d, &d.args[0])?;
    let value = template(d, &d.args[1])?;
    level.proxy.set_header.push((name, value));
    Ok(())
}

fn proxy_http_version(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.proxy.http_version = Some(match d.args[0].as_str() {
        "1.0" => HttpVersion::Http10,
        "1.1" => HttpVersion::Http11,
        other => {
            return Err(d.error(format!(
                "invalid value \"{other}\" in \"proxy_http_version\" directive, it must be \"1.0\" or \"1.1\""
            )));
        }
    });
    Ok(())
}

fn proxy_connect_timeout(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.proxy.connect_timeout = Some(time_arg(d)?);
    Ok(())
}

fn proxy_read_timeout(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.proxy.read_timeout = Some(time_arg(d)?);
    Ok(())
}
