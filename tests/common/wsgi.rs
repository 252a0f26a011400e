//! `wsgi-tutor wsgi-server` for the tests: start the real binary on a free loopback port,
//! read its log and trace, and kill exactly the process the test started.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use super::http::{Response, request};
use super::process::{self, BIN, Lines, contains};

/// A running `wsgi-tutor wsgi-server`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Its log (stderr).
    pub log: Lines,
    /// Its JSON trace (stdout), with `--trace-json`.
    pub trace: Lines,
    pub stdin: Option<ChildStdin>,
}

impl Server {
    /// Start with `args` (APP last), bound to a free port; wait for it to listen.
    pub fn start(args: &[&str]) -> Server {
        Self::start_in(None, args)
    }

    pub fn start_in(dir: Option<&Path>, args: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("wsgi-server")
            .args(["-b", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("start wsgi-tutor");
        let log = Lines::from_pipe(child.stderr.take().unwrap());
        let trace = Lines::from_pipe(child.stdout.take().unwrap());
        let stdin = child.stdin.take();
        let line = log.wait_for(Duration::from_secs(20), contains("Listening at: http://"));
        let port = line
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            port,
            log,
            trace,
            stdin,
        }
    }

    /// Send a control line (needs `--control-stdin`).
    pub fn control(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.port, "GET", path, &[], b"")
    }

    pub fn signal(&self, signal: libc::c_int) {
        process::signal(self.child.id(), signal);
    }

    /// Wait for the server to exit by itself; its exit code. Panics with the log when the
    /// timeout passes first.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        match process::wait_exit(&mut self.child, timeout) {
            Some(status) => status.code(),
            None => panic!("the server did not exit; log:\n{}", self.log.text()),
        }
    }

    /// The trace events, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.trace
            .all()
            .iter()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad trace line {l:?}: {e}"))
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only the process this test started; its workers die with it (PR_SET_PDEATHSIG)
        // or on the end of their stdin.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write each `(name, source)` into a fresh temporary directory.
pub fn app_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    dir
}

/// The example apps shipped in assets/apps.
pub fn asset_app(name: &str) -> String {
    format!("{}/assets/apps/{name}", env!("CARGO_MANIFEST_DIR"))
}
