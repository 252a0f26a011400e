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
//!
//! `exchange/responder.rs` is the reader's other half, frames → HTTP response;
//! `exchange/trip.rs` is what gets logged and traced when the request is answered.

mod responder;
mod trip;

pub use responder::plain;
pub use trip::Trip;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{Notify, oneshot};

use super::body::WsgiBody;
use super::log::{self, Level};
use super::pool::Pool;
use super::protocol::{self, FrameReader, ReadError};
use super::worker::{AppErrorReport, Worker};
use crate::trace::{ExitReason, Hop};
use responder::Responder;

/// The request as it goes to the worker.
pub struct Outgoing {
    pub frame: Vec<u8>,
    /// The body still to stream, when it was too large to ride in the frame.
    pub body: Option<Incoming>,
    pub head_request: bool,
}

/// Run one exchange on `worker`; the response (head) goes to `respond`.
pub async fn run(
    pool: Arc<Pool>,
    mut worker: Worker,
    request: Outgoing,
    trip: Trip,
    respond: oneshot::Sender<Response<WsgiBody>>,
) {
    let dispatched = Instant::now();
    if trip.sink.enabled() {
        *worker.request_id.lock().expect("request id lock") = Some(trip.request_id.clone());
    }
    let mut responder = Responder::new(respond);
    let outcome = tokio::time::timeout(
        pool.timeout(),
        talk(&mut worker, request, &mut responder, &trip),
    )
    .await;
    let app_us = dispatched.elapsed().as_micros() as u64;
    match outcome {
        Ok(Ok(())) => pool.checkin(worker),
        Ok(Err(_)) => crashed(&pool, worker, &mut responder, &trip),
        Err(_) => timed_out(&pool, worker, &mut responder, &trip),
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

/// The pipes broke mid-request: the worker died.
fn crashed(pool: &Pool, worker: Worker, responder: &mut Responder, trip: &Trip) {
    let pid = worker.pid;
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

/// `--timeout` ran out: gunicorn's `WORKER TIMEOUT`, and the worker is killed.
fn timed_out(pool: &Pool, worker: Worker, responder: &mut Responder, trip: &Trip) {
    let pid = worker.pid;
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
    pool.lost(worker, Some(ExitReason::Timeout));
    responder.fail(StatusCode::GATEWAY_TIMEOUT, &message);
}

/// Both halves side by side; the reader tells the writer when the response is over.
async fn talk(
    worker: &mut Worker,
    request: Outgoing,
    responder: &mut Responder,
    trip: &Trip,
) -> Result<(), ReadError> {
    let response_over = Notify::new();
    let write = send_request(
        &mut worker.stdin,
        &request.frame,
        request.body,
        &response_over,
    );
    let read = read_response(
        &mut worker.reader,
        worker.pid,
        request.head_request,
        responder,
        trip,
        &response_over,
    );
    let (written, read) = tokio::join!(write, read);
    read?;
    // A worker that stopped reading its stdin while still answering is in trouble.
    written.map_err(ReadError::Io)
}

/// The writer: the request frame, then the body as the client sends it.
async fn send_request(
    stdin: &mut ChildStdin,
    frame: &[u8],
    body: Option<Incoming>,
    response_over: &Notify,
) -> std::io::Result<()> {
    stdin.write_all(frame).await?;
    let Some(mut body) = body else {
        return Ok(());
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
}

/// The reader: response frames until `E`, then the response is finished.
async fn read_response(
    reader: &mut FrameReader<ChildStdout>,
    pid: u32,
    head_request: bool,
    responder: &mut Responder,
    trip: &Trip,
    response_over: &Notify,
) -> Result<(), ReadError> {
    let mut pending: Vec<Bytes> = Vec::new();
    let mut head: Option<Response<()>> = None;
    loop {
        let (kind, payload) = reader.next_frame().await?;
        match kind {
            protocol::HEAD => match responder.build_head(payload, trip) {
                Ok(response) => head = Some(response),
                Err(report) => responder.app_failed(pid, report, trip),
            },
            protocol::DATA => responder.data(payload, &mut pending).await,
            protocol::ERROR => responder.app_failed(pid, AppErrorReport::parse(&payload), trip),
            protocol::END => {
                response_over.notify_one();
                break;
            }
            _ => {}
        }
        // The head is here, but the rest is not yet: the app is streaming. Send the
        // head and what we have, and pass chunks on as they come.
        if responder.may_stream()
            && !reader.has_buffered_frame()
            && let Some(head) = head.take()
        {
            responder.start_stream(head, std::mem::take(&mut pending));
        }
    }
    responder.end(head, pending, head_request);
    Ok(())
}
