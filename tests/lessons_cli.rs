//! `wsgi-tutor lessons check` and `wsgi-tutor progress`, as an instructor and a learner
//! would run them.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsgi-tutor"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_bundled_pack_checks_clean() {
    let out = run(&["lessons", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("no problems"));
}

#[test]
fn a_broken_pack_names_file_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("01-a.md"),
        "+++\nid = \"a\"\ntitle = \"A\"\n\n[[tasks]]\nid = \"t\"\nkind = \"traffic\"\ntitle = \"x\"\n[tasks.expect]\nserved_by = \"statc\"\n+++\nbody\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("02-b.md"),
        "+++\nid = \"b\"\ntitle = \"B\"\n+++\nsee [a](lesson:c)\n",
    )
    .unwrap();
    let out = run(&["lessons", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("01-a.md:10: front matter: unknown variant `statc`"),
        "{err}"
    );
    assert!(
        err.contains("02-b.md:5: link to lesson \"c\", which is not in this pack"),
        "{err}"
    );
    assert!(err.contains("2 problems"), "{err}");
}

#[test]
fn progress_json_a_corrupt_file_and_export_import() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let out = run(&["progress", "--json", "--state-dir", dir]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["done"], 0);
    assert!(json["total"].as_u64().unwrap() > 20);
    assert_eq!(json["lessons"][2]["id"], "web-server-decides");

    // Progress from another machine: one task done.
    let other = state.path().join("other.json");
    std::fs::write(
        &other,
        r#"{"version":1,"lessons":{"web-server-decides":{"done":{"static-file":"2026-11-24T10:00:00Z"}}}}"#,
    )
    .unwrap();
    let out = run(&[
        "progress",
        "--state-dir",
        dir,
        "--import",
        other.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("[x] Fetch /static/style.css"),
        "{}",
        text(&out.stdout)
    );

    // A corrupt file is set aside with a warning, never a crash.
    std::fs::write(state.path().join("progress.json"), "{ garbage").unwrap();
    let out = run(&["progress", "--json", "--state-dir", dir]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("could not be used"),
        "{}",
        text(&out.stderr)
    );
    let kept: Vec<_> = std::fs::read_dir(state.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("progress.json.corrupt-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(kept[0].path()).unwrap(),
        "{ garbage"
    );

    // --reset without a terminal refuses unless --yes.
    let out = run(&["progress", "--state-dir", dir, "--reset"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["progress", "--state-dir", dir, "--reset", "--yes", "--json"]);
    assert!(out.status.success());
    let export = state.path().join("export.json");
    let out = run(&[
        "progress",
        "--state-dir",
        dir,
        "--export",
        export.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(exported["version"], 1);
}
