//! One lesson file → a [`Lesson`]: its front matter read into typed tasks, each task's
//! fields checked against its kind, and its texts against what a lesson may hold.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::markdown::{fence_problems, unknown_placeholders};
use super::{Lesson, Problem};
use crate::lessons::front_matter::{self, line_of};
use crate::lessons::tasks::{Check, Choice, EventExpect, EventKind, Expect, Task};

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

/// A `[[tasks]]` table as written: the fields of every kind, checked by [`to_task`].
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

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The lesson, unless its front matter cannot be read at all; every problem goes to
/// `problems`, so that one run reports them all.
pub(super) fn parse_lesson(file: &Path, text: &str, problems: &mut Vec<Problem>) -> Option<Lesson> {
    let mut report = |line: usize, message: String| {
        problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message,
        });
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
            let line = err.span().map_or(split.meta_line, |s| meta_line(s.start));
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
    let tasks = parse_tasks(raw.tasks, meta_line, &mut report);
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

/// The tasks that make sense; each problem is reported on its `[[tasks]]` line.
fn parse_tasks(
    raw_tasks: Vec<toml::Spanned<RawTask>>,
    meta_line: impl Fn(usize) -> usize,
    report: &mut impl FnMut(usize, String),
) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut task_ids = HashSet::new();
    for spanned in raw_tasks {
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
    tasks
}

/// Turn a task table into a task of its kind, refusing fields that belong to other kinds.
fn to_task(raw: &RawTask, line: usize) -> Result<Task, String> {
    refuse_other_kinds_fields(raw)?;
    let check = match raw.kind {
        Kind::Traffic => traffic_check(raw)?,
        Kind::Event => event_check(raw)?,
        Kind::Quiz => quiz_check(raw)?,
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

fn refuse_other_kinds_fields(raw: &RawTask) -> Result<(), String> {
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
    Ok(())
}

fn traffic_check(raw: &RawTask) -> Result<Check, String> {
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
    Ok(Check::Traffic(expect))
}

fn event_check(raw: &RawTask) -> Result<Check, String> {
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
    Ok(Check::Event(EventExpect {
        kind,
        ok: raw.ok,
        workers: raw.workers,
        app: raw.app.clone(),
    }))
}

fn quiz_check(raw: &RawTask) -> Result<Check, String> {
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
    Ok(Check::Quiz(choices))
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
