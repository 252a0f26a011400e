//! Answering from disk: `root` and `alias`, `index`, `autoindex`, the directory redirect,
//! conditional requests (ETag, Last-Modified → 304) and byte ranges (206, 416, multipart),
//! all as nginx does them. Nothing here reaches the WSGI server: that is the lesson.
//!
//! Files are read in 64 KiB pieces as the client takes them, so a large download costs a
//! small, fixed amount of memory.

//!
//! `path` maps the URI onto the file system, `conditional` decides 304, 412 and which
//! ranges, `response` builds the answer and streams the file.

mod conditional;
mod path;
mod response;

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use hyper::header::{self, HeaderMap};
use hyper::{Method, Response, StatusCode};

use super::autoindex;
use super::config::{DocRoot, LocConf};
use super::log::Level;
use super::responses::{Body, full};
use path::{base_dir, file_path, has_symlink};
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
    if conf.disable_symlinks && has_symlink(base_dir(&conf.doc_root), &path) {
        let log = format!(
            "open() \"{}\" failed (40: Too many levels of symbolic links)",
            path.display()
        );
        return status(403, path, Some((Level::Error, log)));
    }

    if req.uri.ends_with(b"/") {
        return directory(req, path, get_or_head);
    }

    // Open first and ask the open file for its metadata: one path lookup instead of two.
    let (file, meta) = match open_with_metadata(&path) {
        Ok(pair) => pair,
        Err(err) => return open_failed(path, &err),
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
fn open_with_metadata(path: &Path) -> io::Result<(Option<File>, Metadata)> {
    match File::open(path) {
        Ok(file) => {
            let meta = file.metadata()?;
            Ok((Some(file), meta))
        }
        Err(err) => match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Ok((None, meta)),
            _ => Err(err),
        },
    }
}

fn open_failed(path: PathBuf, err: &io::Error) -> Outcome {
    let code = match err.kind() {
        io::ErrorKind::PermissionDenied => 403,
        _ => 404,
    };
    let log = format!(
        "open() \"{}\" failed ({})",
        path.display(),
        super::config::syntax::os_error(err)
    );
    status(code, path, Some((Level::Error, log)))
}

fn directory(req: &StaticRequest, dir: PathBuf, get_or_head: bool) -> Outcome {
    for index in &req.conf.index {
        if index.starts_with('/') {
            return Outcome::Redirect(index.as_bytes().to_vec());
        }
        let candidate = dir.join(index);
        if candidate.is_file() {
            let mut uri = req.uri.to_vec();
            uri.extend_from_slice(index.as_bytes());
            return Outcome::Redirect(uri);
        }
    }
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let log = format!("\"{}\" is not a directory", dir.display());
            return status(404, dir, Some((Level::Error, log)));
        }
        Err(err) => return open_failed(dir, &err),
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
        Err(err) => open_failed(dir, &err),
    }
}
