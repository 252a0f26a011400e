use super::*;

fn check(files: &[(&str, &str)]) -> Vec<String> {
    let files = files
        .iter()
        .map(|(n, t)| (PathBuf::from(n), t.to_string()))
        .collect();
    match Pack::from_files(files) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = "+++\nid = \"one\"\ntitle = \"One\"\n\n[[tasks]]\nid = \"t\"\nkind = \"self_check\"\ntitle = \"I can\"\n+++\n# One\n\nSee [two](lesson:one) on {{web_port}}.\n\n```sh\ncurl {{web_url}}\n```\n";

#[test]
fn a_good_lesson_loads() {
    assert!(check(&[("a.md", GOOD)]).is_empty());
}

#[test]
fn the_bundled_pack_passes_its_own_check() {
    match Pack::bundled() {
        Ok(pack) => assert!(pack.lessons.len() >= 9),
        Err(problems) => panic!(
            "{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

// Long because it is a table: one malformed lesson per row, with the problem it must
// give, file and line included.
#[test]
fn problems_name_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "# no front matter",
            "a.md:1: a lesson must start with a front matter",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n",
            "a.md:3: the front matter is not closed",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\ncolour = 1\n+++\n",
            "a.md:4: front matter: unknown field `colour`",
        ),
        (
            "+++\nid = \"a\"\n+++\n",
            "a.md:2: front matter: missing field `title`",
        ),
        (
            "+++\nid = \"Big Id\"\ntitle = \"A\"\n+++\n",
            "a.md:2: lesson id \"Big Id\" must be kebab-case",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"magic\"\ntitle = \"x\"\n+++\n",
            "a.md:6: front matter: unknown variant `magic`",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"traffic\"\ntitle = \"x\"\n[tasks.expect]\nserved_by = \"staic\"\n+++\n",
            "a.md:9: front matter: unknown variant `staic`",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"traffic\"\ntitle = \"x\"\n[tasks.expect]\npath = \"/\"\npath_prefix = \"/\"\n+++\n",
            "a.md:4: task \"t\": [tasks.expect] has both `path` and `path_prefix`",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"t\"\nkind = \"event\"\ntitle = \"x\"\nevent = \"config_reloaded\"\nworkers = 2\n+++\n",
            "a.md:4: task \"t\": `workers` only goes with event = \"workers_changed\"",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n[[tasks]]\nid = \"q\"\nkind = \"quiz\"\ntitle = \"x\"\n[[tasks.choices]]\ntext = \"a\"\nexplain = \"e\"\n[[tasks.choices]]\ntext = \"b\"\nexplain = \"e\"\n+++\n",
            "a.md:4: task \"q\": a quiz needs exactly one choice with correct = true, this one has 0",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\nGo to [x](lesson:nowhere).\n",
            "a.md:6: link to lesson \"nowhere\", which is not in this pack",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n+++\nport {{web_prot}}\n",
            "a.md:5: unknown placeholder {{web_prot}}",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\n```\nx\n```\n",
            "a.md:6: a code block needs a language",
        ),
        (
            "+++\nid = \"a\"\ntitle = \"A\"\n+++\n\n```bash\nx\n```\n",
            "a.md:6: code block language \"bash\" is not one of",
        ),
    ];
    for (text, want) in cases {
        let got = check(&[("a.md", text)]);
        assert!(
            got.iter().any(|p| p.starts_with(want)),
            "for {text:?}\nwanted {want}\ngot {got:?}"
        );
    }
}

#[test]
fn duplicate_ids_across_files() {
    let got = check(&[("a.md", GOOD), ("b.md", GOOD)]);
    assert_eq!(
        got,
        ["b.md:2: lesson id \"one\" is used by another lesson too"]
    );
}

#[test]
fn python_braces_are_not_placeholders() {
    assert!(unknown_placeholders("'{{' and \"{}\".format(x) and {{ web_port }}").is_empty());
    assert_eq!(unknown_placeholders("{{nope}} {{lab}}"), ["nope"]);
}
