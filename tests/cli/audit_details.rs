//! The audit table's `details` column: the statements each step ran (index, line, checksum),
//! and audit tables of before the column, which are read as they are and given the column on
//! the first write.

use retort::Dialect;
use serde_json::Value;

use crate::support::server::{self, TestDatabase};
use crate::support::TestProject;

/// `aaaa0001` (one statement), then `bbbb0002` with two statements at lines 5 and 7.
fn project(database_url: Option<&str>) -> TestProject {
    let p = TestProject::new();
    if let Some(url) = database_url {
        p.file(
            "migrate.toml",
            &format!("[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n"),
        );
    }
    p.revision("aaaa0001", &[], "");
    p.file(
        "migrations/versions/bbbb0002_rev.sql",
        "-- revision = \"bbbb0002\"\n-- down_revision = \"aaaa0001\"\n\n-- migrate:upgrade\n\
         CREATE TABLE t_b (id INTEGER PRIMARY KEY);\n-- a comment\n\
         INSERT INTO t_b (id) VALUES (1);\n\n-- migrate:downgrade\nDROP TABLE t_b;\n",
    );
    p
}

/// `log --json`, oldest first.
pub(crate) fn log(p: &TestProject) -> Vec<Value> {
    let (code, stdout, stderr) = p.run(&["log", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let mut rows: Vec<Value> = serde_json::from_str(&stdout).expect("log --json is JSON");
    rows.reverse();
    rows
}

/// On [`project`] with its database at `url`: details are recorded, and an audit table
/// brought back to the shape of before the column (dropped) reads, then gains it again.
fn old_audit_table_gains_details(p: &TestProject, url: &str) {
    let (code, _, stderr) = p.run(&["upgrade", "aaaa0001", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let first = log(p);
    assert_eq!(first[0]["details"]["statements"][0]["line"], 5, "{first:?}");
    // The single statement's checksum is the whole section's.
    assert_eq!(
        first[0]["details"]["statements"][0]["checksum"],
        first[0]["checksum"]
    );

    // The audit table as retort wrote it before the column existed.
    let mut conn = server::connect(url);
    conn.execute("ALTER TABLE retort_version_log DROP COLUMN details")
        .expect("drop the column");
    drop(conn);
    let old = log(p);
    assert_eq!(old.len(), 1);
    assert!(old[0].get("details").is_none(), "{old:?}");
    assert_eq!(old[0]["revision"], "aaaa0001");

    // The first write adds the column back; the old row has no details, the new one has.
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = log(p);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].get("details").is_none(), "{rows:?}");
    let statements = rows[1]["details"]["statements"]
        .as_array()
        .expect("statements recorded");
    let positions: Vec<(u64, u64)> = statements
        .iter()
        .map(|s| (s["index"].as_u64().unwrap(), s["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(positions, [(1, 5), (2, 7)]);
    assert_ne!(statements[0]["checksum"], statements[1]["checksum"]);
    assert!(statements[0]["checksum"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    // A downgrade records the statements of its section; a stamp none.
    let (code, _, stderr) = p.run(&["downgrade", "-1", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = p.run(&["stamp", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = log(p);
    assert_eq!(rows[2]["direction"], "downgrade");
    assert_eq!(rows[2]["details"]["statements"][0]["line"], 10);
    assert_eq!(rows[3]["direction"], "stamp");
    assert!(rows[3].get("details").is_none(), "{rows:?}");
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_audit_rows_record_their_statements_and_old_tables_gain_the_column() {
    let p = project(None);
    let url = format!("sqlite:///{}", p.path().join("app.db").display());
    old_audit_table_gains_details(&p, &url);
}

fn on_server(dialect: Dialect) {
    if let Some(db) = TestDatabase::create(dialect, &format!("audit_details_{dialect}")) {
        old_audit_table_gains_details(&project(Some(&db.url)), &db.url);
    }
}

#[cfg(feature = "postgres")]
#[test]
fn postgresql_audit_rows_record_their_statements_and_old_tables_gain_the_column() {
    on_server(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn mariadb_audit_rows_record_their_statements_and_old_tables_gain_the_column() {
    on_server(Dialect::Mysql);
}

/// Rewrites the upgrade section of `bbbb0002` to `statements` (one per line from line 5).
fn rewrite_b(p: &TestProject, statements: &[&str]) {
    p.file(
        "migrations/versions/bbbb0002_rev.sql",
        &format!(
            "-- revision = \"bbbb0002\"\n-- down_revision = \"aaaa0001\"\n\n-- migrate:upgrade\n\
             {}\n\n-- migrate:downgrade\nDROP TABLE t_b;\n",
            statements.join("\n")
        ),
    );
}

/// The drift refusal, `check` and `status --json` name the statements that changed, from the
/// statement checksums of the applying row, or of the last `accept`; a row without them says so.
fn drift_names_statements(p: &TestProject, url: &str) {
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    // Something to run, so that runs check for drift.
    p.revision("cccc0003", &["bbbb0002"], "");
    rewrite_b(
        p,
        &[
            "CREATE TABLE t_b (id INTEGER PRIMARY KEY);",
            "INSERT INTO t_b (id) VALUES (2);",
            "INSERT INTO t_b (id) VALUES (3);",
        ],
    );
    let named = [
        "    statement 2 (line 6, was line 7) changed\n",
        "    a statement was added at line 7 (statement 3)",
    ]
    .concat();
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");
    let (code, _, stderr) = p.run(&["downgrade", "base", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");
    let (code, stdout, _) = p.run(&["check"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("statement 2 (line 6, was line 7) changed"),
        "{stdout}"
    );
    let (_, stdout, stderr) = p.run(&["status", "--json"]);
    let status: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(
        status["drifted"][0]["statements"],
        serde_json::json!([
            {"change": "changed", "index": 2, "line": 6, "was_line": 7},
            {"change": "added", "index": 3, "line": 7}
        ])
    );

    // `accept` records the file's statements: later drift is measured from them.
    let (code, _, stderr) = p.run(&["accept", "bbbb0002", "--reason", "more rows"]);
    assert_eq!(code, 0, "{stderr}");
    let accepted = log(p).pop().unwrap();
    assert_eq!(accepted["direction"], "accept");
    assert_eq!(
        accepted["details"]["statements"].as_array().map(Vec::len),
        Some(3)
    );
    rewrite_b(
        p,
        &[
            "CREATE TABLE t_b (id INTEGER PRIMARY KEY);",
            "INSERT INTO t_b (id) VALUES (3);",
        ],
    );
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("    statement 2 (was line 6) was removed"),
        "{stderr}"
    );

    // A row written before statement checksums: only the whole-file checksum differs.
    let mut conn = server::connect(url);
    conn.execute("UPDATE retort_version_log SET details = NULL WHERE revision = 'aaaa0001'")
        .expect("clear the details");
    drop(conn);
    let a = p.path().join("migrations/versions/aaaa0001_rev.sql");
    let text = std::fs::read_to_string(&a).unwrap();
    std::fs::write(
        &a,
        text.replace("PRIMARY KEY);", "PRIMARY KEY, note TEXT);"),
    )
    .unwrap();
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "revision `aaaa0001` ([TMP]/migrations/versions/aaaa0001_rev.sql) changed since it \
             was applied"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "    which statements changed is not recorded (its audit row predates statement \
             checksums): only the whole-file checksum differs"
        ),
        "{stderr}"
    );
    let (_, stdout, _) = p.run(&["status", "--json"]);
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["drifted"][0]["revision"], "aaaa0001");
    assert_eq!(status["drifted"][0]["statements"], Value::Null);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_drift_names_the_changed_statements() {
    let p = project(None);
    let url = format!("sqlite:///{}", p.path().join("app.db").display());
    drift_names_statements(&p, &url);
}

#[cfg(feature = "postgres")]
#[test]
fn postgresql_drift_names_the_changed_statements() {
    if let Some(db) = TestDatabase::create(Dialect::Postgresql, "drift_statements") {
        drift_names_statements(&project(Some(&db.url)), &db.url);
    }
}

#[cfg(feature = "mysql")]
#[test]
fn mariadb_drift_names_the_changed_statements() {
    if let Some(db) = TestDatabase::create(Dialect::Mysql, "drift_statements") {
        drift_names_statements(&project(Some(&db.url)), &db.url);
    }
}
