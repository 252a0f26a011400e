//! The error_page phase, and the budget of internal redirects: an error status with an
//! `error_page` is answered with another URI's content (once per request), and a request
//! that keeps redirecting internally ends in 500 as nginx's does.

use hyper::header;
use hyper::{Method, StatusCode};

use super::config::LocConf;
use super::content::Content;
use super::exchange::Exchange;
use super::log::Level;
use super::responses::{Answer, Phase};

/// Internal redirects (index files, error pages) allowed per request, as nginx's limit.
const MAX_REDIRECTS: usize = 10;

/// Where the request is in its internal redirects.
#[derive(Default)]
pub struct Redirects {
    /// Locations entered so far.
    passes: usize,
    /// Set while serving an error page: the status the client gets.
    error_page: Option<u16>,
}

impl Redirects {
    /// Whether the request is in its first location (not redirected yet).
    pub fn first(&self) -> bool {
        self.passes == 0
    }
}

/// `Break` with the answer to send, or `Continue` to choose a location again for `x.uri`.
pub fn apply(
    x: &mut Exchange,
    conf: &LocConf,
    content: Content,
    redirects: &mut Redirects,
) -> Phase {
    redirects.passes += 1;
    match content {
        Content::Redirect => {}
        Content::Answer(answer) => {
            if let Some(original) = redirects.error_page {
                return Phase::Break(as_error_page(answer, original));
            }
            let status = answer.status();
            let page = match answer {
                Answer::Status(_) => conf.error_page.get(&status),
                Answer::Response(_) => None,
            };
            let Some(page) = page else {
                return Phase::Break(answer);
            };
            redirects.error_page = Some(page.status.unwrap_or(status));
            x.uri = page.uri.as_bytes().to_vec();
            x.args = None;
            x.internal_redirect = true;
            if x.method != Method::HEAD {
                x.method = Method::GET;
            }
        }
    }
    if redirects.passes < MAX_REDIRECTS {
        return Phase::Continue(());
    }
    x.log(
        Level::Error,
        format!(
            "rewrite or internal redirection cycle while internally redirecting to \"{}\"{}",
            String::from_utf8_lossy(&x.uri),
            x.context(None)
        ),
    );
    Phase::Break(Answer::Status(500))
}

/// The error page's own answer, sent with the original status.
fn as_error_page(answer: Answer, original: u16) -> Answer {
    match answer {
        Answer::Response(mut response) if response.status().is_success() => {
            *response.status_mut() = StatusCode::from_u16(original).unwrap_or(StatusCode::OK);
            // An error page is not the file it came from: no validators, no ranges.
            let headers = response.headers_mut();
            headers.remove(header::LAST_MODIFIED);
            headers.remove(header::ACCEPT_RANGES);
            Answer::Response(response)
        }
        _ => Answer::Status(original),
    }
}
