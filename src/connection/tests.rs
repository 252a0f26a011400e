use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::*;

/// A server answering each request with its method, path and body length, and a
/// channel that reports how each connection ended.
async fn start(policy: Policy) -> (std::net::SocketAddr, tokio::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        let shutdown = CancellationToken::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (tx, shutdown) = (tx.clone(), shutdown.clone());
            tokio::spawn(async move {
                let service = service_fn(|request: Request<Incoming>| async move {
                    let line = format!("{} {}", request.method(), request.uri());
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                        "{line} {}",
                        body.len()
                    )))))
                });
                let ended = serve(stream, &http1::Builder::new(), policy, service, &shutdown).await;
                let _ = tx.send(format!("{ended:?}")).await;
            });
        }
    });
    (addr, rx)
}

const POLICY: Policy = Policy {
    first_byte: Duration::from_secs(5),
    keepalive: Duration::from_secs(5),
    max_request_line: Some(64),
};

/// Read until `n` responses' bodies (fixed length here) have arrived.
async fn read_responses(stream: &mut TcpStream, n: usize) -> String {
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while text.matches("HTTP/1.1 ").count() < n || !complete(&text, n) {
        let got = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("responses in time")
            .unwrap();
        assert!(got > 0, "closed early after {text:?}");
        text.push_str(std::str::from_utf8(&buf[..got]).unwrap());
    }
    text
}

fn complete(text: &str, n: usize) -> bool {
    text.split("HTTP/1.1 ").skip(1).take(n).count() == n
        && text.split("HTTP/1.1 ").skip(1).all(|r| {
            let (head, body) = r.split_once("\r\n\r\n").unwrap_or((r, ""));
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(usize::MAX, |v| v.parse().unwrap());
            body.len() >= len
        })
}

#[tokio::test]
async fn one_connection_carries_requests_one_after_another() {
    let (addr, _) = start(POLICY).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for path in ["/a", "/b", "/c"] {
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let text = read_responses(&mut stream, 1).await;
        assert!(text.ends_with(&format!("GET {path} 0")), "{text}");
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_across_parking() {
    let (addr, _) = start(POLICY).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: x\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
    let text = read_responses(&mut stream, 4).await;
    let bodies: Vec<&str> = text
        .split("HTTP/1.1 ")
        .skip(1)
        .map(|r| r.split_once("\r\n\r\n").unwrap().1)
        .collect();
    assert_eq!(bodies, ["GET /1 0", "POST /2 3", "GET /3 0", "GET /4 0"]);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_keepalive_wait() {
    let policy = Policy {
        keepalive: Duration::from_millis(200),
        ..POLICY
    };
    let (addr, mut ended) = start(policy).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_responses(&mut stream, 1).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(0))), "closed by the server: {read:?}");
    assert_eq!(ended.recv().await.unwrap(), "IdleTimeout");
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let (addr, mut ended) = start(POLICY).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut all = String::new();
    stream.read_to_string(&mut all).await.unwrap();
    assert!(all.ends_with("GET / 0"), "{all}");
    assert_eq!(ended.recv().await.unwrap(), "Closed");
}

#[tokio::test]
async fn a_request_line_over_the_limit_comes_back_to_the_caller() {
    let (addr, mut ended) = start(POLICY).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /{} HTTP/1.1\r\n", "a".repeat(100)).as_bytes())
        .await
        .unwrap();
    assert!(ended.recv().await.unwrap().starts_with("LineTooLong"));
}

#[tokio::test]
async fn http_1_2_is_served_as_1_1() {
    let (addr, _) = start(POLICY).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /v HTTP/1.2\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let text = read_responses(&mut stream, 1).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
