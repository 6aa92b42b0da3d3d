//! The live sink: runs a plan's calls on a database connection.
//!
//! Each step runs in its own transaction with its version-table change and audit row (unless
//! the revision says `transactional = false`). The version rows are read again inside every
//! step's transaction: on SQLite that transaction holds the write lock (`BEGIN IMMEDIATE`), so
//! a runner that sees rows it did not expect knows another runner got there first and plans
//! again. A rehearsal runs every step inside one transaction and rolls it back at the end.
//!
//! A `transactional = false` step cannot hold SQLite's write lock while it runs (that is its
//! point), so two SQLite runners reaching the same such step at the same moment could both run
//! it; on PostgreSQL and MySQL the session lock taken by `lock()` covers it.

use std::time::Duration;

use super::partial::commits_implicitly;
use super::{run, BeforeChange, PreparedStep, Progress, Replanner, RunInput, RunReport, Sink};
use crate::db::version_table::{read_existing_heads, read_heads, AuditEntry, VersionTable};
use crate::db::{Connection, DbError};
use crate::error::{Error, Result};
use crate::graph::{Plan, VersionOp};
use crate::script::Script;

/// How a live run behaves.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub table: VersionTable,
    /// How long to wait for another runner's lock before failing.
    pub lock_timeout: Duration,
    /// Run everything in one transaction and roll it back at the end.
    pub rehearse: bool,
    /// The operating system's user, recorded when the database has no notion of its own.
    pub os_user: Option<String>,
}

/// Executes the calls of a run on a connection.
pub struct LiveSink<'c> {
    conn: &'c mut dyn Connection,
    table: VersionTable,
    audit: VersionTable,
    /// Both tables are known to exist in the current transaction's view.
    tables_ready: bool,
    in_transaction: bool,
    rehearse: bool,
    /// A `started` audit row of the current step exists and must be completed, not added.
    started_row: bool,
}

fn database_error(context: impl Into<String>) -> impl FnOnce(DbError) -> Error {
    let context = context.into();
    move |e| Error::Database {
        context,
        message: e.message,
    }
}

impl<'c> LiveSink<'c> {
    pub fn new(conn: &'c mut dyn Connection, table: VersionTable, rehearse: bool) -> Self {
        LiveSink {
            conn,
            audit: table.audit(),
            table,
            tables_ready: false,
            in_transaction: false,
            rehearse,
            started_row: false,
        }
    }

    fn begin(&mut self) -> Result<()> {
        self.conn.begin().map_err(|e| {
            let context = if e.is_lock_timeout {
                "timed out waiting for the database lock held by another process"
            } else {
                "cannot start a transaction"
            };
            database_error(context)(e)
        })?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.in_transaction = false;
        self.conn
            .commit()
            .map_err(database_error("cannot commit the transaction"))
    }

    fn rollback(&mut self) -> Result<()> {
        // Whatever the transaction created is gone with it.
        self.tables_ready = false;
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        self.conn
            .rollback()
            .map_err(database_error("cannot roll back the transaction"))
    }

    /// Creates the version table and the audit table if they are missing (Alembic creates the
    /// version table before the first step; `checkfirst`).
    fn ensure_tables(&mut self) -> Result<()> {
        if self.tables_ready {
            return Ok(());
        }
        for (table, ddl) in [
            (self.table.clone(), self.table.create_sql()),
            (self.audit.clone(), self.audit.create_audit_sql()),
        ] {
            let context = || format!("cannot create table `{}`", table.display_name());
            let exists = self
                .conn
                .table_exists(table.schema.as_deref(), &table.name)
                .map_err(|e| database_error(context())(e))?;
            if !exists {
                self.conn
                    .execute(&ddl)
                    .map_err(|e| database_error(context())(e))?;
                self.after_statement(&ddl)
                    .map_err(|e| database_error(context())(e))?;
            }
        }
        self.tables_ready = true;
        Ok(())
    }

    /// MySQL ends the open transaction at DDL (an implicit commit) and then autocommits every
    /// statement; start a new transaction, so what follows in the step (data changes, the
    /// version row, the audit row) still commits or rolls back as one.
    fn after_statement(&mut self, sql: &str) -> Result<(), DbError> {
        if self.in_transaction && commits_implicitly(self.conn.dialect(), sql) {
            self.conn.begin()?;
        }
        Ok(())
    }

    /// Records the step's outcome: completes its `started` row if one was written (and
    /// survived), else adds the row.
    fn write_audit(&mut self, entry: &AuditEntry) -> Result<()> {
        let context = || {
            format!(
                "cannot record the audit row in `{}`",
                self.audit.display_name()
            )
        };
        if std::mem::take(&mut self.started_row) {
            let updated = self
                .conn
                .execute(&self.audit.finish_audit_sql(entry))
                .map_err(|e| database_error(context())(e))?;
            if updated > 0 {
                return Ok(());
            }
        }
        self.conn
            .execute(&self.audit.insert_audit_sql(entry))
            .map(|_| ())
            .map_err(|e| database_error(context())(e))
    }

    /// Reads the version rows, plans from them with `plan_from` and, when the plan changes the
    /// database, calls `before_change` with those rows before anything changes. The migration
    /// lock is held. On SQLite the lock is a step's write transaction, so it is begun here and
    /// kept for the first step: no other runner can move the rows between the hook (a backup)
    /// and that step. A backup reads the file through its own connection, which SQLite allows
    /// while this one holds the write lock but has written nothing yet.
    fn plan_before_change(
        &mut self,
        plan_from: &Replanner<'_>,
        before_change: &mut BeforeChange<'_>,
    ) -> Result<Plan> {
        if self.conn.dialect() == crate::config::Dialect::Sqlite {
            self.begin()?;
        }
        let result = read_heads(&mut *self.conn, &self.table).and_then(|rows| {
            let plan = plan_from(&rows)?;
            if plan.changes_database() {
                before_change(&mut *self.conn, &rows)?;
            }
            Ok(plan)
        });
        match result {
            Ok(plan) if plan.changes_database() => Ok(plan),
            Ok(plan) => self.rollback().map(|()| plan),
            Err(error) => {
                // The error that stopped the run matters more than one ending its transaction.
                let _ = self.rollback();
                Err(error)
            }
        }
    }

    /// Ends a rehearsal: everything it did is rolled back.
    pub fn finish_rehearsal(&mut self) -> Result<()> {
        self.rollback()
    }
}

impl Sink for LiveSink<'_> {
    fn purge(&mut self) -> Result<()> {
        if !self.in_transaction {
            self.begin()?;
        }
        self.ensure_tables()?;
        self.conn
            .execute(&self.table.delete_all_sql())
            .map_err(database_error(format!(
                "cannot purge version table `{}`",
                self.table.display_name()
            )))?;
        if !self.rehearse {
            self.commit()?;
        }
        Ok(())
    }

    fn begin_step(&mut self, step: &PreparedStep) -> Result<Option<Vec<String>>> {
        if self.in_transaction && !step.transactional && !self.rehearse {
            // The transaction the plan was made under (SQLite's lock); this step runs outside any.
            self.commit()?;
        }
        if !self.in_transaction && (step.transactional || self.rehearse) {
            self.begin()?;
        }
        self.ensure_tables()?;
        read_existing_heads(&mut *self.conn, &self.table).map(Some)
    }

    fn record_start(&mut self, step: &PreparedStep, entry: &AuditEntry) -> Result<()> {
        let recoverable = step.transactional && self.conn.dialect().transactional_ddl();
        if recoverable || self.rehearse {
            return Ok(());
        }
        self.write_audit(entry)?;
        self.started_row = true;
        Ok(())
    }

    fn abandon_step(&mut self) -> Result<()> {
        self.rollback()
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute(sql)?;
        self.after_statement(sql)
    }

    fn verify(&mut self, sql: &str) -> Result<bool, DbError> {
        let rows = self.conn.query(sql)?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .map_or(true, |value| value.is_truthy()))
    }

    fn version_op(&mut self, op: &VersionOp) -> Result<()> {
        let table = self.table.display_name();
        let (sql, what) = match op {
            VersionOp::Insert { revision } => (self.table.insert_sql(revision), None),
            VersionOp::Update { from, to } => (
                self.table.update_sql(from, to),
                Some(format!("updating '{from}' to '{to}'")),
            ),
            VersionOp::Delete { revision } => (
                self.table.delete_sql(revision),
                Some(format!("deleting '{revision}'")),
            ),
        };
        let affected = self.conn.execute(&sql).map_err(database_error(format!(
            "cannot change version table `{table}`"
        )))?;
        match what {
            // Alembic's row-count safety (docs/alembic-compatibility.md#row-count-safety).
            Some(what) if affected != 1 => Err(Error::Database {
                context: format!("version table `{table}` does not hold the expected rows"),
                message: format!(
                    "Online migration expected to match one row when {what} in '{table}'; {affected} found"
                ),
            }),
            _ => Ok(()),
        }
    }

    fn finish_step(&mut self, _step: &PreparedStep, entry: &AuditEntry) -> Result<()> {
        self.write_audit(entry)?;
        if self.in_transaction && !self.rehearse {
            self.commit()?;
        }
        Ok(())
    }

    fn fail_step(&mut self, _step: &PreparedStep, entry: &AuditEntry) -> Result<()> {
        self.rollback()?;
        if self.rehearse {
            return Ok(());
        }
        self.begin()?;
        self.ensure_tables()?;
        self.write_audit(entry)?;
        self.commit()
    }
}

/// A live run from start to end: take the migration lock (announcing a wait to `progress`),
/// read the version rows inside it, plan with `plan_from`, run, release the lock.
/// `plan_from` is also used to plan again when another runner moved the rows meanwhile.
/// `before_change` runs once, under the lock, when the first plan changes the database (see
/// [`BeforeChange`]); its error ends the run before anything changed.
pub fn run_live(
    conn: &mut dyn Connection,
    options: &LiveOptions,
    scripts: &[Script],
    plan_from: &Replanner<'_>,
    before_change: Option<&mut BeforeChange<'_>>,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    let key = format!("retort:{}", options.table.display_name());
    let lock_error = |cause: DbError| {
        if cause.is_lock_timeout {
            Error::LockTimeout {
                waited: options.lock_timeout,
                cause,
            }
        } else {
            Error::LockFailed { cause }
        }
    };
    if !conn
        .try_lock(&key, options.lock_timeout)
        .map_err(lock_error)?
    {
        progress.waiting_for_lock();
        conn.lock(&key, options.lock_timeout).map_err(lock_error)?;
    }
    let result = run_locked(conn, options, scripts, plan_from, before_change, progress);
    // Releasing is best effort: the session ends right after, which releases it too.
    let _ = conn.unlock(&key);
    result
}

fn run_locked(
    conn: &mut dyn Connection,
    options: &LiveOptions,
    scripts: &[Script],
    plan_from: &Replanner<'_>,
    before_change: Option<&mut BeforeChange<'_>>,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    // The user recorded in the audit trail: the database's notion, else the operating system's.
    let applied_by = conn.current_user().or_else(|| options.os_user.clone());
    let dialect = conn.dialect();
    let mut sink = LiveSink::new(conn, options.table.clone(), options.rehearse);
    let plan = match before_change {
        Some(hook) => sink.plan_before_change(plan_from, hook)?,
        None => plan_from(&read_heads(&mut *sink.conn, &options.table)?)?,
    };
    let input = RunInput {
        plan,
        scripts,
        dialect,
        replan: Some(plan_from),
        applied_by,
    };
    let report = run(input, &mut sink, progress);
    if options.rehearse {
        sink.finish_rehearsal()?;
    }
    Ok(report)
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::super::tests::{chain_plan, down_plan, script};
    use super::super::{BeforeChange, Silent};
    use super::*;
    use crate::config::Dialect;
    use crate::db::sqlite::SqliteConnection;
    use crate::db::version_table::read_audit;
    use crate::graph::Plan;

    fn table() -> VersionTable {
        VersionTable::new(Dialect::Sqlite, None, "retort_version")
    }

    fn options(rehearse: bool) -> LiveOptions {
        LiveOptions {
            table: table(),
            lock_timeout: Duration::from_secs(1),
            rehearse,
            os_user: None,
        }
    }

    /// Runs `plan` (re-planned as the fixed plan) and returns the report.
    fn go(
        conn: &mut SqliteConnection,
        scripts: &[Script],
        plan: Plan,
        rehearse: bool,
    ) -> RunReport {
        let plan_from = move |_rows: &[String]| Ok(plan.clone());
        run_live(
            conn,
            &options(rehearse),
            scripts,
            &plan_from,
            None,
            &mut Silent,
        )
        .unwrap()
    }

    fn tables(conn: &mut SqliteConnection) -> Vec<String> {
        conn.query("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .into_iter()
            .filter_map(|r| r[0].as_text())
            .collect()
    }

    #[test]
    fn upgrade_then_downgrade_keeps_version_rows_and_audit_trail() {
        let scripts = [
            script(
                "a",
                &[],
                "CREATE TABLE t1 (x INTEGER)",
                Some("DROP TABLE t1"),
            ),
            script(
                "b",
                &["a"],
                "CREATE TABLE t2 (x INTEGER)",
                Some("DROP TABLE t2"),
            ),
        ];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let report = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        assert!(report.failure.is_none(), "{:?}", report.failure);
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["b"]);
        assert_eq!(
            tables(&mut conn),
            ["retort_version", "retort_version_log", "t1", "t2"]
        );
        let report = go(
            &mut conn,
            &scripts,
            down_plan(&[("b", Some("a")), ("a", None)]),
            false,
        );
        assert!(report.failure.is_none(), "{:?}", report.failure);
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        let audit = read_audit(&mut conn, &table().audit()).unwrap();
        let summary: Vec<_> = audit
            .iter()
            .map(|e| (e.revision.as_str(), e.direction.name(), e.outcome.name()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", "upgrade", "success"),
                ("b", "upgrade", "success"),
                ("b", "downgrade", "success"),
                ("a", "downgrade", "success")
            ]
        );
        assert_eq!(audit[1].heads_before, ["a"]);
        assert_eq!(audit[1].heads_after, ["b"]);
        assert!(audit[0].checksum.as_deref().unwrap().starts_with("sha256:"));
    }

    #[test]
    fn before_change_runs_once_under_the_lock_with_the_rows_and_its_error_changes_nothing() {
        let scripts = [
            script("a", &[], "CREATE TABLE t1 (x INTEGER)", None),
            script("b", &["a"], "CREATE TABLE t2 (x INTEGER)", None),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut conn = SqliteConnection::open_path(Some(&path), true).unwrap();
        go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        let run = |conn: &mut SqliteConnection, hook: &mut BeforeChange<'_>| {
            let plan_from = |rows: &[String]| match rows {
                [] => Ok(chain_plan(None, &["a", "b"])),
                [a] if a == "a" => Ok(chain_plan(Some("a"), &["b"])),
                _ => Ok(chain_plan(Some("b"), &[])),
            };
            run_live(
                conn,
                &options(false),
                &scripts,
                &plan_from,
                Some(hook),
                &mut Silent,
            )
        };
        // The hook holds SQLite's write lock: another writer cannot begin.
        let mut seen = Vec::new();
        let mut record = |_: &mut dyn Connection, rows: &[String]| {
            let mut other = SqliteConnection::open_path(Some(&path), true).unwrap();
            other
                .try_lock("k", Duration::from_millis(10))
                .map(|free| {
                    seen.push((rows.to_vec(), free));
                })
                .map_err(|e| Error::LockFailed { cause: e })
        };
        let refuse = |_: &mut dyn Connection, _: &[String]| Err(Error::AcceptReasonEmpty);
        let err = run(&mut conn, &mut { refuse }).unwrap_err();
        assert!(matches!(err, Error::AcceptReasonEmpty), "{err}");
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["a"]);
        run(&mut conn, &mut record).unwrap().into_result().unwrap();
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["b"]);
        // Nothing left to do: no call.
        run(&mut conn, &mut record).unwrap().into_result().unwrap();
        assert_eq!(seen, [(vec!["a".to_string()], false)]);
    }

    #[test]
    fn failing_statement_rolls_back_its_revision_only_and_is_recorded() {
        let scripts = [
            script("a", &[], "CREATE TABLE t1 (x INTEGER)", None),
            script(
                "b",
                &["a"],
                "CREATE TABLE t2 (x INTEGER);\nINSERT INTO nope VALUES (1)",
                None,
            ),
        ];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let report = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        let err = report.failure.unwrap();
        match &err {
            Error::Migration {
                revision,
                statement_index,
                line,
                message,
                ..
            } => {
                assert_eq!(revision, "b");
                assert_eq!(*statement_index, 2);
                assert_eq!(
                    *line, 9,
                    "section starts on line 8, statement on its line 2"
                );
                assert!(message.contains("no such table: nope"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["a"]);
        assert!(!tables(&mut conn).contains(&"t2".to_string()));
        let audit = read_audit(&mut conn, &table().audit()).unwrap();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[1].outcome, "failed");
        assert!(audit[1].error.as_deref().unwrap().contains("nope"));
    }

    #[test]
    fn failing_first_revision_still_records_the_failure() {
        let scripts = [script(
            "a",
            &[],
            "CREATE TABLE t1 (x INTEGER); SELEC 1",
            None,
        )];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let report = go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        assert!(report.failure.is_some());
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        let audit = read_audit(&mut conn, &table().audit()).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].outcome, "failed");
        assert!(!tables(&mut conn).contains(&"t1".to_string()));
    }

    #[test]
    fn false_verify_fails_the_revision() {
        let mut s = script("a", &[], "CREATE TABLE t1 (x INTEGER)", None);
        s.sections.verify = Some(crate::script::Section {
            sql: "SELECT 1;\nSELECT count(*) FROM t1".into(),
            first_line: 20,
        });
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let report = go(&mut conn, &[s], chain_plan(None, &["a"]), false);
        match report.failure {
            Some(Error::Migration { line, message, .. }) => {
                assert_eq!(line, 21);
                assert!(message.contains("verify"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
    }

    #[test]
    fn rehearsal_changes_nothing() {
        let scripts = [
            script(
                "a",
                &[],
                "CREATE TABLE t1 (x INTEGER); INSERT INTO t1 VALUES (1)",
                None,
            ),
            script("b", &["a"], "CREATE TABLE t2 (x INTEGER)", None),
        ];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let report = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), true);
        assert!(report.failure.is_none(), "{:?}", report.failure);
        assert_eq!(report.steps.len(), 2);
        assert!(tables(&mut conn).is_empty(), "{:?}", tables(&mut conn));
    }

    #[test]
    fn version_update_must_match_one_row() {
        let scripts = [script("b", &["a"], "SELECT 1", None)];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        // The plan believes the database is at `a`; it is empty.
        let plan = chain_plan(Some("a"), &["b"]);
        let plan_from = move |_rows: &[String]| Ok(plan.clone());
        let report = run_live(
            &mut conn,
            &options(false),
            &scripts,
            &plan_from,
            None,
            &mut Silent,
        )
        .unwrap();
        // The rows read inside the step differ from the plan's, so it plans again (the same
        // plan here); the second attempt runs and fails Alembic's row-count check.
        let err = report.failure.unwrap().to_string();
        assert!(
            err.contains(
                "expected to match one row when updating 'a' to 'b' in 'retort_version'; 0 found"
            ),
            "{err}"
        );
    }

    #[test]
    fn non_transactional_revision_runs_outside_a_transaction_and_leaves_one_audit_row() {
        let mut vacuum = script("a", &[], "CREATE TABLE t1 (x INTEGER);\nVACUUM", None);
        vacuum.transactional = false;
        let mut broken = script("b", &["a"], "CREATE TABLE t2 (x INTEGER);\nSELEC 1", None);
        broken.transactional = false;
        let scripts = [vacuum, broken];
        let dir = tempfile::tempdir().unwrap();
        let mut conn = SqliteConnection::open_path(Some(&dir.path().join("n.db")), true).unwrap();
        // VACUUM fails inside a transaction, so this passing shows none was open.
        let report = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        let err = report.failure.unwrap();
        assert!(err.to_string().contains("`b`"), "{err}");
        assert!(err.hint().unwrap_or_default().contains("not transactional"));
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["a"]);
        // Without a transaction, what ran before the failing statement stays.
        assert!(tables(&mut conn).contains(&"t2".to_string()));
        let audit = read_audit(&mut conn, &table().audit()).unwrap();
        let outcomes: Vec<_> = audit
            .iter()
            .map(|e| (e.revision.as_str(), e.outcome.name()))
            .collect();
        assert_eq!(outcomes, [("a", "success"), ("b", "failed")]);
    }
}
