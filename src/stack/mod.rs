//! The stack: the web server and the WSGI server as child processes of this binary, shared
//! by `wsgi-tutor serve` (headless, logs on the terminal) and the tutor (trace on pipes).
//!
//! - [`supervisor`] plans ports and command lines, owns one running server and stops the
//!   two in order;
//! - [`ports`] says which default port moved and who holds a busy one;
//! - [`serve`] is the headless command, and [`startup`] what it hears from the servers;
//! - [`children`] is the task the tutor runs: it starts both servers, forwards control
//!   commands, restarts the WSGI server with another app and reports what happens as
//!   [`children::Report`]s.

pub mod children;
pub mod ports;
pub mod serve;
pub mod signals;
pub mod startup;
pub mod supervisor;

use crate::trace::Process;

/// The servers' names as the learner reads them.
pub fn describe(kind: Process) -> &'static str {
    match kind {
        Process::WebServer => "web server",
        Process::WsgiServer => "WSGI server",
    }
}

/// The single-threaded runtime both front ends run on; `None` after saying why not.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(err) => {
            eprintln!("wsgi-tutor: cannot start the runtime: {err}");
            None
        }
    }
}
