//! Listening sockets, the accept loop, reload and shutdown.
//!
//! Each `listen` address gets an accept loop; each connection is served by hyper with
//! nginx's timeouts. The configuration is an atomically swapped snapshot: a reload builds
//! a new one and swaps it in only if it is valid, binding listeners that are new and closing
//! ones that are gone; requests already running finish with the configuration they began
//! with. Shutdown stops accepting, lets in-flight requests finish (up to a bound), then
//! returns.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::{self, Config, ConfigError, Listen, LoadContext};
use super::exchange::ConnInfo;
use super::handler;
use super::log::{ErrorLog, Level};
use crate::connection::{self, Ended, accept};
use crate::control::Command;
use crate::trace::{Hop, TraceSink};

/// The most header lines one request may carry.
const MAX_HEADERS: usize = 256;

/// How long in-flight requests may take to finish on shutdown.
const SHUTDOWN_GRACE: Duration = crate::control::GRACEFUL_TIMEOUT;

/// What can be asked of a running web server (by signal, or by the tutor over stdin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Reload,
    Stop,
    /// A line on the control input that the web server cannot act on, and why.
    Refused(String),
}

pub struct WebServer {
    path: PathBuf,
    config: ArcSwap<Config>,
    context: Mutex<LoadContext>,
    trace: TraceSink,
    connections: AtomicU64,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

struct Bound {
    stop: CancellationToken,
}

impl WebServer {
    /// Read the configuration; nothing is bound yet.
    pub fn load(
        path: PathBuf,
        port_map: Vec<(u16, u16)>,
        trace: TraceSink,
    ) -> Result<Arc<WebServer>, ConfigError> {
        let mut context = LoadContext::new(trace.enabled(), port_map);
        let config = config::load(&path, &mut context)?;
        for warning in &config.warnings {
            config.error_log.log(
                Level::Warn,
                None,
                format_args!("{}", warning.trim_start_matches("[warn] ")),
            );
        }
        Ok(Arc::new(WebServer {
            path,
            config: ArcSwap::from_pointee(config),
            context: Mutex::new(context),
            trace,
            connections: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }))
    }

    fn notice(&self, message: String) {
        self.config
            .load()
            .error_log
            .log(Level::Notice, None, format_args!("{message}"));
    }

    /// Bind every listen address, then serve until told to stop.
    pub async fn run(self: Arc<Self>, mut control: mpsc::Receiver<Control>) -> Result<(), String> {
        let mut bound: HashMap<String, Bound> = HashMap::new();
        let specs = self.config.load().listen_specs();
        for listen in specs {
            let b = self.clone().bind(&listen)?;
            bound.insert(listen.spec.clone(), b);
        }
        while let Some(message) = control.recv().await {
            match message {
                Control::Reload => self.reload(&mut bound),
                Control::Stop => break,
                Control::Refused(why) => {
                    self.config
                        .load()
                        .error_log
                        .log(Level::Warn, None, format_args!("{why}"));
                }
            }
        }
        self.notice("gracefully shutting down".into());
        for b in bound.values() {
            b.stop.cancel();
        }
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            self.notice(format!(
                "{} connection(s) still open after {}s, closing them",
                self.tracker.len(),
                SHUTDOWN_GRACE.as_secs()
            ));
        }
        self.notice("exit".into());
        Ok(())
    }

    fn reload(self: &Arc<Self>, bound: &mut HashMap<String, Bound>) {
        self.notice("signal 1 (SIGHUP) received, reconfiguring".into());
        let result = {
            let mut context = self.context.lock().unwrap();
            config::load(&self.path, &mut context)
        };
        let config = match result {
            Ok(config) => config,
            Err(err) => {
                let text = err.to_string();
                let message = text.trim_start_matches("[emerg] ").to_owned();
                self.reload_failed(&self.config.load().error_log, &message, text);
                return;
            }
        };
        for warning in &config.warnings {
            config.error_log.log(
                Level::Warn,
                None,
                format_args!("{}", warning.trim_start_matches("[warn] ")),
            );
        }
        let wanted = config.listen_specs();
        let fresh = match self.bind_new(&wanted, bound) {
            Ok(fresh) => fresh,
            Err(err) => {
                self.reload_failed(&config.error_log, &err.clone(), err);
                return;
            }
        };
        self.config.store(Arc::new(config));
        bound.retain(|spec, b| {
            let keep = wanted.iter().any(|l| &l.spec == spec);
            if !keep {
                b.stop.cancel();
            }
            keep
        });
        bound.extend(fresh);
        self.notice("configuration reloaded".into());
        self.trace.emit(None, || Hop::ConfigReloaded {
            ok: true,
            error: None,
        });
    }

    /// Bind what is new before swapping, so a port in use fails the reload, not the server.
    fn bind_new(
        self: &Arc<Self>,
        wanted: &[Listen],
        bound: &HashMap<String, Bound>,
    ) -> Result<HashMap<String, Bound>, String> {
        let mut fresh = HashMap::new();
        for listen in wanted.iter().filter(|l| !bound.contains_key(&l.spec)) {
            match self.clone().bind(listen) {
                Ok(b) => {
                    fresh.insert(listen.spec.clone(), b);
                }
                Err(err) => {
                    for b in fresh.values() {
                        b.stop.cancel();
                    }
                    return Err(err);
                }
            }
        }
        Ok(fresh)
    }

    fn reload_failed(&self, error_log: &ErrorLog, message: &str, error: String) {
        error_log.log(
            Level::Emerg,
            None,
            format_args!("{message}; the previous configuration keeps serving"),
        );
        self.trace.emit(None, || Hop::ConfigReloaded {
            ok: false,
            error: Some(error),
        });
    }

    fn bind(self: Arc<Self>, listen: &Listen) -> Result<Bound, String> {
        let listener = accept::bind(listen.addr, listen.options).map_err(|err| {
            format!(
                "bind() to {} failed ({})",
                listen.addr,
                super::config::syntax::os_error(&err)
            )
        })?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        self.notice(format!(
            "listening on http://{local}/ (listen {})",
            listen.spec
        ));
        self.trace.emit(None, || Hop::Listening {
            addr: local.to_string(),
        });
        let stop = CancellationToken::new();
        let spec: Arc<str> = Arc::from(listen.spec.as_str());
        let token = stop.clone();
        let server = self.clone();
        self.tracker.spawn(async move {
            server.accept_loop(listener, spec, token).await;
        });
        Ok(Bound { stop })
    }

    async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        spec: Arc<str>,
        stop: CancellationToken,
    ) {
        let mut batch = Vec::new();
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                () = self.shutdown.cancelled() => return,
                accepted = accept::accept_batch(&listener, &mut batch) => accepted,
            };
            if let Err(err) = accepted {
                let pause = accept::out_of_resources(&err);
                self.config.load().error_log.log(
                    Level::Alert,
                    None,
                    format_args!(
                        "accept() failed ({}){}",
                        super::config::syntax::os_error(&err),
                        if pause {
                            ", accepting again in 500ms"
                        } else {
                            ""
                        }
                    ),
                );
                if pause {
                    // As nginx: stop accepting for a while, so that the line is not
                    // repeated thousands of times a second while nothing can be done.
                    tokio::select! {
                        () = tokio::time::sleep(accept::RESOURCE_PAUSE) => {}
                        () = stop.cancelled() => return,
                        () = self.shutdown.cancelled() => return,
                    }
                }
                continue;
            }
            for (stream, peer) in batch.drain(..) {
                let _ = stream.set_nodelay(true);
                let Ok(local) = stream.local_addr() else {
                    continue;
                };
                let info = ConnInfo {
                    id: self.connections.fetch_add(1, Ordering::Relaxed),
                    peer,
                    local,
                    listen: spec.clone(),
                };
                self.tracker
                    .spawn(self.clone().serve_connection(stream, info));
            }
        }
    }

    /// The connection's task. Everything up to the wait is done before the future is
    /// made, so that an idle connection's task holds only what it needs.
    fn serve_connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        info: ConnInfo,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Timeouts come from the first server on this address, as nginx takes them from the
        // default server before it has read a Host header.
        let (header_timeout, keepalive, server_tokens) = {
            let config = self.config.load();
            config
                .servers
                .iter()
                .find(|s| s.listen.iter().any(|l| *l.spec == *info.listen))
                .map_or(
                    (Duration::from_secs(60), Duration::from_secs(75), true),
                    |s| {
                        (
                            s.client_header_timeout,
                            s.keepalive_timeout,
                            s.conf.server_tokens,
                        )
                    },
                )
        };
        let (id, peer) = (info.id, info.peer.ip());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            // hyper's header timer also runs while a connection that carried a request
            // body waits for its next request (see `connection`), so it stands in for
            // keepalive_timeout there.
            .header_read_timeout(header_timeout.min(keepalive).max(Duration::from_millis(1)))
            .keep_alive(!keepalive.is_zero())
            // A client that sends its request and shuts its side still gets the answer.
            .half_close(true)
            // nginx accepts as many headers as fit in 32 KiB; hyper preallocates this many slots
            // per request, so the number is a balance (hyper's default is 100).
            .max_headers(MAX_HEADERS);
        let policy = connection::Policy {
            first_byte: header_timeout,
            keepalive,
            max_request_line: Some(MAX_REQUEST_LINE),
        };
        let server = self.clone();
        let service = service_fn(move |request| {
            let config = server.config.load_full();
            handler::handle(request, info.clone(), config, server.trace.clone())
        });
        let builder = Arc::new(builder);
        async move {
            let ended = connection::serve(stream, &builder, policy, service, &self.shutdown).await;
            // Boxed: the task is as big as its largest state, and this one comes last.
            Box::pin(self.ended(ended, id, peer, server_tokens)).await;
        }
    }

    async fn ended(&self, ended: Ended, id: u64, peer: std::net::IpAddr, server_tokens: bool) {
        match ended {
            // hyper answered an unparseable request itself (400, 431); say so in the error
            // log as nginx would.
            Ended::Http(err) if err.is_parse() => {
                self.config.load().error_log.log(
                    Level::Info,
                    Some(id),
                    format_args!("client sent invalid request ({err}) while reading client request line, client: {peer}"),
                );
            }
            Ended::LineTooLong(stream) => {
                self.config.load().error_log.log(
                    Level::Info,
                    Some(id),
                    format_args!(
                        "client sent too long URI while reading client request line, client: {peer}"
                    ),
                );
                refuse_line(stream, server_tokens).await;
            }
            _ => {}
        }
    }
}

/// Longer request lines are refused before hyper reads them (it would answer 431 once the
/// head passed its buffer); shorter ones over nginx's 8 KiB get their 414 from `check`.
const MAX_REQUEST_LINE: usize = 32 * 1024;

/// nginx's 414 for a request line too long to read, written on the socket by hand.
async fn refuse_line(mut stream: tokio::net::TcpStream, server_tokens: bool) {
    use tokio::io::AsyncWriteExt;
    let page = super::responses::page(414, server_tokens);
    let head = format!(
        "HTTP/1.1 414 Request-URI Too Large\r\nServer: {}\r\nDate: {}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        super::responses::server_token(server_tokens),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
        page.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&page).await?;
        stream.shutdown().await
    })
    .await;
}

/// Forward SIGHUP (reload) and SIGTERM / SIGINT / SIGQUIT (stop) to the control channel.
#[cfg(unix)]
pub fn watch_signals(tx: mpsc::Sender<Control>) {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::hangup(), Control::Reload),
        (SignalKind::terminate(), Control::Stop),
        (SignalKind::interrupt(), Control::Stop),
        (SignalKind::quit(), Control::Stop),
    ];
    for (kind, control) in kinds {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(control.clone()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(not(unix))]
pub fn watch_signals(tx: mpsc::Sender<Control>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(Control::Stop).await;
        }
    });
}

/// Read `reload` / `stop` lines ([`crate::control`]) from standard input: the tutor's way in, on every platform.
/// End of input means the parent is gone, so the server stops.
pub fn watch_stdin(tx: mpsc::Sender<Control>) {
    std::thread::Builder::new()
        .name("control-stdin".into())
        .spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                let control = match line.parse::<Command>() {
                    Ok(Command::Reload) => Control::Reload,
                    Ok(Command::Stop) => Control::Stop,
                    Ok(other) => Control::Refused(format!(
                        "control command \"{other}\" is for the WSGI server: the web server has no workers"
                    )),
                    Err(err) => Control::Refused(err.to_string()),
                };
                if tx.blocking_send(control).is_err() {
                    return;
                }
            }
            let _ = tx.blocking_send(Control::Stop);
        })
        .expect("spawn stdin control thread");
}
