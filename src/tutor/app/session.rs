//! The lesson session: the lessons, the one that is open with its tracker, the learner's
//! checklist and the task the keys h, c and 1-9 act on.

use super::notices::Notices;
use crate::lessons::progress::Progress;
use crate::lessons::tasks::{Check, Observation, StackEvent, Task};
use crate::lessons::tracker::{self, Tracker};
use crate::tutor::keymap::Action;
use crate::tutor::lessons::{Lesson, TaskMark};

/// What the open lesson's tasks are shown.
pub enum Seen {
    Request(Observation),
    Stack(StackEvent),
}

pub struct Session {
    pub lessons: Vec<Lesson>,
    pub lesson_index: usize,
    /// The task the learner picked with t / T; None: the first one not done.
    pub selected_task: Option<String>,
    pub lesson_scroll: u16,
    /// The learner's checklist; saved (by an effect) when it changes.
    pub progress: Progress,
    tracker: Option<Tracker>,
    changed: bool,
}

/// A notice, plus the way on when it finished the lesson (the tutor never moves on itself).
fn with_lesson_done(lesson: &Lesson, progress: &Progress, notice: &str) -> String {
    if tracker::complete(lesson, progress) {
        format!("{notice} — every task of this lesson is done; press n for the next one")
    } else {
        notice.to_owned()
    }
}

impl Session {
    pub fn new(lessons: Vec<Lesson>) -> Session {
        let mut session = Session {
            lessons,
            lesson_index: 0,
            selected_task: None,
            lesson_scroll: 0,
            progress: Progress::new(),
            tracker: None,
            changed: false,
        };
        session.open(0);
        session.changed = false;
        session
    }

    pub fn lesson(&self) -> Option<&Lesson> {
        self.lessons.get(self.lesson_index)
    }

    /// Whether the checklist changed since the last call (then it should be saved).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Continue from a saved checklist, at the lesson the learner was on.
    pub fn resume(&mut self, progress: Progress) {
        let index = progress
            .current
            .as_deref()
            .and_then(|id| self.lessons.iter().position(|l| l.id == id))
            .unwrap_or(0);
        self.progress = progress;
        self.open(index);
    }

    pub fn open(&mut self, index: usize) {
        if let Some(lesson) = self.lessons.get(index) {
            self.lesson_index = index;
            self.lesson_scroll = 0;
            self.selected_task = None;
            // Only what happens while a lesson is open counts towards it.
            self.tracker = Some(Tracker::open(lesson, &mut self.progress));
            self.changed = true;
        }
    }

    /// A request finished or something was done to the stack: let the open lesson's tasks
    /// look at it, and say which ones that completed.
    pub fn track(&mut self, seen: Seen, notices: &mut Notices) {
        let (Some(tracker), Some(lesson)) =
            (self.tracker.as_mut(), self.lessons.get(self.lesson_index))
        else {
            return;
        };
        let done = match seen {
            Seen::Request(observation) => {
                tracker.on_request(lesson, &mut self.progress, observation)
            }
            Seen::Stack(event) => tracker.on_event(lesson, &mut self.progress, &event),
        };
        if done.is_empty() {
            return;
        }
        self.changed = true;
        let titles: Vec<String> = done
            .iter()
            .filter_map(|id| lesson.tasks.iter().find(|t| &t.id == id))
            .map(|t| t.title.replace('`', "").replace("**", ""))
            .collect();
        let text = format!("✓ task done: {}", titles.join("; "));
        notices.task_done(with_lesson_done(lesson, &self.progress, &text));
    }

    /// Done and total tasks of a lesson, for the lesson list.
    pub fn lesson_counts(&self, index: usize) -> (usize, usize) {
        let Some(lesson) = self.lessons.get(index) else {
            return (0, 0);
        };
        let done = lesson
            .tasks
            .iter()
            .filter(|t| self.progress.is_done(&lesson.id, &t.id))
            .count();
        (done, lesson.tasks.len())
    }

    /// Where each task of the open lesson stands, in order.
    pub fn task_marks(&self) -> Vec<TaskMark> {
        let Some(lesson) = self.lesson() else {
            return Vec::new();
        };
        let current = self.current_task().map(|t| t.id.as_str());
        let tracker = self.tracker.as_ref();
        lesson
            .tasks
            .iter()
            .map(|task| {
                let done = self.progress.is_done(&lesson.id, &task.id);
                let hints = tracker.and_then(|t| t.hints(lesson, &self.progress, &task.id));
                TaskMark {
                    done,
                    why_not: tracker
                        .filter(|_| !done)
                        .and_then(|t| t.why_not(&task.id))
                        .map(str::to_owned),
                    current: current == Some(task.id.as_str()),
                    hints_total: hints.as_ref().map_or(0, |h| h.total),
                    hints: hints
                        .as_ref()
                        .map(|h| h.revealed.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                    solution: hints.and_then(|h| h.solution.map(str::to_owned)),
                    answer: tracker
                        .and_then(|t| t.last_answer(&task.id))
                        .map(|a| (a.correct, a.explain.clone())),
                }
            })
            .collect()
    }

    /// The task h, c and 1-9 act on: the one picked with t / T, else the first not done.
    pub fn current_task(&self) -> Option<&Task> {
        let lesson = self.lesson()?;
        if let Some(id) = &self.selected_task
            && let Some(task) = lesson.tasks.iter().find(|t| &t.id == id)
        {
            return Some(task);
        }
        lesson
            .tasks
            .iter()
            .find(|t| !self.progress.is_done(&lesson.id, &t.id))
    }

    /// t / T: move the task marker, wrapping around; done tasks can be picked too (a
    /// self-check is unticked with c).
    pub fn select_task(&mut self, forward: bool, notices: &mut Notices) {
        let Some(lesson) = self.lesson() else {
            return;
        };
        let n = lesson.tasks.len();
        if n == 0 {
            notices.say("this lesson has no tasks");
            return;
        }
        let at = self
            .current_task()
            .and_then(|c| lesson.tasks.iter().position(|t| t.id == c.id));
        let next = match (at, forward) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        self.selected_task = Some(lesson.tasks[next].id.clone());
    }

    /// The task a key acts on. A quiz answer goes to the current task if it is a quiz,
    /// else to the lesson's first open quiz: a traffic task still waiting above it must not
    /// block the answer.
    fn task_for(&self, action: Action) -> Option<Task> {
        let current = self.current_task();
        let is_quiz = |t: &Task| matches!(t.check, Check::Quiz(_));
        if matches!(action, Action::Answer(_)) && current.is_some_and(|t| !is_quiz(t)) {
            let lesson = self.lesson()?;
            let open_quiz = lesson
                .tasks
                .iter()
                .find(|t| is_quiz(t) && !self.progress.is_done(&lesson.id, &t.id));
            return open_quiz.or(current).cloned();
        }
        current.cloned()
    }

    /// h, c and 1-9: a hint for the current task, tick it, or answer its quiz.
    pub fn task_key(&mut self, action: Action, notices: &mut Notices) {
        let Some(task) = self.task_for(action) else {
            notices.say("every task of this lesson is done; press n for the next lesson");
            return;
        };
        let (Some(lesson), Some(tracker)) =
            (self.lessons.get(self.lesson_index), self.tracker.as_mut())
        else {
            return;
        };
        match (action, &task.check) {
            (Action::NextHint, _) if task.hints.is_empty() && task.solution.is_none() => {
                notices.say("this task has no hints: the lesson text says what to do");
            }
            (Action::NextHint, _) => {
                tracker.next_hint(lesson, &mut self.progress, &task.id);
                self.changed = true;
            }
            (Action::TickSelfCheck, Check::SelfCheck) => {
                tracker.toggle(lesson, &mut self.progress, &task.id);
                self.changed = true;
                notices.say(if self.progress.is_done(&lesson.id, &task.id) {
                    with_lesson_done(lesson, &self.progress, "✓ ticked")
                } else {
                    "unticked".into()
                });
            }
            (Action::TickSelfCheck, _) => {
                notices.say("c ticks a self-check; this task is checked from what you do");
            }
            (Action::Answer(n), Check::Quiz(_)) => {
                let choice = usize::from(n) - 1;
                match tracker.answer(lesson, &mut self.progress, &task.id, choice) {
                    Some(answer) if answer.correct => {
                        self.changed = true;
                        notices.say(with_lesson_done(lesson, &self.progress, "✓ right"));
                    }
                    Some(_) => notices.say("not quite: read why, then try again"),
                    None => notices.say(format!("this quiz has no choice {n}")),
                }
            }
            (Action::Answer(_), _) => {
                notices.say("1-9 answer a quiz; the current task is not one");
            }
            _ => {}
        }
    }

    /// Untick every task of a lesson (after the learner confirmed).
    pub fn reset_lesson(&mut self, index: usize, notices: &mut Notices) {
        let Some(lesson) = self.lessons.get(index) else {
            return;
        };
        let (id, title) = (lesson.id.clone(), lesson.title.clone());
        self.progress.reset_lesson(&id);
        if index == self.lesson_index {
            self.open(index);
        }
        self.changed = true;
        notices.say(format!("the tasks of \"{title}\" are reset"));
    }

    /// Scroll the lesson; wrapping makes the text longer than its lines, so the bound is
    /// generous (the pane stops at the end it draws).
    pub fn scroll(&mut self, delta: i32) {
        let lines = self
            .lesson()
            .map_or(0, |l| l.body.lines().count() + l.tasks.len() * 8 + 4);
        let max = (lines * 2) as i32;
        self.lesson_scroll = (i32::from(self.lesson_scroll) + delta).clamp(0, max) as u16;
    }
}
