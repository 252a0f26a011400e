//! The route a request takes through the diagram's boxes, read off the hops it has so
//! far: where it turns back, and how many of its steps have really happened.

use crate::trace::Handler;
use crate::tutor::traffic::{Request, ServedBy, Via};

/// The boxes of the diagram, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Browser,
    WebServer,
    WsgiServer,
    App,
}

/// One step of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Along edge `edge` (0: browser–web, 1: web–WSGI, 2: WSGI–app), rightwards if `forward`.
    Edge { edge: usize, forward: bool },
    /// Waiting in the WSGI server's queue for a free worker.
    Queue,
}

/// The route a request takes, as far as it is known, and how many steps have happened.
pub fn route(req: &Request) -> (Vec<Step>, usize) {
    use Step::Edge;
    let fwd = |edge| Edge {
        edge,
        forward: true,
    };
    let back = |edge| Edge {
        edge,
        forward: false,
    };
    let mut steps = Vec::new();
    let mut done = 0;
    let step = |s: Step, happened: bool, done_so_far: &mut usize, steps: &mut Vec<Step>| {
        if *done_so_far == steps.len() && happened {
            *done_so_far += 1;
        }
        steps.push(s);
    };
    let direct = req.via() == Via::Direct;
    if !direct {
        step(fwd(0), true, &mut done, &mut steps);
        let to_wsgi = req.forwarded.is_some()
            || req.reached_wsgi()
            || req
                .location
                .as_ref()
                .is_some_and(|(_, handler)| *handler == Handler::Proxy);
        if !to_wsgi {
            // Static, return, or a web server error before any upstream: it turns back here.
            let answered = req.web_response.is_some();
            if answered || req.served_by().is_some() {
                step(back(0), answered, &mut done, &mut steps);
            }
            return (steps, done);
        }
        if req.served_by() == Some(ServedBy::WebError) && !req.reached_wsgi() {
            // The WSGI server did not answer: the 502 starts at the web server.
            step(back(0), true, &mut done, &mut steps);
            return (steps, done);
        }
        step(fwd(1), req.reached_wsgi(), &mut done, &mut steps);
    }
    if req.queued.is_some() {
        step(Step::Queue, req.dispatched.is_some(), &mut done, &mut steps);
    }
    let in_app = req.dispatched.is_some() || req.finished.is_some();
    let app_done = req.finished.is_some() || req.start_response.is_some();
    step(fwd(2), in_app, &mut done, &mut steps);
    step(back(2), app_done, &mut done, &mut steps);
    if direct {
        return (steps, done);
    }
    let wsgi_answered = req.wsgi_response.is_some() || req.upstream_answered.is_some();
    step(back(1), wsgi_answered, &mut done, &mut steps);
    step(back(0), req.web_response.is_some(), &mut done, &mut steps);
    (steps, done)
}
