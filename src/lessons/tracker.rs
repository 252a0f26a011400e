//! Following the open lesson: what the learner does on the live stack, which tasks that
//! completes, and — for traffic tasks not done yet — why the latest request did not count.
//!
//! Only what happens while a lesson is open counts towards it (the learner reads, then
//! does). A task once done stays done; the tracker never moves to another lesson by itself.

use std::collections::HashMap;

use super::pack::Lesson;
use super::progress::Progress;
use super::tasks::{Check, Observation, StackEvent};

/// How many finished requests a lesson remembers (enough for `min_count` experiments).
const SEEN_LIMIT: usize = 500;

/// What picking a quiz answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub correct: bool,
    pub explain: String,
}

/// Where a task's hints stand: `shown` of `total` revealed, then the solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hints<'a> {
    pub shown: usize,
    pub total: usize,
    pub revealed: Vec<&'a str>,
    /// Offered once every hint has been shown.
    pub solution: Option<&'a str>,
}

pub struct Tracker {
    lesson: String,
    seen: Vec<Observation>,
    why_not: HashMap<String, String>,
    answers: HashMap<String, Answer>,
}

impl Tracker {
    /// Start following `lesson` (from now on).
    pub fn open(lesson: &Lesson, progress: &mut Progress) -> Self {
        progress.current = Some(lesson.id.clone());
        Self {
            lesson: lesson.id.clone(),
            seen: Vec::new(),
            why_not: HashMap::new(),
            answers: HashMap::new(),
        }
    }

    pub fn lesson_id(&self) -> &str {
        &self.lesson
    }

    /// A request finished. Returns the ids of tasks it completed.
    pub fn on_request(
        &mut self,
        lesson: &Lesson,
        progress: &mut Progress,
        seen: Observation,
    ) -> Vec<String> {
        // The WSGI server's side of a request can arrive after the web server's answer
        // (two pipes): the request is looked at again then, and the new look replaces the old.
        if let Some(at) = seen
            .request
            .and_then(|id| self.seen.iter().position(|o| o.request == Some(id)))
        {
            self.seen[at] = seen;
        } else {
            if self.seen.len() == SEEN_LIMIT {
                self.seen.remove(0);
            }
            self.seen.push(seen);
        }
        let mut done = Vec::new();
        for task in &lesson.tasks {
            let Check::Traffic(expect) = &task.check else {
                continue;
            };
            if progress.is_done(&lesson.id, &task.id) {
                continue;
            }
            match expect.evaluate(&self.seen) {
                Ok(()) => {
                    self.why_not.remove(&task.id);
                    if progress.mark_done(&lesson.id, &task.id) {
                        done.push(task.id.clone());
                    }
                }
                Err(why) => {
                    self.why_not.insert(task.id.clone(), why);
                }
            }
        }
        done
    }

    /// Something was done to the stack. Returns the ids of tasks it completed.
    pub fn on_event(
        &mut self,
        lesson: &Lesson,
        progress: &mut Progress,
        event: &StackEvent,
    ) -> Vec<String> {
        lesson
            .tasks
            .iter()
            .filter(|task| matches!(&task.check, Check::Event(expect) if expect.matches(event)))
            .filter(|task| progress.mark_done(&lesson.id, &task.id))
            .map(|task| task.id.clone())
            .collect()
    }

    /// Why the latest request did not complete this traffic task, if one was seen.
    pub fn why_not(&self, task: &str) -> Option<&str> {
        self.why_not.get(task).map(String::as_str)
    }

    /// Pick answer `choice` (0-based) of a quiz; the right one completes it.
    pub fn answer(
        &mut self,
        lesson: &Lesson,
        progress: &mut Progress,
        task: &str,
        choice: usize,
    ) -> Option<Answer> {
        let found = lesson.tasks.iter().find(|t| t.id == task)?;
        let Check::Quiz(choices) = &found.check else {
            return None;
        };
        let picked = choices.get(choice)?;
        if picked.correct {
            progress.mark_done(&lesson.id, task);
        }
        let answer = Answer {
            correct: picked.correct,
            explain: picked.explain.clone().unwrap_or_default(),
        };
        self.answers.insert(task.to_owned(), answer.clone());
        Some(answer)
    }

    /// The last answer picked for a quiz, to show its explanation.
    pub fn last_answer(&self, task: &str) -> Option<&Answer> {
        self.answers.get(task)
    }

    /// Tick or untick a self-check item; returns whether it is now done.
    pub fn toggle(&self, lesson: &Lesson, progress: &mut Progress, task: &str) -> Option<bool> {
        let found = lesson.tasks.iter().find(|t| t.id == task)?;
        if found.check != Check::SelfCheck {
            return None;
        }
        if progress.is_done(&lesson.id, task) {
            progress.unmark(&lesson.id, task);
            Some(false)
        } else {
            progress.mark_done(&lesson.id, task);
            Some(true)
        }
    }

    /// Reveal one more hint (or, after the last, the solution) and say where things stand.
    pub fn next_hint<'a>(
        &self,
        lesson: &'a Lesson,
        progress: &mut Progress,
        task: &str,
    ) -> Option<Hints<'a>> {
        let found = lesson.tasks.iter().find(|t| t.id == task)?;
        let entry = progress.lessons.entry(lesson.id.clone()).or_default();
        let shown = entry.hints.entry(task.to_owned()).or_default();
        let limit = found.hints.len() + usize::from(found.solution.is_some());
        if usize::from(*shown) < limit {
            *shown += 1;
        }
        Some(hints(found, usize::from(*shown)))
    }

    /// The hints already revealed for a task.
    pub fn hints<'a>(
        &self,
        lesson: &'a Lesson,
        progress: &Progress,
        task: &str,
    ) -> Option<Hints<'a>> {
        let found = lesson.tasks.iter().find(|t| t.id == task)?;
        let shown = progress
            .lessons
            .get(&lesson.id)
            .and_then(|l| l.hints.get(task))
            .copied()
            .unwrap_or(0);
        Some(hints(found, usize::from(shown)))
    }
}

fn hints(task: &super::tasks::Task, shown: usize) -> Hints<'_> {
    let total = task.hints.len();
    Hints {
        shown: shown.min(total),
        total,
        revealed: task.hints.iter().take(shown).map(String::as_str).collect(),
        solution: if shown > total {
            task.solution.as_deref()
        } else {
            None
        },
    }
}

/// Every task of the lesson is done.
pub fn complete(lesson: &Lesson, progress: &Progress) -> bool {
    lesson
        .tasks
        .iter()
        .all(|t| progress.is_done(&lesson.id, &t.id))
}

#[cfg(test)]
mod tests;
