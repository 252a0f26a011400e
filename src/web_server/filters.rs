//! The header filters every answer goes through before it is sent, as nginx's header
//! filter chain: the page for a bare status, the reason phrase, `Server`, `add_header`.

use hyper::Response;
use hyper::header::{self, HeaderValue};

use super::config::LocConf;
use super::exchange::Exchange;
use super::responses::{self, Answer, Body, page_response};

/// Pages for bare statuses, nginx's reason phrases, `Server`, `add_header`; the status is
/// the request's from here on.
pub fn headers(x: &mut Exchange, answer: Answer, conf: &LocConf) -> Response<Body> {
    let mut response = match answer {
        Answer::Response(response) => response,
        Answer::Status(status) => page_response(status, &x.method, conf),
    };
    let status = response.status().as_u16();
    if response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .is_none()
        && let Some(phrase) = responses::reason_phrase(status)
    {
        response.extensions_mut().insert(phrase);
    }
    let headers = response.headers_mut();
    headers.insert(
        header::SERVER,
        HeaderValue::from_static(responses::server_token(conf.server_tokens)),
    );
    if !conf.add_header.is_empty() {
        let qualifies = matches!(
            status,
            200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308
        );
        for add in conf.add_header.iter() {
            if !(qualifies || add.always) {
                continue;
            }
            let value = add.value.render(x);
            if !value.is_empty()
                && let Ok(value) = HeaderValue::from_str(&value)
            {
                response.headers_mut().append(add.name.clone(), value);
            }
        }
    }
    x.status = status;
    response
}
