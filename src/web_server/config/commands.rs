//! The directive table: one row per directive — its name, the blocks it may appear in, the
//! arguments it takes and the function that applies it — as nginx's `ngx_command_t` arrays.
//!
//! Each nginx module keeps its rows next to its set functions (`core.rs`, `http_core.rs`,
//! `static_files.rs`, `proxy.rs`, `upstream.rs`, `rewrite.rs`, `headers.rs`, `log.rs`,
//! `ignored.rs`); [`MODULES`] lists the tables. Reading a block looks every directive up
//! here, so "unknown directive", "is not allowed here", a missing `{` or `;` and a wrong
//! argument count are decided in one place, with nginx's wording. A name may have several
//! rows when its meaning depends on the block (`server` in `http` and in `upstream`), as in
//! nginx, where two modules can both define it.

use super::ConfigError;
use super::build::{Builder, HttpDraft};
use super::http_core::{LocationDraft, ServerDraft};
use super::level::Settings;
use super::syntax::Directive;
use super::upstream::UpstreamDraft;

/// The kind of block a directive sits in (nginx's `NGX_*_CONF` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    /// The top of a full nginx.conf, outside `http { }`.
    Main,
    Events,
    /// `http { }`, or the whole file when it has no `http` block.
    Http,
    Server,
    Location,
    Upstream,
}

impl Ctx {
    pub(super) const ALL: &[Ctx] = &[
        Ctx::Main,
        Ctx::Events,
        Ctx::Http,
        Ctx::Server,
        Ctx::Location,
        Ctx::Upstream,
    ];
}

/// nginx's `NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF`: the levels that inherit.
pub(super) const HTTP_ALL: &[Ctx] = &[Ctx::Http, Ctx::Server, Ctx::Location];

/// Whether a directive ends in `;` or opens a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Block {
    No,
    Yes,
    /// Either: only for directives accepted and ignored, so a real config's use of them
    /// never fails here.
    Either,
}

/// How many arguments a directive takes, and whether it opens a block.
#[derive(Debug, Clone, Copy)]
pub(super) struct Args {
    pub(super) min: usize,
    pub(super) max: usize,
    pub(super) block: Block,
}

const fn args(min: usize, max: usize, block: Block) -> Args {
    Args { min, max, block }
}

// Named after nginx's NGX_CONF_* argument masks, so a row reads like nginx's source.
pub(super) const TAKE1: Args = args(1, 1, Block::No);
pub(super) const TAKE2: Args = args(2, 2, Block::No);
pub(super) const TAKE12: Args = args(1, 2, Block::No);
pub(super) const TAKE23: Args = args(2, 3, Block::No);
pub(super) const TAKE123: Args = args(1, 3, Block::No);
pub(super) const MORE1: Args = args(1, usize::MAX, Block::No);
pub(super) const MORE2: Args = args(2, usize::MAX, Block::No);
/// `on` or `off`; the set function reads which.
pub(super) const FLAG: Args = TAKE1;
/// Any number of arguments, ending in `;`.
pub(super) const ANY: Args = args(0, usize::MAX, Block::No);
pub(super) const BLOCK_NOARGS: Args = args(0, 0, Block::Yes);
pub(super) const BLOCK_TAKE1: Args = args(1, 1, Block::Yes);
pub(super) const BLOCK_TAKE12: Args = args(1, 2, Block::Yes);
/// `http`, `events` and `types` never checked their arguments; nginx wants none, but a
/// file this server accepted once keeps being accepted.
pub(super) const BLOCK_ANY: Args = args(0, usize::MAX, Block::Yes);
/// Anything at all: directives accepted and ignored.
pub(super) const ANYTHING: Args = args(0, usize::MAX, Block::Either);

/// What a set function returns: nothing, or the error for its directive.
pub(super) type SetResult = Result<(), ConfigError>;

/// What applying a directive changes. The variant says which draft the function writes to,
/// so each set function gets exactly its own block's draft, typed.
pub(super) enum Set {
    /// Accepted without a word: settings of nginx's own processes (`user`, `events { }`).
    Ignore,
    /// Accepted with a `[warn]` that wsgi-tutor ignores it.
    Warn,
    /// Definitions others refer to by name (`upstream`, `log_format`): applied before the
    /// rest of their block, so they may be written after the directives that use them.
    Early(fn(&mut Builder<'_>, &Directive) -> SetResult),
    /// Changes something of the whole web server (`error_log`, `http { }`).
    Global(fn(&mut Builder<'_>, &Directive) -> SetResult),
    /// A setting of the http, server or location level, inherited downwards.
    Level(fn(&mut Builder<'_>, &Directive, &mut Settings) -> SetResult),
    Http(fn(&mut Builder<'_>, &Directive, &mut HttpDraft) -> SetResult),
    Server(fn(&mut Builder<'_>, &Directive, &mut ServerDraft) -> SetResult),
    Location(fn(&mut Builder<'_>, &Directive, &mut LocationDraft) -> SetResult),
    Upstream(fn(&mut Builder<'_>, &Directive, &mut UpstreamDraft) -> SetResult),
}

impl Set {
    /// Whether the function can be applied in a block of this kind; the table test holds
    /// every row to it, which is what makes [`apply`]'s last arm unreachable.
    #[cfg(test)]
    fn serves(&self, ctx: Ctx) -> bool {
        match self {
            Set::Ignore | Set::Warn | Set::Early(_) | Set::Global(_) => true,
            Set::Level(_) => HTTP_ALL.contains(&ctx),
            Set::Http(_) => ctx == Ctx::Http,
            Set::Server(_) => ctx == Ctx::Server,
            Set::Location(_) => ctx == Ctx::Location,
            Set::Upstream(_) => ctx == Ctx::Upstream,
        }
    }
}

/// One row of the table.
pub(super) struct Command {
    pub(super) name: &'static str,
    pub(super) contexts: &'static [Ctx],
    pub(super) args: Args,
    pub(super) set: Set,
}

pub(super) const fn cmd(
    name: &'static str,
    contexts: &'static [Ctx],
    args: Args,
    set: Set,
) -> Command {
    Command {
        name,
        contexts,
        args,
        set,
    }
}

/// Every module's table, in nginx's order of modules.
pub(super) const MODULES: &[&[Command]] = &[
    super::core::COMMANDS,
    super::log::COMMANDS,
    super::http_core::COMMANDS,
    super::static_files::COMMANDS,
    super::rewrite::COMMANDS,
    super::headers::COMMANDS,
    super::proxy::COMMANDS,
    super::upstream::COMMANDS,
    super::ignored::COMMANDS,
];

pub(super) fn all() -> impl Iterator<Item = &'static Command> {
    MODULES.iter().flat_map(|module| module.iter())
}

/// The draft a block's directives write to, which also says what kind of block it is.
pub(super) enum Conf<'d> {
    Main,
    Events,
    Http(&'d mut HttpDraft),
    Server(&'d mut ServerDraft),
    Location(&'d mut LocationDraft),
    Upstream(&'d mut UpstreamDraft),
}

impl Conf<'_> {
    pub(super) fn ctx(&self) -> Ctx {
        match self {
            Conf::Main => Ctx::Main,
            Conf::Events => Ctx::Events,
            Conf::Http(_) => Ctx::Http,
            Conf::Server(_) => Ctx::Server,
            Conf::Location(_) => Ctx::Location,
            Conf::Upstream(_) => Ctx::Upstream,
        }
    }
}

/// The row for a directive in a block, or nginx's error: a name no row has is unknown, a
/// name whose rows are all for other blocks is not allowed here.
pub(super) fn lookup(d: &Directive, ctx: Ctx) -> Result<&'static Command, ConfigError> {
    let mut known = false;
    for row in all().filter(|row| row.name == d.name) {
        if row.contexts.contains(&ctx) {
            return Ok(row);
        }
        known = true;
    }
    Err(if known {
        d.error(format!("\"{}\" directive is not allowed here", d.name))
    } else {
        d.error(format!("unknown directive \"{}\"", d.name))
    })
}

/// The block and the argument count, checked in nginx's order (`ngx_conf_handler`).
pub(super) fn check(row: &Command, d: &Directive) -> SetResult {
    match (row.args.block, d.block.is_some()) {
        (Block::No, true) => {
            return Err(d.error(format!(
                "directive \"{}\" is not terminated by \";\"",
                d.name
            )));
        }
        (Block::Yes, false) => {
            return Err(d.error(format!("directive \"{}\" has no opening \"{{\"", d.name)));
        }
        _ => {}
    }
    if !(row.args.min..=row.args.max).contains(&d.args.len()) {
        return Err(d.error(format!(
            "invalid number of arguments in \"{}\" directive",
            d.name
        )));
    }
    Ok(())
}

/// Run a row's set function on the draft of the block the directive is in.
pub(super) fn apply(
    row: &Command,
    b: &mut Builder<'_>,
    d: &Directive,
    conf: &mut Conf,
) -> SetResult {
    match (&row.set, conf) {
        (Set::Ignore, _) => Ok(()),
        (Set::Warn, _) => {
            b.warn(
                d,
                format!(
                    "\"{}\" is not supported by wsgi-tutor and is ignored",
                    d.name
                ),
            );
            Ok(())
        }
        (Set::Early(set) | Set::Global(set), _) => set(b, d),
        (Set::Level(set), Conf::Http(http)) => set(b, d, &mut http.level),
        (Set::Level(set), Conf::Server(server)) => set(b, d, &mut server.level),
        (Set::Level(set), Conf::Location(location)) => set(b, d, &mut location.level),
        (Set::Http(set), Conf::Http(http)) => set(b, d, http),
        (Set::Server(set), Conf::Server(server)) => set(b, d, server),
        (Set::Location(set), Conf::Location(location)) => set(b, d, location),
        (Set::Upstream(set), Conf::Upstream(upstream)) => set(b, d, upstream),
        (_, conf) => unreachable!(
            "the row for \"{}\" allows a {:?} block its set function cannot serve",
            d.name,
            conf.ctx()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_rows_share_a_name_and_a_context() {
        let rows: Vec<&Command> = all().collect();
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[..i] {
                let shared = a.contexts.iter().find(|c| b.contexts.contains(c));
                assert!(
                    a.name != b.name || shared.is_none(),
                    "\"{}\" has two rows for {shared:?}",
                    a.name
                );
            }
        }
    }

    #[test]
    fn every_row_s_set_fn_serves_its_contexts() {
        for row in all() {
            assert!(!row.contexts.is_empty(), "\"{}\" has no context", row.name);
            for &ctx in row.contexts {
                assert!(row.set.serves(ctx), "\"{}\" in {ctx:?}", row.name);
            }
        }
    }

    #[test]
    fn every_row_s_argument_range_is_possible() {
        for row in all() {
            assert!(row.args.min <= row.args.max, "\"{}\"", row.name);
        }
    }

    #[test]
    fn names_are_written_as_nginx_writes_them() {
        for row in all() {
            assert!(
                row.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "\"{}\"",
                row.name
            );
        }
    }

    fn directive(name: &str, args: usize, block: bool) -> Directive {
        Directive {
            name: name.into(),
            args: vec!["x".into(); args],
            block: block.then(Vec::new),
            file: std::sync::Arc::from(std::path::Path::new("/t.conf")),
            line: 7,
        }
    }

    /// `lookup` and `check` of one directive in one block: Ok, or the error as nginx says it.
    fn verdict(name: &str, args: usize, block: bool, ctx: Ctx) -> Result<(), String> {
        let d = directive(name, args, block);
        lookup(&d, ctx)
            .and_then(|row| check(row, &d))
            .map_err(|e| e.message)
    }

    macro_rules! verdicts {
        ($($case:ident: ($name:expr, $args:expr, $block:expr, $ctx:ident) => $want:expr;)*) => {
            $(
                #[test]
                fn $case() {
                    let want: Result<(), &str> = $want;
                    assert_eq!(
                        verdict($name, $args, $block, Ctx::$ctx),
                        want.map_err(str::to_owned)
                    );
                }
            )*
        };
    }

    verdicts! {
        root_in_location: ("root", 1, false, Location) => Ok(());
        root_in_upstream: ("root", 1, false, Upstream) => Err("\"root\" directive is not allowed here");
        made_up_name: ("rooot", 1, false, Server) => Err("unknown directive \"rooot\"");
        made_up_name_in_events: ("rooot", 1, false, Events) => Err("unknown directive \"rooot\"");
        server_in_http_is_a_block: ("server", 0, true, Http) => Ok(());
        server_in_upstream_is_an_address: ("server", 1, false, Upstream) => Ok(());
        server_in_upstream_without_address: ("server", 0, false, Upstream) => Err("invalid number of arguments in \"server\" directive");
        server_in_location: ("server", 0, true, Location) => Err("\"server\" directive is not allowed here");
        location_in_http: ("location", 1, true, Http) => Err("\"location\" directive is not allowed here");
        location_with_three_arguments: ("location", 3, true, Server) => Err("invalid number of arguments in \"location\" directive");
        location_without_block: ("location", 1, false, Server) => Err("directive \"location\" has no opening \"{\"");
        flag_with_block: ("autoindex", 1, true, Server) => Err("directive \"autoindex\" is not terminated by \";\"");
        ignored_takes_anything: ("gzip", 5, true, Location) => Ok(());
        ignored_in_main: ("gzip", 1, false, Main) => Err("\"gzip\" directive is not allowed here");
        include_anywhere: ("include", 1, false, Upstream) => Ok(());
        error_log_in_main: ("error_log", 1, false, Main) => Ok(());
        error_log_in_location: ("error_log", 1, false, Location) => Err("\"error_log\" directive is not allowed here");
    }
}
