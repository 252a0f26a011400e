//! The one policy every server log follows: a request never waits for the disk.
//!
//! Each log destination gets a writer thread fed through a bounded queue. Lines written
//! close together reach the file in one write. When the writer falls behind and the queue
//! is full, new lines are dropped and counted instead of blocking the caller; once the queue
//! drains (and at least every [`REPORT_EVERY`] lines under sustained load) the writer puts
//! one line of the owner's wording in the file saying how many were lost. This is the
//! policy of [`crate::trace`], applied to the web server's and the WSGI server's logs.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Under sustained load the queue never empties; losses are reported at least this often.
pub const REPORT_EVERY: usize = 1024;

/// How the owner wants its sink to behave; `dropped_line` words the loss report.
pub struct Options {
    /// The writer thread's name, for debuggers and `top -H`.
    pub thread_name: &'static str,
    /// Lines that may wait for the writer before new ones are dropped.
    pub capacity: usize,
    /// How long the writer waits after a first line for more to join it in one write.
    /// Zero writes at once.
    pub linger: Duration,
    /// The line (without its newline) that says `n` lines were dropped.
    pub dropped_line: Box<dyn Fn(u64) -> String + Send>,
}

enum Message {
    Line(String),
    /// Everything queued before this is written when the sender hears back.
    Flush(SyncSender<()>),
}

/// A queue of lines to one destination. Clones share the queue and its writer.
#[derive(Clone)]
pub struct LogSink {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl LogSink {
    /// Start the writer thread for `out`. It ends when the last clone is dropped (after
    /// writing what is queued) or when `out` fails.
    pub fn spawn(out: impl Write + Send + 'static, options: Options) -> io::Result<LogSink> {
        let (tx, rx) = sync_channel(options.capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            out: io::BufWriter::with_capacity(64 * 1024, out),
            dropped: dropped.clone(),
            linger: options.linger,
            dropped_line: options.dropped_line,
        };
        std::thread::Builder::new()
            .name(options.thread_name.into())
            .spawn(move || writer.run(rx))?;
        Ok(LogSink { tx, dropped })
    }

    /// Queue one line (without its newline). Never waits: a full queue drops it.
    pub fn write_line(&self, line: String) {
        match self.tx.try_send(Message::Line(line)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait until every line queued so far is written: for a process about to exit, the one
    /// caller that may wait.
    pub fn flush(&self) {
        let (ack, done) = sync_channel(1);
        if self.tx.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

struct Writer<W: Write> {
    out: io::BufWriter<W>,
    dropped: Arc<AtomicU64>,
    linger: Duration,
    dropped_line: Box<dyn Fn(u64) -> String + Send>,
}

impl<W: Write> Writer<W> {
    fn run(mut self, rx: Receiver<Message>) {
        while let Ok(first) = rx.recv() {
            if !self.linger.is_zero() {
                std::thread::sleep(self.linger);
            }
            let mut next = Some(first);
            let mut written = 0;
            while let Some(message) = next {
                let ok = match message {
                    Message::Line(line) => {
                        written += 1;
                        self.line(&line) && (written % REPORT_EVERY != 0 || self.report_drops())
                    }
                    Message::Flush(ack) => {
                        let ok = self.report_drops() && self.out.flush().is_ok();
                        let _ = ack.send(());
                        ok
                    }
                };
                if !ok {
                    return;
                }
                next = rx.try_recv().ok();
            }
            // The queue is empty: report losses, then let readers see everything so far.
            if !self.report_drops() || self.out.flush().is_err() {
                return;
            }
        }
    }

    fn line(&mut self, line: &str) -> bool {
        self.out.write_all(line.as_bytes()).is_ok() && self.out.write_all(b"\n").is_ok()
    }

    /// One line saying how many were lost since the last report, if any were.
    fn report_drops(&mut self) -> bool {
        match self.dropped.swap(0, Ordering::Relaxed) {
            0 => true,
            count => {
                let line = (self.dropped_line)(count);
                self.line(&line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// A destination that blocks its first write until the test opens the gate, and says
    /// when the writer is stuck there.
    #[derive(Clone, Default)]
    struct Stalled {
        state: Arc<(Mutex<(bool, bool)>, Condvar)>,
        seen: Arc<Mutex<Vec<u8>>>,
    }

    impl Stalled {
        fn wait_until_stuck(&self) {
            let (lock, cvar) = &*self.state;
            let _stuck = cvar.wait_while(lock.lock().unwrap(), |(stuck, _)| !*stuck);
        }
        fn open(&self) {
            let (lock, cvar) = &*self.state;
            lock.lock().unwrap().1 = true;
            cvar.notify_all();
        }
        fn text(&self) -> String {
            String::from_utf8(self.seen.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (lock, cvar) = &*self.state;
            let mut state = lock.lock().unwrap();
            state.0 = true;
            cvar.notify_all();
            let _open = cvar.wait_while(state, |(_, open)| !*open);
            self.seen.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn options(capacity: usize) -> Options {
        Options {
            thread_name: "test-log",
            capacity,
            linger: Duration::ZERO,
            dropped_line: Box::new(|n| format!("{n} lines dropped")),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_then_says_so_once_drained() {
        let out = Stalled::default();
        let sink = LogSink::spawn(out.clone(), options(8)).unwrap();
        sink.write_line("first".into());
        // The writer holds "first" and is stuck writing it: the queue has room for 8.
        out.wait_until_stuck();
        for i in 0..100 {
            sink.write_line(format!("line {i}"));
        }
        out.open();
        sink.flush();
        let mut want = vec!["first".to_owned()];
        want.extend((0..8).map(|i| format!("line {i}")));
        want.push("92 lines dropped".into());
        assert_eq!(out.text(), want.join("\n") + "\n");
    }

    #[test]
    fn nothing_is_dropped_while_the_writer_keeps_up() {
        let out = Stalled::default();
        out.open();
        let sink = LogSink::spawn(out.clone(), options(8)).unwrap();
        for i in 0..3 {
            sink.write_line(format!("line {i}"));
            sink.flush();
        }
        assert_eq!(out.text(), "line 0\nline 1\nline 2\n");
    }
}
