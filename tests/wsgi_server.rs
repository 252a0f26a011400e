//! The WSGI server, end to end: the real binary, real Python workers, free loopback ports.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rstest::rstest;

use common::http::{Response, request, try_exchange};
use common::ports::free_port;
use common::process::{self, BIN, Killed, contains, eventually};
use common::tools::require_python_module;
use common::wsgi::{Server, app_dir, asset_app};

const SECS_20: Duration = Duration::from_secs(20);

/// One app with a route per behaviour the tests look at.
const PROBE: &str = r#"
import hashlib, json, os, sys, time
from wsgiref.validate import validator

def reply(start_response, body, status="200 OK", headers=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, headers or [("Content-Type", "text/plain")])
    return [body]

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/types" or path.startswith("/caf"):
        data = {}
        for key, value in environ.items():
            shown = value if isinstance(value, (str, bool, int)) else repr(value)
            data[key] = [type(value).__name__, shown]
        return reply(start_response, json.dumps(data))
    if path == "/upload":
        digest, size = hashlib.sha256(), 0
        stream = environ["wsgi.input"]
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        after = stream.read(10)
        return reply(start_response, "%d %s %r" % (size, digest.hexdigest(), after))
    if path == "/lines":
        stream = environ["wsgi.input"]
        first = stream.readline()
        rest = [line.decode() for line in stream]
        return reply(start_response, json.dumps([first.decode(), rest]))
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        def chunks():
            for i in range(3):
                yield b"chunk%d\n" % i
                time.sleep(0.5)
        return chunks()
    if path == "/slow":
        time.sleep(float(environ["QUERY_STRING"] or 1))
        return reply(start_response, str(os.getpid()))
    if path == "/pid":
        return reply(start_response, str(os.getpid()))
    if path == "/crash":
        os._exit(1)
    if path == "/reason":
        return reply(start_response, "fine", "200 Everything Fine")
    if path == "/nocontent":
        start_response("204 No Content", [])
        return []
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"then returned"]
    if path == "/close":
        class Body:
            def __iter__(self):
                yield b"body"
            def close(self):
                print("close() was called")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()
    if path == "/exc-info":
        try:
            raise ValueError("the first try failed")
        except ValueError:
            start_response("200 OK", [("X-First", "yes")])
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    if path == "/print":
        print("hello from print")
        environ["wsgi.errors"].write("hello from wsgi.errors\n")
        environ["wsgi.errors"].flush()
        return reply(start_response, "printed")
    if path == "/headers":
        return reply(start_response, str(sum(1 for k in environ if k.startswith("HTTP_X_H"))))
    if path == "/fail-midway":
        start_response("200 OK", [("Content-Type", "text/plain")])
        def chunks():
            yield b"partial "
            time.sleep(0.2)
            raise RuntimeError("failed after the headers went out")
        return chunks()
    if path == "/bytes-print":
        sys.stdout.buffer.write(b"not utf-8: \xff\xfe\n")
        sys.stdout.buffer.flush()
        print("printed after the bad bytes")
        return reply(start_response, "ok")
    if path == "/empty":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Empty", "yes")])
        return [b"", b""]
    return reply(start_response, "probe")

application = app
validated = validator(app)

def make():
    """An application factory, like Flask's create_app()."""
    return app
"#;

fn probe(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = app_dir(&[("probe.py", PROBE)]);
    let app = dir.path().join("probe.py");
    let app = format!("{}:application", app.display());
    let mut all: Vec<&str> = args.to_vec();
    all.push(&app);
    let server = Server::start(&all);
    (dir, server)
}

#[rstest]
#[case::root("/")]
#[case::types("/types")]
#[case::pid("/pid")]
#[case::stream("/stream")]
#[case::encoded_path_and_query("/caf%C3%A9?x=1&y=%20")]
fn environ_passes_wsgiref_validator_on(#[case] path: &str) {
    let dir = app_dir(&[("probe.py", PROBE)]);
    let server = Server::start_in(Some(dir.path()), &["probe:validated"]);
    let response = server.get(path);
    assert_eq!(
        response.status,
        200,
        "{path}: {}\n{}",
        response.text(),
        server.log.text()
    );
    // Another request through the same worker, so what the validator wrote is logged.
    assert_eq!(server.get("/pid").status, 200);
    assert!(
        !server.log.text().contains("AssertionError"),
        "{}",
        server.log.text()
    );
}

#[test]
fn wsgi_input_passes_wsgiref_validator() {
    let dir = app_dir(&[("probe.py", PROBE)]);
    let server = Server::start_in(Some(dir.path()), &["probe:validated"]);
    let body = vec![b'x'; 100_000];
    let response = request(
        server.port,
        "POST",
        "/upload",
        &[("Content-Type", "application/octet-stream")],
        &body,
    );
    assert_eq!(response.status, 200, "{}", server.log.text());
    assert!(
        response.text().starts_with("100000 "),
        "{}",
        response.text()
    );
    let response = request(server.port, "POST", "/lines", &[], b"one\ntwo\nthree");
    assert_eq!(response.text(), r#"["one\n", ["two\n", "three"]]"#);
    assert!(
        !server.log.text().contains("AssertionError"),
        "{}",
        server.log.text()
    );
}

#[test]
fn environ_keys_have_the_types_pep_3333_requires() {
    let (_dir, server) = probe(&[]);
    let response = request(
        server.port,
        "GET",
        "/caf%C3%A9/x?q=%20&r=1",
        &[
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
            ("Content-Type", "text/plain"),
        ],
        b"",
    );
    assert_eq!(response.status, 200);
    let env: serde_json::Value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", response.text(), server.log.text()));
    let cgi = [
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "wsgi.url_scheme",
    ];
    for key in cgi {
        assert_eq!(env[key][0], "str", "{key}: {}", env[key]);
    }
    assert_eq!(env["PATH_INFO"][1], "/cafÃ©/x", "latin-1 decoded path");
    assert_eq!(env["QUERY_STRING"][1], "q=%20&r=1");
    assert_eq!(env["REQUEST_METHOD"][1], "GET");
    assert_eq!(env["SCRIPT_NAME"][1], "");
    assert_eq!(env["SERVER_PROTOCOL"][1], "HTTP/1.1");
    assert_eq!(env["SERVER_PORT"][1], server.port.to_string());
    assert_eq!(env["CONTENT_TYPE"][1], "text/plain");
    assert_eq!(env["HTTP_X_MULTI"][1], "a, b");
    // The peer is 127.0.0.1, so the forwarded headers are believed (forwarded_allow_ips).
    assert_eq!(env["REMOTE_ADDR"][1], "203.0.113.9");
    assert_eq!(env["wsgi.url_scheme"][1], "https");
    assert!(env.get("HTTP_CONTENT_TYPE").is_none());
    assert_eq!(env["wsgi.version"], serde_json::json!(["tuple", "(1, 0)"]));
    assert_eq!(env["wsgi.multithread"], serde_json::json!(["bool", false]));
    assert_eq!(env["wsgi.multiprocess"], serde_json::json!(["bool", true]));
    assert_eq!(env["wsgi.run_once"], serde_json::json!(["bool", false]));
    assert_eq!(env["wsgi.input"][0], "Input");
    assert!(env["wsgi.errors"][1].as_str().unwrap().contains("stderr"));
}

#[test]
fn a_50_mib_upload_streams_into_wsgi_input() {
    let (_dir, server) = probe(&[]);
    let body: Vec<u8> = (0..50 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expected = {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(&body)?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let started = Instant::now();
    let response = request(server.port, "POST", "/upload", &[], &body);
    assert_eq!(response.status, 200, "{}", server.log.text());
    assert_eq!(response.text(), format!("{} {expected} b''", body.len()));
    assert!(started.elapsed() < Duration::from_secs(30));
    // Chunked request bodies (no Content-Length) stream too.
    let response = request(
        server.port,
        "POST",
        "/upload",
        &[("Transfer-Encoding", "chunked")],
        &body[..300_000],
    );
    assert!(
        response.text().starts_with("300000 "),
        "{}",
        response.text()
    );
    // And the worker is still in step with the arbiter afterwards.
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn a_slow_generator_reaches_the_client_chunk_by_chunk() {
    let (_dir, server) = probe(&[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut arrivals = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        for i in 0..3 {
            let marker = format!("chunk{i}");
            if arrivals.len() == i && String::from_utf8_lossy(&seen).contains(&marker) {
                arrivals.push(started.elapsed());
            }
        }
    }
    assert_eq!(arrivals.len(), 3, "{}", String::from_utf8_lossy(&seen));
    // The app sleeps 0.5 s between chunks: had the server buffered the body, all three
    // would arrive together.
    assert!(
        arrivals[2].checked_sub(arrivals[0]).unwrap() >= Duration::from_millis(800),
        "the chunks arrived together: {arrivals:?}"
    );
    assert!(String::from_utf8_lossy(&seen).contains("Transfer-Encoding: chunked"));
}

#[test]
fn n_workers_serve_n_slow_requests_at_once_and_the_next_one_queues() {
    let (_dir, server) = probe(&["-w", "2", "--trace-json"]);
    // Let both workers boot so the timing measures the queue, not the boot.
    server
        .trace
        .wait_count(SECS_20, 2, contains("worker_booted"));
    let port = server.port;
    let started = Instant::now();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100 * i));
                let response = request(port, "GET", "/slow?2", &[], b"");
                (response.text(), started.elapsed())
            })
        })
        .collect();
    let mut results: Vec<(String, Duration)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    results.sort_by_key(|r| r.1);
    // Each request sleeps 2 s: two at once finish near 2 s; the third needs a free worker
    // first and cannot finish before 4 s.
    assert!(
        results[1].1 < Duration::from_millis(3500),
        "two ran at once: {results:?}"
    );
    assert_ne!(results[0].0, results[1].0, "two different workers");
    assert!(
        results[2].1 >= Duration::from_millis(3900),
        "the third waited: {results:?}"
    );
    let queued: Vec<_> = server
        .events()
        .into_iter()
        .filter(|e| e["event"] == "queued")
        .collect();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["queue_len"], 1);
}

#[test]
fn a_worker_past_its_timeout_is_killed_and_replaced() {
    let (_dir, server) = probe(&["-t", "1"]);
    let first_pid = server.get("/pid").text();
    let started = Instant::now();
    let response = server.get("/slow?5");
    assert_eq!(response.status, 504);
    assert!(response.text().contains("--timeout"), "{}", response.text());
    assert!(started.elapsed() < Duration::from_secs(4));
    server.log.wait_for(
        SECS_20,
        contains(&format!("[CRITICAL] WORKER TIMEOUT (pid:{first_pid})")),
    );
    let second_pid = server.get("/pid").text();
    assert_ne!(first_pid, second_pid);
}

#[test]
fn a_crashed_worker_is_replaced() {
    let (_dir, server) = probe(&[]);
    let first_pid = server.get("/pid").text();
    let response = server.get("/crash");
    assert_eq!(response.status, 500);
    assert!(response.text().contains("died"), "{}", response.text());
    server.log.wait_for(
        SECS_20,
        contains(&format!("Worker (pid:{first_pid}) exited with code 1")),
    );
    let second_pid = server.get("/pid").text();
    assert_ne!(first_pid, second_pid);
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn an_exception_is_a_500_with_the_traceback_in_the_log() {
    let server = Server::start(&[&asset_app("site.py")]);
    let response = server.get("/boom");
    assert_eq!(response.status, 500);
    let line = server
        .log
        .wait_for(SECS_20, contains("[ERROR] Error handling request /boom"));
    assert!(!line.is_empty());
    server
        .log
        .wait_for(SECS_20, contains("Traceback (most recent call last):"));
    server.log.wait_for(SECS_20, contains("RuntimeError: boom"));
    assert!(
        server.log.text().contains("site.py"),
        "{}",
        server.log.text()
    );
}

#[rstest]
#[case::exception("/exception", "ZeroDivisionError")]
#[case::no_start("/no-start", "without calling start_response")]
#[case::str_body(
    "/str-body",
    "the response body must be bytes, but the application gave str"
)]
#[case::bad_header("/bad-header", "header names and values must be str, got (str, int)")]
#[case::hop_by_hop("/hop-by-hop", "'Connection' is a hop-by-hop header")]
#[case::bad_status("/bad-status", "the status must be a str like '200 OK', got int")]
fn each_spec_violation_in_broken_py_is_a_500_with_a_plain_words_log_line(
    #[case] path: &str,
    #[case] words: &str,
) {
    let server = Server::start(&[&asset_app("broken.py")]);
    let response = server.get(path);
    assert_eq!(response.status, 500, "{path}");
    server.log.wait_for(SECS_20, contains(words));
    assert_eq!(server.get("/").status, 200);
}

#[test]
fn pep_3333_finer_points() {
    let (_dir, server) = probe(&[]);
    let response = server.get("/reason");
    assert_eq!(
        (response.status, response.reason.as_str()),
        (200, "Everything Fine")
    );
    let response = server.get("/nocontent");
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    let response = request(server.port, "HEAD", "/", &[], b"");
    assert_eq!(response.status, 200);
    assert!(
        response.body.is_empty(),
        "HEAD has no body: {:?}",
        response.text()
    );
    assert_eq!(server.get("/write").text(), "written, then returned");
    let response = server.get("/exc-info");
    assert_eq!(response.status, 503, "exc_info replaces the unsent head");
    assert!(response.header("X-First").is_none());
    assert_eq!(server.get("/close").text(), "body");
    server.log.wait_for(SECS_20, contains("close() was called"));
    let response = server.get("/empty");
    assert_eq!(response.header("X-Empty"), Some("yes"));
    // Many headers (hyper, like gunicorn, accepts up to 100).
    let names: Vec<String> = (0..90).map(|i| format!("X-H{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let response = request(server.port, "GET", "/headers", &headers, b"");
    assert_eq!(response.text(), "90");
}

#[test]
fn app_output_is_logged_with_the_worker_pid_not_mixed_into_responses() {
    let (_dir, server) = probe(&[]);
    let pid = server.get("/pid").text();
    assert_eq!(server.get("/print").text(), "printed");
    let line = server.log.wait_for(SECS_20, contains("hello from print"));
    assert!(line.contains(&format!("[{pid}]")), "{line}");
    server
        .log
        .wait_for(SECS_20, contains("hello from wsgi.errors"));
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn a_failure_after_the_headers_went_out_cuts_the_connection() {
    let (_dir, server) = probe(&[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(b"GET /fail-midway HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream.set_read_timeout(Some(SECS_20)).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("partial "), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the body must not look complete: {text:?}"
    );
    server.log.wait_for(
        SECS_20,
        contains("RuntimeError: failed after the headers went out"),
    );
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn a_factory_named_with_parentheses_is_called_and_modules_import_from_chdir() {
    let dir = app_dir(&[("probe.py", PROBE)]);
    let chdir = dir.path().display().to_string();
    let server = Server::start(&["--chdir", &chdir, "probe:make()"]);
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn max_requests_replaces_a_worker() {
    let (_dir, server) = probe(&["--max-requests", "2"]);
    let first = server.get("/pid").text();
    assert_eq!(server.get("/pid").text(), first);
    let third = server.get("/pid").text();
    assert_ne!(third, first);
    server
        .log
        .wait_for(SECS_20, contains(&format!("Worker exiting (pid: {first})")));
}

#[test]
fn output_that_is_not_utf8_does_not_stop_the_logging() {
    let (_dir, server) = probe(&[]);
    assert_eq!(server.get("/bytes-print").text(), "ok");
    server
        .log
        .wait_for(SECS_20, contains("printed after the bad bytes"));
    assert_eq!(server.get("/bytes-print").text(), "ok");
    server
        .log
        .wait_count(SECS_20, 2, contains("printed after the bad bytes"));
}

#[cfg(unix)]
#[test]
fn sighup_and_the_reload_command_pick_up_an_edited_app() {
    let version = |n: u32| {
        format!(
            "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'v{n}']\n"
        )
    };
    let dir = app_dir(&[("app.py", &version(1))]);
    let app = dir.path().join("app.py").display().to_string();
    let mut server = Server::start(&["-w", "2", "--control-stdin", &app]);
    assert_eq!(server.get("/").text(), "v1");
    std::fs::write(dir.path().join("app.py"), version(2)).unwrap();
    server.signal(libc::SIGHUP);
    wait_for_body(&server, "v2");
    server
        .log
        .wait_for(SECS_20, contains("Handling signal: hup"));
    // The old workers leave once the new ones serve.
    server
        .log
        .wait_count(SECS_20, 2, contains("Worker exiting"));
    std::fs::write(dir.path().join("app.py"), version(3)).unwrap();
    server.control("reload");
    wait_for_body(&server, "v3");
    // An edit that breaks the import: the old workers keep serving.
    std::fs::write(dir.path().join("app.py"), "import no_such_module_here\n").unwrap();
    server.control("reload");
    server
        .log
        .wait_for(SECS_20, contains("ModuleNotFoundError"));
    server.log.wait_for(SECS_20, contains("keep serving"));
    assert_eq!(server.get("/").text(), "v3");
}

/// A one-line app answering `body`, padded so that no two versions have the same size
/// (Python's bytecode cache checks a source's mtime in whole seconds, and its size).
fn answering(body: &str) -> String {
    format!(
        "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'{body}']\n# {}\n",
        "x".repeat(body.len() * 7)
    )
}

/// The pids of the workers that booted so far, from the trace.
fn booted_pids(server: &Server) -> Vec<u32> {
    server
        .events()
        .iter()
        .filter(|e| e["event"] == "worker_booted")
        .map(|e| e["worker_pid"].as_u64().unwrap() as u32)
        .collect()
}

/// Whether the trace says worker `pid` exited.
fn exited(server: &Server, pid: u32) -> bool {
    server
        .events()
        .iter()
        .any(|e| e["event"] == "worker_exited" && e["worker_pid"] == pid)
}

/// Poll `/` until its status is `want` (a response is a must: the server keeps listening).
fn wait_for_status(server: &Server, want: u16, within: Duration) -> Response {
    let deadline = Instant::now() + within;
    loop {
        let response = server.get("/");
        if response.status == want {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "still {} {:?} after {within:?}\n{}",
            response.status,
            response.text(),
            server.log.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn workers_come_back_by_themselves_once_a_broken_app_is_fixed() {
    let dir = app_dir(&[("app.py", &answering("good"))]);
    let path = dir.path().join("app.py");
    let app = path.display().to_string();
    let mut server = Server::start(&["-w", "2", "--control-stdin", "--trace-json", &app]);
    server
        .trace
        .wait_count(SECS_20, 2, contains("worker_booted"));
    let old = booted_pids(&server);
    assert_eq!(server.get("/").text(), "good");

    // A reload with a broken app: the old workers keep serving.
    std::fs::write(&path, "import no_such_module_after_the_edit\n").unwrap();
    server.control("reload");
    server.log.wait_for(SECS_20, contains("keep serving"));
    assert_eq!(server.get("/").text(), "good");

    // The old workers die (killed by pid: they are this test's server's children).
    for pid in &old {
        process::signal(*pid, libc::SIGKILL);
    }
    assert!(
        eventually(SECS_20, || old.iter().all(|pid| exited(&server, *pid))),
        "{}",
        server.log.text()
    );
    // Nobody serves: 503s, while new workers are tried again and again.
    let unavailable = wait_for_status(&server, 503, SECS_20);
    let booting = contains("Booting worker with pid: ");
    let tried = server.log.count(&booting);
    server.log.wait_count(SECS_20, tried + 3, &booting);

    // Fixed, without a reload: served again within a few seconds (the backoff's cap is 5 s).
    std::fs::write(&path, answering("fixed")).unwrap();
    let fixed = Instant::now();
    let response = wait_for_status(&server, 200, SECS_20);
    assert_eq!(response.text(), "fixed");
    assert!(
        fixed.elapsed() < Duration::from_secs(8),
        "took {:?}",
        fixed.elapsed()
    );
    // Both workers are back: two more booted after the fix.
    assert!(
        eventually(SECS_20, || booted_pids(&server).len() >= old.len() + 2),
        "{}",
        server.log.text()
    );

    // What the learner read meanwhile: why the 503, and each failed attempt.
    assert!(
        unavailable.text().contains("ModuleNotFoundError"),
        "{}",
        unavailable.text()
    );
    server
        .log
        .wait_for(SECS_20, contains("GET / HTTP/1.1 answered 503: "));
    let failed = "failed to boot: ModuleNotFoundError: No module named \
                  'no_such_module_after_the_edit'; retrying in ";
    let lines = server.log.wait_count(SECS_20, 4, contains(failed));
    assert!(
        lines.iter().all(|l| l.contains("[ERROR] Worker (pid:")),
        "{lines:?}"
    );
    server
        .log
        .wait_for(SECS_20, contains("the application imports again"));
}

#[cfg(unix)]
#[test]
fn a_worker_killed_with_sigkill_is_replaced_even_while_it_boots() {
    // Importing takes a while, so that the replacement can be killed mid-import.
    let source = format!("import time\ntime.sleep(1.0)\n{}", answering("up"));
    let dir = app_dir(&[("slow_import.py", &source)]);
    let app = dir.path().join("slow_import.py").display().to_string();
    let server = Server::start(&["--trace-json", &app]);
    server.trace.wait_for(SECS_20, contains("worker_booted"));
    let first = booted_pids(&server)[0];
    assert_eq!(server.get("/").text(), "up");

    // A booted worker killed: replaced.
    process::signal(first, libc::SIGKILL);
    server.log.wait_for(
        SECS_20,
        contains(&format!("Worker (pid:{first}) was sent SIGKILL")),
    );
    // ... and its replacement killed while it imports the app.
    let booting = server
        .log
        .wait_count(SECS_20, 2, contains("Booting worker with pid: "));
    let second: u32 = booting[1].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(!booted_pids(&server).contains(&second));
    process::signal(second, libc::SIGKILL);
    assert!(
        eventually(SECS_20, || exited(&server, second)),
        "{}",
        server.log.text()
    );
    // A third worker boots and serves.
    let response = wait_for_status(&server, 200, SECS_20);
    assert_eq!(response.text(), "up");
    let pids = booted_pids(&server);
    assert_eq!(pids.len(), 2, "{}", server.log.text());
    assert!(pids[1] != first && pids[1] != second);
    server.log.wait_for(
        SECS_20,
        contains(&format!("Worker (pid:{second}) failed to boot: ")),
    );
}

/// gunicorn's error page for a request it cannot take.
fn gunicorn_page(message: &str) -> String {
    format!(
        "<html>\n  <head>\n    <title>Bad Request</title>\n  </head>\n  <body>\n    <h1><p>Bad Request</p></h1>\n    {message}\n  </body>\n</html>\n"
    )
}

#[test]
fn an_http11_request_without_host_is_a_400_and_http10_needs_none() {
    let (_dir, server) = probe(&[]);
    let exchange = |raw: &str| {
        try_exchange(server.port, raw.as_bytes(), SECS_20)
            .unwrap_or_else(|| panic!("no answer to {raw:?}\n{}", server.log.text()))
    };
    let response = exchange("GET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        (response.version.as_str(), response.status),
        ("HTTP/1.1", 400)
    );
    assert_eq!(response.reason, "Bad Request");
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(
        response.text(),
        gunicorn_page("Missing HTTP Header: &#x27;HOST&#x27;")
    );
    server.log.wait_for(
        SECS_20,
        contains("[WARNING] Invalid request from ip=127.0.0.1: Missing HTTP Header: 'HOST'"),
    );
    server
        .log
        .wait_for(SECS_20, contains("\"GET / HTTP/1.1\" 400 "));
    // Two Host lines are refused whatever the version.
    let response = exchange("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_eq!(response.status, 400);
    assert_eq!(
        response.text(),
        gunicorn_page("Invalid HTTP Header: &#x27;HOST&#x27;")
    );
    // HTTP/1.0 may leave Host out; the app is not bothered by the refusals.
    let response = exchange("GET / HTTP/1.0\r\n\r\n");
    assert_eq!((response.status, response.text().as_str()), (200, "probe"));
    assert_eq!(server.get("/").text(), "probe");
}

#[cfg(unix)]
#[test]
fn a_repeated_host_is_refused_in_gunicorns_words() {
    require_python_module("gunicorn");
    let dir = app_dir(&[("probe.py", PROBE)]);
    let port = free_port();
    let mut gunicorn = std::process::Command::new("python3");
    gunicorn
        .args(["-m", "gunicorn", "--no-control-socket", "-b"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--chdir", &dir.path().display().to_string(), "probe:app"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut gunicorn = Killed(gunicorn.spawn().expect("start gunicorn"));
    let log = process::Lines::from_pipe(gunicorn.0.stderr.take().unwrap());
    log.wait_for(SECS_20, contains("Booting worker"));
    let (_dir, ours) = probe(&[]);
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    let theirs = try_exchange(port, raw, SECS_20).expect("gunicorn answers");
    let mine = try_exchange(ours.port, raw, SECS_20).expect("the WSGI server answers");
    let line = |r: &Response| format!("{} {} {}", r.version, r.status, r.reason);
    assert_eq!(line(&mine), line(&theirs));
    assert_eq!(mine.header("content-type"), theirs.header("content-type"));
    assert_eq!(mine.header("connection"), theirs.header("connection"));
    assert_eq!(mine.text(), theirs.text());
    // Let gunicorn stop its own worker: SIGTERM to the master this test started.
    process::signal(gunicorn.0.id(), libc::SIGTERM);
    process::wait_exit(&mut gunicorn.0, SECS_20);
}

fn wait_for_body(server: &Server, want: &str) {
    let deadline = Instant::now() + SECS_20;
    loop {
        let got = server.get("/").text();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got:?}\n{}",
            server.log.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn sigterm_finishes_in_flight_requests_then_exits() {
    let (_dir, mut server) = probe(&[]);
    assert_eq!(server.get("/").status, 200);
    let port = server.port;
    let in_flight = std::thread::spawn(move || request(port, "GET", "/slow?1", &[], b""));
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    let response = in_flight.join().unwrap();
    assert_eq!(response.status, 200, "{}", server.log.text());
    assert_eq!(server.wait_exit(SECS_20), Some(0));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    server
        .log
        .wait_for(SECS_20, contains("Shutting down: Master"));
}

#[test]
fn the_stop_command_and_the_end_of_stdin_stop_the_server() {
    let (_dir, mut server) = probe(&["--control-stdin"]);
    assert_eq!(server.get("/").status, 200);
    drop(server.stdin.take());
    assert_eq!(server.wait_exit(SECS_20), Some(0));
}

#[test]
fn the_worker_count_changes_at_runtime() {
    let (_dir, mut server) = probe(&["--control-stdin", "--trace-json"]);
    server
        .trace
        .wait_count(SECS_20, 1, contains("worker_booted"));
    server.control("workers 3");
    server
        .trace
        .wait_count(SECS_20, 2, contains("\"workers_changed\""));
    server
        .trace
        .wait_count(SECS_20, 3, contains("worker_booted"));
    server.control("workers -1");
    server
        .trace
        .wait_count(SECS_20, 1, contains("worker_exited"));
    server.control("workers 1");
    server
        .trace
        .wait_count(SECS_20, 2, contains("worker_exited"));
    #[cfg(unix)]
    {
        server.signal(libc::SIGTTIN);
        server
            .trace
            .wait_count(SECS_20, 4, contains("worker_booted"));
        server.signal(libc::SIGTTOU);
        server
            .trace
            .wait_count(SECS_20, 3, contains("worker_exited"));
    }
    let changes: Vec<u64> = server
        .events()
        .iter()
        .filter(|e| e["event"] == "workers_changed")
        .map(|e| e["workers"].as_u64().unwrap())
        .collect();
    // The first event announces the starting count.
    let want: &[u64] = if cfg!(unix) {
        &[1, 3, 2, 1, 2, 1]
    } else {
        &[1, 3, 2, 1]
    };
    assert_eq!(changes, want);
    assert_eq!(server.get("/").text(), "probe");
}

#[test]
fn trace_events_follow_one_request_by_its_id() {
    let (_dir, server) = probe(&["--trace-json"]);
    server.trace.wait_for(SECS_20, contains("worker_booted"));
    let id = "0123456789abcdef0123456789abcdef";
    let response = request(server.port, "GET", "/pid", &[("X-Request-Id", id)], b"");
    assert_eq!(response.status, 200);
    server
        .trace
        .wait_for(SECS_20, contains("\"response_sent\""));
    let events = server.events();
    let listening = events.iter().find(|e| e["event"] == "listening").unwrap();
    assert_eq!(listening["addr"], format!("127.0.0.1:{}", server.port));
    let mine: Vec<&str> = events
        .iter()
        .filter(|e| e["request_id"] == id)
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        mine,
        [
            "received",
            "environ_built",
            "dispatched",
            "start_response",
            "body_sent",
            "finished",
            "response_sent"
        ]
    );
    let environ = events
        .iter()
        .find(|e| e["event"] == "environ_built")
        .unwrap();
    let pairs = environ["environ"].as_array().unwrap();
    assert!(pairs.iter().any(|p| p[0] == "PATH_INFO" && p[1] == "/pid"));
    let dispatched = events.iter().find(|e| e["event"] == "dispatched").unwrap();
    assert_eq!(dispatched["worker_pid"].to_string(), response.text());
    // A request without an id gets a fresh one.
    server.get("/");
    server
        .trace
        .wait_count(SECS_20, 2, contains("\"response_sent\""));
    let ids: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["event"] == "received")
        .map(|e| e["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1].len(), 32);
    assert!(ids[1].bytes().all(|b| b.is_ascii_hexdigit()));
    // What the app prints is traced with the request it was serving.
    let print_id = "fedcba9876543210fedcba9876543210";
    request(
        server.port,
        "GET",
        "/print",
        &[("X-Request-Id", print_id)],
        b"",
    );
    let line = server
        .trace
        .wait_for(SECS_20, contains("hello from wsgi.errors"));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["event"], "app_output");
    assert_eq!(event["request_id"], print_id);
    // The application's failures are trace events too.
    request(server.port, "GET", "/crash", &[], b"");
    server.trace.wait_for(SECS_20, contains("\"app_error\""));
    server
        .trace
        .wait_for(SECS_20, contains("\"worker_exited\""));
}

#[test]
fn an_app_that_cannot_be_imported_stops_the_server_with_the_python_error() {
    let dir = app_dir(&[("bad.py", "import no_such_module_anywhere\n")]);
    let app = dir.path().join("bad.py").display().to_string();
    let mut server = Server::start(&["-w", "2", &app]);
    assert_eq!(server.wait_exit(SECS_20), Some(3));
    let log = server.log.text();
    assert!(
        log.contains("ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
        "{log}"
    );
    assert!(log.contains("Reason: Worker failed to boot."), "{log}");
}

#[test]
fn a_busy_port_is_reported_and_the_server_exits() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(BIN)
        .args(["wsgi-server", "-b", &addr, "builtin:hello"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Connection in use"), "{err}");
}

#[test]
fn a_missing_python_names_the_way_out() {
    let out = std::process::Command::new(BIN)
        .args([
            "wsgi-server",
            "--python",
            "/no/such/python3",
            "hello:application",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no Python"), "{err}");
    assert!(err.contains("builtin:site"), "{err}");
}

#[test]
fn the_builtin_apps_answer_without_python() {
    let server = Server::start(&["--python", "/no/such/python3", "builtin:site"]);
    let index = server.get("/");
    assert_eq!(index.status, 200);
    for link in [
        "/hello", "/environ", "/form", "/slow", "/stream", "/counter", "/boom", "/static/",
    ] {
        assert!(
            index.text().contains(&format!("href=\"{link}"))
                || index.text().contains(&format!("href='{link}")),
            "{link}"
        );
    }
    assert_eq!(server.get("/hello").text(), "Hello, World!\n");
    assert!(server.get("/environ").text().contains("PATH_INFO"));
    assert!(server.get("/stream").text().contains("chunk 5 of 5"));
    assert!(server.get("/slow?ms=10").text().contains("Slept 10 ms"));
    assert!(server.get("/counter").text().contains("1 times"));
    let form = request(
        server.port,
        "POST",
        "/form",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"name=Ada+L",
    );
    assert!(form.text().contains("Hello, Ada L!"), "{}", form.text());
    assert_eq!(server.get("/boom").status, 500);
    server
        .log
        .wait_for(SECS_20, contains("Error handling request /boom"));
    assert_eq!(server.get("/nope").status, 404);

    let hello = Server::start(&["builtin:hello"]);
    assert_eq!(hello.get("/anything").text(), "Hello, World!\n");
    let environ = Server::start(&["builtin:environ"]);
    assert!(environ.get("/x?y=1").text().contains("QUERY_STRING"));
    let echo = Server::start(&["builtin:echo"]);
    let response = request(
        echo.port,
        "POST",
        "/echo?a=1",
        &[("X-Hello", "there")],
        b"the body",
    );
    let text = response.text();
    assert!(text.starts_with("POST /echo?a=1 HTTP/1.1\n"), "{text}");
    assert!(text.contains("X_HELLO: there"), "{text}");
    assert!(text.ends_with("\n\nthe body"), "{text}");
}

#[rstest]
#[case::hello("hello.py")]
#[case::environ("environ.py")]
#[case::form("form.py")]
#[case::counter("counter.py")]
#[case::framework("framework.py")]
#[case::site("site.py")]
#[case::stream("stream.py")]
fn an_example_app_answers_its_index(#[case] app: &str) {
    let server = Server::start(&[&asset_app(app)]);
    let response = server.get("/");
    assert_eq!(
        response.status,
        200,
        "{app}: {}\n{}",
        response.text(),
        server.log.text()
    );
}

#[test]
fn the_example_apps_run() {
    let server = Server::start(&[&asset_app("slow.py")]);
    assert!(server.get("/?ms=10").text().starts_with("Slept 10 ms"));
    let server = Server::start(&[&asset_app("form.py")]);
    let response = request(server.port, "POST", "/", &[], b"name=Grace");
    assert!(
        response.text().contains("Hello, Grace!"),
        "{}",
        response.text()
    );
    let server = Server::start(&[&format!("{}:app", asset_app("framework.py"))]);
    assert_eq!(server.get("/hello?name=Lin").text(), "Hello, Lin!\n");
    assert_eq!(server.get("/missing").status, 404);
}

#[test]
fn a_real_flask_app_runs_unchanged() {
    require_python_module("flask");
    let source = r#"
from flask import Flask, request, jsonify

app = Flask(__name__)

@app.route("/")
def index():
    return "Hello from Flask"

@app.route("/echo", methods=["POST"])
def echo():
    return jsonify(got=request.get_json(), scheme=request.scheme, remote=request.remote_addr)
"#;
    let dir = app_dir(&[("flaskapp.py", source)]);
    let server = Server::start_in(Some(dir.path()), &["flaskapp:app"]);
    let response = server.get("/");
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "Hello from Flask"),
        "{}",
        server.log.text()
    );
    let response = request(
        server.port,
        "POST",
        "/echo",
        &[("Content-Type", "application/json")],
        br#"{"a": [1, 2]}"#,
    );
    assert_eq!(response.status, 200, "{}", server.log.text());
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(json["got"]["a"], serde_json::json!([1, 2]));
    assert_eq!(json["remote"], "127.0.0.1");
    assert_eq!(server.get("/missing").status, 404);
}
