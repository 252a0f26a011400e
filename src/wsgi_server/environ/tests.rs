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

// Long because it is a table: one row per environ key and case, all failures reported
// together, which reads better than thirty small tests.
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
