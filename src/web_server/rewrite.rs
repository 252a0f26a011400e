//! nginx's rewrite module, as far as this server has it: `return`, in a `server` block
//! (before any location is chosen) or in a location (as its content).

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::config::{LocConf, Return, Server};
use super::exchange::Exchange;
use super::responses::{self, Answer, Phase, empty, full, page_response};

/// The server rewrite phase: a `return` at the server level answers every request.
pub fn server_return(x: &Exchange, server: &Server) -> Phase {
    match &server.conf.ret {
        Some(ret) => Phase::Break(answer(x, ret, &server.conf)),
        None => Phase::Continue(()),
    }
}

/// `return code [text|URL]`: a redirect (with an absolute Location), a body of text, or
/// just the status.
pub fn answer(x: &Exchange, ret: &Return, conf: &LocConf) -> Answer {
    let code = ret.code;
    let text = ret.text.as_ref().map(|t| t.render(x));
    let redirect = matches!(code, 301 | 302 | 303 | 307 | 308);
    match text {
        Some(target) if redirect => {
            let location = if target.starts_with('/') {
                format!("{}{target}", x.origin())
            } else {
                target
            };
            let mut response = page_response(code, &x.method, conf);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Answer::Response(response)
        }
        Some(body) => {
            let uri = String::from_utf8_lossy(&x.uri);
            let content_type = conf.content_type(uri.rsplit('/').next().unwrap_or(""));
            let response = Response::builder()
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, body.len())
                .body(full(body))
                .expect("valid return response");
            Answer::Response(response)
        }
        None if responses::has_page(code) => Answer::Status(code),
        None => Answer::Response(
            Response::builder()
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
                .header(header::CONTENT_LENGTH, 0)
                .body(empty())
                .expect("valid return response"),
        ),
    }
}
