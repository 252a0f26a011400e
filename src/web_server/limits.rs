//! The access phase, as far as this server has one: limits on what the client may send.
//! nginx checks `client_max_body_size` against Content-Length as soon as the location is
//! known, before `return` or any content handler runs; a streamed body that grows past it
//! is cut off on its way upstream (see `proxy`).

use hyper::header;

use super::config::LocConf;
use super::exchange::Exchange;
use super::log::Level;
use super::responses::{Answer, Phase};

/// 413 for a declared body larger than `client_max_body_size`; checked in the first
/// location only, as the body is read once.
pub fn client_body(x: &Exchange, conf: &LocConf, first_location: bool) -> Phase {
    if !first_location || conf.client_max_body_size == 0 {
        return Phase::Continue(());
    }
    if let Some(len) = x
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > conf.client_max_body_size
    {
        x.log(
            Level::Error,
            format!(
                "client intended to send too large body: {len} bytes{}",
                x.context(None)
            ),
        );
        return Phase::Break(Answer::Status(413));
    }
    Phase::Continue(())
}
