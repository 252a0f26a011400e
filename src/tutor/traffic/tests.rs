use super::*;
use crate::trace::Process;

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
