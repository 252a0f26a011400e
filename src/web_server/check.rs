//! The first phase: is this a request nginx would take? Line and header sizes, the method,
//! framing, Host and the URI are checked before anything else looks at them (400, 414,
//! 494), and `$host`, `$uri` and `$args` are set.

use hyper::header;
use hyper::{Uri, Version};

use super::config::Config;
use super::exchange::Exchange;
use super::log::Level;
use super::responses::{Answer, Phase};
use super::{server, uri};

/// nginx's `large_client_header_buffers 4 8k`: one line may be 8 KiB, all of them 32 KiB.
const MAX_LINE: usize = 8 * 1024;
const MAX_HEADERS_TOTAL: usize = 32 * 1024;

pub fn request(x: &mut Exchange, config: &Config, target: &Uri) -> Phase {
    // Until the Host header is known to be good, the default server is in charge.
    x.server = Some(server::select(config, &x.conn.listen, ""));
    match refusal(x, target) {
        Some(status) => Phase::Break(Answer::Status(status)),
        None => Phase::Continue(()),
    }
}

/// The checks in nginx's order; the first that fails answers.
fn refusal(x: &mut Exchange, target: &Uri) -> Option<u16> {
    sizes(x)
        .or_else(|| method_and_headers(x))
        .or_else(|| host(x, target))
        .or_else(|| path(x, target))
}

/// An `info` line in the error log, as nginx writes for a client's mistakes, and the status.
fn refuse(x: &Exchange, status: u16, message: &str) -> Option<u16> {
    x.log(Level::Info, format!("{message}{}", x.context(None)));
    Some(status)
}

fn sizes(x: &Exchange) -> Option<u16> {
    let request_line = x.method.as_str().len() + x.raw_path_and_query.len() + 10;
    if request_line > MAX_LINE {
        return refuse(
            x,
            414,
            "client sent too long URI while reading client request line",
        );
    }
    let mut total = request_line;
    for (name, value) in &x.headers {
        let line = name.as_str().len() + value.len() + 4;
        total += line;
        if line > MAX_LINE || total > MAX_HEADERS_TOTAL {
            return refuse(x, 494, "client sent too long header line");
        }
    }
    None
}

fn method_and_headers(x: &mut Exchange) -> Option<u16> {
    // nginx accepts only methods of capital letters (and `_`); `get` is not GET.
    if !x
        .method
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_')
    {
        return refuse(
            x,
            400,
            "client sent invalid method while reading client request line",
        );
    }
    // Both framings at once is how request smuggling starts; nginx refuses it.
    if x.headers.contains_key(header::CONTENT_LENGTH)
        && x.headers.contains_key(header::TRANSFER_ENCODING)
    {
        return refuse(
            x,
            400,
            "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time while reading client request headers",
        );
    }
    // nginx ignores header names with underscores (underscores_in_headers off), which keeps
    // `X_Forwarded_For` from passing as `X-Forwarded-For` in CGI-style environs upstream.
    let underscored: Vec<_> = x
        .headers
        .keys()
        .filter(|k| k.as_str().contains('_'))
        .cloned()
        .collect();
    for name in underscored {
        let message = format!(
            "client sent invalid header line: \"{name}\" while reading client request headers"
        );
        let _ = refuse(x, 400, &message);
        x.headers.remove(&name);
    }
    None
}

/// `$host`, from the request line's authority or the one Host header.
fn host(x: &mut Exchange, target: &Uri) -> Option<u16> {
    let host_header = match target.authority() {
        Some(authority) => Some(authority.as_str().to_owned()),
        None => match x.headers.get_all(header::HOST).iter().count() {
            0 => None,
            1 => x
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned),
            _ => return refuse(x, 400, "client sent duplicate host header"),
        },
    };
    match host_header.map(|host| valid_host(&host)) {
        Some(Some(host)) => x.host = host,
        Some(None) => {
            return refuse(
                x,
                400,
                "client sent invalid host header while reading client request headers",
            );
        }
        None if x.version == Version::HTTP_11 => {
            return refuse(
                x,
                400,
                "client sent HTTP/1.1 request without \"Host\" header while reading client request headers",
            );
        }
        None => {}
    }
    None
}

/// `$uri` (decoded, normalised) and `$args`.
fn path(x: &mut Exchange, target: &Uri) -> Option<u16> {
    x.args = target.query().map(str::to_owned);
    if target.scheme().is_none() && !x.raw_path_and_query.starts_with('/') {
        return refuse(x, 400, "client sent invalid request");
    }
    match uri::normalize(target.path()) {
        Ok(normalized) => x.uri = normalized,
        Err(err) => return refuse(x, 400, &format!("{err} while reading client request line")),
    }
    None
}

/// The Host header as `$host`: lowercased, port removed; None when it is not a valid name.
fn valid_host(host: &str) -> Option<String> {
    // nginx's rules: the port after the last colon is dropped unchecked; the name must be
    // non-empty, without "..", slashes, backslashes, NUL or white space.
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        &host[..=end]
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty()
        || name.contains("..")
        || name.starts_with('.')
        || name
            .bytes()
            .any(|b| b == b'/' || b == b'\\' || b == 0 || b.is_ascii_whitespace())
    {
        return None;
    }
    Some(name.to_ascii_lowercase())
}
