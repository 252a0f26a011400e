//! `wsgi-tutor serve`: both servers as children of one process, requests through both,
//! and no child left behind when the parent is killed outright.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{Response, try_exchange};
use common::ports::{free_port, listening};
use common::process::{BIN, Killed};

fn get(port: u16, path: &str) -> Option<Response> {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    try_exchange(port, raw.as_bytes(), Duration::from_secs(10))
}

#[test]
fn serve_runs_both_servers_and_they_die_with_it() {
    let lab = tempfile::tempdir().unwrap();
    let (web, wsgi) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["serve", "--app", "builtin:hello", "--workers", "1"])
        .arg("--lab")
        .arg(lab.path())
        .args([
            "--web-port",
            &web.to_string(),
            "--wsgi-port",
            &wsgi.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serve = Killed(child);
    let stderr = serve.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    let deadline = Instant::now() + Duration::from_secs(20);
    while !(listening(web) && listening(wsgi)) {
        assert!(
            Instant::now() < deadline,
            "the servers did not start: {:?}",
            rx.try_iter().collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
    let banner: Vec<String> = rx.try_iter().collect();
    assert!(
        banner
            .iter()
            .any(|l| l.contains(&format!("http://127.0.0.1:{web}/"))),
        "{banner:?}"
    );

    // SIGKILL leaves the children no chance to be told; they must notice and exit.
    serve.0.kill().unwrap();
    serve.0.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while listening(web) || listening(wsgi) {
        assert!(Instant::now() < deadline, "a server outlived its parent");
        std::thread::sleep(Duration::from_millis(100));
    }
}
