//! `rebase REV... --onto TARGET`: re-parents unapplied revisions, byte for byte but the
//! `down_revision` value; refuses applied ones (SQLite and the servers), cycles and merges.

use retort::Dialect;

use crate::single_head::diverged;
use crate::support::server::TestDatabase;
use crate::support::TestProject;

fn read(p: &TestProject, rel: &str) -> String {
    std::fs::read_to_string(p.path().join(rel)).unwrap()
}

#[test]
fn only_the_down_revision_value_changes() {
    let p = TestProject::new();
    p.revision("a0001", &[], "");
    p.revision("b0002", &["a0001"], "");
    let original = "\u{feff}-- revision = \"c0003\"\r\n--down_revision=\"a0001\"   # was on a\r\n\
                    -- message = \"keep ünïcode, CRLF & comments\"\r\n\r\n\
                    -- migrate:upgrade\r\nCREATE TABLE c (id INTEGER); -- trailing\r\n";
    p.file("migrations/versions/c0003_x.sql", original);
    let (code, out, err) = p.run(&["rebase", "c0003", "--onto", "b0002"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "moved c0003 from a0001 onto b0002 ([TMP]/migrations/versions/c0003_x.sql)\n"
    );
    let expected = original.replace("\"a0001\"   #", "\"b0002\"   #");
    assert_eq!(read(&p, "migrations/versions/c0003_x.sql"), expected);
    let (_, heads, _) = p.run(&["heads"]);
    assert!(heads.starts_with("c0003 (head)"), "{heads}");
    // Again: nothing to do, and said so.
    let (code, out, _) = p.run(&["rebase", "c0003", "--onto", "b0002"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "c0003 is already on the target; unchanged\n")
    );
}

#[test]
fn a_base_gets_a_down_revision_line_and_can_become_a_base_again() {
    let p = TestProject::new();
    p.revision("a0001", &[], "");
    let original =
        "-- revision = \"z0009\"\n-- message = \"second root\"\n\n-- migrate:upgrade\nSELECT 1;\n";
    p.file("migrations/versions/z0009_x.sql", original);
    let (code, _, err) = p.run(&["rebase", "z0009", "--onto", "a0001"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read(&p, "migrations/versions/z0009_x.sql"),
        "-- revision = \"z0009\"\n-- down_revision = \"a0001\"\n-- message = \"second root\"\n\n-- migrate:upgrade\nSELECT 1;\n"
    );
    let (code, _, err) = p.run(&["rebase", "z0009", "--onto", "base"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read(&p, "migrations/versions/z0009_x.sql"),
        "-- revision = \"z0009\"\n-- down_revision = \"\"\n-- message = \"second root\"\n\n-- migrate:upgrade\nSELECT 1;\n"
    );
}

#[test]
fn the_single_head_fix_leaves_one_head() {
    let p = diverged();
    let (code, out, err) = p.run(&["rebase", "d0004", "--onto", "c0003"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = p.run(&["check", "--single-head", "--git-base", "main"]);
    assert_eq!(code, 0, "{out}");
    let (_, history, _) = p.run(&["history"]);
    assert_eq!(
        history,
        "d0004 -> e0005 (head), rev e0005\nc0003 -> d0004, rev d0004\nb0002 -> c0003, rev c0003\n\
         a0001 -> b0002, rev b0002\n<base> -> a0001, rev a0001\n"
    );
}

#[test]
fn cycles_and_merges_are_refused_and_nothing_is_written() {
    let p = crate::support::branched_project();
    let before = read(&p, "migrations/versions/bbbb0002_rev.sql");
    let (code, _, err) = p.run(&["rebase", "bbbb0002", "--onto", "dddd0004"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("rebase onto `dddd0004` would make a cycle: Cycle is detected in revisions"),
        "{err}"
    );
    assert_eq!(read(&p, "migrations/versions/bbbb0002_rev.sql"), before);
    p.revision("mmmm0007", &["dddd0004", "ffff0006"], "");
    let (code, _, err) = p.run(&["rebase", "mmmm0007", "--onto", "aaaa0001"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`mmmm0007` is a merge of dddd0004, ffff0006"),
        "{err}"
    );
}

#[test]
fn without_a_database_it_needs_unchecked() {
    let p = crate::support::branched_project();
    p.file(
        "migrate.toml",
        "[migrate]\nscript_location = \"migrations\"\n",
    );
    let (code, _, err) = p.run(&["rebase", "ffff0006", "--onto", "dddd0004"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot check whether a database has applied the revisions to move: no database URL is set"), "{err}");
    assert!(err.contains("--unchecked"), "{err}");
    assert!(err.contains("retort merge heads"), "{err}");
    let (code, _, err) = p.run(&["rebase", "ffff0006", "--onto", "dddd0004", "--unchecked"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("not checked for applied revisions (--unchecked)"),
        "{err}"
    );
}

/// An applied revision, or one below an applied revision, is refused and `merge` named;
/// after a downgrade it moves.
fn refuses_applied(p: &TestProject, url: &str) {
    let run = |args: &[&str]| {
        let mut all = vec!["--url", url];
        all.extend_from_slice(args);
        p.run(&all)
    };
    let (code, _, err) = run(&["upgrade", "right@head", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let before = read(p, "migrations/versions/eeee0005_rev.sql");
    for rev in ["eeee0005", "ffff0006"] {
        let (code, _, err) = run(&["rebase", rev, "--onto", "dddd0004", "--unchecked"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("is applied in the database"), "{err}");
        assert!(err.contains("retort merge heads"), "{err}");
    }
    assert_eq!(read(p, "migrations/versions/eeee0005_rev.sql"), before);
    let (code, _, err) = run(&["downgrade", "bbbb0002", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["rebase", "eeee0005", "--onto", "dddd0004"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn applied_revisions_are_refused_on_sqlite() {
    let p = crate::support::branched_project();
    refuses_applied(&p, "sqlite:///app.db");
}

#[test]
fn applied_revisions_are_refused_on_the_servers() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "rebase_applied") else {
            continue;
        };
        let p = crate::support::branched_project();
        refuses_applied(&p, &db.url);
    }
}
