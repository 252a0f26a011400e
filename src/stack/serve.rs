//! `wsgi-tutor serve`: both servers without the screen, their logs on the terminal — for
//! using a real browser or curl, or for a projector demo.

use std::process::ExitCode;
use std::time::Duration;

use super::describe;
use super::supervisor::{self, ServerProcess, StackPlan, WEB_PORT, WSGI_PORT};
use crate::cli::StackArgs;
use crate::lab::Lab;
use crate::trace::Process;

/// How long servers get to finish in-flight requests when asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Work out ports, app and paths for a stack from the command line and the machine; the
/// note, if any, says why the built-in app runs instead of the lab's Python one.
pub fn plan(args: &StackArgs, trace: bool) -> Result<(StackPlan, Option<String>), String> {
    let lab = Lab::prepare(args.lab.clone()).map_err(|e| format!("{e:#}"))?;
    let lab = lab.path().to_path_buf();
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let web_port = match args.web_port {
        Some(port) => port,
        None => supervisor::free_port(WEB_PORT, &[])
            .ok_or("no free port near 8080 for the web server")?,
    };
    let wsgi_port = match args.wsgi_port {
        Some(port) => port,
        None => supervisor::free_port(WSGI_PORT, &[web_port])
            .ok_or("no free port near 8000 for the WSGI server")?,
    };
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
    };
    Ok((plan, note))
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

async fn run(plan: StackPlan) -> ExitCode {
    let mut wsgi = match ServerProcess::spawn(Process::WsgiServer, plan.wsgi_server_command()) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("wsgi-tutor: cannot start the WSGI server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut web = match ServerProcess::spawn(Process::WebServer, plan.web_server_command()) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("wsgi-tutor: cannot start the web server: {err}");
            wsgi.stop(STOP_GRACE).await;
            return ExitCode::FAILURE;
        }
    };
    eprintln!("wsgi-tutor: lab folder  {}", plan.lab.display());
    eprintln!(
        "wsgi-tutor: web server  http://127.0.0.1:{}/   (pid {}, {})",
        plan.web_port,
        web.pid().unwrap_or(0),
        plan.config.display()
    );
    eprintln!(
        "wsgi-tutor: WSGI server http://127.0.0.1:{}/   (pid {}, {}, {} worker{})",
        plan.wsgi_port,
        wsgi.pid().unwrap_or(0),
        plan.app,
        plan.workers,
        if plan.workers == 1 { "" } else { "s" }
    );
    if plan.web_port != WEB_PORT || plan.wsgi_port != WSGI_PORT {
        eprintln!(
            "wsgi-tutor: 8080 or 8000 was busy, so the servers run on {} and {}; nginx.conf still says {WEB_PORT} and {WSGI_PORT}",
            plan.web_port, plan.wsgi_port
        );
    }
    eprintln!(
        "wsgi-tutor: open http://127.0.0.1:{}/ (the app, through both servers) and http://127.0.0.1:{}/static/ (the web server alone); Ctrl-C stops both",
        plan.web_port, plan.web_port
    );

    let code = tokio::select! {
        () = stop_requested() => ExitCode::SUCCESS,
        status = wsgi.child.wait() => {
            eprintln!("wsgi-tutor: the {} exited ({})", describe(Process::WsgiServer), exit_text(status));
            ExitCode::FAILURE
        }
        status = web.child.wait() => {
            eprintln!("wsgi-tutor: the {} exited ({})", describe(Process::WebServer), exit_text(status));
            ExitCode::FAILURE
        }
    };
    web.stop(STOP_GRACE).await;
    wsgi.stop(STOP_GRACE).await;
    code
}

fn exit_text(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(err) => err.to_string(),
    }
}

#[cfg(unix)]
async fn stop_requested() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

#[cfg(not(unix))]
async fn stop_requested() {
    let _ = tokio::signal::ctrl_c().await;
}
