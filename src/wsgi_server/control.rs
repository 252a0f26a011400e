//! How the arbiter is steered while it runs: Unix signals, as with gunicorn, and — because
//! the tutor must also work where there are no signals — text commands on stdin
//! (`--control-stdin`).
//!
//! | signal  | stdin command            | effect |
//! |---------|--------------------------|--------|
//! | SIGHUP  | `reload`                 | new workers import the app afresh, old ones finish and exit |
//! | SIGTTIN | `workers +1` / `ttin`    | one worker more |
//! | SIGTTOU | `workers -1` / `ttou`    | one worker less (never below 1) |
//! |         | `workers N`              | exactly N workers |
//! | SIGTERM, SIGINT | `stop`           | graceful shutdown: stop accepting, finish in-flight requests |
//! |         | end of stdin             | graceful shutdown too, so the server never outlives the tutor |

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc::UnboundedSender;

use super::pool::Command;

/// Something the arbiter was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pool(Command),
    /// Stop gracefully.
    Stop,
}

/// One stdin command line ([`crate::control`]), or an error that lists the commands.
pub fn parse(line: &str) -> Result<Control, String> {
    use crate::control::Command as Line;
    Ok(match line.parse::<Line>().map_err(|e| e.to_string())? {
        Line::Reload => Control::Pool(Command::Reload),
        Line::MoreWorkers => Control::Pool(Command::Increment),
        Line::FewerWorkers => Control::Pool(Command::Decrement),
        Line::Workers(n) => Control::Pool(Command::SetWorkers(n)),
        Line::Stop => Control::Stop,
    })
}

/// Read commands from stdin until it ends; the end means stop.
pub fn read_stdin(tx: UnboundedSender<Control>, pid: u32) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            match parse(&line) {
                Ok(control) => {
                    super::log::info(pid, &format!("Control command: {}", line.trim()));
                    if tx.send(control).is_err() {
                        return;
                    }
                }
                Err(message) => super::log::error_log(pid, super::log::Level::Warning, &message),
            }
        }
        super::log::info(pid, "Control input ended: stopping");
        let _ = tx.send(Control::Stop);
    });
}

/// Turn Unix signals into controls, like gunicorn's arbiter.
#[cfg(unix)]
pub fn watch_signals(tx: UnboundedSender<Control>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let table: [(SignalKind, &str, Control); 5] = [
        (SignalKind::hangup(), "hup", Control::Pool(Command::Reload)),
        (SignalKind::terminate(), "term", Control::Stop),
        (SignalKind::interrupt(), "int", Control::Stop),
        (
            SignalKind::from_raw(libc::SIGTTIN),
            "ttin",
            Control::Pool(Command::Increment),
        ),
        (
            SignalKind::from_raw(libc::SIGTTOU),
            "ttou",
            Control::Pool(Command::Decrement),
        ),
    ];
    let pid = std::process::id();
    for (kind, name, control) in table {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                super::log::info(pid, &format!("Handling signal: {name}"));
                if tx.send(control).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

/// Without Unix signals, Ctrl-C still stops the server gracefully.
#[cfg(not(unix))]
pub fn watch_signals(tx: UnboundedSender<Control>) -> std::io::Result<()> {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            super::log::info(std::process::id(), "Handling signal: int");
            if tx.send(Control::Stop).is_err() {
                return;
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands() {
        let table: &[(&str, Result<Control, ()>)] = &[
            ("reload", Ok(Control::Pool(Command::Reload))),
            ("  workers 4 ", Ok(Control::Pool(Command::SetWorkers(4)))),
            ("workers +1", Ok(Control::Pool(Command::Increment))),
            ("workers -1", Ok(Control::Pool(Command::Decrement))),
            ("ttin", Ok(Control::Pool(Command::Increment))),
            ("stop", Ok(Control::Stop)),
            ("workers 0", Err(())),
            ("workers many", Err(())),
            ("dance", Err(())),
        ];
        for (line, want) in table {
            assert_eq!(&parse(line).map_err(|_| ()), want, "line {line:?}");
        }
    }
}
