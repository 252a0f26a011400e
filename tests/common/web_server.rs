//! `wsgi-tutor web-server` for the tests: start the real binary on a free loopback port
//! (the config says `listen 127.0.0.1:0`; the port is read from the listening line), talk
//! raw HTTP/1.1 to it, read its error log and its trace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{Conn, Response};
use super::process::{self, BIN, Lines};

/// A running `wsgi-tutor web-server`.
pub struct Server {
    pub child: Child,
    pub pid: u32,
    pub port: u16,
    pub stderr: Lines,
    pub stdout: Lines,
    pub stdin: Option<ChildStdin>,
    pub conf: PathBuf,
}

/// Write `conf` as `dir/nginx.conf`.
pub fn write_conf(dir: &Path, conf: &str) -> PathBuf {
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

impl Server {
    /// Start with `conf` written to `dir/nginx.conf`, with `--trace-json`.
    pub fn start(dir: &Path, conf: &str) -> Server {
        let path = write_conf(dir, conf);
        Server::start_with(&path, &["--trace-json"])
    }

    /// Start with this config file and extra arguments; waits for the listening line.
    pub fn start_with(conf: &Path, extra: &[&str]) -> Server {
        Self::try_start(conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(conf: &Path, extra: &[&str]) -> Result<Server, String> {
        Self::try_start_in(None, None, conf, extra)
    }

    /// Start from another working directory.
    pub fn start_from(cwd: &Path, conf: &Path, extra: &[&str]) -> Server {
        Self::try_start_in(Some(cwd), None, conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start a server whose error log goes to a file (where the listening line is read).
    pub fn start_logging_to(error_log: &Path, conf: &Path, extra: &[&str]) -> Server {
        Self::try_start_in(None, Some(error_log), conf, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start_in(
        cwd: Option<&Path>,
        error_log: Option<&Path>,
        conf: &Path,
        extra: &[&str],
    ) -> Result<Server, String> {
        let mut command = Command::new(BIN);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .arg("web-server")
            .arg("-c")
            .arg(conf)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsgi-tutor web-server");
        let stderr = Lines::from_pipe(child.stderr.take().unwrap());
        let stdout = Lines::from_pipe(child.stdout.take().unwrap());
        let stdin = child.stdin.take();
        let pid = child.id();
        let parse_port = |l: &str| {
            l.split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
        };
        let mut port = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while port.is_none() && Instant::now() < deadline {
            let text = match error_log {
                Some(file) => std::fs::read_to_string(file).unwrap_or_default(),
                None => stderr.text(),
            };
            port = text.lines().find_map(parse_port);
            if port.is_none() && (text.contains("[emerg]") || !matches!(child.try_wait(), Ok(None)))
            {
                break;
            }
            if port.is_none() {
                thread::sleep(Duration::from_millis(20));
            }
        }
        let mut server = Server {
            child,
            pid,
            port: 0,
            stderr,
            stdout,
            stdin,
            conf: conf.to_path_buf(),
        };
        if let Some(port) = port {
            server.port = port;
            Ok(server)
        } else {
            thread::sleep(Duration::from_millis(200));
            Err(format!(
                "web server did not report a listening port; stderr:\n{}",
                server.stderr.text()
            ))
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn connect(&self) -> Conn {
        Conn::open(self.port)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn head(&self, path: &str) -> Response {
        self.request("HEAD", path, &[], b"")
    }

    /// One request on a fresh connection, with `Host: localhost` and `Connection: close`
    /// unless the given headers say otherwise.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut conn = self.connect();
        conn.send_request(method, path, headers, body);
        conn.read_response(method == "HEAD")
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Send exact bytes on a fresh connection and read one response.
    pub fn raw(&self, bytes: &[u8]) -> Result<Response, String> {
        let mut conn = self.connect();
        conn.send(bytes);
        conn.read_response(bytes.starts_with(b"HEAD "))
    }

    /// The JSON trace events written so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .all()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }

    /// Trace events of one request, in order.
    pub fn events_of(&self, request_id: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["request_id"] == request_id)
            .collect()
    }

    /// Wait until the trace stream has an event matching `pred`; that event. Panics with
    /// the trace so far when the timeout passes first.
    pub fn wait_event(
        &self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let line = self.stdout.wait_for(timeout, |l| {
            serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| pred(&v))
        });
        serde_json::from_str(&line).unwrap()
    }

    pub fn signal(&self, sig: libc::c_int) {
        process::signal(self.pid, sig);
    }

    pub fn control(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin piped");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Wait for the server to exit by itself; `None` when the timeout passed first.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        process::wait_exit(&mut self.child, timeout)
    }

    /// (VmHWM, VmRSS) in KiB from /proc.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Run `wsgi-tutor web-server -c CONF -t`: (exit ok, stderr text).
pub fn test_config(conf: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("web-server")
        .arg("-c")
        .arg(conf)
        .arg("-t")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text)
}
