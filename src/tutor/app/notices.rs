//! The status line's words: the latest notice, and apart from it the latest "task done",
//! so that a notice in the same moment ("app saved: reloading the workers") cannot hide
//! the tick the learner worked for.

/// What the status line says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notices {
    status: Option<String>,
    /// A reason the learner must read first (a refused reload's file and line).
    status_first: bool,
    task: Option<String>,
    /// Counts what was said, so a key can tell whether it said something new.
    said: u64,
    task_said: u64,
}

/// A point in what was said, taken before a key is handled.
#[derive(Debug, Clone, Copy)]
pub struct Mark(u64);

impl Notices {
    /// The latest notice; replaces the one before.
    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(text.into());
        self.status_first = false;
        self.said += 1;
    }

    /// A notice that goes before a "task done" on the line.
    pub fn say_first(&mut self, text: impl Into<String>) {
        self.say(text);
        self.status_first = true;
    }

    /// A task was completed: shown beside the notices until the learner does something
    /// that says something else.
    pub fn task_done(&mut self, text: impl Into<String>) {
        self.task = Some(text.into());
        self.said += 1;
        self.task_said = self.said;
    }

    pub fn mark(&self) -> Mark {
        Mark(self.said)
    }

    /// A key was handled: if it said something new and ticked nothing, the older tick has
    /// been read and goes.
    pub fn after_key(&mut self, before: Mark) {
        if self.said > before.0 && self.task_said <= before.0 {
            self.task = None;
        }
    }

    /// The whole line: the task tick and the notice, in reading order.
    pub fn line(&self) -> Option<String> {
        match (&self.task, &self.status) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (Some(task), Some(status)) if self.status_first => Some(format!("{status} · {task}")),
            (Some(task), Some(status)) => Some(format!("{task} · {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_notice_does_not_hide_the_task_done() {
        let mut notices = Notices::default();
        notices.task_done("✓ task done: reload the app");
        notices.say("app saved: reloading the workers");
        assert_eq!(
            notices.line().as_deref(),
            Some("✓ task done: reload the app · app saved: reloading the workers")
        );
        // A key that says nothing keeps it; one that says something else replaces it.
        let before = notices.mark();
        notices.after_key(before);
        assert!(notices.line().unwrap().starts_with("✓ task done"));
        let before = notices.mark();
        notices.say("asking the web server to reload nginx.conf");
        notices.after_key(before);
        assert_eq!(
            notices.line().as_deref(),
            Some("asking the web server to reload nginx.conf")
        );
        notices.say("app saved: reloading the workers");
        assert_eq!(
            notices.line().as_deref(),
            Some("app saved: reloading the workers")
        );
    }

    #[test]
    fn a_reason_to_read_first_goes_first() {
        let mut notices = Notices::default();
        notices.task_done("✓ task done: break the config");
        notices.say_first("reload refused: nginx.conf:3");
        assert_eq!(
            notices.line().as_deref(),
            Some("reload refused: nginx.conf:3 · ✓ task done: break the config")
        );
    }
}
