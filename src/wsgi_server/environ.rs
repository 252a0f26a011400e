//! The PEP 3333 environ: the dictionary an application receives, built from one HTTP
//! request.
//!
//! The arbiter builds the CGI part here, in Rust, as (key, value) pairs whose values are
//! the raw bytes the worker turns into latin-1 `str`s: so `PATH_INFO` holds the
//! percent-decoded path byte for byte, exactly as PEP 3333 asks of "native strings". The
//! worker adds the Python objects (`wsgi.input`, `wsgi.errors`, `wsgi.version`, ...).
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the peer is this
//! machine (gunicorn's `forwarded_allow_ips` default): then the web server in front is the
//! peer, and it knows the real client and scheme.

use std::net::SocketAddr;

use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{HeaderMap, Method, Uri, Version};
use percent_encoding::percent_decode;

/// The request fields the environ is made of.
pub struct RequestHead<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// The CGI part of one environ, in order; values are raw (latin-1) bytes.
#[derive(Debug, Default, Clone)]
pub struct Environ {
    pub vars: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvironError {
    #[error("the path decodes to a NUL byte, which no environ string may hold")]
    NulInPath,
}

/// Longest value the trace shows before cutting it.
const TRACE_VALUE_MAX: usize = 300;

impl Environ {
    pub fn build(req: &RequestHead<'_>) -> Result<Environ, EnvironError> {
        let mut vars: Vec<(String, Vec<u8>)> = Vec::with_capacity(24 + req.headers.len());
        let mut set = |k: &str, v: Vec<u8>| vars.push((k.to_owned(), v));

        let path = req.uri.path();
        let decoded: Vec<u8> = percent_decode(path.as_bytes()).collect();
        if decoded.contains(&0) {
            return Err(EnvironError::NulInPath);
        }
        // gunicorn's forwarded_allow_ips default: "127.0.0.1,::1".
        let trusted = match req.peer.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => {
                ip == std::net::Ipv6Addr::LOCALHOST
                    || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
            }
        };
        let forwarded_proto = header_str(req.headers, "x-forwarded-proto")
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| trusted && (p == "https" || p == "http"));
        let scheme = forwarded_proto.as_deref().unwrap_or("http").to_owned();
        let remote = header_str(req.headers, "x-forwarded-for")
            .filter(|_| trusted)
            // The last entry is the one our web server added: the peer it saw. Entries
            // before it were sent by the client and could say anything.
            .and_then(|v| v.rsplit(',').next().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| req.peer.ip().to_string());

        set("REQUEST_METHOD", req.method.as_str().into());
        set("SCRIPT_NAME", Vec::new());
        set("PATH_INFO", decoded);
        set(
            "QUERY_STRING",
            req.uri.query().unwrap_or_default().as_bytes().to_vec(),
        );
        let target = req
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .as_bytes()
            .to_vec();
        set("RAW_URI", target);
        set(
            "CONTENT_TYPE",
            req.headers
                .get(CONTENT_TYPE)
                .map(|v| v.as_bytes().to_vec())
                .unwrap_or_default(),
        );
        set(
            "CONTENT_LENGTH",
            req.headers
                .get(CONTENT_LENGTH)
                .map(|v| v.as_bytes().to_vec())
                .unwrap_or_default(),
        );
        let default_port = if scheme == "https" { 443 } else { 80 };
        let (server_name, server_port) = match header_str(req.headers, HOST.as_str())
            .or_else(|| req.uri.authority().map(|a| a.as_str()))
        {
            Some(host) => split_host(host, default_port),
            None => (req.local.ip().to_string(), req.local.port()),
        };
        set("SERVER_NAME", server_name.into_bytes());
        set("SERVER_PORT", server_port.to_string().into_bytes());
        set("SERVER_PROTOCOL", version_str(req.version).into());
        set("SERVER_SOFTWARE", b"wsgi-tutor".to_vec());
        set("REMOTE_ADDR", remote.into_bytes());
        set("REMOTE_PORT", req.peer.port().to_string().into_bytes());
        set("wsgi.url_scheme", scheme.into_bytes());

        for name in req.headers.keys() {
            if name == CONTENT_TYPE || name == CONTENT_LENGTH {
                continue;
            }
            // `X-Foo_Bar` and `X-Foo-Bar` would both become HTTP_X_FOO_BAR; a client could
            // use that to smuggle a header past a proxy that checks one spelling. gunicorn
            // drops names with underscores for that reason, and so do we.
            if name.as_str().contains('_') {
                continue;
            }
            let mut key = String::with_capacity(5 + name.as_str().len());
            key.push_str("HTTP_");
            for c in name.as_str().chars() {
                key.push(if c == '-' {
                    '_'
                } else {
                    c.to_ascii_uppercase()
                });
            }
            // Repeated headers are joined into one value, as one header line would carry
            // them (cookies with "; ", which is how a Cookie header separates them).
            let separator: &[u8] = if name == hyper::header::COOKIE {
                b"; "
            } else {
                b", "
            };
            let mut value = Vec::new();
            for (i, v) in req.headers.get_all(name).iter().enumerate() {
                if i > 0 {
                    value.extend_from_slice(separator);
                }
                value.extend_from_slice(v.as_bytes());
            }
            vars.push((key, value));
        }
        Ok(Environ { vars })
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// A value as Python will see it: each byte one character (latin-1).
    pub fn get_str(&self, key: &str) -> String {
        self.get(key).map(latin1).unwrap_or_default()
    }

    /// The blob the worker splits: `key\0value\0key\0value`.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.vars.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut out = Vec::with_capacity(size);
        for (i, (k, v)) in self.vars.iter().enumerate() {
            if i > 0 {
                out.push(0);
            }
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v);
        }
        out
    }

    /// The whole environ as the application sees it, long values cut, for the trace.
    pub fn for_trace(&self, input_len: Option<u64>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), shorten(latin1(v))))
            .collect();
        let input = match input_len {
            Some(n) => format!("<wsgi.input: {n} bytes>"),
            None => "<wsgi.input: streamed>".to_owned(),
        };
        for (k, v) in [
            ("wsgi.version", "(1, 0)"),
            ("wsgi.input", input.as_str()),
            ("wsgi.errors", "<sys.stderr of the worker>"),
            ("wsgi.multithread", "False"),
            ("wsgi.multiprocess", "True"),
            ("wsgi.run_once", "False"),
        ] {
            out.push((k.to_owned(), v.to_owned()));
        }
        out.sort();
        out
    }
}

/// Bytes as latin-1 text: byte N becomes U+00NN.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn shorten(mut s: String) -> String {
    if s.chars().count() > TRACE_VALUE_MAX {
        s = s.chars().take(TRACE_VALUE_MAX).collect();
        s.push('…');
    }
    s
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn version_str(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// `example.com:8080` → ("example.com", 8080); `[::1]` → ("::1", default).
fn split_host(host: &str, default_port: u16) -> (String, u16) {
    if let Some((addr, tail)) = host.strip_prefix('[').and_then(|r| r.split_once(']')) {
        let port = tail
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default_port);
        return (addr.to_owned(), port);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => {
            (name.to_owned(), port.parse().expect("checked"))
        }
        _ => (host.to_owned(), default_port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environ_of(target: &str, headers: &[(&str, &str)], peer: &str) -> Environ {
        let uri: Uri = target.parse().unwrap();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        Environ::build(&RequestHead {
            method: &Method::GET,
            uri: &uri,
            version: Version::HTTP_11,
            headers: &map,
            peer: peer.parse().unwrap(),
            local: "127.0.0.1:8000".parse().unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn environ_table() {
        let local = "127.0.0.1:50000";
        let remote = "192.0.2.7:50000";
        // (target, headers, peer, key, expected value as Python sees it)
        type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);
        let table: &[Row] = &[
            ("/a%20b", &[], local, "PATH_INFO", "/a b"),
            ("/caf%C3%A9", &[], local, "PATH_INFO", "/cafÃ©"),
            ("/x?q=1&r=%20", &[], local, "QUERY_STRING", "q=1&r=%20"),
            ("/x?q=1", &[], local, "RAW_URI", "/x?q=1"),
            ("/", &[], local, "QUERY_STRING", ""),
            ("/", &[], local, "SCRIPT_NAME", ""),
            ("/", &[], local, "REQUEST_METHOD", "GET"),
            ("/", &[], local, "SERVER_PROTOCOL", "HTTP/1.1"),
            (
                "/",
                &[("host", "example.com:8080")],
                local,
                "SERVER_NAME",
                "example.com",
            ),
            (
                "/",
                &[("host", "example.com:8080")],
                local,
                "SERVER_PORT",
                "8080",
            ),
            ("/", &[("host", "example.com")], local, "SERVER_PORT", "80"),
            ("/", &[("host", "[::1]:9000")], local, "SERVER_NAME", "::1"),
            ("/", &[], local, "SERVER_NAME", "127.0.0.1"),
            ("/", &[], local, "SERVER_PORT", "8000"),
            (
                "/",
                &[("content-type", "text/plain")],
                local,
                "CONTENT_TYPE",
                "text/plain",
            ),
            (
                "/",
                &[("content-length", "5")],
                local,
                "CONTENT_LENGTH",
                "5",
            ),
            ("/", &[], local, "CONTENT_LENGTH", ""),
            (
                "/",
                &[("x-a", "1"), ("x-a", "2")],
                local,
                "HTTP_X_A",
                "1, 2",
            ),
            (
                "/",
                &[("cookie", "a=1"), ("cookie", "b=2")],
                local,
                "HTTP_COOKIE",
                "a=1; b=2",
            ),
            (
                "/",
                &[("user-agent", "curl/8")],
                local,
                "HTTP_USER_AGENT",
                "curl/8",
            ),
            (
                "/",
                &[("x-latin", "caf\u{e9}")],
                local,
                "HTTP_X_LATIN",
                "cafÃ©",
            ),
            ("/", &[], local, "REMOTE_ADDR", "127.0.0.1"),
            (
                "/",
                &[("x-forwarded-for", "10.0.0.1, 10.0.0.2")],
                local,
                "REMOTE_ADDR",
                "10.0.0.2",
            ),
            (
                "/",
                &[("x-forwarded-for", "10.0.0.1")],
                remote,
                "REMOTE_ADDR",
                "192.0.2.7",
            ),
            (
                "/",
                &[("x-forwarded-proto", "https")],
                local,
                "wsgi.url_scheme",
                "https",
            ),
            (
                "/",
                &[("x-forwarded-proto", "https")],
                remote,
                "wsgi.url_scheme",
                "http",
            ),
            ("/", &[], local, "wsgi.url_scheme", "http"),
            (
                "/",
                &[("x-forwarded-proto", "https"), ("host", "h")],
                local,
                "SERVER_PORT",
                "443",
            ),
        ];
        let mut failures = Vec::new();
        for (target, headers, peer, key, want) in table {
            let env = environ_of(target, headers, peer);
            let got = env.get(key).map(latin1);
            if got.as_deref() != Some(*want) {
                failures.push(format!(
                    "{target} {headers:?} {key}: got {got:?}, want {want:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn content_headers_and_underscored_names_are_not_http_keys() {
        let env = environ_of(
            "/",
            &[
                ("content-type", "a/b"),
                ("content-length", "0"),
                ("x_sneaky", "1"),
            ],
            "127.0.0.1:1",
        );
        assert!(env.get("HTTP_CONTENT_TYPE").is_none());
        assert!(env.get("HTTP_CONTENT_LENGTH").is_none());
        assert!(env.get("HTTP_X_SNEAKY").is_none());
    }

    #[test]
    fn nul_in_path_is_refused() {
        let uri: Uri = "/a%00b".parse().unwrap();
        let headers = HeaderMap::new();
        let result = Environ::build(&RequestHead {
            method: &Method::GET,
            uri: &uri,
            version: Version::HTTP_10,
            headers: &headers,
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:2".parse().unwrap(),
        });
        assert_eq!(result.unwrap_err(), EnvironError::NulInPath);
    }

    #[test]
    fn encoding_is_key_nul_value_pairs() {
        let env = Environ {
            vars: vec![("A".into(), b"1".to_vec()), ("B".into(), Vec::new())],
        };
        assert_eq!(env.encode(), b"A\x001\x00B\x00");
        let trace = env.for_trace(Some(0));
        assert!(
            trace
                .iter()
                .any(|(k, v)| k == "wsgi.version" && v == "(1, 0)")
        );
    }
}
