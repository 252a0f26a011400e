//! What the request path's phases answer with, response bodies, and the pages the web
//! server writes itself (errors and redirects), in nginx's words and layout so a learner
//! recognises them later.

use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, combinators::UnsyncBoxBody};
use hyper::body::{Frame, SizeHint};
use hyper::header;
use hyper::{Method, Response, StatusCode};

use super::config::LocConf;

/// What a phase of the request path decided.
pub enum Answer {
    Response(Response<Body>),
    /// A status whose page the web server writes (after `error_page`, if any).
    Status(u16),
}

impl Answer {
    pub fn status(&self) -> u16 {
        match self {
            Answer::Status(status) => *status,
            Answer::Response(response) => response.status().as_u16(),
        }
    }
}

/// A phase's result: `Break` with the answer ends the chain, `Continue` goes on to the next
/// phase with what this one found.
pub type Phase<T = ()> = ControlFlow<Answer, T>;

/// Every body the web server sends, to a client or upstream: nothing, bytes it already
/// holds (a page, a small file), or a stream (a large file, an upstream's response, a
/// client's upload). The first two are the common case and cost no allocation of their
/// own, which a boxed body would on every request.
pub enum Body {
    Empty,
    Full(Option<Bytes>),
    Stream(UnsyncBoxBody<Bytes, std::io::Error>),
}

impl Body {
    pub fn stream<B>(body: B) -> Body
    where
        B: hyper::body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static,
    {
        Body::Stream(body.boxed_unsync())
    }
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    let bytes = bytes.into();
    if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Full(Some(bytes))
    }
}

pub fn empty() -> Body {
    Body::Empty
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(inner) => Pin::new(inner).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(bytes) => bytes.is_none(),
            Body::Stream(inner) => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(inner) => inner.size_hint(),
        }
    }
}

/// What this server calls itself in `Server:` headers and error pages.
pub fn server_token(with_version: bool) -> &'static str {
    if with_version {
        concat!("wsgi-tutor/", env!("CARGO_PKG_VERSION"))
    } else {
        "wsgi-tutor"
    }
}

/// nginx's reason phrases, which differ from the RFC's in places ("Not Allowed").
pub fn reason(status: u16) -> &'static str {
    match status {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Not Allowed",
        408 => "Request Time-out",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        416 => "Requested Range Not Satisfiable",
        494 => "Request Header Or Cookie Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        s => StatusCode::from_u16(s)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    }
}

/// Whether nginx writes a page of its own for this status.
pub fn has_page(status: u16) -> bool {
    matches!(status, 301..=303 | 307 | 308 | 400..=599) && status != 499
}

/// The HTML body nginx sends for an error or redirect status.
pub fn page(status: u16, server_tokens: bool) -> Bytes {
    // 494 is nginx's private code for oversized headers; the client sees 400.
    let head = if status == 494 {
        "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n".to_owned()
    } else {
        let title = format!("{status} {}", reason(status));
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        )
    };
    Bytes::from(format!(
        "{head}<hr><center>{}</center>\r\n</body>\r\n</html>\r\n",
        server_token(server_tokens)
    ))
}

/// The web server's own page for a status, as a response.
pub fn page_response(status: u16, method: &Method, conf: &LocConf) -> Response<Body> {
    let wire_status = if status == 494 { 400 } else { status };
    let page = page(status, conf.server_tokens);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(wire_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/html")
        .header(header::CONTENT_LENGTH, page.len());
    if matches!(status, 400 | 413 | 414 | 494 | 500 | 501) {
        builder = builder.header(header::CONNECTION, "close");
    }
    let body = if *method == Method::HEAD {
        empty()
    } else {
        full(page)
    };
    builder.body(body).expect("valid page")
}

/// The reason phrase to send when nginx's differs from hyper's standard one.
pub fn reason_phrase(status: u16) -> Option<hyper::ext::ReasonPhrase> {
    let ours = reason(status);
    let standard = StatusCode::from_u16(status).ok()?.canonical_reason()?;
    (ours != standard && !ours.is_empty())
        .then(|| hyper::ext::ReasonPhrase::from_static(ours.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_look_like_nginx_s() {
        let text = String::from_utf8(page(404, true).to_vec()).unwrap();
        assert!(text.starts_with("<html>\r\n<head><title>404 Not Found</title></head>"));
        assert!(text.contains("<center>wsgi-tutor/"));
        let text = String::from_utf8(page(494, false).to_vec()).unwrap();
        assert!(text.contains("<title>400 Request Header Or Cookie Too Large</title>"));
        assert!(text.contains("<h1>400 Bad Request</h1>"));
        assert!(text.contains("<center>wsgi-tutor</center>"));
        assert_eq!(reason(405), "Not Allowed");
        assert!(!has_page(200) && has_page(502) && has_page(301));
        assert!(reason_phrase(404).is_none());
        assert_eq!(reason_phrase(504).unwrap().as_bytes(), b"Gateway Time-out");
    }
}
