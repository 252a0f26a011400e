//! The content phase: the location's handler makes the answer. `return` first, then
//! `proxy_pass`, else the files on disk (where nginx would also try `try_files`).

use std::path::Path;

use hyper::Response;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};

use super::config::{LocConf, ProxyPass};
use super::exchange::Exchange;
use super::responses::{Answer, Body, page_response};
use super::static_files::{self, StaticRequest};
use super::{proxy, rewrite};
use crate::trace::Hop;

/// What the content handler came to.
pub enum Content {
    Answer(Answer),
    /// An internal redirect (to an index file): `x.uri` is the new URI, for which a
    /// location is chosen again.
    Redirect,
}

pub async fn run(x: &mut Exchange, conf: &LocConf, body: &mut Option<Incoming>) -> Content {
    if let Some(ret) = &conf.ret {
        return Content::Answer(rewrite::answer(x, ret, conf));
    }
    if let Some(proxy_pass) = &conf.proxy {
        return Content::Answer(proxy(x, proxy_pass, conf, body.take()).await);
    }
    from_disk(x, conf)
}

/// `proxy_pass`; the servers it tried become the request's `$upstream_*`.
async fn proxy(
    x: &mut Exchange,
    proxy_pass: &ProxyPass,
    conf: &LocConf,
    body: Option<Incoming>,
) -> Answer {
    // The client's body can go upstream once; an error page that proxies again cannot.
    let Some(body) = body else {
        return Answer::Status(500);
    };
    let forwarded = proxy::forward(x, proxy_pass, conf, body).await;
    x.attempts = forwarded.attempts;
    match forwarded.answer {
        Ok(response) => Answer::Response(response),
        Err(err) => Answer::Status(err.status()),
    }
}

/// `root`/`alias`, `index`, `autoindex`; the trace says which file answered.
fn from_disk(x: &mut Exchange, conf: &LocConf) -> Content {
    let request = StaticRequest {
        method: &x.method,
        uri: &x.uri,
        args: x.args.as_deref(),
        headers: &x.headers,
        conf,
    };
    let answer = match static_files::serve(&request) {
        static_files::Outcome::Response {
            response,
            path,
            size,
        } => {
            served(x, &path, response.status().as_u16(), size);
            Answer::Response(response)
        }
        static_files::Outcome::Moved { location, path } => {
            served(x, &path, 301, 0);
            let location = format!("{}{location}", x.origin());
            with_header(
                page_response(301, &x.method, conf),
                header::LOCATION,
                &location,
            )
        }
        static_files::Outcome::Redirect(new_uri) => {
            x.uri = new_uri;
            x.internal_redirect = true;
            return Content::Redirect;
        }
        static_files::Outcome::Status {
            status,
            path,
            log,
            content_range,
        } => {
            served(x, &path, status, 0);
            if let Some((level, message)) = log {
                let line = format!("{message}{}", x.context(None));
                x.log(level, line);
            }
            match content_range {
                Some(range) => with_header(
                    page_response(status, &x.method, conf),
                    header::CONTENT_RANGE,
                    &range,
                ),
                None => Answer::Status(status),
            }
        }
    };
    Content::Answer(answer)
}

fn served(x: &Exchange, path: &Path, status: u16, size: u64) {
    x.trace.emit(Some(&x.id), || Hop::StaticServed {
        path: path.to_string_lossy().into_owned(),
        status,
        size,
    });
}

fn with_header(mut response: Response<Body>, name: header::HeaderName, value: &str) -> Answer {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    Answer::Response(response)
}
