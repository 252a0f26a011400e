//! A lesson pack: the `*.md` files of a folder (or the bundled ones), in file-name order,
//! each read and checked against the format in `lessons/README.md`. Every problem names
//! its file and line, and all of them are reported at once.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::front_matter::{self, line_of};
use super::tasks::{Check, Choice, EventExpect, EventKind, Expect, Task};
use crate::embedded::LESSONS;

/// The live values a lesson may name.
pub const PLACEHOLDERS: &[&str] = &[
    "web_port",
    "wsgi_port",
    "web_url",
    "wsgi_url",
    "lab",
    "web_pid",
    "wsgi_pid",
    "workers",
];

/// Languages a fenced code block may carry.
pub const FENCE_LANGUAGES: &[&str] = &["nginx", "python", "sh", "http", "text"];

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    id: String,
    title: String,
    #[serde(default)]
    tasks: Vec<toml::Spanned<RawTask>>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy, Debug)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Traffic,
    Event,
    Quiz,
    SelfCheck,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    id: String,
    kind: Kind,
    title: String,
    #[serde(default)]
    hints: Vec<String>,
    solution: Option<String>,
    expect: Option<Expect>,
    event: Option<EventKind>,
    ok: Option<bool>,
    workers: Option<usize>,
    app: Option<String>,
    choices: Option<Vec<Choice>>,
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

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_lesson(file: &Path, text: &str, problems: &mut Vec<Problem>) -> Option<Lesson> {
    let mut report = |line: usize, message: String| {
        problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message,
        })
    };
    let split = match front_matter::split(text) {
        Ok(split) => split,
        Err(err) => {
            report(err.line, err.message.into());
            return None;
        }
    };
    let meta_line = |offset: usize| split.meta_line + line_of(split.meta, offset) - 1;
    let raw: RawLesson = match toml::from_str(split.meta) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err
                .span()
                .map(|s| meta_line(s.start))
                .unwrap_or(split.meta_line);
            report(line, format!("front matter: {}", err.message()));
            return None;
        }
    };
    if !is_kebab(&raw.id) {
        report(
            split.meta_line,
            format!("lesson id \"{}\" must be kebab-case (a-z, 0-9, -)", raw.id),
        );
    }
    let mut tasks = Vec::new();
    let mut task_ids = HashSet::new();
    for spanned in raw.tasks {
        let line = meta_line(spanned.span().start);
        let raw_task = spanned.into_inner();
        let mut task_problem =
            |message: String| report(line, format!("task \"{}\": {message}", raw_task.id));
        if !is_kebab(&raw_task.id) {
            task_problem("the id must be kebab-case (a-z, 0-9, -)".into());
        }
        if !task_ids.insert(raw_task.id.clone()) {
            task_problem("another task of this lesson has the same id".into());
        }
        match to_task(&raw_task, line) {
            Ok(task) => {
                for text in task_texts(&task) {
                    for name in unknown_placeholders(text) {
                        task_problem(format!("unknown placeholder {{{{{name}}}}}"));
                    }
                }
                if let Some(solution) = &task.solution {
                    for (_, problem) in fence_problems(solution, line) {
                        task_problem(format!("solution: {problem}"));
                    }
                }
                tasks.push(task);
            }
            Err(why) => task_problem(why),
        }
    }
    for (line, problem) in fence_problems(split.body, split.body_line) {
        report(line, problem);
    }
    for (i, body_line) in split.body.lines().enumerate() {
        for name in unknown_placeholders(body_line) {
            report(
                split.body_line + i,
                format!("unknown placeholder {{{{{name}}}}}"),
            );
        }
    }
    Some(Lesson {
        id: raw.id,
        title: raw.title,
        file: file.to_path_buf(),
        body: split.body.to_owned(),
        body_line: split.body_line,
        tasks,
    })
}

/// Turn a task table into a task of its kind, refusing fields that belong to other kinds.
fn to_task(raw: &RawTask, line: usize) -> Result<Task, String> {
    let only = |present: bool, field: &str, kind: &str| -> Result<(), String> {
        if present {
            Err(format!(
                "`{field}` belongs to {kind} tasks, not to a {:?} task",
                raw.kind
            )
            .to_lowercase())
        } else {
            Ok(())
        }
    };
    if raw.kind != Kind::Traffic {
        only(raw.expect.is_some(), "expect", "traffic")?;
    }
    if raw.kind != Kind::Event {
        only(raw.event.is_some(), "event", "event")?;
        only(raw.ok.is_some(), "ok", "event")?;
        only(raw.workers.is_some(), "workers", "event")?;
        only(raw.app.is_some(), "app", "event")?;
    }
    if raw.kind != Kind::Quiz {
        only(raw.choices.is_some(), "choices", "quiz")?;
    }
    let check = match raw.kind {
        Kind::Traffic => {
            let expect = raw
                .expect
                .clone()
                .ok_or("a traffic task needs [tasks.expect]")?;
            if expect.is_empty() {
                return Err("[tasks.expect] is empty, so every request would match".into());
            }
            if expect.path.is_some() && expect.path_prefix.is_some() {
                return Err("[tasks.expect] has both `path` and `path_prefix`; use one".into());
            }
            if expect.min_count == Some(0) || expect.min_concurrent == Some(0) {
                return Err("`min_count` and `min_concurrent` start at 1".into());
            }
            Check::Traffic(expect)
        }
        Kind::Event => {
            let kind = raw.event.ok_or("an event task needs `event`")?;
            if raw.ok.is_some() && kind != EventKind::ConfigReloaded {
                return Err("`ok` only goes with event = \"config_reloaded\"".into());
            }
            if raw.workers.is_some() && kind != EventKind::WorkersChanged {
                return Err("`workers` only goes with event = \"workers_changed\"".into());
            }
            if raw.app.is_some() && kind != EventKind::AppSwitched {
                return Err("`app` only goes with event = \"app_switched\"".into());
            }
            Check::Event(EventExpect {
                kind,
                ok: raw.ok,
                workers: raw.workers,
                app: raw.app.clone(),
            })
        }
        Kind::Quiz => {
            let choices = raw.choices.clone().unwrap_or_default();
            if !(2..=9).contains(&choices.len()) {
                return Err(format!(
                    "a quiz needs 2 to 9 choices, this one has {}",
                    choices.len()
                ));
            }
            let correct = choices.iter().filter(|c| c.correct).count();
            if correct != 1 {
                return Err(format!(
                    "a quiz needs exactly one choice with correct = true, this one has {correct}"
                ));
            }
            if let Some(c) = choices
                .iter()
                .find(|c| c.explain.as_deref().is_none_or(str::is_empty))
            {
                return Err(format!("the choice {:?} has no `explain`", c.text));
            }
            Check::Quiz(choices)
        }
        Kind::SelfCheck => Check::SelfCheck,
    };
    Ok(Task {
        id: raw.id.clone(),
        title: raw.title.clone(),
        hints: raw.hints.clone(),
        solution: raw.solution.clone(),
        check,
        line,
    })
}

/// Every text of a task that placeholders may appear in.
fn task_texts(task: &Task) -> Vec<&str> {
    let mut texts = vec![task.title.as_str()];
    texts.extend(task.hints.iter().map(String::as_str));
    texts.extend(task.solution.as_deref());
    if let Check::Quiz(choices) = &task.check {
        for c in choices {
            texts.push(&c.text);
            texts.extend(c.explain.as_deref());
        }
    }
    texts
}

/// `{{name}}` with a name of letters and underscores that is not a known placeholder.
pub fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
                    && !PLACEHOLDERS.contains(&name)
                {
                    out.push(name.to_owned());
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Fenced code blocks without one of the allowed languages: (line, message).
fn fence_problems(markdown: &str, first_line: usize) -> Vec<(usize, String)> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    let mut out = Vec::new();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        if let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = event {
            let lang = info.split_whitespace().next().unwrap_or("");
            let line = first_line + line_of(markdown, range.start) - 1;
            if lang.is_empty() {
                out.push((
                    line,
                    format!(
                        "a code block needs a language: one of {}",
                        FENCE_LANGUAGES.join(", ")
                    ),
                ));
            } else if !FENCE_LANGUAGES.contains(&lang) {
                out.push((
                    line,
                    format!(
                        "code block language \"{lang}\" is not one of {}",
                        FENCE_LANGUAGES.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

/// `[text](lesson:ID)` links: (line, ID).
fn lesson_links(markdown: &str, first_line: usize) -> Vec<(usize, String)> {
    use pulldown_cmark::{Event, Parser, Tag};
    Parser::new(markdown)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                dest_url.strip_prefix("lesson:").map(|id| {
                    (
                        first_line + line_of(markdown, range.start) - 1,
                        id.to_owned(),
                    )
                })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(files: &[(&str, &str)]) -> Vec<String> {
        let files = files
            .iter()
            .map(|(n, t)| (PathBuf::from(n), t.to_string()))
            .collect();
        match Pack::from_files(files) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    const GOOD: &str = "+++\nid = \"one\"\ntitle = \"One\"\n\n[[tasks]]\nid = \"t\"\nkind = \"self_check\"\ntitle = \"I can\"\n+++\n# One\n\nSee [two](lesson:one) on {{web_port}}.\n\n```sh\ncurl {{web_url}}\n```\n";

    #[test]
    fn a_good_lesson_loads() {
        assert!(check(&[("a.md", GOOD)]).is_empty());
    }

    #[test]
    fn the_bundled_pack_passes_its_own_check() {
        match Pack::bundled() {
            Ok(pack) => assert!(pack.lessons.len() >= 9),
            Err(problems) => panic!(
                "{}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    #[test]
    fn problems_name_file_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "# no front matter",
                "a.md:1: a lesson must start with a front matter",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n",
                "a.md:3: the front matter is not closed",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\ncolour = 1\n+++\n",
                "a.md:4: front matter: unknown field `colour`",
            ),
            (
                "+++\nid = \"a\"\n+++\n",
                "a.md:2: front matter: missing field `title`",
            ),
            (
                "+++\nid = \"Big Id\"\ntitle = \"A\"\n+++\n",
                "a.md:2: lesson id \"Big Id\" must be kebab-case",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"magic\"\ntitle = \"x\"\n+++\n",
                "a.md:6: front matter: unknown variant `magic`",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"traffic\"\ntitle = \"x\"\n[tasks.expect]\nserved_by = \"staic\"\n+++\n",
                "a.md:9: front matter: unknown variant `staic`",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"traffic\"\ntitle = \"x\"\n[tasks.expect]\npath = \"/\"\npath_prefix = \"/\"\n+++\n",
                "a.md:4: task \"t\": [tasks.expect] has both `path` and `path_prefix`",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"event\"\ntitle = \"x\"\nevent = \"config_reloaded\"\nworkers = 2\n+++\n",
                "a.md:4: task \"t\": `workers` only goes with event = \"workers_changed\"",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"q\"\nkind = \"quiz\"\ntitle = \"x\"\n[[tasks.choices]]\ntext = \"a\"\nexplain = \"e\"\n[[tasks.choices]]\ntext = \"b\"\nexplain = \"e\"\n+++\n",
                "a.md:4: task \"q\": a quiz needs exactly one choice with correct = true, this one has 0",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\nGo to [x](lesson:nowhere).\n",
                "a.md:6: link to lesson \"nowhere\", which is not in this pack",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\nport {{web_prot}}\n",
                "a.md:5: unknown placeholder {{web_prot}}",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\n```\nx\n```\n",
                "a.md:6: a code block needs a language",
            ),
            (
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\n```bash\nx\n```\n",
                "a.md:6: code block language \"bash\" is not one of",
            ),
        ];
        for (text, want) in cases {
            let got = check(&[("a.md", text)]);
            assert!(
                got.iter().any(|p| p.starts_with(want)),
                "for {text:?}\nwanted {want}\ngot {got:?}"
            );
        }
    }

    #[test]
    fn duplicate_ids_across_files() {
        let got = check(&[("a.md", GOOD), ("b.md", GOOD)]);
        assert_eq!(
            got,
            ["b.md:2: lesson id \"one\" is used by another lesson too"]
        );
    }

    #[test]
    fn python_braces_are_not_placeholders() {
        assert!(unknown_placeholders("'{{' and \"{}\".format(x) and {{ web_port }}").is_empty());
        assert_eq!(unknown_placeholders("{{nope}} {{lab}}"), ["nope"]);
    }
}
