//! Ports the stack wants and who else holds them: the default ports move to a free one
//! when busy (and `serve` says which moved, and where); an explicit port that is taken is
//! an error naming the port and, where the system can tell, the process listening on it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use super::describe;
use crate::trace::Process;

/// A default port that was busy, and the free one the server runs on instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub server: Process,
    pub from: u16,
    pub to: u16,
    pub by: BusyWith,
}

/// Who had the default port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusyWith {
    /// A process the system names.
    Holder(Holder),
    /// Something this user cannot see (or a system that does not say).
    Unknown,
    /// Our own web server: `--web-port` asked for the WSGI server's default port.
    WebServer,
}

impl Moved {
    /// `port 8000 was busy (pid 4242, python3), so the WSGI server runs on 8001`.
    pub fn sentence(&self) -> String {
        let held = match &self.by {
            BusyWith::Holder(h) => format!(" ({h})"),
            BusyWith::Unknown => String::new(),
            BusyWith::WebServer => " (the web server's, by --web-port)".to_owned(),
        };
        format!(
            "port {} was busy{held}, so the {} runs on {}",
            self.from,
            describe(self.server),
            self.to
        )
    }
}

/// `preferred` when free, else the next free port above it (never one in `taken`); when it
/// moved, why, in `moved`.
pub fn default_port(
    server: Process,
    preferred: u16,
    taken: &[u16],
    moved: &mut Vec<Moved>,
) -> Result<u16, String> {
    let port = super::supervisor::free_port(preferred, taken).ok_or_else(|| {
        format!(
            "no free port from {preferred} to {} for the {}",
            preferred.saturating_add(200),
            describe(server)
        )
    })?;
    if port != preferred {
        let by = if taken.contains(&preferred) {
            BusyWith::WebServer
        } else {
            holder(preferred).map_or(BusyWith::Unknown, BusyWith::Holder)
        };
        moved.push(Moved {
            server,
            from: preferred,
            to: port,
            by,
        });
    }
    Ok(port)
}

/// A process that listens on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// The command name as the system keeps it (`/proc/PID/comm`: at most 15 bytes).
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}, {}", self.pid, self.command)
    }
}

/// Whether this port can be bound on 127.0.0.1 now; the error says why not, naming the port,
/// the flag that chose it and, when the system can tell, who holds it.
pub fn check_explicit(server: Process, port: u16, flag: &str) -> Result<(), String> {
    match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
        Ok(_) => Ok(()),
        Err(err) => Err(format!(
            "the {} cannot listen on port {port} ({flag} {port}): {}; choose another port, or leave out {flag} to take the next free one",
            describe(server),
            in_use_text(port, &err),
        )),
    }
}

/// `it is in use by pid 4242 (python3)`, or the system's words when it is not that.
pub fn in_use_text(port: u16, err: &std::io::Error) -> String {
    if err.kind() != std::io::ErrorKind::AddrInUse {
        return err.to_string();
    }
    match holder(port) {
        Some(h) => format!("it is in use by pid {} ({})", h.pid, h.command),
        None => "it is in use by another program".to_owned(),
    }
}

/// The process listening on this TCP port (any local address), best effort: Linux only, and
/// only among the processes whose descriptors this user may read.
#[cfg(target_os = "linux")]
pub fn holder(port: u16) -> Option<Holder> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let command = std::fs::read_to_string(entry.path().join("comm"))
                .map_or_else(|_| "?".to_owned(), |c| c.trim_end().to_owned());
            return Some(Holder { pid, command });
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
pub fn holder(_port: u16) -> Option<Holder> {
    None
}

/// The inodes of the sockets in LISTEN state on `port` in a `/proc/net/tcp{,6}` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            let (_, hex_port) = local.rsplit_once(':')?;
            let listening = *state == LISTEN && u16::from_str_radix(hex_port, 16).ok()? == port;
            listening.then(|| inode.parse().ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4711 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4712 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn only_listening_sockets_on_the_port() {
        assert_eq!(listening_inodes(TABLE, 8080), [4711]);
        assert_eq!(listening_inodes(TABLE, 8000), [99]);
        assert!(listening_inodes(TABLE, 8081).is_empty());
        assert!(listening_inodes("", 8080).is_empty());
    }

    #[test]
    fn moved_names_both_ports_and_the_holder() {
        let moved = Moved {
            server: Process::WsgiServer,
            from: 8000,
            to: 8001,
            by: BusyWith::Holder(Holder {
                pid: 42,
                command: "python3".into(),
            }),
        };
        assert_eq!(
            moved.sentence(),
            "port 8000 was busy (pid 42, python3), so the WSGI server runs on 8001"
        );
    }

    #[test]
    fn a_busy_default_moves_up_and_says_why() {
        let ours = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = ours.local_addr().unwrap().port();
        let mut moved = Vec::new();
        let to = default_port(Process::WsgiServer, port, &[], &mut moved).unwrap();
        assert!(to > port);
        assert_eq!((moved[0].from, moved[0].to), (port, to));
        let mut none = Vec::new();
        let free = default_port(Process::WsgiServer, to, &[], &mut none).unwrap();
        assert_eq!(free, to);
        assert!(none.is_empty());
        let again = default_port(Process::WsgiServer, to, &[to], &mut none).unwrap();
        assert_ne!(again, to);
        assert_eq!(none[0].by, BusyWith::WebServer);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_listener_of_ours_is_found_and_named() {
        let ours = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = ours.local_addr().unwrap().port();
        let held = holder(port).expect("this process holds the port");
        assert_eq!(held.pid, std::process::id());
        let err = check_explicit(Process::WebServer, port, "--web-port").unwrap_err();
        assert!(
            err.contains(&format!("port {port} (--web-port {port})"))
                && err.contains(&format!("in use by pid {}", std::process::id())),
            "{err}"
        );
    }
}
