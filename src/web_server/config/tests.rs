//! The configuration as a whole: nginx's error wording with file and line, inheritance,
//! `--port` remapping, and mangled input.

use std::path::Path;

use super::syntax::parse_str;
use super::{Config, ConfigError, DocRoot, LoadContext, build};

fn build_text(text: &str, port_map: Vec<(u16, u16)>) -> Result<Config, ConfigError> {
    let path = Path::new("/etc/t/nginx.conf");
    let tree = parse_str(text, path)?;
    build(tree, path, &mut LoadContext::new(true, port_map))
}

fn assert_error(text: &str, want: &str) {
    match build_text(text, Vec::new()) {
        Ok(_) => panic!("{text:?} should fail with {want}"),
        Err(err) => assert_eq!(err.to_string(), format!("[emerg] {want}"), "for {text:?}"),
    }
}

/// One `#[test]` per case, so every failing case is reported, not only the first.
macro_rules! error_cases {
    ($($name:ident: $text:expr => $want:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_error($text, $want);
            }
        )*
    };
}

error_cases! {
    unknown_directive:
        "server {\n  proxy_pas http://x;\n}" => "unknown directive \"proxy_pas\" in /etc/t/nginx.conf:2";
    unknown_directive_in_events:
        "events { frobnicate; }\nhttp { server { } }" => "unknown directive \"frobnicate\" in /etc/t/nginx.conf:1";
    unknown_keepalive_variant_in_upstream:
        "upstream u { server 127.0.0.1:1; keepalive_often 3; }\nserver { }" => "unknown directive \"keepalive_often\" in /etc/t/nginx.conf:1";
    listen_in_location_is_not_allowed:
        "server {\n  location / {\n    listen 80;\n  }\n}" => "\"listen\" directive is not allowed here in /etc/t/nginx.conf:3";
    root_in_main_is_not_allowed:
        "events {}\nhttp { server { } }\nroot /tmp;" => "\"root\" directive is not allowed here in /etc/t/nginx.conf:3";
    process_setting_in_a_bare_file_is_not_allowed:
        "user nobody;\nserver { }" => "\"user\" directive is not allowed here in /etc/t/nginx.conf:1";
    events_setting_in_http_is_not_allowed:
        "http { worker_connections 16; server { } }" => "\"worker_connections\" directive is not allowed here in /etc/t/nginx.conf:1";
    // the upstream keep-alive settings, worded as nginx 1.22's `nginx -t`
    keepalive_zero:
        "upstream u { server 127.0.0.1:1; keepalive 0; }\nserver { }" => "invalid value \"0\" in \"keepalive\" directive in /etc/t/nginx.conf:1";
    keepalive_not_a_number:
        "upstream u { server 127.0.0.1:1; keepalive abc; }\nserver { }" => "invalid value \"abc\" in \"keepalive\" directive in /etc/t/nginx.conf:1";
    keepalive_twice:
        "upstream u { server 127.0.0.1:1; keepalive 1; keepalive 2; }\nserver { }" => "\"keepalive\" directive is duplicate in /etc/t/nginx.conf:1";
    upstream_keepalive_timeout_bad:
        "upstream u { server 127.0.0.1:1; keepalive_timeout abc; }\nserver { }" => "\"keepalive_timeout\" directive invalid value in /etc/t/nginx.conf:1";
    upstream_keepalive_timeout_two_arguments:
        "upstream u { server 127.0.0.1:1; keepalive_timeout 1s 2s; }\nserver { }" => "invalid number of arguments in \"keepalive_timeout\" directive in /etc/t/nginx.conf:1";
    upstream_keepalive_timeout_twice:
        "upstream u { server 127.0.0.1:1; keepalive_timeout 1s; keepalive_timeout 2s; }\nserver { }" => "\"keepalive_timeout\" directive is duplicate in /etc/t/nginx.conf:1";
    keepalive_requests_bad:
        "upstream u { server 127.0.0.1:1; keepalive_requests -1; }\nserver { }" => "\"keepalive_requests\" directive invalid number in /etc/t/nginx.conf:1";
    keepalive_requests_too_big:
        "upstream u { server 127.0.0.1:1; keepalive_requests 99999999999999999999; }\nserver { }" => "\"keepalive_requests\" directive invalid number in /etc/t/nginx.conf:1";
    keepalive_requests_twice:
        "upstream u { server 127.0.0.1:1; keepalive_requests 1; keepalive_requests 2; }\nserver { }" => "\"keepalive_requests\" directive is duplicate in /etc/t/nginx.conf:1";
    keepalive_time_bad:
        "upstream u { server 127.0.0.1:1; keepalive_time x; }\nserver { }" => "\"keepalive_time\" directive invalid value in /etc/t/nginx.conf:1";
    keepalive_time_twice:
        "upstream u { server 127.0.0.1:1; keepalive_time 1s; keepalive_time 2s; }\nserver { }" => "\"keepalive_time\" directive is duplicate in /etc/t/nginx.conf:1";
    // disable_symlinks, worded as nginx 1.22's `nginx -t`
    disable_symlinks_unknown_parameter:
        "server { disable_symlinks foo; }" => "invalid parameter \"foo\" in /etc/t/nginx.conf:1";
    disable_symlinks_unknown_named_parameter:
        "server { disable_symlinks on foo=1; }" => "invalid parameter \"foo=1\" in /etc/t/nginx.conf:1";
    disable_symlinks_two_modes:
        "server { disable_symlinks on off; }" => "duplicate parameters \"on off\" in /etc/t/nginx.conf:1";
    disable_symlinks_from_without_mode:
        "server { disable_symlinks from=/tmp; }" => "\"disable_symlinks\" must have \"off\", \"on\" or \"if_not_owner\" parameter in /etc/t/nginx.conf:1";
    disable_symlinks_off_with_from:
        "server { disable_symlinks off from=/tmp; }" => "\"from=\" cannot be used with \"off\" parameter in /etc/t/nginx.conf:1";
    disable_symlinks_three_arguments:
        "server { disable_symlinks on from=/a from=/b; }" => "invalid number of arguments in \"disable_symlinks\" directive in /etc/t/nginx.conf:1";
    upstream_keepalive_in_server_is_not_allowed:
        "server { keepalive 4; }" => "\"keepalive\" directive is not allowed here in /etc/t/nginx.conf:1";
    server_name_in_upstream_is_not_allowed:
        "upstream u { server_name x; }\nserver { }" => "\"server_name\" directive is not allowed here in /etc/t/nginx.conf:1";
    return_in_http_is_not_allowed:
        "return 200;\nserver { }" => "\"return\" directive is not allowed here in /etc/t/nginx.conf:1";
    error_log_in_location_is_not_allowed:
        "server { location / { error_log x; } }" => "\"error_log\" directive is not allowed here in /etc/t/nginx.conf:1";
    too_few_arguments:
        "server { root; }" => "invalid number of arguments in \"root\" directive in /etc/t/nginx.conf:1";
    too_many_arguments:
        "server { add_header A b always c; }" => "invalid number of arguments in \"add_header\" directive in /etc/t/nginx.conf:1";
    arguments_to_a_block_that_takes_none:
        "server x { }" => "invalid number of arguments in \"server\" directive in /etc/t/nginx.conf:1";
    location_without_a_pattern:
        "server {\n location { }\n}" => "invalid number of arguments in \"location\" directive in /etc/t/nginx.conf:2";
    log_format_without_a_format:
        "log_format x escape=json;\nserver { }" => "invalid number of arguments in \"log_format\" directive in /etc/t/nginx.conf:1";
    a_block_where_a_semicolon_belongs:
        "server { autoindex on { } }" => "directive \"autoindex\" is not terminated by \";\" in /etc/t/nginx.conf:1";
    an_include_with_a_block:
        "server { include x { } }" => "directive \"include\" is not terminated by \";\" in /etc/t/nginx.conf:1";
    a_semicolon_where_a_block_belongs:
        "upstream u;\nserver { }" => "directive \"upstream\" has no opening \"{\" in /etc/t/nginx.conf:1";
    bad_flag:
        "server { autoindex maybe; }" => "invalid value \"maybe\" in \"autoindex\" directive, it must be \"on\" or \"off\" in /etc/t/nginx.conf:1";
    bad_size:
        "server { client_max_body_size lots; }" => "\"client_max_body_size\" directive invalid value in /etc/t/nginx.conf:1";
    bad_port:
        "server { listen 127.0.0.1:99999; }" => "invalid port in \"127.0.0.1:99999\" of the \"listen\" directive in /etc/t/nginx.conf:1";
    bad_proxy_url:
        "server { location / { proxy_pass ftp://x; } }" => "invalid URL prefix in \"ftp://x\" in /etc/t/nginx.conf:1";
    unknown_variable:
        "server { add_header X $nope; }" => "unknown \"nope\" variable in /etc/t/nginx.conf:1";
    duplicate_location:
        "server { location / { } location / { } }" => "duplicate location \"/\"";
    nested_location_outside_its_parent:
        "server { location /a { location /b { } } }" => "location \"/b\" is outside location \"/a\" in /etc/t/nginx.conf:1";
    location_inside_an_exact_location:
        "server { location = /a { location /a/b { } } }" => "location \"/a/b\" could not be inside the exact location \"/a\" in /etc/t/nginx.conf:1";
    empty_upstream:
        "upstream u { }\nserver { }" => "no servers are inside upstream \"u\" in /etc/t/nginx.conf:1";
    duplicate_root:
        "events {}\nhttp {\n  server {\n    root /x;\n    root /y;\n  }\n}" => "\"root\" directive is duplicate in /etc/t/nginx.conf:5";
    duplicate_http:
        "http { }\nhttp { }" => "\"http\" directive is duplicate in /etc/t/nginx.conf:2";
    no_server:
        "worker_processes 1;\nhttp { }" => "no \"server\" block: nothing would listen in /etc/t/nginx.conf:1";
    main_errors_before_http_errors:
        "http { bogus; }\nroot /x;" => "\"root\" directive is not allowed here in /etc/t/nginx.conf:2";
    definitions_are_read_first:
        "bogus;\nlog_format x escape=yaml $status;\nserver { }" => "unknown log format escaping \"yaml\" in /etc/t/nginx.conf:2";
}

#[test]
fn definitions_may_follow_their_use() {
    let config = build_text(
        "access_log stderr tiny;\nserver { location / { proxy_pass http://app; } }\nupstream app { server 127.0.0.1:8000; }\nlog_format tiny $status;",
        Vec::new(),
    )
    .unwrap();
    let proxy = config.servers[0].locations[0].conf.proxy.as_ref().unwrap();
    assert_eq!(proxy.upstream.name, "app");
}

#[test]
fn upstream_keepalive_settings_are_read_with_nginx_defaults() {
    use crate::web_server::upstream::KeepAlive;
    use std::time::Duration;
    let config = build_text(
        "upstream a { server 127.0.0.1:1; keepalive 8; keepalive_timeout 1m30s; keepalive_requests 0; keepalive_time 10m; }\nupstream b { server 127.0.0.1:2; keepalive 2; }\nserver { location /a { proxy_pass http://a; } location /b { proxy_pass http://b; } location /c { proxy_pass http://127.0.0.1:3; } }",
        Vec::new(),
    )
    .unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let keepalive = |i: usize| {
        config.servers[0].locations[i]
            .conf
            .proxy
            .as_ref()
            .unwrap()
            .upstream
            .keepalive
    };
    assert_eq!(
        keepalive(0),
        KeepAlive {
            connections: 8,
            timeout: Duration::from_secs(90),
            requests: 0,
            time: Duration::from_secs(600),
        }
    );
    assert_eq!(
        keepalive(1),
        KeepAlive {
            connections: 2,
            timeout: Duration::from_secs(60),
            requests: 1000,
            time: Duration::from_secs(3600),
        }
    );
    assert_eq!(keepalive(2), KeepAlive::default());
    assert_eq!(keepalive(2).connections, 0);
}

#[test]
fn disable_symlinks_modes_and_from() {
    use super::{Symlinks, SymlinksFrom};
    let config = build_text(
        "server {\n location /a { disable_symlinks on; }\n location /b { disable_symlinks from=$document_root if_not_owner; }\n location /c { disable_symlinks on from=/srv/x; }\n location /d { disable_symlinks on from=$realpath_root; }\n location /e { disable_symlinks on from=$host; }\n location /f { disable_symlinks off; }\n location /g { }\n}",
        Vec::new(),
    )
    .unwrap();
    let modes: Vec<Symlinks> = config.servers[0]
        .locations
        .iter()
        .map(|l| l.conf.disable_symlinks.clone())
        .collect();
    let refuse = |if_not_owner, from| Symlinks::Refuse { if_not_owner, from };
    assert_eq!(
        modes,
        [
            refuse(false, None),
            refuse(true, Some(SymlinksFrom::DocumentRoot)),
            refuse(false, Some(SymlinksFrom::Path("/srv/x".into()))),
            refuse(false, Some(SymlinksFrom::RealpathRoot)),
            refuse(false, None),
            Symlinks::Follow,
            Symlinks::Follow,
        ]
    );
    assert_eq!(
        config.warnings,
        [
            "[warn] \"from=$host\" is not supported by wsgi-tutor (a path, $document_root or $realpath_root): the whole path is checked in /etc/t/nginx.conf:6"
        ]
    );
}

#[test]
fn ignored_directives_warn_with_file_and_line() {
    let config = build_text(
        "sendfile on;\nserver {\n  error_log x;\n  gzip on;\n}\nupstream u { server 127.0.0.1:1; least_conn; }",
        Vec::new(),
    )
    .unwrap();
    assert_eq!(
        config.warnings,
        [
            "[warn] \"least_conn\" is not supported by wsgi-tutor and is ignored in /etc/t/nginx.conf:6",
            "[warn] \"sendfile\" is not supported by wsgi-tutor and is ignored in /etc/t/nginx.conf:1",
            "[warn] \"error_log\" applies to the whole web server here in /etc/t/nginx.conf:3",
            "[warn] \"gzip\" is not supported by wsgi-tutor and is ignored in /etc/t/nginx.conf:4",
        ]
    );
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
fn content_handlers_are_not_inherited() {
    let config = build_text(
        "server { return 204; location /p { proxy_pass http://127.0.0.1:1; location /p/n { } } }",
        Vec::new(),
    )
    .unwrap();
    let server = &config.servers[0];
    assert_eq!(server.conf.ret.as_ref().map(|r| r.code), Some(204));
    let p = &server.locations[0];
    assert!(p.conf.ret.is_none());
    assert!(p.conf.proxy.is_some());
    assert!(p.children[0].conf.proxy.is_none());
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

mod fuzz {
    use std::path::Path;

    use super::super::syntax::parse_str;
    use super::super::{LoadContext, build};

    /// What gets inserted into the default configuration, besides deletions.
    const PIECES: &[&str] = &[
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
        "include x {",
        "#",
        "\n",
        "\u{0}",
        "client_max_body_size 9999999999999999999g;",
        "proxy_read_timeout 99999999999999999h;",
        "ü",
    ];

    /// Mangled configurations give errors, never panics.
    #[test]
    fn mangled_configs_never_panic() {
        let base = crate::embedded::NGINX_CONF;
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..2000 {
            let mut text = base.to_owned();
            for _ in 0..=next(4) {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(2) == 0 {
                    text.insert_str(at, PIECES[next(PIECES.len())]);
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
