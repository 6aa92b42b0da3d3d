//! Automatic backups around the commands that change a SQLite database.

use crate::support::TestProject;

fn backups(p: &TestProject) -> Vec<serde_json::Value> {
    let out = p.retort().args(["backups", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn upgrade_downgrade_and_stamp_back_up_only_when_they_change_the_database() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    // The database does not exist yet: nothing to back up.
    assert_eq!(p.run(&["upgrade", "aaaa0001"]).0, 0);
    assert!(backups(&p).is_empty());

    let report = p.path().join("report.json");
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--report", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let list = backups(&p);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["version_rows"], serde_json::json!(["aaaa0001"]));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["backup"]["backup_path"], list[0]["backup_path"]);

    // Nothing to do: no new backup.
    assert_eq!(p.run(&["upgrade", "heads"]).0, 0);
    assert_eq!(backups(&p).len(), 1);

    assert_eq!(p.run(&["downgrade", "aaaa0001"]).0, 0);
    assert_eq!(p.run(&["stamp", "heads"]).0, 0);
    assert_eq!(backups(&p).len(), 3);
    assert_eq!(p.run(&["stamp", "base", "--no-backup"]).0, 0);
    assert_eq!(backups(&p).len(), 3);
    // The backup taken before the downgrade holds the upgraded schema.
    let before_downgrade = backups(&p)
        .into_iter()
        .find(|b| b["version_rows"] == serde_json::json!(["bbbb0002"]))
        .unwrap();
    let conn =
        rusqlite::Connection::open(before_downgrade["backup_path"].as_str().unwrap()).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 't_bbbb0002'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn an_unwritable_backup_dir_stops_the_upgrade_before_anything_changes() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    assert_eq!(p.run(&["upgrade", "aaaa0001"]).0, 0);
    // A directory below a regular file cannot be created, even by root.
    p.file("not_a_dir", "x");
    let config = std::fs::read_to_string(p.path().join("migrate.toml")).unwrap();
    p.file(
        "migrate.toml",
        &format!("{config}\n[backup]\ndir = \"not_a_dir/backups\"\n"),
    );
    let (code, _, stderr) = p.run(&["upgrade", "heads"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not_a_dir"), "{stderr}");
    let (_, stdout, _) = p.run(&["current"]);
    assert_eq!(stdout.trim(), "aaaa0001");
    // --no-backup is the way on.
    assert_eq!(p.run(&["upgrade", "heads", "--no-backup"]).0, 0);
}

#[test]
fn upgrade_verify_reports_orphaned_rows_and_fails() {
    let p = TestProject::new();
    p.file(
        "migrations/versions/aaaa0001_parent.sql",
        "-- revision = \"aaaa0001\"\n\n\
         -- migrate:upgrade\n\
         CREATE TABLE parent (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id));\n\n\
         -- migrate:downgrade\n\
         DROP TABLE child;\n\
         DROP TABLE parent;\n",
    );
    assert_eq!(p.run(&["upgrade", "heads"]).0, 0);
    // An application without foreign-key enforcement left an orphan behind.
    let conn = rusqlite::Connection::open(p.path().join("app.db")).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO child VALUES (1, 42);")
        .unwrap();
    drop(conn);
    p.revision("bbbb0002", &["aaaa0001"], "");
    let report = p.path().join("report.json");
    let (code, _, stderr) = p.run(&[
        "upgrade",
        "heads",
        "--verify",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("verify found 1 problem(s)"), "{stderr}");
    assert!(stderr.contains("child"), "{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["verify"]["ok"], false);
    // The migration itself is applied.
    let (_, stdout, _) = p.run(&["current"]);
    assert_eq!(stdout.trim(), "bbbb0002 (head)");
}

#[test]
fn stamp_purge_backs_up_even_when_it_plans_no_step() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    assert_eq!(p.run(&["upgrade", "heads"]).0, 0);
    // `stamp --purge base` deletes every version row: a change, with no stamp step to plan.
    let (code, _, stderr) = p.run(&["stamp", "--purge", "base"]);
    assert_eq!(code, 0, "{stderr}");
    let list = backups(&p);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["version_rows"], serde_json::json!(["aaaa0001"]));
    assert_eq!(p.run(&["current"]).1.trim(), "");
    // On an empty version table it changes nothing, so no backup.
    assert_eq!(p.run(&["stamp", "--purge", "base"]).0, 0);
    assert_eq!(backups(&p).len(), 1);
}
