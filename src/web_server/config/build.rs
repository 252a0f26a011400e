//! From directive tree to [`Config`]: each block's directives are looked up in the
//! directive table (`commands.rs`) and applied to a draft of that block; then servers and
//! locations are assembled, each level merged over its parent's (`level.rs`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::commands::{self, Conf, Set};
use super::http_core::{LocationDraft, ServerDraft};
use super::level::{self, Settings};
use super::syntax::{Directive, os_error, resolve};
use super::{Config, ConfigError, Listen, LoadContext, LocConf, Location, Modifier, Server};
use crate::web_server::log::{AccessLog, ErrorLog, Level, LogFile, LogFiles, LogFormat, LogTarget};
use crate::web_server::upstream::Upstream;

/// What reading a configuration accumulates beyond the block at hand.
pub(super) struct Builder<'a> {
    /// The main file's folder, which relative paths start from.
    pub(super) base: PathBuf,
    logs: &'a mut LogFiles,
    port_map: &'a [(u16, u16)],
    warnings: Vec<String>,
    pub(super) upstreams: HashMap<String, Arc<Upstream>>,
    pub(super) formats: HashMap<String, Arc<LogFormat>>,
    default_access: Vec<AccessLog>,
    pub(super) error_log: Option<Arc<ErrorLog>>,
    /// The `http { }` of a full nginx.conf, kept until the main context is read.
    pub(super) http: Option<Vec<Directive>>,
}

/// The `http` level being read: its own settings, and its servers for afterwards.
#[derive(Default)]
pub(super) struct HttpDraft {
    pub(super) level: Settings,
    pub(super) servers: Vec<Directive>,
}

/// Build a [`Config`] from a parsed file. `path` is the main file; relative paths resolve
/// against its folder. Log files are opened (or reused) through `cx`.
pub fn build(
    tree: Vec<Directive>,
    path: &Path,
    cx: &mut LoadContext,
) -> Result<Config, ConfigError> {
    let mut b = Builder::new(path, cx)?;
    // A full nginx.conf wraps servers in `http { }`; a bare file is the inside of one.
    let http_block = if tree.iter().any(|d| d.name == "http") {
        b.read(&tree, &mut Conf::Main)?;
        b.http.take().unwrap_or_default()
    } else {
        tree
    };
    let mut http = HttpDraft::default();
    b.read(&http_block, &mut Conf::Http(&mut http))?;
    let defaults = level::defaults(&b.base, b.default_access.clone());
    let http_conf = level::inherit(&defaults, &http.level, "");
    let mut servers = Vec::new();
    for d in &http.servers {
        servers.push(Arc::new(b.server(d, &http_conf, &http.level)?));
    }
    if servers.is_empty() {
        return Err(ConfigError::new(
            "no \"server\" block: nothing would listen",
            path,
            1,
        ));
    }
    let error_log = match b.error_log.take() {
        Some(log) => log,
        None => Arc::new(ErrorLog::new(
            b.logs
                .open(&LogTarget::Stderr)
                .map_err(|e| ConfigError::bare(format!("cannot write to stderr: {e}")))?,
            Level::Notice,
        )),
    };
    Ok(Config {
        file: path.to_path_buf(),
        servers,
        error_log,
        warnings: b.warnings,
    })
}

impl<'a> Builder<'a> {
    fn new(path: &Path, cx: &'a mut LoadContext) -> Result<Self, ConfigError> {
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let combined = Arc::new(LogFormat::combined());
        let default_target = cx.logs.default_access.clone();
        let default_file = cx
            .logs
            .open(&default_target)
            .map_err(|e| ConfigError::bare(format!("cannot open the access log: {e}")))?;
        Ok(Builder {
            base,
            logs: &mut cx.logs,
            port_map: &cx.port_map,
            warnings: Vec::new(),
            upstreams: HashMap::new(),
            formats: HashMap::from([("combined".to_owned(), combined.clone())]),
            default_access: vec![AccessLog {
                file: default_file,
                format: combined,
            }],
            error_log: None,
            http: None,
        })
    }

    /// Apply a block's directives in order, except that definitions others refer to by
    /// name ([`Set::Early`]) go first; any other error waits for its turn, so errors are
    /// reported in the order of the file.
    pub(super) fn read(&mut self, block: &[Directive], conf: &mut Conf) -> Result<(), ConfigError> {
        let ctx = conf.ctx();
        let is_early = |row: &commands::Command| matches!(row.set, Set::Early(_));
        for d in block {
            if let Ok(row) = commands::lookup(d, ctx)
                && is_early(row)
            {
                commands::check(row, d)?;
                commands::apply(row, self, d, conf)?;
            }
        }
        for d in block {
            let row = commands::lookup(d, ctx)?;
            if !is_early(row) {
                commands::check(row, d)?;
                commands::apply(row, self, d, conf)?;
            }
        }
        Ok(())
    }

    /// `--port FROM:TO` applied to an address of the configuration.
    pub(super) fn remap(&self, mut addr: SocketAddr) -> SocketAddr {
        if let Some((_, to)) = self.port_map.iter().find(|(from, _)| *from == addr.port()) {
            addr.set_port(*to);
        }
        addr
    }

    pub(super) fn warn(&mut self, d: &Directive, message: String) {
        self.warnings.push(format!(
            "[warn] {message} in {}:{}",
            d.file.display(),
            d.line
        ));
    }

    /// The log file a directive's first argument names, opened (or reused).
    pub(super) fn open_log(&mut self, d: &Directive) -> Result<Arc<LogFile>, ConfigError> {
        let target = match d.args[0].as_str() {
            "stderr" | "/dev/stderr" => LogTarget::Stderr,
            "stdout" | "/dev/stdout" => LogTarget::Stdout,
            path => LogTarget::File(resolve(&self.base, path)),
        };
        self.logs.open(&target).map_err(|e| {
            d.error(format!(
                "open() \"{}\" failed ({})",
                d.args[0],
                os_error(&e)
            ))
        })
    }

    fn server(
        &mut self,
        d: &Directive,
        http_conf: &LocConf,
        http: &Settings,
    ) -> Result<Server, ConfigError> {
        let mut draft = ServerDraft::default();
        self.read(
            d.block.as_deref().unwrap_or_default(),
            &mut Conf::Server(&mut draft),
        )?;
        if draft.listen.is_empty() {
            draft.listen.push(Listen {
                spec: "127.0.0.1:8080".into(),
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
                default_server: false,
                options: Listen::DEFAULT_OPTIONS,
            });
        }
        let conf = Arc::new(level::inherit(http_conf, &draft.level, ""));
        let mut locations = Vec::new();
        for location in &draft.locations {
            locations.push(self.location(location, &conf, &mut Vec::new())?);
        }
        check_duplicates(&locations)?;
        let own = &draft.level.core;
        Ok(Server {
            listen: draft.listen,
            names: draft.names,
            conf,
            locations,
            keepalive_timeout: (own.keepalive_timeout)
                .or(http.core.keepalive_timeout)
                .unwrap_or(Duration::from_secs(75)),
            client_header_timeout: (own.client_header_timeout)
                .or(http.core.client_header_timeout)
                .unwrap_or(Duration::from_secs(60)),
        })
    }

    /// A location and the ones nested in it; `outer` holds the prefixes around it, which a
    /// nested prefix location must start with.
    fn location(
        &mut self,
        d: &Directive,
        parent: &Arc<LocConf>,
        outer: &mut Vec<String>,
    ) -> Result<Location, ConfigError> {
        let (modifier, pattern, regex) = location_head(d)?;
        if let Some(outer_prefix) = outer.last()
            && regex.is_none()
            && !pattern.starts_with(outer_prefix.as_str())
        {
            return Err(d.error(format!(
                "location \"{pattern}\" is outside location \"{outer_prefix}\""
            )));
        }
        let mut draft = LocationDraft::new(modifier, pattern);
        self.read(
            d.block.as_deref().unwrap_or_default(),
            &mut Conf::Location(&mut draft),
        )?;
        let conf = Arc::new(draft.conf(parent));
        // A regex location matches anywhere, so it bounds no prefix nested in it.
        if regex.is_none() {
            outer.push(draft.pattern.clone());
        }
        let mut children = Vec::new();
        for c in &draft.nested {
            children.push(self.location(c, &conf, outer)?);
        }
        if regex.is_none() {
            outer.pop();
        }
        check_duplicates(&children)?;
        let pattern = draft.pattern;
        Ok(Location {
            modifier,
            pattern,
            regex,
            conf,
            children,
        })
    }
}

/// `location [modifier] pattern`: the modifier, the pattern, and its regex if it is one.
fn location_head(
    d: &Directive,
) -> Result<(Modifier, String, Option<regex::bytes::Regex>), ConfigError> {
    let (modifier, pattern) = match d.args.as_slice() {
        [uri] if uri.starts_with('@') => {
            return Err(d.error("named locations (@name) are not supported by wsgi-tutor"));
        }
        [uri] => (Modifier::Prefix, uri.clone()),
        [m, uri] => {
            let modifier = match m.as_str() {
                "=" => Modifier::Exact,
                "^~" => Modifier::PrefixNoRegex,
                "~" => Modifier::Regex,
                "~*" => Modifier::RegexCaseless,
                _ => return Err(d.error(format!("invalid location modifier \"{m}\""))),
            };
            (modifier, uri.clone())
        }
        _ => return Err(d.error("invalid number of arguments in \"location\" directive")),
    };
    let regex = match modifier {
        Modifier::Regex | Modifier::RegexCaseless => Some(
            regex::bytes::RegexBuilder::new(&pattern)
                .case_insensitive(modifier == Modifier::RegexCaseless)
                .build()
                .map_err(|e| d.error(format!("pcre2_compile() failed: {e} in \"{pattern}\"")))?,
        ),
        _ => None,
    };
    Ok((modifier, pattern, regex))
}

fn check_duplicates(locations: &[Location]) -> Result<(), ConfigError> {
    for (i, a) in locations.iter().enumerate() {
        for b in &locations[..i] {
            let same_kind = matches!(
                (a.modifier, b.modifier),
                (Modifier::Exact, Modifier::Exact)
                    | (
                        Modifier::Prefix | Modifier::PrefixNoRegex,
                        Modifier::Prefix | Modifier::PrefixNoRegex
                    )
            );
            if same_kind && a.pattern == b.pattern {
                return Err(ConfigError::bare(format!(
                    "duplicate location \"{}\"",
                    a.pattern
                )));
            }
        }
    }
    Ok(())
}
