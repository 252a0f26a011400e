//! Traffic tasks: `[tasks.expect]` as a predicate over finished requests, with the
//! reason, in terms of the hops, why a request did not count.

use serde::Deserialize;

use super::observation::{HeaderHop, Observation, ServedBy, Via};

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

    /// Ok when this request matches; otherwise why not, in terms of the hops. The first
    /// field that fails gives the reason, in the order a learner would check them.
    pub fn check(&self, seen: &Observation) -> Result<(), String> {
        self.check_path(seen)?;
        self.check_method(seen)?;
        self.check_via(seen)?;
        self.check_served_by(seen)?;
        self.check_status(seen)?;
        self.check_header(seen)?;
        self.check_queued(seen)
    }

    fn check_path(&self, seen: &Observation) -> Result<(), String> {
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
        Ok(())
    }

    fn check_method(&self, seen: &Observation) -> Result<(), String> {
        match &self.method {
            Some(method) if !seen.method.eq_ignore_ascii_case(method) => Err(format!(
                "this was a {} request, the task wants a {method}",
                seen.method
            )),
            _ => Ok(()),
        }
    }

    fn check_via(&self, seen: &Observation) -> Result<(), String> {
        match self.via {
            Some(via) if seen.via != Some(via) => Err(match (via, seen.via) {
                (Via::WebServer, Some(Via::Direct)) => "this request went straight to the WSGI server's port and skipped the web server".into(),
                (Via::Direct, Some(Via::WebServer)) => "this request came through the web server; the task wants one sent straight to the WSGI server's port".into(),
                _ => "the tutor could not tell which server this request arrived at".into(),
            }),
            _ => Ok(()),
        }
    }

    fn check_served_by(&self, seen: &Observation) -> Result<(), String> {
        let Some(served_by) = self.served_by.filter(|&s| seen.served_by != Some(s)) else {
            return Ok(());
        };
        let got = seen
            .served_by
            .map_or("the configuration's return answered it", ServedBy::describe);
        Err(match (served_by, seen.served_by) {
            (ServedBy::Static, Some(ServedBy::Wsgi | ServedBy::WsgiError)) => {
                "your request reached the WSGI server: the web server passed it on instead of answering from disk".into()
            }
            (ServedBy::Wsgi, Some(ServedBy::Static)) => {
                "the web server answered this one from disk; it never reached the WSGI server".into()
            }
            _ => format!("{got}; the task wants: {}", served_by.describe()),
        })
    }

    fn check_status(&self, seen: &Observation) -> Result<(), String> {
        match self.status {
            Some(status) if seen.status != status => Err(format!(
                "the client got {}, the task wants {status}",
                seen.status
            )),
            _ => Ok(()),
        }
    }

    fn check_header(&self, seen: &Observation) -> Result<(), String> {
        let Some(want) = &self.header else {
            return Ok(());
        };
        let Some(value) = seen.header(want.hop, &want.name) else {
            return Err(format!("no {} {}", want.name, want.hop.describe()));
        };
        match &want.value {
            Some(part) if !value.contains(part.as_str()) => Err(format!(
                "{} {} is {value:?}, without {part:?}",
                want.name,
                want.hop.describe()
            )),
            _ => Ok(()),
        }
    }

    fn check_queued(&self, seen: &Observation) -> Result<(), String> {
        match self.queued {
            Some(queued) if seen.queued != queued => Err(if queued {
                "a worker took this request at once: it never waited in the queue (were all workers busy?)".into()
            } else {
                "this request waited in the queue for a free worker".into()
            }),
            _ => Ok(()),
        }
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
    }

    #[test]
    fn header_and_status_predicates_and_their_reasons() {
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
}
