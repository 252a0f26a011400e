//! proxy_pass: URIs, headers, HTTP/1.0 vs keep-alive pools, round robin, 502/504/413,
//! streaming in bounded memory, error pages, add_header and return.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use rstest::rstest;

use common::http::Response;
use common::ports::free_port;
use common::upstream::{Upstream, parse_echo};
use common::web_server::Server;

struct Lab {
    _dir: tempfile::TempDir,
    server: Server,
    up: Upstream,
    up2: Upstream,
    dead: u16,
}

fn lab() -> Lab {
    lab_with("")
}

/// The lab with `main` (directives of the main context) before its blocks.
fn lab_with(main: &str) -> Lab {
    let up = Upstream::start();
    let up2 = Upstream::start();
    let dead = free_port();
    let conf = format!(
        r#"{main}
upstream pool {{
    server {up};
    keepalive 4;
}}
upstream rr {{
    server {up};
    server {up2};
    server 127.0.0.1:{dead};
}}
server {{
    listen 127.0.0.1:0;
    server_name localhost;

    location / {{
        proxy_pass http://{up};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Request-Id $request_id;
    }}
    location /raw/ {{
        proxy_pass http://{up};
    }}
    location /api/ {{
        proxy_pass http://{up}/v2/;
    }}
    location /pool/ {{
        proxy_pass http://pool;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }}
    location /rr/ {{
        proxy_pass http://rr;
    }}
    location /slow/ {{
        proxy_pass http://{up};
        proxy_read_timeout 1s;
    }}
    location /dead/ {{
        proxy_pass http://127.0.0.1:{dead};
        add_header X-Always yes always;
        add_header X-Sometimes yes;
    }}
    location /small/ {{
        proxy_pass http://{up};
        client_max_body_size 10k;
    }}
    location /huge/ {{
        proxy_pass http://{up};
        client_max_body_size 0;
    }}
    location /headers/ {{
        proxy_pass http://{up};
        add_header X-Added one;
        add_header X-Always two always;
    }}
    location = /r/204 {{ return 204; }}
    location = /r/text {{ return 200 "hello $host\n"; }}
    location = /r/301 {{ return 301 /elsewhere?a=1; }}
    location = /r/302 {{ return 302 http://example.com/x; }}
    location = /r/url {{ return https://example.org/y; }}
    location = /r/404 {{ return 404; }}
    location = /r/403text {{ return 403 "no\n"; }}
}}
"#,
        up = up.addr(),
        up2 = up2.addr(),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &conf);
    Lab {
        _dir: dir,
        server,
        up,
        up2,
        dead,
    }
}

fn echo(r: &Response) -> std::collections::HashMap<String, Vec<String>> {
    assert_eq!(r.status, 200, "{}", r.text());
    parse_echo(&r.text())
}

fn one<'a>(e: &'a std::collections::HashMap<String, Vec<String>>, key: &str) -> Option<&'a str> {
    e.get(key).and_then(|v| v.first()).map(String::as_str)
}

/// No URI part in `proxy_pass`: the client's raw URI goes upstream, odd encodings and all.
#[rstest]
#[case::encoded_slash_and_params("/odd/%7Euser/a%2fb;p=1?q=%41&r=%2F")]
#[case::dot_segments("/a//b/./c/../d?x")]
#[case::encoded_letters("/%41%42C")]
fn uri_forwarding_without_uri_part_keeps_the_raw_uri(#[case] target: &str) {
    let l = lab();
    let r = l.server.get(target);
    let e = echo(&r);
    assert_eq!(one(&e, "uri"), Some(target), "raw URI for {target}");
}

#[test]
fn uri_forwarding_with_uri_part() {
    let l = lab();
    // with a URI part: the matched prefix replaced
    let r = l.server.get("/api/users/42?full=1");
    assert_eq!(one(&echo(&r), "uri"), Some("/v2/users/42?full=1"));
    let r = l.server.get("/api/a%20b");
    assert_eq!(one(&echo(&r), "uri"), Some("/v2/a%20b"));
    let r = l.server.get("/api/");
    assert_eq!(one(&echo(&r), "uri"), Some("/v2/"));
}

#[test]
fn host_version_and_connection_defaults() {
    let l = lab();
    let r = l
        .server
        .request("GET", "/x", &[("Host", "WWW.Example.COM:8080")], b"");
    let e = echo(&r);
    assert_eq!(one(&e, "header host"), Some("www.example.com"));
    assert_eq!(one(&e, "version"), Some("HTTP/1.0"));
    assert_eq!(one(&e, "header connection"), Some("close"));
    // without proxy_set_header Host: $proxy_host
    let r = l.server.get("/raw/x");
    let e = echo(&r);
    assert_eq!(one(&e, "header host"), Some(l.up.addr().as_str()));
    assert_eq!(one(&e, "version"), Some("HTTP/1.0"));
    assert_eq!(one(&e, "header connection"), Some("close"));
}

#[test]
fn keepalive_pool_reuses_upstream_connections() {
    let l = lab();
    let before = l.up.accepted();
    for i in 0..20 {
        let r = l.server.get(&format!("/pool/{i}"));
        let e = echo(&r);
        assert_eq!(one(&e, "version"), Some("HTTP/1.1"));
        assert_eq!(one(&e, "header connection"), None);
    }
    let used = l.up.accepted() - before;
    assert!(used <= 1, "20 requests opened {used} upstream connections");
    // and without the pool: one connection per request
    let before = l.up.accepted();
    for i in 0..5 {
        echo(&l.server.get(&format!("/raw/{i}")));
    }
    assert_eq!(l.up.accepted() - before, 5);
}

#[test]
fn a_pooled_connection_the_upstream_closed_while_idle_is_not_used() {
    let l = lab();
    for i in 0..5 {
        let r = l.server.get(&format!("/pool/idle-close/{i}"));
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        // Let the upstream's close arrive while the connection waits in the pool.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let r = l.server.get(&format!("/pool/after/{i}"));
        assert_eq!(r.status, 200, "after close {i}: {}", r.text());
    }
}

#[test]
fn hop_by_hop_headers_removed_both_ways() {
    let l = lab();
    let r = l.server.request(
        "GET",
        "/raw/hop",
        &[
            ("Connection", "keep-alive, X-Whatever"),
            ("Keep-Alive", "300"),
            ("TE", "trailers"),
            ("Upgrade", "websocket"),
            ("X-Custom", "kept"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let e = parse_echo(&r.text());
    assert_eq!(one(&e, "header connection"), Some("close"));
    for h in ["keep-alive", "te", "upgrade"] {
        assert_eq!(one(&e, &format!("header {h}")), None, "{h} forwarded");
    }
    assert_eq!(one(&e, "header x-custom"), Some("kept"));
    // response side
    assert_eq!(r.header("keep-alive"), None);
    assert_eq!(r.header("x-pad"), None);
    assert_eq!(r.header("x-kept"), Some("yes"));
    assert!(r.header("server").unwrap().starts_with("wsgi-tutor"));
    assert_ne!(r.header("date"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
}

#[test]
fn request_id_is_fresh_hex_and_traced_and_x_forwarded_for_appended() {
    let l = lab();
    let r1 = l
        .server
        .request("GET", "/id", &[("X-Forwarded-For", "10.0.0.1")], b"");
    let e1 = echo(&r1);
    let r2 = l.server.get("/id");
    let e2 = echo(&r2);
    let id1 = one(&e1, "header x-request-id").unwrap().to_owned();
    let id2 = one(&e2, "header x-request-id").unwrap().to_owned();
    for id in [&id1, &id2] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    assert_ne!(id1, id2);
    assert_eq!(
        one(&e1, "header x-forwarded-for"),
        Some("10.0.0.1, 127.0.0.1")
    );
    assert_eq!(one(&e2, "header x-forwarded-for"), Some("127.0.0.1"));
    // the same id in the trace: received, proxied, upstream_answered, response_sent
    let sent = l.server.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "response_sent" && e["request_id"] == id1.as_str()
    });
    assert_eq!(sent["status"], 200);
    let kinds: Vec<String> = l
        .server
        .events_of(&id1)
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "location_matched",
            "proxied",
            "upstream_answered",
            "response_sent"
        ],
        "{kinds:?}"
    );
}

#[test]
fn round_robin_across_servers_skipping_a_dead_one() {
    let l = lab();
    let mut seen = std::collections::HashSet::new();
    for i in 0..9 {
        let r = l.server.get(&format!("/rr/{i}"));
        assert_eq!(r.status, 200, "GET {i} through rr: {}", r.text());
        seen.insert(r.header("x-upstream").unwrap().to_owned());
    }
    assert!(seen.contains(&l.up.port.to_string()));
    assert!(seen.contains(&l.up2.port.to_string()));
    assert!(
        l.server
            .stderr
            .text()
            .contains("connect() failed (111: Connection refused) while connecting to upstream"),
        "{}",
        l.server.stderr.text()
    );
    let _ = l.dead;
}

#[test]
fn post_goes_to_next_server_when_connect_is_refused() {
    // nginx passes a request to the next server after a connect error whatever its method:
    // the request was never sent, so it cannot have had an effect (proxy_next_upstream).
    let up = Upstream::start();
    let dead = free_port();
    let conf = format!(
        "upstream two {{ server 127.0.0.1:{dead}; server {}; }}\nserver {{ listen 127.0.0.1:0; location / {{ proxy_pass http://two; }} }}\n",
        up.addr()
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &conf);
    for i in 0..4 {
        let r = server.request("POST", &format!("/p{i}"), &[], b"a=1");
        assert_eq!(r.status, 200, "POST {i}: {}", r.text());
        assert_eq!(one(&parse_echo(&r.text()), "body-len"), Some("3"));
    }
}

#[test]
fn bad_gateway_when_refused_reset_or_closed() {
    let l = lab();
    let r = l.server.get("/dead/x");
    assert_eq!(r.status, 502);
    let port = l.dead;
    let want_page = format!(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>{}</center>\r\n</body>\r\n</html>\r\n",
        r.header("server").unwrap()
    );
    assert_eq!(r.text(), want_page);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.header("server").unwrap().starts_with("wsgi-tutor/"));
    assert_eq!(r.header("x-always"), Some("yes"));
    assert_eq!(r.header("x-sometimes"), None);
    let line = l.server.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("[error]") && l.contains("connect() failed (111: Connection refused)")
    });
    assert!(
        line.contains(&format!("upstream: \"http://127.0.0.1:{port}/dead/x\"")),
        "{line}"
    );
    assert!(line.contains("request: \"GET /dead/x HTTP/1.1\""), "{line}");
    // The trace carries the reason with the request, for the tutor's inspector.
    let error = l.server.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "error"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("connect() failed (111: Connection refused)"))
    });
    assert_eq!(error["level"], "error");
    assert_eq!(error["request_id"].as_str().map(str::len), Some(32));
    assert!(!error["message"].as_str().unwrap().contains("client:"));

    let r = l.server.get("/raw/reset");
    assert_eq!(r.status, 502, "reset");
    let r = l.server.get("/raw/close");
    assert_eq!(r.status, 502, "closed without answer");
    l.server
            .stderr
            .wait_for(Duration::from_secs(5), |l| l.contains("[error]")
                && l.contains("upstream prematurely closed connection while reading response header from upstream"));
    l.server.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("[error]")
            && l.contains("/raw/reset")
            && l.contains("while reading response header from upstream")
    });
}

#[test]
fn gateway_timeout_after_proxy_read_timeout() {
    let l = lab();
    let started = Instant::now();
    let r = l.server.get("/slow/sleep/4000");
    let took = started.elapsed();
    assert_eq!(r.status, 504);
    assert!(r.text().contains("<title>504 Gateway Time-out</title>"));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3500),
        "{took:?}"
    );
    l.server.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("[error]") && l.contains("upstream timed out (110: Connection timed out)")
    });
    // under the timeout it answers
    let r = l.server.get("/slow/sleep/200");
    assert_eq!(r.status, 200);
}

#[test]
fn request_entity_too_large() {
    let l = lab();
    let r = l.server.request("POST", "/small/x", &[], &[b'a'; 20_000]);
    assert_eq!(r.status, 413);
    assert!(
        r.text()
            .contains("<title>413 Request Entity Too Large</title>")
    );
    // chunked
    let mut conn = l.server.connect();
    let mut req = b"POST /small/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..5 {
        req.extend_from_slice(b"1000\r\n");
        req.extend_from_slice(&[b'b'; 0x1000]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    conn.send(&req);
    let r = conn.read_response(false).unwrap();
    assert_eq!(r.status, 413, "chunked over the limit");
    // chunked under the limit reaches the upstream whole
    let mut conn = l.server.connect();
    conn.send(b"POST /small/ok HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    let r = conn.read_response(false).unwrap();
    assert_eq!(one(&echo(&r), "body-len"), Some("11"));
    // the default limit is 1m
    let r = l
        .server
        .request("POST", "/x", &[], &vec![b'c'; 1024 * 1024 + 1]);
    assert_eq!(r.status, 413);
    let r = l
        .server
        .request("POST", "/x", &[], &vec![b'c'; 1024 * 1024]);
    assert_eq!(one(&echo(&r), "body-len"), Some("1048576"));
    assert!(
        l.server
            .stderr
            .text()
            .contains("client intended to send too large body"),
        "{}",
        l.server.stderr.text()
    );
}

const HUNDRED_MIB: u64 = 100 * 1024 * 1024;

#[test]
fn streams_100_mib_both_ways_in_bounded_memory() {
    let l = lab();
    // download
    let mut conn = l.server.connect();
    conn.send_request("GET", &format!("/huge/big/{HUNDRED_MIB}"), &[], b"");
    let head = conn.read_head().unwrap();
    assert_eq!(head.status, 200);
    let mut got = 0u64;
    let mut ok = true;
    conn.read_body_with(&head, false, &mut |b| {
        for (i, &x) in b.iter().enumerate() {
            if x != ((got as usize + i) % (64 * 1024) % 251) as u8 {
                ok = false;
            }
        }
        got += b.len() as u64;
    })
    .unwrap();
    assert_eq!(got, HUNDRED_MIB);
    assert!(ok, "downloaded bytes differ from what the upstream sent");

    // upload
    let mut conn = l.server.connect();
    conn.send(
        format!(
            "POST /huge/up HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {HUNDRED_MIB}\r\n\r\n"
        )
        .as_bytes(),
    );
    let piece = vec![b'u'; 1024 * 1024];
    for _ in 0..100 {
        conn.stream.write_all(&piece).unwrap();
    }
    let r = conn.read_response(false).unwrap();
    assert_eq!(
        one(&echo(&r), "body-len"),
        Some(HUNDRED_MIB.to_string().as_str())
    );

    let (hwm, rss) = l.server.memory_kib();
    println!("web server memory after streaming: VmHWM {hwm} KiB, VmRSS {rss} KiB");
    assert!(
        hwm < 60 * 1024,
        "peak RSS {hwm} KiB (now {rss} KiB) while streaming 100 MiB each way"
    );
}

#[test]
fn return_directive() {
    let l = lab();
    let r = l.server.get("/r/204");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let r = l.server.get("/r/text");
    assert_eq!((r.status, r.text().as_str()), (200, "hello localhost\n"));
    let r = l.server.get("/r/301");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{}/elsewhere?a=1", l.server.port).as_str())
    );
    assert!(r.text().contains("<title>301 Moved Permanently</title>"));
    let r = l.server.get("/r/302");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("http://example.com/x"))
    );
    let r = l.server.get("/r/url");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.org/y"))
    );
    let r = l.server.get("/r/404");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<center><h1>404 Not Found</h1></center>"));
    let r = l.server.get("/r/403text");
    assert_eq!((r.status, r.text().as_str()), (403, "no\n"));
}

#[test]
fn add_header_and_always() {
    let l = lab();
    let r = l.server.get("/headers/x");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-added"), Some("one"));
    assert_eq!(r.header("x-always"), Some("two"));
    let r = l.server.get("/headers/reset");
    assert_eq!(r.status, 502);
    assert_eq!(r.header("x-added"), None);
    assert_eq!(r.header("x-always"), Some("two"));
}

#[test]
fn upstream_redirects_are_rewritten_like_proxy_redirect_default() {
    // nginx's `proxy_redirect default`: with `proxy_pass http://up/v2/` in `location /api/`,
    // an upstream `Location: http://up/v2/target` reaches the client as
    // `http://<host>:<port>/api/target`.
    let l = lab();
    let r = l.server.get("/api/redirect");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{}/api/target", l.server.port).as_str()),
        "the upstream's own address leaked to the client"
    );
}

#[rstest]
#[case::not_found(404)]
#[case::internal_error(500)]
#[case::unavailable(503)]
fn upstream_statuses_pass_through(#[case] code: u16) {
    let l = lab();
    let r = l.server.get(&format!("/raw/status/{code}"));
    assert_eq!(r.status, code);
    assert_eq!(r.text(), format!("upstream says {code}\n"));
}

#[test]
fn upstream_chunked_bodies_pass_through() {
    let l = lab();
    let r = l.server.get("/raw/chunked");
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"));
}

/// nginx 1.22's 400 page, with this server's token.
fn bad_request_page(r: &Response) -> String {
    format!(
        "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>{}</center>\r\n</body>\r\n</html>\r\n",
        r.header("server").unwrap_or("?")
    )
}

/// No request whose target contains `marker` reached the upstream finished (its last
/// chunk, or all its Content-Length, arrived).
fn upstream_never_finished(up: &Upstream, marker: &str) {
    // what the web server sent has had time to arrive
    std::thread::sleep(Duration::from_millis(200));
    let finished: Vec<_> = up
        .all()
        .into_iter()
        .filter(|r| r.target.contains(marker))
        .collect();
    assert!(
        finished.is_empty(),
        "the upstream got a finished request from a broken body: {finished:?}"
    );
}

/// A client's broken chunked framing is the client's fault, as in nginx (observed with
/// 1.22: `400`, nginx's page, `Connection: close`, `[error] client sent invalid chunked
/// body, client: ..., server: ..., request: "...", host: "..."`), whether the body streams
/// to a keep-alive pool (HTTP/1.1) or is collected for an HTTP/1.0 upstream; the upstream
/// never sees a finished request. Before the fix the pooled path answered 502 and logged
/// "client closed or failed while sending the request body to upstream".
#[rstest]
fn invalid_chunked_body_is_the_client_s_400(
    #[values(
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\r\nhello\r\n5\r\nworld0\r\n\r\n"
    )]
    body: &str,
    #[values("/pool/", "/raw/")] prefix: &str,
) {
    let l = lab();
    let mut conn = l.server.connect();
    conn.set_read_timeout(Duration::from_secs(10));
    conn.send(
        format!(
            "POST {prefix}broken HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        )
        .as_bytes(),
    );
    let r = conn.read_response(false).unwrap();
    assert_eq!(r.status, 400, "{body:?} via {prefix}: {}", r.text());
    assert_eq!(r.text(), bad_request_page(&r));
    assert_eq!(r.header("connection"), Some("close"));
    let line = l.server.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("client sent invalid chunked body")
    });
    assert!(
        line.contains("[error]")
            && line.ends_with(&format!(
                "client sent invalid chunked body, client: 127.0.0.1, server: localhost, request: \"POST {prefix}broken HTTP/1.1\", host: \"localhost\""
            )),
        "{line}"
    );
    upstream_never_finished(&l.up, "broken");
    let sent = l.server.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "response_sent" && e["status"] == 400
    });
    assert_eq!(sent["status"], 400);
    // The pool is not poisoned: the next request through it is served.
    let r = l.server.get(&format!("{prefix}after"));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A client that closes before its body's last chunk: nginx logs `[info] client
/// prematurely closed connection` and logs 400 (its client is gone, so nothing needs to
/// reach it); the upstream never sees a finished request. Before the fix: 502, `[error]`.
#[rstest]
fn client_closing_mid_body_is_a_400_not_a_502(
    #[values(
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "Content-Length: 100\r\n\r\nhello"
    )]
    framing: &str,
    #[values("/pool/", "/raw/")] prefix: &str,
) {
    let l = lab_with("error_log stderr info;");
    let mut conn = l.server.connect();
    conn.set_read_timeout(Duration::from_secs(10));
    conn.send(format!("POST {prefix}cut HTTP/1.1\r\nHost: localhost\r\n{framing}").as_bytes());
    // Let the head and the first bytes go upstream before the client goes away.
    std::thread::sleep(Duration::from_millis(200));
    conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
    // Whatever comes back (nginx sends nothing), it is no 502.
    if let Ok(r) = conn.read_response(false) {
        assert_eq!(r.status, 400, "{}", r.text());
    }
    let line = l.server.stderr.wait_for(Duration::from_secs(5), |l| {
        l.contains("client prematurely closed connection")
    });
    assert!(line.contains("[info]"), "{line}");
    assert!(
        line.contains(&format!("request: \"POST {prefix}cut HTTP/1.1\"")),
        "{line}"
    );
    let sent = l.server.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "response_sent"
            && e["request_id"].is_string()
            && e["status"].as_u64().is_some_and(|s| s >= 400)
    });
    assert_eq!(sent["status"], 400);
    assert!(
        !l.server.stderr.text().contains("[error]"),
        "{}",
        l.server.stderr.text()
    );
    upstream_never_finished(&l.up, "cut");
}

/// Upstream failures stay the upstream's: a valid chunked body to a pooled upstream that
/// resets after reading it is still 502.
#[test]
fn an_upstream_failure_after_a_good_chunked_body_is_still_502() {
    let l = lab();
    let mut conn = l.server.connect();
    conn.set_read_timeout(Duration::from_secs(10));
    conn.send(b"POST /pool/reset HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    let r = conn.read_response(false).unwrap();
    assert_eq!(r.status, 502, "{}", r.text());
    let r = l.server.request("POST", "/pool/ok", &[], b"hello");
    assert_eq!(one(&echo(&r), "body-len"), Some("5"));
}

/// A web server with a keep-alive upstream block holding `settings`, at `/ka/`.
fn keepalive_server(up: &Upstream, settings: &str) -> (tempfile::TempDir, Server) {
    let conf = format!(
        "upstream ka {{\n    server {};\n    keepalive 2;\n    {settings}\n}}\nserver {{\n    listen 127.0.0.1:0;\n    location /ka/ {{\n        proxy_pass http://ka;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n    }}\n}}\n",
        up.addr()
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &conf);
    (dir, server)
}

/// Which upstream connection served a request (the echo's `conn`).
fn conn_of(server: &Server, path: &str) -> String {
    let r = server.get(path);
    one(&echo(&r), "conn").unwrap().to_owned()
}

/// nginx closes a cached upstream connection that stayed idle for the upstream block's
/// `keepalive_timeout` (nginx 1.22 with `keepalive_timeout 2s`: the upstream saw the close
/// 2.003 s after its answer). Before the fix the setting was ignored with a [warn] and an
/// idle pooled connection stayed open indefinitely (32 minutes were seen).
#[test]
fn an_idle_pooled_connection_is_closed_after_keepalive_timeout() {
    let up = Upstream::start();
    let (_dir, server) = keepalive_server(&up, "keepalive_timeout 1s;");
    assert!(
        !server.stderr.text().contains("[warn]"),
        "{}",
        server.stderr.text()
    );
    let first = conn_of(&server, "/ka/one");
    assert!(
        common::process::eventually(Duration::from_secs(5), || !up.closed().is_empty()),
        "the idle upstream connection was still open 5 s after keepalive_timeout 1s"
    );
    let closed = up.closed();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].conn.to_string(), first);
    assert!(
        closed[0].idle >= Duration::from_millis(900) && closed[0].idle < Duration::from_secs(3),
        "closed after {:?} idle",
        closed[0].idle
    );
    // The next request opens a new connection and is served.
    let second = conn_of(&server, "/ka/two");
    assert_ne!(second, first);
    assert_eq!(up.accepted(), 2);
}

/// The default `keepalive_timeout` is nginx's 60 s: a connection idle for a second or two
/// is still the one reused.
#[test]
fn a_pooled_connection_idle_under_the_default_timeout_is_reused() {
    let up = Upstream::start();
    let (_dir, server) = keepalive_server(&up, "");
    let first = conn_of(&server, "/ka/one");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(conn_of(&server, "/ka/two"), first);
    assert!(up.closed().is_empty(), "{:?}", up.closed());
}

/// `keepalive_requests 3`: a connection carries three requests, then the web server closes
/// it (nginx 1.22, seven requests: connections of 3, 3 and 1 requests).
#[test]
fn keepalive_requests_closes_a_connection_after_that_many_requests() {
    let up = Upstream::start();
    let (_dir, server) = keepalive_server(&up, "keepalive_requests 3;");
    let conns: Vec<String> = (0..7)
        .map(|i| conn_of(&server, &format!("/ka/{i}")))
        .collect();
    assert_eq!(
        conns[0..3],
        [conns[0].clone(), conns[0].clone(), conns[0].clone()]
    );
    assert_eq!(
        conns[3..6],
        [conns[3].clone(), conns[3].clone(), conns[3].clone()]
    );
    assert_ne!(conns[0], conns[3]);
    assert_ne!(conns[3], conns[6]);
    assert_eq!(up.accepted(), 3);
    assert!(
        common::process::eventually(Duration::from_secs(5), || up.closed().len() >= 2),
        "{:?}",
        up.closed()
    );
    assert!(
        up.closed().iter().all(|c| c.requests == 3),
        "{:?}",
        up.closed()
    );
}

/// `keepalive_time 1s`: a connection older than that is closed when its request is done,
/// not reused (nginx 1.22: request, 1.3 s, request on the same connection, which is then
/// closed; a third request opens a new one).
#[test]
fn keepalive_time_stops_reusing_an_old_connection() {
    let up = Upstream::start();
    let (_dir, server) = keepalive_server(&up, "keepalive_time 1s;");
    let first = conn_of(&server, "/ka/one");
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(conn_of(&server, "/ka/two"), first);
    assert!(
        common::process::eventually(Duration::from_secs(5), || !up.closed().is_empty()),
        "the old connection was not closed after its request"
    );
    assert_ne!(conn_of(&server, "/ka/three"), first);
    assert_eq!(up.accepted(), 2);
}
