//! MariaDB/MySQL commit implicitly at DDL and many other statements: a failed revision's message
//! must say, per statement, what took effect, what was rolled back, and what retort cannot know
//! ("may have taken effect", never "rolled back"); a rerun after a killed runner must name the
//! interrupted revision instead of failing on what it left behind.

use retort::Dialect;
use retort::{Connection, Value};

use crate::support::server::{kill_upgrade_once_table_exists, TestDatabase};
use crate::support::TestProject;

/// A project migrating its own MariaDB database, which holds table `t` and the procedures
/// the revisions call.
struct Case {
    db: TestDatabase,
    project: TestProject,
}

impl Case {
    fn new(test: &str) -> Option<Case> {
        let db = TestDatabase::create(Dialect::Mysql, test)?;
        let mut conn = db.connect();
        for sql in [
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "CREATE PROCEDURE make_table() BEGIN CREATE TABLE made (id INTEGER); END",
            "CREATE PROCEDURE add_row() BEGIN INSERT INTO t VALUES (7); END",
            "CREATE PROCEDURE make_then_fail() BEGIN CREATE TABLE made (id INTEGER); \
             INSERT INTO no_such_table VALUES (1); END",
        ] {
            conn.execute(sql).unwrap();
        }
        Some(Case {
            db,
            project: TestProject::new(),
        })
    }

    /// Writes revision `id` (parent `down`) whose upgrade section is `body`.
    fn revision(&self, id: &str, down: Option<&str>, body: &str) {
        let down = down.map_or(String::new(), |d| format!("-- down_revision = \"{d}\"\n"));
        self.project.file(
            &format!("migrations/versions/{id}_step.sql"),
            &format!("-- revision = \"{id}\"\n{down}-- migrate:upgrade\n{body}\n"),
        );
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["--url", self.db.url.as_str()];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = self.project.run(&all);
        (code, stdout, stderr.replace(&self.db.url, "[URL]"))
    }

    /// Runs `upgrade heads`, which must fail; returns its stderr.
    fn upgrade_fails(&self) -> String {
        let (code, _, stderr) = self.run(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    fn conn(&self) -> Box<dyn Connection> {
        self.db.connect()
    }

    /// The ids in table `t`.
    fn rows(&self) -> Vec<i64> {
        self.conn()
            .query("SELECT id FROM t ORDER BY id")
            .unwrap()
            .into_iter()
            .filter_map(|row| match row.first() {
                Some(Value::Int(id)) => Some(*id),
                _ => None,
            })
            .collect()
    }
}

/// Runs a revision `INSERT 1; <statement>; INSERT 2; INSERT INTO no_such_table` and returns
/// the failure's hint and the rows of `t` afterwards.
fn fail_around(test: &str, statement: &str) -> Option<(String, Vec<i64>)> {
    let case = Case::new(test)?;
    case.revision(
        "bbb",
        None,
        &format!(
            "INSERT INTO t VALUES (1);\n{statement};\nINSERT INTO t VALUES (2);\n\
             INSERT INTO no_such_table VALUES (3);"
        ),
    );
    let stderr = case.upgrade_fails();
    assert!(
        stderr.contains("failed at statement 4 (line 6)"),
        "{stderr}"
    );
    Some((hint_of(&stderr), case.rows()))
}

/// The `hint:` paragraph of a message, to its end.
fn hint_of(stderr: &str) -> String {
    let start = stderr.find("hint: ").map_or(0, |i| i + "hint: ".len());
    stderr[start..].trim_end().to_string()
}

const ROLLED_BACK_WHOLE: &str = "fix the statement and run again; its changes were rolled back; \
    the database is at the last revision that succeeded";

/// The hint when statement 2 committed: 1 and 2 stay, 3 was rolled back.
fn committed_at(statement: &str) -> String {
    format!(
        "fix the statement and run again; MySQL/MariaDB committed the transaction implicitly \
         (at DDL or a similar statement), so these statements took effect and stay applied:\n    \
         statement 1 (line 3): INSERT INTO t VALUES (1)\n    \
         statement 2 (line 4): {statement}\n  \
         statement 3 was rolled back\n  \
         statement 4 failed; the statements after it did not run\n  \
         the version table still records the last revision that succeeded; undo the applied \
         statements by hand (or make the revision safe to re-run) before running again"
    )
}

#[test]
fn statements_that_commit_implicitly_are_reported_as_taking_effect() {
    for (test, statement) in [
        ("p_create", "CREATE TABLE made (id INTEGER)"),
        (
            "p_exec_comment",
            "/*!50000 CREATE TABLE made (id INTEGER) */",
        ),
        ("p_check", "CHECK TABLE t"),
        ("p_analyze", "ANALYZE TABLE t"),
        ("p_optimize", "OPTIMIZE TABLE t"),
        ("p_repair", "REPAIR TABLE t"),
        ("p_lock", "LOCK TABLES t WRITE"),
        // The procedure runs DDL: the server says the transaction ended.
        ("p_call_ddl", "CALL make_table()"),
    ] {
        let Some((hint, rows)) = fail_around(test, statement) else {
            return;
        };
        assert_eq!(hint, committed_at(statement), "{statement}");
        assert_eq!(rows, [1], "{statement}: row 1 persisted, row 2 did not");
    }
}

#[test]
fn account_statements_commit_implicitly() {
    let user = format!("'retort_u{}'@'localhost'", std::process::id());
    let statements = [
        format!("CREATE USER {user}"),
        format!("GRANT SELECT ON t TO {user}"),
        format!("ALTER USER {user} ACCOUNT LOCK"),
        format!("DROP USER {user}"),
    ];
    for (index, statement) in statements.iter().enumerate() {
        let Some((hint, rows)) = fail_around(&format!("p_user_{index}"), statement) else {
            return;
        };
        assert_eq!(hint, committed_at(statement), "{statement}");
        assert_eq!(rows, [1], "{statement}");
    }
}

#[test]
fn statements_the_server_shows_did_not_commit_are_rolled_back() {
    let data = std::env::temp_dir().join(format!("retort_load_{}.csv", std::process::id()));
    std::fs::write(&data, "5\n6\n").unwrap();
    let load = format!("LOAD DATA INFILE '{}' INTO TABLE t", data.display());
    for (test, statement) in [
        // Commits only when autocommit was off; inside retort's transaction it does not.
        ("p_autocommit", "SET autocommit = 1"),
        // Commits only into NDB tables.
        ("p_load", load.as_str()),
        ("p_exec_set", "/*!50000 SET @a = 1 */"),
        ("p_unlock", "UNLOCK TABLES"),
    ] {
        let Some((hint, rows)) = fail_around(test, statement) else {
            break;
        };
        assert_eq!(hint, ROLLED_BACK_WHOLE, "{statement}");
        assert!(rows.is_empty(), "{statement}: {rows:?}");
    }
    let _ = std::fs::remove_file(&data);
}

#[test]
fn a_procedure_call_the_server_cannot_vouch_for_may_have_taken_effect() {
    // The transaction is still open after the call, but the procedure could have committed
    // and begun again: retort cannot know, so nothing after the last known commit is
    // called rolled back.
    let Some((hint, rows)) = fail_around("p_call_dml", "CALL add_row()") else {
        return;
    };
    assert_eq!(
        hint,
        "fix the statement and run again; retort cannot tell whether the server committed these \
         statements, so they may have taken effect:\n    \
         statement 1 (line 3): INSERT INTO t VALUES (1)\n    \
         statement 2 (line 4): CALL add_row()\n    \
         statement 3 (line 5): INSERT INTO t VALUES (2)\n  \
         statement 4 failed; the statements after it did not run\n  \
         the version table still records the last revision that succeeded; inspect the database \
         for the statements that may have taken effect, undo those that did by hand (or make the \
         revision safe to re-run) before running again"
    );
    assert!(rows.is_empty(), "in fact nothing committed: {rows:?}");
}

#[test]
fn a_failing_procedure_call_may_have_taken_effect_in_part() {
    let Some(case) = Case::new("p_call_fails") else {
        return;
    };
    case.revision(
        "bbb",
        None,
        "INSERT INTO t VALUES (1);\nCREATE TABLE u (id INTEGER);\nINSERT INTO t VALUES (2);\n\
         CALL make_then_fail();",
    );
    let hint = hint_of(&case.upgrade_fails());
    assert_eq!(
        hint,
        "fix the statement and run again; MySQL/MariaDB committed the transaction implicitly (at \
         DDL or a similar statement), so these statements took effect and stay applied:\n    \
         statement 1 (line 3): INSERT INTO t VALUES (1)\n    \
         statement 2 (line 4): CREATE TABLE u (id INTEGER)\n  \
         retort cannot tell whether the server committed these statements, so they may have \
         taken effect:\n    \
         statement 3 (line 5): INSERT INTO t VALUES (2)\n  \
         statement 4 failed and may have taken effect in part; the statements after it did not \
         run\n  \
         the version table still records the last revision that succeeded; inspect the database \
         for the statements that may have taken effect, undo those that did by hand (or make the \
         revision safe to re-run) before running again"
    );
    // The procedure's CREATE TABLE committed everything before it.
    assert_eq!(case.rows(), [1, 2]);
}

/// A runner killed in the middle of a revision leaves a `started` audit row; the next run
/// names the revision and what may have taken effect, and refuses until a stamp records the
/// state the user found.
#[test]
fn a_rerun_after_a_killed_runner_names_the_interrupted_revision() {
    let Some(case) = Case::new("p_killed") else {
        return;
    };
    case.revision(
        "aaa",
        None,
        "INSERT INTO t VALUES (1);\n-- migrate:downgrade\nDELETE FROM t;",
    );
    case.revision(
        "bbb",
        Some("aaa"),
        "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY);\nSELECT SLEEP(5);\n\
         INSERT INTO t_bbb VALUES (1);",
    );
    // Killed once bbb's CREATE TABLE committed.
    let mut conn = case.conn();
    kill_upgrade_once_table_exists(&case.project, &case.db.url, conn.as_mut(), "t_bbb");

    let stderr = case.upgrade_fails();
    assert!(!stderr.contains("already exists"), "{stderr}");
    let started_at = conn
        .query("SELECT started_at FROM retort_version_log WHERE outcome = 'started'")
        .unwrap()[0][0]
        .as_text()
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "revision `bbb` was interrupted: an upgrade started at {started_at} and never \
             recorded an outcome (its row in `retort_version_log` is still `started`), so the \
             version table does not record it; nothing was changed now; these statements may \
             have taken effect:\n    \
             statement 1 (line 4): CREATE TABLE t_bbb (id INTEGER PRIMARY KEY)\n  \
             statements 2 to 3 cannot have taken effect (they were rolled back with the session)"
        )),
        "{stderr}"
    );
    assert_eq!(
        hint_of(&stderr),
        "inspect the database: if every change of the interrupted step is in place, record it \
         with `retort stamp bbb`; otherwise undo what took effect, record the state before it \
         with `retort stamp aaa` and run again (a stamp closes the interrupted run in the audit \
         trail)"
    );
    // Downgrades are refused too: the database is in a state nobody recorded.
    let (code, _, stderr) = case.run(&["downgrade", "base", "--no-backup"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("revision `bbb` was interrupted"),
        "{stderr}"
    );

    // The DBA undoes the half-applied revision and records where the database is.
    conn.execute("DROP TABLE t_bbb").unwrap();
    let (code, _, stderr) = case.run(&["stamp", "aaa", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "closed the interrupted upgrade of `bbb` (started at {started_at}) in the audit trail"
        )),
        "{stderr}"
    );
    let closed = conn
        .query("SELECT outcome, error FROM retort_version_log WHERE revision = 'bbb'")
        .unwrap();
    assert_eq!(closed[0][0].as_text().as_deref(), Some("failed"));
    let error = closed[0][1].as_text().unwrap();
    assert!(
        error.starts_with(
            "interrupted: the run died before recording an outcome; closed by a stamp at "
        ),
        "{error}"
    );
    let (code, _, stderr) = case.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = conn.query("SELECT COUNT(*) FROM t_bbb").unwrap();
    assert_eq!(rows, vec![vec![Value::Int(1)]]);
}
