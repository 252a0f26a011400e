//! Rebuild when an embedded file is added, removed or changed.
//!
//! `include_dir!` (see `src/embedded.rs`) reads whole folders but tells cargo about none of
//! their files, so without this a new lesson would show only after some unrelated edit.

use std::path::Path;

fn main() {
    for dir in ["lessons", "assets"] {
        watch(Path::new(dir));
    }
}

/// A folder's own line catches files added to or removed from it; a line per file catches
/// edits wherever they are.
fn watch(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut children: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    // A stable order keeps the build script's output, and so cargo's fingerprint, stable.
    children.sort();
    for child in children {
        watch(&child);
    }
}
