//! What the access log writes: `log_format`s, nginx's escaping, and the response body that
//! writes the line (and the trace's `response_sent`) once the last byte has gone out or the
//! client has gone away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::{Response, Version};

use super::{Level, LogFile};
use crate::trace::Hop;
use crate::web_server::exchange::Exchange;
use crate::web_server::responses::Body;
use crate::web_server::variables::{Template, Var, VarSource};

/// `log_format name [escape=json] '...'`.
pub struct LogFormat {
    pub name: String,
    template: Template,
    escape_json: bool,
    /// Whether it logs response headers (`$sent_http_*`), which then must be kept.
    pub uses_response_headers: bool,
}

impl LogFormat {
    pub fn new(name: &str, template: Template, escape_json: bool) -> Self {
        Self {
            name: name.to_owned(),
            uses_response_headers: template.mentions_any(|v| matches!(v, Var::SentHttp(_))),
            template,
            escape_json,
        }
    }

    /// nginx's predefined format.
    pub fn combined() -> Self {
        let text = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
        Self::new(
            "combined",
            Template::parse(text).expect("combined parses"),
            false,
        )
    }
}

#[derive(Clone)]
pub struct AccessLog {
    pub file: Arc<LogFile>,
    pub format: Arc<LogFormat>,
}

impl AccessLog {
    pub fn write(&self, source: &dyn VarSource) {
        let escaping = Escaping {
            inner: source,
            json: self.format.escape_json,
        };
        let mut line = String::with_capacity(160);
        self.format.template.render_into(&escaping, &mut line);
        self.file.write_line(line);
    }
}

/// Values in a log line are escaped as nginx does, and a missing one is logged as `-`.
struct Escaping<'a> {
    inner: &'a dyn VarSource,
    json: bool,
}

impl VarSource for Escaping<'_> {
    fn write_var(&self, var: &Var, out: &mut String) {
        let mut value = String::new();
        self.inner.write_var(var, &mut value);
        if value.is_empty() && !self.json {
            out.push('-');
            return;
        }
        for c in value.chars() {
            match c {
                '"' | '\\' if self.json => {
                    out.push('\\');
                    out.push(c);
                }
                '"' | '\\' => {
                    out.push_str(&format!("\\x{:02X}", c as u32));
                }
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    if self.json {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        out.push_str(&format!("\\x{:02X}", c as u32));
                    }
                }
                c => out.push(c),
            }
        }
    }
}

/// The response as hyper sends it: its body counted, the exchange kept until it is done.
pub fn track(
    mut x: Box<Exchange>,
    response: Response<Body>,
    access_log: Arc<Vec<AccessLog>>,
) -> Response<TrackedBody> {
    let (mut parts, body) = response.into_parts();
    // Copied only for whoever reads them: the trace, or a log format with $sent_http_*.
    if x.trace.enabled()
        || access_log
            .iter()
            .any(|log| log.format.uses_response_headers)
    {
        x.response_headers = parts.headers.clone();
    }
    if parts.version != Version::HTTP_11 {
        parts.version = Version::HTTP_11;
    }
    let tracked = TrackedBody {
        inner: body,
        x: Some(x),
        access_log,
    };
    Response::from_parts(parts, tracked)
}

/// The response body, counted; when it ends (or the client goes away) the request is logged.
pub struct TrackedBody {
    inner: Body,
    x: Option<Box<Exchange>>,
    access_log: Arc<Vec<AccessLog>>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Some(x) = this.x.as_mut()
        {
            x.bytes_sent += data.len() as u64;
        }
        if let Poll::Ready(Some(Err(err))) = &polled
            && let Some(x) = this.x.as_ref()
        {
            x.log(
                Level::Error,
                format!("{err} while sending to client{}", x.context(None)),
            );
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        let Some(x) = self.x.take() else { return };
        x.trace.emit(Some(&x.id), || Hop::ResponseSent {
            status: x.status,
            bytes: x.bytes_sent,
            total_us: x.started.elapsed().as_micros() as u64,
            headers: crate::trace::headers_of(&x.response_headers),
        });
        for log in self.access_log.iter() {
            log.write(&*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Req;
    impl VarSource for Req {
        fn write_var(&self, var: &Var, out: &mut String) {
            match var {
                Var::RemoteAddr => out.push_str("127.0.0.1"),
                Var::TimeLocal => out.push_str("24/Nov/2026:10:00:00 +0000"),
                Var::Request => out.push_str("GET /a\"b HTTP/1.1"),
                Var::Status => out.push_str("200"),
                Var::BodyBytesSent => out.push('5'),
                Var::Http(name) if name == "user-agent" => out.push_str("curl/8"),
                _ => {}
            }
        }
    }

    #[test]
    fn combined_lines_look_like_nginx_s() {
        let format = LogFormat::combined();
        let escaping = Escaping {
            inner: &Req,
            json: false,
        };
        let mut line = String::new();
        format.template.render_into(&escaping, &mut line);
        assert_eq!(
            line,
            "127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] \"GET /a\\x22b HTTP/1.1\" 200 5 \"-\" \"curl/8\""
        );
    }
}
