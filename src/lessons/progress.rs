//! The learner's checklist on disk: which tasks are done, which hints were seen, and the
//! lesson to resume at.
//!
//! It lives in the state directory as `progress.json`, is written atomically (a temporary
//! file renamed over the old one), and is never lost to a bad file: one that cannot be read
//! is moved aside as `progress.json.corrupt-<time>` with a warning, and the tutor starts
//! with a fresh checklist.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE: &str = "progress.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub version: u32,
    /// The lesson to open next time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonProgress {
    /// Task id → when it was done (RFC 3339).
    #[serde(default)]
    pub done: BTreeMap<String, String>,
    /// Task id → how many hints were shown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hints: BTreeMap<String, u8>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            version: VERSION,
            ..Self::default()
        }
    }

    pub fn is_done(&self, lesson: &str, task: &str) -> bool {
        self.lessons
            .get(lesson)
            .is_some_and(|l| l.done.contains_key(task))
    }

    /// Mark a task done (now); false if it already was.
    pub fn mark_done(&mut self, lesson: &str, task: &str) -> bool {
        let entry = self.lessons.entry(lesson.to_owned()).or_default();
        if entry.done.contains_key(task) {
            return false;
        }
        entry.done.insert(task.to_owned(), now_rfc3339());
        true
    }

    pub fn unmark(&mut self, lesson: &str, task: &str) {
        if let Some(entry) = self.lessons.get_mut(lesson) {
            entry.done.remove(task);
        }
    }

    /// Forget one lesson's tasks and hints.
    pub fn reset_lesson(&mut self, lesson: &str) {
        self.lessons.remove(lesson);
    }

    /// Take in another checklist (from another machine): a task done in either is done,
    /// at the earlier time.
    pub fn merge(&mut self, other: &Progress) {
        for (lesson, theirs) in &other.lessons {
            let ours = self.lessons.entry(lesson.clone()).or_default();
            for (task, at) in &theirs.done {
                let keep = ours.done.get(task).is_none_or(|mine| at < mine);
                if keep {
                    ours.done.insert(task.clone(), at.clone());
                }
            }
            for (task, n) in &theirs.hints {
                let shown = ours.hints.entry(task.clone()).or_default();
                *shown = (*shown).max(*n);
            }
        }
        if self.current.is_none() {
            self.current = other.current.clone();
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Where progress is kept.
pub struct Store {
    dir: PathBuf,
}

/// What loading found, besides the progress itself.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Fresh,
    Read,
    /// The file was unreadable and was moved to this path.
    SetAside(PathBuf, String),
}

impl Store {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The user's state directory (`~/.local/state/wsgi-tutor` on Linux).
    pub fn default_dir() -> Option<PathBuf> {
        let dirs = directories::ProjectDirs::from("", "", "wsgi-tutor")?;
        Some(
            dirs.state_dir()
                .map_or_else(|| dirs.data_local_dir().to_path_buf(), Path::to_path_buf),
        )
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Read the checklist; a missing file is a fresh start, a broken one is set aside.
    pub fn load(&self) -> (Progress, Loaded) {
        let path = self.path();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Progress::new(), Loaded::Fresh);
            }
            Err(e) => return self.set_aside(&path, format!("cannot read it: {e}")),
        };
        match serde_json::from_slice::<Progress>(&text) {
            Ok(progress) if progress.version == VERSION => (progress, Loaded::Read),
            Ok(progress) => self.set_aside(
                &path,
                format!(
                    "it has version {}, this tutor reads {VERSION}",
                    progress.version
                ),
            ),
            Err(e) => self.set_aside(&path, format!("it is not a valid progress file ({e})")),
        }
    }

    fn set_aside(&self, path: &Path, why: String) -> (Progress, Loaded) {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let aside = path.with_file_name(format!("{FILE}.corrupt-{stamp}"));
        match std::fs::rename(path, &aside) {
            Ok(()) => (Progress::new(), Loaded::SetAside(aside, why)),
            // Cannot move it: still never overwrite it silently; saving will fail loudly.
            Err(e) => (
                Progress::new(),
                Loaded::SetAside(
                    path.to_path_buf(),
                    format!("{why}; and it could not be moved aside: {e}"),
                ),
            ),
        }
    }

    /// Write atomically: a crash leaves the old file or the new one, never half of one.
    pub fn save(&self, progress: &Progress) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path();
        let tmp = self.dir.join(format!("{FILE}.tmp-{}", std::process::id()));
        let mut file = std::fs::File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut file, progress)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        let (mut progress, loaded) = store.load();
        assert_eq!(loaded, Loaded::Fresh);
        assert!(progress.mark_done("web-server-decides", "static-file"));
        assert!(!progress.mark_done("web-server-decides", "static-file"));
        progress.current = Some("web-server-decides".into());
        store.save(&progress).unwrap();
        let (again, loaded) = store.load();
        assert_eq!(loaded, Loaded::Read);
        assert_eq!(again, progress);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_corrupt_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        std::fs::write(store.path(), b"{ not json").unwrap();
        let (progress, loaded) = store.load();
        assert_eq!(progress, Progress::new());
        let Loaded::SetAside(aside, why) = loaded else {
            panic!("{loaded:?}")
        };
        assert!(why.contains("not a valid progress file"));
        assert_eq!(std::fs::read(&aside).unwrap(), b"{ not json");
        assert!(!store.path().exists());
    }

    #[test]
    fn merge_keeps_everything_done_anywhere() {
        let mut here = Progress::new();
        here.mark_done("a", "one");
        let mut there = Progress::new();
        there.mark_done("a", "two");
        there.mark_done("b", "one");
        there
            .lessons
            .get_mut("a")
            .unwrap()
            .done
            .insert("one".into(), "2000-01-01T00:00:00Z".into());
        here.merge(&there);
        assert!(here.is_done("a", "one") && here.is_done("a", "two") && here.is_done("b", "one"));
        assert_eq!(here.lessons["a"].done["one"], "2000-01-01T00:00:00Z");
    }
}
