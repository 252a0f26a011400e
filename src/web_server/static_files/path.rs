//! From URI to file: `root` appends the whole URI, `alias` replaces the location's prefix;
//! nothing may land outside the folder named by URI tricks. Symbolic links inside it are
//! followed unless `disable_symlinks` says otherwise (see `open`).

use std::path::{Component, Path, PathBuf};

use super::DocRoot;

/// Map the URI onto the file system, refusing anything that would land outside the root
/// or alias.
pub(super) fn file_path(doc_root: &DocRoot, uri: &[u8]) -> Option<PathBuf> {
    let (dir, rest): (&Path, &[u8]) = match doc_root {
        DocRoot::Root(dir) => (dir, uri),
        DocRoot::Alias {
            dir, regex: true, ..
        } => return Some(dir.clone()),
        DocRoot::Alias { dir, prefix, .. } => (dir, uri.get(prefix.len()..).unwrap_or_default()),
    };
    // `location /static` + `alias /lab/static` + `/staticfoo` would name `/lab/staticfoo`,
    // a sibling of the alias (nginx serves it; we do not).
    if !rest.is_empty() && rest[0] != b'/' && !dir.as_os_str().to_string_lossy().ends_with('/') {
        return None;
    }
    let mut path = PathBuf::with_capacity(dir.as_os_str().len() + rest.len() + 1);
    path.push(dir);
    for segment in rest.split(|&b| b == b'/') {
        if segment.is_empty() {
            continue;
        }
        let part = segment_path(segment)?;
        let part: &Path = &part;
        let mut components = part.components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => path.push(part),
            _ => return None,
        }
    }
    Some(path)
}

#[cfg(unix)]
fn segment_path(bytes: &[u8]) -> Option<std::borrow::Cow<'_, Path>> {
    use std::os::unix::ffi::OsStrExt;
    Some(Path::new(std::ffi::OsStr::from_bytes(bytes)).into())
}

#[cfg(not(unix))]
fn segment_path(bytes: &[u8]) -> Option<std::borrow::Cow<'_, Path>> {
    std::str::from_utf8(bytes).ok().map(|s| Path::new(s).into())
}

/// The root or alias folder itself (`$document_root`, for `disable_symlinks from=`).
pub(super) fn base_dir(doc_root: &DocRoot) -> &Path {
    match doc_root {
        DocRoot::Root(dir) | DocRoot::Alias { dir, .. } => dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_never_leaves_its_folder() {
        let alias = DocRoot::Alias {
            dir: PathBuf::from("/lab/static"),
            prefix: "/static".into(),
            regex: false,
        };
        assert_eq!(
            file_path(&alias, b"/static/a.css"),
            Some(PathBuf::from("/lab/static/a.css"))
        );
        assert_eq!(
            file_path(&alias, b"/static"),
            Some(PathBuf::from("/lab/static"))
        );
        assert_eq!(file_path(&alias, b"/staticfoo"), None);
        assert_eq!(file_path(&alias, b"/static../etc/passwd"), None);
        let root = DocRoot::Root(PathBuf::from("/srv"));
        assert_eq!(
            file_path(&root, b"/a/b.html"),
            Some(PathBuf::from("/srv/a/b.html"))
        );
        assert_eq!(file_path(&root, b"/a/../b"), None);
    }
}
