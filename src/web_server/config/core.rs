//! nginx's core and events modules: the `http` and `events` blocks of a full nginx.conf,
//! `include`, and the process settings that only matter to real nginx.

use super::build::Builder;
use super::commands::{ANY, ANYTHING, BLOCK_ANY, Command, Conf, Ctx, Set, SetResult, TAKE1, cmd};
use super::syntax::Directive;

use Ctx::{Events, Main};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("http", &[Main], BLOCK_ANY, Set::Global(http)),
    cmd("events", &[Main], BLOCK_ANY, Set::Global(events)),
    // The parser has already replaced every `include ...;` by the files it names; the row
    // makes `include` known everywhere, so `include x { }` gets nginx's message.
    cmd("include", Ctx::ALL, TAKE1, Set::Ignore),
    cmd("user", &[Main], ANY, Set::Ignore),
    cmd("worker_processes", &[Main], ANY, Set::Ignore),
    cmd("pid", &[Main], ANY, Set::Ignore),
    cmd("worker_rlimit_nofile", &[Main], ANY, Set::Ignore),
    cmd("daemon", &[Main], ANY, Set::Ignore),
    cmd("master_process", &[Main], ANY, Set::Ignore),
    cmd("load_module", &[Main], ANY, Set::Ignore),
    cmd("env", &[Main], ANY, Set::Ignore),
    cmd("worker_cpu_affinity", &[Main], ANY, Set::Ignore),
    cmd("pcre_jit", &[Main], ANY, Set::Ignore),
    cmd("worker_connections", &[Events], ANYTHING, Set::Ignore),
    cmd("use", &[Events], ANYTHING, Set::Ignore),
    cmd("multi_accept", &[Events], ANYTHING, Set::Ignore),
    cmd("accept_mutex", &[Events], ANYTHING, Set::Ignore),
];

/// The `http` block is read after the rest of the main context, as the servers it holds
/// need the whole of it.
fn http(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    if b.http.is_some() {
        return Err(d.error("\"http\" directive is duplicate"));
    }
    b.http = Some(d.block.clone().unwrap_or_default());
    Ok(())
}

fn events(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    b.read(d.block.as_deref().unwrap_or_default(), &mut Conf::Events)
}
