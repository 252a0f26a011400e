//! The request path: nginx's phases, in order, each one line below and one module.
//!
//! 1. [`check`]: line and header sizes, Host, the URI — 400/414 on failure;
//! 2. [`server`]: the `server` block by listen address and Host, then its `return`
//!    ([`rewrite`]);
//! 3. [`location`]: the `location` for the URI;
//! 4. [`limits`]: `client_max_body_size` (413);
//! 5. [`content`]: `return`, `proxy_pass`, or the files on disk;
//! 6. [`error_page`]: another URI's content for an error status; index files and error
//!    pages go round again from 3;
//! 7. [`filters`] then [`log`]: the page for a bare status, `Server`, `add_header`; the
//!    access log line and the trace event are written when the last byte of the body has
//!    gone out.
//!
//! A phase returns a [`Phase`]: `Break` with the answer ends the chain early.
//!
//! [`check`]: super::check
//! [`server`]: super::server
//! [`rewrite`]: super::rewrite
//! [`location`]: super::location
//! [`limits`]: super::limits
//! [`content`]: super::content
//! [`error_page`]: super::error_page
//! [`filters`]: super::filters
//! [`log`]: super::log

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, Uri};

use super::config::Config;
use super::error_page::Redirects;
use super::exchange::{ConnInfo, Exchange};
use super::log::TrackedBody;
use super::responses::Phase;
use super::{check, content, error_page, filters, limits, location, log, rewrite, server};
use crate::trace::TraceSink;

/// Answer one request. Never fails: every problem becomes a status code.
pub async fn handle(
    request: Request<Incoming>,
    conn: ConnInfo,
    config: Arc<Config>,
    trace: TraceSink,
) -> Result<Response<TrackedBody>, Infallible> {
    let (mut parts, body) = request.into_parts();
    // Boxed once, here: the exchange outlives this future (the access log is written when
    // the body is done) and is too large to move around by value.
    let mut x = Box::new(Exchange::received(
        &mut parts,
        conn,
        config.error_log.clone(),
        trace,
    ));
    let ControlFlow::Break(answer) = phases(&mut x, &config, &parts.uri, body).await;
    // A request refused before a location was chosen gets the default server's settings.
    let conf = x
        .conf
        .clone()
        .unwrap_or_else(|| server::select(&config, &x.conn.listen, "").conf.clone());
    let response = filters::headers(&mut x, answer, &conf);
    Ok(log::track(x, response, conf.access_log.clone()))
}

/// Every phase up to the answer; only a `Break` leaves it.
async fn phases(
    x: &mut Exchange,
    config: &Config,
    target: &Uri,
    body: Incoming,
) -> Phase<Infallible> {
    check::request(x, config, target)?;
    let server = server::find(x, config);
    rewrite::server_return(x, &server)?;
    let mut body = Some(body);
    let mut redirects = Redirects::default();
    loop {
        let conf = location::enter(x, &server);
        limits::client_body(x, &conf, redirects.first())?;
        let content = content::run(x, &conf, &mut body).await;
        error_page::apply(x, &conf, content, &mut redirects)?;
    }
}
