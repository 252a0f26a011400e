//! The outside programs some tests need. A missing one fails the test with a message that
//! names it and how to install it (CI installs them all: see `.ci/run`); no test skips
//! itself silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn missing(tool: &str, install: &str) -> ! {
    panic!(
        "this test needs {tool}, which is not installed here; install it with `{install}` \
         (.ci/run installs it on CI)"
    )
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fail unless tmux can be run.
pub fn require_tmux() {
    if !runs("tmux", &["-V"]) {
        missing("tmux", "apt-get install tmux");
    }
}

/// The nginx binary, or fail.
pub fn require_nginx() -> PathBuf {
    let known = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("nginx"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    known
        .chain(on_path)
        .find(|p| Path::new(p).is_file())
        .unwrap_or_else(|| missing("nginx", "apt-get install nginx-light"))
}

/// A Chromium (or Chrome) binary to run headless, or fail.
pub fn require_chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| runs(name, &["--version"]))
        .unwrap_or_else(|| missing("Chromium", "apt-get install chromium"))
}

/// Fail unless `python3` can import `module` (flask, gunicorn, ...).
pub fn require_python_module(module: &str) {
    if !runs("python3", &["-c", &format!("import {module}")]) {
        missing(
            &format!("the Python package {module}"),
            &format!("python3 -m pip install {module}"),
        );
    }
}
