//! A program run in a private tmux server (its own socket), so a test can read its screen
//! and type into it. The tmux server is killed when the value is dropped.

use std::process::Command;
use std::time::{Duration, Instant};

use super::tools;

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Run `command` (a shell command line) in a detached `width`×`height` session on a
    /// socket named after `name` and this test process. Fails when tmux is missing.
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        tools::require_tmux();
        let socket = format!("wsgi-tutor-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args([
                "-s",
                "test",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(command)
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed: {status}");
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen, as text.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "test"])
    }

    /// Type keys, in tmux's `send-keys` notation (`q`, `Enter`, `C-c`).
    pub fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", "test", keys]);
    }

    /// The pid of the program in the pane.
    pub fn pane_pid(&self) -> u32 {
        self.tmux(&["display", "-p", "-t", "test", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Wait until the screen shows every one of `texts`; that screen. Fails showing the
    /// screen when the timeout passes first.
    pub fn wait_for(&self, timeout: Duration, texts: &[&str]) -> String {
        let end = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "waited {timeout:?} for {texts:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
