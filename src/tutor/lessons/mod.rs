//! The lesson pane's text: a lesson pack loaded by [`crate::lessons::pack`] (bundled, or
//! `--lessons DIR`), its tasks with their marks, hints and answers, and its body with live
//! values filled in, rendered from Markdown ([`markdown()`]) with code blocks highlighted by
//! syntect (`highlight.rs`). Checking a pack and tracking tasks belong to
//! [`crate::lessons`]; here the tasks are only listed.

mod highlight;
mod markdown;

use std::path::Path;

use ratatui::text::{Line, Span, Text};

use self::markdown::inline;
use super::theme::{Theme, ThemeKind};
use crate::lessons::pack::Pack;
use crate::lessons::tasks::{Check, Task};

pub use self::highlight::{highlighting_ready, warm_up};
pub use self::markdown::markdown;
pub use crate::lessons::Values as Vars;
pub use crate::lessons::pack::Lesson;

/// The lessons of the bundled pack, or of `dir`; problems are reported, not fatal.
pub fn load(dir: Option<&Path>) -> (Vec<Lesson>, Vec<String>) {
    let pack = match dir {
        Some(dir) => Pack::load_dir(dir),
        None => Pack::bundled(),
    };
    match pack {
        Ok(pack) => (pack.lessons, Vec::new()),
        Err(problems) => (
            Vec::new(),
            problems.iter().map(ToString::to_string).collect(),
        ),
    }
}

/// Where one task stands, for the pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskMark {
    pub done: bool,
    /// Why the latest request did not complete it (traffic tasks).
    pub why_not: Option<String>,
    /// The task the keys h, c and 1-9 act on: the first one not done.
    pub current: bool,
    /// Hints revealed so far, with the total, then the solution once they are all shown.
    pub hints: Vec<String>,
    pub hints_total: usize,
    pub solution: Option<String>,
    /// The last quiz answer: right or not, and its explanation.
    pub answer: Option<(bool, String)>,
}

/// The whole pane's text: title and tasks, then the body. `marks` holds, per task in
/// order, where it stands.
pub fn render(lesson: &Lesson, vars: &Vars, marks: &[TaskMark], theme: &Theme) -> Text<'static> {
    let mut lines = task_lines(lesson, vars, marks, theme);
    lines.extend(body_lines(lesson, vars, theme));
    Text::from(lines)
}

/// The lesson's body, rendered once per lesson, theme and live values: Markdown and
/// syntect cost milliseconds, which a finished request must not pay.
#[derive(Default)]
pub struct BodyCache {
    key: Option<BodyKey>,
    lines: Vec<Line<'static>>,
}

/// What the rendered body depends on.
#[derive(PartialEq)]
struct BodyKey {
    lesson: String,
    theme: ThemeKind,
    colored: bool,
    vars: Vars,
    highlighted: bool,
}

impl BodyKey {
    /// Compared field by field, so an unchanged frame allocates nothing.
    fn same(&self, lesson: &Lesson, vars: &Vars, theme: &Theme) -> bool {
        self.lesson == lesson.id
            && self.theme == theme.kind
            && self.colored == theme.colored()
            && self.vars == *vars
            && self.highlighted == highlighting_ready()
    }
}

impl BodyCache {
    pub fn body(&mut self, lesson: &Lesson, vars: &Vars, theme: &Theme) -> &[Line<'static>] {
        if !self
            .key
            .as_ref()
            .is_some_and(|k| k.same(lesson, vars, theme))
        {
            self.lines = body_lines(lesson, vars, theme);
            self.key = Some(BodyKey {
                lesson: lesson.id.clone(),
                theme: theme.kind,
                colored: theme.colored(),
                vars: vars.clone(),
                highlighted: highlighting_ready(),
            });
        }
        &self.lines
    }
}

/// The title and the tasks with their marks, hints and answers (cheap: drawn every frame).
pub fn task_lines(
    lesson: &Lesson,
    vars: &Vars,
    marks: &[TaskMark],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(lesson.title.clone(), theme.heading),
        Line::default(),
    ];
    if lesson.tasks.is_empty() {
        return lines;
    }
    lines.push(Line::styled("Tasks", theme.accent));
    for (i, task) in lesson.tasks.iter().enumerate() {
        let mark = marks.get(i).cloned().unwrap_or_default();
        task_block(task, &mark, vars, theme, &mut lines);
    }
    lines.push(Line::default());
    lines
}

/// One task: its box, why not yet, and for the current one its choices, hints and solution.
fn task_block(
    task: &Task,
    mark: &TaskMark,
    vars: &Vars,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    let bullet = match (mark.done, mark.current) {
        (true, true) => "▸ ☑ ",
        (true, false) => "  ☑ ",
        (false, true) => "▸ ☐ ",
        (false, false) => "  ☐ ",
    };
    lines.push(led(Span::raw(bullet), &task.title, vars, theme));
    if let Some(why) = &mark.why_not {
        lines.push(Line::styled(format!("      not yet: {why}"), theme.dim));
    }
    let answer = mark.answer.as_ref().map(|(right, explain)| {
        let head = if *right {
            "      ✓ right: "
        } else {
            "      ✗ not quite: "
        };
        led(Span::styled(head, theme.accent), explain, vars, theme)
    });
    if !mark.current {
        // A quiz answered right stays explained after the marker moves on.
        lines.extend(answer);
        return;
    }
    if let Check::Quiz(choices) = &task.check {
        for (n, choice) in choices.iter().enumerate() {
            let number = Span::raw(format!("      {} ", n + 1));
            lines.push(led(number, &choice.text, vars, theme));
        }
        if mark.answer.is_none() {
            lines.push(Line::styled("      press 1-9 to answer", theme.dim));
        }
    }
    lines.extend(answer);
    help_lines(task, mark, vars, theme, lines);
}

/// The current task's hints so far, then its solution or what `h` will show next.
fn help_lines(
    task: &Task,
    mark: &TaskMark,
    vars: &Vars,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    for (n, hint) in mark.hints.iter().enumerate() {
        let head = format!("      hint {} of {}: ", n + 1, mark.hints_total);
        lines.push(led(Span::styled(head, theme.accent), hint, vars, theme));
    }
    if let Some(solution) = &mark.solution {
        lines.push(Line::styled("      solution:", theme.accent));
        lines.extend(markdown(&vars.fill(solution), theme));
    } else if mark.hints.len() < mark.hints_total {
        let next = if mark.hints.is_empty() {
            "h: a hint"
        } else {
            "h: the next hint"
        };
        lines.push(Line::styled(format!("      {next}"), theme.dim));
    } else if task.solution.is_some() {
        lines.push(Line::styled("      h: the worked solution", theme.dim));
    }
}

/// A line led by `head`, then the pack's inline Markdown `text` with live values filled in.
fn led(head: Span<'static>, text: &str, vars: &Vars, theme: &Theme) -> Line<'static> {
    let mut spans = vec![head];
    spans.extend(inline(&vars.fill(text), theme));
    Line::from(spans)
}

/// The body with live values filled in; its own `# Title` repeats the front matter's, so
/// it is shown once, at the top.
fn body_lines(lesson: &Lesson, vars: &Vars, theme: &Theme) -> Vec<Line<'static>> {
    let body = vars.fill(&lesson.body);
    let trimmed = body.trim_start();
    let body = match trimmed.strip_prefix("# ") {
        Some(rest) if rest.lines().next().map(str::trim) == Some(lesson.title.trim()) => {
            rest.split_once('\n').map_or("", |(_, after)| after)
        }
        _ => body.as_str(),
    };
    markdown(body, theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_body_follows_the_live_values_and_the_lesson() {
        let (lessons, _) = load(None);
        let theme = Theme::new(ThemeKind::Dark);
        let mut vars = Vars {
            web_port: 18080,
            ..Vars::default()
        };
        let mut cache = BodyCache::default();
        let text = |lines: &[Line<'static>]| {
            lines
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let first = text(cache.body(&lessons[0], &vars, &theme));
        assert!(first.contains("18080"), "{first}");
        assert_eq!(text(cache.body(&lessons[0], &vars, &theme)), first);
        vars.web_port = 18081;
        let moved = text(cache.body(&lessons[0], &vars, &theme));
        assert!(
            moved.contains("18081") && !moved.contains("18080"),
            "{moved}"
        );
        let other = text(cache.body(&lessons[1], &vars, &theme));
        assert_ne!(other, moved);
    }

    #[test]
    fn the_bundled_pack_loads_in_order() {
        let (lessons, errors) = load(None);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(lessons.len() >= 9);
        assert_eq!(lessons[0].id, "big-picture");
        assert!(lessons.iter().all(|l| !l.body.is_empty()));
    }

    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        let vars = Vars {
            web_port: 8081,
            wsgi_port: 8000,
            lab: "/lab".into(),
            web_pid: Some(7),
            wsgi_pid: None,
            workers: 2,
        };
        assert_eq!(
            vars.fill("curl {{web_url}}/ {{lab}} {{web_pid}} '{{' {}"),
            "curl http://127.0.0.1:8081/ /lab 7 '{{' {}"
        );
    }
}
