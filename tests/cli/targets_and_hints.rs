//! `current` as a target (`history -r current:`, `show current`), hints that match the command
//! typed, and the templates `init` writes being the ones `revision` renders.

use crate::support::TestProject;

/// `a -> b -> {c1, c2}` on SQLite.
fn forked() -> TestProject {
    let p = TestProject::new();
    p.revision("aaaa", &[], "");
    p.revision("bbbb", &["aaaa"], "");
    p.revision("cc01", &["bbbb"], "");
    p.revision("cc02", &["bbbb"], "");
    p
}

/// The revision ids a `history` output lists, newest first.
fn listed(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|line| line.split(" -> ").nth(1)?.split([' ', ',']).next())
        .collect()
}

fn ok(p: &TestProject, args: &[&str]) -> String {
    let (code, stdout, stderr) = p.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

#[test]
fn current_in_a_history_range_reads_the_database_rows() {
    let p = forked();
    // An empty database: see `current_on_an_empty_database_lists_what_alembic_lists`.
    assert_eq!(ok(&p, &["history", "-r", "current:"]), ok(&p, &["history"]));
    ok(&p, &["upgrade", "cc01", "-q"]);
    assert_eq!(listed(&ok(&p, &["history", "-r", "current:"])), ["cc01"]);
    assert_eq!(
        listed(&ok(&p, &["history", "-r", ":current"])),
        ["cc01", "bbbb", "aaaa"]
    );
    // Without `-i` nothing is marked current, as in Alembic.
    assert!(!ok(&p, &["history", "-r", "current:"]).contains("(current)"));
    // Two rows: `current` stands for both.
    ok(&p, &["upgrade", "heads", "-q"]);
    assert_eq!(
        listed(&ok(&p, &["history", "-r", "current:"])),
        ["cc01", "cc02"]
    );
    let marked = ok(&p, &["history", "-r", ":current", "-i"]);
    assert_eq!(listed(&marked), ["cc01", "cc02", "bbbb", "aaaa"]);
    assert_eq!(marked.matches("(current)").count(), 2, "{marked}");
}

/// What Alembic 1.20.1 prints for the same two revisions on an SQLite database that does not
/// exist yet (`alembic history -r …`, run for this test): its empty tuple of current heads
/// falls back to the end's default, so `:current` and `base:current` list everything too;
/// when both ends are `current` only the upper one stands for the rows.
#[test]
fn current_on_an_empty_database_lists_what_alembic_lists() {
    let p = TestProject::new();
    p.file(
        "migrations/versions/aaaa0001_one.sql",
        "-- revision = \"aaaa0001\"\n-- message = \"one\"\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    p.file(
        "migrations/versions/bbbb0002_two.sql",
        "-- revision = \"bbbb0002\"\n-- down_revision = \"aaaa0001\"\n-- message = \"two\"\n\n\
         -- migrate:upgrade\nSELECT 2;\n",
    );
    let alembic = "aaaa0001 -> bbbb0002 (head), two\n<base> -> aaaa0001, one\n";
    for range in [
        ":current",
        "current:",
        "base:current",
        "current:head",
        "current:heads",
    ] {
        assert_eq!(ok(&p, &["history", "-r", range]), alembic, "{range}");
    }
    assert_eq!(ok(&p, &["history", "-i", "-r", ":current"]), alembic);
    let (code, _, stderr) = p.run(&["history", "-r", "current:current"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Can't locate revision identified by 'current'"),
        "{stderr}"
    );
    // Reading the database created nothing; at a revision, `:current` stops there.
    assert!(!p.path().join("app.db").exists());
    ok(&p, &["stamp", "aaaa0001", "-q"]);
    assert_eq!(
        ok(&p, &["history", "-r", ":current"]),
        "<base> -> aaaa0001, one\n"
    );
}

#[test]
fn show_current_shows_the_database_revisions_in_full() {
    let p = forked();
    assert!(ok(&p, &["show", "current"]).is_empty());
    ok(&p, &["upgrade", "heads", "-q"]);
    let shown = ok(&p, &["show", "current"]);
    assert!(shown.contains("Rev: cc01 (head)"), "{shown}");
    assert!(shown.contains("Rev: cc02 (head)"), "{shown}");
    assert!(!shown.contains("Rev: bbbb"), "{shown}");
}

#[test]
fn current_without_a_readable_database_says_so() {
    let p = forked();
    p.file(
        "migrate.toml",
        "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"${RETORT_UNSET_URL}\"\n",
    );
    for args in [&["history", "-r", "current:"][..], &["show", "current"]] {
        let (code, _, stderr) = p.run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            stderr.contains("names the database's current revisions, which could not be read")
                && stderr.contains("RETORT_UNSET_URL"),
            "{args:?}: {stderr}"
        );
    }
    // Ranges that do not name `current` need no database.
    assert_eq!(listed(&ok(&p, &["history", "-r", "bbbb:"])).len(), 3);
}

fn hint(p: &TestProject, args: &[&str]) -> String {
    let (code, _, stderr) = p.run(args);
    assert_ne!(code, 0, "{args:?}");
    stderr
        .split_once("hint: ")
        .map(|(_, hint)| hint.trim().to_string())
        .unwrap_or_else(|| panic!("{args:?} gave no hint: {stderr}"))
}

#[test]
fn an_offline_start_with_several_heads_is_not_told_to_use_heads() {
    let p = forked();
    let hint = hint(&p, &["downgrade", "heads:base", "--sql"]);
    assert!(!hint.contains("use `heads`"), "{hint}");
    assert!(
        hint.contains("`cc01`, `cc02`") && hint.contains("before the `:`"),
        "{hint}"
    );
    ok(&p, &["downgrade", "cc01:base", "--sql"]);
}

#[test]
fn an_ambiguous_relative_step_suggests_the_direction_typed() {
    let p = forked();
    let up = hint(&p, &["upgrade", "+3", "--sql"]);
    assert!(up.contains("`<label>@+3`") && !up.contains("@-"), "{up}");
    ok(&p, &["upgrade", "heads", "-q"]);
    p.revision("dddd", &["cc01", "cc02"], "");
    ok(&p, &["upgrade", "heads", "-q"]);
    let down = hint(&p, &["downgrade", "-2"]);
    assert!(down.contains("`<label>@-2`"), "{down}");
}

#[test]
fn revision_with_two_heads_points_at_head_and_merge_never_at_splice() {
    let p = forked();
    let revision = hint(&p, &["revision", "-m", "x"]);
    assert!(
        revision.contains("`--head <revision>`") && !revision.contains("use `heads`"),
        "{revision}"
    );
    let (code, _, stderr) = p.run(&["merge", "-m", "m", "bbbb", "cc01"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Revision bbbb is not a head revision; merge joins heads only"),
        "{stderr}"
    );
    assert!(!stderr.contains("specify --splice"), "{stderr}");
    // `revision` keeps Alembic's text: it has `--splice`.
    let (_, _, stderr) = p.run(&["revision", "-m", "x", "--head", "bbbb"]);
    assert!(stderr.contains("please specify --splice"), "{stderr}");
}

#[test]
fn init_points_the_config_at_the_templates_it_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = TestProject { dir };
    ok(&p, &["init"]);
    let config = std::fs::read_to_string(p.path().join("migrate.toml")).expect("config");
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("templates = \"templates\"")),
        "{config}"
    );
    let template = p.path().join("templates/revision.sql.j2");
    let text = std::fs::read_to_string(&template).expect("template");
    std::fs::write(&template, format!("-- from the project's template\n{text}")).expect("edit");
    ok(&p, &["revision", "-m", "first", "--rev-id", "f1"]);
    let file = std::fs::read_to_string(p.path().join("migrations/versions/f1_first.sql"))
        .expect("revision file");
    assert!(
        file.starts_with("-- from the project's template\n"),
        "{file}"
    );
}
