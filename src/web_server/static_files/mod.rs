//! Answering from disk: `root` and `alias`, `index`, `autoindex`, the directory redirect,
//! conditional requests (ETag, Last-Modified → 304) and byte ranges (206, 416, multipart),
//! all as nginx does them. Nothing here reaches the WSGI server: that is the lesson.
//!
//! Files are read in 64 KiB pieces as the client takes them, so a large download costs a
//! small, fixed amount of memory.

//!
//! `path` maps the URI onto the file system, `open` opens files with or without following
//! symbolic links (`disable_symlinks`), `conditional` decides 304, 412 and which ranges,
//! `response` builds the answer and streams the file.

mod conditional;
mod open;
mod path;
mod response;

use std::fs::{File, Metadata};
use std::io;
use std::ops::ControlFlow::{self, Break, Continue};
use std::path::{Path, PathBuf};

use hyper::header::{self, HeaderMap};
use hyper::{Method, Response, StatusCode};

use super::autoindex;
use super::config::{DocRoot, LocConf};
use super::log::Level;
use super::responses::{Body, full};
use path::file_path;
use response::file_response;

pub struct StaticRequest<'a> {
    pub method: &'a Method,
    /// Decoded, normalised URI.
    pub uri: &'a [u8],
    pub args: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub conf: &'a LocConf,
}

pub enum Outcome {
    /// Send this (a file, a listing, a redirect, a 304 or 206).
    Response {
        response: Response<Body>,
        path: PathBuf,
        size: u64,
    },
    /// A directory asked for without its trailing slash: 301 to the same URI with one
    /// (`location` is the path and query; the caller puts scheme and host before it).
    Moved { location: String, path: PathBuf },
    /// nginx's internal redirect to an index file: choose a location again for this URI.
    Redirect(Vec<u8>),
    /// An error status; the caller writes the page. The log line says why.
    Status {
        status: u16,
        path: PathBuf,
        log: Option<(Level, String)>,
        /// 416 says how long the file is.
        content_range: Option<String>,
    },
}

fn status(status: u16, path: PathBuf, log: Option<(Level, String)>) -> Outcome {
    Outcome::Status {
        status,
        path,
        log,
        content_range: None,
    }
}

pub fn serve(req: &StaticRequest) -> Outcome {
    let conf = req.conf;
    let get_or_head = *req.method == Method::GET || *req.method == Method::HEAD;
    if !get_or_head && *req.method != Method::POST {
        return status(405, PathBuf::new(), None);
    }
    let Some(path) = file_path(&conf.doc_root, req.uri) else {
        let log = format!(
            "\"{}\" would be outside the {} of this location",
            String::from_utf8_lossy(req.uri),
            match conf.doc_root {
                DocRoot::Root(_) => "root",
                DocRoot::Alias { .. } => "alias",
            }
        );
        return status(404, PathBuf::new(), Some((Level::Error, log)));
    };
    if req.uri.ends_with(b"/") {
        return directory(req, path, get_or_head);
    }

    // Open first and ask the open file for its metadata: one path lookup instead of two.
    let (file, meta) = match open_with_metadata(&path, conf) {
        Ok(pair) => pair,
        Err(err) => return open_failed(path, &err, conf),
    };
    if meta.is_dir() {
        let mut location = format!("{}/", super::uri::escape_path(req.uri));
        if let Some(args) = req.args {
            location.push('?');
            location.push_str(args);
        }
        return Outcome::Moved { location, path };
    }
    if !get_or_head {
        return status(405, path, None);
    }
    match file {
        Some(file) => file_response(req, path, file, &meta),
        None => status(404, path, None),
    }
}

/// The file (None for a directory where the platform cannot open one) and its metadata.
fn open_with_metadata(path: &Path, conf: &LocConf) -> io::Result<(Option<File>, Metadata)> {
    match open::open(path, conf) {
        Ok(file) => {
            let meta = file.metadata()?;
            Ok((Some(file), meta))
        }
        Err(err) if open::checks_links(conf) => Err(err),
        Err(err) => match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Ok((None, meta)),
            _ => Err(err),
        },
    }
}

/// nginx's status for a failed open: no access, or a link refused (`ELOOP`; `EMLINK` on
/// FreeBSD), is 403; the rest is 404.
fn open_status(err: &io::Error) -> u16 {
    #[cfg(unix)]
    if matches!(err.raw_os_error(), Some(libc::ELOOP | libc::EMLINK)) {
        return 403;
    }
    match err.kind() {
        io::ErrorKind::PermissionDenied => 403,
        _ => 404,
    }
}

fn open_failed(path: PathBuf, err: &io::Error, conf: &LocConf) -> Outcome {
    let log = format!(
        "{} \"{}\" failed ({})",
        open::syscall(conf),
        path.display(),
        super::config::syntax::os_error(err)
    );
    status(open_status(err), path, Some((Level::Error, log)))
}

/// An index file under `disable_symlinks`, as nginx's index module tests it: true when it
/// is a file to redirect to, false to try the next, or the answer; a link refused is 403
/// without a log line, a path through a link or a non-directory 404 "is not found", no
/// access 403 "is forbidden".
fn index_checked(candidate: &Path, conf: &LocConf) -> ControlFlow<Outcome, bool> {
    let err = match open::open(candidate, conf) {
        Ok(file) => return Continue(file.metadata().is_ok_and(|m| m.is_file())),
        Err(err) => err,
    };
    let path = candidate.to_path_buf();
    #[cfg(unix)]
    match err.raw_os_error() {
        Some(libc::ELOOP | libc::EMLINK) => return Break(status(403, path, None)),
        Some(libc::ENOTDIR | libc::ENAMETOOLONG) => {
            let log = format!(
                "\"{}\" is not found ({})",
                path.display(),
                super::config::syntax::os_error(&err)
            );
            return Break(status(404, path, Some((Level::Error, log))));
        }
        _ => {}
    }
    match err.kind() {
        io::ErrorKind::NotFound => Continue(false),
        io::ErrorKind::PermissionDenied => {
            let log = format!("\"{}\" is forbidden", path.display());
            Break(status(403, path, Some((Level::Error, log))))
        }
        _ => Break(open_failed(path, &err, conf)),
    }
}

fn directory(req: &StaticRequest, dir: PathBuf, get_or_head: bool) -> Outcome {
    for index in &req.conf.index {
        if index.starts_with('/') {
            return Outcome::Redirect(index.as_bytes().to_vec());
        }
        let candidate = dir.join(index);
        let is_file = if open::checks_links(req.conf) {
            match index_checked(&candidate, req.conf) {
                Continue(is_file) => is_file,
                Break(refused) => return refused,
            }
        } else {
            candidate.is_file()
        };
        if is_file {
            let mut uri = req.uri.to_vec();
            uri.extend_from_slice(index.as_bytes());
            return Outcome::Redirect(uri);
        }
    }
    let meta = if open::checks_links(req.conf) {
        open::open(&dir, req.conf).and_then(|file| file.metadata())
    } else {
        std::fs::metadata(&dir)
    };
    match meta {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let log = format!("\"{}\" is not a directory", dir.display());
            return status(404, dir, Some((Level::Error, log)));
        }
        Err(err) => return open_failed(dir, &err, req.conf),
    }
    // Only GET and HEAD get a listing; a POST falls through to "forbidden", as in nginx.
    if !req.conf.autoindex || !get_or_head {
        let log = format!("directory index of \"{}/\" is forbidden", dir.display());
        return status(403, dir, Some((Level::Error, log)));
    }
    match autoindex::listing(&dir, req.uri) {
        Ok(html) => {
            let size = html.len() as u64;
            let response = Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/html")
                .body(full(html))
                .expect("valid listing");
            Outcome::Response {
                response,
                path: dir,
                size,
            }
        }
        Err(err) => open_failed(dir, &err, req.conf),
    }
}
