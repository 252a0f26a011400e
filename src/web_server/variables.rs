//! nginx variables (`$host`, `$request_id`, `$http_user_agent`, ...) in directive values.
//!
//! A value like `"$scheme://$host$request_uri"` is parsed once, when the configuration is
//! read, into a [`Template`]; unknown variables are configuration errors, as in nginx. At
//! request time the template asks a [`VarSource`] (the request being served) for each value.

use std::fmt::Write;

use hyper::header::{self, HeaderMap};

use super::config::DocRoot;
use super::exchange::Exchange;
use super::log::local_offset;
use super::upstream::Attempt;

/// A variable the web server knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Host,
    RemoteAddr,
    RemotePort,
    RemoteUser,
    ProxyAddXForwardedFor,
    Scheme,
    RequestUri,
    Uri,
    Args,
    IsArgs,
    RequestId,
    RequestMethod,
    Request,
    ServerProtocol,
    ServerAddr,
    ServerPort,
    ServerName,
    ProxyHost,
    DocumentRoot,
    ContentLength,
    ContentType,
    Status,
    BodyBytesSent,
    BytesSent,
    RequestTime,
    TimeLocal,
    TimeIso8601,
    Msec,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamResponseTime,
    /// `$http_x_forwarded_for`: a request header, `_` for `-`.
    Http(String),
    /// `$sent_http_content_type`: a response header.
    SentHttp(String),
    /// `$arg_name`: a query argument.
    Arg(String),
    /// `$cookie_name`.
    Cookie(String),
}

impl Var {
    fn from_name(name: &str) -> Option<Var> {
        let var = match name {
            "host" => Var::Host,
            "remote_addr" => Var::RemoteAddr,
            "remote_port" => Var::RemotePort,
            "remote_user" => Var::RemoteUser,
            "proxy_add_x_forwarded_for" => Var::ProxyAddXForwardedFor,
            "scheme" => Var::Scheme,
            "request_uri" => Var::RequestUri,
            "uri" | "document_uri" => Var::Uri,
            "args" | "query_string" => Var::Args,
            "is_args" => Var::IsArgs,
            "request_id" => Var::RequestId,
            "request_method" => Var::RequestMethod,
            "request" => Var::Request,
            "server_protocol" => Var::ServerProtocol,
            "server_addr" => Var::ServerAddr,
            "server_port" => Var::ServerPort,
            "server_name" => Var::ServerName,
            "proxy_host" => Var::ProxyHost,
            "document_root" => Var::DocumentRoot,
            "content_length" => Var::ContentLength,
            "content_type" => Var::ContentType,
            "status" => Var::Status,
            "body_bytes_sent" => Var::BodyBytesSent,
            "bytes_sent" => Var::BytesSent,
            "request_time" => Var::RequestTime,
            "time_local" => Var::TimeLocal,
            "time_iso8601" => Var::TimeIso8601,
            "msec" => Var::Msec,
            "upstream_addr" => Var::UpstreamAddr,
            "upstream_status" => Var::UpstreamStatus,
            "upstream_response_time" => Var::UpstreamResponseTime,
            _ => {
                let (prefix, rest) = name.split_once('_')?;
                if rest.is_empty() {
                    return None;
                }
                match (prefix, name) {
                    ("http", _) => Var::Http(rest.replace('_', "-")),
                    ("arg", _) => Var::Arg(rest.to_owned()),
                    ("cookie", _) => Var::Cookie(rest.to_owned()),
                    ("sent", n) if n.starts_with("sent_http_") => {
                        Var::SentHttp(n["sent_http_".len()..].replace('_', "-"))
                    }
                    _ => return None,
                }
            }
        };
        Some(var)
    }
}

/// Where variable values come from: the request being served.
pub trait VarSource {
    fn write_var(&self, var: &Var, out: &mut String);
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Var),
}

/// A directive value with variables in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parse `text`; the error is nginx's message for an unknown variable.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            let (name, after) = if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| {
                    format!("the closing bracket in \"{text}\" variable is missing")
                })?;
                (&inner[..end], &inner[end + 1..])
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            if name.is_empty() {
                return Err(format!("invalid variable name in \"{text}\""));
            }
            let var = Var::from_name(name).ok_or_else(|| format!("unknown \"{name}\" variable"))?;
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var(var));
            rest = after;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Literal(text.to_owned())],
        }
    }

    /// The value, with every variable filled in by `source`.
    pub fn render(&self, source: &dyn VarSource) -> String {
        if let [Part::Literal(text)] = self.parts.as_slice() {
            return text.clone();
        }
        let mut out = String::new();
        self.render_into(source, &mut out);
        out
    }

    pub fn render_into(&self, source: &dyn VarSource, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(var) => source.write_var(var, out),
            }
        }
    }

    /// Whether the template uses a kind of variable (a log format needing response data).
    pub fn mentions_any(&self, pred: impl Fn(&Var) -> bool) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var(v) if pred(v)))
    }
}

/// Write a number without allocating.
pub fn push_num(out: &mut String, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

/// The request's own values: what a template in the configuration sees.
impl VarSource for Exchange {
    // One arm per variable: the match is the table of variables, and splitting it would
    // only scatter the table.
    fn write_var(&self, var: &Var, out: &mut String) {
        match var {
            Var::Host => out.push_str(&self.host),
            Var::RemoteAddr => push_num(out, self.conn.peer.ip()),
            Var::RemotePort => push_num(out, self.conn.peer.port()),
            Var::RemoteUser => {}
            Var::ProxyAddXForwardedFor => {
                if let Some(previous) = self
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                {
                    out.push_str(previous);
                    out.push_str(", ");
                }
                push_num(out, self.conn.peer.ip());
            }
            Var::Scheme => out.push_str("http"),
            Var::RequestUri => out.push_str(&self.raw_path_and_query),
            Var::Uri => out.push_str(&String::from_utf8_lossy(&self.uri)),
            Var::Args => out.push_str(self.args.as_deref().unwrap_or("")),
            Var::IsArgs => {
                if self.args.is_some() {
                    out.push('?');
                }
            }
            Var::RequestId => out.push_str(&self.id),
            Var::RequestMethod => out.push_str(self.method.as_str()),
            Var::Request => out.push_str(&self.request_line()),
            Var::ServerProtocol => push_num(out, format_args!("{:?}", self.version)),
            Var::ServerAddr => push_num(out, self.conn.local.ip()),
            Var::ServerPort => push_num(out, self.conn.local.port()),
            Var::ServerName => {
                if let Some(name) = self.server.as_ref().and_then(|s| s.names.first()) {
                    out.push_str(name);
                }
            }
            Var::ProxyHost => {}
            Var::DocumentRoot => {
                if let Some(conf) = &self.conf {
                    let (DocRoot::Root(dir) | DocRoot::Alias { dir, .. }) = &conf.doc_root;
                    out.push_str(&dir.to_string_lossy());
                }
            }
            Var::ContentLength => header_value(&self.headers, "content-length", out),
            Var::ContentType => header_value(&self.headers, "content-type", out),
            Var::Status => push_num(out, format_args!("{:03}", self.status)),
            Var::BodyBytesSent => push_num(out, self.bytes_sent),
            Var::BytesSent => push_num(out, self.bytes_sent),
            Var::RequestTime => push_seconds(out, self.started.elapsed()),
            Var::TimeLocal => push_local_time(
                out,
                time::macros::format_description!(
                    "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
                ),
            ),
            Var::TimeIso8601 => push_local_time(
                out,
                time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
                ),
            ),
            Var::Msec => push_seconds(
                out,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
            Var::UpstreamAddr => self.each_attempt(out, |a, out| out.push_str(&a.addr)),
            // A server that never answered shows as 502, as nginx logs it.
            Var::UpstreamStatus => {
                self.each_attempt(out, |a, out| push_num(out, a.status.unwrap_or(502)));
            }
            Var::UpstreamResponseTime => self.each_attempt(out, |a, out| push_seconds(out, a.time)),
            Var::Http(name) => {
                let values: Vec<&str> = self
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                let sep = if name == "cookie" { "; " } else { ", " };
                out.push_str(&values.join(sep));
            }
            Var::SentHttp(name) => header_value(&self.response_headers, name, out),
            Var::Arg(name) => out.push_str(self.arg(name).unwrap_or("")),
            Var::Cookie(name) => out.push_str(self.cookie(name).unwrap_or("")),
        }
    }
}

fn header_value(headers: &HeaderMap, name: &str, out: &mut String) {
    if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
        out.push_str(value);
    }
}

/// Seconds with milliseconds, as nginx prints times (`0.004`).
fn push_seconds(out: &mut String, t: std::time::Duration) {
    push_num(
        out,
        format_args!("{}.{:03}", t.as_secs(), t.subsec_millis()),
    );
}

fn push_local_time(out: &mut String, format: &[time::format_description::FormatItem<'_>]) {
    let now = time::OffsetDateTime::now_utc().to_offset(local_offset());
    out.push_str(&now.format(format).unwrap_or_default());
}

impl Exchange {
    /// `$arg_name`: the first query argument of that name, in any case.
    fn arg(&self, name: &str) -> Option<&str> {
        self.args.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    }

    /// `$cookie_name`: the first cookie of that name, across Cookie headers.
    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| {
                let pair = pair.trim();
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k == name).then_some(v)
            })
    }

    /// `$upstream_*`: one value per server tried, separated as nginx does.
    fn each_attempt(&self, out: &mut String, write: impl Fn(&Attempt, &mut String)) {
        for (i, attempt) in self.attempts.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write(attempt, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl VarSource for Fixed {
        fn write_var(&self, var: &Var, out: &mut String) {
            match var {
                Var::Host => out.push_str("example.com"),
                Var::RequestUri => out.push_str("/a?b=1"),
                Var::Http(name) => {
                    out.push_str("H:");
                    out.push_str(name);
                }
                other => out.push_str(&format!("<{other:?}>")),
            }
        }
    }

    #[test]
    fn templates_fill_in_variables() {
        let cases = [
            ("plain", "plain"),
            ("$host", "example.com"),
            ("https://$host$request_uri", "https://example.com/a?b=1"),
            ("${host}x", "example.comx"),
            ("$http_x_forwarded_for!", "H:x-forwarded-for!"),
            ("a$ b", "a$ b"),
        ];
        for (text, want) in cases {
            match Template::parse(text) {
                Ok(t) => assert_eq!(t.render(&Fixed), want, "{text}"),
                Err(e) => assert_eq!(text, "a$ b", "{text}: {e}"),
            }
        }
    }

    #[test]
    fn unknown_variables_are_errors_worded_like_nginx() {
        assert_eq!(
            Template::parse("$hots").unwrap_err(),
            "unknown \"hots\" variable"
        );
        assert_eq!(
            Template::parse("$http_").unwrap_err(),
            "unknown \"http_\" variable"
        );
        assert!(Template::parse("${host").is_err());
    }
}
