//! `wsgi-tutor serve`: both servers as children of one process, requests through both,
//! stopping in order with requests in flight, no child left behind when the parent is
//! killed outright, and what it says about ports.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::http::{Response, try_exchange};
use common::ports::{free_port, listening};
use common::process::{BIN, Killed, Lines, contains, eventually, signal, wait_exit};

fn get(port: u16, path: &str) -> Option<Response> {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    try_exchange(port, raw.as_bytes(), Duration::from_secs(30))
}

/// A running `wsgi-tutor serve` and its terminal output (stderr).
struct Serve {
    child: Killed,
    log: Lines,
}

impl Serve {
    fn start(lab: &Path, args: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--lab")
            .arg(lab)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Lines::from_pipe(child.stderr.take().unwrap());
        Serve {
            child: Killed(child),
            log,
        }
    }

    /// On free ports, with the given app and one worker.
    fn on_free_ports(lab: &Path, app: &str) -> (Serve, u16) {
        let (web, wsgi) = (free_port(), free_port());
        let serve = Serve::start(
            lab,
            &[
                "--app",
                app,
                "--workers",
                "1",
                "--web-port",
                &web.to_string(),
                "--wsgi-port",
                &wsgi.to_string(),
            ],
        );
        (serve, web)
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Wait for the line saying where to go, printed once both servers listen.
    fn wait_ready(&self) {
        self.log.wait_for(
            Duration::from_secs(30),
            contains("wsgi-tutor: open http://"),
        );
    }

    /// The pids of the web server, the WSGI server and its booted workers, from the log.
    fn stack_pids(&self) -> Vec<u32> {
        let mut pids = vec![
            pid_after(
                &self
                    .log
                    .wait_for(Duration::from_secs(10), contains("wsgi-tutor: web server ")),
            ),
            pid_after(&self.log.wait_for(
                Duration::from_secs(10),
                contains("wsgi-tutor: WSGI server "),
            )),
        ];
        let worker = self.log.wait_for(
            Duration::from_secs(20),
            contains("Booting worker with pid: "),
        );
        pids.push(
            worker
                .rsplit_once("pid: ")
                .and_then(|(_, p)| p.trim().parse().ok())
                .unwrap(),
        );
        pids
    }

    fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child.0, timeout)
    }
}

/// `... (pid 1234, ...` → 1234.
fn pid_after(line: &str) -> u32 {
    line.split_once("(pid ")
        .and_then(|(_, rest)| rest.split([',', ')']).next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

/// Whether a process is gone (or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn all_gone_within(pids: &[u32], timeout: Duration) -> Result<(), Vec<u32>> {
    if eventually(timeout, || pids.iter().all(|&p| gone(p))) {
        Ok(())
    } else {
        Err(pids.iter().copied().filter(|&p| !gone(p)).collect())
    }
}

#[test]
fn serve_runs_both_servers_and_they_die_with_it() {
    let lab = tempfile::tempdir().unwrap();
    let (web, wsgi) = (free_port(), free_port());
    let mut serve = Serve::start(
        lab.path(),
        &[
            "--app",
            "builtin:hello",
            "--workers",
            "1",
            "--web-port",
            &web.to_string(),
            "--wsgi-port",
            &wsgi.to_string(),
        ],
    );
    serve.wait_ready();
    assert!(listening(web) && listening(wsgi));
    // The lab was written, and the app answers through the web server.
    assert!(lab.path().join("nginx.conf").is_file());
    let page = get(web, "/").unwrap();
    assert_eq!(
        (page.version.as_str(), page.status),
        ("HTTP/1.1", 200),
        "{page:?}"
    );
    assert!(
        page.header("server")
            .is_some_and(|s| s.starts_with("wsgi-tutor")),
        "{page:?}"
    );
    let listing = get(web, "/static/").unwrap();
    assert!(listing.text().contains("index.html"), "{listing:?}");
    assert!(
        serve
            .log
            .count(contains(&format!("http://127.0.0.1:{web}/")))
            > 0,
        "{}",
        serve.log.text()
    );

    // SIGKILL leaves the children no chance to be told; they must notice and exit.
    serve.child.0.kill().unwrap();
    serve.child.0.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while listening(web) || listening(wsgi) {
        assert!(Instant::now() < deadline, "a server outlived its parent");
        thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM of `serve` stops the web server first: it stops accepting and finishes what it
/// is proxying, the WSGI server still answering it, and only then the WSGI server stops.
/// The request takes longer than the web server's old 10 s bound.
#[test]
fn sigterm_lets_a_slow_request_through_both_servers_finish() {
    let lab = tempfile::tempdir().unwrap();
    let (mut serve, web) = Serve::on_free_ports(lab.path(), "apps/slow.py:application");
    serve.wait_ready();
    let pids = serve.stack_pids();
    assert!(get(web, "/?ms=1").is_some_and(|r| r.status == 200));

    let client = thread::spawn(move || get(web, "/?ms=11000"));
    thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(serve.pid(), libc::SIGTERM);

    let answer = client.join().unwrap();
    let answered = signalled.elapsed();
    let answer = answer.unwrap_or_else(|| {
        panic!(
            "no response after {answered:?}; serve said:\n{}",
            serve.log.text()
        )
    });
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.text().contains("Slept 11000 ms"), "{answer:?}");
    let status = serve
        .exit_within(Duration::from_secs(5))
        .expect("serve exits soon after the last request");
    assert!(status.success(), "{status:?}\n{}", serve.log.text());
    if let Err(alive) = all_gone_within(&pids, Duration::from_secs(3)) {
        panic!("still running: {alive:?} of {pids:?}");
    }
    // In order: the web server had stopped before the WSGI server was told to.
    let text = serve.log.text();
    let web_exit = text.find("#0: exit");
    let wsgi_stop = text.find("Control command: stop");
    assert!(
        matches!((web_exit, wsgi_stop), (Some(w), Some(s)) if w < s),
        "{text}"
    );
}

/// SIGKILL of `serve`, with a request keeping a worker busy: the web server, the WSGI
/// server and its worker go at once (Linux: the parent-death signal is SIGKILL).
#[cfg(target_os = "linux")]
#[test]
fn sigkill_takes_the_servers_and_workers_down_at_once() {
    let lab = tempfile::tempdir().unwrap();
    let (mut serve, web) = Serve::on_free_ports(lab.path(), "apps/slow.py:application");
    serve.wait_ready();
    let pids = serve.stack_pids();
    assert!(get(web, "/?ms=1").is_some_and(|r| r.status == 200));
    let _client = thread::spawn(move || get(web, "/?ms=5000"));
    thread::sleep(Duration::from_millis(500));

    serve.child.0.kill().unwrap();
    serve.child.0.wait().unwrap();
    if let Err(alive) = all_gone_within(&pids, Duration::from_secs(1)) {
        panic!("still running 1 s after serve was killed: {alive:?} of {pids:?}");
    }
}

/// An explicit port that is taken: an error naming it and its holder (this test), before
/// any server starts; no URL, no word of a busy default port.
#[rstest::rstest]
#[case::web("--web-port", "--wsgi-port", "web server")]
#[case::wsgi("--wsgi-port", "--web-port", "WSGI server")]
fn an_explicit_busy_port_is_an_error_naming_its_holder(
    #[case] busy_flag: &str,
    #[case] free_flag: &str,
    #[case] server: &str,
) {
    let lab = tempfile::tempdir().unwrap();
    let ours = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = ours.local_addr().unwrap().port();
    let mut serve = Serve::start(
        lab.path(),
        &[
            "--app",
            "builtin:hello",
            busy_flag,
            &port.to_string(),
            free_flag,
            &free_port().to_string(),
        ],
    );
    let status = serve
        .exit_within(Duration::from_secs(20))
        .expect("serve gives up");
    thread::sleep(Duration::from_millis(100));
    let text = serve.log.text();
    assert!(!status.success(), "{status:?}\n{text}");
    assert!(
        text.contains(&format!("the {server} cannot listen on port {port}")),
        "{text}"
    );
    #[cfg(target_os = "linux")]
    assert!(
        text.contains(&format!("in use by pid {}", std::process::id())),
        "{text}"
    );
    assert!(!text.contains("http://"), "{text}");
    assert!(!text.contains("was busy"), "{text}");
    drop(ours);
}

/// A busy default port moves to the next free one, and serve names the port that was busy
/// and where the server went (and nothing about the port that was given).
#[test]
fn a_busy_default_port_is_named_with_where_it_moved() {
    let lab = tempfile::tempdir().unwrap();
    // Ours if it is free; if something else holds it, it is busy all the same.
    let ours = TcpListener::bind("127.0.0.1:8000").ok();
    let web = free_port();
    let mut serve = Serve::start(
        lab.path(),
        &["--app", "builtin:hello", "--web-port", &web.to_string()],
    );
    serve.wait_ready();
    let lines = serve.log.all();
    let busy: Vec<&String> = lines.iter().filter(|l| l.contains("was busy")).collect();
    assert_eq!(busy.len(), 1, "{}", serve.log.text());
    let line = busy[0];
    assert!(line.contains("port 8000 was busy"), "{line}");
    if ours.is_some() {
        assert!(
            line.contains(&format!("pid {}", std::process::id())),
            "{line}"
        );
    }
    let moved: u16 = line
        .split_once("the WSGI server runs on ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no new port in {line:?}"));
    assert!(moved > 8000, "{line}");
    assert!(
        !line.contains("8080") && !line.contains(&web.to_string()),
        "{line}"
    );
    assert!(
        serve
            .log
            .count(contains(&format!("WSGI server http://127.0.0.1:{moved}/")))
            == 1,
        "{}",
        serve.log.text()
    );
    assert!(get(web, "/").is_some_and(|r| r.status == 200));
    signal(serve.pid(), libc::SIGTERM);
    assert!(serve.exit_within(Duration::from_secs(10)).is_some());
    drop(ours);
}
