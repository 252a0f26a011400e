//! `wsgi-tutor serve`: both servers without the screen, their logs on the terminal — for
//! using a real browser or curl, or for a projector demo.
//!
//! It says where the servers run only once both said they listen (their stderr passes
//! through us, see [`super::startup`]); a default port that was busy is named with where
//! the server went instead; an explicit port that is taken is an error naming the port and
//! who holds it. SIGTERM or Ctrl-C stops the stack in order (web server first), within the
//! graceful timeout; a second one stops it at once.

use crate::stack::signals::Signals;
use std::process::{ExitCode, Stdio};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::describe;
use super::ports::{self, Moved};
use super::startup::{Heard, Relay, Startup};
use super::supervisor::{self, ServerProcess, StackPlan, WEB_PORT, WSGI_PORT};
use crate::cli::StackArgs;
use crate::control::GRACEFUL_TIMEOUT;
use crate::lab::Lab;
use crate::trace::Process;

/// Work out ports, app and paths for a stack from the command line and the machine; the
/// note, if any, says why the built-in app runs instead of the lab's Python one.
pub fn plan(args: &StackArgs, trace: bool) -> Result<(StackPlan, Option<String>), String> {
    let lab = Lab::prepare(args.lab.clone()).map_err(|e| format!("{e:#}"))?;
    let lab = lab.path().to_path_buf();
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let (web_port, wsgi_port, moved) = choose_ports(args)?;
    let mut note = None;
    let app = match &args.app {
        Some(app) => app.clone(),
        None => match crate::wsgi_server::python::discover(None, Some(&lab)) {
            Ok(_) => "apps/site.py:application".to_owned(),
            Err(why) => {
                note = Some(format!(
                    "{why}; running the built-in Rust version of the site instead (builtin:site)"
                ));
                "builtin:site".to_owned()
            }
        },
    };
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| lab.join("nginx.conf"));
    let plan = StackPlan {
        exe,
        lab,
        config,
        app,
        workers: args.workers,
        web_port,
        wsgi_port,
        trace,
        moved,
    };
    Ok((plan, note))
}

/// The two ports: given ones must be free now (the error names the holder); default ones
/// move up when busy, and say so.
fn choose_ports(args: &StackArgs) -> Result<(u16, u16, Vec<Moved>), String> {
    let mut moved = Vec::new();
    let web_port = match args.web_port {
        Some(port) => {
            ports::check_explicit(Process::WebServer, port, "--web-port")?;
            port
        }
        None => ports::default_port(Process::WebServer, WEB_PORT, &[], &mut moved)?,
    };
    let wsgi_port = match args.wsgi_port {
        Some(port) if port == web_port => {
            return Err(format!(
                "--wsgi-port {port} is the web server's port too; each server needs its own"
            ));
        }
        Some(port) => {
            ports::check_explicit(Process::WsgiServer, port, "--wsgi-port")?;
            port
        }
        None => ports::default_port(Process::WsgiServer, WSGI_PORT, &[web_port], &mut moved)?,
    };
    Ok((web_port, wsgi_port, moved))
}

pub fn main(args: StackArgs) -> ExitCode {
    let plan = match plan(&args, false) {
        Ok((plan, note)) => {
            if let Some(note) = note {
                eprintln!("wsgi-tutor: {note}");
            }
            plan
        }
        Err(err) => {
            eprintln!("wsgi-tutor: {err}");
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = super::runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(run(plan))
}

/// One server as `serve` runs it: the process, and the task relaying its stderr.
struct Child {
    process: ServerProcess,
    log: JoinHandle<()>,
}

impl Child {
    fn spawn(
        kind: Process,
        mut cmd: tokio::process::Command,
        relay: &Relay,
        heard: &mpsc::UnboundedSender<Heard>,
    ) -> Result<Child, String> {
        cmd.stderr(Stdio::piped());
        let mut process = ServerProcess::spawn(kind, cmd)
            .map_err(|err| format!("cannot start the {}: {err}", describe(kind)))?;
        let stderr = process.child.stderr.take().expect("piped stderr");
        let log = relay.follow(kind, stderr, heard.clone());
        Ok(Child { process, log })
    }

    fn pid(&self) -> u32 {
        self.process.pid().unwrap_or(0)
    }
}

/// How start-up ended.
enum Start {
    Ready(Startup),
    /// A server exited first: which, and its exit status.
    Exited(Process, String),
    /// We were told to stop first.
    Stopped,
}

async fn run(plan: StackPlan) -> ExitCode {
    let relay = match Relay::start() {
        Ok(relay) => relay,
        Err(err) => {
            eprintln!("wsgi-tutor: cannot relay the servers' logs: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut signals = Signals::new(false);
    let (tx, mut heard) = mpsc::unbounded_channel();
    let mut wsgi = match Child::spawn(Process::WsgiServer, plan.wsgi_server_command(), &relay, &tx)
    {
        Ok(child) => child,
        Err(err) => return fail(&relay, &err),
    };
    let mut web = match Child::spawn(Process::WebServer, plan.web_server_command(), &relay, &tx) {
        Ok(child) => child,
        Err(err) => {
            wsgi.process.stop(GRACEFUL_TIMEOUT).await;
            return fail(&relay, &err);
        }
    };
    drop(tx);
    let start = start_up(&plan, &mut web, &mut wsgi, &mut heard, &mut signals).await;
    drop(heard);
    let code = match start {
        Start::Ready(startup) => {
            banner(&relay, &plan, &startup, &web, &wsgi);
            serve_until_stopped(&relay, &mut web, &mut wsgi, &mut signals).await
        }
        Start::Exited(kind, status) => {
            let log = match kind {
                Process::WebServer => &mut web.log,
                Process::WsgiServer => &mut wsgi.log,
            };
            // Its last words (why it exited) come before ours.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), log).await;
            relay.say(&not_started(&plan, kind, &status));
            ExitCode::FAILURE
        }
        Start::Stopped => ExitCode::SUCCESS,
    };
    let announce = code == ExitCode::SUCCESS;
    stop(&relay, &mut web, &mut wsgi, &mut signals, announce).await;
    relay.flush();
    code
}

fn fail(relay: &Relay, err: &str) -> ExitCode {
    relay.say(err);
    relay.flush();
    ExitCode::FAILURE
}

/// Wait until both servers listen, one exits, or we are told to stop.
async fn start_up(
    plan: &StackPlan,
    web: &mut Child,
    wsgi: &mut Child,
    heard: &mut mpsc::UnboundedReceiver<Heard>,
    signals: &mut Signals,
) -> Start {
    let mut startup = Startup::new(plan.web_port);
    loop {
        if startup.ready(Instant::now()) {
            return Start::Ready(startup);
        }
        let settle = startup.settle_at();
        tokio::select! {
            Some(h) = heard.recv() => startup.heard(h, Instant::now()),
            () = async { match settle {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            } } => {}
            () = signals.recv() => return Start::Stopped,
            status = web.process.child.wait() => return Start::Exited(Process::WebServer, exit_text(status)),
            status = wsgi.process.child.wait() => return Start::Exited(Process::WsgiServer, exit_text(status)),
        }
    }
}

/// Why a server did not come up, with the holder of its port when that is the reason.
fn not_started(plan: &StackPlan, kind: Process, status: &str) -> String {
    let port = match kind {
        Process::WebServer => plan.web_port,
        Process::WsgiServer => plan.wsgi_port,
    };
    let why = match std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => "its log above says why".to_owned(),
        Err(err) => format!("port {port}: {}", ports::in_use_text(port, &err)),
    };
    format!(
        "the {} exited before it was listening ({status}); {why}",
        describe(kind)
    )
}

/// Where everything runs, once it does.
fn banner(relay: &Relay, plan: &StackPlan, startup: &Startup, web: &Child, wsgi: &Child) {
    let urls = |addrs: &[std::net::SocketAddr]| {
        addrs
            .iter()
            .map(|a| format!("http://{a}/"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    relay.say(&format!("lab folder  {}", plan.lab.display()));
    relay.say(&format!(
        "web server  {}   (pid {}, {})",
        urls(&startup.web),
        web.pid(),
        plan.config.display()
    ));
    relay.say(&format!(
        "WSGI server {}   (pid {}, {}, {} worker{})",
        urls(startup.wsgi.as_slice()),
        wsgi.pid(),
        plan.app,
        plan.workers,
        if plan.workers == 1 { "" } else { "s" }
    ));
    for moved in &plan.moved {
        relay.say(&format!(
            "{}; nginx.conf still says {}, and the web server is told to use {} instead",
            moved.sentence(),
            moved.from,
            moved.to
        ));
    }
    if let Some(front) = startup.front_door() {
        relay.say(&format!(
            "open http://{front}/ (the app, through both servers) and http://{front}/static/ (the web server alone); Ctrl-C stops both"
        ));
    }
}

/// Serve until a signal (success) or until a server exits on its own (failure).
async fn serve_until_stopped(
    relay: &Relay,
    web: &mut Child,
    wsgi: &mut Child,
    signals: &mut Signals,
) -> ExitCode {
    let (kind, status) = tokio::select! {
        () = signals.recv() => return ExitCode::SUCCESS,
        status = web.process.child.wait() => (Process::WebServer, status),
        status = wsgi.process.child.wait() => (Process::WsgiServer, status),
    };
    relay.say(&format!(
        "the {} exited ({})",
        describe(kind),
        exit_text(status)
    ));
    ExitCode::FAILURE
}

/// Stop in order within the graceful timeout; a second signal stops both at once.
async fn stop(
    relay: &Relay,
    web: &mut Child,
    wsgi: &mut Child,
    signals: &mut Signals,
    announce: bool,
) {
    if announce {
        relay.say(&format!(
            "stopping: the web server first, then the WSGI server, letting requests in flight finish (up to {} s; Ctrl-C again stops at once)",
            GRACEFUL_TIMEOUT.as_secs()
        ));
    }
    let at_once = tokio::select! {
        () = supervisor::stop_in_order(Some(&mut web.process), Some(&mut wsgi.process), GRACEFUL_TIMEOUT) => false,
        () = signals.recv() => true,
    };
    if at_once {
        relay.say("stopping at once");
        web.process.kill().await;
        wsgi.process.kill().await;
    }
    relay.say("both servers stopped");
}

fn exit_text(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(err) => err.to_string(),
    }
}
