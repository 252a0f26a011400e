//! `O`: the lab files that can be restored to the original, each marked changed or not.

use super::{Command, Confirm, EventState, step};
use crate::tutor::keymap::Action;

/// The lab files `O` can restore to the original, relative to the lab folder.
pub const RESTORABLE: &[&str] = &[
    "nginx.conf",
    "apps/site.py",
    "apps/hello.py",
    "apps/environ.py",
    "apps/slow.py",
    "apps/form.py",
    "apps/counter.py",
    "apps/stream.py",
    "apps/framework.py",
    "apps/broken.py",
    "static/index.html",
    "static/style.css",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreList {
    pub selected: usize,
    /// Per entry of [`RESTORABLE`]: whether the learner's copy differs from the original.
    pub modified: Vec<bool>,
}

impl RestoreList {
    pub fn on_action(&mut self, action: Action, out: &mut Vec<Command>) -> EventState {
        if step(&mut self.selected, action, RESTORABLE.len()) {
            return EventState::Consumed;
        }
        if action != Action::Inspect {
            return EventState::NotConsumed;
        }
        out.push(Command::Ask(Confirm::restore(RESTORABLE[self.selected])));
        EventState::Consumed
    }
}

/// Which of the restorable files differ from their originals (the lab files are read:
/// run it as an effect, not in `update`).
pub fn scan(lab_dir: &std::path::Path) -> Vec<bool> {
    // Preparing an existing lab only writes files that are missing.
    let lab = crate::lab::Lab::prepare(Some(lab_dir.to_path_buf())).ok();
    RESTORABLE
        .iter()
        .map(|relative| {
            let original = lab.as_ref().and_then(|lab| lab.original(relative));
            let current = std::fs::read(lab_dir.join(relative)).ok();
            original.is_some() && current != original
        })
        .collect()
}
