//! The binary under test, lines read from a child's pipes, and waiting for things to happen.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The `wsgi-tutor` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_wsgi-tutor");

/// A line predicate: the line contains `needle`.
pub fn contains(needle: &str) -> impl Fn(&str) -> bool + '_ {
    move |line| line.contains(needle)
}

/// Lines collected from a child's pipe (invalid UTF-8 replaced, line ends removed), with a
/// condition variable to wait on.
#[derive(Clone, Default)]
pub struct Lines {
    inner: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Lines {
    /// Lines read from `pipe` by a thread of their own, until it closes.
    pub fn from_pipe(pipe: impl Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let collected = lines.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\r', '\n'])
                            .to_owned();
                        let (lock, cv) = &*collected.inner;
                        lock.lock().unwrap().push(line);
                        cv.notify_all();
                    }
                }
            }
        });
        lines
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.all().join("\n")
    }

    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.inner
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| pred(l))
            .count()
    }

    /// Wait until a line satisfies `pred` (see [`contains`]); that line. Panics with every
    /// line so far when the timeout passes first.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        self.wait_count(timeout, 1, pred).remove(0)
    }

    /// Wait until `count` lines satisfy `pred`; those lines. Panics with every line
    /// so far when the timeout passes first.
    pub fn wait_count(
        &self,
        timeout: Duration,
        count: usize,
        pred: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.inner;
        let mut lines = lock.lock().unwrap();
        loop {
            let found: Vec<String> = lines.iter().filter(|l| pred(l)).cloned().collect();
            if found.len() >= count {
                return found;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out after {timeout:?} waiting for {count} matching line(s); the lines so far:\n{}",
                lines.join("\n")
            );
            lines = cv.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }
}

/// Wait until `f` is true or the timeout passes; whether it became true.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// Send `signal` to a process this test started.
pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Wait for a child to exit by itself; its status, or `None` when the timeout passed.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed (and reaped) when dropped, whatever the test did.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}
