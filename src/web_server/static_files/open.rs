//! Opening a file under `disable_symlinks`, as nginx does it (`ngx_open_file_wrapper`): one
//! component at a time from `/` (or from the `from=` part), each with `openat()` and
//! `O_NOFOLLOW`, so a link anywhere in the path fails the open itself and there is no
//! window between a check and the open. The errors are the kernel's, as nginx reports
//! them: a link as the last component is `ELOOP` (40, 403); a link in the middle is opened
//! as the link itself (`O_PATH` on Linux) and the next step gives `ENOTDIR` (20, 404).
//! `if_not_owner` follows links and refuses (`ELOOP`) one whose target has another owner.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::DocRoot;
use super::path::base_dir;
use crate::web_server::config::{LocConf, Symlinks, SymlinksFrom};

/// The name nginx's error-log line gives the call that failed.
pub(super) fn syscall(conf: &LocConf) -> &'static str {
    match conf.disable_symlinks {
        Symlinks::Follow => "open()",
        Symlinks::Refuse { .. } => "openat()",
    }
}

/// Whether this location checks links at all.
pub(super) fn checks_links(conf: &LocConf) -> bool {
    conf.disable_symlinks != Symlinks::Follow
}

/// Open `path` for reading (a directory too), following links or not as the location says.
pub(super) fn open(path: &Path, conf: &LocConf) -> io::Result<File> {
    let Symlinks::Refuse { if_not_owner, from } = &conf.disable_symlinks else {
        return File::open(path);
    };
    let from = from
        .as_ref()
        .and_then(|from| from_path(from, &conf.doc_root));
    // nginx: a `from=` that is not an initial part of the path checks the whole path; one
    // that is the whole path checks nothing.
    match from
        .as_deref()
        .and_then(|from| Some((from, path.strip_prefix(from).ok()?)))
    {
        Some((_, rest)) if rest.as_os_str().is_empty() => File::open(path),
        Some((from, rest)) => nofollow::open(Some(from), rest, *if_not_owner),
        None => nofollow::open(None, path, *if_not_owner),
    }
}

fn from_path(from: &SymlinksFrom, doc_root: &DocRoot) -> Option<PathBuf> {
    match from {
        SymlinksFrom::Path(path) => Some(path.clone()),
        SymlinksFrom::DocumentRoot => Some(base_dir(doc_root).to_path_buf()),
        SymlinksFrom::RealpathRoot => std::fs::canonicalize(base_dir(doc_root)).ok(),
    }
}

#[cfg(unix)]
mod nofollow {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Component, Path};

    /// nginx's `NGX_FILE_SEARCH`: a descriptor to walk through, not to read.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SEARCH: libc::c_int = libc::O_PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SEARCH: libc::c_int = libc::O_RDONLY;

    /// Walk `rest` from `start` (followed as it is) or from `/`, never following a link.
    pub(super) fn open(start: Option<&Path>, rest: &Path, if_not_owner: bool) -> io::Result<File> {
        let mut at: Option<OwnedFd> = match start {
            Some(start) => Some(open_at(None, start, SEARCH | libc::O_DIRECTORY)?),
            None if rest.has_root() => Some(open_at(None, Path::new("/"), SEARCH)?),
            None => None,
        };
        let names: Vec<&Path> = rest
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(Path::new(name)),
                _ => None,
            })
            .collect();
        let Some((last, dirs)) = names.split_last() else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let nofollow = if if_not_owner { 0 } else { libc::O_NOFOLLOW };
        for name in dirs {
            let fd = step(at.as_ref(), name, SEARCH | nofollow, if_not_owner)?;
            at = Some(fd);
        }
        let fd = step(at.as_ref(), last, libc::O_RDONLY | nofollow, if_not_owner)?;
        Ok(File::from(fd))
    }

    /// One component: opened, and for `if_not_owner` refused when what was opened has
    /// another owner than the name itself (nginx's `ngx_openat_file_owner`).
    fn step(
        at: Option<&OwnedFd>,
        name: &Path,
        flags: libc::c_int,
        if_not_owner: bool,
    ) -> io::Result<OwnedFd> {
        let fd = open_at(at, name, flags)?;
        if if_not_owner {
            let name_owner = stat_at(at, name)?.st_uid;
            // SAFETY: fstat on a descriptor we own, into a zeroed stat of the right size.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) } != 0 {
                return Err(io::Error::last_os_error());
            }
            if st.st_uid != name_owner {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
        }
        Ok(fd)
    }

    fn dir_fd(at: Option<&OwnedFd>) -> RawFd {
        at.map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd)
    }

    fn c_name(name: &Path) -> io::Result<CString> {
        CString::new(name.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file name contains NUL"))
    }

    fn open_at(at: Option<&OwnedFd>, name: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
        let name = c_name(name)?;
        // SAFETY: a NUL-terminated name and a directory descriptor that outlives the call;
        // the returned descriptor is ours alone.
        let fd = unsafe { libc::openat(dir_fd(at), name.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn stat_at(at: Option<&OwnedFd>, name: &Path) -> io::Result<libc::stat> {
        let name = c_name(name)?;
        // SAFETY: as in `open_at`, into a zeroed stat of the right size.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::fstatat(
                dir_fd(at),
                name.as_ptr(),
                &raw mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(st)
    }
}

/// Without `openat()`: each component is looked at before the open (a link anywhere is
/// refused as 403; `if_not_owner` is as strict as `on`, owners being Unix's).
#[cfg(not(unix))]
mod nofollow {
    use std::fs::File;
    use std::io;
    use std::path::{Path, PathBuf};

    pub(super) fn open(start: Option<&Path>, rest: &Path, _if_not_owner: bool) -> io::Result<File> {
        let mut current = start.map(Path::to_path_buf).unwrap_or_else(PathBuf::new);
        for component in rest.components() {
            current.push(component);
            if std::fs::symlink_metadata(&current)?
                .file_type()
                .is_symlink()
            {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "a symbolic link in the path (disable_symlinks)",
                ));
            }
        }
        File::open(&current)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::nofollow;
    use std::os::unix::fs::symlink;

    fn errno(result: std::io::Result<std::fs::File>) -> Option<i32> {
        result.err().and_then(|e| e.raw_os_error())
    }

    #[test]
    fn links_fail_the_open_with_nginx_s_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::create_dir(d.join("real")).unwrap();
        std::fs::write(d.join("real/f.txt"), "f").unwrap();
        symlink(d.join("real/f.txt"), d.join("file-link")).unwrap();
        symlink(d.join("real"), d.join("dir-link")).unwrap();
        symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        assert!(nofollow::open(None, &d.join("real/f.txt"), false).is_ok());
        assert!(nofollow::open(None, &d.join("real"), false).is_ok());
        assert_eq!(
            errno(nofollow::open(None, &d.join("file-link"), false)),
            Some(libc::ELOOP)
        );
        assert_eq!(
            errno(nofollow::open(None, &d.join("dangling"), false)),
            Some(libc::ELOOP)
        );
        assert_eq!(
            errno(nofollow::open(None, &d.join("dir-link"), false)),
            Some(libc::ELOOP)
        );
        let through = errno(nofollow::open(None, &d.join("dir-link/f.txt"), false));
        #[cfg(target_os = "linux")]
        assert_eq!(through, Some(libc::ENOTDIR));
        #[cfg(not(target_os = "linux"))]
        assert!(through.is_some());
        assert_eq!(
            errno(nofollow::open(None, &d.join("real/missing"), false)),
            Some(libc::ENOENT)
        );
        // from= a part that is itself a link: only what follows it is checked
        assert!(nofollow::open(Some(&d.join("dir-link")), "f.txt".as_ref(), false).is_ok());
        // if_not_owner: links to what the same user owns are followed
        assert!(nofollow::open(None, &d.join("dir-link/f.txt"), true).is_ok());
        assert!(nofollow::open(None, &d.join("file-link"), true).is_ok());
    }
}
