//! The built-in demo apps, in Rust, for machines without Python: `builtin:hello`,
//! `builtin:environ`, `builtin:echo` and `builtin:site` (the same routes as
//! `assets/apps/site.py`). They keep the WSGI contract — environ in; status, headers and
//! body out — and run inside the arbiter, so there is no worker, no queue and no timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::body::WsgiBody;
use super::environ::Environ;
use super::exchange::{Trip, plain};
use super::worker::AppErrorReport;
use crate::trace::Hop;

/// What a built-in app answers.
struct Reply {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: ReplyBody,
}

enum ReplyBody {
    Full(Bytes),
    /// Chunks sent one after the other, with a pause before each but the first.
    Paced(Vec<Bytes>, Duration),
}

/// What `/boom` pretends the app raised.
const BOOM: &str = "RuntimeError: boom: this exception is on purpose; read the log";

pub async fn serve(name: &str, environ: &Environ, body: Bytes, trip: Trip) -> Response<WsgiBody> {
    let me = std::process::id();
    let queue_us = 0;
    trip.sink.emit(Some(&trip.request_id), || Hop::Dispatched {
        worker_pid: me,
        queue_us,
    });
    let started = Instant::now();
    let reply = match name {
        "hello" => Some(text("Hello, World!\n".into())),
        "environ" => Some(html("The environ", &environ_table(environ))),
        "echo" => Some(echo(environ, &body)),
        _ => site(environ, &body).await,
    };
    match reply {
        Some(reply) => respond(reply, &trip, started),
        None => boom(&trip, started),
    }
}

/// `/boom`: answered as a Python app's exception would be, log and trace included.
fn boom(trip: &Trip, started: Instant) -> Response<WsgiBody> {
    let report = AppErrorReport {
        kind: "exception".into(),
        message: BOOM.into(),
        traceback: Some(format!(
            "builtin:site is written in Rust, so there is no Python traceback.\n{BOOM}\n"
        )),
    };
    trip.app_error(std::process::id(), &report);
    let response = plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The application raised an exception; the traceback is in the WSGI server's log.",
    );
    let bytes = response.body().known_len();
    trip.finish(500, bytes, started.elapsed().as_micros() as u64, Vec::new());
    response
}

/// The reply as an HTTP response, with the trace events a worker's response would give.
fn respond(reply: Reply, trip: &Trip, started: Instant) -> Response<WsgiBody> {
    let headers: Vec<(String, String)> = reply
        .headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.clone()))
        .collect();
    trip.sink
        .emit(Some(&trip.request_id), || Hop::StartResponse {
            status: reply.status.to_owned(),
            headers: headers.clone(),
        });
    let code: u16 = reply.status[..3]
        .parse()
        .expect("built-in statuses are valid");
    let (body, chunks, bytes) = body_of(reply.body);
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(code).expect("valid status");
    for (name, value) in &reply.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    response.headers_mut().insert(
        hyper::header::SERVER,
        HeaderValue::from_static("wsgi-tutor"),
    );
    trip.sink
        .emit(Some(&trip.request_id), || Hop::BodySent { chunks, bytes });
    trip.finish(code, bytes, started.elapsed().as_micros() as u64, headers);
    response
}

/// The body, and its chunk and byte counts for the trace.
fn body_of(reply: ReplyBody) -> (WsgiBody, u64, u64) {
    match reply {
        ReplyBody::Full(data) => {
            let len = data.len() as u64;
            (WsgiBody::full(data), u64::from(len > 0), len)
        }
        ReplyBody::Paced(chunks, pause) => {
            let (count, len) = (
                chunks.len() as u64,
                chunks.iter().map(|c| c.len() as u64).sum(),
            );
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(async move {
                for (i, chunk) in chunks.into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
            });
            let body = WsgiBody::Stream {
                first: Default::default(),
                rest: rx,
            };
            (body, count, len)
        }
    }
}

fn text(body: String) -> Reply {
    Reply {
        status: "200 OK",
        headers: vec![("content-type", "text/plain; charset=utf-8".into())],
        body: ReplyBody::Full(body.into()),
    }
}

fn html(title: &str, content: &str) -> Reply {
    html_status("200 OK", title, content)
}

fn html_status(status: &'static str, title: &str, content: &str) -> Reply {
    let page = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/static/style.css">
<style>
body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}}
nav a{{margin-right:.8em}} table{{border-collapse:collapse}} td,th{{padding:.2em .6em;text-align:left;vertical-align:top}}
tr:nth-child(odd){{background:#f2f2f2}} code{{font-size:.9em}} footer{{margin-top:2em;color:#777;font-size:.9em}}
</style></head>
<body><nav><a href="/">home</a><a href="/hello">hello</a><a href="/environ">environ</a><a href="/form">form</a>
<a href="/slow?ms=2000">slow</a><a href="/stream">stream</a><a href="/counter">counter</a><a href="/boom">boom</a>
<a href="/static/">static files</a></nav>
<h1>{title}</h1>
{content}
<footer>Served by builtin:site, a Rust stand-in for site.py (no Python on this machine).</footer>
</body></html>
"#
    );
    Reply {
        status,
        headers: vec![("content-type", "text/html; charset=utf-8".into())],
        body: ReplyBody::Full(page.into()),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The environ as a table, values shown like Python's `repr` of a str.
fn environ_table(environ: &Environ) -> String {
    let rows: String = environ
        .for_trace(None)
        .iter()
        .map(|(k, v)| {
            let shown = if k.starts_with("wsgi.") && k != "wsgi.url_scheme" {
                v.clone()
            } else {
                format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
            };
            format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                escape(k),
                escape(&shown)
            )
        })
        .collect();
    format!("<table>{rows}</table>")
}

/// The request as received: request line, headers, then the body.
fn echo(environ: &Environ, body: &Bytes) -> Reply {
    let mut out = format!(
        "{} {} {}\n",
        environ.get_str("REQUEST_METHOD"),
        environ.get_str("RAW_URI"),
        environ.get_str("SERVER_PROTOCOL")
    );
    for (key, value) in &environ.vars {
        if let Some(name) = key.strip_prefix("HTTP_") {
            out.push_str(&format!("{name}: {}\n", super::environ::latin1(value)));
        }
    }
    for key in ["CONTENT_TYPE", "CONTENT_LENGTH"] {
        let value = environ.get_str(key);
        if !value.is_empty() {
            out.push_str(&format!("{key}: {value}\n"));
        }
    }
    out.push('\n');
    let mut data = out.into_bytes();
    data.extend_from_slice(body);
    Reply {
        status: "200 OK",
        headers: vec![("content-type", "text/plain; charset=utf-8".into())],
        body: ReplyBody::Full(data.into()),
    }
}

static SITE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `builtin:site`: the routes of `site.py`; `None` is `/boom`, the deliberate failure.
// Long because it is the site's route table, one arm per page, kept in the order of
// `site.py` so the two can be compared side by side.
async fn site(environ: &Environ, body: &Bytes) -> Option<Reply> {
    let path = environ.get_str("PATH_INFO");
    let query = environ.get_str("QUERY_STRING");
    let reply = match path.as_str() {
        "" | "/" => html(
            "Welcome to the WSGI tutor site",
            "<p>Every page here was made by a function called by a WSGI server.</p><ul>\
             <li><a href='/hello'>/hello</a>: the smallest response</li>\
             <li><a href='/environ'>/environ</a>: what the app receives</li>\
             <li><a href='/form'>/form</a>: reading a request body</li>\
             <li><a href='/slow?ms=2000'>/slow</a>: a slow app and the queue</li>\
             <li><a href='/stream'>/stream</a>: a streamed response</li>\
             <li><a href='/counter'>/counter</a>: globals live in each worker</li>\
             <li><a href='/boom'>/boom</a>: an exception becomes a 500</li>\
             <li><a href='/static/'>/static/</a>: files the web server serves itself</li></ul>",
        ),
        "/hello" => text("Hello, World!\n".into()),
        "/environ" => html("The environ", &environ_table(environ)),
        "/form" if environ.get_str("REQUEST_METHOD") == "POST" => {
            let name = form_field(body, "name").unwrap_or_else(|| "stranger".into());
            html(
                &format!("Hello, {}!", escape(&name)),
                "<p><a href='/form'>again</a></p>",
            )
        }
        "/form" => html(
            "A form",
            "<form method='post'><label>Your name <input name='name'></label> <button>Send</button></form>",
        ),
        "/slow" => {
            let ms = query_param(&query, "ms")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            html(
                &format!("Slept {ms} ms"),
                "<p>A Python sync worker could serve nobody else meanwhile.</p>",
            )
        }
        "/stream" => Reply {
            status: "200 OK",
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
            body: ReplyBody::Paced(
                (1..=5)
                    .map(|i| Bytes::from(format!("chunk {i} of 5 from builtin:site\n")))
                    .collect(),
                Duration::from_millis(500),
            ),
        },
        "/counter" => {
            let n = SITE_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
            html(
                "Counter",
                &format!(
                    "<p>builtin:site has served this page {n} times (one process, one counter).</p>"
                ),
            )
        }
        "/boom" => return None,
        _ => html_status("404 Not Found", "Not Found", "<p>No page here.</p>"),
    };
    Some(reply)
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

/// One field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body).replace('+', " ");
    let raw = query_param(&text, key)?;
    Some(
        percent_encoding::percent_decode_str(&raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}
