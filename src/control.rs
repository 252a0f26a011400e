//! The control commands both servers take on stdin (`--control-stdin`) and the tutor sends:
//! one type, written and parsed here, so the two sides cannot drift apart.
//!
//! The wire format is one line per command: `reload`, `stop`, `workers N`, `workers +1`,
//! `workers -1`, plus gunicorn's signal names as aliases (`hup`, `ttin`, `ttou`, `term`,
//! `quit`) for people typing at a server by hand.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a stopping server lets in-flight requests finish: gunicorn's default
/// `--graceful-timeout`, also the web server's bound and the one `serve` and the tutor stop
/// the whole stack within.
pub const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(30);

/// Something a running server is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Web server: read the configuration again. WSGI server: new workers import the app
    /// afresh, old ones finish and exit.
    Reload,
    /// Stop gracefully: stop accepting, finish in-flight requests.
    Stop,
    /// Exactly N workers (WSGI server only).
    Workers(usize),
    /// One worker more (SIGTTIN).
    MoreWorkers,
    /// One worker less, never below one (SIGTTOU).
    FewerWorkers,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Reload => f.write_str("reload"),
            Command::Stop => f.write_str("stop"),
            Command::Workers(n) => write!(f, "workers {n}"),
            Command::MoreWorkers => f.write_str("workers +1"),
            Command::FewerWorkers => f.write_str("workers -1"),
        }
    }
}

/// A line that is not a command; the message lists the commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("workers needs a number of at least 1, got {0:?}")]
    BadCount(String),
    #[error(
        "unknown control command {0:?}; the commands are: reload, workers N, workers +1, workers -1, stop"
    )]
    Unknown(String),
}

impl FromStr for Command {
    type Err = ParseError;

    fn from_str(line: &str) -> Result<Command, ParseError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        Ok(match words.as_slice() {
            ["reload" | "hup"] => Command::Reload,
            ["stop" | "quit" | "term"] => Command::Stop,
            ["ttin"] | ["workers", "+1"] => Command::MoreWorkers,
            ["ttou"] | ["workers", "-1"] => Command::FewerWorkers,
            ["workers", n] => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Command::Workers(n),
                _ => return Err(ParseError::BadCount((*n).to_owned())),
            },
            _ => return Err(ParseError::Unknown(line.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_reads_back_as_itself() {
        for command in [
            Command::Reload,
            Command::Stop,
            Command::Workers(3),
            Command::MoreWorkers,
            Command::FewerWorkers,
        ] {
            assert_eq!(command.to_string().parse::<Command>(), Ok(command));
        }
    }

    #[test]
    fn aliases_and_errors() {
        assert_eq!("hup".parse::<Command>(), Ok(Command::Reload));
        assert_eq!(" ttin ".parse::<Command>(), Ok(Command::MoreWorkers));
        assert_eq!("quit".parse::<Command>(), Ok(Command::Stop));
        assert_eq!(
            "workers 0".parse::<Command>(),
            Err(ParseError::BadCount("0".into()))
        );
        let unknown = "restart".parse::<Command>().unwrap_err().to_string();
        assert!(unknown.contains("\"restart\"") && unknown.contains("workers N"));
    }
}
