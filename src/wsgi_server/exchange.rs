//! One request's exchange with a worker: the request frame (and the streamed body) go in,
//! the response frames come out and become the HTTP response.
//!
//! The exchange runs in its own task, not in the connection's: if the client hangs up
//! mid-request, the worker must still be read to the end of its response, so that it can
//! serve the next request cleanly. Two halves run side by side:
//!
//! - the **writer** sends the request frame, then the request body as it arrives from the
//!   client (`b` frames, then `e`), and stops early once the response is over;
//! - the **reader** turns `H`/`D`/`X`/`E` frames into the response. If the whole response
//!   is already in the read buffer when the head arrives (an app that returned a list),
//!   it goes out in one piece with a Content-Length; otherwise the head goes out and the
//!   chunks follow as the worker sends them (a generator).
//!
//! `--timeout` covers the whole exchange. When it runs out the worker is killed (gunicorn's
//! `WORKER TIMEOUT`) and the client gets 504, or a cut connection if the headers were out.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc, oneshot};

use super::body::{Chunk, WsgiBody};
use super::log::{self, Level};
use super::pool::Pool;
use super::protocol::{self, Head, ReadError};
use super::worker::{AppErrorReport, Worker};
use crate::trace::{Hop, TraceSink};

/// What the logs and the trace need to know about the request being served.
pub struct Trip {
    pub request_id: String,
    pub started: Instant,
    pub queue_us: u64,
    pub method: String,
    pub path: String,
    pub remote: String,
    pub request_line: String,
    pub referer: String,
    pub user_agent: String,
    pub sink: TraceSink,
}

impl Trip {
    /// The request is answered: access log line, `finished` and `response_sent` events.
    pub fn finish(&self, status: u16, bytes: u64, app_us: u64, headers: Vec<(String, String)>) {
        log::access(&log::Access {
            remote: &self.remote,
            request_line: &self.request_line,
            status,
            bytes: Some(bytes),
            referer: &self.referer,
            user_agent: &self.user_agent,
        });
        let total_us = self.started.elapsed().as_micros() as u64;
        let queue_us = self.queue_us;
        self.sink.emit(Some(&self.request_id), || Hop::Finished {
            status,
            queue_us,
            app_us,
            total_us,
        });
        self.sink
            .emit(Some(&self.request_id), || Hop::ResponseSent {
                status,
                bytes,
                total_us,
                headers,
            });
    }

    /// Log an application error the gunicorn way and put it in the trace.
    pub fn app_error(&self, worker_pid: u32, report: &AppErrorReport) {
        let text = match (report.kind.as_str(), &report.traceback) {
            ("exception", Some(tb)) => {
                format!("Error handling request {}\n{}", self.path, tb.trim_end())
            }
            ("spec", _) => format!(
                "WSGI spec violation in {} {}: {}",
                self.method, self.path, report.message
            ),
            (_, Some(tb)) => format!("{}\n{}", report.message, tb.trim_end()),
            (_, None) => report.message.clone(),
        };
        log::error_log(worker_pid, Level::Error, &text);
        self.sink.emit(Some(&self.request_id), || Hop::AppError {
            kind: report.kind.clone(),
            message: report.message.clone(),
            traceback: report.traceback.clone(),
        });
    }
}

/// The request as it goes to the worker.
pub struct Outgoing {
    pub frame: Vec<u8>,
    /// The body still to stream, when it was too large to ride in the frame.
    pub body: Option<Incoming>,
    pub head_request: bool,
}

/// Run one exchange on `worker`; the response (head) goes to `respond`.
pub async fn run(
    pool: std::sync::Arc<Pool>,
    mut worker: Worker,
    request: Outgoing,
    trip: Trip,
    respond: oneshot::Sender<Response<WsgiBody>>,
) {
    let dispatched = Instant::now();
    if trip.sink.enabled() {
        *worker.request_id.lock().expect("request id lock") = Some(trip.request_id.clone());
    }
    let mut responder = Responder {
        respond: Some(respond),
        stream: None,
        status: 0,
        bytes: 0,
        chunks: 0,
        headers: Vec::new(),
        error: None,
    };
    let outcome = tokio::time::timeout(
        pool.timeout(),
        talk(&mut worker, request, &mut responder, &trip),
    )
    .await;
    let app_us = dispatched.elapsed().as_micros() as u64;
    let pid = worker.pid;
    match outcome {
        Ok(Ok(())) => {
            pool.checkin(worker);
        }
        Ok(Err(_)) => {
            let message = format!(
                "the worker (pid {pid}) died while handling this request; a new worker is starting"
            );
            trip.sink.emit(Some(&trip.request_id), || Hop::AppError {
                kind: "crash".into(),
                message: message.clone(),
                traceback: None,
            });
            pool.lost(worker, None);
            responder.fail(StatusCode::INTERNAL_SERVER_ERROR, &message);
        }
        Err(_) => {
            log::error_log(
                std::process::id(),
                Level::Critical,
                &format!("WORKER TIMEOUT (pid:{pid})"),
            );
            let message = format!(
                "the worker (pid {pid}) was killed: it took longer than --timeout {} s on this request",
                pool.timeout().as_secs()
            );
            trip.sink.emit(Some(&trip.request_id), || Hop::AppError {
                kind: "timeout".into(),
                message: message.clone(),
                traceback: None,
            });
            pool.lost(worker, Some(crate::trace::ExitReason::Timeout));
            responder.fail(StatusCode::GATEWAY_TIMEOUT, &message);
        }
    }
    let (chunks, bytes) = (responder.chunks, responder.bytes);
    trip.sink
        .emit(Some(&trip.request_id), || Hop::BodySent { chunks, bytes });
    trip.finish(
        responder.status,
        responder.bytes,
        app_us,
        std::mem::take(&mut responder.headers),
    );
}

async fn talk(
    worker: &mut Worker,
    request: Outgoing,
    responder: &mut Responder,
    trip: &Trip,
) -> Result<(), ReadError> {
    let response_over = Notify::new();
    let stdin = &mut worker.stdin;
    let reader = &mut worker.reader;
    let pid = worker.pid;
    let head_request = request.head_request;

    let write = async {
        stdin.write_all(&request.frame).await?;
        let Some(mut body) = request.body else {
            return Ok::<_, std::io::Error>(());
        };
        let mut header = [0u8; protocol::FRAME_HEADER];
        loop {
            let frame = tokio::select! {
                biased;
                () = response_over.notified() => break,
                frame = body.frame() => frame,
            };
            let data = match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue, // trailers: not part of the environ
                },
                _ => break, // the end, or the client went away: the app sees the body end
            };
            if data.is_empty() {
                continue;
            }
            header[0] = protocol::BODY;
            header[1..].copy_from_slice(&(data.len() as u32).to_le_bytes());
            stdin.write_all(&header).await?;
            stdin.write_all(&data).await?;
        }
        stdin.write_all(&[protocol::BODY_END, 0, 0, 0, 0]).await?;
        Ok(())
    };

    let read = async {
        let mut pending: Vec<Bytes> = Vec::new();
        let mut head: Option<Response<()>> = None;
        loop {
            let (kind, payload) = reader.next_frame().await?;
            match kind {
                protocol::HEAD => match responder.build_head(payload, trip) {
                    Ok(response) => head = Some(response),
                    Err(report) => {
                        trip.app_error(pid, &report);
                        responder.error = Some(report);
                    }
                },
                protocol::DATA => {
                    responder.chunks += 1;
                    responder.bytes += payload.len() as u64;
                    match &responder.stream {
                        Some(tx) => {
                            if tx.send(Ok(payload)).await.is_err() {
                                // The client is gone; keep reading to the end anyway.
                                responder.stream = None;
                                responder.respond = None;
                            }
                        }
                        None => pending.push(payload),
                    }
                }
                protocol::ERROR => {
                    let report = AppErrorReport::parse(&payload);
                    trip.app_error(pid, &report);
                    responder.error = Some(report);
                }
                protocol::END => {
                    response_over.notify_one();
                    break;
                }
                _ => {}
            }
            // The head is here, but the rest is not yet: the app is streaming. Send the
            // head and what we have, and pass chunks on as they come.
            if responder.respond.is_some()
                && responder.error.is_none()
                && !reader.has_buffered_frame()
                && let Some(head) = head.take()
            {
                responder.start_stream(head, std::mem::take(&mut pending));
            }
        }
        responder.end(head, pending, head_request);
        Ok::<_, ReadError>(())
    };

    let (written, read) = tokio::join!(write, read);
    read?;
    // A worker that stopped reading its stdin while still answering is in trouble.
    written.map_err(ReadError::Io)
}

/// Builds the HTTP response from the worker's frames.
struct Responder {
    respond: Option<oneshot::Sender<Response<WsgiBody>>>,
    stream: Option<mpsc::Sender<Chunk>>,
    status: u16,
    bytes: u64,
    chunks: u64,
    headers: Vec<(String, String)>,
    error: Option<AppErrorReport>,
}

impl Responder {
    /// The response head from an `H` frame; invalid HTTP is a spec error.
    fn build_head(&mut self, payload: Bytes, trip: &Trip) -> Result<Response<()>, AppErrorReport> {
        let head = Head::parse(payload);
        let status_line = super::environ::latin1(&head.status);
        // Text copies of the headers are for the trace only; skip them when it is off.
        let headers: Vec<(String, String)> = if trip.sink.enabled() {
            head.headers
                .iter()
                .map(|(n, v)| (super::environ::latin1(n), super::environ::latin1(v)))
                .collect()
        } else {
            Vec::new()
        };
        trip.sink
            .emit(Some(&trip.request_id), || Hop::StartResponse {
                status: status_line.clone(),
                headers: headers.clone(),
            });
        let spec = |message: String| AppErrorReport {
            kind: "spec".into(),
            message,
            traceback: None,
        };
        let code = status_line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|c| c.as_u16() >= 100)
            .ok_or_else(|| {
                spec(format!(
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
        let map = response.headers_mut();
        map.reserve(head.headers.len() + 1);
        for (name, value) in &head.headers {
            let name = HeaderName::from_bytes(name).map_err(|_| {
                spec(format!(
                    "start_response: {:?} is not a valid HTTP header name",
                    super::environ::latin1(name)
                ))
            })?;
            let value = HeaderValue::from_bytes(value).map_err(|_| {
                spec(format!(
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
        self.status = code.as_u16();
        self.headers = headers;
        Ok(response)
    }

    fn start_stream(&mut self, head: Response<()>, first: Vec<Bytes>) {
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
    fn end(&mut self, head: Option<Response<()>>, pending: Vec<Bytes>, head_request: bool) {
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
    fn fail(&mut self, status: StatusCode, message: &str) {
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
