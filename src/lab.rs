//! The lab folder: the files a learner edits (the web server's nginx.conf, the static site,
//! the WSGI apps), written once from the copies embedded in the binary.
//!
//! A file the learner changed is never overwritten; only missing files are written.

use std::path::{Path, PathBuf};

use anyhow::Context;
use include_dir::DirEntry;

use crate::embedded::ASSETS;

/// What goes into a lab: paths relative to assets/.
const LAB_ENTRIES: &[&str] = &["nginx.conf", "mime.types", "static", "apps"];

pub struct Lab {
    path: PathBuf,
}

impl Lab {
    /// The lab at `dir`, or in the user's data directory; missing files are written.
    pub fn prepare(dir: Option<PathBuf>) -> anyhow::Result<Lab> {
        let path = match dir {
            Some(dir) => dir,
            None => default_dir()
                .context("cannot find a data directory for the lab folder; use --lab DIR")?,
        };
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create the lab folder {}", path.display()))?;
        for name in LAB_ENTRIES {
            let Some(entry) = ASSETS.get_entry(name) else {
                continue;
            };
            write_missing(entry, &path)?;
        }
        Ok(Lab { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The original content of a lab file (relative path), to restore it.
    pub fn original(&self, relative: &str) -> Option<Vec<u8>> {
        ASSETS
            .get_file(relative)
            .map(|f| personalise(f.path(), f.contents(), &self.path))
    }
}

fn default_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "wsgi-tutor")?;
    Some(dirs.data_dir().join("lab"))
}

fn write_missing(entry: &DirEntry<'static>, lab: &Path) -> anyhow::Result<()> {
    match entry {
        DirEntry::Dir(dir) => {
            let target = lab.join(dir.path());
            std::fs::create_dir_all(&target)
                .with_context(|| format!("cannot create {}", target.display()))?;
            for child in dir.entries() {
                write_missing(child, lab)?;
            }
        }
        DirEntry::File(file) => {
            let target = lab.join(file.path());
            if !target.exists() {
                let contents = personalise(file.path(), file.contents(), lab);
                std::fs::write(&target, contents)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
        }
    }
    Ok(())
}

/// The lab's nginx.conf names its static folder by absolute path, as real configurations
/// do and as the lessons show it (the embedded copy says `alias static;`, relative to itself).
fn personalise(path: &Path, contents: &[u8], lab: &Path) -> Vec<u8> {
    if path != Path::new("nginx.conf") {
        return contents.to_vec();
    }
    let static_dir = lab.join("static");
    let static_dir = static_dir.to_string_lossy();
    let value = if static_dir.contains([' ', '"', ';', '{', '}', '#', '\'']) {
        format!(
            "\"{}\"",
            static_dir.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        static_dir.into_owned()
    };
    String::from_utf8_lossy(contents)
        .replace("alias static;", &format!("alias {value};"))
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_writes_missing_files_and_keeps_edits() {
        let dir = tempfile::tempdir().unwrap();
        let lab = Lab::prepare(Some(dir.path().to_path_buf())).unwrap();
        let conf = lab.path().join("nginx.conf");
        assert!(lab.path().join("static/index.html").is_file());
        let written = std::fs::read_to_string(&conf).unwrap();
        let static_dir = lab.path().join("static");
        assert!(
            written.contains(&format!("alias {};", static_dir.display())),
            "{written}"
        );
        assert_eq!(written.as_bytes(), lab.original("nginx.conf").unwrap());
        std::fs::write(&conf, "# my edit\n").unwrap();
        std::fs::remove_file(lab.path().join("static/style.css")).unwrap();
        Lab::prepare(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "# my edit\n");
        assert!(lab.path().join("static/style.css").is_file());
    }
}
