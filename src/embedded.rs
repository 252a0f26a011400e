//! Everything the binary carries from the source tree, so that the binary alone is enough:
//! no install step, no data directory to find at run time.
//!
//! Kept in one module so that what is embedded, and from where, is visible at a glance;
//! `build.rs` makes cargo rebuild when a file under `lessons/` or `assets/` is added,
//! removed or changed (`include_dir!` does not tell cargo about the files it reads).

use include_dir::{Dir, include_dir};

/// The bundled lesson pack (`lessons/*.md`, and its README describing the format).
pub static LESSONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/lessons");

/// The lab's originals (`nginx.conf`, `mime.types`, `static/`, `apps/`), written into the
/// lab folder and used to restore a file the learner broke.
pub static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets");

/// The lab's nginx configuration as shipped, before the lab folder's path is put in.
pub const NGINX_CONF: &str = include_str!("../assets/nginx.conf");

/// nginx's usual `types {}` table, the web server's default when a configuration has none.
pub const MIME_TYPES: &str = include_str!("../assets/mime.types");

/// The Python side of a WSGI worker, passed to `python3 -c`.
pub const WSGI_WORKER: &str = include_str!("../assets/wsgi_worker.py");

/// syntect has no nginx grammar of its own; the lesson pane highlights with this one.
pub const NGINX_SYNTAX: &str = include_str!("../assets/syntaxes/nginx.sublime-syntax");
