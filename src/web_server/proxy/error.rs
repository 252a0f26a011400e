//! Why a request did not get an upstream's answer: each case with the status the client
//! gets and nginx's words for the error log (the tests and the tutor's lessons read them).
//!
//! The client's own faults (its body too large, malformed, or cut short) are told apart
//! from the upstream's: they are 4xx, logged as nginx logs them, and never count against
//! the server.

use crate::web_server::log::Level;

/// What follows the message in an error-log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// The message stands alone.
    Nothing,
    /// `, client: ..., server: ..., request: "...", host: "..."`.
    Request,
    /// The request's tail with `, upstream: "http://addr/uri"` in it.
    Upstream,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Every server of the upstream is resting after a failure.
    #[error("no live upstreams while connecting to upstream")]
    NoLiveUpstreams,
    /// connect() failed: refused, unreachable, reset; the OS error as nginx prints it
    /// (`111: Connection refused`).
    #[error("connect() failed ({0}) while connecting to upstream")]
    Refused(String),
    #[error("upstream timed out (110: Connection timed out) while connecting to upstream")]
    ConnectTimeout,
    #[error("upstream handshake failed ({0}) while connecting to upstream")]
    Handshake(String),
    #[error(
        "upstream timed out (110: Connection timed out) while reading response header from upstream"
    )]
    ReadTimeout,
    #[error("upstream prematurely closed connection while reading response header from upstream")]
    PrematureClose,
    /// Sending to the upstream failed on our side of the body (hyper's user-body error) for
    /// a reason that is neither the client's framing nor its close.
    #[error("client closed or failed while sending the request body to upstream")]
    ClientBody,
    #[error("upstream sent an invalid response ({0}) while reading response header from upstream")]
    InvalidResponse(String),
    /// A streamed body went past `client_max_body_size`.
    #[error("client intended to send too large body")]
    TooLarge,
    /// A chunked body collected for an HTTP/1.0 upstream went past `client_max_body_size`.
    #[error("client intended to send too large chunked body")]
    TooLargeChunked,
    /// The client's chunked framing is broken (a bad chunk size, a sign, no CRLF after a
    /// chunk): nginx's 400 at `[error]`.
    #[error("client sent invalid chunked body")]
    InvalidChunkedBody,
    /// The client's connection ended before its body did: nginx's 400 (in the access log;
    /// the client is gone) at `[info]`.
    #[error("client prematurely closed connection")]
    ClientClosedBody,
}

impl UpstreamError {
    /// The status the client gets.
    pub fn status(&self) -> u16 {
        match self {
            Self::ConnectTimeout | Self::ReadTimeout => 504,
            Self::TooLarge | Self::TooLargeChunked => 413,
            Self::InvalidChunkedBody | Self::ClientClosedBody => 400,
            Self::NoLiveUpstreams
            | Self::Refused(_)
            | Self::Handshake(_)
            | Self::PrematureClose
            | Self::ClientBody
            | Self::InvalidResponse(_) => 502,
        }
    }

    fn tail(&self) -> Tail {
        match self {
            Self::TooLargeChunked => Tail::Nothing,
            Self::NoLiveUpstreams
            | Self::TooLarge
            | Self::InvalidChunkedBody
            | Self::ClientClosedBody => Tail::Request,
            _ => Tail::Upstream,
        }
    }

    /// The error-log line (at [`Self::level`]), `tail` writing what follows the message;
    /// None when nginx writes no line.
    pub fn log_line(&self, tail: impl FnOnce(Tail) -> String) -> Option<String> {
        match self.tail() {
            Tail::Nothing => Some(self.to_string()),
            asked => Some(format!("{self}{}", tail(asked))),
        }
    }

    /// The error log's level for the line: a client that went away is `info` in nginx (it
    /// is not the server's problem), everything else `error`.
    pub fn level(&self) -> Level {
        match self {
            Self::ClientClosedBody => Level::Info,
            _ => Level::Error,
        }
    }

    /// What an error reading the client's body (hyper's `Incoming`) means: hyper's chunked
    /// decoder fails with `InvalidInput` / `InvalidData` on broken framing; a body cut short
    /// is `UnexpectedEof`, and a connection that failed under it is hyper's "connection
    /// error". Only the first is the client's malformed body; the rest, its close.
    pub fn from_client_body(err: &hyper::Error) -> Self {
        let io = std::error::Error::source(err).and_then(|s| s.downcast_ref::<std::io::Error>());
        match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData) => {
                Self::InvalidChunkedBody
            }
            _ => Self::ClientClosedBody,
        }
    }

    /// Whether the next server of the upstream may be tried (if the request can be sent
    /// again): nginx's `proxy_next_upstream error`; a read timeout is final here.
    pub fn tries_next_server(&self) -> bool {
        self.at_connect()
            || matches!(
                self,
                Self::PrematureClose | Self::ClientBody | Self::InvalidResponse(_)
            )
    }

    /// A server that could not be reached rests for `fail_timeout`.
    pub fn at_connect(&self) -> bool {
        matches!(
            self,
            Self::Refused(_) | Self::ConnectTimeout | Self::Handshake(_)
        )
    }

    /// What a failed exchange with a connected server means.
    pub fn from_send(err: &hyper::Error) -> Self {
        if err.is_incomplete_message() || err.is_closed() {
            Self::PrematureClose
        } else if err.is_body_write_aborted() || err.is_user() {
            Self::ClientBody
        } else {
            Self::InvalidResponse(err.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &str = ", client: 127.0.0.1, server: localhost, request: \"GET / HTTP/1.1\"";
    const UP: &str = ", client: 127.0.0.1, upstream: \"http://127.0.0.1:8000/\"";

    fn tail(asked: Tail) -> String {
        match asked {
            Tail::Upstream => UP,
            Tail::Request => TAIL,
            Tail::Nothing => unreachable!("a line without a tail asks for none"),
        }
        .to_owned()
    }

    /// One test per case: its status, what its tail names, and its log line.
    macro_rules! cases {
        ($($name:ident: $err:expr => $status:expr, $tail:expr, $line:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = $err;
                assert_eq!(err.status(), $status, "status");
                assert_eq!(err.tail(), $tail, "tail");
                assert_eq!(err.log_line(tail).as_deref(), $line, "log line");
            }
        )*};
    }

    cases! {
        refused: UpstreamError::Refused("111: Connection refused".into()) => 502, Tail::Upstream,
            Some(&*format!("connect() failed (111: Connection refused) while connecting to upstream{UP}"));
        connect_timeout: UpstreamError::ConnectTimeout => 504, Tail::Upstream,
            Some(&*format!("upstream timed out (110: Connection timed out) while connecting to upstream{UP}"));
        handshake: UpstreamError::Handshake("oops".into()) => 502, Tail::Upstream,
            Some(&*format!("upstream handshake failed (oops) while connecting to upstream{UP}"));
        read_timeout: UpstreamError::ReadTimeout => 504, Tail::Upstream,
            Some(&*format!("upstream timed out (110: Connection timed out) while reading response header from upstream{UP}"));
        premature_close: UpstreamError::PrematureClose => 502, Tail::Upstream,
            Some(&*format!("upstream prematurely closed connection while reading response header from upstream{UP}"));
        client_body: UpstreamError::ClientBody => 502, Tail::Upstream,
            Some(&*format!("client closed or failed while sending the request body to upstream{UP}"));
        invalid_response: UpstreamError::InvalidResponse("invalid HTTP version parsed".into()) => 502, Tail::Upstream,
            Some(&*format!("upstream sent an invalid response (invalid HTTP version parsed) while reading response header from upstream{UP}"));
        no_live_upstreams: UpstreamError::NoLiveUpstreams => 502, Tail::Request,
            Some(&*format!("no live upstreams while connecting to upstream{TAIL}"));
        too_large: UpstreamError::TooLarge => 413, Tail::Request,
            Some(&*format!("client intended to send too large body{TAIL}"));
        too_large_chunked: UpstreamError::TooLargeChunked => 413, Tail::Nothing,
            Some("client intended to send too large chunked body");
        invalid_chunked_body: UpstreamError::InvalidChunkedBody => 400, Tail::Request,
            Some(&*format!("client sent invalid chunked body{TAIL}"));
        client_closed_body: UpstreamError::ClientClosedBody => 400, Tail::Request,
            Some(&*format!("client prematurely closed connection{TAIL}"));
    }

    #[test]
    fn only_failures_before_the_answer_move_on_to_the_next_server() {
        assert!(UpstreamError::Refused(String::new()).tries_next_server());
        assert!(UpstreamError::ConnectTimeout.tries_next_server());
        assert!(UpstreamError::PrematureClose.tries_next_server());
        assert!(!UpstreamError::ReadTimeout.tries_next_server());
        assert!(!UpstreamError::TooLarge.tries_next_server());
        assert!(UpstreamError::ConnectTimeout.at_connect());
        assert!(!UpstreamError::PrematureClose.at_connect());
        // the client's faults are final: another server would get the same broken body
        assert!(!UpstreamError::InvalidChunkedBody.tries_next_server());
        assert!(!UpstreamError::ClientClosedBody.tries_next_server());
    }

    #[test]
    fn the_client_s_faults_are_4xx_and_a_client_gone_is_info() {
        for err in [
            UpstreamError::InvalidChunkedBody,
            UpstreamError::ClientClosedBody,
            UpstreamError::TooLarge,
            UpstreamError::TooLargeChunked,
        ] {
            assert!(err.status() < 500, "{err:?}");
        }
        assert_eq!(UpstreamError::ClientClosedBody.level(), Level::Info);
        assert_eq!(UpstreamError::InvalidChunkedBody.level(), Level::Error);
        assert_eq!(UpstreamError::Refused(String::new()).level(), Level::Error);
    }
}
