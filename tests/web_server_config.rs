//! The web server's configuration: every directive of the subset, `-t`, nginx-style errors
//! with file and line, `include`, full and bare files, relative paths.

mod common;

use std::path::Path;

use rstest::rstest;

use common::process::{BIN, eventually};
use common::tools::require_nginx;
use common::upstream::Upstream;
use common::web_server::{Server, test_config, write_conf};

fn check(conf: &str) -> (bool, String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), conf);
    let (ok, out) = test_config(&path);
    (ok, out, path, dir)
}

/// `-t` on a bad config: exit 1, the error with file:line, and "test failed".
fn assert_error(conf: &str, message: &str, line: usize) {
    let (ok, out, path, _dir) = check(conf);
    assert!(!ok, "config should fail:\n{conf}\noutput:\n{out}");
    let want = format!("[emerg] {message} in {}:{line}", path.display());
    assert!(
        out.contains(&want),
        "expected {want:?}\nin output:\n{out}\nconfig:\n{conf}"
    );
    assert!(
        out.contains(&format!(
            "configuration file {} test failed",
            path.display()
        )),
        "{out}"
    );
}

#[test]
fn default_config_tests_ok() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/nginx.conf");
    let (ok, out) = test_config(&conf);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "the configuration file {} syntax is ok",
            conf.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "configuration file {} test is successful",
            conf.display()
        )),
        "{out}"
    );
}

/// A configuration using every directive of the subset (in an nginx.conf nginx accepts too).
pub const EVERY_DIRECTIVE: &str = r#"
events {
    worker_connections 64;
}
http {
    include mime.types;
    default_type application/octet-stream;
    types {
        text/x-tutor tut;
    }
    log_format tiny '$remote_addr "$request" $status $request_id';
    access_log logs/access.log tiny;
    error_log logs/error.log info;
    client_header_timeout 10s;
    keepalive_timeout 30s;
    server_tokens off;

    upstream app_server {
        server UPSTREAM max_fails=1 fail_timeout=10s;
        keepalive 4;
    }

    server {
        listen 127.0.0.1:0 default_server;
        server_name localhost example.test;
        root html;
        index index.html index.htm;
        client_max_body_size 2m;
        add_header X-Everywhere yes;

        location = /exact {
            return 200 "exact\n";
        }
        location ^~ /static/ {
            alias static/;
            autoindex on;
            disable_symlinks on;
            error_page 404 /404.html;
        }
        location = /404.html {
        }
        location /files {
            root .;
            add_header X-Files on always;
        }
        location /old {
            return 301 /new;
        }
        location / {
            proxy_pass http://app_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Request-Id $request_id;
            proxy_connect_timeout 5s;
            proxy_read_timeout 30s;
        }
    }
}
"#;

fn write_mime(dir: &Path) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mime.types"),
        dir.join("mime.types"),
    )
    .unwrap();
}

#[test]
fn every_directive_is_accepted_and_takes_effect() {
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    write_mime(dir.path());
    std::fs::create_dir_all(dir.path().join("static")).unwrap();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("static/a.tut"), "tut").unwrap();
    std::fs::write(dir.path().join("files/f.txt"), "file").unwrap();
    std::fs::write(dir.path().join("html/404.html"), "custom not found").unwrap();
    let conf = EVERY_DIRECTIVE.replace("UPSTREAM", &up.addr());
    let path = write_conf(dir.path(), &conf);
    let (ok, out) = test_config(&path);
    assert!(ok, "{out}");
    assert!(out.contains("syntax is ok"), "{out}");

    let server = Server::start_logging_to(&dir.path().join("logs/error.log"), &path, &[]);
    let r = server.get("/exact");
    assert_eq!((r.status, r.text().as_str()), (200, "exact\n"));
    assert_eq!(r.header("x-everywhere"), Some("yes"));
    assert_eq!(r.header("server"), Some("wsgi-tutor"), "server_tokens off");

    let r = server.get("/static/a.tut");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/x-tutor"));
    let r = server.get("/static/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("a.tut"));

    let r = server.get("/files/f.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "file"));
    assert_eq!(r.header("x-files"), Some("on"));
    assert_eq!(r.header("x-everywhere"), None, "add_header is not merged");
    let r = server.get("/files/missing");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-files"), Some("on"), "always");

    let r = server.get("/old");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{}/new", server.port).as_str())
    );

    let r = server.get("/app?x=1");
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last().unwrap();
    assert_eq!(seen.target, "/app?x=1");
    assert_eq!(seen.version, "HTTP/1.1");
    assert_eq!(seen.header("connection"), None);
    assert_eq!(seen.header("host"), Some("localhost"));
    assert_eq!(seen.header("x-real-ip"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-original-uri"), Some("/app?x=1"));

    let r = server.request("POST", "/app", &[], &vec![b'x'; 1536 * 1024]);
    assert_eq!(r.status, 200, "client_max_body_size 2m");

    // access_log with a custom format, in a file relative to the config
    assert!(
        eventually(std::time::Duration::from_secs(5), || {
            std::fs::read_to_string(dir.path().join("logs/access.log"))
                .is_ok_and(|t| t.contains("127.0.0.1 \"GET /exact HTTP/1.1\" 200 "))
        }),
        "access log: {:?}",
        std::fs::read_to_string(dir.path().join("logs/access.log"))
    );
    let r = server.get("/static/nothing-here");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "custom not found", "error_page");
    assert!(
        eventually(std::time::Duration::from_secs(5), || {
            std::fs::read_to_string(dir.path().join("logs/error.log"))
                .is_ok_and(|t| t.contains("[error]") && t.contains("nothing-here"))
        }),
        "error log: {:?}",
        std::fs::read_to_string(dir.path().join("logs/error.log"))
    );
}

#[test]
fn dash_t_ok_and_failed_exit_status() {
    let (ok, out, path, _d) = check("server { listen 127.0.0.1:0; }\n");
    assert!(ok, "{out}");
    assert!(out.contains(&format!(
        "the configuration file {} syntax is ok",
        path.display()
    )));
    let (ok, out, path, _d) = check("server { listen 127.0.0.1:0; bogus on; }\n");
    assert!(!ok);
    assert!(out.contains(&format!(
        "configuration file {} test failed",
        path.display()
    )));
    // exit status is exactly 1, as nginx's
    let status = std::process::Command::new(BIN)
        .args(["web-server", "-t", "-c"])
        .arg(&path)
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(1));
}

#[test]
fn unknown_directive_with_file_and_line() {
    let conf = "events {}\n\nhttp {\n    upstream app_server {\n        server 127.0.0.1:8000;\n    }\n\n    server {\n        listen 127.0.0.1:0;\n\n        location / {\n            proxy_pas http://app_server;\n        }\n    }\n}\n";
    assert_error(conf, "unknown directive \"proxy_pas\"", 12);
}

#[test]
fn unbalanced_braces() {
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  location / {\n    root /tmp;\n}\n",
        "unexpected end of file, expecting \"}\"",
        6,
    );
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n}\n}\n",
        "unexpected \"}\"",
        4,
    );
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  location / { root /tmp; }}\n}\n",
        "unexpected \"}\"",
        4,
    );
}

#[test]
fn missing_semicolon() {
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  location / {\n    root /tmp\n  }\n}\n",
        "unexpected \"}\"",
        5,
    );
    assert_error("server {\n  listen 127.0.0.1:0\n}\n", "unexpected \"}\"", 3);
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  autoindex on",
        "unexpected end of file, expecting \";\" or \"}\"",
        3,
    );
}

#[test]
fn bad_values() {
    let server = |body: &str| format!("server {{\n  listen 127.0.0.1:0;\n  {body}\n}}\n");
    assert_error(
        &server("autoindex maybe;"),
        "invalid value \"maybe\" in \"autoindex\" directive, it must be \"on\" or \"off\"",
        3,
    );
    assert_error(
        &server("client_max_body_size 1x;"),
        "\"client_max_body_size\" directive invalid value",
        3,
    );
    assert_error(
        &server("proxy_read_timeout soon;"),
        "\"proxy_read_timeout\" directive invalid value",
        3,
    );
    assert_error(
        &server("location / { proxy_http_version 2.0; }"),
        "invalid value \"2.0\" in \"proxy_http_version\" directive, it must be \"1.0\" or \"1.1\"",
        3,
    );
    assert_error(
        &server("root /a /b;"),
        "invalid number of arguments in \"root\" directive",
        3,
    );
    assert_error(
        &server("location / { proxy_pass ftp://x; }"),
        "invalid URL prefix in \"ftp://x\"",
        3,
    );
    assert_error(
        "server {\n  listen 127.0.0.1:99999;\n}\n",
        "invalid port in \"127.0.0.1:99999\" of the \"listen\" directive",
        2,
    );
    assert_error(&server("return abc;"), "invalid return code \"abc\"", 3);
}

#[test]
fn directive_not_allowed_here() {
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  proxy_pass http://127.0.0.1:1;\n}\n",
        "\"proxy_pass\" directive is not allowed here",
        3,
    );
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  location / {\n    listen 80;\n  }\n}\n",
        "\"listen\" directive is not allowed here",
        4,
    );
    assert_error(
        "events {}\nhttp {\n  server { listen 127.0.0.1:0; }\n}\nroot /tmp;\n",
        "\"root\" directive is not allowed here",
        5,
    );
    assert_error(
        "server {\n  listen 127.0.0.1:0;\n  location / {\n    alias /tmp;\n    root /tmp;\n  }\n}\n",
        "\"root\" directive is duplicate, \"alias\" directive was specified earlier",
        5,
    );
}

#[test]
fn include_relative_path_and_errors_in_included_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    std::fs::write(
        dir.path().join("conf.d/site.conf"),
        "server {\n  listen 127.0.0.1:0;\n  location = /inc { return 200 included; }\n}\n",
    )
    .unwrap();
    let path = write_conf(dir.path(), "include conf.d/*.conf;\n");
    let (ok, out) = test_config(&path);
    assert!(ok, "{out}");
    let server = Server::start_with(&path, &[]);
    let r = server.get("/inc");
    assert_eq!((r.status, r.text().as_str()), (200, "included"));
    drop(server);

    // a mistake inside the included file is reported there, with its line
    std::fs::write(
        dir.path().join("conf.d/site.conf"),
        "server {\n  listen 127.0.0.1:0;\n\n  rooot /tmp;\n}\n",
    )
    .unwrap();
    let (ok, out) = test_config(&path);
    assert!(!ok);
    let want = format!(
        "unknown directive \"rooot\" in {}:4",
        dir.path().join("conf.d/site.conf").display()
    );
    assert!(out.contains(&want), "want {want}\n{out}");

    // a missing include file: nginx's open() failed message
    let path = write_conf(dir.path(), "include nothere.conf;\n");
    let (ok, out) = test_config(&path);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "open() \"{}\" failed (2: No such file or directory)",
            dir.path().join("nothere.conf").display()
        )),
        "{out}"
    );
}

#[rstest]
#[case::full_nginx_conf(true)]
#[case::bare_file(false)]
fn full_nginx_conf_and_bare_file_both_work_with_relative_paths(#[case] full: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("site/hello.txt"), "hello").unwrap();
    write_mime(dir.path());
    let servers = "server {\n  listen 127.0.0.1:0;\n  location /s { alias site; }\n}\n";
    let conf = if full {
        format!(
            "user nobody;\nworker_processes 1;\nevents {{ worker_connections 16; }}\nhttp {{\n  include mime.types;\n  {servers}}}\n"
        )
    } else {
        format!("include mime.types;\n{servers}")
    };
    let path = write_conf(dir.path(), &conf);
    let (ok, out) = test_config(&path);
    assert!(ok, "full={full}: {out}");
    // Start from another working directory: relative paths follow the config's folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let server = Server::start_from(elsewhere.path(), &path, &[]);
    let r = server.get("/s/hello.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"), "full={full}");
    assert_eq!(r.header("content-type"), Some("text/plain"));
}

#[test]
fn config_error_at_startup_exits_1_with_emerg() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_conf(dir.path(), "server {\n  listen 127.0.0.1:0;\n  wat;\n}\n");
    let out = std::process::Command::new(BIN)
        .args(["web-server", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "[emerg] unknown directive \"wat\" in {}:3",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn every_directive_config_is_valid_for_real_nginx_too() {
    let nginx = require_nginx();
    let dir = tempfile::tempdir().unwrap();
    write_mime(dir.path());
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    let conf = EVERY_DIRECTIVE
        .replace("UPSTREAM", "127.0.0.1:8000")
        .replace("127.0.0.1:0", "127.0.0.1:1");
    let path = write_conf(dir.path(), &conf);
    let out = std::process::Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .args(["-g", "pid nginx.pid;"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t refused it:\n{text}");
}
