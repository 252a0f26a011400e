//! The web server's configuration: a subset of nginx's, read from real nginx syntax.
//!
//! `syntax` turns text into a tree of directives (`include` expands them while parsing).
//! `build` reads each block of the tree through the directive table (`commands`): one row
//! per directive with the blocks it may appear in, its arguments and its set function,
//! kept by nginx module in `core`, `log`, `http_core`, `static_files`, `rewrite`,
//! `headers`, `proxy`, `upstream` and `ignored`. Set functions write to a draft of their
//! block; `build` then assembles servers and locations into the [`Config`] the request
//! path reads. Settings are inherited the way nginx inherits them (`level`): `http` →
//! `server` → `location` → nested `location`, where list directives (`add_header`,
//! `proxy_set_header`) are inherited only by levels that define none of their own.
//!
//! A new directive is a row in its module's table and a set function beside it; a new
//! setting also a field in the module's `Own` and a line in its `merge`.

mod build;
mod commands;
mod core;
mod headers;
mod http_core;
mod ignored;
mod include;
mod level;
mod log;
pub mod mime;
mod proxy;
mod rewrite;
mod static_files;
pub mod syntax;
#[cfg(test)]
mod tests;
mod upstream;
mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use build::build;

use super::log::{AccessLog, ErrorLog, LogFiles};
use super::upstream::Upstream;
use super::variables::Template;

/// A configuration error, worded like nginx's: `[emerg] message in file:line`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("[emerg] {message}{}", location.as_ref().map(|(file, line)| format!(" in {}:{line}", file.display())).unwrap_or_default())]
pub struct ConfigError {
    pub message: String,
    pub location: Option<(PathBuf, usize)>,
}

impl ConfigError {
    pub fn new(message: impl Into<String>, file: &Path, line: usize) -> Self {
        Self {
            message: message.into(),
            location: Some((file.to_path_buf(), line)),
        }
    }

    pub fn bare(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
        }
    }
}

/// What a configuration is read with, besides its text.
pub struct LoadContext {
    /// Log files stay open across reloads.
    pub logs: LogFiles,
    /// `--port FROM:TO`: listen on and proxy to TO wherever the file says FROM, so the tutor
    /// can move the stack off busy ports without editing the learner's nginx.conf.
    pub port_map: Vec<(u16, u16)>,
}

impl LoadContext {
    pub fn new(stdout_is_trace: bool, port_map: Vec<(u16, u16)>) -> Self {
        Self {
            logs: LogFiles::new(stdout_is_trace),
            port_map,
        }
    }
}

/// Read, check and build a configuration file.
pub fn load(path: &Path, cx: &mut LoadContext) -> Result<Config, ConfigError> {
    let tree = syntax::parse_file(path)?;
    build(tree, path, cx)
}

/// Everything the running web server needs to answer requests.
pub struct Config {
    pub file: PathBuf,
    pub servers: Vec<Arc<Server>>,
    pub error_log: Arc<ErrorLog>,
    /// `[warn]` lines produced while reading (directives that are accepted but do nothing).
    pub warnings: Vec<String>,
}

impl Config {
    /// Every address some server listens on, as written in the configuration.
    pub fn listen_specs(&self) -> Vec<Listen> {
        let mut out: Vec<Listen> = Vec::new();
        for server in &self.servers {
            for listen in &server.listen {
                match out.iter_mut().find(|l| l.spec == listen.spec) {
                    // nginx takes a socket's parameters from the one `listen` that gives them.
                    Some(known) if known.options == Listen::DEFAULT_OPTIONS => {
                        known.options = listen.options;
                    }
                    Some(_) => {}
                    None => out.push(listen.clone()),
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct Listen {
    /// The address as written (`127.0.0.1:8080`); listeners are matched across reloads by it.
    pub spec: String,
    pub addr: SocketAddr,
    pub default_server: bool,
    /// `backlog=`, `reuseport`, `deferred`.
    pub options: crate::connection::accept::Options,
}

impl Listen {
    pub const DEFAULT_OPTIONS: crate::connection::accept::Options =
        crate::connection::accept::Options {
            backlog: crate::connection::accept::NGINX_BACKLOG,
            reuseport: false,
            deferred: false,
        };
}

pub struct Server {
    pub listen: Vec<Listen>,
    pub names: Vec<String>,
    /// Settings of the server level, used when no location matches.
    pub conf: Arc<LocConf>,
    pub locations: Vec<Location>,
    pub keepalive_timeout: Duration,
    pub client_header_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `location /static` — longest prefix wins.
    Prefix,
    /// `location = /` — only this exact URI.
    Exact,
    /// `location ^~ /static/` — a prefix that stops the regex search.
    PrefixNoRegex,
    /// `location ~ \.php$`.
    Regex,
    /// `location ~* \.(png|jpg)$`.
    RegexCaseless,
}

impl Modifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Prefix => "",
            Modifier::Exact => "=",
            Modifier::PrefixNoRegex => "^~",
            Modifier::Regex => "~",
            Modifier::RegexCaseless => "~*",
        }
    }
}

pub struct Location {
    pub modifier: Modifier,
    pub pattern: String,
    pub regex: Option<regex::bytes::Regex>,
    pub conf: Arc<LocConf>,
    pub children: Vec<Location>,
}

/// Where files come from: `root` appends the whole URI, `alias` replaces the location's prefix.
#[derive(Debug, Clone)]
pub enum DocRoot {
    Root(PathBuf),
    /// `prefix` is the location that declared the alias; in a regex location the alias
    /// names the file itself.
    Alias {
        dir: PathBuf,
        prefix: String,
        regex: bool,
    },
}

/// `disable_symlinks off | on | if_not_owner [from=part]`: whether a symbolic link in any
/// component of a file's path (the root's or alias's own included) refuses the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Symlinks {
    /// `off`, the default: links are followed, wherever they point.
    #[default]
    Follow,
    Refuse {
        /// `if_not_owner`: only a link whose target has another owner refuses.
        if_not_owner: bool,
        /// `from=part`: the components up to `part` are not checked.
        from: Option<SymlinksFrom>,
    },
}

/// The `from=` of `disable_symlinks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymlinksFrom {
    Path(PathBuf),
    /// `$document_root`: the location's root or alias.
    DocumentRoot,
    /// `$realpath_root`: the same with its own links resolved.
    RealpathRoot,
}

#[derive(Clone)]
pub struct Return {
    pub code: u16,
    pub text: Option<Template>,
}

#[derive(Clone)]
pub struct ProxyPass {
    pub upstream: Arc<Upstream>,
    /// The URI part of `proxy_pass http://host:port/uri`; None forwards the client's URI as is.
    pub uri: Option<String>,
    /// `$proxy_host`: the host (and port, unless 80) as written in `proxy_pass`.
    pub proxy_host: String,
    /// The location holding `proxy_pass`, which its URI part replaces.
    pub location_prefix: String,
    /// The `proxy_pass` argument as written, for logs and the tutor.
    pub display: String,
}

#[derive(Clone)]
pub struct AddHeader {
    pub name: hyper::header::HeaderName,
    pub value: Template,
    pub always: bool,
}

#[derive(Clone)]
pub struct ErrorPage {
    pub uri: String,
    /// `error_page 404 =200 /x` answers with another status.
    pub status: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    Http10,
    Http11,
}

/// The settings that apply to one location, with everything inherited already merged in.
#[derive(Clone)]
pub struct LocConf {
    /// The location as written (`/static`, `= /`), or empty at the server level.
    pub name: String,
    pub doc_root: DocRoot,
    pub index: Vec<String>,
    pub autoindex: bool,
    pub ret: Option<Return>,
    pub proxy: Option<ProxyPass>,
    /// Every header set on proxied requests, defaults included, in order.
    pub proxy_set_header: Arc<Vec<(hyper::header::HeaderName, Template)>>,
    pub proxy_http_version: HttpVersion,
    pub proxy_connect_timeout: Duration,
    pub proxy_read_timeout: Duration,
    /// 0 means no limit.
    pub client_max_body_size: u64,
    pub add_header: Arc<Vec<AddHeader>>,
    pub disable_symlinks: Symlinks,
    pub types: Arc<mime::Types>,
    pub default_type: hyper::header::HeaderValue,
    pub access_log: Arc<Vec<AccessLog>>,
    pub error_page: Arc<HashMap<u16, ErrorPage>>,
    pub server_tokens: bool,
}

impl LocConf {
    /// `Content-Type` for a file name: its `types` entry, else `default_type`.
    pub fn content_type(&self, file_name: &str) -> hyper::header::HeaderValue {
        self.types
            .header(file_name)
            .unwrap_or(&self.default_type)
            .clone()
    }
}
