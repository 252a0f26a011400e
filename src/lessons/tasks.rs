//! Tasks and their checks: what a lesson asks the learner to do, and how the tutor decides
//! it was done — from real traffic, from things done to the stack, from a quiz answer, or
//! from the learner's own tick. The format is documented in `lessons/README.md`.

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
    fn describe(self) -> &'static str {
        match self {
            HeaderHop::Request => "in the request as the client sent it",
            HeaderHop::Upstream => "in the request the web server forwarded",
            HeaderHop::Environ => "in the environ the application received",
            HeaderHop::Response => "in the response the client received",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderExpect {
    pub hop: HeaderHop,
    pub name: String,
    pub value: Option<String>,
}

/// `[tasks.expect]`: every given field must hold for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub method: Option<String>,
    pub path: Option<String>,
    pub path_prefix: Option<String>,
    pub status: Option<u16>,
    pub served_by: Option<ServedBy>,
    pub via: Option<Via>,
    pub header: Option<HeaderExpect>,
    pub queued: Option<bool>,
    pub min_count: Option<usize>,
    pub min_concurrent: Option<usize>,
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
    fn header(&self, hop: HeaderHop, name: &str) -> Option<&str> {
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

impl Expect {
    /// Whether anything is asked at all (an empty expect would match every request).
    pub fn is_empty(&self) -> bool {
        let Expect {
            method,
            path,
            path_prefix,
            status,
            served_by,
            via,
            header,
            queued,
            min_count,
            min_concurrent,
        } = self;
        method.is_none()
            && path.is_none()
            && path_prefix.is_none()
            && status.is_none()
            && served_by.is_none()
            && via.is_none()
            && header.is_none()
            && queued.is_none()
            && min_count.is_none()
            && min_concurrent.is_none()
    }

    /// Ok when this request matches; otherwise why not, in terms of the hops.
    pub fn check(&self, seen: &Observation) -> Result<(), String> {
        if let Some(path) = &self.path
            && &seen.path != path
        {
            return Err(format!(
                "this request was for {}, the task wants {path}",
                seen.path
            ));
        }
        if let Some(prefix) = &self.path_prefix
            && !seen.path.starts_with(prefix.as_str())
        {
            let reached_wsgi = matches!(seen.served_by, Some(ServedBy::Wsgi | ServedBy::WsgiError));
            return Err(match seen.via {
                _ if reached_wsgi && self.served_by == Some(ServedBy::Static) => format!(
                    "your request reached the WSGI server: {} is not under {prefix}",
                    seen.path
                ),
                _ => format!("{} is not under {prefix}", seen.path),
            });
        }
        if let Some(method) = &self.method
            && !seen.method.eq_ignore_ascii_case(method)
        {
            return Err(format!(
                "this was a {} request, the task wants a {method}",
                seen.method
            ));
        }
        if let Some(via) = self.via
            && seen.via != Some(via)
        {
            return Err(match (via, seen.via) {
                (Via::WebServer, Some(Via::Direct)) => "this request went straight to the WSGI server's port and skipped the web server".into(),
                (Via::Direct, Some(Via::WebServer)) => "this request came through the web server; the task wants one sent straight to the WSGI server's port".into(),
                _ => "the tutor could not tell which server this request arrived at".into(),
            });
        }
        if let Some(served_by) = self.served_by
            && seen.served_by != Some(served_by)
        {
            let got = seen
                .served_by
                .map(ServedBy::describe)
                .unwrap_or("the configuration's return answered it");
            return Err(match (served_by, seen.served_by) {
                (ServedBy::Static, Some(ServedBy::Wsgi | ServedBy::WsgiError)) => {
                    "your request reached the WSGI server: the web server passed it on instead of answering from disk".into()
                }
                (ServedBy::Wsgi, Some(ServedBy::Static)) => {
                    "the web server answered this one from disk; it never reached the WSGI server".into()
                }
                _ => format!("{got}; the task wants: {}", served_by.describe()),
            });
        }
        if let Some(status) = self.status
            && seen.status != status
        {
            return Err(format!(
                "the client got {}, the task wants {status}",
                seen.status
            ));
        }
        if let Some(want) = &self.header {
            match seen.header(want.hop, &want.name) {
                None => return Err(format!("no {} {}", want.name, want.hop.describe())),
                Some(value) => {
                    if let Some(part) = &want.value
                        && !value.contains(part.as_str())
                    {
                        return Err(format!(
                            "{} {} is {value:?}, without {part:?}",
                            want.name,
                            want.hop.describe()
                        ));
                    }
                }
            }
        }
        if let Some(queued) = self.queued
            && seen.queued != queued
        {
            return Err(if queued {
                "a worker took this request at once: it never waited in the queue (were all workers busy?)".into()
            } else {
                "this request waited in the queue for a free worker".into()
            });
        }
        Ok(())
    }

    /// Done when enough matching requests were seen (and enough at once, if asked).
    /// Otherwise the reason, from the latest request.
    pub fn evaluate(&self, seen: &[Observation]) -> Result<(), String> {
        let matching: Vec<&Observation> = seen.iter().filter(|o| self.check(o).is_ok()).collect();
        let need = self.min_count.unwrap_or(1);
        if matching.len() < need {
            return Err(match seen.last().map(|last| self.check(last)) {
                Some(Err(why)) => why,
                _ if matching.is_empty() => "no request has matched yet".into(),
                _ => format!("{} of {need} matching requests so far", matching.len()),
            });
        }
        if let Some(need) = self.min_concurrent {
            let most = most_at_once(&matching);
            if most < need {
                return Err(format!(
                    "at most {most} of these requests were in the application at the same time; the task wants {need}"
                ));
            }
        }
        Ok(())
    }
}

/// The largest number of requests inside the application at one moment.
fn most_at_once(seen: &[&Observation]) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for (start, end) in seen.iter().filter_map(|o| o.in_app) {
        edges.push((start, 1));
        edges.push((end, -1));
    }
    // Ends sort before starts at the same instant: back-to-back is not overlap.
    edges.sort_by_key(|&(t, d)| (t, d));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

/// Things done to the stack that event tasks wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConfigReloaded,
    WsgiStopped,
    WsgiStarted,
    WorkersChanged,
    AppSwitched,
    AppReloaded,
}

/// One such thing, as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub kind: EventKind,
    /// For a reload: whether the new configuration was taken.
    pub ok: bool,
    pub workers: Option<usize>,
    pub app: Option<String>,
}

/// An event task's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventExpect {
    pub kind: EventKind,
    pub ok: Option<bool>,
    pub workers: Option<usize>,
    pub app: Option<String>,
}

impl EventExpect {
    pub fn matches(&self, event: &StackEvent) -> bool {
        event.kind == self.kind
            && (self.kind != EventKind::ConfigReloaded || event.ok == self.ok.unwrap_or(true))
            && self.workers.is_none_or(|n| event.workers == Some(n))
            && self
                .app
                .as_deref()
                .is_none_or(|part| event.app.as_deref().is_some_and(|a| a.contains(part)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    pub explain: Option<String>,
}

/// How a task is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Traffic(Expect),
    Event(EventExpect),
    Quiz(Vec<Choice>),
    SelfCheck,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub hints: Vec<String>,
    pub solution: Option<String>,
    pub check: Check,
    /// The line of its `[[tasks]]` header, for messages.
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn static_css() -> Observation {
        Observation {
            method: "GET".into(),
            path: "/static/style.css".into(),
            status: 200,
            served_by: Some(ServedBy::Static),
            via: Some(Via::WebServer),
            request_headers: vec![("User-Agent".into(), "curl/8".into())],
            ..Observation::default()
        }
    }

    fn app_root(via: Via) -> Observation {
        Observation {
            method: "GET".into(),
            path: "/".into(),
            status: 200,
            served_by: Some(ServedBy::Wsgi),
            via: Some(via),
            environ: vec![("HTTP_X_FORWARDED_FOR".into(), "127.0.0.1".into())],
            ..Observation::default()
        }
    }

    #[test]
    fn traffic_predicates_and_their_reasons() {
        let static_task = Expect {
            path_prefix: Some("/static".into()),
            served_by: Some(ServedBy::Static),
            ..Expect::default()
        };
        assert_eq!(static_task.check(&static_css()), Ok(()));
        let why = static_task.check(&app_root(Via::WebServer)).unwrap_err();
        assert_eq!(
            why,
            "your request reached the WSGI server: / is not under /static"
        );

        let through = Expect {
            path: Some("/".into()),
            served_by: Some(ServedBy::Wsgi),
            via: Some(Via::WebServer),
            ..Expect::default()
        };
        assert_eq!(through.check(&app_root(Via::WebServer)), Ok(()));
        assert!(
            through
                .check(&app_root(Via::Direct))
                .unwrap_err()
                .contains("skipped the web server")
        );

        let header = Expect {
            header: Some(HeaderExpect {
                hop: HeaderHop::Environ,
                name: "HTTP_X_FORWARDED_FOR".into(),
                value: Some("127.0".into()),
            }),
            ..Expect::default()
        };
        assert_eq!(header.check(&app_root(Via::WebServer)), Ok(()));
        assert_eq!(
            header.check(&static_css()).unwrap_err(),
            "no HTTP_X_FORWARDED_FOR in the environ the application received"
        );
        let ua = Expect {
            header: Some(HeaderExpect {
                hop: HeaderHop::Request,
                name: "user-agent".into(),
                value: Some("Mozilla".into()),
            }),
            ..Expect::default()
        };
        assert!(
            ua.check(&static_css())
                .unwrap_err()
                .contains("without \"Mozilla\"")
        );

        let status = Expect {
            status: Some(502),
            ..Expect::default()
        };
        assert_eq!(
            status.check(&static_css()).unwrap_err(),
            "the client got 200, the task wants 502"
        );
    }

    #[test]
    fn counts_and_concurrency() {
        let slow = |start, end| Observation {
            path: "/slow".into(),
            in_app: Some((start, end)),
            queued: start > 0,
            ..Observation::default()
        };
        let four_at_once = Expect {
            path: Some("/slow".into()),
            min_count: Some(4),
            min_concurrent: Some(4),
            ..Expect::default()
        };
        let one_worker = [slow(0, 10), slow(10, 20), slow(20, 30), slow(30, 40)];
        assert!(
            four_at_once
                .evaluate(&one_worker)
                .unwrap_err()
                .contains("at most 1 of these")
        );
        let four_workers = [slow(0, 10), slow(1, 11), slow(2, 12), slow(3, 13)];
        assert_eq!(four_at_once.evaluate(&four_workers), Ok(()));
        assert!(
            four_at_once
                .evaluate(&four_workers[..2])
                .unwrap_err()
                .contains("2 of 4")
        );
        let queued = Expect {
            queued: Some(true),
            ..Expect::default()
        };
        assert!(
            queued
                .evaluate(&[slow(0, 5)])
                .unwrap_err()
                .contains("never waited in the queue")
        );
        assert_eq!(queued.evaluate(&[slow(0, 5), slow(5, 9)]), Ok(()));
    }

    #[test]
    fn event_predicates() {
        let reload = EventExpect {
            kind: EventKind::ConfigReloaded,
            ok: None,
            workers: None,
            app: None,
        };
        let happened = |ok| StackEvent {
            kind: EventKind::ConfigReloaded,
            ok,
            workers: None,
            app: None,
        };
        assert!(reload.matches(&happened(true)));
        assert!(!reload.matches(&happened(false)));
        let refused = EventExpect {
            ok: Some(false),
            ..reload.clone()
        };
        assert!(refused.matches(&happened(false)));
        let workers = EventExpect {
            kind: EventKind::WorkersChanged,
            ok: None,
            workers: Some(4),
            app: None,
        };
        let changed = |n| StackEvent {
            kind: EventKind::WorkersChanged,
            ok: true,
            workers: Some(n),
            app: None,
        };
        assert!(workers.matches(&changed(4)) && !workers.matches(&changed(3)));
    }
}
