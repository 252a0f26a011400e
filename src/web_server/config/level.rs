//! One level's own settings (http, server or location) and nginx's merge of them over the
//! parent's: each module keeps its part and merges it, as nginx's `merge_loc_conf` does.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{DocRoot, HttpVersion, LocConf, Symlinks, mime};
use crate::web_server::log::AccessLog;

/// What a level itself says, before inheritance; `None` or empty means "as the parent".
#[derive(Default)]
pub(super) struct Settings {
    pub(super) core: super::http_core::Own,
    pub(super) files: super::static_files::Own,
    pub(super) rewrite: super::rewrite::Own,
    pub(super) headers: super::headers::Own,
    pub(super) proxy: super::proxy::Own,
    pub(super) log: super::log::Own,
}

/// What a configuration that says nothing gets: nginx's defaults, except where a note says.
pub(super) fn defaults(base: &Path, access_log: Vec<AccessLog>) -> LocConf {
    LocConf {
        name: String::new(),
        doc_root: DocRoot::Root(base.join("html")),
        index: vec!["index.html".into()],
        autoindex: false,
        ret: None,
        proxy: None,
        proxy_set_header: Arc::new(super::proxy::headers(&[])),
        proxy_http_version: HttpVersion::Http10,
        proxy_connect_timeout: Duration::from_secs(60),
        proxy_read_timeout: Duration::from_secs(60),
        client_max_body_size: 1024 * 1024,
        add_header: Arc::new(Vec::new()),
        disable_symlinks: Symlinks::Follow,
        types: mime::default_types(),
        default_type: hyper::header::HeaderValue::from_static("application/octet-stream"),
        access_log: Arc::new(access_log),
        error_page: Arc::new(HashMap::new()),
        server_tokens: true,
    }
}

/// A level's settings merged over its parent's. `name` is the location as written.
pub(super) fn inherit(parent: &LocConf, own: &Settings, name: &str) -> LocConf {
    let mut conf = parent.clone();
    conf.name = name.to_owned();
    // Content handlers are not inherited: a nested location without its own `return` or
    // `proxy_pass` serves files, as in nginx. `rewrite` sets `ret` from the level's own,
    // the location its `proxy` afterwards.
    conf.proxy = None;
    own.core.merge(&mut conf);
    own.files.merge(&mut conf);
    own.rewrite.merge(&mut conf);
    own.headers.merge(&mut conf);
    own.proxy.merge(&mut conf);
    own.log.merge(&mut conf);
    conf
}

/// An own value, else the inherited one.
pub(super) fn merge<T: Clone>(own: &Option<T>, slot: &mut T) {
    if let Some(value) = own {
        *slot = value.clone();
    }
}
