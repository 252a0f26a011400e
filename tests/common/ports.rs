//! Loopback ports: a free one, and whether something listens on one.

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something accepts connections on this loopback port.
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// Wait until none of `ports` is listening; the ones still open when `within` ran out.
pub fn wait_closed(ports: &[u16], within: Duration) -> Vec<u16> {
    let end = Instant::now() + within;
    loop {
        let open: Vec<u16> = ports.iter().copied().filter(|p| listening(*p)).collect();
        if open.is_empty() || Instant::now() > end {
            return open;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
