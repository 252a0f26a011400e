//! Folding one event into its request. Each hop fills only its own part, so the hops of
//! both streams can arrive in any order.
//!
//! The hops are taken in the trace contract's sections (see [`Hop`]): first those both
//! servers send, then the web server's, then the WSGI server's; each section passes on
//! the hops that are not its own.

use super::request::{Forwarded, Received, Request, Response, Timing};
use crate::trace::{Event, Hop, Process};

/// How many printed lines a request keeps.
const OUTPUT_LINES: usize = 40;

pub(super) fn fold(req: &mut Request, event: &Event) {
    let ts = event.ts_us;
    let web = event.process == Process::WebServer;
    match &event.hop {
        Hop::Received {
            method,
            target,
            version,
            headers,
            peer,
        } => {
            let received = Received {
                ts_us: ts,
                method: method.clone(),
                target: target.clone(),
                version: version.clone(),
                headers: headers.clone(),
                peer: peer.clone(),
            };
            if web {
                req.web_received = Some(received);
            } else {
                req.wsgi_received = Some(received);
            }
        }
        Hop::ResponseSent {
            status,
            bytes,
            total_us,
            headers,
        } => {
            let response = Response {
                ts_us: ts,
                status: *status,
                bytes: *bytes,
                total_us: *total_us,
                headers: headers.clone(),
            };
            if web {
                req.web_response = Some(response);
            } else {
                req.wsgi_response = Some(response);
            }
        }
        Hop::Error { message, .. } => req.errors.push((event.process, message.clone())),
        hop => fold_web_server(req, ts, hop),
    }
}

fn fold_web_server(req: &mut Request, ts: u64, hop: &Hop) {
    match hop {
        Hop::LocationMatched {
            location, handler, ..
        } => req.location = Some((location.clone(), *handler)),
        Hop::StaticServed { path, status, .. } => req.static_served = Some((path.clone(), *status)),
        Hop::Proxied {
            upstream,
            uri,
            version,
            headers,
            added,
        } => {
            req.forwarded = Some(Forwarded {
                ts_us: ts,
                upstream: upstream.clone(),
                uri: uri.clone(),
                version: version.clone(),
                headers: headers.clone(),
                added: added.clone(),
            });
        }
        Hop::UpstreamAnswered {
            status, time_us, ..
        } => req.upstream_answered = Some((*status, *time_us)),
        hop => fold_wsgi_server(req, ts, hop),
    }
}

fn fold_wsgi_server(req: &mut Request, ts: u64, hop: &Hop) {
    match hop {
        Hop::Queued { queue_len } => req.queued = Some(*queue_len),
        Hop::Dispatched {
            worker_pid,
            queue_us,
        } => req.dispatched = Some((*worker_pid, *queue_us)),
        Hop::EnvironBuilt { environ } => req.environ = environ.clone(),
        Hop::StartResponse { status, headers } => {
            req.start_response = Some((status.clone(), headers.clone()));
        }
        Hop::Finished {
            queue_us,
            app_us,
            total_us,
            ..
        } => {
            req.finished = Some((
                ts,
                Timing {
                    web_us: 0,
                    queue_us: *queue_us,
                    app_us: *app_us,
                    total_us: *total_us,
                },
            ));
        }
        Hop::AppError {
            kind,
            message,
            traceback,
        } => req.app_error = Some((kind.clone(), message.clone(), traceback.clone())),
        Hop::AppOutput { line, .. } if req.app_output.len() < OUTPUT_LINES => {
            req.app_output.push(line.clone());
        }
        // Events that belong to no request, and hops the model does not use (new kinds
        // added to the trace contract land here until the tutor shows them).
        _ => {}
    }
}
