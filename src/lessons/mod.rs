//! Lessons: the curriculum, the tasks the tutor checks, and the checklist that remembers.
//!
//! - [`front_matter`] splits a lesson file into TOML metadata and a Markdown body;
//! - [`pack`] reads a pack (bundled, or `--lessons DIR`) and checks it against the format in
//!   `lessons/README.md`, naming file and line for every problem (`lessons check`);
//! - [`tasks`] are the checks themselves: traffic predicates over [`tasks::Observation`]s
//!   of finished requests, stack events, quizzes, self-checks;
//! - [`tracker`] follows the open lesson: which tasks what the learner did completed;
//! - [`progress`] keeps the checklist in the state directory (`progress`).

pub mod front_matter;
pub mod pack;
pub mod progress;
pub mod tasks;
pub mod tracker;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{LessonsCommand, ProgressArgs};
use pack::Pack;
use progress::{Loaded, Progress, Store};
use tasks::Check;

/// Live values for `{{placeholders}}` (comparable, so a lesson is re-rendered only when
/// one changes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Values {
    pub web_port: u16,
    pub wsgi_port: u16,
    pub lab: String,
    pub web_pid: Option<u32>,
    pub wsgi_pid: Option<u32>,
    pub workers: usize,
}

impl Values {
    /// Fill every known placeholder in `text`.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_owned();
        }
        let pid = |p: Option<u32>| p.map_or_else(|| "(not running)".into(), |p| p.to_string());
        text.replace("{{web_port}}", &self.web_port.to_string())
            .replace("{{wsgi_port}}", &self.wsgi_port.to_string())
            .replace(
                "{{web_url}}",
                &format!("http://127.0.0.1:{}", self.web_port),
            )
            .replace(
                "{{wsgi_url}}",
                &format!("http://127.0.0.1:{}", self.wsgi_port),
            )
            .replace("{{lab}}", &self.lab)
            .replace("{{web_pid}}", &pid(self.web_pid))
            .replace("{{wsgi_pid}}", &pid(self.wsgi_pid))
            .replace("{{workers}}", &self.workers.to_string())
    }
}

/// `wsgi-tutor lessons check [DIR]`.
pub fn main(command: LessonsCommand) -> ExitCode {
    match command {
        LessonsCommand::Check { dir } => {
            let (name, result) = match &dir {
                Some(dir) => (dir.display().to_string(), Pack::load_dir(dir)),
                None => ("the bundled lessons".to_owned(), Pack::bundled()),
            };
            match result {
                Ok(pack) => {
                    let tasks: usize = pack.lessons.iter().map(|l| l.tasks.len()).sum();
                    println!(
                        "{name}: {} lessons, {tasks} tasks, no problems",
                        pack.lessons.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    for problem in &problems {
                        eprintln!("{problem}");
                    }
                    eprintln!(
                        "{name}: {} problem{}",
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    );
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn load_pack(dir: Option<&Path>) -> Result<Pack, ExitCode> {
    let result = match dir {
        Some(dir) => Pack::load_dir(dir),
        None => Pack::bundled(),
    };
    result.map_err(|problems| {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!(
            "wsgi-tutor: the lesson pack has problems; `wsgi-tutor lessons check` lists them"
        );
        ExitCode::FAILURE
    })
}

fn store_for(state_dir: Option<PathBuf>) -> Result<Store, ExitCode> {
    if let Some(dir) = state_dir.or_else(Store::default_dir) {
        Ok(Store::new(dir))
    } else {
        eprintln!("wsgi-tutor: cannot find a state directory for progress; use --state-dir DIR");
        Err(ExitCode::FAILURE)
    }
}

/// `wsgi-tutor progress [--json] [--reset [--yes]] [--export FILE] [--import FILE]`.
pub fn progress_main(args: ProgressArgs) -> ExitCode {
    match progress_command(args) {
        Ok(code) | Err(code) => code,
    }
}

fn progress_command(args: ProgressArgs) -> Result<ExitCode, ExitCode> {
    let store = store_for(args.state_dir.clone())?;
    let (mut progress, loaded) = store.load();
    if let Loaded::SetAside(path, why) = &loaded {
        eprintln!(
            "wsgi-tutor: warning: the progress file could not be used ({why}); it was kept as {}",
            path.display()
        );
    }
    if let Some(file) = &args.import {
        let text = std::fs::read(file).map_err(|e| {
            eprintln!("wsgi-tutor: cannot read {}: {e}", file.display());
            ExitCode::FAILURE
        })?;
        let theirs: Progress = serde_json::from_slice(&text).map_err(|e| {
            eprintln!("wsgi-tutor: {} is not a progress file: {e}", file.display());
            ExitCode::FAILURE
        })?;
        progress.merge(&theirs);
        save(&store, &progress)?;
        eprintln!(
            "wsgi-tutor: merged {} into {}",
            file.display(),
            store.path().display()
        );
    }
    if args.reset {
        if !args.yes
            && !confirm(&format!(
                "Wipe all progress in {}? [y/N] ",
                store.path().display()
            ))?
        {
            eprintln!("wsgi-tutor: nothing was changed");
            return Ok(ExitCode::FAILURE);
        }
        progress = Progress::new();
        save(&store, &progress)?;
        eprintln!("wsgi-tutor: progress wiped");
    }
    if let Some(file) = &args.export {
        let text = serde_json::to_string_pretty(&progress).expect("progress serialises");
        std::fs::write(file, text + "\n").map_err(|e| {
            eprintln!("wsgi-tutor: cannot write {}: {e}", file.display());
            ExitCode::FAILURE
        })?;
        eprintln!("wsgi-tutor: progress written to {}", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let pack = load_pack(args.lessons.as_deref())?;
    let report = Report::new(&pack, &progress);
    let text = if args.json {
        serde_json::to_string_pretty(&report.to_json()).expect("report serialises") + "\n"
    } else {
        report.to_text()
    };
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

fn save(store: &Store, progress: &Progress) -> Result<(), ExitCode> {
    store.save(progress).map_err(|e| {
        eprintln!(
            "wsgi-tutor: cannot save progress to {}: {e}",
            store.path().display()
        );
        ExitCode::FAILURE
    })
}

/// Ask on the terminal; without one, the answer is no (use --yes).
fn confirm(question: &str) -> Result<bool, ExitCode> {
    if !std::io::stdin().is_terminal() {
        eprintln!("wsgi-tutor: not asking without a terminal; add --yes to wipe progress");
        return Err(ExitCode::FAILURE);
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The checklist: lessons, their tasks, what is done.
pub struct Report<'a> {
    pack: &'a Pack,
    progress: &'a Progress,
}

impl<'a> Report<'a> {
    pub fn new(pack: &'a Pack, progress: &'a Progress) -> Self {
        Self { pack, progress }
    }

    fn counts(&self) -> (usize, usize) {
        let total = self.pack.lessons.iter().map(|l| l.tasks.len()).sum();
        let done = self
            .pack
            .lessons
            .iter()
            .flat_map(|l| l.tasks.iter().map(move |t| (l, t)))
            .filter(|(l, t)| self.progress.is_done(&l.id, &t.id))
            .count();
        (done, total)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (n, lesson) in self.pack.lessons.iter().enumerate() {
            let done = lesson
                .tasks
                .iter()
                .filter(|t| self.progress.is_done(&lesson.id, &t.id))
                .count();
            let total = lesson.tasks.len();
            let mark = if total > 0 && done == total {
                "x"
            } else if done > 0 {
                "~"
            } else {
                " "
            };
            out.push_str(&format!(
                "[{mark}] {:>2}. {}  {done}/{total} ({}%)\n",
                n + 1,
                lesson.title,
                percent(done, total)
            ));
            for task in &lesson.tasks {
                let tick = if self.progress.is_done(&lesson.id, &task.id) {
                    "x"
                } else {
                    " "
                };
                out.push_str(&format!(
                    "      [{tick}] {} ({})\n",
                    plain(&task.title),
                    kind_name(&task.check)
                ));
            }
        }
        let (done, total) = self.counts();
        out.push_str(&format!(
            "\n{done} of {total} tasks done ({}%)\n",
            percent(done, total)
        ));
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let lessons: Vec<serde_json::Value> = self
            .pack
            .lessons
            .iter()
            .map(|lesson| {
                let tasks: Vec<serde_json::Value> = lesson
                    .tasks
                    .iter()
                    .map(|task| {
                        let done_at = self
                            .progress
                            .lessons
                            .get(&lesson.id)
                            .and_then(|l| l.done.get(&task.id));
                        serde_json::json!({
                            "id": task.id,
                            "title": plain(&task.title),
                            "kind": kind_name(&task.check),
                            "done": done_at.is_some(),
                            "done_at": done_at,
                        })
                    })
                    .collect();
                let done = tasks.iter().filter(|t| t["done"] == true).count();
                serde_json::json!({
                    "id": lesson.id,
                    "title": lesson.title,
                    "done": done,
                    "total": tasks.len(),
                    "percent": percent(done, tasks.len()),
                    "tasks": tasks,
                })
            })
            .collect();
        let (done, total) = self.counts();
        serde_json::json!({
            "current": self.progress.current,
            "done": done,
            "total": total,
            "percent": percent(done, total),
            "lessons": lessons,
        })
    }
}

fn percent(done: usize, total: usize) -> usize {
    (done * 100).checked_div(total).unwrap_or(0)
}

fn kind_name(check: &Check) -> &'static str {
    match check {
        Check::Traffic(_) => "traffic",
        Check::Event(_) => "event",
        Check::Quiz(_) => "quiz",
        Check::SelfCheck => "self-check",
    }
}

/// A title without Markdown marks, placeholders in their default form, for plain output.
fn plain(title: &str) -> String {
    let values = Values {
        web_port: crate::stack::supervisor::WEB_PORT,
        wsgi_port: crate::stack::supervisor::WSGI_PORT,
        lab: "<lab>".into(),
        web_pid: None,
        wsgi_pid: None,
        workers: 2,
    };
    values.fill(title).replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_with_live_values() {
        let values = Values {
            web_port: 8081,
            wsgi_port: 8001,
            lab: "/home/me/lab".into(),
            web_pid: Some(42),
            wsgi_pid: None,
            workers: 4,
        };
        assert_eq!(
            values.fill("curl {{web_url}}/ -> {{wsgi_port}} in {{lab}}; pid {{web_pid}}/{{wsgi_pid}}, {{workers}} workers {{other}}"),
            "curl http://127.0.0.1:8081/ -> 8001 in /home/me/lab; pid 42/(not running), 4 workers {{other}}"
        );
    }

    #[test]
    fn report_counts_and_lists_tasks() {
        let pack = Pack::bundled().unwrap();
        let mut progress = Progress::new();
        let first = &pack.lessons[0];
        progress.mark_done(&first.id, &first.tasks[0].id);
        let report = Report::new(&pack, &progress);
        let json = report.to_json();
        assert_eq!(json["done"], 1);
        assert_eq!(json["lessons"][0]["tasks"][0]["done"], true);
        assert!(json["lessons"][0]["tasks"][0]["done_at"].is_string());
        let text = report.to_text();
        assert!(text.starts_with("[~]  1. "), "{text}");
        assert!(text.contains("      [x] "));
        assert!(text.trim_end().ends_with(&format!(
            "1 of {} tasks done ({}%)",
            json["total"], json["percent"]
        )));
    }
}
