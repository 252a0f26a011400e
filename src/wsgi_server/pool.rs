//! The worker pool: which workers exist, which are idle, who waits for one, and keeping
//! their number right.
//!
//! A request **checks out** an idle worker (or waits in the queue, first come first
//! served), talks to it, and **checks it in** again. Check-in is where a worker may be
//! retired instead: after a reload (its generation is old), when the worker count went
//! down, after `--max-requests`, or on shutdown. Retiring closes the worker's stdin, so it
//! finishes and exits by itself.
//!
//! The **manager** task hears every worker's news (booted, failed to boot, exited) and the
//! arbiter's commands (reload, change the worker count), and after each one **rebalances**:
//! starts workers of the current generation until there are as many as wanted, retires the
//! extra ones. A reload starts a new generation: new workers import the app afresh, and the
//! old ones are retired only once a new one has booted, so an app that no longer imports
//! leaves the old workers serving instead of an empty server.
//!
//! Workers always come back: when new workers fail to boot (after a reload, a crash, a
//! timeout, a kill), the manager keeps starting one at a time with a growing delay
//! (`pool/backoff.rs`), logging each failure, until one boots; since each imports the app
//! afresh, fixing the file is enough. Meanwhile a request that finds no booted worker gets
//! a 503 that says why. Only at the very first start does a failed boot stop the server.
//! The manager lives in `pool/manager.rs`; this file is the side the requests see.

mod backoff;
mod manager;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{Notify, oneshot, watch};

use super::worker::{Worker, WorkerConfig, WorkerNews};
use crate::trace::{ExitReason, Hop, TraceSink};
use backoff::Backoff;

/// What the arbiter can ask of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Reload,
    SetWorkers(usize),
    Increment,
    Decrement,
}

enum Message {
    Command(Command),
    Rebalance,
}

/// A worker process the pool knows of, booted or not, busy or idle.
struct Proc {
    generation: u64,
    booted: bool,
    /// Set when the pool decided this worker should go, and why.
    leaving: Option<ExitReason>,
    /// Started by the backoff after earlier workers failed to boot.
    retry: bool,
    kill: Arc<Notify>,
}

struct State {
    idle: VecDeque<Worker>,
    waiters: VecDeque<oneshot::Sender<Worker>>,
    procs: HashMap<u64, Proc>,
    generation: u64,
    target: usize,
    next_id: u64,
    ever_booted: bool,
    /// Set while workers of the current generation fail to boot: the manager starts one at
    /// a time, each after a longer delay, until one boots.
    backoff: Option<Backoff>,
    stopping: bool,
}

pub struct Pool {
    state: Mutex<State>,
    messages: UnboundedSender<Message>,
    news: UnboundedSender<WorkerNews>,
    config: WorkerConfig,
    sink: TraceSink,
    max_requests: u64,
    arbiter_pid: u32,
    /// Becomes true when the first workers cannot boot: the server must exit.
    boot_failed: watch::Sender<bool>,
}

/// Why a request got no worker.
#[derive(Debug, thiserror::Error)]
pub enum NoWorker {
    #[error(
        "no worker can serve: new workers fail to boot ({reason}); {}",
        when(*.retry_in)
    )]
    AppBroken {
        /// The latest boot failure, in one line.
        reason: String,
        /// How long until the next worker starts (zero: one is booting).
        retry_in: Duration,
    },
    #[error("the server is shutting down")]
    Stopping,
}

fn when(retry_in: Duration) -> String {
    if retry_in.is_zero() {
        "a new one is booting".to_owned()
    } else {
        format!("the next one starts in {}", backoff::seconds(retry_in))
    }
}

impl Pool {
    /// A pool that will keep `workers` workers; it starts them right away.
    pub fn start(
        config: WorkerConfig,
        workers: usize,
        max_requests: u64,
        sink: TraceSink,
    ) -> (Arc<Pool>, watch::Receiver<bool>) {
        let (tx, rx) = unbounded_channel();
        let (news_tx, news_rx) = unbounded_channel();
        let (boot_failed, boot_failed_rx) = watch::channel(false);
        let pool = Arc::new(Pool {
            state: Mutex::new(State {
                idle: VecDeque::new(),
                waiters: VecDeque::new(),
                procs: HashMap::new(),
                generation: 1,
                target: workers.max(1),
                next_id: 1,
                ever_booted: false,
                backoff: None,
                stopping: false,
            }),
            messages: tx,
            news: news_tx,
            config,
            sink,
            max_requests,
            arbiter_pid: std::process::id(),
            boot_failed,
        });
        let workers = workers.max(1);
        pool.sink.emit(None, || Hop::WorkersChanged { workers });
        tokio::spawn(manager::manage(pool.clone(), rx, news_rx));
        let _ = pool.messages.send(Message::Rebalance);
        (pool, boot_failed_rx)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("pool lock")
    }

    pub fn command(&self, command: Command) {
        let _ = self.messages.send(Message::Command(command));
    }

    /// An idle worker, waiting in the queue if every worker is busy.
    pub async fn checkout(&self, request_id: &str) -> Result<Worker, NoWorker> {
        let rx = {
            let mut state = self.lock();
            if let Some(worker) = state.idle.pop_front() {
                return Ok(worker);
            }
            if let Some(broken) = broken(&state) {
                return Err(broken);
            }
            let (tx, rx) = oneshot::channel();
            state.waiters.retain(|w| !w.is_closed());
            state.waiters.push_back(tx);
            let queue_len = state.waiters.len();
            self.sink
                .emit(Some(request_id), || Hop::Queued { queue_len });
            rx
        };
        rx.await.map_err(|_| {
            let state = self.lock();
            if state.stopping {
                NoWorker::Stopping
            } else {
                broken(&state).unwrap_or_else(|| NoWorker::AppBroken {
                    reason: "the worker it waited for is gone".into(),
                    retry_in: Duration::ZERO,
                })
            }
        })
    }

    /// A worker is done with a request: serve the next, idle, or retire.
    pub fn checkin(&self, mut worker: Worker) {
        worker.served += 1;
        let mut state = self.lock();
        let reason = if state.stopping {
            Some(ExitReason::Shutdown)
        } else if self.max_requests > 0 && worker.served >= self.max_requests {
            Some(ExitReason::MaxRequests)
        } else if worker.generation < state.generation && current_booted(&state) {
            Some(ExitReason::Reload)
        } else if worker.generation == state.generation && current_count(&state) > state.target {
            Some(ExitReason::WorkersDecreased)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                retire(&mut state, worker, reason);
                drop(state);
                let _ = self.messages.send(Message::Rebalance);
            }
            None => give(&mut state, worker),
        }
    }

    /// The worker broke down mid-request: it crashed (`reason` None: its exit status will
    /// tell) or overstayed `--timeout`. It is killed to be sure; the manager replaces it
    /// once it has exited.
    pub fn lost(&self, worker: Worker, reason: Option<ExitReason>) {
        let mut state = self.lock();
        if let Some(proc_) = state.procs.get_mut(&worker.id) {
            if let Some(reason) = reason {
                proc_.leaving.get_or_insert(reason);
            }
            proc_.kill.notify_one();
        }
    }

    /// Stop: retire idle workers now and busy ones when they finish; wait (up to
    /// `deadline`) for all to exit, then kill what is left.
    pub async fn stop(&self, deadline: Instant) {
        {
            let mut state = self.lock();
            state.stopping = true;
            state.waiters.clear();
            while let Some(worker) = state.idle.pop_front() {
                retire(&mut state, worker, ExitReason::Shutdown);
            }
        }
        loop {
            if self.lock().procs.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.kill_all().await;
    }

    /// Kill every worker at once and wait briefly for them to be reaped.
    pub async fn kill_all(&self) {
        {
            let mut state = self.lock();
            state.stopping = true;
            state.waiters.clear();
            state.idle.clear();
            for proc_ in state.procs.values_mut() {
                proc_.leaving.get_or_insert(ExitReason::Shutdown);
                proc_.kill.notify_one();
            }
        }
        let until = Instant::now() + std::time::Duration::from_secs(3);
        while !self.lock().procs.is_empty() && Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// `--timeout`: the longest a worker may spend on one request.
    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }
}

/// Workers of the current generation that are staying (booted or booting).
fn current_count(state: &State) -> usize {
    state
        .procs
        .values()
        .filter(|p| p.generation == state.generation && p.leaving.is_none())
        .count()
}

/// Workers that can take a request now or once they finish one, of any generation.
fn any_serving(state: &State) -> bool {
    state
        .procs
        .values()
        .any(|p| p.booted && p.leaving.is_none())
}

/// Why nobody will serve a request soon: no worker is booted, and the latest ones failed.
fn broken(state: &State) -> Option<NoWorker> {
    let backoff = state.backoff.as_ref()?;
    if any_serving(state) {
        return None;
    }
    Some(NoWorker::AppBroken {
        reason: backoff.reason.clone(),
        retry_in: backoff.remaining(tokio::time::Instant::now()),
    })
}

fn current_booted(state: &State) -> bool {
    state
        .procs
        .values()
        .any(|p| p.generation == state.generation && p.booted && p.leaving.is_none())
}

/// Hand a worker to the first request still waiting, or make it idle.
fn give(state: &mut State, mut worker: Worker) {
    while let Some(waiter) = state.waiters.pop_front() {
        match waiter.send(worker) {
            Ok(()) => return,
            Err(back) => worker = back, // that client went away while it waited
        }
    }
    state.idle.push_back(worker);
}

/// Ask a worker to finish: closing its stdin makes it exit once it is idle.
fn retire(state: &mut State, worker: Worker, reason: ExitReason) {
    if let Some(proc_) = state.procs.get_mut(&worker.id) {
        proc_.leaving.get_or_insert(reason);
    }
    drop(worker);
}
