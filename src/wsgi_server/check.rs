//! Requests the WSGI server refuses before any app runs, because HTTP says so: RFC 9112
//! §3.2, "a server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
//! request message that lacks a Host header field and to any request message that
//! contains more than one Host header field line".
//!
//! The answer is gunicorn's own error page for a request it cannot take (gunicorn's
//! `util.write_error`), and the connection is closed afterwards, as gunicorn does. gunicorn
//! 27 refuses a repeated Host with `Invalid HTTP Header: 'HOST'`; it lets a missing one
//! through (benoitc/gunicorn#3361), so for that case we follow the RFC, in gunicorn's words.

use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode, Version};

use super::body::WsgiBody;

/// Why a request is refused, as gunicorn's error page and its log line say it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("Missing HTTP Header: 'HOST'")]
    MissingHost,
    #[error("Invalid HTTP Header: 'HOST'")]
    RepeatedHost,
}

/// Exactly one Host on HTTP/1.1 requests; at most one on HTTP/1.0 ones (where it is
/// optional).
pub fn host(parts: &Parts) -> Result<(), BadRequest> {
    match parts.headers.get_all(HOST).iter().count() {
        0 if parts.version >= Version::HTTP_11 => Err(BadRequest::MissingHost),
        0 | 1 => Ok(()),
        _ => Err(BadRequest::RepeatedHost),
    }
}

/// gunicorn's error page: `<html>` with the reason as title and heading, and the message
/// (HTML-escaped as Python's `html.escape` does); `Connection: close`.
pub fn error_page(status: StatusCode, message: &str) -> Response<WsgiBody> {
    let reason = status.canonical_reason().unwrap_or_default();
    let page = format!(
        "<html>\n  <head>\n    <title>{reason}</title>\n  </head>\n  <body>\n    \
         <h1><p>{reason}</p></h1>\n    {}\n  </body>\n</html>\n",
        html_escape(message)
    );
    let mut response = Response::new(WsgiBody::full(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// Python's `html.escape(s, quote=True)`.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use rstest::rstest;

    fn parts(version: Version, hosts: &[&str]) -> Parts {
        let mut builder = hyper::Request::builder().uri("/").version(version);
        for host in hosts {
            builder = builder.header(HOST, *host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[rstest]
    #[case::http11_with_host(Version::HTTP_11, &["example.com"], Ok(()))]
    #[case::http11_empty_host(Version::HTTP_11, &[""], Ok(()))]
    #[case::http11_without_host(Version::HTTP_11, &[], Err(BadRequest::MissingHost))]
    #[case::http10_without_host(Version::HTTP_10, &[], Ok(()))]
    #[case::http11_two_hosts(Version::HTTP_11, &["a", "b"], Err(BadRequest::RepeatedHost))]
    #[case::http10_two_hosts(Version::HTTP_10, &["a", "b"], Err(BadRequest::RepeatedHost))]
    fn host_rules(
        #[case] version: Version,
        #[case] hosts: &[&str],
        #[case] want: Result<(), BadRequest>,
    ) {
        assert_eq!(host(&parts(version, hosts)), want);
    }

    #[tokio::test]
    async fn the_page_is_gunicorns_byte_for_byte() {
        let response = error_page(
            StatusCode::BAD_REQUEST,
            &BadRequest::RepeatedHost.to_string(),
        );
        assert_eq!(response.headers()[CONNECTION], "close");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        // What gunicorn 27.0.1 sends for `Host: a` and `Host: b` (158 bytes).
        let gunicorn = "<html>\n  <head>\n    <title>Bad Request</title>\n  </head>\n  <body>\n    \
                        <h1><p>Bad Request</p></h1>\n    Invalid HTTP Header: &#x27;HOST&#x27;\n  \
                        </body>\n</html>\n";
        assert_eq!(body, gunicorn.as_bytes());
        assert_eq!(body.len(), 158);
    }
}
