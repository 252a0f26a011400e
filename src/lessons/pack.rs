//! A lesson pack: the `*.md` files of a folder (or the bundled ones), in file-name order,
//! each read and checked against the format in `lessons/README.md`. Every problem names
//! its file and line, and all of them are reported at once.
//!
//! `pack/parse.rs` reads one lesson file and `pack/markdown.rs` checks what its text may
//! hold; this file gathers the files and runs the checks that span the pack (unique ids,
//! links between lessons).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

mod markdown;
mod parse;

pub use markdown::{FENCE_LANGUAGES, PLACEHOLDERS, unknown_placeholders};

use super::tasks::Task;
use crate::embedded::LESSONS;
use markdown::lesson_links;
use parse::parse_lesson;

/// One problem in a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub file: PathBuf,
    /// The Markdown body, placeholders not yet filled in.
    pub body: String,
    pub body_line: usize,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone)]
pub struct Pack {
    pub lessons: Vec<Lesson>,
}

impl Pack {
    /// The lessons compiled into the binary.
    pub fn bundled() -> Result<Pack, Vec<Problem>> {
        let mut files: Vec<(PathBuf, String)> = LESSONS
            .files()
            .filter(|f| is_lesson(f.path()))
            .map(|f| {
                (
                    Path::new("lessons").join(f.path()),
                    String::from_utf8_lossy(f.contents()).into_owned(),
                )
            })
            .collect();
        files.sort();
        Pack::from_files(files)
    }

    /// The lessons of a folder (an instructor's pack).
    pub fn load_dir(dir: &Path) -> Result<Pack, Vec<Problem>> {
        let problem = |message: String| {
            vec![Problem {
                file: dir.to_path_buf(),
                line: 0,
                message,
            }]
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| problem(format!("cannot read the lesson folder: {e}")))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_lesson(p))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for path in paths {
            match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => files.push((path, text)),
                    Err(_) => problems.push(Problem {
                        file: path,
                        line: 0,
                        message: "not UTF-8 text".into(),
                    }),
                },
                Err(e) => problems.push(Problem {
                    file: path,
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if files.is_empty() && problems.is_empty() {
            return Err(problem(
                "no lessons here (*.md files other than README.md)".into(),
            ));
        }
        match Pack::from_files(files) {
            Ok(pack) if problems.is_empty() => Ok(pack),
            Ok(_) => Err(problems),
            Err(mut more) => {
                problems.append(&mut more);
                Err(problems)
            }
        }
    }

    /// Parse and check lesson texts (already in order).
    pub fn from_files(files: Vec<(PathBuf, String)>) -> Result<Pack, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut lessons = Vec::new();
        for (file, text) in &files {
            if let Some(lesson) = parse_lesson(file, text, &mut problems) {
                lessons.push(lesson);
            }
        }
        // Pack-wide checks: unique ids, links between lessons.
        let mut seen = HashSet::new();
        for lesson in &lessons {
            if !seen.insert(lesson.id.clone()) {
                problems.push(Problem {
                    file: lesson.file.clone(),
                    line: 2,
                    message: format!("lesson id \"{}\" is used by another lesson too", lesson.id),
                });
            }
        }
        for lesson in &lessons {
            for (line, target) in lesson_links(&lesson.body, lesson.body_line) {
                if !seen.contains(&target) {
                    problems.push(Problem {
                        file: lesson.file.clone(),
                        line,
                        message: format!("link to lesson \"{target}\", which is not in this pack"),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(Pack { lessons })
        } else {
            problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(problems)
        }
    }

    pub fn get(&self, id: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|l| l.id == id)
    }
}

fn is_lesson(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "md")
        && path.file_name().is_some_and(|n| n != "README.md")
}

#[cfg(test)]
mod tests;
