//! The differential test: real nginx and wsgi-tutor's web server run the same configuration
//! on two ports, get the same battery of requests, and every difference in status, key
//! headers, generated pages and what the upstream saw is printed as a table. Differences we
//! keep on purpose are in [`ALLOWED`], each with its reason; any other one fails the test.
//!
//! Needs nginx (`apt-get install nginx-light`): without it the tests fail, saying so.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::http::{Conn, Response};
use common::ports::free_port;
use common::process::Lines;
use common::tools::require_nginx;
use common::upstream::Upstream;
use common::web_server::Server;

/// Differences kept on purpose: (case name, field, why).
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "alias sibling /staticfoo",
        "*",
        "`location /static` + `alias static` maps /staticfoo/x to the sibling folder staticfoo/x \
         in nginx; we refuse to serve outside the alias (404)",
    ),
    (
        "alias off-by-slash /slash../secret",
        "*",
        "`location /slash` + `alias static/` maps /slash../secret.txt to static/../secret.txt in \
         nginx (the classic alias traversal); we never leave the alias (404)",
    ),
    (
        "*",
        "error log",
        "informational: the wording of error log lines is shown for review; their presence and \
         levels are compared strictly (`error log levels`)",
    ),
    (
        "* listing*",
        "Content-Length",
        "framing only: nginx streams autoindex pages chunked, we send them with a length",
    ),
    (
        "proxy keep-alive chunked good",
        "upstream",
        "nginx buffers a chunked request body (proxy_request_buffering on) and sends it with a \
         Content-Length; we stream it to an HTTP/1.1 upstream chunked, in bounded memory (as \
         nginx with proxy_request_buffering off)",
    ),
    (
        "CL and TE together",
        "*",
        "nginx 1.22 refuses both framings with 400; hyper follows RFC 9112 6.3 (chunked wins, \
         Content-Length dropped, connection closed after), which is as safe: \
         web_server_limits::content_length_with_transfer_encoding_cannot_smuggle_a_request",
    ),
];

/// Requests hyper's HTTP parser refuses before our code sees them: it answers a bare 400
/// (no HTML page; nginx sends its page, or 505/200 for odd versions). The status class
/// (an error, never a crash) is what matters for learners; the page is hyper's to write.
const HYPER_PARSE_ERRORS: &[&str] = &[
    "garbage",
    "bad content-length",
    "obs-fold header",
    "space in request target",
    "HTTP/2.0 request line",
    "HTTP/1.2",
];

/// Where nginx sends no X-Request-Id upstream (the location does not set one) and we do.
const ALWAYS_REQUEST_ID: &str = "the web server always sends X-Request-Id upstream so the tutor \
     can follow a request into the WSGI server";

fn only_request_id_added(field: &str, nginx: &str, ours: &str) -> Option<&'static str> {
    (field == "upstream"
        && !nginx.contains("x-request-id")
        && ours.replace(",x-request-id", "") == nginx)
        .then_some(ALWAYS_REQUEST_ID)
}

fn allowed(case: &str, field: &str) -> Option<&'static str> {
    if HYPER_PARSE_ERRORS.contains(&case) {
        return Some("hyper answers unparseable requests itself, with a bare 400");
    }
    ALLOWED
        .iter()
        .find(|(c, f, _)| {
            let case_ok = if *c == "*" {
                true
            } else if let Some(middle) = c.strip_prefix("* ").and_then(|c| c.strip_suffix('*')) {
                case.contains(middle)
            } else {
                *c == case
            };
            case_ok && (*f == "*" || *f == field)
        })
        .map(|(_, _, why)| *why)
}

const SECRET: &str = "TOP-SECRET-DO-NOT-SERVE";
const A_TXT: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

fn make_site(root: &Path) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mime.types"),
        root.join("mime.types"),
    )
    .unwrap();
    for d in [
        "www/docs/sub",
        "www/withindex",
        "www/noindex",
        "static/docs/sub",
        "staticfoo",
        "logs",
        "tmp",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    std::fs::write(root.join("staticfoo/secret.txt"), SECRET).unwrap();
    for base in ["www", "static"] {
        let b = root.join(base);
        std::fs::write(b.join("a.txt"), A_TXT).unwrap();
        std::fs::write(b.join("index.html"), "<h1>home</h1>\n").unwrap();
        std::fs::write(b.join("style.css"), "body { color: red }\n").unwrap();
        std::fs::write(b.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
        std::fs::write(b.join("data.unknownext"), "??").unwrap();
        std::fs::write(b.join("noext"), "no extension").unwrap();
        std::fs::write(b.join("docs/b.txt"), "hello").unwrap();
        std::fs::write(b.join("docs/read me & more.txt"), "x".repeat(1234)).unwrap();
        std::fs::write(b.join("docs/<angle>.html"), "<>").unwrap();
        std::fs::write(b.join("docs/sub/c.txt"), "c").unwrap();
        std::fs::write(b.join("docs/ünïcødé.txt"), "u").unwrap();
        std::fs::write(b.join("docs/.hidden"), "h").unwrap();
        std::fs::write(b.join(format!("docs/{}.txt", "long".repeat(20))), "l").unwrap();
        std::os::unix::fs::symlink(b.join("a.txt"), b.join("link.txt")).unwrap();
    }
    // Links for disable_symlinks: out of the alias folder (to a file that is not the
    // secret: `off` serves it, as nginx does), to a folder, relative, dangling; the alias
    // folder reached through a link; an index file that is a link.
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/out.txt"), "outside the alias\n").unwrap();
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, root.join(name)).unwrap();
    link(&root.join("outside/out.txt"), "static/out.txt");
    link(&root.join("outside"), "static/outdir");
    link(Path::new("docs"), "static/sublink");
    link(&root.join("nowhere"), "static/dangling.txt");
    link(&root.join("static"), "linkstatic");
    std::fs::create_dir_all(root.join("idx")).unwrap();
    link(&root.join("static/a.txt"), "idx/index.html");
    std::fs::write(root.join("www/withindex/index.html"), "inner index\n").unwrap();
    std::fs::write(root.join("www/noindex/file.txt"), "f").unwrap();
    // Fixed modification times, so listings and validators are comparable.
    let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for entry in walk(root) {
        if let Ok(f) = std::fs::File::options().write(true).open(&entry)
            && entry.is_file()
        {
            let _ = f.set_modified(t);
        }
    }
    for d in walk(root).into_iter().filter(|p| p.is_dir()) {
        if let Ok(f) = std::fs::File::open(&d) {
            let _ = f.set_modified(t);
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

fn config(
    root: &Path,
    port: u16,
    upstream: &str,
    dead: u16,
    nginx_only: &str,
    main_extra: &str,
) -> String {
    let r = root.display();
    format!(
        r#"{main_extra}
events {{
    worker_connections 256;
}}

http {{
    include {r}/mime.types;
    default_type application/octet-stream;
    access_log off;
{nginx_only}
    upstream ka {{
        server {upstream};
        keepalive 2;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {r}/www;

        location /static {{
            alias {r}/static;
            autoindex on;
        }}
        location /slash {{
            alias {r}/static/;
        }}
        location = /exact {{
            return 200 "exact\n";
        }}
        location ^~ /noregex/ {{
            alias {r}/www/docs/;
            autoindex on;
        }}
        location /noindex/ {{
        }}
        location /nosym/ {{
            alias {r}/static/;
            disable_symlinks on;
        }}
        location /linked/ {{
            alias {r}/linkstatic/;
        }}
        location /linkednosym/ {{
            alias {r}/linkstatic/;
            disable_symlinks on;
        }}
        location /linkedfrom/ {{
            alias {r}/linkstatic/;
            disable_symlinks on from=$document_root;
        }}
        location /idx/ {{
            alias {r}/idx/;
            disable_symlinks on;
        }}
        location /owner/ {{
            alias {r}/static/;
            disable_symlinks if_not_owner;
        }}
        location /hdr/ {{
            alias {r}/www/;
            add_header X-A one;
            add_header X-B two always;
        }}
        location /ep/ {{
            alias {r}/www/;
            error_page 404 /a.txt;
        }}
        location /app {{
            proxy_pass http://{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Request-Id $request_id;
        }}
        location /api/ {{
            proxy_pass http://{upstream}/v2/;
        }}
        location /ka/ {{
            proxy_pass http://ka;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location /dead/ {{
            proxy_pass http://127.0.0.1:{dead};
        }}
        location /small/ {{
            proxy_pass http://{upstream};
            proxy_set_header X-Request-Id $request_id;
            client_max_body_size 10;
        }}
        location /slow/ {{
            proxy_pass http://{upstream};
            proxy_read_timeout 1s;
        }}
        location = /r301 {{ return 301 /target?x=1; }}
        location = /r302 {{ return 302 http://example.com/elsewhere; }}
        location = /r307 {{ return 307 /t307; }}
        location = /r404 {{ return 404; }}
        location = /r204 {{ return 204; }}
        location = /r418 {{ return 418 "teapot $host\n"; }}
        location = /rurl {{ return https://example.org/; }}
    }}
}}
"#
    )
}

struct Nginx {
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of the battery.
struct Case {
    name: String,
    raw: Vec<u8>,
    head: bool,
}

fn case(name: &str, raw: impl Into<Vec<u8>>) -> Case {
    let raw = raw.into();
    Case {
        name: name.to_owned(),
        head: raw.starts_with(b"HEAD "),
        raw,
    }
}

fn get(name: &str, target: &str) -> Case {
    case(
        name,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

fn get_with(name: &str, target: &str, headers: &str) -> Case {
    case(
        name,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"),
    )
}

fn method(name: &str, m: &str, target: &str, body: &str) -> Case {
    case(
        name,
        format!(
            "{m} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// A POST with this chunked body (framing and all), on a connection that closes after.
fn chunked(name: &str, target: &str, body: &str) -> Case {
    case(
        name,
        format!(
            "POST {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        ),
    )
}

fn battery(root: &Path) -> Vec<Case> {
    let meta = std::fs::metadata(root.join("static/a.txt")).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let etag = format!("\"{mtime:x}-{:x}\"", meta.len());
    let lm = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(mtime));
    let long_line = format!("/{}", "a".repeat(9000));
    let long_header = "v".repeat(9000);
    let many_headers: String = (0..200).map(|i| format!("X-H-{i}: v{i}\r\n")).collect();
    let mut cases = vec![
        // static files, alias and root
        get("alias file", "/static/a.txt"),
        case(
            "alias file HEAD",
            "HEAD /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        get("alias index", "/static/"),
        get("alias listing", "/static/docs/"),
        get("alias listing sub", "/static/docs/sub/"),
        get("^~ listing", "/noregex/"),
        get("^~ file", "/noregex/b.txt"),
        get("alias dir no slash", "/static/docs"),
        get("alias dir no slash + query", "/static/docs?x=1&y=%20"),
        get("root dir no slash", "/withindex"),
        get("root dir no slash + query", "/withindex?a=b"),
        get("root index", "/"),
        get("root inner index", "/withindex/"),
        get("root file", "/a.txt"),
        get("no index, no autoindex", "/noindex/"),
        get("missing", "/static/missing.txt"),
        get("missing root", "/missing.txt"),
        get("missing dir", "/static/nodir/"),
        get("file with slash", "/static/a.txt/"),
        method("POST static file", "POST", "/static/a.txt", "x=1"),
        method("POST static dir", "POST", "/static/docs/", "x=1"),
        method("PUT static", "PUT", "/static/a.txt", "x"),
        method("DELETE static", "DELETE", "/static/a.txt", ""),
        method("OPTIONS static", "OPTIONS", "/static/a.txt", ""),
        get("type css", "/static/style.css"),
        get("type png", "/static/logo.png"),
        get("type html", "/static/index.html"),
        get("type unknown", "/static/data.unknownext"),
        get("type no extension", "/static/noext"),
        get("escaped name", "/static/docs/read%20me%20%26%20more.txt"),
        get("plus is not space", "/static/docs/read+me+&+more.txt"),
        get("encoded letter", "/static/%61.txt"),
        get("encoded slash", "/static%2Fa.txt"),
        get("encoded question mark", "/static/a.txt%3Fx=1"),
        get(
            "unicode name",
            "/static/docs/%C3%BCn%C3%AFc%C3%B8d%C3%A9.txt",
        ),
        get("hidden file", "/static/docs/.hidden"),
        get("symlink followed", "/static/link.txt"),
        get("symlink disabled", "/nosym/link.txt"),
        get("no symlink, disable_symlinks", "/nosym/a.txt"),
        get("symlink out of alias followed", "/static/out.txt"),
        get(
            "symlink folder out of alias followed",
            "/static/outdir/out.txt",
        ),
        get("relative folder symlink followed", "/static/sublink/b.txt"),
        get("dangling symlink followed", "/static/dangling.txt"),
        get("alias through a symlink followed", "/linked/a.txt"),
        get("symlink out of alias disabled", "/nosym/out.txt"),
        get(
            "symlink folder in the middle disabled",
            "/nosym/outdir/out.txt",
        ),
        get("relative folder symlink disabled", "/nosym/sublink/b.txt"),
        get("symlink folder with slash disabled", "/nosym/outdir/"),
        get("symlink folder without slash disabled", "/nosym/outdir"),
        get("dangling symlink disabled", "/nosym/dangling.txt"),
        get("alias through a symlink disabled", "/linkednosym/a.txt"),
        get("disable_symlinks from=$document_root", "/linkedfrom/a.txt"),
        get("disable_symlinks from=, link below", "/linkedfrom/link.txt"),
        get("index file is a symlink, disabled", "/idx/"),
        get("disable_symlinks if_not_owner", "/owner/out.txt"),
        get("alias sibling /staticfoo", "/staticfoo/secret.txt"),
        get("alias off-by-slash /slash../secret", "/slash../secret.txt"),
        get("alias with slash file", "/slash/a.txt"),
        get("alias with slash, no slash", "/slash"),
        get("merged slashes", "//static///a.txt"),
        get("dot segments", "/static/./docs/../a.txt"),
        // ranges
        get_with("range first 5", "/static/a.txt", "Range: bytes=0-4\r\n"),
        get_with("range suffix", "/static/a.txt", "Range: bytes=-5\r\n"),
        get_with("range open end", "/static/a.txt", "Range: bytes=30-\r\n"),
        get_with("range past end", "/static/a.txt", "Range: bytes=1000-\r\n"),
        get_with(
            "range end past size",
            "/static/a.txt",
            "Range: bytes=30-1000\r\n",
        ),
        get_with("range reversed", "/static/a.txt", "Range: bytes=5-2\r\n"),
        get_with("range garbage", "/static/a.txt", "Range: bytes=abc\r\n"),
        get_with("range other unit", "/static/a.txt", "Range: items=0-1\r\n"),
        get_with("range zero suffix", "/static/a.txt", "Range: bytes=-0\r\n"),
        get_with("range multi", "/static/a.txt", "Range: bytes=0-1,5-6\r\n"),
        get_with(
            "range multi overlap",
            "/static/a.txt",
            "Range: bytes=0-20,10-30\r\n",
        ),
        get_with(
            "range multi too much",
            "/static/a.txt",
            "Range: bytes=0-35,0-35\r\n",
        ),
        get_with(
            "range end i64::MAX",
            "/static/a.txt",
            "Range: bytes=0-9223372036854775807\r\n",
        ),
        get_with(
            "range end i64::MAX + 1",
            "/static/a.txt",
            "Range: bytes=0-9223372036854775808\r\n",
        ),
        get_with(
            "range end u64::MAX",
            "/static/a.txt",
            "Range: bytes=0-18446744073709551615\r\n",
        ),
        get_with(
            "range start 25 digits",
            "/static/a.txt",
            "Range: bytes=1234567890123456789012345-\r\n",
        ),
        get_with(
            "range suffix i64::MAX",
            "/static/a.txt",
            "Range: bytes=-9223372036854775807\r\n",
        ),
        get_with(
            "range suffix i64::MAX + 1",
            "/static/a.txt",
            "Range: bytes=-9223372036854775808\r\n",
        ),
        get_with(
            "range reversed then good",
            "/static/a.txt",
            "Range: bytes=5-2,0-1\r\n",
        ),
        get_with(
            "range unit in capitals",
            "/static/a.txt",
            "Range: BYTES=0-4\r\n",
        ),
        get_with(
            "range nothing after unit",
            "/static/a.txt",
            "Range: bytes=\r\n",
        ),
        get_with("range tab", "/static/a.txt", "Range: bytes=\t0-4\r\n"),
        get_with("range on listing", "/static/docs/", "Range: bytes=0-4\r\n"),
        get_with(
            "if-range matching",
            "/static/a.txt",
            &format!("Range: bytes=0-4\r\nIf-Range: {etag}\r\n"),
        ),
        get_with(
            "if-range not matching",
            "/static/a.txt",
            "Range: bytes=0-4\r\nIf-Range: \"nope\"\r\n",
        ),
        // conditional requests
        get_with(
            "if-none-match",
            "/static/a.txt",
            &format!("If-None-Match: {etag}\r\n"),
        ),
        get_with(
            "if-none-match weak",
            "/static/a.txt",
            &format!("If-None-Match: W/{etag}\r\n"),
        ),
        get_with(
            "if-none-match other",
            "/static/a.txt",
            "If-None-Match: \"x\"\r\n",
        ),
        get_with(
            "if-none-match star",
            "/static/a.txt",
            "If-None-Match: *\r\n",
        ),
        get_with(
            "if-modified-since exact",
            "/static/a.txt",
            &format!("If-Modified-Since: {lm}\r\n"),
        ),
        get_with(
            "if-modified-since later",
            "/static/a.txt",
            "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n",
        ),
        get_with(
            "if-modified-since earlier",
            "/static/a.txt",
            "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
        ),
        get_with("if-match wrong", "/static/a.txt", "If-Match: \"nope\"\r\n"),
        get_with(
            "if-match right",
            "/static/a.txt",
            &format!("If-Match: {etag}\r\n"),
        ),
        get_with("if-match star", "/static/a.txt", "If-Match: *\r\n"),
        get_with(
            "if-unmodified-since past",
            "/static/a.txt",
            "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
        ),
        get_with(
            "if-unmodified-since future",
            "/static/a.txt",
            "If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n",
        ),
        get_with(
            "inm + ims mismatch",
            "/static/a.txt",
            &format!(
                "If-None-Match: {etag}\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"
            ),
        ),
        // add_header, error_page, return
        get("add_header 200", "/hdr/a.txt"),
        get("add_header 404", "/hdr/missing"),
        get("add_header 301", "/hdr/docs"),
        get("error_page 404", "/ep/missing"),
        get("exact return", "/exact"),
        get("exact return, not exact", "/exact/more"),
        get("return 301", "/r301"),
        get("return 302", "/r302"),
        get("return 307", "/r307"),
        get("return 404", "/r404"),
        get("return 204", "/r204"),
        get("return 418 text", "/r418"),
        get("return bare URL", "/rurl"),
        case(
            "HEAD return 404",
            "HEAD /r404 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        // proxy
        get("proxy plain", "/app/x?y=1"),
        get("proxy odd encodings", "/app/%7Euser/a%2fb;p=1?q=%41&r=%2F"),
        get("proxy dot segments", "/app/a/../b//c"),
        get_with(
            "proxy host with port",
            "/app/h",
            "X-Forwarded-For: 10.0.0.1\r\n",
        )
        .with_host("WWW.Example.COM:8080"),
        get_with(
            "proxy hop-by-hop",
            "/app/hop",
            "Keep-Alive: 300\r\nTE: trailers\r\nUpgrade: websocket\r\nX-Custom: kept\r\n",
        ),
        get("proxy without X-Request-Id set", "/api/users/42?full=1"),
        get("proxy URI part encoded", "/api/a%20b"),
        get("proxy refused", "/dead/x"),
        get("proxy upstream resets", "/app/reset"),
        get("proxy upstream closes", "/app/close"),
        get("proxy read timeout", "/slow/sleep/2500"),
        get("proxy big body", "/app/big/300000"),
        get("proxy upstream redirect, URI part", "/api/redirect"),
        get("proxy upstream redirect", "/app/redirect"),
        get("proxy upstream relative redirect", "/app/relredirect"),
        get("proxy upstream 404", "/app/status/404"),
        get("proxy upstream 500", "/app/status/500"),
        get("proxy upstream 503", "/app/status/503"),
        get("proxy upstream chunked", "/app/chunked"),
        case(
            "proxy upstream chunked to HTTP/1.0 client",
            "GET /app/chunked HTTP/1.0\r\nHost: localhost\r\n\r\n",
        ),
        case(
            "proxy HEAD",
            "HEAD /app/h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "proxy keep-alive client",
            "GET /app/ka HTTP/1.1\r\nHost: localhost\r\n\r\n",
        ),
        method("proxy POST", "POST", "/app/post", "hello=world"),
        method(
            "proxy body too large",
            "POST",
            "/small/x",
            "01234567890123456789",
        ),
        case(
            "proxy chunked too large",
            "POST /small/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n",
        ),
        case(
            "proxy chunked small",
            "POST /small/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy keep-alive chunked good",
            "/ka/good",
            "5\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy keep-alive chunked bad size",
            "/ka/bad",
            "zz\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy keep-alive chunked minus",
            "/ka/bad",
            "-5\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy keep-alive chunked plus",
            "/ka/bad",
            "+5\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy keep-alive chunked no CRLF",
            "/ka/bad",
            "5\r\nhelloXX0\r\n\r\n",
        ),
        chunked(
            "proxy HTTP/1.0 chunked bad size",
            "/app/bad",
            "zz\r\nhello\r\n0\r\n\r\n",
        ),
        chunked(
            "proxy HTTP/1.0 chunked no CRLF",
            "/app/bad",
            "5\r\nhelloXX0\r\n\r\n",
        ),
        case(
            "proxy HTTP/1.0 client",
            "GET /app/ten HTTP/1.0\r\nHost: localhost\r\n\r\n",
        ),
        // request line, headers, Host
        get("request line > 8k", &long_line),
        get_with(
            "header line > 8k",
            "/static/a.txt",
            &format!("X-Big: {long_header}\r\n"),
        ),
        get_with(
            "cookie > 8k",
            "/static/a.txt",
            &format!("Cookie: {long_header}\r\n"),
        ),
        get_with("200 headers", "/static/a.txt", &many_headers),
        case(
            "HTTP/1.1 without Host",
            "GET /static/a.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
        ),
        case(
            "HTTP/1.0 without Host",
            "GET /static/a.txt HTTP/1.0\r\n\r\n",
        ),
        case(
            "two Host headers",
            "GET /static/a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        ),
        get("host with slash", "/static/a.txt").with_host("bad/host"),
        get("host uppercase, dir redirect", "/static/docs").with_host("LocalHost:1234"),
        get("empty host", "/static/a.txt").with_host(""),
        get("host with trailing dot", "/static/docs").with_host("localhost."),
        get("host IPv6 literal", "/static/docs").with_host("[::1]:80"),
        get("host with space", "/static/a.txt").with_host("a b"),
        get("host with bad port", "/static/a.txt").with_host("localhost:abc"),
        case(
            "static keep-alive",
            "GET /static/a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
        ),
        case(
            "HTTP/1.0 keep-alive",
            "GET /static/a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ),
        case(
            "absolute-form",
            "GET http://localhost/static/a.txt HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        ),
        case(
            "absolute-form dir redirect",
            "GET http://other.example/static/docs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "asterisk",
            "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case("garbage", "HELLO\r\n\r\n"),
        case(
            "HTTP/2.0 request line",
            "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n",
        ),
        case(
            "HTTP/1.2",
            "GET /static/a.txt HTTP/1.2\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "lowercase method",
            "get /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "unknown method",
            "FOO /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "CL and TE together",
            "POST /app/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ),
        case(
            "bad content-length",
            "POST /app/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: abc\r\n\r\n",
        ),
        case(
            "header with underscore",
            "GET /app/u HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX_Under: 1\r\n\r\n",
        ),
        case(
            "HEAD range",
            "HEAD /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nRange: bytes=0-4\r\n\r\n",
        ),
        case(
            "HEAD if-none-match",
            format!(
                "HEAD /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: {etag}\r\n\r\n"
            ),
        ),
        case(
            "HEAD listing",
            "HEAD /static/docs/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "HTTP/1.0 dir redirect without Host",
            "GET /static/docs HTTP/1.0\r\n\r\n",
        ),
        case(
            "HTTP/1.0 return 301 without Host",
            "GET /r301 HTTP/1.0\r\n\r\n",
        ),
        case(
            "expect 100-continue",
            "POST /app/e HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
        ),
        case(
            "GET with a body on a static file",
            "GET /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        ),
        method("POST to a directory with index", "POST", "/", "x=1"),
        get("exact with query", "/exact?x=1"),
        get("exact other case", "/EXACT"),
        get("single encoded dot", "/static/%2e/a.txt"),
        get("empty query", "/static/a.txt?"),
        get("listing with query", "/static/docs/?C=M;O=A"),
        case(
            "obs-fold header",
            "GET /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-A: 1\r\n  folded\r\n\r\n",
        ),
        case(
            "space in request target",
            "GET /static/a b.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "bare LF line endings",
            "GET /static/a.txt HTTP/1.1\nHost: localhost\nConnection: close\n\n",
        ),
        case(
            "bad percent",
            "GET /static/%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        case(
            "NUL encoded",
            "GET /static/a.txt%00.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
    ];
    // the traversal battery
    for target in [
        "/../secret.txt",
        "/static/../secret.txt",
        "/static/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e/%2e%2e/secret.txt",
        "/static/%2e%2E%2fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2f..%2fsecret.txt",
        "/static%2f..%2f..%2fsecret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/..\\secret.txt",
        "/static\\..\\secret.txt",
        "/static/..%5csecret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static../secret.txt",
        "/static/./../secret.txt",
        "/static//..//..//secret.txt",
        "/static/docs/../../../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/..;/secret.txt",
        "/static/.../secret.txt",
        "http://localhost/../secret.txt",
        "http://localhost/static/%2e%2e/%2e%2e/secret.txt",
    ] {
        cases.push(get(&format!("traversal {target}"), target));
    }
    cases
}

impl Case {
    fn with_host(mut self, host: &str) -> Case {
        let text = String::from_utf8(self.raw).unwrap();
        self.raw = text
            .replacen("Host: localhost\r\n", &format!("Host: {host}\r\n"), 1)
            .into_bytes();
        self
    }
}

/// What a server answered, reduced to what we compare.
#[derive(Default)]
struct Seen {
    fields: BTreeMap<&'static str, String>,
    secret: bool,
}

fn send(port: u16, case: &Case) -> Result<Response, String> {
    let mut conn = Conn::open(port);
    conn.set_read_timeout(Duration::from_secs(10));
    conn.send(&case.raw);
    conn.read_response(case.head)
}

fn normalise_page(body: &str) -> String {
    let re = regex::Regex::new(r"<center>(nginx|wsgi-tutor)(/[0-9.]+)?</center>").unwrap();
    re.replace_all(body, "<center>SERVER</center>").into_owned()
}

fn observe(port: u16, case: &Case) -> Seen {
    let mut seen = Seen::default();
    let r = match send(port, case) {
        Ok(r) => r,
        Err(e) => {
            let short = if e.contains("closed before") {
                "no response (closed)".to_owned()
            } else {
                format!("no response ({e})")
            };
            seen.fields.insert("status", short);
            return seen;
        }
    };
    let text = r.text();
    seen.secret = text.contains(SECRET);
    seen.fields.insert("status", r.status.to_string());
    let norm_port = |v: &str| {
        v.replace(&format!(":{port}/"), ":PORT/")
            .replace(&format!(":{port}"), ":PORT")
    };
    let ct = r.header("content-type").unwrap_or("-").to_owned();
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .map(|b| b.trim_matches('"').to_owned());
    for (key, name) in [
        ("Content-Type", "content-type"),
        ("Location", "location"),
        ("Content-Range", "content-range"),
        ("Accept-Ranges", "accept-ranges"),
        ("Last-Modified", "last-modified"),
        ("X-A", "x-a"),
        ("X-B", "x-b"),
        ("Keep-Alive", "keep-alive"),
    ] {
        let mut v = r.header(name).map_or_else(|| "-".into(), norm_port);
        if let Some(b) = &boundary {
            v = v.replace(b.as_str(), "BOUNDARY");
        }
        seen.fields.insert(key, v);
    }
    // `Connection` is compared by what it means: HTTP/1.1 keeps the connection open unless it
    // says close, HTTP/1.0 closes it unless it says keep-alive (nginx always spells it out,
    // hyper leaves the default implicit).
    let request_text = String::from_utf8_lossy(&case.raw).to_ascii_lowercase();
    let request_line = request_text.lines().next().unwrap_or("");
    let default_keep =
        request_line.ends_with("http/1.1") && !request_text.contains("\r\nconnection: close");
    let keep = match r.header("connection").map(str::to_ascii_lowercase) {
        Some(v) if v.contains("close") => false,
        Some(v) if v.contains("keep-alive") => true,
        _ => default_keep && r.version == "HTTP/1.1",
    };
    seen.fields.insert(
        "Connection (meaning)",
        if keep { "keep-alive" } else { "close" }.into(),
    );
    let mut names: Vec<String> = r
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| {
            !matches!(
                n.as_str(),
                "date"
                    | "server"
                    | "content-length"
                    | "transfer-encoding"
                    | "x-upstream"
                    | "connection"
            )
        })
        .collect();
    names.sort();
    names.dedup();
    seen.fields.insert("header names", names.join(","));
    seen.fields.insert(
        "ETag",
        if r.header("etag").is_some() {
            "present".into()
        } else {
            "-".into()
        },
    );
    let is_page = ct.starts_with("text/html") && (text.starts_with("<html>") || r.status >= 300);
    let body = if let Some(b) = &boundary {
        text.replace(b.as_str(), "BOUNDARY")
    } else if is_page {
        normalise_page(&text)
    } else {
        text.clone()
    };
    // Content-Length: compared after the server token in generated pages is normalised.
    let cl = match r.header("content-length") {
        None if r.header("transfer-encoding").is_some() => "chunked".to_owned(),
        None => "-".to_owned(),
        Some(v) if is_page || boundary.is_some() => {
            let declared: usize = v.parse().unwrap_or(0);
            let delta = text.len() as isize - body.len() as isize;
            (declared as isize - delta).to_string()
        }
        Some(v) => v.to_owned(),
    };
    // HEAD of a generated page: no body to normalise, so take the server token out of the length.
    let cl = if case.head && r.status >= 300 && ct.starts_with("text/html") {
        match (cl.parse::<usize>(), r.header("server")) {
            (Ok(n), Some(token)) => format!("{} + token", n - token.len()),
            _ => cl,
        }
    } else {
        cl
    };
    let from_upstream = r.header("x-upstream").is_some();
    let echo = from_upstream && text.starts_with("method ");
    if echo {
        // the echo's length depends on the request id and connection count
        seen.fields
            .insert("Content-Length", "(upstream echo)".into());
        seen.fields.insert("body", "(upstream echo)".into());
    } else {
        seen.fields.insert("Content-Length", cl);
        seen.fields.insert("body", body);
    }
    if from_upstream {
        seen.fields.insert("upstream", String::new());
    }
    seen
}

/// For long bodies: the first line where they differ (numbered), or the whole if short.
fn first_difference(a: &str, b: &str) -> (String, String) {
    if a.len() < 120 && b.len() < 120 {
        return (a.to_owned(), b.to_owned());
    }
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.split('\n').collect(), b.split('\n').collect());
    for i in 0..al.len().max(bl.len()) {
        let (x, y) = (al.get(i).copied(), bl.get(i).copied());
        if x != y {
            return (
                format!("line {}: {}", i + 1, x.unwrap_or("(end)")),
                format!("line {}: {}", i + 1, y.unwrap_or("(end)")),
            );
        }
    }
    (a.to_owned(), b.to_owned())
}

/// The request the upstream got, in a comparable form.
fn upstream_summary(up: &Upstream, before: usize) -> Option<String> {
    let all = up.all();
    let req = all.get(before)?;
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    let h = |n: &str| req.header(n).unwrap_or("-").to_owned();
    Some(format!(
        "{} {} {} | host={} connection={} xff={} body={} | headers={}",
        req.method,
        req.target,
        req.version,
        h("host").replace(&up.port.to_string(), "UP"),
        h("connection"),
        h("x-forwarded-for"),
        req.body_len,
        names.join(",")
    ))
}

fn start_nginx(nginx: &Path, prefix: &Path, conf: &Path, port: u16) -> Option<Nginx> {
    let child = Command::new(nginx)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-g")
        .arg(format!(
            "daemon off; master_process off; pid {}/nginx.pid; error_log {}/logs/nginx-error.log info;",
            prefix.display(),
            prefix.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(prefix.join("nginx-stderr.log")).ok()?)
        .spawn()
        .ok()?;
    let mut nginx = Nginx { child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(nginx);
        }
        if let Ok(Some(_)) = nginx.child.try_wait() {
            let err = std::fs::read_to_string(prefix.join("nginx-stderr.log")).unwrap_or_default();
            panic!("nginx exited at startup:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn same_answers_as_nginx() {
    let nginx_bin = require_nginx();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    make_site(&root);
    let up = Upstream::start();
    let dead = free_port();
    let nginx_port = free_port();
    let nginx_extra = format!(
        "    client_body_temp_path {r}/tmp/body;\n    proxy_temp_path {r}/tmp/proxy;\n    fastcgi_temp_path {r}/tmp/fastcgi;\n    uwsgi_temp_path {r}/tmp/uwsgi;\n    scgi_temp_path {r}/tmp/scgi;\n",
        r = root.display()
    );
    let nginx_conf = root.join("nginx-real.conf");
    std::fs::write(
        &nginx_conf,
        config(&root, nginx_port, &up.addr(), dead, &nginx_extra, ""),
    )
    .unwrap();
    let ours_conf = root.join("nginx.conf");
    std::fs::write(
        &ours_conf,
        config(&root, 0, &up.addr(), dead, "", "error_log stderr info;"),
    )
    .unwrap();
    // The two configurations differ only in the port and nginx's temp paths.
    let _nginx = start_nginx(&nginx_bin, &root, &nginx_conf, nginx_port)
        .expect("nginx did not start listening");
    let ours = Server::start_with(&ours_conf, &[]);

    let cases = battery(&root);
    let logs = Logs {
        nginx_file: root.join("logs/nginx-error.log"),
        ours: &ours.stderr,
        root: root.display().to_string(),
        ports: vec![
            (nginx_port, "PORT"),
            (ours.port, "PORT"),
            (up.port, "UP"),
            (dead, "DEAD"),
        ],
    };
    let (rows, leaks) = compare(nginx_port, ours.port, &up, &cases, Some(&logs));
    report("same_answers_as_nginx", &cases, &rows, &leaks);
}

/// One difference: (request, field, nginx, ours, allowed because).
type Row = (String, String, String, String, Option<&'static str>);

/// `[error] x ⏎ [info] y` → `error, info`.
fn levels(text: &str) -> String {
    text.split(" ⏎ ")
        .filter_map(|l| l.strip_prefix('[').and_then(|l| l.split(']').next()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where to read each server's error log, to compare what they log per request.
struct Logs<'a> {
    nginx_file: PathBuf,
    ours: &'a Lines,
    /// Replaced by ROOT in log lines.
    root: String,
    ports: Vec<(u16, &'static str)>,
}

impl Logs<'_> {
    fn nginx_mark(&self) -> usize {
        std::fs::metadata(&self.nginx_file).map_or(0, |m| m.len() as usize)
    }

    fn nginx_since(&self, mark: usize) -> Vec<String> {
        let text = std::fs::read(&self.nginx_file).unwrap_or_default();
        let new = String::from_utf8_lossy(text.get(mark..).unwrap_or_default()).into_owned();
        new.lines().map(str::to_owned).collect()
    }

    /// The lines worth comparing, without time, pid and connection number.
    fn normalise(&self, lines: &[String]) -> String {
        let re = regex::Regex::new(
            r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$",
        )
        .unwrap();
        let mut out = Vec::new();
        for line in lines {
            let Some(c) = re.captures(line) else { continue };
            let (level, message) = (&c[1], c[2].to_owned());
            let worth = matches!(level, "warn" | "error" | "crit" | "alert" | "emerg")
                || (level == "info" && message.contains("client sent"));
            if !worth {
                continue;
            }
            let mut message = message.replace(&self.root, "ROOT");
            for (port, name) in &self.ports {
                message = message.replace(&format!(":{port}"), &format!(":{name}"));
            }
            out.push(format!("[{level}] {message}"));
        }
        out.join(" ⏎ ")
    }
}

/// Send every case to both servers; the differences, and the cases where ours leaked the
/// secret.
fn compare(
    nginx_port: u16,
    ours_port: u16,
    up: &Upstream,
    cases: &[Case],
    logs: Option<&Logs>,
) -> (Vec<Row>, Vec<String>) {
    let mut rows: Vec<Row> = Vec::new();
    let mut leaks = Vec::new();
    for case in cases {
        let settle = Duration::from_millis(40);
        let mark = logs.map(Logs::nginx_mark);
        let before = up.all().len();
        let mut n = observe(nginx_port, case);
        let n_up = upstream_summary(up, before);
        if let (Some(logs), Some(mark)) = (logs, mark) {
            std::thread::sleep(settle);
            let text = logs.normalise(&logs.nginx_since(mark));
            n.fields.insert("error log levels", levels(&text));
            n.fields.insert("error log", text);
        }
        let mark = logs.map(|l| l.ours.all().len());
        let before = up.all().len();
        let mut o = observe(ours_port, case);
        let o_up = upstream_summary(up, before);
        if let (Some(logs), Some(mark)) = (logs, mark) {
            std::thread::sleep(settle);
            let lines = logs.ours.all();
            let text = logs.normalise(lines.get(mark..).unwrap_or_default());
            o.fields.insert("error log levels", levels(&text));
            o.fields.insert("error log", text);
        }
        for (seen, summary) in [(&mut n, &n_up), (&mut o, &o_up)] {
            if seen.fields.contains_key("upstream") {
                seen.fields
                    .insert("upstream", summary.clone().unwrap_or_default());
            }
        }
        // when only one side reached the upstream, say what it sent
        if n_up.is_some() != o_up.is_some() {
            n.fields
                .insert("upstream", n_up.unwrap_or_else(|| "(not reached)".into()));
            o.fields
                .insert("upstream", o_up.unwrap_or_else(|| "(not reached)".into()));
        }
        if o.secret {
            leaks.push(case.name.clone());
        }
        let mut keys: std::collections::BTreeSet<&str> =
            n.fields.keys().chain(o.fields.keys()).copied().collect();
        // A different status makes every header differ: show the status and the body only.
        if n.fields.get("status") != o.fields.get("status") {
            keys.retain(|k| {
                matches!(
                    *k,
                    "status" | "body" | "upstream" | "error log" | "error log levels"
                )
            });
        }
        for key in keys {
            let nv = n.fields.get(key).cloned().unwrap_or_else(|| "-".into());
            let ov = o.fields.get(key).cloned().unwrap_or_else(|| "-".into());
            if nv != ov {
                let (nv, ov) = if key == "body" {
                    first_difference(&nv, &ov)
                } else {
                    (nv, ov)
                };
                let why = allowed(&case.name, key).or_else(|| only_request_id_added(key, &nv, &ov));
                rows.push((case.name.clone(), key.to_owned(), nv, ov, why));
            }
        }
    }
    (rows, leaks)
}

/// Print the table of differences (also written to $TMPDIR/wsgi-tutor-<name>.md) and fail
/// on any that is not allowed.
fn report(name: &str, cases: &[Case], rows: &[Row], leaks: &[String]) {
    let shorten = |s: &str| {
        let one_line = s.replace("\r\n", "⏎").replace('\n', "⏎");
        if one_line.chars().count() > 160 {
            format!("{}…", one_line.chars().take(160).collect::<String>())
        } else {
            one_line
        }
    };
    let mut table = String::new();
    table.push_str(&format!(
        "\n{name}: {} requests compared, {} differences ({} allowed)\n",
        cases.len(),
        rows.len(),
        rows.iter().filter(|r| r.4.is_some()).count()
    ));
    table.push_str("| request | field | nginx | wsgi-tutor | allowed |\n|---|---|---|---|---|\n");
    for (case, field, nv, ov, allowed) in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            case,
            field,
            shorten(nv),
            shorten(ov),
            if allowed.is_some() { "yes" } else { "" }
        ));
    }
    println!("{table}");
    let _ = std::fs::write(
        std::env::temp_dir().join(format!("wsgi-tutor-{name}.md")),
        &table,
    );
    let _ = std::io::stdout().flush();
    assert!(
        leaks.is_empty(),
        "our web server served the secret for: {leaks:?}"
    );
    let unexpected: Vec<_> = rows.iter().filter(|r| r.4.is_none()).collect();
    assert!(
        unexpected.is_empty(),
        "{} unexpected difference(s) from nginx:{table}",
        unexpected.len()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The lab's own configuration (assets/nginx.conf, with its relative paths) in real nginx
/// run with the copied lab folder as its prefix, and in ours: configs travel both ways.
#[test]
fn lab_config_same_as_nginx() {
    let nginx_bin = require_nginx();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    copy_dir(&assets.join("static"), &root.join("static"));
    std::fs::copy(assets.join("mime.types"), root.join("mime.types")).unwrap();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for p in walk(&root) {
        if let Ok(f) = std::fs::File::open(&p) {
            let _ = f.set_modified(t);
        }
    }
    let lab = std::fs::read_to_string(assets.join("nginx.conf")).unwrap();
    assert!(lab.contains("listen 127.0.0.1:8080;") && lab.contains("server 127.0.0.1:8000;"));
    let up = Upstream::start();
    let nginx_port = free_port();
    let with = |port: u16| {
        lab.replace(
            "listen 127.0.0.1:8080;",
            &format!("listen 127.0.0.1:{port};"),
        )
        .replace("server 127.0.0.1:8000;", &format!("server {};", up.addr()))
        // the access log goes to stdout here, a file named "stdout" for nginx: neither
        // is compared
        .replace("access_log stdout tutor;", "access_log off;")
    };
    let nginx_conf = root.join("nginx-real.conf");
    let nginx_text = with(nginx_port).replace(
        "http {",
        &format!(
            "http {{\n    client_body_temp_path {r}/tmp-body;\n    proxy_temp_path {r}/tmp-proxy;\n    fastcgi_temp_path {r}/tmp-fastcgi;\n    uwsgi_temp_path {r}/tmp-uwsgi;\n    scgi_temp_path {r}/tmp-scgi;",
            r = root.display()
        ),
    );
    std::fs::write(&nginx_conf, nginx_text).unwrap();
    let ours_conf = root.join("nginx.conf");
    std::fs::write(&ours_conf, with(0)).unwrap();
    let _nginx = start_nginx(&nginx_bin, &root, &nginx_conf, nginx_port)
        .expect("nginx did not start listening");
    let ours = Server::start_with(&ours_conf, &[]);
    let cases = vec![
        get("lab /static/", "/static/"),
        get("lab /static", "/static"),
        get("lab /static?x=1", "/static?x=1"),
        get("lab index.html", "/static/index.html"),
        get("lab style.css", "/static/style.css"),
        get("lab badge.png", "/static/images/badge.png"),
        get("lab diagram.svg", "/static/images/diagram.svg"),
        get("lab favicon", "/static/favicon.ico"),
        get("lab docs listing", "/static/docs/"),
        get("lab docs no slash", "/static/docs"),
        get("lab docs more listing", "/static/docs/more/"),
        get("lab json", "/static/docs/example.json"),
        get("lab conf snippet", "/static/docs/nginx-snippet.conf"),
        get(
            "lab escaped name",
            "/static/docs/read%20me%20%26%20more.txt",
        ),
        get("lab missing", "/static/nothing.txt"),
        method("lab POST static", "POST", "/static/style.css", "a=1"),
        case(
            "lab HEAD css",
            "HEAD /static/style.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
        get_with("lab range", "/static/style.css", "Range: bytes=0-9\r\n"),
        get("lab proxied /", "/"),
        get("lab proxied with query", "/hello?name=%C3%A9&x=1"),
        get("lab /favicon.ico proxied", "/favicon.ico"),
        get("lab /staticky (prefix match)", "/staticky"),
        get_with(
            "lab proxied with XFF",
            "/xff",
            "X-Forwarded-For: 203.0.113.9\r\n",
        ),
        get("lab proxied host with port", "/host").with_host("Tutor.Example:8080"),
        method("lab proxied POST", "POST", "/form", "name=ada&lang=python"),
        get("lab traversal", "/static/../nginx.conf"),
        get("lab traversal encoded", "/static/%2e%2e/nginx.conf"),
        get("lab traversal sibling", "/static../nginx.conf"),
    ];
    let (rows, leaks) = compare(nginx_port, ours.port, &up, &cases, None);
    report("lab_config_same_as_nginx", &cases, &rows, &leaks);
}

/// What one server did with its upstream connections: which connection served each
/// request, and for each connection it closed, how many requests it had carried and
/// whether it was closed idle (after `keepalive_timeout`) or right after a request.
fn keepalive_story(port: u16, up: &Upstream) -> (Vec<usize>, Vec<(usize, &'static str)>) {
    let mut conns = Vec::new();
    for i in 0..3 {
        let r = send(port, &get(&format!("ka {i}"), &format!("/ka/{i}"))).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let echo = common::upstream::parse_echo(&r.text());
        conns.push(echo["conn"][0].parse().unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(6);
    while up.closed().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut closes: Vec<(usize, &'static str)> = up
        .closed()
        .iter()
        .map(|c| {
            let how = if c.idle >= Duration::from_millis(800) && c.idle < Duration::from_secs(3) {
                "idle ~1s"
            } else if c.idle < Duration::from_millis(500) {
                "after its last request"
            } else {
                "at another time"
            };
            (c.requests, how)
        })
        .collect();
    closes.sort_unstable();
    (conns, closes)
}

/// An upstream block's keep-alive settings, in real nginx and in ours: with
/// `keepalive_requests 2` the first connection carries two requests and is closed after
/// the second; with `keepalive_timeout 1s` the next one is closed after a second idle.
#[test]
fn upstream_keepalive_closes_like_nginx() {
    let nginx_bin = require_nginx();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let conf = |port: u16, up: &Upstream, extra: &str| {
        format!(
            "events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n{extra}\n    upstream ka {{\n        server {};\n        keepalive 2;\n        keepalive_timeout 1s;\n        keepalive_requests 2;\n    }}\n    server {{\n        listen 127.0.0.1:{port};\n        location /ka/ {{\n            proxy_pass http://ka;\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n        }}\n    }}\n}}\n",
            up.addr()
        )
    };
    let (nginx_up, ours_up) = (Upstream::start(), Upstream::start());
    let nginx_port = free_port();
    let temp = format!(
        "    client_body_temp_path {r}/tmp-body;\n    proxy_temp_path {r}/tmp-proxy;\n    fastcgi_temp_path {r}/tmp-fastcgi;\n    uwsgi_temp_path {r}/tmp-uwsgi;\n    scgi_temp_path {r}/tmp-scgi;",
        r = root.display()
    );
    let nginx_conf = root.join("nginx-real.conf");
    std::fs::write(&nginx_conf, conf(nginx_port, &nginx_up, &temp)).unwrap();
    let ours_conf = root.join("nginx.conf");
    std::fs::write(&ours_conf, conf(0, &ours_up, "")).unwrap();
    let _nginx = start_nginx(&nginx_bin, &root, &nginx_conf, nginx_port)
        .expect("nginx did not start listening");
    let ours = Server::start_with(&ours_conf, &[]);
    let nginx_story = keepalive_story(nginx_port, &nginx_up);
    let ours_story = keepalive_story(ours.port, &ours_up);
    println!("nginx: {nginx_story:?}\nours:  {ours_story:?}");
    assert_eq!(nginx_story.0, [1, 1, 2], "nginx's own story changed");
    assert_eq!(
        nginx_story.1,
        [(1, "idle ~1s"), (2, "after its last request")],
        "nginx's own story changed"
    );
    assert_eq!(ours_story, nginx_story);
}
