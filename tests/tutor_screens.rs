//! Whole screens on ratatui's TestBackend at 120x40 and 80x24, as insta snapshots, fed
//! with recorded trace events (times on screen count from the first recorded event). The
//! lessons come from the fixture pack in tests/fixtures/lessons, so rewording a bundled
//! lesson leaves these snapshots alone.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wsgi_tutor::tutor::app::{App, Msg, Planned, ServerState};
use wsgi_tutor::tutor::lessons;
use wsgi_tutor::tutor::theme::{Theme, ThemeKind};
use wsgi_tutor::tutor::ui;

use common::lessons::fixture_lessons;
use common::scenarios::scenario;

/// The lab and state paths, and the clients' ephemeral ports of the recordings, by name:
/// the snapshots say what is shown there, not where a recording was made.
const FILTERS: &[(&str, &str)] = &[
    (r"/home/learner/lab", "[lab]"),
    (r"/state/", "[state]/"),
    (
        r"127\.0\.0\.1:(3[2-9]\d{3}|[45]\d{4}|60\d{3})\b",
        "127.0.0.1:[client port]",
    ),
];

/// Snapshot the screen of `app`, through [`FILTERS`], named after the test.
macro_rules! assert_screen {
    ($app:expr) => {
        insta::with_settings!({ filters => FILTERS.to_vec() }, {
            let screen = screen(&$app);
            insta::assert_snapshot!(screen);
        })
    };
}

fn app(width: u16, height: u16, scenario_name: Option<&str>) -> App {
    lessons::warm_up();
    let mut app = App::new(fixture_lessons(), Theme::new(ThemeKind::Dark), true);
    app.update(Msg::Resize(width, height));
    app.update(Msg::Planned(Planned {
        web_port: 8080,
        wsgi_port: 8000,
        lab: "/home/learner/lab".into(),
        config: "/home/learner/lab/nginx.conf".into(),
        app: "apps/site.py:application".into(),
        workers: 2,
        note: None,
        log: "/state/servers.log".into(),
    }));
    // The servers as a real start reports them (scenarios may not include it).
    app.stack.web.state = ServerState::Listening;
    app.stack.web.pid = Some(4101);
    app.stack.wsgi.state = ServerState::Listening;
    app.stack.wsgi.pid = Some(4102);
    if let Some(name) = scenario_name {
        let events = scenario(name);
        app.watch.start_us = events.iter().map(|e| e.ts_us).min().unwrap_or(0);
        app.update(Msg::Trace { events, now_ms: 0 });
    }
    app
}

fn settle(app: &mut App) {
    for t in 1..300 {
        app.update(Msg::Tick { now_ms: t * 100 });
    }
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|frame| ui::render(frame, app)).unwrap();
    terminal.backend().to_string()
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn press(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn wide_before_any_request() {
    let mut app = app(120, 40, Some("static"));
    // Only the servers' start: no request yet, no task done.
    app.watch.traffic = Default::default();
    app.resume(wsgi_tutor::lessons::progress::Progress::new());
    assert_screen!(app);
}

#[test]
fn wide_with_traffic_inspecting_a_proxied_request() {
    let mut app = app(120, 40, Some("all"));
    settle(&mut app);
    // Select the first request through to the app: GET / (the second oldest).
    let newest = app.watch.traffic.newest().unwrap().seq;
    for _ in 0..(newest - 1) {
        app.update(key('j'));
    }
    assert_eq!(app.watch.selected_request().unwrap().path(), "/");
    assert_screen!(app);
}

#[test]
fn wide_mid_flight_a_static_request_turns_back() {
    let mut app = app(120, 40, Some("static"));
    app.update(Msg::Tick { now_ms: 0 });
    app.update(Msg::Tick { now_ms: 650 });
    assert_screen!(app);
}

#[test]
fn wide_queued_requests_wait_at_the_wsgi_server() {
    let mut app = app(120, 40, Some("queued"));
    app.update(Msg::Tick { now_ms: 0 });
    app.update(Msg::Tick { now_ms: 1000 });
    assert_screen!(app);
}

#[test]
fn wide_help_overlay() {
    let mut app = app(120, 40, None);
    app.update(key('?'));
    assert_screen!(app);
}

#[test]
fn small_tabs_lesson() {
    let mut app = app(80, 24, Some("app"));
    settle(&mut app);
    app.update(press(KeyCode::Tab));
    app.update(press(KeyCode::Tab));
    assert_screen!(app);
}

#[test]
fn small_tabs_traffic_after_a_502() {
    let mut app = app(80, 24, Some("all"));
    settle(&mut app);
    assert_screen!(app);
}

#[test]
fn small_tabs_inspector_of_an_app_error() {
    let mut app = app(80, 24, Some("boom"));
    settle(&mut app);
    app.update(press(KeyCode::Enter));
    for _ in 0..28 {
        app.update(key('j'));
    }
    assert_screen!(app);
}

#[test]
fn small_request_menu() {
    let mut app = app(80, 24, None);
    app.update(key('m'));
    app.update(key('j'));
    app.update(key('j'));
    app.update(key('j'));
    app.update(key('j'));
    assert_screen!(app);
}

#[test]
fn below_the_minimum_size() {
    let app = app(50, 12, None);
    assert_screen!(app);
}

#[test]
fn wide_inspector_grows_when_it_has_the_focus() {
    let mut app = app(120, 40, Some("all"));
    settle(&mut app);
    for _ in 0..3 {
        app.update(key('j'));
    }
    app.update(press(KeyCode::Enter));
    assert_screen!(app);
}

#[test]
fn every_size_draws_without_panicking() {
    let mut app = app(120, 40, Some("all"));
    app.update(Msg::Tick { now_ms: 0 });
    app.update(Msg::Tick { now_ms: 700 });
    for overlay in [None, Some('?'), Some('m'), Some('W')] {
        if let Some(c) = overlay {
            app.update(key(c));
        }
        for width in (1..=140).step_by(11) {
            for height in (1..=50).step_by(6) {
                app.update(Msg::Resize(width, height));
                for _ in 0..3 {
                    app.update(press(KeyCode::Tab));
                    let _ = screen(&app);
                }
            }
        }
        app.update(press(KeyCode::Esc));
    }
}
