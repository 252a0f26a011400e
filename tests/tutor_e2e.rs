//! The tutor for real, in tmux: a request sent with an HTTP client appears in the traffic
//! list and the inspector shows its environ; `q` leaves no server behind; SIGKILL of the
//! tutor leaves no child listening either. Needs tmux (and Chromium for the browser test):
//! a missing one fails the test, naming it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::http::try_exchange;
use common::ports::{free_port, listening, wait_closed};
use common::process::BIN;
use common::tmux::Tmux;
use common::tools::require_chromium;

/// GET with extra headers; the status, if any answer came.
fn get(port: u16, path: &str, headers: &str) -> Option<u16> {
    let raw = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: e2e-test\r\n{headers}Connection: close\r\n\r\n"
    );
    try_exchange(port, raw.as_bytes(), Duration::from_secs(10)).map(|r| r.status)
}

/// A tutor running in a private tmux server, killed at the end whatever happens.
struct Session {
    tmux: Tmux,
    web: u16,
    wsgi: u16,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Session {
    fn start(name: &str) -> Session {
        Session::start_with_state(name, |_| {})
    }

    /// Start with something already in the state directory.
    fn start_with_state(name: &str, prepare: impl FnOnce(&std::path::Path)) -> Session {
        Session::start_with(name, "", prepare)
    }

    /// Start with environment assignments (`VISUAL=true`) and a prepared state directory.
    fn start_with(name: &str, env: &str, prepare: impl FnOnce(&std::path::Path)) -> Session {
        let lab = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        prepare(state.path());
        let (web, wsgi) = (free_port(), free_port());
        let command = format!(
            "{env} exec '{BIN}' --lab '{}' --state-dir '{}' --web-port {web} --wsgi-port {wsgi} --workers 1",
            lab.path().display(),
            state.path().display(),
        );
        Session {
            tmux: Tmux::start(name, &command, 120, 90),
            web,
            wsgi,
            _dirs: (lab, state),
        }
    }

    fn screen(&self) -> String {
        self.tmux.screen()
    }

    fn keys(&self, keys: &str) {
        self.tmux.keys(keys);
    }

    fn tutor_pid(&self) -> u32 {
        self.tmux.pane_pid()
    }

    /// Wait until the screen shows every text, or fail showing the screen.
    fn wait_for(&self, within: Duration, texts: &[&str]) -> String {
        self.tmux.wait_for(within, texts)
    }

    /// Wait until the app answers through both servers.
    fn wait_ready(&self) {
        let end = Instant::now() + Duration::from_secs(30);
        while get(self.web, "/hello", "") != Some(200) {
            assert!(
                Instant::now() < end,
                "the stack did not come up; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn a_curl_request_shows_in_the_traffic_list_and_the_inspector_shows_its_environ() {
    let session = Session::start("environ");
    session.wait_for(Duration::from_secs(10), &["Diagram", "Traffic"]);
    session.wait_ready();
    assert_eq!(
        get(session.web, "/environ?from=e2e", "X-Color: teal\r\n"),
        Some(200)
    );
    let screen = session.wait_for(
        Duration::from_secs(10),
        &[
            "/environ?from=e2e",
            "The environ the app received",
            "HTTP_X_COLOR",
            "teal",
            "QUERY_STRING",
        ],
    );
    assert!(screen.contains(&format!(":{}", session.web)), "{screen}");
    // A static file never reaches the WSGI server, and the list says so.
    assert_eq!(get(session.web, "/static/style.css", ""), Some(200));
    session.wait_for(Duration::from_secs(10), &["/static/style.css", "static"]);

    session.keys("q");
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "still listening after q: {open:?}");
}

#[test]
fn stopping_the_wsgi_server_turns_app_requests_into_502_from_the_web_server() {
    let session = Session::start("stop");
    session.wait_ready();
    session.keys("s");
    assert!(
        wait_closed(&[session.wsgi], Duration::from_secs(15)).is_empty(),
        "the WSGI server still listens"
    );
    assert_eq!(get(session.web, "/", ""), Some(502));
    session.wait_for(Duration::from_secs(10), &["stopped", "502", "web error"]);
    session.keys("s");
    session.wait_ready();
}

#[test]
fn sigkill_of_the_tutor_leaves_no_child_listening() {
    let session = Session::start("kill");
    session.wait_ready();
    assert!(listening(session.wsgi));
    let pid = session.tutor_pid();
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "children still listening: {open:?}");
}

/// The traffic row for a path, as the screen shows it.
fn row<'a>(screen: &'a str, path: &str) -> Option<&'a str> {
    // The diagram's title names the request in flight too; rows are in the list.
    screen
        .lines()
        .filter(|line| !line.contains("Diagram"))
        .find(|line| {
            line.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0] == "GET" && w[1] == path)
        })
}

#[test]
fn a_real_browsers_requests_all_appear_with_the_right_served_by() {
    let browser = require_chromium();
    let session = Session::start("browser");
    session.wait_ready();
    let profile = tempfile::tempdir().unwrap();
    for page in ["/", "/static/"] {
        let status = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--virtual-time-budget=3000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("http://127.0.0.1:{}{page}", session.web))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{browser} failed on {page}");
    }
    // Page, stylesheet and image always; the favicon is best-effort in a headless browser,
    // so at least one of the two (the app's 404 for /favicon.ico, or the static one).
    let expect = [
        ("/", "WSGI"),
        ("/static/style.css", "static"),
        ("/static/images/badge.png", "static"),
    ];
    let favicons = [("/favicon.ico", "WSGI"), ("/static/favicon.ico", "static")];
    let end = Instant::now() + Duration::from_secs(30);
    let screen = loop {
        let screen = session.screen();
        let all = expect.iter().all(|(path, _)| row(&screen, path).is_some())
            && favicons
                .iter()
                .any(|(path, _)| row(&screen, path).is_some());
        if all || Instant::now() > end {
            break screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for (path, served_by) in favicons {
        if let Some(line) = row(&screen, path) {
            assert!(line.contains(served_by), "{path}: {line}");
        }
    }
    assert!(
        favicons
            .iter()
            .any(|(path, _)| row(&screen, path).is_some()),
        "no favicon request:\n{screen}"
    );
    for (path, served_by) in expect {
        let line = row(&screen, path).unwrap_or_else(|| panic!("no row for {path}:\n{screen}"));
        assert!(
            line.contains(served_by),
            "{path} should be served by {served_by}: {line}"
        );
    }
}

#[test]
fn sigterm_stops_the_tutor_and_both_servers() {
    let session = Session::start("term");
    session.wait_ready();
    // With a question open, which would take a `q` as "no".
    session.keys("L");
    session.keys("r");
    session.wait_for(Duration::from_secs(10), &["y resets"]);
    let pid = session.tutor_pid();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "still listening after SIGTERM: {open:?}");
    let end = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < end, "the tutor did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_request_menu_sends_a_real_request_through_both_servers() {
    let session = Session::start("menu");
    session.wait_ready();
    session.keys("m");
    session.wait_for(
        Duration::from_secs(10),
        &[
            "Send a request",
            &format!("curl -i 'http://127.0.0.1:{}/'", session.web),
        ],
    );
    session.keys("Enter");
    let screen = session.wait_for(
        Duration::from_secs(15),
        &[
            "GET / → 200",
            "user-agent: wsgi-tutor/0.1",
            "x-forwarded-for",
        ],
    );
    assert!(
        row(&screen, "/").is_some_and(|line| line.contains("WSGI")),
        "{screen}"
    );
}

#[test]
fn lesson_three_traffic_tasks_complete_from_real_requests_and_are_saved() {
    let session = Session::start("lesson3");
    session.wait_for(Duration::from_secs(10), &["Lesson 1/"]);
    session.keys("n");
    session.keys("n");
    session.wait_for(
        Duration::from_secs(10),
        &["Lesson 3/", "The web server decides"],
    );
    session.wait_ready();
    // The wrong way first: straight to the WSGI server does not count for "static-file".
    assert_eq!(get(session.wsgi, "/static/style.css", ""), Some(404));
    for path in ["/static/style.css", "/static/docs/", "/"] {
        assert_eq!(get(session.web, path, ""), Some(200), "{path}");
    }
    let progress = wait_progress(&session, Duration::from_secs(10), |p| {
        let done = &p["lessons"]["web-server-decides"]["done"];
        ["static-file", "listing", "pass-through"]
            .iter()
            .all(|t| done[t].is_string())
    });
    assert_eq!(progress["current"], "web-server-decides");
    session.wait_for(Duration::from_secs(5), &["☑ Fetch /static/style.css"]);
    session.keys("q");
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "still listening after q: {open:?}");
}

/// Read progress.json until `done(progress)` holds, or fail showing the file and screen.
fn wait_progress(
    session: &Session,
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let progress_file = session._dirs.1.path().join("progress.json");
    let end = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(&progress_file).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < end,
            "progress.json: {text}\nscreen:\n{}",
            session.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_task_ticked_by_editing_the_app_is_saved() {
    // The editor is `true`: it exits at once, as if the learner saved and quit.
    let session = Session::start_with("edit", "VISUAL=true EDITOR=true", |state| {
        let progress = r#"{"version":1,"current":"your-own-app","lessons":{}}"#;
        std::fs::write(state.join("progress.json"), progress).unwrap();
    });
    session.wait_for(Duration::from_secs(10), &["Your own app"]);
    session.wait_ready();
    session.keys("E");
    session.wait_for(
        Duration::from_secs(10),
        &["task done: Edit the app and reload it"],
    );
    // Saved now, not only at quit: a crash after the tick would keep it.
    wait_progress(&session, Duration::from_secs(10), |p| {
        p["lessons"]["your-own-app"]["done"]["reload-app"].is_string()
    });
    session.keys("q");
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "still listening after q: {open:?}");
}

#[test]
fn a_corrupt_progress_file_is_kept_aside_and_the_tutor_starts() {
    let session = Session::start_with_state("corrupt", |state| {
        std::fs::write(state.join("progress.json"), "{ this is not json").unwrap();
    });
    session.wait_for(Duration::from_secs(10), &["Lesson 1/", "could not be used"]);
    let state = session._dirs.1.path();
    let kept: Vec<_> = std::fs::read_dir(state)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("progress.json.corrupt-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(kept[0].path()).unwrap(),
        "{ this is not json"
    );
    session.keys("q");
    let open = wait_closed(&[session.web, session.wsgi], Duration::from_secs(15));
    assert!(open.is_empty(), "still listening after q: {open:?}");
}
