//! One finished request as the tutor saw it, hop by hop, and the words a task uses to
//! talk about it: who answered, which server it arrived at, where a header was seen.

use serde::Deserialize;

/// Which layer wrote a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedBy {
    /// The web server, from disk (a file, a listing, or its refusal).
    Static,
    /// The application, through the WSGI server.
    Wsgi,
    /// The web server itself: 502, 504, 413, 400, 414.
    WebError,
    /// The WSGI server instead of the application: exception, broken rule, timeout.
    WsgiError,
}

impl ServedBy {
    pub fn describe(self) -> &'static str {
        match self {
            ServedBy::Static => "the web server answered it from disk",
            ServedBy::Wsgi => "the application answered it, through the WSGI server",
            ServedBy::WebError => "the web server answered it with an error of its own",
            ServedBy::WsgiError => {
                "the WSGI server answered it with an error instead of the application"
            }
        }
    }
}

/// How a request reached the WSGI server, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    WebServer,
    Direct,
}

/// Where along the way a header is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderHop {
    Request,
    Upstream,
    Environ,
    Response,
}

impl HeaderHop {
    pub(super) fn describe(self) -> &'static str {
        match self {
            HeaderHop::Request => "in the request as the client sent it",
            HeaderHop::Upstream => "in the request the web server forwarded",
            HeaderHop::Environ => "in the environ the application received",
            HeaderHop::Response => "in the response the client received",
        }
    }
}

/// One finished request as the tutor saw it, hop by hop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub status: u16,
    /// None for a `return` answered by the web server's configuration.
    pub served_by: Option<ServedBy>,
    /// Which server it arrived at first (None if unknown).
    pub via: Option<Via>,
    pub request_headers: Vec<(String, String)>,
    pub upstream_headers: Vec<(String, String)>,
    pub environ: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub queued: bool,
    /// When a worker took it and when the application finished (µs, monotonic).
    pub in_app: Option<(u64, u64)>,
    /// Which request this is, when known: a later, fuller look at the same request
    /// replaces the earlier one instead of counting twice.
    pub request: Option<u64>,
}

impl Observation {
    pub(super) fn header(&self, hop: HeaderHop, name: &str) -> Option<&str> {
        let (list, exact) = match hop {
            HeaderHop::Request => (&self.request_headers, false),
            HeaderHop::Upstream => (&self.upstream_headers, false),
            HeaderHop::Environ => (&self.environ, true),
            HeaderHop::Response => (&self.response_headers, false),
        };
        list.iter()
            .find(|(n, _)| {
                if exact {
                    n == name
                } else {
                    n.eq_ignore_ascii_case(name)
                }
            })
            .map(|(_, v)| v.as_str())
    }
}
