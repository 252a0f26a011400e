//! From directive tree to [`Config`]: which directive may appear where, what its arguments
//! mean, and how settings are inherited down the levels.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::syntax::{Directive, os_error, resolve};
use super::{
    AddHeader, Config, ConfigError, DocRoot, ErrorPage, HttpVersion, Listen, LoadContext, LocConf,
    Location, Modifier, ProxyPass, Return, Server, mime,
};
use crate::web_server::log::{AccessLog, ErrorLog, Level, LogFile, LogFiles, LogFormat, LogTarget};
use crate::web_server::upstream::Upstream;
use crate::web_server::variables::Template;
use hyper::header::{self, HeaderName};

/// Directives real nginx configs often carry that change nothing here; accepted with a warning
/// so a config can travel from nginx to wsgi-tutor unchanged.
const IGNORED: &[&str] = &[
    "sendfile",
    "tcp_nopush",
    "tcp_nodelay",
    "gzip",
    "gzip_types",
    "gzip_vary",
    "gzip_proxied",
    "gzip_comp_level",
    "gzip_min_length",
    "types_hash_max_size",
    "types_hash_bucket_size",
    "server_names_hash_bucket_size",
    "proxy_buffering",
    "proxy_buffers",
    "proxy_buffer_size",
    "proxy_request_buffering",
    "proxy_redirect",
    "proxy_send_timeout",
    "send_timeout",
    "client_body_timeout",
    "client_body_buffer_size",
    "charset",
    "etag",
    "ssl_protocols",
    "ssl_prefer_server_ciphers",
    "open_file_cache",
    "reset_timedout_connection",
];

/// Main-context directives of a full nginx.conf that only matter to real nginx.
const MAIN_IGNORED: &[&str] = &[
    "user",
    "worker_processes",
    "pid",
    "worker_rlimit_nofile",
    "daemon",
    "master_process",
    "load_module",
    "env",
    "worker_cpu_affinity",
    "pcre_jit",
];

struct Builder<'a> {
    base: PathBuf,
    logs: &'a mut LogFiles,
    port_map: &'a [(u16, u16)],
    warnings: Vec<String>,
    upstreams: HashMap<String, Arc<Upstream>>,
    formats: HashMap<String, Arc<LogFormat>>,
    default_access: Vec<AccessLog>,
}

/// Settings of one level (http, server, location) before inheritance is applied.
#[derive(Default)]
struct Level0 {
    root: Option<DocRoot>,
    index: Option<Vec<String>>,
    autoindex: Option<bool>,
    ret: Option<Return>,
    proxy_set_header: Vec<(HeaderName, Template)>,
    proxy_http_version: Option<HttpVersion>,
    proxy_connect_timeout: Option<Duration>,
    proxy_read_timeout: Option<Duration>,
    client_max_body_size: Option<u64>,
    add_header: Vec<AddHeader>,
    disable_symlinks: Option<bool>,
    types: Option<Arc<mime::Types>>,
    default_type: Option<hyper::header::HeaderValue>,
    access_log: Option<Vec<AccessLog>>,
    error_page: Vec<(u16, ErrorPage)>,
    server_tokens: Option<bool>,
    keepalive_timeout: Option<Duration>,
    client_header_timeout: Option<Duration>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Http,
    Server,
    Location,
}

/// Build a [`Config`] from a parsed file. `path` is the main file; relative paths resolve
/// against its folder. Log files are opened (or reused) through `logs`.
pub fn build(
    tree: Vec<Directive>,
    path: &Path,
    cx: &mut LoadContext,
) -> Result<Config, ConfigError> {
    let logs = &mut cx.logs;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let combined = Arc::new(LogFormat::combined());
    let default_target = logs.default_access.clone();
    let default_file = logs
        .open(&default_target)
        .map_err(|e| ConfigError::bare(format!("cannot open the access log: {e}")))?;
    let mut b = Builder {
        base,
        logs,
        port_map: &cx.port_map,
        warnings: Vec::new(),
        upstreams: HashMap::new(),
        formats: HashMap::new(),
        default_access: vec![AccessLog {
            file: default_file,
            format: combined.clone(),
        }],
    };
    b.formats.insert("combined".into(), combined);

    // A full nginx.conf wraps servers in `http { }`; a bare file is the inside of one.
    let mut error_log = None;
    let http_block: Vec<Directive> = if tree.iter().any(|d| d.name == "http") {
        let mut http = None;
        for d in tree {
            match d.name.as_str() {
                "http" => {
                    if http.is_some() {
                        return Err(d.error("\"http\" directive is duplicate"));
                    }
                    http = Some(block_of(d)?);
                }
                "events" => {
                    let children = block_of(d)?;
                    for e in children {
                        if !matches!(
                            e.name.as_str(),
                            "worker_connections" | "use" | "multi_accept" | "accept_mutex"
                        ) {
                            return Err(unknown_or_misplaced(&e));
                        }
                    }
                }
                "error_log" => error_log = Some(b.error_log(&d)?),
                name if MAIN_IGNORED.contains(&name) => {
                    no_block(&d)?;
                }
                _ => return Err(unknown_or_misplaced(&d)),
            }
        }
        http.unwrap_or_default()
    } else {
        tree
    };

    // Upstreams and log formats first: servers refer to them by name.
    for d in &http_block {
        match d.name.as_str() {
            "upstream" => b.upstream(d)?,
            "log_format" => b.log_format(d)?,
            _ => {}
        }
    }
    let mut http = Level0::default();
    let mut server_directives = Vec::new();
    for d in http_block {
        match d.name.as_str() {
            "upstream" | "log_format" => {}
            "server" => server_directives.push(d),
            "error_log" => error_log = Some(b.error_log(&d)?),
            _ => b.level_directive(&d, &mut http, Ctx::Http)?,
        }
    }
    let root_conf = b.inherit(None, &http, "")?;
    let mut servers = Vec::new();
    for d in server_directives {
        servers.push(Arc::new(b.server(d, &root_conf, &http)?));
    }
    if servers.is_empty() {
        return Err(ConfigError::new(
            "no \"server\" block: nothing would listen",
            path,
            1,
        ));
    }
    let error_log = match error_log {
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

fn block_of(d: Directive) -> Result<Vec<Directive>, ConfigError> {
    match d.block {
        Some(block) => Ok(block),
        None => Err(d.error(format!("directive \"{}\" has no opening \"{{\"", d.name))),
    }
}

fn no_block(d: &Directive) -> Result<(), ConfigError> {
    if d.block.is_some() {
        return Err(d.error(format!(
            "directive \"{}\" is not terminated by \";\"",
            d.name
        )));
    }
    Ok(())
}

fn args(d: &Directive, min: usize, max: usize) -> Result<(), ConfigError> {
    no_block(d)?;
    if d.args.len() < min || d.args.len() > max {
        return Err(d.error(format!(
            "invalid number of arguments in \"{}\" directive",
            d.name
        )));
    }
    Ok(())
}

const KNOWN: &[&str] = &[
    "server",
    "listen",
    "server_name",
    "location",
    "root",
    "alias",
    "index",
    "autoindex",
    "return",
    "proxy_pass",
    "proxy_set_header",
    "proxy_http_version",
    "keepalive",
    "proxy_connect_timeout",
    "proxy_read_timeout",
    "client_max_body_size",
    "add_header",
    "disable_symlinks",
    "access_log",
    "error_log",
    "include",
    "types",
    "default_type",
    "upstream",
    "log_format",
    "error_page",
    "server_tokens",
    "keepalive_timeout",
    "client_header_timeout",
    "http",
    "events",
];

fn unknown_or_misplaced(d: &Directive) -> ConfigError {
    if KNOWN.contains(&d.name.as_str())
        || IGNORED.contains(&d.name.as_str())
        || MAIN_IGNORED.contains(&d.name.as_str())
    {
        d.error(format!("\"{}\" directive is not allowed here", d.name))
    } else {
        d.error(format!("unknown directive \"{}\"", d.name))
    }
}

fn on_off(d: &Directive) -> Result<bool, ConfigError> {
    args(d, 1, 1)?;
    match d.args[0].as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(d.error(format!(
            "invalid value \"{other}\" in \"{}\" directive, it must be \"on\" or \"off\"",
            d.name
        ))),
    }
}

/// nginx time values: `60`, `60s`, `1m`, `500ms`, `1h`, and sums like `1m30s`.
pub fn parse_time(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "" | "s" => 1000,
            "ms" => 1,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ms = total_ms.checked_add(n.checked_mul(factor)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

/// nginx sizes: `1024`, `10k`, `1m`, `1g` (either case).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, factor) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1024),
        b'm' | b'M' => (&text[..text.len() - 1], 1024 * 1024),
        b'g' | b'G' => (&text[..text.len() - 1], 1024 * 1024 * 1024),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

fn time_arg(d: &Directive) -> Result<Duration, ConfigError> {
    args(d, 1, 2)?;
    parse_time(&d.args[0]).ok_or_else(|| d.error(format!("\"{}\" directive invalid value", d.name)))
}

fn template(d: &Directive, text: &str) -> Result<Template, ConfigError> {
    Template::parse(text).map_err(|message| d.error(message))
}

impl Builder<'_> {
    fn remap(&self, mut addr: SocketAddr) -> SocketAddr {
        if let Some((_, to)) = self.port_map.iter().find(|(from, _)| *from == addr.port()) {
            addr.set_port(*to);
        }
        addr
    }

    fn warn(&mut self, d: &Directive, message: String) {
        self.warnings.push(format!(
            "[warn] {message} in {}:{}",
            d.file.display(),
            d.line
        ));
    }

    fn error_log(&mut self, d: &Directive) -> Result<Arc<ErrorLog>, ConfigError> {
        args(d, 1, 2)?;
        let level = match d.args.get(1) {
            Some(name) => Level::parse(name)
                .ok_or_else(|| d.error(format!("invalid log level \"{name}\"")))?,
            None => Level::Error,
        };
        let file = self.open_log(d)?;
        Ok(Arc::new(ErrorLog::new(file, level)))
    }

    /// The log file a directive's first argument names, opened (or reused).
    fn open_log(&mut self, d: &Directive) -> Result<Arc<LogFile>, ConfigError> {
        let target = self.log_target(&d.args[0]);
        self.logs.open(&target).map_err(|e| {
            d.error(format!(
                "open() \"{}\" failed ({})",
                d.args[0],
                os_error(&e)
            ))
        })
    }

    fn log_target(&self, arg: &str) -> LogTarget {
        match arg {
            "stderr" | "/dev/stderr" => LogTarget::Stderr,
            "stdout" | "/dev/stdout" => LogTarget::Stdout,
            path => LogTarget::File(resolve(&self.base, path)),
        }
    }

    fn log_format(&mut self, d: &Directive) -> Result<(), ConfigError> {
        no_block(d)?;
        let mut rest = &d.args[..];
        let Some((name, after)) = rest.split_first() else {
            return Err(d.error("invalid number of arguments in \"log_format\" directive"));
        };
        rest = after;
        let mut escape_json = false;
        if let Some(first) = rest.first()
            && let Some(mode) = first.strip_prefix("escape=")
        {
            escape_json = match mode {
                "default" | "none" => false,
                "json" => true,
                _ => return Err(d.error(format!("unknown log format escaping \"{mode}\""))),
            };
            rest = &rest[1..];
        }
        if rest.is_empty() {
            return Err(d.error("invalid number of arguments in \"log_format\" directive"));
        }
        if name == "combined" {
            return Err(d.error("duplicate \"log_format\" name \"combined\""));
        }
        let template = template(d, &rest.concat())?;
        self.formats.insert(
            name.clone(),
            Arc::new(LogFormat::new(name, template, escape_json)),
        );
        Ok(())
    }

    fn upstream(&mut self, d: &Directive) -> Result<(), ConfigError> {
        if d.args.len() != 1 {
            return Err(d.error("invalid number of arguments in \"upstream\" directive"));
        }
        let name = d.args[0].clone();
        if self.upstreams.contains_key(&name) {
            return Err(d.error(format!("duplicate upstream \"{name}\"")));
        }
        let children = d
            .block
            .as_ref()
            .ok_or_else(|| d.error("directive \"upstream\" has no opening \"{\""))?;
        let mut servers = Vec::new();
        let mut keepalive = 0;
        for c in children {
            match c.name.as_str() {
                "server" => {
                    no_block(c)?;
                    let Some(addr) = c.args.first() else {
                        return Err(c.error("invalid number of arguments in \"server\" directive"));
                    };
                    for param in &c.args[1..] {
                        let known = ["weight=", "max_fails=", "fail_timeout=", "backup", "down"];
                        if !known.iter().any(|k| param.starts_with(k)) {
                            return Err(c.error(format!("invalid parameter \"{param}\"")));
                        }
                    }
                    let resolved = resolve_addr(addr, 80)
                        .map(|a| self.remap(a))
                        .map_err(|why| c.error(format!("{why} in upstream \"{addr}\"")))?;
                    servers.push((addr.clone(), resolved));
                }
                "keepalive" => {
                    args(c, 1, 1)?;
                    keepalive = c.args[0]
                        .parse()
                        .map_err(|_| c.error("invalid value \"keepalive\" directive"))?;
                }
                name if name.starts_with("keepalive_")
                    || name == "least_conn"
                    || name == "ip_hash" =>
                {
                    self.warn(
                        c,
                        format!("\"{name}\" is not supported by wsgi-tutor and is ignored"),
                    );
                }
                _ => return Err(unknown_or_misplaced(c)),
            }
        }
        if servers.is_empty() {
            return Err(d.error(format!("no servers are inside upstream \"{name}\"")));
        }
        self.upstreams.insert(
            name.clone(),
            Arc::new(Upstream::new(name, servers, keepalive)),
        );
        Ok(())
    }

    fn server(
        &mut self,
        d: Directive,
        http_conf: &LocConf,
        http: &Level0,
    ) -> Result<Server, ConfigError> {
        if !d.args.is_empty() {
            return Err(d.error("invalid number of arguments in \"server\" directive"));
        }
        let children = block_of(d)?;
        let mut level = Level0::default();
        let mut listen = Vec::new();
        let mut names = Vec::new();
        let mut locations = Vec::new();
        for c in children {
            match c.name.as_str() {
                "listen" => {
                    let mut l = parse_listen(&c)?;
                    l.addr = self.remap(l.addr);
                    listen.push(l);
                }
                "server_name" => {
                    args(&c, 1, usize::MAX)?;
                    names.extend(c.args.iter().map(|n| n.to_ascii_lowercase()));
                }
                "location" => locations.push(c),
                "error_log" => {
                    self.warn(
                        &c,
                        "\"error_log\" applies to the whole web server here".into(),
                    );
                }
                _ => self.level_directive(&c, &mut level, Ctx::Server)?,
            }
        }
        if listen.is_empty() {
            listen.push(Listen {
                spec: "127.0.0.1:8080".into(),
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
                default_server: false,
            });
        }
        let conf = Arc::new(self.inherit(Some(http_conf), &level, "")?);
        let mut built = Vec::new();
        for loc in locations {
            built.push(self.location(loc, &conf, &mut Vec::new())?);
        }
        check_duplicates(&built)?;
        let keepalive_timeout = level
            .keepalive_timeout
            .or(http.keepalive_timeout)
            .unwrap_or(Duration::from_secs(75));
        let client_header_timeout = level
            .client_header_timeout
            .or(http.client_header_timeout)
            .unwrap_or(Duration::from_secs(60));
        Ok(Server {
            listen,
            names,
            conf,
            locations: built,
            keepalive_timeout,
            client_header_timeout,
        })
    }

    fn location(
        &mut self,
        d: Directive,
        parent: &Arc<LocConf>,
        outer: &mut Vec<String>,
    ) -> Result<Location, ConfigError> {
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
                    .map_err(|e| {
                        d.error(format!("pcre2_compile() failed: {e} in \"{pattern}\""))
                    })?,
            ),
            _ => None,
        };
        if let Some(outer_prefix) = outer.last()
            && regex.is_none()
            && !pattern.starts_with(outer_prefix.as_str())
        {
            return Err(d.error(format!(
                "location \"{pattern}\" is outside location \"{outer_prefix}\""
            )));
        }
        let children = block_of(d.clone())?;
        let mut level = Level0::default();
        let mut nested = Vec::new();
        let mut proxy = None;
        for c in children {
            match c.name.as_str() {
                "location" => {
                    if modifier == Modifier::Exact {
                        return Err(c.error(format!(
                            "location \"{}\" could not be inside the exact location \"{pattern}\"",
                            c.args.last().cloned().unwrap_or_default()
                        )));
                    }
                    nested.push(c);
                }
                "proxy_pass" => {
                    args(&c, 1, 1)?;
                    if proxy.is_some() {
                        return Err(c.error("\"proxy_pass\" directive is duplicate"));
                    }
                    proxy = Some(self.proxy_pass(&c, modifier, &pattern)?);
                }
                "alias" => {
                    args(&c, 1, 1)?;
                    if level.root.is_some() {
                        return Err(c.error("\"alias\" directive is duplicate, \"root\" directive was specified earlier"));
                    }
                    level.root = Some(DocRoot::Alias {
                        dir: resolve(&self.base, &c.args[0]),
                        prefix: pattern.clone(),
                        regex: regex.is_some(),
                    });
                }
                _ => self.level_directive(&c, &mut level, Ctx::Location)?,
            }
        }
        let name = match modifier {
            Modifier::Prefix => pattern.clone(),
            m => format!("{} {pattern}", m.as_str()),
        };
        let mut conf = self.inherit(Some(parent), &level, &name)?;
        conf.proxy = proxy;
        let conf = Arc::new(conf);
        let mut children = Vec::new();
        if regex.is_none() {
            outer.push(pattern.clone());
        }
        for c in nested {
            children.push(self.location(c, &conf, outer)?);
        }
        if regex.is_none() {
            outer.pop();
        }
        check_duplicates(&children)?;
        Ok(Location {
            modifier,
            pattern,
            regex,
            conf,
            children,
        })
    }

    fn proxy_pass(
        &mut self,
        d: &Directive,
        modifier: Modifier,
        prefix: &str,
    ) -> Result<ProxyPass, ConfigError> {
        let url = &d.args[0];
        let Some(rest) = url.strip_prefix("http://") else {
            if url.starts_with("https://") {
                return Err(d.error(format!(
                    "https upstreams are not supported by wsgi-tutor: \"{url}\""
                )));
            }
            return Err(d.error(format!("invalid URL prefix in \"{url}\"")));
        };
        if url.contains('$') {
            return Err(d.error("variables in \"proxy_pass\" are not supported by wsgi-tutor"));
        }
        let (hostport, uri) = match rest.find('/') {
            Some(at) => (&rest[..at], Some(rest[at..].to_owned())),
            None => (rest, None),
        };
        if uri.is_some() && matches!(modifier, Modifier::Regex | Modifier::RegexCaseless) {
            return Err(d.error(
                "\"proxy_pass\" cannot have URI part in location given by regular expression",
            ));
        }
        let upstream = match self.upstreams.get(hostport) {
            Some(up) => up.clone(),
            None => {
                let addr = resolve_addr(hostport, 80)
                    .map(|a| self.remap(a))
                    .map_err(|why| d.error(format!("{why} in upstream \"{hostport}\"")))?;
                Arc::new(Upstream::new(
                    hostport.to_owned(),
                    vec![(hostport.to_owned(), addr)],
                    0,
                ))
            }
        };
        let proxy_host = hostport.strip_suffix(":80").unwrap_or(hostport).to_owned();
        Ok(ProxyPass {
            upstream,
            uri,
            proxy_host,
            location_prefix: prefix.to_owned(),
            display: url.clone(),
        })
    }

    /// Apply one directive that may appear at the http, server or location level.
    fn level_directive(
        &mut self,
        d: &Directive,
        level: &mut Level0,
        ctx: Ctx,
    ) -> Result<(), ConfigError> {
        let name = d.name.as_str();
        match name {
            "root" => {
                args(d, 1, 1)?;
                if matches!(level.root, Some(DocRoot::Alias { .. })) {
                    return Err(d.error("\"root\" directive is duplicate, \"alias\" directive was specified earlier"));
                }
                if level.root.is_some() {
                    return Err(d.error("\"root\" directive is duplicate"));
                }
                level.root = Some(DocRoot::Root(resolve(&self.base, &d.args[0])));
            }
            "index" => {
                args(d, 1, usize::MAX)?;
                if d.args.iter().any(String::is_empty) {
                    return Err(d.error("index \"\" in \"index\" directive is invalid"));
                }
                level
                    .index
                    .get_or_insert_with(Vec::new)
                    .extend(d.args.iter().cloned());
            }
            "autoindex" => level.autoindex = Some(on_off(d)?),
            "disable_symlinks" => level.disable_symlinks = Some(on_off(d)?),
            "server_tokens" => level.server_tokens = Some(on_off(d)?),
            "return" if ctx != Ctx::Http => {
                args(d, 1, 2)?;
                level.ret = Some(parse_return(d)?);
            }
            "proxy_set_header" => {
                args(d, 2, 2)?;
                let name = HeaderName::from_bytes(d.args[0].as_bytes())
                    .map_err(|_| d.error(format!("invalid header name \"{}\"", d.args[0])))?;
                level
                    .proxy_set_header
                    .push((name, template(d, &d.args[1])?));
            }
            "proxy_http_version" => {
                args(d, 1, 1)?;
                level.proxy_http_version = Some(match d.args[0].as_str() {
                    "1.0" => HttpVersion::Http10,
                    "1.1" => HttpVersion::Http11,
                    other => {
                        return Err(d.error(format!(
                            "invalid value \"{other}\" in \"proxy_http_version\" directive, it must be \"1.0\" or \"1.1\""
                        )));
                    }
                });
            }
            "proxy_connect_timeout" => level.proxy_connect_timeout = Some(time_arg(d)?),
            "proxy_read_timeout" => level.proxy_read_timeout = Some(time_arg(d)?),
            "keepalive_timeout" => level.keepalive_timeout = Some(time_arg(d)?),
            "client_header_timeout" if ctx != Ctx::Location => {
                level.client_header_timeout = Some(time_arg(d)?)
            }
            "client_max_body_size" => {
                args(d, 1, 1)?;
                level.client_max_body_size =
                    Some(parse_size(&d.args[0]).ok_or_else(|| {
                        d.error("\"client_max_body_size\" directive invalid value")
                    })?);
            }
            "add_header" => {
                args(d, 2, 3)?;
                let always = match d.args.get(2).map(String::as_str) {
                    None => false,
                    Some("always") => true,
                    Some(other) => {
                        return Err(d.error(format!("invalid parameter \"{other}\"")));
                    }
                };
                let header_name = hyper::header::HeaderName::from_bytes(d.args[0].as_bytes())
                    .map_err(|_| d.error(format!("invalid header name \"{}\"", d.args[0])))?;
                level.add_header.push(AddHeader {
                    name: header_name,
                    value: template(d, &d.args[1])?,
                    always,
                });
            }
            "types" => {
                let block = d
                    .block
                    .as_ref()
                    .ok_or_else(|| d.error("directive \"types\" has no opening \"{\""))?;
                let types = mime::Types::from_block(block)?;
                level.types = Some(Arc::new(types));
            }
            "default_type" => {
                args(d, 1, 1)?;
                let value = hyper::header::HeaderValue::from_str(&d.args[0]).map_err(|_| {
                    d.error(format!(
                        "invalid value \"{}\" in \"default_type\" directive",
                        d.args[0]
                    ))
                })?;
                level.default_type = Some(value);
            }
            "access_log" => {
                args(d, 1, 3)?;
                let logs = level.access_log.get_or_insert_with(Vec::new);
                if d.args[0] == "off" {
                    logs.clear();
                    level.access_log = Some(Vec::new());
                    return Ok(());
                }
                let format_name = d.args.get(1).map(String::as_str).unwrap_or("combined");
                let format = self
                    .formats
                    .get(format_name)
                    .cloned()
                    .ok_or_else(|| d.error(format!("unknown log format \"{format_name}\"")))?;
                let file = self.open_log(d)?;
                level
                    .access_log
                    .get_or_insert_with(Vec::new)
                    .push(AccessLog { file, format });
            }
            "error_page" => {
                args(d, 2, usize::MAX)?;
                let uri = d.args.last().unwrap().clone();
                let mut status = None;
                let mut codes = Vec::new();
                for a in &d.args[..d.args.len() - 1] {
                    if let Some(code) = a.strip_prefix('=') {
                        status = Some(
                            code.parse::<u16>()
                                .ok()
                                .filter(|c| (200..600).contains(c))
                                .ok_or_else(|| d.error(format!("invalid value \"{a}\"")))?,
                        );
                        continue;
                    }
                    let code: u16 = a
                        .parse()
                        .ok()
                        .filter(|c| (300..600).contains(c))
                        .ok_or_else(|| {
                            d.error(format!("value \"{a}\" must be between 300 and 599"))
                        })?;
                    codes.push(code);
                }
                if codes.is_empty() {
                    return Err(d.error("invalid number of arguments in \"error_page\" directive"));
                }
                if !uri.starts_with('/') {
                    return Err(d.error(
                        "error_page to a named location or URL is not supported by wsgi-tutor",
                    ));
                }
                for code in codes {
                    level.error_page.push((
                        code,
                        ErrorPage {
                            uri: uri.clone(),
                            status,
                        },
                    ));
                }
            }
            "include" => unreachable!("includes are expanded while parsing"),
            name if IGNORED.contains(&name) => {
                self.warn(
                    d,
                    format!("\"{name}\" is not supported by wsgi-tutor and is ignored"),
                );
            }
            _ => return Err(unknown_or_misplaced(d)),
        }
        Ok(())
    }

    /// Merge one level's own settings over its parent's, the way nginx merges.
    fn inherit(
        &mut self,
        parent: Option<&LocConf>,
        level: &Level0,
        name: &str,
    ) -> Result<LocConf, ConfigError> {
        let defaults;
        let parent = match parent {
            Some(p) => p,
            None => {
                defaults = LocConf {
                    name: String::new(),
                    doc_root: DocRoot::Root(self.base.join("html")),
                    index: vec!["index.html".into()],
                    autoindex: false,
                    ret: None,
                    proxy: None,
                    proxy_set_header: Arc::new(proxy_headers(&[])),
                    proxy_http_version: HttpVersion::Http10,
                    proxy_connect_timeout: Duration::from_secs(60),
                    proxy_read_timeout: Duration::from_secs(60),
                    client_max_body_size: 1024 * 1024,
                    add_header: Arc::new(Vec::new()),
                    disable_symlinks: false,
                    types: mime::default_types(),
                    default_type: hyper::header::HeaderValue::from_static(
                        "application/octet-stream",
                    ),
                    access_log: Arc::new(self.default_access.clone()),
                    error_page: Arc::new(HashMap::new()),
                    server_tokens: true,
                };
                &defaults
            }
        };
        let access_log = match &level.access_log {
            Some(own) => Arc::new(own.clone()),
            None => parent.access_log.clone(),
        };
        Ok(LocConf {
            name: name.to_owned(),
            doc_root: level
                .root
                .clone()
                .unwrap_or_else(|| parent.doc_root.clone()),
            index: level.index.clone().unwrap_or_else(|| parent.index.clone()),
            autoindex: level.autoindex.unwrap_or(parent.autoindex),
            ret: level.ret.clone(),
            // Content handlers are not inherited: a nested location without its own
            // proxy_pass serves files, as in nginx.
            proxy: None,
            proxy_set_header: if level.proxy_set_header.is_empty() {
                parent.proxy_set_header.clone()
            } else {
                Arc::new(proxy_headers(&level.proxy_set_header))
            },
            proxy_http_version: level
                .proxy_http_version
                .unwrap_or(parent.proxy_http_version),
            proxy_connect_timeout: level
                .proxy_connect_timeout
                .unwrap_or(parent.proxy_connect_timeout),
            proxy_read_timeout: level
                .proxy_read_timeout
                .unwrap_or(parent.proxy_read_timeout),
            client_max_body_size: level
                .client_max_body_size
                .unwrap_or(parent.client_max_body_size),
            add_header: if level.add_header.is_empty() {
                parent.add_header.clone()
            } else {
                Arc::new(level.add_header.clone())
            },
            disable_symlinks: level.disable_symlinks.unwrap_or(parent.disable_symlinks),
            types: level.types.clone().unwrap_or_else(|| parent.types.clone()),
            default_type: level
                .default_type
                .clone()
                .unwrap_or_else(|| parent.default_type.clone()),
            access_log,
            error_page: if level.error_page.is_empty() {
                parent.error_page.clone()
            } else {
                Arc::new(level.error_page.iter().cloned().collect())
            },
            server_tokens: level.server_tokens.unwrap_or(parent.server_tokens),
        })
    }
}

/// The headers the web server sets on a proxied request: nginx's defaults (`Host
/// $proxy_host`, `Connection close`), our `X-Request-Id $request_id`, and a level's own
/// `proxy_set_header` lines over them (an empty value removes a header).
fn proxy_headers(own: &[(HeaderName, Template)]) -> Vec<(HeaderName, Template)> {
    let mut set = vec![
        (header::HOST, Template::parse("$proxy_host").expect("valid")),
        (header::CONNECTION, Template::literal("close")),
        (
            HeaderName::from_static("x-request-id"),
            Template::parse("$request_id").expect("valid"),
        ),
    ];
    for (name, value) in own {
        match set.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => set.push((name.clone(), value.clone())),
        }
    }
    set
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

fn parse_return(d: &Directive) -> Result<Return, ConfigError> {
    let first = &d.args[0];
    match first.parse::<u16>() {
        Ok(code) => {
            if code > 999 {
                return Err(d.error(format!("invalid return code \"{first}\"")));
            }
            Ok(Return {
                code,
                text: d.args.get(1).map(|t| template(d, t)).transpose()?,
            })
        }
        Err(_)
            if d.args.len() == 1
                && (first.starts_with("http://")
                    || first.starts_with("https://")
                    || first.starts_with('$')) =>
        {
            Ok(Return {
                code: 302,
                text: Some(template(d, first)?),
            })
        }
        Err(_) => Err(d.error(format!("invalid return code \"{first}\""))),
    }
}

fn parse_listen(d: &Directive) -> Result<Listen, ConfigError> {
    no_block(d)?;
    let Some(spec) = d.args.first() else {
        return Err(d.error("invalid number of arguments in \"listen\" directive"));
    };
    let mut default_server = false;
    for param in &d.args[1..] {
        match param.as_str() {
            "default_server" | "default" => default_server = true,
            p if p.starts_with("backlog=")
                || p == "reuseport"
                || p == "deferred"
                || p == "bind" => {}
            p => return Err(d.error(format!("invalid parameter \"{p}\""))),
        }
    }
    let addr = if let Ok(port) = spec.parse::<u16>() {
        // A bare port: loopback, not every interface, unless asked (`*:8080`, `0.0.0.0:8080`).
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else if let Some(port) = spec.strip_prefix("*:") {
        let port = port.parse::<u16>().map_err(|_| {
            d.error(format!(
                "invalid port in \"{spec}\" of the \"listen\" directive"
            ))
        })?;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    } else {
        resolve_addr(spec, 80).map_err(|why| {
            if why == "invalid port" {
                d.error(format!(
                    "invalid port in \"{spec}\" of the \"listen\" directive"
                ))
            } else {
                d.error(format!("{why} in \"{spec}\" of the \"listen\" directive"))
            }
        })?
    };
    Ok(Listen {
        spec: spec.clone(),
        addr,
        default_server,
    })
}

/// `host[:port]` → an address, the first one the name resolves to.
fn resolve_addr(text: &str, default_port: u16) -> Result<SocketAddr, &'static str> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| "invalid port")?),
        None => (text, default_port),
    };
    if host.is_empty() {
        return Err("no host");
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| {
            let all: Vec<SocketAddr> = addrs.by_ref().collect();
            all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
        })
        .ok_or("host not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_server::config::syntax::parse_str;

    fn build_text(text: &str, port_map: Vec<(u16, u16)>) -> Result<Config, ConfigError> {
        let path = Path::new("/etc/t/nginx.conf");
        let tree = parse_str(text, path)?;
        build(tree, path, &mut LoadContext::new(true, port_map))
    }

    #[test]
    fn errors_name_the_directive_file_and_line_like_nginx() {
        let cases = [
            (
                "server {\n  proxy_pas http://x;\n}",
                "unknown directive \"proxy_pas\" in /etc/t/nginx.conf:2",
            ),
            (
                "server {\n  location / {\n    listen 80;\n  }\n}",
                "\"listen\" directive is not allowed here in /etc/t/nginx.conf:3",
            ),
            (
                "server { autoindex maybe; }",
                "invalid value \"maybe\" in \"autoindex\" directive, it must be \"on\" or \"off\" in /etc/t/nginx.conf:1",
            ),
            (
                "server { root; }",
                "invalid number of arguments in \"root\" directive in /etc/t/nginx.conf:1",
            ),
            (
                "server { client_max_body_size lots; }",
                "\"client_max_body_size\" directive invalid value in /etc/t/nginx.conf:1",
            ),
            (
                "server { listen 127.0.0.1:99999; }",
                "invalid port in \"127.0.0.1:99999\" of the \"listen\" directive in /etc/t/nginx.conf:1",
            ),
            (
                "server { location / { proxy_pass ftp://x; } }",
                "invalid URL prefix in \"ftp://x\" in /etc/t/nginx.conf:1",
            ),
            (
                "server { add_header X $nope; }",
                "unknown \"nope\" variable in /etc/t/nginx.conf:1",
            ),
            (
                "server { location / { } location / { } }",
                "duplicate location \"/\"",
            ),
            (
                "server { location /a { location /b { } } }",
                "location \"/b\" is outside location \"/a\" in /etc/t/nginx.conf:1",
            ),
            (
                "upstream u { }\nserver { }",
                "no servers are inside upstream \"u\" in /etc/t/nginx.conf:1",
            ),
            (
                "events {}\nhttp {\n  server {\n    root /x;\n    root /y;\n  }\n}",
                "\"root\" directive is duplicate in /etc/t/nginx.conf:5",
            ),
            (
                "worker_processes 1;\nhttp { }",
                "no \"server\" block: nothing would listen in /etc/t/nginx.conf:1",
            ),
        ];
        for (text, want) in cases {
            match build_text(text, Vec::new()) {
                Ok(_) => panic!("{text:?} should fail with {want}"),
                Err(err) => assert_eq!(err.to_string(), format!("[emerg] {want}"), "for {text:?}"),
            }
        }
    }

    #[test]
    fn inheritance_follows_nginx() {
        let config = build_text(
            "http {\n add_header X-Http 1;\n client_max_body_size 2m;\n server {\n  location /a { add_header X-A 1; }\n  location /b { }\n  root /srv;\n }\n}",
            Vec::new(),
        )
        .unwrap();
        let server = &config.servers[0];
        let a = &server.locations[0].conf;
        let b = &server.locations[1].conf;
        // add_header at a level replaces the inherited list; no own list inherits it.
        assert_eq!(
            a.add_header
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>(),
            ["x-a"]
        );
        assert_eq!(
            b.add_header
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>(),
            ["x-http"]
        );
        // a server-level root written after its locations still applies to them.
        assert!(matches!(&b.doc_root, DocRoot::Root(p) if p == Path::new("/srv")));
        assert_eq!(b.client_max_body_size, 2 * 1024 * 1024);
    }

    #[test]
    fn port_map_moves_listen_and_upstream_ports_only() {
        let config = build_text(
            "upstream app { server 127.0.0.1:8000; }\nserver { listen 8080; location / { proxy_pass http://app; } location /d { proxy_pass http://127.0.0.1:8000; } }",
            vec![(8080, 18080), (8000, 18000)],
        )
        .unwrap();
        let server = &config.servers[0];
        assert_eq!(server.listen[0].addr.port(), 18080);
        assert_eq!(server.listen[0].spec, "8080");
        for location in &server.locations {
            let proxy = location.conf.proxy.as_ref().unwrap();
            assert_eq!(proxy.upstream.peers[0].addr.port(), 18000);
        }
    }

    #[test]
    fn times_and_sizes() {
        assert_eq!(parse_time("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_time("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_time("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_time("1x"), None);
        assert_eq!(parse_size("1m"), Some(1024 * 1024));
        assert_eq!(parse_size("10K"), Some(10 * 1024));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("m"), None);
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::web_server::config::syntax::parse_str;

    /// Mangled configurations give errors, never panics.
    #[test]
    fn mangled_configs_never_panic() {
        let base = include_str!("../../../assets/nginx.conf");
        let pieces = [
            "{",
            "}",
            ";",
            "\"",
            "'",
            "$",
            "${",
            "location",
            "= ",
            "~ ",
            "[",
            "(",
            "\\",
            "server",
            "listen 0;",
            "alias",
            "root",
            "return 301",
            "proxy_pass http://",
            "upstream u {",
            "include *;",
            "#",
            "\n",
            "\u{0}",
            "client_max_body_size 9999999999999999999g;",
            "proxy_read_timeout 99999999999999999h;",
            "ü",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..2000 {
            let mut text = base.to_owned();
            for _ in 0..1 + next(4) {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(2) == 0 {
                    text.insert_str(at, pieces[next(pieces.len())]);
                } else {
                    let mut end = (at + next(20)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
            }
            let path = Path::new("/nonexistent/fuzz/nginx.conf");
            if let Ok(tree) = parse_str(&text, path) {
                let _ = build(tree, path, &mut LoadContext::new(true, Vec::new()));
            }
        }
    }
}
