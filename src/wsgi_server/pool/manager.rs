//! The pool's manager task: it hears every worker's news and the arbiter's commands, one
//! at a time, and after each one rebalances the pool (see the parent module's doc).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Command, Message, Pool, Proc, State, current_booted, current_count, give, retire};
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
        }
    }
}

impl Pool {
    /// Spawn workers or retire idle ones until the numbers are right.
    fn rebalance(&self, state: &mut State) {
        if state.stopping {
            return;
        }
        let generation = state.generation;
        if state.failed_generation != Some(generation) {
            self.spawn_missing(state);
        }
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
        if state.procs.is_empty() && state.failed_generation.is_some() {
            // Nobody will ever serve the queue: let the waiting requests fail now.
            state.waiters.clear();
        }
    }

    /// Start workers of the current generation until there are as many as wanted; a
    /// worker that cannot even be started marks the generation failed, so that the
    /// manager does not retry it on every message.
    fn spawn_missing(&self, state: &mut State) {
        let generation = state.generation;
        for _ in current_count(state)..state.target {
            let id = state.next_id;
            state.next_id += 1;
            match worker::spawn(&self.config, id, generation, self.news.clone()) {
                Ok(spawned) => {
                    state.procs.insert(
                        id,
                        Proc {
                            generation,
                            booted: false,
                            leaving: None,
                            kill: spawned.kill,
                        },
                    );
                }
                Err(error) => {
                    log::error_log(
                        self.arbiter_pid,
                        Level::Error,
                        &format!("Cannot start a worker process: {error}"),
                    );
                    state.failed_generation = Some(generation);
                    break;
                }
            }
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
        let text = match &traceback {
            Some(tb) => format!("Exception in worker process\n{}", tb.trim_end()),
            None => format!("Worker failed to boot: {message}"),
        };
        log::error_log(pid, Level::Error, &text);
        self.sink.emit(None, || Hop::AppError {
            kind: "boot".into(),
            message: message.clone(),
            traceback: traceback.clone(),
        });
        let generation = state.procs.get(&id).map(|p| p.generation);
        if let Some(proc_) = state.procs.get_mut(&id) {
            proc_.leaving.get_or_insert(ExitReason::FailedToBoot);
            proc_.kill.notify_one();
        }
        if !state.ever_booted {
            // Like gunicorn: an app that cannot be imported at start stops the server.
            let _ = self.boot_failed.send(true);
        } else if generation == Some(state.generation) && state.failed_generation != generation {
            state.failed_generation = generation;
            log::error_log(
                self.arbiter_pid,
                Level::Error,
                "The application could not be imported by the new worker; workers \
                 that loaded it before keep serving. Fix the app, then reload (SIGHUP).",
            );
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
                state.failed_generation = None;
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
