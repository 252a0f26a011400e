//! Directives real nginx configs often carry that change nothing here: accepted with a
//! `[warn]`, so a config can travel from nginx to wsgi-tutor unchanged. They come from
//! several nginx modules (core, gzip, proxy, charset, ssl); giving one a meaning moves its
//! row to its module's table.

use super::commands::{ANYTHING, Command, HTTP_ALL, Set, cmd};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("sendfile", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("tcp_nopush", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("tcp_nodelay", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip_types", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip_vary", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip_proxied", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip_comp_level", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("gzip_min_length", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("types_hash_max_size", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("types_hash_bucket_size", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("server_names_hash_bucket_size", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_buffering", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_buffers", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_buffer_size", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_request_buffering", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_redirect", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("proxy_send_timeout", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("send_timeout", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("client_body_timeout", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("client_body_buffer_size", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("charset", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("etag", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("ssl_protocols", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("ssl_prefer_server_ciphers", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("open_file_cache", HTTP_ALL, ANYTHING, Set::Warn),
    cmd("reset_timedout_connection", HTTP_ALL, ANYTHING, Set::Warn),
];
