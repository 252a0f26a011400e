//! Logs (combined access log, error log levels), reload (SIGHUP, --control-stdin, broken
//! config keeps serving), graceful SIGTERM, and the trace events of a request.

mod common;

use std::time::Duration;

use common::http::Conn;
use common::ports::free_port;
use common::process::{BIN, eventually};
use common::upstream::Upstream;
use common::web_server::{Server, write_conf};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn access_log_in_combined_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    std::fs::write(dir.path().join("html/a.txt"), "12345").unwrap();
    let conf = "server {\n  listen 127.0.0.1:0;\n  root html;\n  access_log logs/access.log;\n}\n";
    let s = Server::start(dir.path(), conf);
    let r = s.request(
        "GET",
        "/a.txt?x=1",
        &[
            ("Referer", "http://ref.example/"),
            ("User-Agent", "tester/1.0 \"q\""),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let _ = s.get("/missing");
    let log = dir.path().join("logs/access.log");
    assert!(eventually(Duration::from_secs(5), || read(&log)
        .lines()
        .count()
        >= 2));
    let text = read(&log);
    let line = text.lines().next().unwrap();
    // 127.0.0.1 - - [24/Nov/2026:10:48:45 +0000] "GET /a.txt?x=1 HTTP/1.1" 200 5 "http://ref.example/" "tester/1.0 \x22q\x22"
    let re = regex::Regex::new(
        r#"^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /a\.txt\?x=1 HTTP/1\.1" 200 5 "http://ref\.example/" "tester/1\.0 \\x22q\\x22"$"#,
    )
    .unwrap();
    assert!(re.is_match(line), "{line}");
    let second = text.lines().nth(1).unwrap();
    assert!(
        second.contains("\"GET /missing HTTP/1.1\" 404 ") && second.ends_with("\"-\" \"-\""),
        "{second}"
    );
}

#[test]
fn request_id_is_logged_and_sent_upstream() {
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "log_format tutor '$remote_addr \"$request\" $status rid=$request_id';\nserver {{\n  listen 127.0.0.1:0;\n  access_log logs/access.log tutor;\n  location / {{ proxy_pass http://{}; proxy_set_header X-Request-Id $request_id; }}\n}}\n",
        up.addr()
    );
    let s = Server::start(dir.path(), &conf);
    assert_eq!(s.get("/one").status, 200);
    let id = up
        .last()
        .unwrap()
        .header("x-request-id")
        .unwrap()
        .to_owned();
    let log = dir.path().join("logs/access.log");
    assert!(
        eventually(Duration::from_secs(5), || read(&log)
            .contains(&format!("127.0.0.1 \"GET /one HTTP/1.1\" 200 rid={id}"))),
        "{}",
        read(&log)
    );
}

#[test]
fn error_log_levels() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    let conf = "error_log logs/error.log notice;\nserver {\n  listen 127.0.0.1:0;\n  server_name localhost;\n  root html;\n}\n";
    let path = write_conf(dir.path(), conf);
    let log = dir.path().join("logs/error.log");
    let s = Server::start_logging_to(&log, &path, &[]);
    let _ = s.get("/missing.txt");
    assert!(eventually(Duration::from_secs(5), || read(&log)
        .contains("missing.txt")));
    let text = read(&log);
    let re = regex::Regex::new(
        r#"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[error\] \d+#0: \*\d+ open\(\) ".*/html/missing\.txt" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: localhost, request: "GET /missing\.txt HTTP/1\.1", host: "localhost"$"#,
    )
    .unwrap();
    assert!(text.lines().any(|l| re.is_match(l)), "{text}");
    assert!(text.contains("[notice]"), "{text}");
    drop(s);

    // at `crit`, [error] and [notice] lines are left out
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    let conf = "error_log stderr crit;\nserver {\n  listen 127.0.0.1:0;\n  root html;\n  location = /port { return 200 ok; }\n}\n";
    let path = write_conf(dir.path(), conf);
    let mut child = std::process::Command::new(BIN)
        .args(["web-server", "-c"])
        .arg(&path)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("[notice]"),
        "crit level still logs notices: {err}"
    );
}

fn reload_conf(text: &str) -> String {
    format!("server {{\n  listen 127.0.0.1:0;\n  location = /v {{ return 200 \"{text}\"; }}\n}}\n")
}

#[test]
fn sighup_reloads_a_valid_config_and_keeps_the_old_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &reload_conf("one"));
    assert_eq!(s.get("/v").text(), "one");
    write_conf(dir.path(), &reload_conf("two"));
    s.signal(libc::SIGHUP);
    s.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("configuration reloaded")
    });
    assert!(eventually(Duration::from_secs(5), || s.get("/v").text() == "two"));

    write_conf(
        dir.path(),
        "server {\n  listen 127.0.0.1:0;\n  location = /v { return 200 \"three\"; }\n  oops;\n}\n",
    );
    s.signal(libc::SIGHUP);
    let line = s
        .stderr
        .wait_for(Duration::from_secs(5), |l| l.contains("[emerg]"));
    assert!(line.contains("unknown directive \"oops\""), "{line}");
    assert!(line.contains(":4"), "{line}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        s.get("/v").text(),
        "two",
        "the old configuration keeps serving"
    );
    // a trace event says so
    s.wait_event(Duration::from_secs(2), |e| {
        e["event"] == "config_reloaded" && e["ok"] == false
    });
}

#[test]
fn control_stdin_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), &reload_conf("one"));
    let mut s = Server::start_with(&path, &["--control-stdin"]);
    assert_eq!(s.get("/v").text(), "one");
    write_conf(dir.path(), &reload_conf("two"));
    s.control("reload");
    assert!(eventually(Duration::from_secs(5), || s.get("/v").text() == "two"));
    s.control("stop");
    let status = s.wait_exit(Duration::from_secs(10)).expect("stopped");
    assert!(status.success());
}

#[test]
fn control_stdin_end_of_input_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), &reload_conf("one"));
    let mut s = Server::start_with(&path, &["--control-stdin"]);
    assert_eq!(s.get("/v").text(), "one");
    drop(s.stdin.take());
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("the server outlived its parent's stdin");
    assert!(status.success());
}

#[test]
fn reload_moves_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let first = free_port();
    let conf = |port: u16, text: &str| {
        format!(
            "server {{\n  listen 127.0.0.1:{port};\n  location = /v {{ return 200 \"{text}\"; }}\n}}\n"
        )
    };
    let s = Server::start(dir.path(), &conf(first, "one"));
    assert_eq!(s.port, first);
    assert_eq!(s.get("/v").text(), "one");
    let second = free_port();
    write_conf(dir.path(), &conf(second, "two"));
    s.signal(libc::SIGHUP);
    assert!(
        eventually(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", second)).is_ok()
        }),
        "{}",
        s.stderr.text()
    );
    let mut conn = Conn::open(second);
    conn.send_request("GET", "/v", &[], b"");
    assert_eq!(conn.read_response(false).unwrap().text(), "two");
    assert!(
        eventually(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", first)).is_err()
        }),
        "the old listener is still open"
    );
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_0() {
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "server {{\n  listen 127.0.0.1:0;\n  location / {{ proxy_pass http://{}; }}\n}}\n",
        up.addr()
    );
    let mut s = Server::start(dir.path(), &conf);
    let port = s.port;
    let slow = std::thread::spawn(move || {
        let mut conn = Conn::open(port);
        conn.send_request("GET", "/sleep/1500", &[], b"");
        conn.read_response(false)
    });
    assert!(eventually(Duration::from_secs(5), || up.last().is_some()));
    s.signal(libc::SIGTERM);
    let r = slow
        .join()
        .unwrap()
        .expect("the in-flight request gets its answer");
    assert_eq!(r.status, 200);
    let status = s.wait_exit(Duration::from_secs(10)).expect("exited");
    assert_eq!(status.code(), Some(0));
    assert!(s.stderr.text().contains("gracefully shutting down"));
    // and nothing listens there any more
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn trace_of_a_static_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static")).unwrap();
    std::fs::write(dir.path().join("static/a.txt"), "12345").unwrap();
    let conf = "server {\n  listen 127.0.0.1:0;\n  location /static { alias static; }\n}\n";
    let s = Server::start(dir.path(), conf);
    assert_eq!(s.get("/static/a.txt").status, 200);
    let sent = s.wait_event(Duration::from_secs(5), |e| e["event"] == "response_sent");
    let id = sent["request_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let events = s.events_of(&id);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "location_matched",
            "static_served",
            "response_sent"
        ]
    );
    assert_eq!(events[0]["method"], "GET");
    assert_eq!(events[0]["target"], "/static/a.txt");
    assert_eq!(events[0]["process"], "web-server");
    assert_eq!(events[1]["location"], "/static");
    assert_eq!(events[1]["handler"], "static");
    assert!(
        events[2]["path"]
            .as_str()
            .unwrap()
            .ends_with("static/a.txt")
    );
    assert_eq!(events[2]["size"], 5);
    assert_eq!(events[3]["status"], 200);
    assert_eq!(events[3]["bytes"], 5);
    let ts: Vec<u64> = events
        .iter()
        .map(|e| e["ts_us"].as_u64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
}

#[test]
fn trace_of_a_proxied_request() {
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "server {{\n  listen 127.0.0.1:0;\n  location / {{ proxy_pass http://{}; }}\n}}\n",
        up.addr()
    );
    let s = Server::start(dir.path(), &conf);
    assert_eq!(s.get("/app").status, 200);
    let upstream_id = up
        .last()
        .unwrap()
        .header("x-request-id")
        .unwrap()
        .to_owned();
    s.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "response_sent" && e["request_id"] == upstream_id.as_str()
    });
    let events = s.events_of(&upstream_id);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "location_matched",
            "proxied",
            "upstream_answered",
            "response_sent"
        ]
    );
    assert_eq!(events[2]["upstream"], up.addr());
    assert_eq!(events[2]["uri"], "/app");
    assert_eq!(events[3]["status"], 200);
}
