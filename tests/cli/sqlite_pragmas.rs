//! SQLite's `PRAGMA foreign_keys` in revisions: the table rebuild of SQLite's documented ALTER
//! procedure keeps the rows of an `ON DELETE CASCADE` child, violations fail the revision and
//! roll it back, misplaced pragmas and rehearsals are refused, and `--sql` keeps the order.

use crate::support::TestProject;

const PARENT_AND_CHILD: &str = "\
CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p (id) ON DELETE CASCADE);
INSERT INTO p VALUES (1, 'one'), (2, 'two');
INSERT INTO c VALUES (10, 1), (11, 2);";

/// SQLite's rebuild of `p` (making `name` NOT NULL), copying the rows `copied` selects.
fn rebuild(copied: &str) -> String {
    format!(
        "PRAGMA foreign_keys = OFF;
CREATE TABLE p_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO p_new SELECT id, coalesce(name, '') FROM p {copied};
DROP TABLE p;
ALTER TABLE p_new RENAME TO p;
PRAGMA foreign_keys = ON;"
    )
}

/// A project with `revisions` (id, upgrade SQL), each on the one before.
fn project(revisions: &[(&str, &str)]) -> TestProject {
    let p = TestProject::new();
    let mut parent: Option<&str> = None;
    for (id, up) in revisions {
        let down = parent
            .map(|parent| format!("-- down_revision = \"{parent}\"\n"))
            .unwrap_or_default();
        p.file(
            &format!("migrations/versions/{id}_rev.sql"),
            &format!("-- revision = \"{id}\"\n{down}\n-- migrate:upgrade\n{up}\n"),
        );
        parent = Some(id);
    }
    p
}

fn query(p: &TestProject, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(p.path().join("app.db")).expect("open db");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let rows = stmt
        .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
        .expect("query")
        .map(|v| format!("{:?}", v.expect("row")))
        .collect();
    rows
}

fn children(p: &TestProject) -> Vec<String> {
    query(p, "SELECT id || '->' || p_id FROM c ORDER BY id")
}

fn version(p: &TestProject) -> Vec<String> {
    query(p, "SELECT version_num FROM retort_version")
}

#[test]
fn a_rebuild_with_foreign_keys_off_keeps_the_cascading_child_rows() {
    let p = project(&[
        ("r1", PARENT_AND_CHILD),
        ("r2", &rebuild("")),
        // Enforcement is back on for the next revision: deleting a parent cascades.
        ("r3", "DELETE FROM p WHERE id = 2;"),
    ]);
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(children(&p), [r#"Text("10->1")"#]);
    assert_eq!(version(&p), [r#"Text("r3")"#]);
    assert!(query(&p, "PRAGMA foreign_key_check").is_empty());
}

#[test]
fn a_rebuild_that_orphans_child_rows_fails_naming_them_and_is_rolled_back() {
    let p = project(&[("r1", PARENT_AND_CHILD), ("r2", &rebuild("WHERE id <> 2"))]);
    assert_eq!(p.run(&["upgrade", "r1"]).0, 0);
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("revision `r2`")
            && stderr.contains("leaves 1 row(s) that break a foreign key: `c` row 11 references a missing row of `p`"),
        "{stderr}"
    );
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert_eq!(version(&p), [r#"Text("r1")"#]);
    assert_eq!(children(&p), [r#"Text("10->1")"#, r#"Text("11->2")"#]);
    assert_eq!(query(&p, "SELECT count(*) FROM p"), ["Integer(2)"]);
    assert!(query(&p, "SELECT name FROM sqlite_master WHERE name = 'p_new'").is_empty());
}

#[test]
fn a_pragma_sqlite_would_ignore_is_refused_before_anything_runs() {
    let p = project(&[
        ("r1", PARENT_AND_CHILD),
        (
            "r2",
            "DELETE FROM c WHERE id = 10;\nPRAGMA foreign_keys = OFF;\nDROP TABLE p;",
        ),
    ]);
    assert_eq!(p.run(&["upgrade", "r1"]).0, 0);
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("r2_rev.sql:6: `PRAGMA foreign_keys = OFF` would have no effect"),
        "{stderr}"
    );
    assert!(
        stderr.contains("put the pragma before the revision's first statement"),
        "{stderr}"
    );
    assert_eq!(version(&p), [r#"Text("r1")"#]);
    assert_eq!(children(&p).len(), 2);
}

#[test]
fn a_rehearsal_of_a_revision_setting_foreign_keys_is_refused_and_changes_nothing() {
    let p = project(&[("r1", PARENT_AND_CHILD), ("r2", &rebuild(""))]);
    assert_eq!(p.run(&["upgrade", "r1"]).0, 0);
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--rehearse"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("revision `r2`")
            && stderr.contains("ignores inside the one transaction a rehearsal runs in"),
        "{stderr}"
    );
    assert_eq!(version(&p), [r#"Text("r1")"#]);
    assert_eq!(children(&p).len(), 2);
}

#[test]
fn the_offline_script_keeps_the_pragma_first_and_the_rows_with_it() {
    let p = project(&[("r1", PARENT_AND_CHILD), ("r2", &rebuild(""))]);
    assert_eq!(p.run(&["upgrade", "r1"]).0, 0);
    let (code, script, stderr) = p.run(&["upgrade", "r1:heads", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    let pragma = script.find("PRAGMA foreign_keys = OFF;").expect("pragma");
    assert!(
        pragma < script.find("DROP TABLE p;").expect("drop"),
        "{script}"
    );
    // The script as the sqlite3 shell runs it (one statement after another, no transaction).
    let conn = rusqlite::Connection::open(p.path().join("app.db")).expect("open db");
    conn.execute_batch(&script).expect("run the script");
    drop(conn);
    assert_eq!(children(&p).len(), 2);
    assert_eq!(version(&p), [r#"Text("r2")"#]);
}
