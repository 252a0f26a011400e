//! The tutor's loop: key, mouse and resize events, the stack's reports and trace batches
//! from one bounded channel, a frame timer only while the animation moves. Messages go to
//! [`App::update`], its effects to the [`Executor`], their results back into the queue;
//! the screen is redrawn only when something changed — at most once per frame — so an
//! idle tutor uses no CPU. The first frame is drawn before any server or highlighter has
//! started; they report in when ready.

use crate::stack::signals::Signals;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::app::{App, Effect, Msg};
use super::effects::Executor;
use super::lessons;
use super::terminal::TerminalGuard;
use super::theme::Theme;
use super::ui::Screen;
use crate::cli::{StackArgs, TutorArgs};
use crate::control::GRACEFUL_TIMEOUT;
use crate::lessons::progress::{Loaded, Store};
use crate::stack::children::{Stack, StackCmd};

/// How many messages may wait for the loop; readers wait (and the servers count dropped
/// events) beyond that.
const CHANNEL: usize = 256;
/// Frames per second while something moves, at most.
const FRAME: Duration = Duration::from_millis(33);
/// The shortest time between two frames.
const MIN_FRAME: Duration = Duration::from_millis(16);

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
    let Some(runtime) = crate::stack::runtime() else {
        return ExitCode::FAILURE;
    };
    let theme = Theme::from_env(args.no_color, args.light);
    let mut app = App::new(lessons, theme, !args.no_mouse);
    if let Some(first) = errors.first() {
        app.notices
            .say(format!("a lesson could not be read: {first}"));
    }
    // The checklist: resumed where the learner was; a broken file is kept aside, not lost.
    let store = Store::new(state.clone());
    let (progress, loaded) = store.load();
    app.resume(progress);
    if let Loaded::SetAside(path, why) = loaded {
        app.notices.say(format!(
            "your progress file could not be used ({why}); it was kept as {} and a new checklist started",
            path.display()
        ));
    }
    let files = Files {
        servers_log: state.join("servers.log"),
        tutor_log: state.join("tutor.log"),
    };
    diagnostics(&files.tutor_log);
    tracing::info!(state = %state.display(), "wsgi-tutor {} starting", env!("CARGO_PKG_VERSION"));
    runtime.block_on(run(app, stack, files, store))
}

struct Files {
    servers_log: PathBuf,
    /// The tutor's diagnostics, and the run's figures for scripts/bench-tutor.sh.
    tutor_log: PathBuf,
}

async fn run(app: App, args: StackArgs, files: Files, store: Store) -> ExitCode {
    let mut tutor = Tutor::start(app, args, files, store);
    tutor.run().await;
    tutor.finish().await;
    ExitCode::SUCCESS
}

/// The loop's state: the model, the screen and what performs effects.
struct Tutor {
    app: App,
    view: Screen,
    exec: Executor,
    rx: mpsc::Receiver<Msg>,
    events: EventStream,
    signals: Signals,
    queue: VecDeque<Msg>,
    started: Instant,
    first_frame: Duration,
    frames: u64,
    last_draw: Instant,
    next_frame: Instant,
}

impl Tutor {
    /// Take the screen and draw the first frame, then start what is slow: the
    /// highlighter and the stack report in when ready.
    fn start(mut app: App, args: StackArgs, files: Files, store: Store) -> Tutor {
        let started = Instant::now();
        let screen = TerminalGuard::enter(app.mouse_captured);
        let (tx, rx) = mpsc::channel::<Msg>(CHANNEL);
        let (stack_tx, stack_rx) = mpsc::channel::<StackCmd>(16);
        let mouse = app.mouse_captured;
        let mut exec = Executor {
            screen,
            stack: stack_tx,
            tx: tx.clone(),
            store,
            mouse,
        };
        if let Ok(size) = exec.screen.terminal.size() {
            app.size = (size.width, size.height);
        }
        let mut view = Screen::default();
        let _ = exec.screen.terminal.draw(|frame| view.draw(frame, &app));
        let first_frame = started.elapsed();
        app.dirty = false;
        let highlighter_tx = tx.clone();
        std::thread::spawn(move || {
            lessons::warm_up();
            let _ = highlighter_tx.blocking_send(Msg::HighlightReady);
        });
        let stack = Stack {
            args,
            log: files.servers_log,
            tx,
            started,
        };
        tokio::spawn(stack.run(stack_rx));
        Tutor {
            app,
            view,
            exec,
            rx,
            events: EventStream::new(),
            signals: Signals::new(true),
            queue: VecDeque::new(),
            started,
            first_frame,
            frames: 1,
            last_draw: Instant::now(),
            next_frame: Instant::now(),
        }
    }

    async fn run(&mut self) {
        loop {
            let animating = self.app.animating();
            self.wait().await;
            self.handle().await;
            if self.app.quit {
                return;
            }
            if !animating && self.app.animating() {
                self.next_frame = Instant::now() + FRAME;
            }
            self.draw();
        }
    }

    /// Wait for the next thing to happen; it lands in the queue.
    async fn wait(&mut self) {
        let draw_due = self.last_draw + MIN_FRAME;
        let (animating, dirty) = (self.app.animating(), self.app.dirty);
        tokio::select! {
            event = self.events.next() => match event {
                Some(Ok(event)) => self.queue.extend(term_msg(event)),
                Some(Err(_)) | None => self.queue.push_back(Msg::Quit),
            },
            Some(msg) = self.rx.recv() => {
                self.queue.push_back(msg);
                while self.queue.len() < 1024 && let Ok(msg) = self.rx.try_recv() {
                    self.queue.push_back(msg);
                }
            }
            () = tokio::time::sleep_until(self.next_frame.into()), if animating => {
                self.next_frame = Instant::now() + FRAME;
                let now_ms = self.started.elapsed().as_millis() as u64;
                self.queue.push_back(Msg::Tick { now_ms });
            }
            () = tokio::time::sleep_until(draw_due.into()), if dirty => {}
            () = self.signals.recv() => self.queue.push_back(Msg::Quit),
        }
    }

    /// Every queued message through `update`; each effect's result joins the queue.
    async fn handle(&mut self) {
        while let Some(msg) = self.queue.pop_front() {
            for effect in self.app.update(msg) {
                if matches!(effect, Effect::Edit { .. }) {
                    // The terminal's input belongs to the editor until it returns: stop
                    // the reader (a new stream only reads once polled again).
                    drop(std::mem::replace(&mut self.events, EventStream::new()));
                    self.app.dirty = true;
                }
                self.queue.extend(self.exec.perform(effect).await);
            }
        }
    }

    /// Redraw when something changed, at most once per frame.
    fn draw(&mut self) {
        if self.app.dirty && Instant::now() >= self.last_draw + MIN_FRAME {
            let (view, app) = (&mut self.view, &self.app);
            let _ = self
                .exec
                .screen
                .terminal
                .draw(|frame| view.draw(frame, app));
            self.frames += 1;
            self.app.dirty = false;
            self.last_draw = Instant::now();
        }
    }

    /// Leave the screen first, then stop the servers.
    async fn finish(self) {
        let watch = &self.app.watch;
        let figures = format!(
            "first_frame_ms={:.1} frames={} run_s={:.1} requests_seen={} history={} events_dropped={} flights_skipped={}",
            self.first_frame.as_secs_f64() * 1e3,
            self.frames,
            self.started.elapsed().as_secs_f64(),
            watch.traffic.iter().last().map_or(0, |r| r.seq + 1),
            watch.traffic.len(),
            watch.traffic.dropped_events,
            watch.animation.skipped,
        );
        tracing::info!("{figures}");
        let Executor { screen, stack, .. } = self.exec;
        let mut signals = self.signals;
        drop(screen);
        let (done_tx, mut done_rx) = oneshot::channel();
        if stack.send(StackCmd::Shutdown(done_tx)).await.is_err() {
            return;
        }
        // The servers stop in order and let requests in flight finish; say so when that
        // takes a moment. A second Ctrl-C leaves at once (the servers die with us).
        let limit = GRACEFUL_TIMEOUT + Duration::from_secs(10);
        if tokio::time::timeout(Duration::from_millis(500), &mut done_rx)
            .await
            .is_ok()
        {
            return;
        }
        eprintln!(
            "wsgi-tutor: stopping the servers, letting requests in flight finish (up to {} s; Ctrl-C again stops at once)",
            GRACEFUL_TIMEOUT.as_secs()
        );
        tokio::select! {
            _ = tokio::time::timeout(limit, done_rx) => {}
            () = signals.recv() => {}
        }
    }
}

/// The tutor's own diagnostics go to `tutor.log` in the state directory (the screen is
/// the learner's): start-up, effects that failed, the stack's exits, the run's figures.
fn diagnostics(path: &std::path::Path) {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

fn term_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}
