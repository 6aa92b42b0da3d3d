//! SQLite's `PRAGMA foreign_keys` in a revision, as SQLite's table-rebuild procedure needs it
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>).
//!
//! SQLite ignores the pragma inside a transaction, so in a transactional revision a leading
//! `PRAGMA foreign_keys = OFF` would do nothing and the rebuild's `DROP TABLE` would cascade
//! into the child tables. The live sink therefore runs the revision's leading `foreign_keys`
//! pragmas before the transaction begins (in their place inside it they are SQLite's documented
//! no-op), runs `PRAGMA foreign_key_check` before the commit when enforcement was off but is to
//! be on again, and restores the connection's setting after the revision. A trailing
//! `PRAGMA foreign_keys = ON` (the procedure's last step) is what that restore does already;
//! any other placement would be silently ignored by SQLite, so it is refused before anything
//! runs, saying where to put the pragma.

use super::partial::{leading_words, strip_leading_comments};
use super::refused_statement;
use crate::db::{Connection, DbError, Value};
use crate::error::{ForeignKeyViolation, Result, ScriptProblem};
use crate::script::checksum::SqlStatement;
use crate::script::Script;

/// How many violations an error lists; the rest are counted.
const LISTED_VIOLATIONS: usize = 10;

/// `Some(enabled)` when `sql` sets `foreign_keys` (`PRAGMA foreign_keys = OFF`,
/// `PRAGMA main.foreign_keys(1)`, …); `None` for any other statement, reading it included.
fn setting(sql: &str) -> Option<bool> {
    let words = leading_words(strip_leading_comments(sql), 4);
    if words.first().map(String::as_str) != Some("PRAGMA") {
        return None;
    }
    let name = words.iter().position(|w| w == "FOREIGN_KEYS")?;
    // The pragma's name comes right after `PRAGMA` or after a schema name.
    if name > 2 {
        return None;
    }
    let value = words.get(name + 1)?;
    Some(
        matches!(value.as_str(), "ON" | "YES" | "TRUE")
            || value.parse::<i64>().is_ok_and(|n| n != 0),
    )
}

/// Whether a statement of `statements` sets `foreign_keys`.
pub(crate) fn sets_foreign_keys(statements: &[SqlStatement]) -> bool {
    statements.iter().any(|s| setting(&s.sql).is_some())
}

/// The number of `foreign_keys` settings a transactional revision starts with: the live sink
/// runs them before the transaction begins.
pub(crate) fn leading_settings(statements: &[SqlStatement]) -> usize {
    statements
        .iter()
        .take_while(|s| setting(&s.sql).is_some())
        .count()
}

/// The first `foreign_keys` setting of a transactional revision that SQLite would ignore and
/// nothing stands in for: any after the leading ones, except `ON` after the last other
/// statement (which the restore after the revision does).
fn misplaced(statements: &[SqlStatement]) -> Option<&SqlStatement> {
    let body = &statements[leading_settings(statements)..];
    let end = body
        .iter()
        .rposition(|s| setting(&s.sql).is_none())
        .map_or(0, |last| last + 1);
    let (middle, trailing) = body.split_at(end);
    middle
        .iter()
        .find(|s| setting(&s.sql).is_some())
        .or_else(|| trailing.iter().find(|s| setting(&s.sql) == Some(false)))
}

/// Refuses, before anything runs, a transactional SQLite revision whose `foreign_keys` pragma
/// SQLite would ignore.
pub(crate) fn refuse_misplaced(script: &Script, statements: &[SqlStatement]) -> Result<()> {
    match misplaced(statements) {
        Some(statement) => Err(refused_statement(
            script,
            statement,
            |statement, revision| ScriptProblem::ForeignKeysInTransaction {
                statement,
                revision,
            },
        )),
        None => Ok(()),
    }
}

/// Whether the connection enforces foreign keys (`PRAGMA foreign_keys`).
pub(crate) fn enabled(conn: &mut dyn Connection) -> Result<bool, DbError> {
    let rows = conn.query("PRAGMA foreign_keys")?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .is_some_and(Value::is_truthy))
}

/// Sets the connection's enforcement (outside a transaction, where SQLite honours it).
pub(crate) fn set(conn: &mut dyn Connection, enabled: bool) -> Result<(), DbError> {
    let value = if enabled { "ON" } else { "OFF" };
    conn.execute(&format!("PRAGMA foreign_keys = {value}"))
        .map(drop)
}

/// `PRAGMA foreign_key_check`: the rows whose parent row is missing, the first
/// [`LISTED_VIOLATIONS`] of them, and how many there are.
pub(crate) fn violations(
    conn: &mut dyn Connection,
) -> Result<(Vec<ForeignKeyViolation>, usize), DbError> {
    let rows = conn.query("PRAGMA foreign_key_check")?;
    let total = rows.len();
    let listed = rows
        .into_iter()
        .take(LISTED_VIOLATIONS)
        .map(|row| {
            let text = |i: usize| row.get(i).and_then(Value::as_text).unwrap_or_default();
            ForeignKeyViolation {
                table: text(0),
                rowid: match row.get(1) {
                    Some(Value::Int(rowid)) => Some(*rowid),
                    _ => None,
                },
                parent: text(2),
            }
        })
        .collect();
    Ok((listed, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &[&str]) -> Vec<SqlStatement> {
        sql.iter()
            .enumerate()
            .map(|(i, sql)| SqlStatement {
                sql: sql.to_string(),
                line: i + 1,
            })
            .collect()
    }

    #[test]
    fn settings_are_recognised_in_every_spelling_and_reads_are_not() {
        for (sql, expected) in [
            ("PRAGMA foreign_keys = OFF", Some(false)),
            ("pragma foreign_keys=0", Some(false)),
            ("PRAGMA main.foreign_keys = false", Some(false)),
            ("-- rebuild\nPRAGMA \"foreign_keys\"('no')", Some(false)),
            ("PRAGMA foreign_keys = ON", Some(true)),
            ("PRAGMA foreign_keys(1)", Some(true)),
            ("PRAGMA foreign_keys = yes", Some(true)),
            ("PRAGMA foreign_keys", None),
            ("PRAGMA foreign_key_check", None),
            ("PRAGMA defer_foreign_keys = ON", None),
            ("SELECT 'PRAGMA foreign_keys = OFF'", None),
        ] {
            assert_eq!(setting(sql), expected, "{sql}");
        }
    }

    #[test]
    fn leading_settings_are_hoisted_and_a_trailing_on_is_accepted() {
        let rebuild = statements(&[
            "PRAGMA foreign_keys = OFF",
            "CREATE TABLE p_new (id INTEGER PRIMARY KEY)",
            "DROP TABLE p",
            "PRAGMA foreign_keys = ON",
        ]);
        assert_eq!(leading_settings(&rebuild), 1);
        assert_eq!(misplaced(&rebuild), None);
        assert!(sets_foreign_keys(&rebuild));
        assert!(!sets_foreign_keys(&rebuild[1..3]));
        let only = statements(&["PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"]);
        assert_eq!((leading_settings(&only), misplaced(&only)), (2, None));
    }

    #[test]
    fn a_setting_sqlite_would_ignore_is_misplaced() {
        let middle = statements(&[
            "CREATE TABLE a (id INTEGER)",
            "PRAGMA foreign_keys = OFF",
            "DROP TABLE p",
        ]);
        assert_eq!(misplaced(&middle).map(|s| s.line), Some(2));
        let trailing_off = statements(&["DROP TABLE p", "PRAGMA foreign_keys = OFF"]);
        assert_eq!(misplaced(&trailing_off).map(|s| s.line), Some(2));
        let middle_on = statements(&[
            "PRAGMA foreign_keys = OFF",
            "DROP TABLE p",
            "PRAGMA foreign_keys = ON",
            "DROP TABLE q",
        ]);
        assert_eq!(misplaced(&middle_on).map(|s| s.line), Some(3));
    }

    #[test]
    fn prepare_refuses_a_misplaced_setting_only_where_sqlite_would_ignore_it() {
        use crate::config::Dialect;
        use crate::exec::prepare;
        use crate::exec::tests::{chain_plan, script};
        let sql = "DROP TABLE c;\nPRAGMA foreign_keys = OFF;\nDROP TABLE p";
        let plan = chain_plan(None, &["a"]);
        let err = prepare(
            &plan,
            &[script("a", &[], sql, None)],
            Dialect::Sqlite,
            Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("versions/a_x.sql:9: `PRAGMA foreign_keys = OFF` would have no effect"),
            "{err}"
        );
        let mut one_by_one = script("a", &[], sql, None);
        one_by_one.transactional = false;
        assert!(prepare(&plan, &[one_by_one], Dialect::Sqlite, Default::default()).is_ok());
        // Other engines have no such pragma; their server says so when it runs.
        assert!(prepare(
            &plan,
            &[script("a", &[], sql, None)],
            Dialect::Postgresql,
            Default::default()
        )
        .is_ok());
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn violations_name_table_rowid_and_parent() {
        let mut conn = crate::db::sqlite::SqliteConnection::open_path(None, true).unwrap();
        for sql in [
            "PRAGMA foreign_keys = OFF",
            "CREATE TABLE p (id INTEGER PRIMARY KEY)",
            "CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p (id))",
            "INSERT INTO c VALUES (7, 1)",
        ] {
            conn.execute(sql).unwrap();
        }
        assert!(!enabled(&mut conn).unwrap());
        let (listed, total) = violations(&mut conn).unwrap();
        assert_eq!(total, 1);
        assert_eq!(
            listed[0].to_string(),
            "`c` row 7 references a missing row of `p`"
        );
        set(&mut conn, true).unwrap();
        assert!(enabled(&mut conn).unwrap());
    }
}
