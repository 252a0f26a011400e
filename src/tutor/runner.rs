//! The tutor's loop and its effects: owns the terminal and the child servers.
//!
//! Background tasks (each child's trace reader, the stack that starts and stops servers,
//! requests the menu sends) report through one bounded channel of [`Msg`]s; the loop drains
//! it in batches, feeds [`App::update`], performs the [`Effect`]s it returns and redraws
//! only when something changed — at most once per frame, with a frame timer only while the
//! animation moves, so an idle tutor uses no CPU. The first frame is drawn before any
//! server or highlighter has started; they report in when ready.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::app::{App, Effect, Msg, Planned, RequestSpec, Target};
use super::lessons;
use super::serve;
use super::supervisor::{ServerProcess, StackPlan};
use super::theme::Theme;
use crate::cli::{StackArgs, TutorArgs};
use crate::lessons::progress::{Loaded, Store};
use crate::trace::{Event, Process};

/// How many messages may wait for the loop; readers wait (and the servers count dropped
/// events) beyond that.
const CHANNEL: usize = 256;
/// Frames per second while something moves, at most.
const FRAME: Duration = Duration::from_millis(33);
/// How long servers get to finish when the tutor quits or restarts one.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The User-Agent of requests the tutor sends (not a browser's).
pub const USER_AGENT: &str = "wsgi-tutor/0.1";

/// What the stack task is asked to do.
enum StackCmd {
    Control(Process, String),
    StopWsgi,
    StartWsgi { app: String, workers: usize },
    Shutdown(oneshot::Sender<()>),
}

/// Restores the terminal however the loop ends.
struct TerminalGuard {
    mouse: bool,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.mouse {
            let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        }
        ratatui::restore();
    }
}

/// The default state directory (progress and logs).
fn state_dir(arg: Option<PathBuf>) -> Result<PathBuf, String> {
    let dir = match arg {
        Some(dir) => dir,
        None => directories::ProjectDirs::from("", "", "wsgi-tutor")
            .map(|d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf())
            .ok_or("cannot find a state directory; use --state-dir DIR")?,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
    Ok(dir)
}

pub fn main(stack: StackArgs, args: TutorArgs) -> ExitCode {
    let state = match state_dir(args.state_dir.clone()) {
        Ok(dir) => dir,
        Err(err) => {
            eprintln!("wsgi-tutor: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (lessons, errors) = lessons::load(args.lessons.as_deref());
    if args.lessons.is_some() && lessons.is_empty() {
        for error in &errors {
            eprintln!("wsgi-tutor: {error}");
        }
        eprintln!(
            "wsgi-tutor: the lesson pack has problems; `wsgi-tutor lessons check DIR` lists them"
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("wsgi-tutor: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let theme = Theme::from_env(args.no_color, args.light);
    let mouse = !args.no_mouse;
    let mut app = App::new(lessons, theme, mouse);
    if let Some(first) = errors.first() {
        app.notice = Some(format!("a lesson could not be read: {first}"));
    }
    // The checklist: resumed where the learner was; a broken file is kept aside, not lost.
    let store = Store::new(state.clone());
    let (progress, loaded) = store.load();
    app.resume(progress);
    if let Loaded::SetAside(path, why) = loaded {
        app.notice = Some(format!(
            "your progress file could not be used ({why}); it was kept as {} and a new checklist started",
            path.display()
        ));
    }
    let log = state.join("servers.log");
    runtime.block_on(run(app, stack, log, state.join("tutor.log"), store))
}

async fn run(
    mut app: App,
    stack: StackArgs,
    log: PathBuf,
    tutor_log: PathBuf,
    store: Store,
) -> ExitCode {
    let mouse = app.mouse_captured;
    let mut terminal = ratatui::init();
    // ratatui's hook restores the screen on panic; mouse reporting must go off too.
    let restore_screen = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        restore_screen(info);
    }));
    let _guard = TerminalGuard { mouse: true };
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    }
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    let started = Instant::now();
    // The first frame, before anything slow.
    let _ = terminal.draw(|frame| super::ui::render(frame, &app));
    let first_frame = started.elapsed();
    let mut frames: u64 = 1;
    app.dirty = false;

    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            lessons::warm_up();
            let _ = tx.blocking_send(Msg::HighlightReady);
        });
    }
    let (stack_tx, stack_rx) = mpsc::channel::<StackCmd>(16);
    tokio::spawn(stack_task(stack, log, stack_rx, tx.clone(), started));

    let mut events = EventStream::new();
    let mut signals = Signals::new();
    let mut last_draw = Instant::now();
    let mut next_frame = Instant::now();
    let mut msgs: Vec<Msg> = Vec::new();
    loop {
        let animating = app.animating();
        let draw_due = last_draw + Duration::from_millis(16);
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => msgs.extend(term_msg(event)),
                Some(Err(_)) | None => msgs.push(Msg::Key(quit_key())),
            },
            Some(msg) = rx.recv() => {
                msgs.push(msg);
                while msgs.len() < 1024 {
                    match rx.try_recv() {
                        Ok(msg) => msgs.push(msg),
                        Err(_) => break,
                    }
                }
            }
            _ = tokio::time::sleep_until(next_frame.into()), if animating => {
                next_frame = Instant::now() + FRAME;
                msgs.push(Msg::Tick { now_ms: started.elapsed().as_millis() as u64 });
            }
            _ = tokio::time::sleep_until(draw_due.into()), if app.dirty => {}
            _ = signals.recv() => msgs.push(Msg::Key(quit_key())),
        }
        for msg in msgs.drain(..) {
            for effect in app.update(msg) {
                if matches!(effect, Effect::Edit { .. }) {
                    // The terminal's input belongs to the editor until it returns: stop
                    // the reader (a new stream only reads once polled again).
                    drop(std::mem::replace(&mut events, EventStream::new()));
                }
                if let Effect::SaveProgress(progress) = &effect {
                    if let Err(err) = store.save(progress) {
                        app.notice = Some(format!(
                            "cannot save your progress to {}: {err}",
                            store.path().display()
                        ));
                    }
                    continue;
                }
                perform(effect, &mut app, &mut terminal, &stack_tx, &tx).await;
            }
        }
        if app.quit {
            break;
        }
        if !animating && app.animating() {
            next_frame = Instant::now() + FRAME;
        }
        if app.dirty && Instant::now() >= draw_due {
            let _ = terminal.draw(|frame| super::ui::render(frame, &app));
            frames += 1;
            app.dirty = false;
            last_draw = Instant::now();
        }
    }
    // Figures for scripts/bench-tutor.sh.
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&tutor_log)
    {
        let _ = writeln!(
            file,
            "first_frame_ms={:.1} frames={frames} run_s={:.1} requests_seen={} history={} events_dropped={} flights_skipped={}",
            first_frame.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64(),
            app.traffic.iter().last().map_or(0, |r| r.seq + 1),
            app.traffic.len(),
            app.traffic.dropped_events,
            app.animation.skipped,
        );
    }
    // Leave the screen first, then stop the servers.
    drop(_guard);
    let (done_tx, done_rx) = oneshot::channel();
    if stack_tx.send(StackCmd::Shutdown(done_tx)).await.is_ok() {
        let _ = tokio::time::timeout(STOP_GRACE * 2, done_rx).await;
    }
    ExitCode::SUCCESS
}

fn quit_key() -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('q'),
        crossterm::event::KeyModifiers::NONE,
    )
}

fn term_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

async fn perform(
    effect: Effect,
    app: &mut App,
    terminal: &mut DefaultTerminal,
    stack: &mpsc::Sender<StackCmd>,
    tx: &mpsc::Sender<Msg>,
) {
    match effect {
        Effect::Quit | Effect::SaveProgress(_) => {}
        Effect::Control(process, line) => {
            let _ = stack.send(StackCmd::Control(process, line)).await;
        }
        Effect::StopWsgi => {
            let _ = stack.send(StackCmd::StopWsgi).await;
        }
        Effect::StartWsgi { app, workers } => {
            let _ = stack.send(StackCmd::StartWsgi { app, workers }).await;
        }
        Effect::SendRequest(spec) => {
            let port = match spec.to {
                Target::WebServer => app.web.port,
                Target::WsgiServer => app.wsgi.port,
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = send_request(&spec, port).await;
                let _ = tx
                    .send(Msg::RequestDone {
                        label: format!("{} {}", spec.method, spec.target),
                        result,
                    })
                    .await;
            });
        }
        Effect::RestoreFile { relative } => {
            let lab = crate::lab::Lab::prepare(Some(app.lab.clone()));
            let Some(original) = lab.ok().and_then(|lab| lab.original(&relative)) else {
                return;
            };
            let path = app.lab.join(&relative);
            let text = match std::fs::write(&path, original) {
                Ok(()) => {
                    let server = if relative == "nginx.conf" {
                        Process::WebServer
                    } else {
                        Process::WsgiServer
                    };
                    if relative != "nginx.conf" && !relative.starts_with("apps/") {
                        format!("{relative} restored")
                    } else {
                        let _ = stack.send(StackCmd::Control(server, "reload".into())).await;
                        format!(
                            "{relative} restored; the {} reloads it",
                            super::supervisor::describe(server)
                        )
                    }
                }
                Err(e) => format!("cannot write {}: {e}", path.display()),
            };
            app.update(Msg::Notice(text));
        }
        Effect::SetMouseCapture(on) => {
            let _ = if on {
                crossterm::execute!(std::io::stdout(), EnableMouseCapture)
            } else {
                crossterm::execute!(std::io::stdout(), DisableMouseCapture)
            };
        }
        Effect::Edit { path, target } => {
            let ok = edit(&path, terminal, app.mouse_captured);
            app.dirty = true;
            let follow_up = app.update(Msg::EditorDone { target, ok });
            for effect in follow_up {
                if let Effect::Control(process, line) = effect {
                    let _ = stack.send(StackCmd::Control(process, line)).await;
                }
            }
        }
    }
}

/// Hand the terminal to `$VISUAL` / `$EDITOR` (vi by default) and take it back.
fn edit(path: &Path, terminal: &mut DefaultTerminal, mouse: bool) -> bool {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(path)
        .status();
    let _ = crossterm::terminal::enable_raw_mode();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen);
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    }
    // Not `terminal.clear()`: it first asks the terminal where the cursor is, and when the
    // answer does not come back it gives up without forgetting the last frame, so the next
    // one would draw only what changed onto a blank screen. Wipe the screen and forget
    // both buffers instead: the next frame is drawn whole.
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    );
    terminal.swap_buffers();
    terminal.swap_buffers();
    status.is_ok_and(|s| s.success())
}

/// A small HTTP/1.1 client: send, read the status, drain the body. Returns the status.
pub async fn send_request(spec: &RequestSpec, port: u16) -> Result<u16, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n",
            spec.method, spec.target
        );
        for (name, value) in &spec.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = spec.body.clone().unwrap_or_default();
        if spec.body.is_some() {
            if !spec
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            }
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .await
            .map_err(|e| e.to_string())?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("not an HTTP response: {status_line:?}"))?;
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink).await;
        Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(120), exchange)
        .await
        .unwrap_or_else(|_| Err("no answer within 120 s".into()))
}

/// Runs the two servers: starts them, forwards control lines, restarts the WSGI server,
/// and reports their pids, trace events and exits.
async fn stack_task(
    args: StackArgs,
    log: PathBuf,
    mut cmds: mpsc::Receiver<StackCmd>,
    tx: mpsc::Sender<Msg>,
    started: Instant,
) {
    let planned = tokio::task::spawn_blocking(move || serve::plan(&args, true)).await;
    let mut plan = match planned {
        Ok(Ok((plan, note))) => {
            let _ = tx
                .send(Msg::Planned(Planned {
                    web_port: plan.web_port,
                    wsgi_port: plan.wsgi_port,
                    lab: plan.lab.clone(),
                    config: plan.config.clone(),
                    app: plan.app.clone(),
                    workers: plan.workers,
                    note,
                    log: log.clone(),
                }))
                .await;
            plan
        }
        Ok(Err(error)) => {
            let _ = tx
                .send(Msg::Notice(format!("cannot start the stack: {error}")))
                .await;
            return;
        }
        Err(error) => {
            let _ = tx
                .send(Msg::Notice(format!("cannot start the stack: {error}")))
                .await;
            return;
        }
    };
    let mut wsgi = spawn(Process::WsgiServer, &plan, &log, &tx, started).await;
    let mut web = spawn(Process::WebServer, &plan, &log, &tx, started).await;
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None => break,
                Some(StackCmd::Shutdown(done)) => {
                    if let Some(mut p) = web.take() {
                        p.stop(STOP_GRACE).await;
                    }
                    if let Some(mut p) = wsgi.take() {
                        p.stop(STOP_GRACE).await;
                    }
                    let _ = done.send(());
                    return;
                }
                Some(StackCmd::Control(process, line)) => {
                    let target = match process {
                        Process::WebServer => web.as_mut(),
                        Process::WsgiServer => wsgi.as_mut(),
                    };
                    let result = match target {
                        Some(p) => p.control(&line).await.map_err(|e| e.to_string()),
                        None => Err("it is not running".to_owned()),
                    };
                    if let Err(e) = result {
                        let _ = tx.send(Msg::Notice(format!(
                            "cannot send {line:?} to the {}: {e}",
                            super::supervisor::describe(process)
                        ))).await;
                    }
                }
                Some(StackCmd::StopWsgi) => {
                    if let Some(mut p) = wsgi.take() {
                        p.stop(STOP_GRACE).await;
                        let _ = tx.send(Msg::ServerExited {
                            process: Process::WsgiServer,
                            status: "stopped".into(),
                            expected: true,
                        }).await;
                    }
                }
                Some(StackCmd::StartWsgi { app, workers }) => {
                    if let Some(mut p) = wsgi.take() {
                        p.stop(STOP_GRACE).await;
                        let _ = tx.send(Msg::ServerExited {
                            process: Process::WsgiServer,
                            status: super::app::RESTARTING.into(),
                            expected: true,
                        }).await;
                    }
                    plan.app = app;
                    plan.workers = workers;
                    wsgi = spawn(Process::WsgiServer, &plan, &log, &tx, started).await;
                }
            },
            status = wait(&mut wsgi) => {
                wsgi = None;
                let _ = tx.send(Msg::ServerExited { process: Process::WsgiServer, status, expected: false }).await;
            }
            status = wait(&mut web) => {
                web = None;
                let _ = tx.send(Msg::ServerExited { process: Process::WebServer, status, expected: false }).await;
            }
        }
    }
}

async fn wait(server: &mut Option<ServerProcess>) -> String {
    match server.as_mut() {
        Some(p) => match p.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        },
        None => std::future::pending().await,
    }
}

/// Start one server with its trace on a pipe and its log in the state directory.
async fn spawn(
    process: Process,
    plan: &StackPlan,
    log: &Path,
    tx: &mpsc::Sender<Msg>,
    started: Instant,
) -> Option<ServerProcess> {
    let mut cmd = match process {
        Process::WebServer => plan.web_server_command(),
        Process::WsgiServer => plan.wsgi_server_command(),
    };
    cmd.stdout(Stdio::piped());
    // Signals from the terminal (SIGHUP when the window closes) are the tutor's to handle:
    // it stops the servers in order; the servers still die with it (stdin, PDEATHSIG).
    #[cfg(unix)]
    cmd.process_group(0);
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        Ok(mut file) => {
            let _ = writeln!(
                file,
                "---- wsgi-tutor: starting the {}",
                super::supervisor::describe(process)
            );
            cmd.stderr(file);
        }
        Err(_) => {
            cmd.stderr(Stdio::null());
        }
    }
    match ServerProcess::spawn(process, cmd) {
        Ok(mut server) => {
            if let Some(stdout) = server.child.stdout.take() {
                tokio::spawn(read_trace(stdout, tx.clone(), started));
            }
            if let Some(pid) = server.pid() {
                let _ = tx.send(Msg::ServerStarted { process, pid }).await;
            }
            Some(server)
        }
        Err(error) => {
            let _ = tx
                .send(Msg::ServerFailed {
                    process,
                    error: error.to_string(),
                })
                .await;
            None
        }
    }
}

/// Read JSON lines from a server, in batches of whatever is already buffered.
async fn read_trace(stdout: tokio::process::ChildStdout, tx: mpsc::Sender<Msg>, started: Instant) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = String::new();
    loop {
        let mut events: Vec<Event> = Vec::new();
        loop {
            line.clear();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => {
                    if !events.is_empty() {
                        let now_ms = started.elapsed().as_millis() as u64;
                        let _ = tx.send(Msg::Trace { events, now_ms }).await;
                    }
                    return;
                }
                Ok(_) => {
                    if let Ok(event) = serde_json::from_str::<Event>(line.trim_end()) {
                        events.push(event);
                    }
                }
            }
            if reader.buffer().is_empty() || events.len() >= 512 {
                break;
            }
        }
        if events.is_empty() {
            continue;
        }
        let now_ms = started.elapsed().as_millis() as u64;
        if tx.send(Msg::Trace { events, now_ms }).await.is_err() {
            return;
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP from outside end the tutor cleanly.
struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [
                SignalKind::terminate(),
                SignalKind::interrupt(),
                SignalKind::hangup(),
            ]
            .into_iter()
            .filter_map(|kind| signal(kind).ok())
            .collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                return std::future::pending().await;
            }
            let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            let _ = futures_util::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
