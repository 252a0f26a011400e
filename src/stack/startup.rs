//! What `serve` hears from the servers: their stderr relayed to ours line by line, and the
//! addresses they say they listen on, so the URLs it prints are the ones that answer.
//!
//! The servers say it in their own log formats, the ones people know from nginx and
//! gunicorn: `... [notice] 1234#0: listening on http://127.0.0.1:8080/ (listen ...)` and
//! `... [INFO] Listening at: http://127.0.0.1:8000 (1234)`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::log_sink::{self, LogSink};
use crate::trace::Process;

/// A server said it listens on this address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    pub process: Process,
    pub addr: SocketAddr,
}

/// The address in a server's "listening" log line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line
        .split_once("listening on http://")
        .or_else(|| line.split_once("Listening at: http://"))?;
    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Our stderr, shared by the servers' relayed lines and our own, in the order they happen.
/// A slow terminal drops lines (and says how many) rather than hold up the servers or us.
#[derive(Clone)]
pub struct Relay {
    sink: LogSink,
}

impl Relay {
    pub fn start() -> std::io::Result<Relay> {
        let sink = LogSink::spawn(
            std::io::stderr(),
            log_sink::Options {
                thread_name: "serve-stderr",
                capacity: 4096,
                linger: Duration::ZERO,
                dropped_line: Box::new(|n| {
                    format!("wsgi-tutor: {n} log line(s) dropped: the terminal was too slow")
                }),
            },
        )?;
        Ok(Relay { sink })
    }

    /// One line of ours, `wsgi-tutor: ` first.
    pub fn say(&self, text: &str) {
        self.sink.write_line(format!("wsgi-tutor: {text}"));
    }

    /// Relay a server's stderr until it closes, reporting its listening addresses.
    pub fn follow(
        &self,
        process: Process,
        stderr: ChildStderr,
        heard: UnboundedSender<Heard>,
    ) -> JoinHandle<()> {
        let sink = self.sink.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned();
                let addr = listening_addr(&line);
                sink.write_line(line);
                if let Some(addr) = addr {
                    let _ = heard.send(Heard { process, addr });
                }
            }
        })
    }

    /// Wait until everything said so far is on the terminal (before exiting).
    pub fn flush(&self) {
        self.sink.flush();
    }
}

/// How long the web server may go on binding after its first listening line, when none is
/// on the port we planned (a configuration that listens elsewhere).
const SETTLE: Duration = Duration::from_secs(1);

/// The listening addresses heard so far, and whether both servers are up.
#[derive(Debug, Default)]
pub struct Startup {
    /// The port the web server was told to use for the configuration's 8080.
    web_port: u16,
    pub web: Vec<SocketAddr>,
    pub wsgi: Option<SocketAddr>,
    web_first: Option<Instant>,
}

impl Startup {
    pub fn new(web_port: u16) -> Startup {
        Startup {
            web_port,
            ..Startup::default()
        }
    }

    pub fn heard(&mut self, heard: Heard, now: Instant) {
        match heard.process {
            Process::WebServer => {
                self.web_first.get_or_insert(now);
                if !self.web.contains(&heard.addr) {
                    self.web.push(heard.addr);
                }
            }
            Process::WsgiServer => self.wsgi = Some(heard.addr),
        }
    }

    /// Both listen: the WSGI server on its port, the web server on the planned port (or, for
    /// a configuration without it, on whatever it bound within [`SETTLE`]).
    pub fn ready(&self, now: Instant) -> bool {
        self.wsgi.is_some() && (self.web_on_planned().is_some() || self.settled(now))
    }

    /// When to look again if the web server never names the planned port.
    pub fn settle_at(&self) -> Option<Instant> {
        self.web_first.map(|t| t + SETTLE)
    }

    fn settled(&self, now: Instant) -> bool {
        self.settle_at().is_some_and(|t| now >= t)
    }

    fn web_on_planned(&self) -> Option<SocketAddr> {
        self.web.iter().copied().find(|a| a.port() == self.web_port)
    }

    /// The address to open in a browser: the planned one, else the first the web server bound.
    pub fn front_door(&self) -> Option<SocketAddr> {
        self.web_on_planned().or_else(|| self.web.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_servers_listening_lines() {
        let web = "2026/12/03 14:06:14 [notice] 23953#0: listening on http://127.0.0.1:46007/ (listen 127.0.0.1:8080)";
        let wsgi = "[2026-12-03 14:06:14 +0000] [23952] [INFO] Listening at: http://127.0.0.1:40259 (23952)";
        let v6 =
            "2026/12/03 14:06:14 [notice] 1#0: listening on http://[::1]:8080/ (listen [::1]:8080)";
        assert_eq!(
            listening_addr(web),
            Some("127.0.0.1:46007".parse().unwrap())
        );
        assert_eq!(
            listening_addr(wsgi),
            Some("127.0.0.1:40259".parse().unwrap())
        );
        assert_eq!(listening_addr(v6), Some("[::1]:8080".parse().unwrap()));
        assert_eq!(listening_addr("GET /listening on http://x HTTP/1.1"), None);
        assert_eq!(listening_addr("bind() to 127.0.0.1:8080 failed"), None);
    }

    #[test]
    fn ready_when_both_listen_on_the_planned_ports() {
        let t0 = Instant::now();
        let mut s = Startup::new(8081);
        let wsgi = Heard {
            process: Process::WsgiServer,
            addr: "127.0.0.1:8000".parse().unwrap(),
        };
        let other = Heard {
            process: Process::WebServer,
            addr: "127.0.0.1:9090".parse().unwrap(),
        };
        let planned = Heard {
            process: Process::WebServer,
            addr: "127.0.0.1:8081".parse().unwrap(),
        };
        s.heard(wsgi, t0);
        assert!(!s.ready(t0));
        s.heard(other, t0);
        assert!(!s.ready(t0), "the planned port may come next");
        s.heard(planned, t0);
        assert!(s.ready(t0));
        assert_eq!(s.front_door(), Some(planned.addr));
    }

    #[test]
    fn a_configuration_elsewhere_is_ready_once_settled() {
        let t0 = Instant::now();
        let mut s = Startup::new(8080);
        s.heard(
            Heard {
                process: Process::WebServer,
                addr: "127.0.0.1:9090".parse().unwrap(),
            },
            t0,
        );
        s.heard(
            Heard {
                process: Process::WsgiServer,
                addr: "127.0.0.1:8000".parse().unwrap(),
            },
            t0,
        );
        assert!(!s.ready(t0));
        assert!(s.ready(t0 + SETTLE));
        assert_eq!(s.front_door(), Some("127.0.0.1:9090".parse().unwrap()));
    }
}
