//! Finding a Python 3 to run the workers: `python3`, then `python`, then `py -3` (the
//! Windows launcher), or what `--python` names.
//!
//! The interpreter is asked for its real path (`sys.executable`) once, so every worker
//! starts the interpreter directly instead of through a shim (pyenv's shims are shell
//! scripts that would add tens of milliseconds to each worker boot).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python interpreter that runs: program plus leading arguments (`py` needs `-3`).
#[derive(Debug, Clone)]
pub struct Python {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub version: String,
}

impl Python {
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args);
        cmd
    }
}

const PROBE: &str = "import sys; print(sys.executable); print(sys.version.split()[0]); \
                     print(sys.version_info >= (3, 7))";

/// The interpreter to use, or an error message that names the ways out.
pub fn discover(explicit: Option<&str>, cwd: Option<&Path>) -> Result<Python, String> {
    let candidates: Vec<(String, Vec<String>)> = match explicit {
        Some(program) => vec![(program.to_owned(), Vec::new())],
        None => vec![
            ("python3".into(), Vec::new()),
            ("python".into(), Vec::new()),
            ("py".into(), vec!["-3".into()]),
        ],
    };
    let mut tried = Vec::new();
    for (program, args) in &candidates {
        let mut cmd = Command::new(program);
        cmd.args(args).arg("-c").arg(PROBE);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        tried.push(if args.is_empty() {
            program.clone()
        } else {
            format!("{program} {}", args.join(" "))
        });
        let Ok(out) = cmd.output() else { continue };
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (exe, version, recent) = (lines.next(), lines.next(), lines.next());
        if recent != Some("True") {
            continue;
        }
        let exe = exe.map(PathBuf::from).filter(|p| p.is_file());
        return Ok(Python {
            // The real interpreter skips shims; `py -3` keeps its launcher if unsure.
            program: exe.clone().unwrap_or_else(|| PathBuf::from(program)),
            args: if exe.is_some() {
                Vec::new()
            } else {
                args.clone()
            },
            version: version.unwrap_or("?").to_owned(),
        });
    }
    Err(format!(
        "no Python 3.7 or newer found (tried: {}).\n\
         The WSGI server runs your application in Python worker processes, so it needs Python.\n\
         Ways out:\n  \
         - install Python 3 (https://www.python.org/downloads/) and try again, or name it with --python PATH;\n  \
         - or serve a built-in Rust demo app, no Python needed: builtin:hello, builtin:environ, builtin:echo or builtin:site",
        tried.join(", ")
    ))
}
