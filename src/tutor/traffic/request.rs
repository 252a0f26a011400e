//! One request as the traffic model knows it: the parts each hop filled in, and what is
//! derived from them (the layer that served it, where it entered, where the time went, the
//! lessons' view of it). Derived, never stored, so a late hop changes the answer.

use crate::trace::{Handler, Header, Process};

/// Which layer wrote the response the client got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedBy {
    /// The web server, from a static location (a file, a listing, or its refusal).
    Static,
    /// The application, through the WSGI server (whatever the status).
    Wsgi,
    /// The web server itself, with no file and no answer from upstream (502, 504, 413...).
    WebError,
    /// The WSGI server instead of the application (exception, PEP 3333 violation, timeout).
    WsgiError,
    /// nginx's `return` directive.
    Return,
}

impl ServedBy {
    pub fn label(self) -> &'static str {
        match self {
            ServedBy::Static => "static",
            ServedBy::Wsgi => "WSGI",
            ServedBy::WebError => "web error",
            ServedBy::WsgiError => "WSGI error",
            ServedBy::Return => "return",
        }
    }
}

/// Where the request entered the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    WebServer,
    /// Sent straight to the WSGI server's port, bypassing the web server.
    Direct,
}

/// A response as one server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub ts_us: u64,
    pub status: u16,
    pub bytes: u64,
    pub total_us: u64,
    pub headers: Vec<Header>,
}

/// The request as the web server passed it upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    pub ts_us: u64,
    pub upstream: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<Header>,
    pub added: Vec<Header>,
}

/// The request as a server received it from its client.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub ts_us: u64,
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<Header>,
    pub peer: String,
}

/// Time spent in each part, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    pub web_us: u64,
    pub queue_us: u64,
    pub app_us: u64,
    pub total_us: u64,
}

/// One request, as much of it as has been seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// Arrival order, unique for the session.
    pub seq: u64,
    pub id: String,
    pub web_received: Option<Received>,
    /// The `location` block chosen and its content handler.
    pub location: Option<(String, Handler)>,
    pub static_served: Option<(String, u16)>,
    pub forwarded: Option<Forwarded>,
    pub upstream_answered: Option<(u16, u64)>,
    pub web_response: Option<Response>,
    pub wsgi_received: Option<Received>,
    pub queued: Option<usize>,
    /// The worker that took the request and when.
    pub dispatched: Option<(u32, u64)>,
    pub environ: Vec<(String, String)>,
    pub start_response: Option<(String, Vec<Header>)>,
    pub app_error: Option<(String, String, Option<String>)>,
    pub finished: Option<(u64, Timing)>,
    pub wsgi_response: Option<Response>,
    pub errors: Vec<(Process, String)>,
    /// What the app printed while its worker served this request (the first lines).
    pub app_output: Vec<String>,
}

impl Request {
    /// The request line as the client sent it, from the first server that saw it.
    pub fn client_request(&self) -> Option<&Received> {
        self.web_received.as_ref().or(self.wsgi_received.as_ref())
    }

    pub fn via(&self) -> Via {
        if self.web_received.is_some() || self.forwarded.is_some() || self.web_response.is_some() {
            return Via::WebServer;
        }
        // A request proxied by the web server carries its id as X-Request-Id.
        let tagged = self.wsgi_received.as_ref().is_some_and(|r| {
            r.headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("x-request-id") && *v == self.id)
        });
        if tagged { Via::WebServer } else { Via::Direct }
    }

    pub fn method(&self) -> &str {
        self.client_request().map_or("?", |r| r.method.as_str())
    }

    pub fn target(&self) -> &str {
        self.client_request().map_or("?", |r| r.target.as_str())
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(p, _)| p)
    }

    /// The response the client got, once it went out.
    pub fn client_response(&self) -> Option<&Response> {
        match self.via() {
            Via::WebServer => self.web_response.as_ref(),
            Via::Direct => self.wsgi_response.as_ref(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.client_response().map(|r| r.status)
    }

    pub fn is_complete(&self) -> bool {
        self.client_response().is_some()
    }

    /// The first moment any server saw the request.
    pub fn start_us(&self) -> u64 {
        let a = self.web_received.as_ref().map(|r| r.ts_us);
        let b = self.wsgi_received.as_ref().map(|r| r.ts_us);
        match (a, b) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(0),
        }
    }

    /// The request as the lessons' task checks see it.
    pub fn observation(&self) -> crate::lessons::tasks::Observation {
        use crate::lessons::tasks;
        let headers = |h: &[Header]| h.to_vec();
        tasks::Observation {
            method: self.method().to_owned(),
            path: self.path().to_owned(),
            status: self.status().unwrap_or(0),
            served_by: match self.served_by() {
                Some(ServedBy::Static) => Some(tasks::ServedBy::Static),
                Some(ServedBy::Wsgi) => Some(tasks::ServedBy::Wsgi),
                Some(ServedBy::WebError) => Some(tasks::ServedBy::WebError),
                Some(ServedBy::WsgiError) => Some(tasks::ServedBy::WsgiError),
                Some(ServedBy::Return) | None => None,
            },
            via: Some(match self.via() {
                Via::WebServer => tasks::Via::WebServer,
                Via::Direct => tasks::Via::Direct,
            }),
            request_headers: self
                .client_request()
                .map(|r| headers(&r.headers))
                .unwrap_or_default(),
            upstream_headers: self
                .forwarded
                .as_ref()
                .map(|f| headers(&f.headers))
                .unwrap_or_default(),
            environ: self.environ.clone(),
            response_headers: self
                .client_response()
                .map(|r| headers(&r.headers))
                .unwrap_or_default(),
            queued: self.queued.is_some(),
            // The app's own time ends when the WSGI server saw it finish.
            in_app: self
                .finished
                .as_ref()
                .map(|(end, t)| (end.saturating_sub(t.app_us), *end)),
            request: Some(self.seq),
        }
    }

    /// Whether the request reached the WSGI server at all.
    pub fn reached_wsgi(&self) -> bool {
        self.wsgi_received.is_some() || self.finished.is_some() || self.dispatched.is_some()
    }

    /// Which layer wrote the response, once that can be told.
    pub fn served_by(&self) -> Option<ServedBy> {
        if self.static_served.is_some() {
            return Some(ServedBy::Static);
        }
        if let Some((_, handler)) = &self.location {
            match handler {
                Handler::Static if self.web_response.is_some() => return Some(ServedBy::Static),
                Handler::Return => return Some(ServedBy::Return),
                _ => {}
            }
        }
        // The web server answered without an answer from upstream: its own 502 or 504,
        // whatever the app did afterwards.
        if self.via() == Via::WebServer
            && self.web_response.is_some()
            && self.upstream_answered.is_none()
        {
            return Some(ServedBy::WebError);
        }
        if self.app_error.is_some() {
            return Some(ServedBy::WsgiError);
        }
        if self.start_response.is_some() || self.upstream_answered.is_some() {
            return Some(ServedBy::Wsgi);
        }
        match self.via() {
            Via::WebServer if self.web_response.is_some() => Some(ServedBy::WebError),
            Via::Direct if self.wsgi_response.is_some() => Some(ServedBy::WsgiError),
            _ => None,
        }
    }

    /// Where the time went: web server alone, queue at the WSGI server, the app, the rest.
    pub fn timing(&self) -> Timing {
        let total_us = self.client_response().map_or(0, |r| r.total_us);
        let (queue_us, app_us, wsgi_total) = match &self.finished {
            Some((_, t)) => (t.queue_us, t.app_us, t.total_us),
            None => (self.dispatched.map_or(0, |d| d.1), 0, 0),
        };
        let web_us = match self.via() {
            Via::WebServer => total_us.saturating_sub(wsgi_total),
            Via::Direct => 0,
        };
        Timing {
            web_us,
            queue_us,
            app_us,
            total_us,
        }
    }

    /// The worker process that ran the app for this request.
    pub fn worker_pid(&self) -> Option<u32> {
        self.dispatched.map(|d| d.0)
    }
}
