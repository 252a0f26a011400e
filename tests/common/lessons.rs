//! The fixture lesson pack, `tests/fixtures/lessons`: a few small lessons for the screen
//! tests, so rewording a bundled lesson does not change a snapshot.

use std::path::PathBuf;

use wsgi_tutor::lessons::pack::{Lesson, Pack};

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lessons")
}

/// The fixture pack's lessons, in order; any problem with the pack fails the test.
pub fn fixture_lessons() -> Vec<Lesson> {
    match Pack::load_dir(&fixture_dir()) {
        Ok(pack) => pack.lessons,
        Err(problems) => panic!(
            "the fixture lesson pack has problems:\n{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}
