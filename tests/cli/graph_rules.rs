//! Graph rules where retort is deliberately stricter or safer than Alembic, driven through the
//! real binary: stamps that keep every applied branch, branch labels Alembic accepts, reserved
//! and shadowing names.

use crate::support::TestProject;

/// Issue 11 item 8's graph: base `aaaa`; `aaaa -> bbbb (billing) -> cccc`; base `mmmm` (main);
/// `dddd` merges `cccc` and `mmmm`; `dddd -> eeee`; `aaaa -> ffff -> gggg` with `gggg`
/// depending on `main`.
fn billing_project() -> TestProject {
    let p = TestProject::new();
    p.revision("aaaa", &[], "");
    p.revision("bbbb", &["aaaa"], "-- branch_labels = [\"billing\"]\n");
    p.revision("cccc", &["bbbb"], "");
    p.revision("mmmm", &[], "-- branch_labels = [\"main\"]\n");
    p.revision("dddd", &["cccc", "mmmm"], "");
    p.revision("eeee", &["dddd"], "");
    p.revision("ffff", &["aaaa"], "");
    p.revision("gggg", &["ffff"], "-- depends_on = [\"main\"]\n");
    p
}

fn ok(p: &TestProject, args: &[&str]) -> String {
    let (code, stdout, stderr) = p.run(args);
    assert_eq!(code, 0, "retort {args:?} failed:\n{stdout}{stderr}");
    stdout
}

#[test]
fn stamp_heads_keeps_the_applied_billing_line() {
    let p = billing_project();
    ok(&p, &["upgrade", "eeee"]);
    ok(&p, &["upgrade", "ffff"]);
    ok(&p, &["stamp", "heads"]);
    let current = ok(&p, &["current"]);
    for head in ["eeee", "gggg"] {
        assert!(
            current.contains(head),
            "current after stamp heads:\n{current}"
        );
    }
    let (code, stdout, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(
        code, 0,
        "upgrade heads after stamp heads:\n{stdout}{stderr}"
    );
    assert!(
        !stdout.contains("Running upgrade") && !stderr.contains("Running upgrade"),
        "upgrade heads after stamp heads ran something:\n{stdout}{stderr}"
    );
}

/// Issue 11 item 16: `core-plugin` is a label as Alembic accepts it: `aaaa (core-plugin) ->
/// bbbb -> cccc`, and a plugin base `pppp` depending on `core-plugin`.
fn plugin_project() -> TestProject {
    let p = TestProject::new();
    p.revision("aaaa", &[], "-- branch_labels = [\"core-plugin\"]\n");
    p.revision("bbbb", &["aaaa"], "");
    p.revision("cccc", &["bbbb"], "");
    p.revision(
        "pppp",
        &[],
        "-- branch_labels = [\"billing-plugin\"]\n-- depends_on = [\"core-plugin\"]\n",
    );
    p
}

#[test]
fn labels_with_dashes_load_and_resolve_as_in_alembic() {
    let p = plugin_project();
    ok(&p, &["upgrade", "core-plugin@head"]);
    assert!(ok(&p, &["current"]).contains("cccc"));
    ok(&p, &["downgrade", "core-plugin@-1"]);
    assert!(ok(&p, &["current"]).contains("bbbb"));
    let history = ok(&p, &["history", "-r", "core-plugin@base:"]);
    let listed: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split(" -> ").nth(1)?.split(' ').next())
        .collect();
    assert_eq!(listed, ["cccc", "bbbb", "aaaa"], "{history}");
    // `pppp` depends on the label's declaring revision only.
    ok(&p, &["upgrade", "billing-plugin@head"]);
    let current = ok(&p, &["current"]);
    assert!(
        current.contains("pppp") && current.contains("bbbb"),
        "{current}"
    );
}

#[test]
fn history_from_a_revision_whose_head_is_a_dependent_lists_it() {
    let p = TestProject::new();
    p.revision("aaaa", &[], "");
    p.revision("xxxx", &["aaaa"], "");
    p.revision("yyyy", &[], "-- depends_on = [\"xxxx\"]\n");
    let history = ok(&p, &["history", "-r", "xxxx:"]);
    // `xxxx` and its descendants by `down_revision`: `xxxx` alone.
    assert!(
        history.contains("aaaa -> xxxx") && history.lines().count() == 1,
        "history -r xxxx: printed:\n{history}"
    );
}

#[test]
fn reserved_and_shadowing_names_are_refused_for_new_revisions() {
    let p = TestProject::new();
    p.revision("abcd1234", &[], "");
    for word in ["head", "heads", "base", "current"] {
        let (code, _, stderr) = p.run(&["revision", "-m", "x", "--rev-id", word]);
        assert_eq!(code, 2, "--rev-id {word}: {stderr}");
        assert!(
            stderr.contains(&format!("revision id `{word}` is a reserved word")),
            "{stderr}"
        );
        let (code, _, stderr) = p.run(&["revision", "-m", "x", "--branch-label", word]);
        assert_eq!(code, 2, "--branch-label {word}: {stderr}");
        assert!(
            stderr.contains(&format!("branch label `{word}` is a reserved word")),
            "{stderr}"
        );
    }
    let (code, _, stderr) = p.run(&["revision", "-m", "x", "--branch-label", "abcd"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("branch label `abcd` is a prefix of revision id `abcd1234`"),
        "{stderr}"
    );
    let (code, _, stderr) = p.run(&["revision", "-m", "x", "--branch-label", "release-2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be named in a target"), "{stderr}");
    // Nothing was written, and a label with `-` is fine.
    ok(
        &p,
        &[
            "revision",
            "-m",
            "x",
            "--rev-id",
            "ffff0001",
            "--branch-label",
            "core-plugin",
        ],
    );
    assert_eq!(ok(&p, &["heads"]).trim(), "ffff0001 (core-plugin) (head)");
    p.revision("eeee0002", &[], "");
    let (code, _, stderr) = p.run(&["merge", "heads", "-m", "m", "--branch-label", "heads"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("branch label `heads` is a reserved word"),
        "{stderr}"
    );
}

#[test]
fn check_reports_reserved_and_shadowing_names_that_still_load() {
    let p = TestProject::new();
    p.revision("abcd1234", &[], "-- branch_labels = [\"heads\"]\n");
    p.revision(
        "ffff0001",
        &["abcd1234"],
        "-- branch_labels = [\"abcd\", \"release-2\"]\n",
    );
    // Other commands still run, as in Alembic: `heads` is still every head.
    assert!(ok(&p, &["heads"]).contains("ffff0001"));
    ok(&p, &["upgrade", "heads"]);
    let (code, stdout, stderr) = p.run(&["check"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("branch label `heads` is a reserved word"),
        "{all}"
    );
    assert!(
        all.contains("branch label `abcd` is a prefix of revision id `abcd1234`"),
        "{all}"
    );
    assert!(all.contains("abcd1234_rev.sql"), "{all}");
    assert!(
        all.contains("branch label `release-2` cannot be named in a target"),
        "{all}"
    );
}

#[test]
fn a_generated_id_is_never_shadowed_by_a_label() {
    let p = TestProject::new();
    // Labels on every hex digit but `f`: only an id starting with `f` is not shadowed.
    let labels: Vec<String> = "0123456789abcde"
        .chars()
        .map(|c| format!("\"{c}\""))
        .collect();
    p.revision(
        "zzzz",
        &[],
        &format!("-- branch_labels = [{}]\n", labels.join(", ")),
    );
    for _ in 0..3 {
        let stdout = ok(&p, &["revision", "-m", "x"]);
        let name = stdout.rsplit('/').next().unwrap_or_default();
        assert!(name.starts_with('f'), "{stdout}");
    }
}
