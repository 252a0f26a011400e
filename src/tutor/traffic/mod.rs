//! The traffic model: every request the servers report, joined across both servers'
//! trace streams by `request_id`, in a bounded history.
//!
//! The two streams arrive independently, so a request's hops can come in any order (the
//! WSGI server's `received` may be read before the web server's `proxied`). Each event only
//! fills in its part of a [`Request`]; what the request *is* — which layer served it, how
//! long each part took — is derived from whatever has arrived so far.

use std::collections::{HashMap, VecDeque};

use crate::trace::{Event, Header, Hop, Process};

/// How many requests the history keeps; older ones are dropped and counted.
pub const HISTORY: usize = 500;

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
    /// The `location` block chosen and its handler (`static`, `proxy`, `return`).
    pub location: Option<(String, String)>,
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

/// How many printed lines a request keeps.
const OUTPUT_LINES: usize = 40;

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
            match handler.as_str() {
                "static" if self.web_response.is_some() => return Some(ServedBy::Static),
                "return" => return Some(ServedBy::Return),
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

/// Every request seen, newest last, at most [`HISTORY`].
#[derive(Debug, Default)]
pub struct Traffic {
    requests: VecDeque<Request>,
    by_id: HashMap<String, u64>,
    next_seq: u64,
    capacity: usize,
    /// Requests pushed out of the history.
    pub evicted: u64,
    /// Events the servers could not write fast enough (their `dropped` events).
    pub dropped_events: u64,
    /// Events for requests already evicted, ignored.
    pub late_events: u64,
}

impl Traffic {
    pub fn new() -> Self {
        Self::with_capacity(HISTORY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Traffic {
            capacity: capacity.max(1),
            ..Traffic::default()
        }
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Request> + ExactSizeIterator {
        self.requests.iter()
    }

    pub fn get(&self, seq: u64) -> Option<&Request> {
        let first = self.requests.front()?.seq;
        self.requests.get(seq.checked_sub(first)? as usize)
    }

    pub fn by_request_id(&self, id: &str) -> Option<&Request> {
        self.get(*self.by_id.get(id)?)
    }

    pub fn newest(&self) -> Option<&Request> {
        self.requests.back()
    }

    /// Fold one event in; returns the request it touched, if any.
    pub fn apply(&mut self, event: &Event) -> Option<u64> {
        if let Hop::Dropped { count } = event.hop {
            self.dropped_events += count;
            return None;
        }
        let id = event.request_id.as_deref()?;
        let seq = match self.by_id.get(id) {
            Some(&seq) => seq,
            None => {
                if !starts_request(&event.hop) && self.next_seq > 0 && self.was_evicted(id) {
                    self.late_events += 1;
                    return None;
                }
                self.insert(id)
            }
        };
        let first = self.requests.front().map_or(0, |r| r.seq);
        let Some(req) = self.requests.get_mut((seq - first) as usize) else {
            self.late_events += 1;
            return None;
        };
        fold(req, event);
        Some(seq)
    }

    fn was_evicted(&self, _id: &str) -> bool {
        // Ids are random, so an unknown id is a new request unless the history is full and
        // its first event is not a start; such a straggler is counted, not kept.
        self.evicted > 0
    }

    fn insert(&mut self, id: &str) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.requests.len() == self.capacity
            && let Some(old) = self.requests.pop_front()
        {
            self.by_id.remove(&old.id);
            self.evicted += 1;
        }
        self.requests.push_back(Request {
            seq,
            id: id.to_owned(),
            ..Request::default()
        });
        self.by_id.insert(id.to_owned(), seq);
        seq
    }
}

fn starts_request(hop: &Hop) -> bool {
    matches!(hop, Hop::Received { .. })
}

fn fold(req: &mut Request, event: &Event) {
    let ts = event.ts_us;
    let web = event.process == Process::WebServer;
    match &event.hop {
        Hop::Received {
            method,
            target,
            version,
            headers,
            peer,
        } => {
            let received = Received {
                ts_us: ts,
                method: method.clone(),
                target: target.clone(),
                version: version.clone(),
                headers: headers.clone(),
                peer: peer.clone(),
            };
            if web {
                req.web_received = Some(received);
            } else {
                req.wsgi_received = Some(received);
            }
        }
        Hop::ResponseSent {
            status,
            bytes,
            total_us,
            headers,
        } => {
            let response = Response {
                ts_us: ts,
                status: *status,
                bytes: *bytes,
                total_us: *total_us,
                headers: headers.clone(),
            };
            if web {
                req.web_response = Some(response);
            } else {
                req.wsgi_response = Some(response);
            }
        }
        Hop::Error { message, .. } => req.errors.push((event.process, message.clone())),
        Hop::LocationMatched {
            location, handler, ..
        } => req.location = Some((location.clone(), handler.clone())),
        Hop::StaticServed { path, status, .. } => req.static_served = Some((path.clone(), *status)),
        Hop::Proxied {
            upstream,
            uri,
            version,
            headers,
            added,
        } => {
            req.forwarded = Some(Forwarded {
                ts_us: ts,
                upstream: upstream.clone(),
                uri: uri.clone(),
                version: version.clone(),
                headers: headers.clone(),
                added: added.clone(),
            })
        }
        Hop::UpstreamAnswered {
            status, time_us, ..
        } => req.upstream_answered = Some((*status, *time_us)),
        Hop::Queued { queue_len } => req.queued = Some(*queue_len),
        Hop::Dispatched {
            worker_pid,
            queue_us,
        } => req.dispatched = Some((*worker_pid, *queue_us)),
        Hop::EnvironBuilt { environ } => req.environ = environ.clone(),
        Hop::StartResponse { status, headers } => {
            req.start_response = Some((status.clone(), headers.clone()))
        }
        Hop::Finished {
            queue_us,
            app_us,
            total_us,
            ..
        } => {
            req.finished = Some((
                ts,
                Timing {
                    web_us: 0,
                    queue_us: *queue_us,
                    app_us: *app_us,
                    total_us: *total_us,
                },
            ))
        }
        Hop::AppError {
            kind,
            message,
            traceback,
        } => req.app_error = Some((kind.clone(), message.clone(), traceback.clone())),
        Hop::AppOutput { line, .. } if req.app_output.len() < OUTPUT_LINES => {
            req.app_output.push(line.clone());
        }
        // Events that belong to no request, and hops the model does not use (new kinds
        // added to the trace contract land here until the tutor shows them).
        _ => {}
    }
}

/// Parse a JSON-lines trace, skipping lines that are not events.
pub fn parse_lines(text: &str) -> Vec<Event> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Event>(line).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> Traffic {
        let path = format!(
            "{}/tests/fixtures/scenarios/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut traffic = Traffic::new();
        for event in parse_lines(&text) {
            traffic.apply(&event);
        }
        traffic
    }

    #[test]
    fn each_recorded_scenario_is_one_request_served_by_the_right_layer() {
        let table = [
            (
                "static",
                "/static/style.css",
                200,
                ServedBy::Static,
                Via::WebServer,
            ),
            (
                "listing",
                "/static/docs/",
                200,
                ServedBy::Static,
                Via::WebServer,
            ),
            (
                "missing",
                "/static/nope.css",
                404,
                ServedBy::Static,
                Via::WebServer,
            ),
            ("app", "/", 200, ServedBy::Wsgi, Via::WebServer),
            ("post", "/form", 200, ServedBy::Wsgi, Via::WebServer),
            ("boom", "/boom", 500, ServedBy::WsgiError, Via::WebServer),
            ("direct", "/environ", 200, ServedBy::Wsgi, Via::Direct),
            ("bad_gateway", "/", 502, ServedBy::WebError, Via::WebServer),
        ];
        for (name, path, status, served_by, via) in table {
            let traffic = scenario(name);
            assert_eq!(traffic.len(), 1, "{name}");
            let req = traffic.newest().unwrap();
            assert_eq!(req.path(), path, "{name}");
            assert_eq!(req.status(), Some(status), "{name}");
            assert_eq!(req.served_by(), Some(served_by), "{name}");
            assert_eq!(req.via(), via, "{name}");
            assert!(req.is_complete(), "{name}");
        }
    }

    #[test]
    fn one_worker_runs_queued_requests_one_after_another() {
        use crate::lessons::tasks::Expect;
        let traffic = scenario("queued");
        let seen: Vec<_> = traffic.iter().map(Request::observation).collect();
        for o in &seen {
            let (start, end) = o
                .in_app
                .expect("a finished request has its time in the app");
            assert!(start < end && end - start < 1_000_000, "{start}..{end}");
        }
        let overlapping = |n| Expect {
            path: Some("/slow".into()),
            min_count: Some(3),
            min_concurrent: Some(n),
            ..Expect::default()
        };
        assert!(overlapping(1).evaluate(&seen).is_ok());
        let why = overlapping(2).evaluate(&seen).unwrap_err();
        assert!(why.contains("at most 1"), "{why}");
    }

    #[test]
    fn a_web_server_timeout_is_its_own_answer_even_if_the_app_finishes_later() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/scenarios/app.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut traffic = Traffic::new();
        // proxy_read_timeout ran out: no answer from upstream, the web server's own 504;
        // the WSGI server's events (the app did finish) arrive afterwards.
        let events = parse_lines(&text);
        let (web, wsgi): (Vec<_>, Vec<_>) = events
            .into_iter()
            .filter(|e| !matches!(e.hop, Hop::UpstreamAnswered { .. }))
            .partition(|e| e.process == Process::WebServer);
        for mut e in web {
            if let Hop::ResponseSent { status, .. } = &mut e.hop {
                *status = 504;
            }
            traffic.apply(&e);
        }
        for e in &wsgi {
            traffic.apply(e);
        }
        let req = traffic.newest().unwrap();
        assert_eq!(req.status(), Some(504));
        assert_eq!(req.served_by(), Some(ServedBy::WebError));
    }

    #[test]
    fn static_requests_never_reach_the_wsgi_server_and_proxied_ones_do() {
        assert!(!scenario("static").newest().unwrap().reached_wsgi());
        let app = scenario("app");
        let req = app.newest().unwrap();
        assert!(req.reached_wsgi());
        assert!(!req.environ.is_empty());
        let fwd = req.forwarded.as_ref().unwrap();
        assert!(fwd.added.iter().any(|(n, _)| n == "x-forwarded-for"));
        let t = req.timing();
        assert!(t.total_us >= t.app_us + t.queue_us);
        assert!(t.app_us > 0);
    }

    #[test]
    fn events_in_any_order_give_the_same_request() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/scenarios/app.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut events = parse_lines(&text);
        events.reverse();
        let mut traffic = Traffic::new();
        for e in &events {
            traffic.apply(e);
        }
        let req = traffic.newest().unwrap();
        assert_eq!(req.served_by(), Some(ServedBy::Wsgi));
        assert_eq!(req.via(), Via::WebServer);
        assert_eq!(req.status(), Some(200));
    }

    #[test]
    fn queued_requests_are_marked_and_the_mixed_stream_joins_by_id() {
        let traffic = scenario("queued");
        assert_eq!(traffic.len(), 3);
        assert_eq!(traffic.iter().filter(|r| r.queued.is_some()).count(), 2);
        let all = scenario("all");
        assert_eq!(all.len(), 11);
        assert!(all.iter().all(Request::is_complete));
    }

    #[test]
    fn what_the_app_printed_stays_with_its_request() {
        let mut traffic = scenario("app");
        let id = traffic.newest().unwrap().id.clone();
        traffic.apply(&Event {
            ts_us: 1,
            process: Process::WsgiServer,
            pid: 1,
            request_id: Some(id),
            hop: Hop::AppOutput {
                worker_pid: 12660,
                line: "hello from the app".into(),
            },
        });
        assert_eq!(traffic.newest().unwrap().app_output, ["hello from the app"]);
    }

    #[test]
    fn history_is_bounded_and_counts_what_it_drops() {
        let mut traffic = Traffic::with_capacity(3);
        for i in 0..5u64 {
            traffic.apply(&Event {
                ts_us: i,
                process: Process::WebServer,
                pid: 1,
                request_id: Some(format!("{i:032x}")),
                hop: Hop::Received {
                    method: "GET".into(),
                    target: "/".into(),
                    version: "HTTP/1.1".into(),
                    headers: vec![],
                    peer: "127.0.0.1:1".into(),
                },
            });
        }
        assert_eq!(traffic.len(), 3);
        assert_eq!(traffic.evicted, 2);
        assert_eq!(traffic.iter().next().unwrap().seq, 2);
        assert!(traffic.get(1).is_none());
        assert_eq!(traffic.get(3).unwrap().id, format!("{:032x}", 3));
        traffic.apply(&Event {
            ts_us: 9,
            process: Process::WebServer,
            pid: 1,
            request_id: None,
            hop: Hop::Dropped { count: 7 },
        });
        assert_eq!(traffic.dropped_events, 7);
    }
}
