//! The arbiter: gunicorn's name for the master process. It binds the socket, accepts
//! connections (HTTP/1.1, via hyper), keeps the worker pool at the right size, and obeys
//! signals and control commands. Stopping is graceful: stop accepting, let in-flight
//! requests finish within `--graceful-timeout`, then stop the workers.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::app_spec::AppSpec;
use super::control::{self, Control};
use super::handler::{self, Backend, Shared};
use super::log::{self, Level};
use super::pool::Pool;
use super::python::Python;
use super::worker::WorkerConfig;
use crate::cli::WsgiServerArgs;
use crate::connection::{self, accept};
use crate::trace::{Hop, Process, TraceSink};

/// gunicorn's exit status when a worker cannot boot.
const EXIT_BOOT_ERROR: u8 = 3;

pub async fn run(args: WsgiServerArgs, app: AppSpec, python: Option<Python>) -> ExitCode {
    let me = std::process::id();
    let sink = if args.trace_json {
        TraceSink::to_stdout(Process::WsgiServer)
    } else {
        TraceSink::disabled()
    };
    log::info(
        me,
        &format!(
            "Starting wsgi-tutor wsgi-server {}",
            env!("CARGO_PKG_VERSION")
        ),
    );
    let Some(listener) = listen(&args.bind, args.backlog).await else {
        return ExitCode::FAILURE;
    };
    let local = listener.local_addr().expect("bound socket has an address");
    log::info(me, &format!("Listening at: http://{local} ({me})"));
    sink.emit(None, || Hop::Listening {
        addr: local.to_string(),
    });

    let (control_tx, mut control_rx) = unbounded_channel();
    if let Err(error) = control::watch_signals(control_tx.clone()) {
        log::error_log(
            me,
            Level::Warning,
            &format!("cannot watch signals: {error}"),
        );
    }
    if args.control_stdin {
        control::read_stdin(control_tx.clone(), me);
    }

    let (backend, mut boot_failed) = start_backend(&args, &app, python, &sink);
    let shared = Arc::new(Shared { backend, sink });
    let graceful = Graceful::default();
    let exit = accept(
        &listener,
        local,
        &shared,
        &graceful,
        &mut control_rx,
        &mut boot_failed,
        connection::Policy {
            first_byte: Duration::from_secs(args.timeout.max(1)),
            keepalive: Duration::from_secs(args.keep_alive),
            max_request_line: None,
        },
    )
    .await;
    drop(listener);
    if exit == ExitCode::SUCCESS {
        shut_down(&args, &shared, graceful, &mut control_rx).await;
    } else {
        if let Backend::Workers(pool) = &shared.backend {
            pool.kill_all().await;
        }
        log::error_log(me, Level::Error, "Shutting down: Master");
        log::error_log(me, Level::Error, "Reason: Worker failed to boot.");
        log::flush();
    }
    exit
}

/// The built-in app, or the worker pool (started here) with its boot-failure alarm.
fn start_backend(
    args: &WsgiServerArgs,
    app: &AppSpec,
    python: Option<Python>,
    sink: &TraceSink,
) -> (Backend, Option<watch::Receiver<bool>>) {
    let me = std::process::id();
    match (app, python) {
        (AppSpec::Builtin(name), _) => {
            log::info(
                me,
                &format!("Using worker: builtin:{name} (Rust, in the arbiter, no Python)"),
            );
            (Backend::Builtin(name.clone()), None)
        }
        (_, Some(python)) => {
            log::info(me, "Using worker: sync");
            log::info(
                me,
                &format!("Python {} at {}", python.version, python.program.display()),
            );
            let config = WorkerConfig {
                python,
                app: app.clone(),
                chdir: args.chdir.clone(),
                timeout: Duration::from_secs(args.timeout.max(1)),
                sink: sink.clone(),
            };
            let (pool, failed) = Pool::start(config, args.workers, args.max_requests, sink.clone());
            (Backend::Workers(pool), Some(failed))
        }
        (_, None) => unreachable!("Python apps come with a Python"),
    }
}

/// Accept connections and obey control commands until told to stop (success) or the
/// first workers cannot boot (gunicorn's exit status 3).
async fn accept(
    listener: &TcpListener,
    local: SocketAddr,
    shared: &Arc<Shared>,
    graceful: &Graceful,
    control_rx: &mut UnboundedReceiver<Control>,
    boot_failed: &mut Option<watch::Receiver<bool>>,
    policy: connection::Policy,
) -> ExitCode {
    let me = std::process::id();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // gunicorn's sync worker has no header timeout of its own: a request that has
        // not arrived within --timeout gets its worker killed. Here the wait is cut instead.
        .header_read_timeout(policy.first_byte)
        .keep_alive(!policy.keepalive.is_zero())
        .title_case_headers(true)
        .writev(true);
    let builder = Arc::new(builder);
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            accepted = accept::accept_batch(listener, &mut batch) => {
                if let Err(error) = accepted {
                    let pause = accept::out_of_resources(&error);
                    log::error_log(me, Level::Error, &format!(
                        "accept: {error}{}",
                        if pause { "; accepting again in 0.5s" } else { "" }
                    ));
                    if pause {
                        tokio::time::sleep(accept::RESOURCE_PAUSE).await;
                    }
                    continue;
                }
                for (stream, peer) in batch.drain(..) {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let service = service_fn(move |req| handler::handle(req, shared.clone(), peer, local));
                    let (builder, stop) = (builder.clone(), graceful.stop.clone());
                    graceful.tracker.spawn(async move {
                        connection::serve(stream, &builder, policy, service, &stop).await;
                    });
                }
            }
            control = control_rx.recv() => match control {
                Some(Control::Stop) | None => return ExitCode::SUCCESS,
                Some(Control::Pool(command)) => {
                    if let Backend::Workers(pool) = &shared.backend {
                        pool.command(command);
                    }
                }
            },
            Ok(()) = wait_boot_failure(boot_failed) => {
                return ExitCode::from(EXIT_BOOT_ERROR);
            }
        }
    }
}

/// Let in-flight requests finish within `--graceful-timeout`, then stop the workers.
async fn shut_down(
    args: &WsgiServerArgs,
    shared: &Shared,
    graceful: Graceful,
    control_rx: &mut UnboundedReceiver<Control>,
) {
    let me = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(args.graceful_timeout);
    // A second Ctrl-C (or stop) while waiting means: stop now.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep_until(deadline.into()) => {
            log::error_log(me, Level::Warning, "Graceful timeout: cutting the remaining connections");
        }
        Some(Control::Stop) = control_rx.recv() => {
            log::error_log(me, Level::Warning, "Stopping now, without waiting for in-flight requests");
        }
    }
    if let Backend::Workers(pool) = &shared.backend {
        let workers_deadline = Instant::now()
            .max(deadline)
            .min(Instant::now() + Duration::from_secs(5));
        pool.stop(workers_deadline).await;
    }
    log::info(me, "Shutting down: Master");
    log::flush();
}

/// Bind `-b`, or say (the gunicorn way) why not.
async fn listen(addr: &str, backlog: u32) -> Option<TcpListener> {
    let me = std::process::id();
    match bind(addr, backlog).await {
        Ok(listener) => Some(listener),
        Err(error) => {
            log::error_log(
                me,
                Level::Error,
                &format!("Connection in use or not allowed: {addr} ({error})"),
            );
            log::error_log(
                me,
                Level::Error,
                "Retry with another address, e.g. -b 127.0.0.1:8001",
            );
            log::flush();
            None
        }
    }
}

/// Resolve and bind `-b`; port 0 picks a free port (the log and trace say which).
async fn bind(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    let mut last = None;
    for candidate in tokio::net::lookup_host(addr).await? {
        match accept::bind(candidate, accept::Options::with_backlog(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolved to nothing")))
}

async fn wait_boot_failure(rx: &mut Option<watch::Receiver<bool>>) -> Result<(), ()> {
    match rx {
        Some(rx) => {
            rx.wait_for(|failed| *failed).await.map_err(|_| ())?;
            Ok(())
        }
        None => std::future::pending().await,
    }
}

/// The connections being served: told to finish when the server stops.
#[derive(Default)]
struct Graceful {
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl Graceful {
    /// Idle connections close at once; busy ones after the response they are sending.
    async fn shutdown(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}
