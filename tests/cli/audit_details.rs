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
