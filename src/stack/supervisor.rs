//! Running the stack: the web server and the WSGI server as child processes of this binary.
//!
//! Ports: 8080 and 8000 when free, otherwise the next free ones; the learner's nginx.conf is
//! left as written and the web server is told to move (`--port 8080:8081`).
//! Control goes over each child's stdin (`--control-stdin`: `reload`, `workers N`, `stop`),
//! which works on every platform. Stopping is in order ([`stop_in_order`]): the web server
//! first, so it stops accepting and finishes what it is proxying, then the WSGI server.
//!
//! No orphans: on Linux the kernel kills each server the moment this process dies
//! (PR_SET_PDEATHSIG with SIGKILL; the WSGI server does the same for its workers), so even
//! `kill -9` of `serve` or the tutor takes the whole stack down at once. Elsewhere the pipes
//! close, the servers read end-of-file on stdin and stop gracefully. On Unix each server has
//! its own process group, so Ctrl-C in the terminal reaches only us, and we stop them in
//! order rather than all at once.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::control;
use crate::trace::Process;

/// Where and how to run the two servers.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// This binary: both servers are its subcommands.
    pub exe: PathBuf,
    pub lab: PathBuf,
    /// The web server's configuration (the lab's nginx.conf unless `--config`).
    pub config: PathBuf,
    /// The WSGI application: `apps/site.py:application`, `builtin:site`, ...
    pub app: String,
    pub workers: usize,
    pub web_port: u16,
    pub wsgi_port: u16,
    /// Ask both for `--trace-json` on stdout (the tutor reads it; `serve` does not).
    pub trace: bool,
    /// The default ports that were busy, and where the servers went instead.
    pub moved: Vec<super::ports::Moved>,
}

/// The ports the lab's configuration is written for.
pub const WEB_PORT: u16 = 8080;
pub const WSGI_PORT: u16 = 8000;

/// `preferred` if nothing listens there on 127.0.0.1, else the next free port above it.
pub fn free_port(preferred: u16, taken: &[u16]) -> Option<u16> {
    (preferred..=preferred.saturating_add(200))
        .filter(|p| !taken.contains(p))
        .find(|&port| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok())
}

impl StackPlan {
    pub fn web_server_command(&self) -> Command {
        let mut cmd = child_command(&self.exe);
        cmd.arg("web-server")
            .arg("-c")
            .arg(&self.config)
            .arg("--control-stdin");
        if self.web_port != WEB_PORT {
            cmd.arg("--port")
                .arg(format!("{WEB_PORT}:{}", self.web_port));
        }
        if self.wsgi_port != WSGI_PORT {
            cmd.arg("--port")
                .arg(format!("{WSGI_PORT}:{}", self.wsgi_port));
        }
        if self.trace {
            cmd.arg("--trace-json");
        }
        cmd.current_dir(&self.lab);
        cmd
    }

    pub fn wsgi_server_command(&self) -> Command {
        let mut cmd = child_command(&self.exe);
        cmd.arg("wsgi-server")
            .arg("-b")
            .arg(format!("127.0.0.1:{}", self.wsgi_port))
            .arg("-w")
            .arg(self.workers.to_string())
            .arg("--chdir")
            .arg(&self.lab)
            .arg("--control-stdin");
        if self.trace {
            cmd.arg("--trace-json");
        }
        cmd.arg(&self.app);
        cmd.current_dir(&self.lab);
        cmd
    }
}

fn child_command(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.stdin(Stdio::piped()).kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    die_with_parent(&mut cmd);
    cmd
}

/// Linux: the child is killed by the kernel when this process dies, however it dies.
#[cfg(target_os = "linux")]
pub fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id();
    // SAFETY: prctl and getppid are async-signal-safe, and nothing else runs between fork
    // and exec here. The death signal is armed by the thread that forks, so the children are
    // spawned from the runtime's own threads, which live as long as the process.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(std::io::Error::other("the parent exited while starting"));
            }
            Ok(())
        });
    }
}

/// Elsewhere the child stops when its stdin (our pipe) reaches end-of-file.
#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_cmd: &mut Command) {}

/// One running server.
pub struct ServerProcess {
    pub kind: Process,
    pub child: Child,
    stdin: Option<ChildStdin>,
}

impl ServerProcess {
    pub fn spawn(kind: Process, mut cmd: Command) -> std::io::Result<ServerProcess> {
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        Ok(ServerProcess { kind, child, stdin })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Send one control command (`reload`, `workers 4`, `stop`) as its line.
    pub async fn control(&mut self, command: control::Command) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the server's control pipe is closed"))?;
        stdin.write_all(format!("{command}\n").as_bytes()).await?;
        stdin.flush().await
    }

    /// Ask the server to stop, give it `grace` to finish in-flight requests, then kill it.
    /// The control pipe stays open while it finishes: its end would mean "stop now".
    pub async fn stop(&mut self, grace: Duration) {
        let _ = self.control(control::Command::Stop).await;
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.stdin = None;
    }

    /// Stop it at once (SIGKILL; its workers die with it).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
        self.stdin = None;
    }
}

/// How long the web server may need beyond the graceful timeout to close what it cut and
/// exit, before it is killed.
const EXIT_MARGIN: Duration = Duration::from_secs(2);

/// The least the WSGI server gets to stop its workers, however long the web server took.
const WSGI_LEAST: Duration = Duration::from_secs(5);

/// Stop the stack in order, as nginx in front of gunicorn is stopped: the web server first
/// (it stops accepting and lets its in-flight requests finish, within `grace`, while the WSGI
/// server still answers them), then the WSGI server (it finishes what it still has, within
/// what is left of `grace`, and stops its workers). Returns as soon as both are gone.
pub async fn stop_in_order(
    web: Option<&mut ServerProcess>,
    wsgi: Option<&mut ServerProcess>,
    grace: Duration,
) {
    let deadline = Instant::now() + grace;
    if let Some(web) = web {
        web.stop(grace + EXIT_MARGIN).await;
    }
    if let Some(wsgi) = wsgi {
        let left = deadline.saturating_duration_since(Instant::now());
        wsgi.stop(left.max(WSGI_LEAST) + EXIT_MARGIN).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_skips_ports_in_use() {
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = busy.local_addr().unwrap().port();
        let found = free_port(port, &[]).unwrap();
        assert_ne!(found, port);
        assert!(found > port);
        let other = free_port(found, &[found]).unwrap();
        assert_ne!(other, found);
    }

    #[test]
    fn commands_move_ports_only_when_needed() {
        let plan = StackPlan {
            exe: PathBuf::from("/bin/wsgi-tutor"),
            lab: PathBuf::from("/lab"),
            config: PathBuf::from("/lab/nginx.conf"),
            app: "apps/site.py:application".into(),
            workers: 2,
            web_port: 8081,
            wsgi_port: 8000,
            trace: true,
            moved: Vec::new(),
        };
        let web = plan.web_server_command();
        let args: Vec<_> = web
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "web-server",
                "-c",
                "/lab/nginx.conf",
                "--control-stdin",
                "--port",
                "8080:8081",
                "--trace-json"
            ]
        );
        let wsgi = plan.wsgi_server_command();
        let args: Vec<_> = wsgi
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "wsgi-server",
                "-b",
                "127.0.0.1:8000",
                "-w",
                "2",
                "--chdir",
                "/lab",
                "--control-stdin",
                "--trace-json",
                "apps/site.py:application"
            ]
        );
    }
}
