//! The worker's response frames → one HTTP response: a head checked against HTTP's rules
//! (a broken one is the app's WSGI spec error, not the server's), then the body in one
//! piece or streamed, or an error page when the app failed.

use bytes::Bytes;
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::{mpsc, oneshot};

use super::Trip;
use crate::trace::Hop;
use crate::wsgi_server::body::{Chunk, WsgiBody};
use crate::wsgi_server::environ::latin1;
use crate::wsgi_server::protocol::Head;
use crate::wsgi_server::worker::AppErrorReport;

/// Builds the HTTP response from the worker's frames.
pub(super) struct Responder {
    respond: Option<oneshot::Sender<Response<WsgiBody>>>,
    stream: Option<mpsc::Sender<Chunk>>,
    pub(super) status: u16,
    pub(super) bytes: u64,
    pub(super) chunks: u64,
    pub(super) headers: Vec<(String, String)>,
    error: Option<AppErrorReport>,
}

impl Responder {
    pub(super) fn new(respond: oneshot::Sender<Response<WsgiBody>>) -> Self {
        Responder {
            respond: Some(respond),
            stream: None,
            status: 0,
            bytes: 0,
            chunks: 0,
            headers: Vec::new(),
            error: None,
        }
    }

    /// The response head from an `H` frame; invalid HTTP is a spec error.
    pub(super) fn build_head(
        &mut self,
        payload: Bytes,
        trip: &Trip,
    ) -> Result<Response<()>, AppErrorReport> {
        let head = Head::parse(payload);
        let status_line = latin1(&head.status);
        // Text copies of the headers are for the trace only; skip them when it is off.
        let headers: Vec<(String, String)> = if trip.sink.enabled() {
            head.headers
                .iter()
                .map(|(n, v)| (latin1(n), latin1(v)))
                .collect()
        } else {
            Vec::new()
        };
        trip.sink
            .emit(Some(&trip.request_id), || Hop::StartResponse {
                status: status_line.clone(),
                headers: headers.clone(),
            });
        let code = status_code(&status_line).ok_or_else(|| {
            spec_error(format!(
                "start_response: {status_line:?} is not a valid HTTP status"
            ))
        })?;
        let mut response = Response::new(());
        *response.status_mut() = code;
        let reason = status_line.get(4..).unwrap_or_default();
        if Some(reason) != code.canonical_reason()
            && let Ok(phrase) = ReasonPhrase::try_from(head.status.slice(4..))
        {
            response.extensions_mut().insert(phrase);
        }
        copy_headers(&head.headers, response.headers_mut())?;
        self.status = code.as_u16();
        self.headers = headers;
        Ok(response)
    }

    /// The app failed (an `X` frame, or a head that is not HTTP): logged and traced now,
    /// answered at the end.
    pub(super) fn app_failed(&mut self, worker_pid: u32, report: AppErrorReport, trip: &Trip) {
        trip.app_error(worker_pid, &report);
        self.error = Some(report);
    }

    /// A `D` frame: on to the client if the head is out, else kept for a one-piece body.
    pub(super) async fn data(&mut self, payload: Bytes, pending: &mut Vec<Bytes>) {
        self.chunks += 1;
        self.bytes += payload.len() as u64;
        match &self.stream {
            Some(tx) => {
                if tx.send(Ok(payload)).await.is_err() {
                    // The client is gone; keep reading to the end anyway.
                    self.stream = None;
                    self.respond = None;
                }
            }
            None => pending.push(payload),
        }
    }

    /// Whether the head may still go out before the end (nothing sent, nothing failed).
    pub(super) fn may_stream(&self) -> bool {
        self.respond.is_some() && self.error.is_none()
    }

    pub(super) fn start_stream(&mut self, head: Response<()>, first: Vec<Bytes>) {
        let Some(respond) = self.respond.take() else {
            return;
        };
        let (tx, rx) = mpsc::channel(16);
        let body = WsgiBody::Stream {
            first: first.into(),
            rest: rx,
        };
        if respond.send(head.map(|()| body)).is_ok() {
            self.stream = Some(tx);
        }
    }

    /// The worker sent `E`: finish the response one way or the other.
    pub(super) fn end(
        &mut self,
        head: Option<Response<()>>,
        pending: Vec<Bytes>,
        head_request: bool,
    ) {
        if let Some(error) = self.error.take() {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            let text = match error.kind.as_str() {
                "spec" => format!(
                    "The application broke a rule of the WSGI specification (PEP 3333):\n{}\n",
                    error.message
                ),
                _ => "The application raised an exception; the traceback is in the WSGI server's log.\n"
                    .to_owned(),
            };
            self.fail(status, text.trim_end());
            return;
        }
        if let Some(tx) = self.stream.take() {
            drop(tx); // the end of a streamed body
            return;
        }
        let Some(respond) = self.respond.take() else {
            return;
        };
        let Some(head) = head else {
            self.status = 500;
            let _ = respond.send(plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the worker sent no response",
            ));
            return;
        };
        let data = match pending.len() {
            0 => Bytes::new(),
            1 => pending.into_iter().next().expect("one chunk"),
            _ => pending.concat().into(),
        };
        if head_request {
            // No body on the wire for HEAD; the head still says how long it would be.
            self.bytes = 0;
        }
        let _ = respond.send(head.map(|()| WsgiBody::full(data)));
    }

    /// The exchange failed: an error page if the head has not gone out, else cut the body.
    pub(super) fn fail(&mut self, status: StatusCode, message: &str) {
        if let Some(tx) = self.stream.take() {
            let _ = tx.try_send(Err(std::io::Error::other(message.to_owned())));
            return;
        }
        if let Some(respond) = self.respond.take() {
            self.status = status.as_u16();
            let response = plain(status, message);
            self.bytes = response.body().known_len();
            self.headers = crate::trace::headers_of(response.headers());
            let _ = respond.send(response);
        }
    }
}

/// `200 OK` → 200; None unless it starts with a real status code.
fn status_code(status_line: &str) -> Option<StatusCode> {
    status_line
        .get(..3)
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .filter(|c| c.as_u16() >= 100)
}

/// The app's headers into the response, refusing what HTTP cannot carry; `Server` is
/// ours unless the app names its own.
fn copy_headers(from: &[(Bytes, Bytes)], map: &mut HeaderMap) -> Result<(), AppErrorReport> {
    map.reserve(from.len() + 1);
    for (name, value) in from {
        let name = HeaderName::from_bytes(name).map_err(|_| {
            spec_error(format!(
                "start_response: {:?} is not a valid HTTP header name",
                latin1(name)
            ))
        })?;
        let value = HeaderValue::from_bytes(value).map_err(|_| {
            spec_error(format!(
                "start_response: the value of {name} is not a valid HTTP header value"
            ))
        })?;
        map.append(name, value);
    }
    if !map.contains_key(hyper::header::SERVER) {
        map.insert(
            hyper::header::SERVER,
            HeaderValue::from_static("wsgi-tutor"),
        );
    }
    Ok(())
}

fn spec_error(message: String) -> AppErrorReport {
    AppErrorReport {
        kind: "spec".into(),
        message,
        traceback: None,
    }
}

/// A short text/plain response made by the WSGI server itself (not by the app).
pub fn plain(status: StatusCode, message: &str) -> Response<WsgiBody> {
    let text = format!(
        "{} {}\n\n{message}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let mut response = Response::new(WsgiBody::full(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        hyper::header::SERVER,
        HeaderValue::from_static("wsgi-tutor"),
    );
    response
}
