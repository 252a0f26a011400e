//! Booting again after workers failed to boot: one worker at a time, after a delay that
//! doubles with each failure in a row (0.1 s, 0.2 s, 0.4 s, ... up to 5 s) and is forgotten
//! once a worker boots.
//!
//! This is for a server that has served already: its app was broken by an edit (and a
//! reload, or a worker's death, made a new worker import it). Each new worker imports the
//! app afresh, so the first one started after the file is fixed boots, and the server
//! recovers without a reload. At the very first start a failed boot stops the server
//! instead (gunicorn's exit status 3), which is the pool's business, not this file's.

use std::time::Duration;

use tokio::time::Instant;

/// The delay after the first failure of a run.
pub(super) const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay between two attempts.
pub(super) const MAX_DELAY: Duration = Duration::from_secs(5);

/// Boot failures in a row of the current generation, and when to try again.
#[derive(Debug)]
pub(super) struct Backoff {
    /// The delay set by the latest failure.
    pub(super) delay: Duration,
    /// When the next worker may be started; `None` once that moment has come.
    pub(super) retry_at: Option<Instant>,
    /// The latest failure in one line (`ModuleNotFoundError: No module named 'x'`).
    pub(super) reason: String,
    /// Failed boots in this run.
    pub(super) failures: u32,
}

impl Backoff {
    /// The first failure of a run.
    pub(super) fn new(reason: String, now: Instant) -> Backoff {
        Backoff {
            delay: FIRST_DELAY,
            retry_at: Some(now + FIRST_DELAY),
            reason,
            failures: 1,
        }
    }

    /// One more failure. A worker started by the backoff itself (a `retry`) doubles the
    /// delay; one of a batch started together before the run began (`-w 4`, all failing
    /// at once) does not, so the delay grows by one step per attempt, not per worker.
    /// The delay until the next attempt.
    pub(super) fn failed(&mut self, reason: String, retry: bool, now: Instant) -> Duration {
        if retry {
            self.delay = (self.delay * 2).min(MAX_DELAY);
        }
        self.failures += 1;
        self.reason = reason;
        let at = now + self.delay;
        self.retry_at = Some(self.retry_at.map_or(at, |t| t.max(at)));
        self.delay
    }

    /// May the next worker start now? Once its time has come, `retry_at` is cleared, so
    /// that the manager does not wake for it again.
    pub(super) fn due(&mut self, now: Instant) -> bool {
        match self.retry_at {
            Some(at) if now < at => false,
            _ => {
                self.retry_at = None;
                true
            }
        }
    }

    /// How long until the next attempt, for the 503s (zero when one is under way).
    pub(super) fn remaining(&self, now: Instant) -> Duration {
        self.retry_at
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }
}

/// A delay the way the log writes it: `0.1s`, `1.6s`, `5s`.
pub(super) fn seconds(delay: Duration) -> String {
    let tenths = delay.as_millis().div_ceil(100);
    if tenths.is_multiple_of(10) {
        format!("{}s", tenths / 10)
    } else {
        format!("{}.{}s", tenths / 10, tenths % 10)
    }
}

/// The last line of Python's `format_exception_only` (a SyntaxError's first lines show
/// the code and a caret): what went wrong, in one line.
pub(super) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("the worker failed to boot")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_per_retry_up_to_the_cap() {
        let now = Instant::now();
        let mut backoff = Backoff::new("E".into(), now);
        let mut delays = vec![backoff.delay];
        for _ in 0..8 {
            delays.push(backoff.failed("E".into(), true, now));
        }
        let shown: Vec<String> = delays.into_iter().map(seconds).collect();
        assert_eq!(
            shown,
            [
                "0.1s", "0.2s", "0.4s", "0.8s", "1.6s", "3.2s", "5s", "5s", "5s"
            ]
        );
        assert_eq!(backoff.failures, 9);
    }

    #[test]
    fn workers_of_one_batch_failing_together_count_as_one_step() {
        let now = Instant::now();
        let mut backoff = Backoff::new("E".into(), now);
        assert_eq!(backoff.failed("E".into(), false, now), FIRST_DELAY);
        assert_eq!(backoff.failed("E".into(), false, now), FIRST_DELAY);
        assert_eq!(
            backoff.failed("E".into(), true, now),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn due_once_the_time_has_come_and_then_not_waiting_again() {
        let now = Instant::now();
        let mut backoff = Backoff::new("E".into(), now);
        assert!(!backoff.due(now));
        assert_eq!(backoff.remaining(now), FIRST_DELAY);
        assert!(backoff.due(now + FIRST_DELAY));
        assert_eq!(backoff.retry_at, None);
        assert_eq!(backoff.remaining(now), Duration::ZERO);
        // A later failure never brings the next attempt forward.
        backoff.retry_at = Some(now + MAX_DELAY);
        backoff.failed("E".into(), false, now);
        assert_eq!(backoff.retry_at, Some(now + MAX_DELAY));
    }

    #[test]
    fn the_reason_is_the_last_line_of_the_python_error() {
        let syntax =
            "  File \"/tmp/app.py\", line 1\n    def (\n        ^\nSyntaxError: invalid syntax\n";
        assert_eq!(one_line(syntax), "SyntaxError: invalid syntax");
        assert_eq!(one_line("ModuleNotFoundError: x"), "ModuleNotFoundError: x");
        assert_eq!(one_line(""), "the worker failed to boot");
    }
}
