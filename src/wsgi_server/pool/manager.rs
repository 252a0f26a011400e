//! The pool's manager task: it hears every worker's news and the arbiter's commands, one
//! at a time, and after each one rebalances the pool (see the parent module's doc). While
//! workers fail to boot, it also wakes when the backoff says the next one may start.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::backoff::{self, Backoff};
use super::{
    Command, Message, Pool, Proc, State, any_serving, current_booted, current_count, give, retire,
};
use crate::trace::{ExitReason, Hop};
use crate::wsgi_server::log::{self, Level};
use crate::wsgi_server::worker::{self, Worker, WorkerNews};

/// The manager task: one message at a time, then rebalance.
pub(super) async fn manage(
    pool: Arc<Pool>,
    mut messages: UnboundedReceiver<Message>,
    mut news: UnboundedReceiver<WorkerNews>,
) {
    loop {
        let retry_at = pool.lock().backoff.as_ref().and_then(|b| b.retry_at);
        tokio::select! {
            Some(news) = news.recv() => {
                let mut state = pool.lock();
                pool.on_news(&mut state, news);
                pool.rebalance(&mut state);
            }
            message = messages.recv() => {
                let Some(message) = message else { return };
                let mut state = pool.lock();
                if let Message::Command(command) = message {
                    pool.on_command(&mut state, command);
                }
                pool.rebalance(&mut state);
            }
            () = wake_at(retry_at) => {
                let mut state = pool.lock();
                pool.rebalance(&mut state);
            }
        }
    }
}

/// When the backoff lets the next worker start; never when it does not wait.
async fn wake_at(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Pool {
    /// Spawn workers or retire idle ones until the numbers are right.
    fn rebalance(&self, state: &mut State) {
        if state.stopping {
            return;
        }
        let generation = state.generation;
        self.spawn_missing(state);
        // Too many workers of this generation: retire idle ones (busy ones at check-in).
        let mut extra = current_count(state).saturating_sub(state.target);
        while extra > 0 {
            let Some(pos) = state.idle.iter().rposition(|w| w.generation == generation) else {
                break;
            };
            let worker = state.idle.remove(pos).expect("position exists");
            retire(state, worker, ExitReason::WorkersDecreased);
            extra -= 1;
        }
        // A new generation is serving: the old idle workers can go.
        if current_booted(state) {
            while let Some(pos) = state.idle.iter().position(|w| w.generation < generation) {
                let worker = state.idle.remove(pos).expect("position exists");
                retire(state, worker, ExitReason::Reload);
            }
        }
        if state.backoff.is_some() && !any_serving(state) {
            // No worker is booted and the latest failed: the queue would wait for the next
            // attempt, seconds away. Let the waiting requests have their 503 (and why) now.
            state.waiters.clear();
        }
    }

    /// Start workers of the current generation until there are as many as wanted. While
    /// boots fail (see `backoff.rs`), only one at a time, once its delay has passed.
    fn spawn_missing(&self, state: &mut State) {
        let generation = state.generation;
        let count = current_count(state);
        let mut missing = state.target.saturating_sub(count);
        let retry = state.backoff.is_some();
        if let Some(backoff) = &mut state.backoff {
            // A worker of this generation still booting (none is booted, or the run
            // would be over) will tell whether the app imports now.
            if missing == 0 || count > 0 || !backoff.due(Instant::now()) {
                return;
            }
            missing = 1;
        }
        for _ in 0..missing {
            let id = state.next_id;
            state.next_id += 1;
            match worker::spawn(&self.config, id, generation, self.news.clone()) {
                Ok(spawned) => {
                    let proc_ = Proc {
                        generation,
                        booted: false,
                        leaving: None,
                        retry,
                        kill: spawned.kill,
                    };
                    state.procs.insert(id, proc_);
                }
                Err(error) => {
                    let reason = format!("cannot start a worker process: {error}");
                    self.boot_failure(state, None, reason, retry);
                    break;
                }
            }
        }
    }

    /// A worker of the current generation did not boot (or not even start: `pid` None).
    /// At the very first start this stops the server; after that, the backoff retries.
    fn boot_failure(&self, state: &mut State, pid: Option<u32>, reason: String, retry: bool) {
        if !state.ever_booted {
            // Like gunicorn: an app that cannot be imported at start stops the server.
            if pid.is_none() {
                log::error_log(self.arbiter_pid, Level::Error, &reason);
            }
            // The arbiter stops the workers and exits; no replacements meanwhile.
            state.stopping = true;
            let _ = self.boot_failed.send(true);
            return;
        }
        let now = Instant::now();
        let first = state.backoff.is_none();
        let delay = match &mut state.backoff {
            Some(backoff) => backoff.failed(reason.clone(), retry, now),
            None => {
                state
                    .backoff
                    .insert(Backoff::new(reason.clone(), now))
                    .delay
            }
        };
        let who = pid.map_or_else(
            || "A worker".to_owned(),
            |pid| format!("Worker (pid:{pid})"),
        );
        let line = format!(
            "{who} failed to boot: {reason}; retrying in {}",
            backoff::seconds(delay)
        );
        log::error_log(self.arbiter_pid, Level::Error, &line);
        self.sink.emit(None, || Hop::Error {
            level: "error".into(),
            message: line.clone(),
            status: None,
        });
        if first {
            let text = if any_serving(state) {
                "New workers cannot import the application; the workers that loaded it \
                 before keep serving. New workers are tried until one boots: fix the app."
            } else {
                "No worker can import the application: requests get 503 until one boots. \
                 New workers are tried until one does: fix the app."
            };
            log::error_log(self.arbiter_pid, Level::Error, text);
        }
    }

    fn on_news(&self, state: &mut State, news: WorkerNews) {
        match news {
            WorkerNews::Booted(worker) => self.on_booted(state, worker),
            WorkerNews::BootFailed {
                id,
                pid,
                message,
                traceback,
            } => self.on_boot_failed(state, id, pid, message, traceback),
            WorkerNews::Exited { id, pid, status } => self.on_exited(state, id, pid, status),
        }
    }

    fn on_booted(&self, state: &mut State, worker: Worker) {
        let (id, pid) = (worker.id, worker.pid);
        self.sink
            .emit(None, || Hop::WorkerBooted { worker_pid: pid });
        state.ever_booted = true;
        if worker.generation == state.generation
            && let Some(backoff) = state.backoff.take()
        {
            let failures = backoff.failures;
            log::info(
                self.arbiter_pid,
                &format!(
                    "Worker (pid:{pid}) booted after {failures} failed attempt(s): the \
                     application imports again"
                ),
            );
        }
        let leaving = match state.procs.get_mut(&id) {
            Some(proc_) => {
                proc_.booted = true;
                proc_.leaving.is_some()
            }
            None => true,
        };
        if leaving || state.stopping || worker.generation < state.generation {
            let reason = if state.stopping {
                ExitReason::Shutdown
            } else {
                ExitReason::Reload
            };
            retire(state, worker, reason);
        } else {
            give(state, worker);
        }
    }

    fn on_boot_failed(
        &self,
        state: &mut State,
        id: u64,
        pid: u32,
        message: String,
        traceback: Option<String>,
    ) {
        let reason = backoff::one_line(&message);
        // The whole error once per run of failures, and again when it changes (the learner
        // fixed one error and made another); each attempt also gets its one line below.
        let repeated = state.backoff.as_ref().is_some_and(|b| b.reason == reason);
        if !repeated {
            let text = match &traceback {
                Some(tb) => format!("Exception in worker process\n{}", tb.trim_end()),
                None => format!("Worker failed to boot: {message}"),
            };
            log::error_log(pid, Level::Error, &text);
        }
        self.sink.emit(None, || Hop::AppError {
            kind: "boot".into(),
            message: message.clone(),
            traceback: traceback.clone(),
        });
        let Some(proc_) = state.procs.get_mut(&id) else {
            return;
        };
        proc_.leaving.get_or_insert(ExitReason::FailedToBoot);
        proc_.kill.notify_one();
        let (generation, retry) = (proc_.generation, proc_.retry);
        if generation == state.generation {
            self.boot_failure(state, Some(pid), reason, retry);
        }
    }

    fn on_exited(
        &self,
        state: &mut State,
        id: u64,
        pid: u32,
        status: Option<std::process::ExitStatus>,
    ) {
        let me = self.arbiter_pid;
        let Some(proc_) = state.procs.remove(&id) else {
            return;
        };
        state.idle.retain(|w| w.id != id);
        let reason = if let Some(reason) = proc_.leaving {
            log::info(pid, &format!("Worker exiting (pid: {pid})"));
            if reason == ExitReason::Timeout {
                log::error_log(
                    me,
                    Level::Error,
                    &format!("Worker (pid:{pid}) was sent SIGKILL after --timeout"),
                );
            }
            reason
        } else {
            let text = worker::describe_exit(pid, status);
            log::error_log(me, Level::Error, &text);
            ExitReason::Crash
        };
        self.sink.emit(None, || Hop::WorkerExited {
            worker_pid: pid,
            reason,
        });
    }

    fn on_command(&self, state: &mut State, command: Command) {
        let me = self.arbiter_pid;
        let before = state.target;
        match command {
            Command::Reload => {
                log::info(me, "Hang up: Master");
                state.generation += 1;
                // A reload is a fresh start: its workers start at once, all of them.
                state.backoff = None;
            }
            Command::SetWorkers(n) => state.target = n.max(1),
            Command::Increment => state.target += 1,
            Command::Decrement => state.target = state.target.saturating_sub(1).max(1),
        }
        if state.target != before {
            let workers = state.target;
            log::info(me, &format!("Number of workers: {workers}"));
            self.sink.emit(None, || Hop::WorkersChanged { workers });
        }
    }
}
