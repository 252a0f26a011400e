//! nginx's argument syntaxes shared by several modules: flags, times, sizes, addresses,
//! header names and templates, each failing with nginx's message for its directive.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use hyper::header::HeaderName;

use super::ConfigError;
use super::syntax::Directive;
use crate::web_server::variables::Template;

/// The `on` / `off` of a `FLAG` directive.
pub(super) fn on_off(d: &Directive) -> Result<bool, ConfigError> {
    match d.args[0].as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(d.error(format!(
            "invalid value \"{other}\" in \"{}\" directive, it must be \"on\" or \"off\"",
            d.name
        ))),
    }
}

/// nginx time values: `60`, `60s`, `1m`, `500ms`, `1h`, and sums like `1m30s`.
pub(super) fn parse_time(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "" | "s" => 1000,
            "ms" => 1,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ms = total_ms.checked_add(n.checked_mul(factor)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

/// nginx sizes: `1024`, `10k`, `1m`, `1g` (either case).
pub(super) fn parse_size(text: &str) -> Option<u64> {
    let (digits, factor) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1024),
        b'm' | b'M' => (&text[..text.len() - 1], 1024 * 1024),
        b'g' | b'G' => (&text[..text.len() - 1], 1024 * 1024 * 1024),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

/// The time a timeout directive's first argument gives (a second one is accepted unread,
/// as `keepalive_timeout 75s 60s` has one).
pub(super) fn time_arg(d: &Directive) -> Result<Duration, ConfigError> {
    parse_time(&d.args[0]).ok_or_else(|| d.error(format!("\"{}\" directive invalid value", d.name)))
}

pub(super) fn size_arg(d: &Directive) -> Result<u64, ConfigError> {
    parse_size(&d.args[0]).ok_or_else(|| d.error(format!("\"{}\" directive invalid value", d.name)))
}

pub(super) fn template(d: &Directive, text: &str) -> Result<Template, ConfigError> {
    Template::parse(text).map_err(|message| d.error(message))
}

pub(super) fn header_name(d: &Directive, text: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(text.as_bytes())
        .map_err(|_| d.error(format!("invalid header name \"{text}\"")))
}

/// `host[:port]` → an address, the first one the name resolves to (IPv4 preferred, as the
/// tutor's stack listens on 127.0.0.1).
pub(super) fn resolve_addr(text: &str, default_port: u16) -> Result<SocketAddr, &'static str> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| "invalid port")?),
        None => (text, default_port),
    };
    if host.is_empty() {
        return Err("no host");
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| {
            let all: Vec<SocketAddr> = addrs.by_ref().collect();
            all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
        })
        .ok_or("host not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes() {
        assert_eq!(parse_time("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_time("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_time("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_time("1x"), None);
        assert_eq!(parse_size("1m"), Some(1024 * 1024));
        assert_eq!(parse_size("10K"), Some(10 * 1024));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("m"), None);
    }
}
