//! Tasks and their checks: what a lesson asks the learner to do, and how the tutor decides
//! it was done — from real traffic, from things done to the stack, from a quiz answer, or
//! from the learner's own tick. The format is documented in `lessons/README.md`.
//!
//! `tasks/observation.rs` is a finished request as the tutor saw it, `tasks/traffic.rs`
//! the traffic predicates over such requests, `tasks/events.rs` the stack events; the
//! task itself and its quiz choices are here.

mod events;
mod observation;
mod traffic;

pub use events::{EventExpect, EventKind, StackEvent};
pub use observation::{HeaderHop, Observation, ServedBy, Via};
pub use traffic::{Expect, HeaderExpect};

use serde::Deserialize;

/// One answer of a quiz; its `explain` is shown whichever answer is picked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    pub explain: Option<String>,
}

/// How a task is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Traffic(Expect),
    Event(EventExpect),
    Quiz(Vec<Choice>),
    SelfCheck,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub hints: Vec<String>,
    pub solution: Option<String>,
    pub check: Check,
    /// The line of its `[[tasks]]` header, for messages.
    pub line: usize,
}
