//! The worker protocol: how the arbiter and a Python worker talk over the worker's stdin
//! and stdout.
//!
//! Every message is a frame: one byte of kind, four bytes of payload length (little
//! endian), the payload. The frame kinds, and the worker's side, are described at the top
//! of `assets/wsgi_worker.py`. The format is lean on purpose: the environ travels as one
//! latin-1 blob (`key\0value\0...`) that Python splits with a single call, a small request
//! body rides inside the request frame, and both sides batch frames into one write, so a
//! plain request costs one write and one read in each direction.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Arbiter → worker: a request (environ and maybe its body).
pub const REQUEST: u8 = b'R';
/// Arbiter → worker: a piece of a streamed request body.
pub const BODY: u8 = b'b';
/// Arbiter → worker: the streamed request body is over.
pub const BODY_END: u8 = b'e';
/// Worker → arbiter: the application is imported, the worker is ready.
pub const BOOTED: u8 = b'B';
/// Worker → arbiter: the response head (status and headers).
pub const HEAD: u8 = b'H';
/// Worker → arbiter: a piece of the response body.
pub const DATA: u8 = b'D';
/// Worker → arbiter: the application failed (JSON: kind, message, traceback).
pub const ERROR: u8 = b'X';
/// Worker → arbiter: the response is over.
pub const END: u8 = b'E';

/// How the request body reaches the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BodyMode {
    /// No body, or all of it inside the request frame.
    Inline = 1,
    /// `b` frames follow, then `e`.
    Streamed = 2,
}

/// Frame header size: kind (1) + length (4).
pub const FRAME_HEADER: usize = 5;

/// Append one frame to `out`.
pub fn push_frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    out.reserve(FRAME_HEADER + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The request frame: body mode, environ blob, inline body.
pub fn request_frame(environ: &[u8], mode: BodyMode, inline_body: &[u8]) -> Vec<u8> {
    let len = 1 + 4 + environ.len() + inline_body.len();
    let mut out = Vec::with_capacity(FRAME_HEADER + len);
    out.push(REQUEST);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(mode as u8);
    out.extend_from_slice(&(environ.len() as u32).to_le_bytes());
    out.extend_from_slice(environ);
    out.extend_from_slice(inline_body);
    out
}

/// Reads frames from a worker's stdout with a large buffer.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
}

/// The worker closed its stdout (it exited or crashed).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the worker closed its end of the pipe")]
    Closed,
    #[error("reading from the worker: {0}")]
    Io(#[from] std::io::Error),
}

/// Read buffer growth. Modest on purpose: a buffer is only reused once the responses
/// sliced from it are gone, and large allocations are mapped and unmapped by the allocator.
const READ_CHUNK: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// Is a complete frame waiting in the buffer?
    pub fn has_buffered_frame(&self) -> bool {
        self.buf.len() >= FRAME_HEADER
            && self.buf.len()
                >= FRAME_HEADER
                    + u32::from_le_bytes(self.buf[1..5].try_into().expect("4 bytes")) as usize
    }

    /// A complete frame already in the buffer, without reading.
    pub fn buffered_frame(&mut self) -> Option<(u8, Bytes)> {
        if self.buf.len() < FRAME_HEADER {
            return None;
        }
        let len = u32::from_le_bytes(self.buf[1..5].try_into().expect("4 bytes")) as usize;
        if self.buf.len() < FRAME_HEADER + len {
            return None;
        }
        let kind = self.buf[0];
        self.buf.advance(FRAME_HEADER);
        Some((kind, self.buf.split_to(len).freeze()))
    }

    /// The next frame, reading as needed.
    pub async fn next_frame(&mut self) -> Result<(u8, Bytes), ReadError> {
        loop {
            if let Some(frame) = self.buffered_frame() {
                return Ok(frame);
            }
            // Room for the rest of a large frame at once, else for a good read.
            let wanted = if self.buf.len() >= FRAME_HEADER {
                let len = u32::from_le_bytes(self.buf[1..5].try_into().expect("4 bytes"));
                (FRAME_HEADER + len as usize).saturating_sub(self.buf.len())
            } else {
                0
            };
            if self.buf.capacity() - self.buf.len() < wanted.max(READ_CHUNK / 8) {
                self.buf.reserve(wanted.max(READ_CHUNK));
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }
}

/// The response head from an `H` frame: status line and header pairs, latin-1 bytes.
pub struct Head {
    pub status: Bytes,
    pub headers: Vec<(Bytes, Bytes)>,
}

impl Head {
    pub fn parse(payload: Bytes) -> Head {
        let mut pieces = Vec::new();
        let mut start = 0;
        for (i, _) in payload.iter().enumerate().filter(|&(_, &b)| b == 0) {
            pieces.push(payload.slice(start..i));
            start = i + 1;
        }
        pieces.push(payload.slice(start..));
        let mut parts = pieces.into_iter();
        let status = parts.next().unwrap_or_default();
        let mut headers = Vec::new();
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            headers.push((name, value));
        }
        Head { status, headers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_split_across_reads_come_out_whole() {
        let mut wire = Vec::new();
        push_frame(&mut wire, HEAD, b"200 OK\0Content-Type\0text/plain");
        push_frame(&mut wire, DATA, b"hello");
        push_frame(&mut wire, END, b"");
        // A reader that hands out 3 bytes at a time.
        let (mut tx, rx) = tokio::io::duplex(3);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            tx.write_all(&wire).await.unwrap();
        });
        let mut reader = FrameReader::new(rx);
        let (kind, head) = reader.next_frame().await.unwrap();
        assert_eq!(kind, HEAD);
        let head = Head::parse(head);
        assert_eq!(&head.status[..], b"200 OK");
        assert_eq!(head.headers.len(), 1);
        assert_eq!(&head.headers[0].0[..], b"Content-Type");
        assert_eq!(&head.headers[0].1[..], b"text/plain");
        assert_eq!(
            reader.next_frame().await.unwrap(),
            (DATA, Bytes::from("hello"))
        );
        assert_eq!(reader.next_frame().await.unwrap(), (END, Bytes::new()));
        assert!(matches!(reader.next_frame().await, Err(ReadError::Closed)));
    }

    #[test]
    fn request_frame_layout() {
        let frame = request_frame(b"A\0b", BodyMode::Inline, b"xy");
        assert_eq!(frame[0], REQUEST);
        assert_eq!(u32::from_le_bytes(frame[1..5].try_into().unwrap()), 10);
        assert_eq!(frame[5], 1);
        assert_eq!(u32::from_le_bytes(frame[6..10].try_into().unwrap()), 3);
        assert_eq!(&frame[10..], b"A\0bxy");
    }
}
