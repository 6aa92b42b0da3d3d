//! The live sink: runs a plan's calls on a database connection.
//!
//! Each step runs in its own transaction with its version-table change and audit row (unless
//! the revision says `transactional = false`). The version rows are read again inside every
//! step's transaction: on SQLite that transaction holds the write lock (`BEGIN IMMEDIATE`), so
//! a runner that sees rows it did not expect knows another runner got there first and plans
//! again. A rehearsal runs every step inside one transaction and rolls it back at the end.
//!
//! On SQLite a revision's leading `PRAGMA foreign_keys` settings run before its transaction
//! begins, where SQLite honours them, and the connection's setting is restored before anything
//! else runs (see [`super::foreign_keys`]).
//!
//! A `transactional = false` step cannot hold SQLite's write lock while it runs (that is its
//! point), so two SQLite runners reaching the same such step at the same moment could both run
//! it; on PostgreSQL and MySQL the lock taken by `lock()` covers it (a session lock, or
//! PostgreSQL's lease, checked before each such statement).

use std::time::Duration;

use super::foreign_keys;
use super::partial::{self, TxEffect};
use super::{run, BeforeChange, PreparedStep, Progress, Replanner, RunInput, RunReport, Sink};
use crate::config::Dialect;
use crate::db::version_table::{
    ensure_audit_details, read_existing_heads, read_heads, read_heads_if_table, read_started_audit,
    AuditEntry, Direction, VersionTable,
};
use crate::db::{Connection, DbError};
use crate::error::{Bookkeeping, Error, Result, StatementRef};
use crate::graph::{Plan, VersionOp};
use crate::report::{Outcome, RowCounts, StepKind};
use crate::schema::row_counts::count_rows;
use crate::schema::Filter;
use crate::script::checksum::section_statements;
use crate::script::{Script, SectionKind};

/// How a live run behaves.
#[derive(Debug, Clone)]
pub(crate) struct LiveOptions {
    pub table: VersionTable,
    /// How long to wait for another runner's migration lock before failing.
    pub migration_lock_wait: Duration,
    /// The project's table-lock and statement timeouts and retries.
    pub timeouts: crate::config::Timeouts,
    /// Run everything in one transaction and roll it back at the end.
    pub rehearse: bool,
    /// The operating system's user, recorded when the database has no notion of its own.
    pub os_user: Option<String>,
    /// The run is a stamp: it records the state the user asserts, so it closes the audit rows
    /// of interrupted runs instead of refusing to run (see [`Error::InterruptedRun`]).
    pub close_interrupted: bool,
    /// Count each table's rows (those this filter keeps) before the first step and after the
    /// last, into the run's report (`--report`, `--rehearse`).
    pub count_rows: Option<Filter>,
}

/// Executes the calls of a run on a connection.
pub(crate) struct LiveSink<'c> {
    conn: &'c mut dyn Connection,
    table: VersionTable,
    /// `None` when the audit trail is off (`audit_table = false`).
    audit: Option<VersionTable>,
    /// Both tables are known to exist in the current transaction's view.
    tables_ready: bool,
    /// The version table was there when the rows were read before planning: committed, it
    /// outlives any rollback, and the first step need not look for it again.
    version_table_found: bool,
    in_transaction: bool,
    rehearse: bool,
    /// The migration-lock wait (`--migration-lock-wait`), which SQLite's `BEGIN IMMEDIATE` honours.
    lock_wait: Duration,
    /// A `started` audit row of the current step exists and must be completed, not added.
    started_row: bool,
    /// SQLite's `foreign_keys` setting before a step that changed it, until it is restored.
    foreign_keys_before: Option<bool>,
    /// The step turned SQLite's foreign keys off that are on again after it: check them
    /// before the commit (step 10 of SQLite's table-rebuild procedure).
    check_foreign_keys: bool,
    /// The step's timeouts are set on the session and must be reset when it ends.
    timeouts_set: bool,
    /// The step under way, for the error of a migration lock found lost at `BEGIN`.
    step: Option<String>,
    /// Statements of the step ran outside a transaction (they took effect).
    ran_outside: bool,
}

fn bookkeeping(task: Bookkeeping) -> impl FnOnce(DbError) -> Error {
    move |cause| Error::BookkeepingFailed { task, cause }
}

impl<'c> LiveSink<'c> {
    pub(crate) fn new(conn: &'c mut dyn Connection, options: &LiveOptions) -> Self {
        let table = options.table.clone();
        LiveSink {
            conn,
            audit: table.audit(),
            table,
            tables_ready: false,
            version_table_found: false,
            in_transaction: false,
            rehearse: options.rehearse,
            lock_wait: options.migration_lock_wait,
            started_row: false,
            foreign_keys_before: None,
            check_foreign_keys: false,
            timeouts_set: false,
            step: None,
            ran_outside: false,
        }
    }

    /// Puts the session's timeouts back once a step ended (committed, rolled back or given
    /// up), before anything else runs: the bookkeeping after a step is not the step's.
    fn reset_timeouts(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.timeouts_set) {
            return Ok(());
        }
        self.conn
            .reset_timeouts()
            .map_err(bookkeeping(Bookkeeping::ResetTimeouts))
    }

    fn begin(&mut self) -> Result<()> {
        let waited = self.lock_wait;
        self.conn.begin().map_err(|cause| {
            if cause.lock_lost {
                let outcome = if self.ran_outside {
                    "its statements ran outside a transaction, but its version row was not \
                     written: check them, then `stamp` the revision or make it safe to re-run"
                } else {
                    "nothing of it was committed"
                };
                Error::LockLost {
                    revision: self.step.clone().unwrap_or_default(),
                    cause,
                    outcome: outcome.to_string(),
                }
            } else if cause.is_lock_timeout {
                Error::LockTimeout { waited, cause }
            } else {
                bookkeeping(Bookkeeping::Begin)(cause)
            }
        })?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.commit_as(Bookkeeping::Commit)
    }

    /// Commits; a failure (a full disk) is reported as `task`.
    fn commit_as(&mut self, task: Bookkeeping) -> Result<()> {
        self.in_transaction = false;
        self.conn.commit().map_err(bookkeeping(task))
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
            .map_err(bookkeeping(Bookkeeping::Rollback))
    }

    /// Creates the version table and the audit table if they are missing (Alembic creates the
    /// version table before the first step; `checkfirst`), and gives an audit table of before
    /// the `details` column that column.
    fn ensure_tables(&mut self) -> Result<()> {
        if self.tables_ready {
            return Ok(());
        }
        if !self.version_table_found {
            let version = self.table.clone();
            self.ensure_table(&version, version.create_sql(), false)?;
        }
        if let Some(audit) = self.audit.clone() {
            self.ensure_table(&audit, audit.create_audit_sql(), true)?;
        }
        self.tables_ready = true;
        Ok(())
    }

    fn ensure_table(&mut self, table: &VersionTable, ddl: String, audit: bool) -> Result<()> {
        let context = || {
            bookkeeping(Bookkeeping::CreateTable {
                table: table.display_name(),
            })
        };
        let exists = self
            .conn
            .table_exists(table.schema.as_deref(), &table.name)
            .map_err(context())?;
        let ddl = if !exists {
            self.conn.execute(&ddl).map_err(context())?;
            Some(ddl)
        } else if audit {
            ensure_audit_details(self.conn, table).map_err(context())?
        } else {
            None
        };
        if let Some(ddl) = ddl {
            self.after_statement(&ddl).map_err(context())?;
        }
        Ok(())
    }

    /// MySQL ends the open transaction at DDL (an implicit commit) and then autocommits every
    /// statement; start a new transaction, so what follows in the step (data changes, the
    /// version row, the audit row) still commits or rolls back as one.
    fn after_statement(&mut self, sql: &str) -> Result<TxEffect, DbError> {
        let effect = self.observed_effect(sql, partial::classify(self.conn.dialect(), sql));
        if self.in_transaction && effect == TxEffect::Commits {
            self.conn.begin()?;
        }
        Ok(effect)
    }

    /// What `sql` did to the open transaction: the server says whether a transaction is still
    /// open (`@@in_transaction`, MySQL 5.7+ and MariaDB) whenever the text is not plain data
    /// (`guess` is not `Stays`), so statements that commit only sometimes are settled.
    fn observed_effect(&mut self, sql: &str, guess: TxEffect) -> TxEffect {
        if !self.in_transaction || guess == TxEffect::Stays {
            return guess;
        }
        let open = self.transaction_open();
        settle(sql, guess, open, TxEffect::Commits)
    }

    /// Whether the session has a transaction open, when the server can say (MySQL/MariaDB).
    fn transaction_open(&mut self) -> Option<bool> {
        if self.conn.dialect() != Dialect::Mysql {
            return None;
        }
        let rows = self.conn.query("SELECT @@in_transaction").ok()?;
        let value = rows.first()?.first()?;
        Some(value.is_truthy())
    }

    /// Records the step's outcome: completes its `started` row if one was written (and
    /// survived), else adds the row.
    fn write_audit(&mut self, entry: &AuditEntry) -> Result<()> {
        let Some(audit) = &self.audit else {
            return Ok(());
        };
        let context = || {
            bookkeeping(Bookkeeping::RecordAudit {
                table: audit.display_name(),
            })
        };
        if std::mem::take(&mut self.started_row) {
            let updated = self
                .conn
                .execute(&audit.finish_audit_sql(entry))
                .map_err(context())?;
            if updated > 0 {
                return Ok(());
            }
        }
        self.conn
            .execute(&audit.insert_audit_sql(entry))
            .map(|_| ())
            .map_err(context())
    }

    /// Ends a run: what is still open is rolled back (a rehearsal, or a step that stopped
    /// before it ran anything), and SQLite's `foreign_keys` is as it was before.
    pub(crate) fn finish_run(&mut self) -> Result<()> {
        self.rollback()?;
        self.restore_foreign_keys()
    }

    /// SQLite honours `PRAGMA foreign_keys` only outside a transaction: remembers the setting
    /// to restore, and runs a transactional step's leading settings before its transaction.
    fn hoist_foreign_keys(&mut self, step: &PreparedStep) -> Result<()> {
        let failed = || {
            bookkeeping(Bookkeeping::SetForeignKeys {
                revision: step.label(),
            })
        };
        let before = foreign_keys::enabled(self.conn).map_err(failed())?;
        self.foreign_keys_before = Some(before);
        if !step.transactional {
            return Ok(());
        }
        for statement in &step.statements[..foreign_keys::leading_settings(&step.statements)] {
            self.conn.execute(&statement.sql).map_err(failed())?;
        }
        let during = foreign_keys::enabled(self.conn).map_err(failed())?;
        self.check_foreign_keys = before && !during;
        Ok(())
    }

    /// Fails the step when it leaves rows whose parent row is missing.
    fn check_foreign_keys(&mut self, step: &PreparedStep) -> Result<()> {
        let (violations, total) = foreign_keys::violations(self.conn).map_err(bookkeeping(
            Bookkeeping::CheckForeignKeys {
                revision: step.label(),
            },
        ))?;
        if total == 0 {
            return Ok(());
        }
        Err(Error::ForeignKeyViolations {
            revision: step.label(),
            path: step.path.clone().unwrap_or_default(),
            violations,
            total,
        })
    }

    /// Puts SQLite's `foreign_keys` back as it was before the last step that changed it.
    fn restore_foreign_keys(&mut self) -> Result<()> {
        self.check_foreign_keys = false;
        match self.foreign_keys_before.take() {
            Some(enabled) => foreign_keys::set(self.conn, enabled)
                .map_err(bookkeeping(Bookkeeping::RestoreForeignKeys)),
            None => Ok(()),
        }
    }

    /// The version rows the run plans from (none without a version table).
    fn read_rows(&mut self) -> Result<Vec<String>> {
        let rows = read_heads_if_table(&mut *self.conn, &self.table)?;
        self.version_table_found = rows.is_some();
        Ok(rows.unwrap_or_default())
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
        if self.conn.dialect() == Dialect::Sqlite {
            self.begin()?;
        }
        let result = self.read_rows().and_then(|rows| {
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
}

impl Sink for LiveSink<'_> {
    fn purge(&mut self) -> Result<()> {
        if !self.in_transaction {
            self.begin()?;
        }
        self.ensure_tables()?;
        self.conn
            .execute(&self.table.delete_all_sql())
            .map_err(bookkeeping(Bookkeeping::PurgeVersionTable {
                table: self.table.display_name(),
            }))?;
        if !self.rehearse {
            self.commit()?;
        }
        Ok(())
    }

    fn begin_step(&mut self, step: &PreparedStep) -> Result<Option<Vec<String>>> {
        self.step = Some(step.label());
        self.ran_outside = false;
        let sets_foreign_keys = self.conn.dialect() == Dialect::Sqlite
            && foreign_keys::sets_foreign_keys(&step.statements);
        if self.in_transaction && !self.rehearse && (!step.transactional || sets_foreign_keys) {
            // The transaction the plan was made under (SQLite's lock): this step runs outside
            // any, or must set `foreign_keys` before its own begins (SQLite ignores the pragma
            // inside a transaction). The step's own transaction re-reads the rows.
            self.commit()?;
        }
        // After the previous step's commit or rollback, before anything else.
        self.restore_foreign_keys()?;
        if sets_foreign_keys {
            if self.rehearse {
                return Err(Error::RehearseForeignKeys {
                    revision: step.label(),
                    path: step.path.clone().unwrap_or_default(),
                });
            }
            self.hoist_foreign_keys(step)?;
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
        self.rollback()?;
        self.reset_timeouts()
    }

    fn set_timeouts(&mut self, step: &PreparedStep) -> Result<()> {
        let timeouts = step.timeouts;
        self.conn
            .set_timeouts(
                timeouts.lock_timeout,
                timeouts.statement_timeout,
                self.in_transaction,
            )
            .map_err(bookkeeping(Bookkeeping::SetTimeouts {
                revision: step.label(),
            }))?;
        self.timeouts_set = true;
        Ok(())
    }

    fn can_retry(&self) -> bool {
        !self.rehearse
    }

    fn blocker(&mut self) -> Option<String> {
        self.conn.blocker()
    }

    fn execute(&mut self, sql: &str) -> Result<TxEffect, DbError> {
        self.conn.execute(sql)?;
        self.ran_outside |= !self.in_transaction;
        self.after_statement(sql)
    }

    fn failed_statement(&mut self, sql: &str) -> TxEffect {
        let guess = partial::classify(self.conn.dialect(), sql);
        if !self.in_transaction {
            return guess;
        }
        let open = self.transaction_open();
        // No transaction after a failure: the statement committed first (DDL), or the server
        // rolled the transaction back (a deadlock in plain data); the text tells which.
        settle(sql, guess, open, guess)
    }

    fn verify(&mut self, sql: &str) -> Result<bool, DbError> {
        let rows = self.conn.query(sql)?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .is_none_or(|value| value.is_truthy()))
    }

    fn version_op(&mut self, op: &VersionOp) -> Result<()> {
        if !self.in_transaction && !self.rehearse {
            // A step run outside a transaction still records its version row and completes
            // its audit row in one: a run killed between the two would otherwise leave the
            // step recorded as applied and as interrupted at once.
            self.begin()?;
        }
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
        let affected =
            self.conn
                .execute(&sql)
                .map_err(bookkeeping(Bookkeeping::ChangeVersionTable {
                    table: table.clone(),
                }))?;
        match what {
            // Alembic's row-count safety (docs/alembic-compatibility.md#row-count-safety).
            Some(change) if affected != 1 => Err(Error::VersionRowCountMismatch {
                table,
                change,
                affected,
            }),
            _ => Ok(()),
        }
    }

    fn finish_step(&mut self, step: &PreparedStep, entry: &AuditEntry) -> Result<()> {
        if self.check_foreign_keys {
            self.check_foreign_keys(step)?;
        }
        self.write_audit(entry)?;
        if self.in_transaction && !self.rehearse {
            self.commit_as(Bookkeeping::CommitRevision {
                revision: step.label(),
            })?;
        }
        self.reset_timeouts()
    }

    fn fail_step(&mut self, _step: &PreparedStep, entry: &AuditEntry) -> Result<()> {
        self.rollback()?;
        self.reset_timeouts()?;
        if self.rehearse {
            return Ok(());
        }
        self.begin()?;
        self.ensure_tables()?;
        self.write_audit(entry)?;
        self.commit()
    }
}

/// What a statement did, given whether the server still has a transaction open after it
/// (`None`: it cannot say) and what a closed one means. An open transaction after a `CALL`
/// proves nothing: the procedure may commit and begin again.
fn settle(sql: &str, guess: TxEffect, open: Option<bool>, when_closed: TxEffect) -> TxEffect {
    match open {
        Some(false) => when_closed,
        Some(true) if partial::runs_other_statements(sql) => TxEffect::Unknown,
        Some(true) => TxEffect::Stays,
        None => guess,
    }
}

/// The name of the migration lock of the project whose version table is `table`.
/// The error of taking the migration lock, whose wait was `waited` at most.
pub(crate) fn lock_error(waited: Duration) -> impl Fn(DbError) -> Error + Copy {
    move |cause: DbError| {
        if cause.lock_unsupported {
            Error::LockUnsupported { cause }
        } else if cause.is_lock_timeout {
            Error::LockTimeout { waited, cause }
        } else {
            Error::LockFailed { cause }
        }
    }
}

/// A live run from start to end: take the migration lock (announcing a wait to `progress`),
/// read the version rows inside it, plan with `plan_from`, run, release the lock.
/// `plan_from` is also used to plan again when another runner moved the rows meanwhile.
/// `before_change` runs once, under the lock, when the first plan changes the database (see
/// [`BeforeChange`]); its error ends the run before anything changed.
pub(crate) fn run_live(
    conn: &mut dyn Connection,
    options: &LiveOptions,
    scripts: &[Script],
    plan_from: &Replanner<'_>,
    before_change: Option<&mut BeforeChange<'_>>,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    let wait = options.migration_lock_wait;
    under_migration_lock(conn, &options.table, wait, progress, |conn, progress| {
        run_locked(conn, options, scripts, plan_from, before_change, progress)
    })
}

/// Runs `body` holding the migration lock of `table`, waiting up to `wait` for it.
pub(crate) fn under_migration_lock<T>(
    conn: &mut dyn Connection,
    table: &VersionTable,
    wait: Duration,
    progress: &mut dyn Progress,
    body: impl FnOnce(&mut dyn Connection, &mut dyn Progress) -> Result<T>,
) -> Result<T> {
    let key = table.lock_key();
    let lock_error = lock_error(wait);
    if !conn.try_lock(&key, wait).map_err(lock_error)? {
        progress.waiting_for_lock(conn.lock_holder(&key).as_deref());
        conn.lock(&key, wait).map_err(lock_error)?;
    }
    progress.lock_taken(&mut || conn.lock_holder(&key));
    let result = body(&mut *conn, &mut *progress);
    // The run's outcome stands either way; a lock that was not held (or not released) is said,
    // since it means another runner may have been inside too. The session's end releases a
    // lock it still has.
    if let Err(e) = conn.unlock(&key) {
        progress.lock_not_released(&e.to_string());
    }
    result
}

/// One run of the plan `plan_from` gives, the migration lock already held.
pub(crate) fn run_locked(
    conn: &mut dyn Connection,
    options: &LiveOptions,
    scripts: &[Script],
    plan_from: &Replanner<'_>,
    before_change: Option<&mut BeforeChange<'_>>,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    handle_interrupted(conn, options, scripts, progress)?;
    // The user recorded in the audit trail: the database's notion, else the operating system's.
    let applied_by = match options.table.audit() {
        Some(_) => conn.current_user().or_else(|| options.os_user.clone()),
        // Only the audit trail records it.
        None => None,
    };
    let dialect = conn.dialect();
    let mut sink = LiveSink::new(conn, options);
    let plan = match before_change {
        Some(hook) => sink.plan_before_change(plan_from, hook)?,
        None => plan_from(&sink.read_rows()?)?,
    };
    // Under the lock and, on SQLite, inside the write transaction the first step continues.
    let counting = options
        .count_rows
        .as_ref()
        .filter(|_| plan.changes_database());
    let before = match counting.map(|filter| count_rows(&mut *sink.conn, filter)) {
        Some(Err(error)) => {
            // The error that stopped the run matters more than one ending its transaction.
            let _ = sink.finish_run();
            return Err(error);
        }
        before => before.and_then(Result::ok),
    };
    let input = RunInput {
        plan,
        scripts,
        dialect,
        replan: Some(plan_from),
        applied_by,
        timeouts: options.timeouts,
    };
    let mut ran = run(input, &mut sink, progress);
    if let (Some(filter), Some(before)) = (counting, before) {
        // Before `finish_run`, which rolls a rehearsal back: "after" is what the run produced.
        let after = count_rows(&mut *sink.conn, filter);
        match (&mut ran, after) {
            (Ok(report), Ok(after)) => report.row_counts = Some(RowCounts { before, after }),
            (Err(Error::MigrationFailed { report, .. }), Ok(after)) => {
                report.row_counts = Some(RowCounts { before, after });
            }
            (Ok(_), Err(error)) => {
                let _ = sink.finish_run();
                return Err(error);
            }
            // The step's failure matters more (a failed PostgreSQL transaction refuses reads).
            (Err(_), _) => {}
        }
    }
    sink.finish_run()?;
    ran
}

/// A `started` audit row under the lock is a run that died in a step it could not roll back
/// whole. Refuses to run until a stamp records what the user found; a stamp closes the rows
/// (as failed, saying so). SQLite is left out: it has no session lock, so such a row may be
/// another runner's `transactional = false` step still running.
fn handle_interrupted(
    conn: &mut dyn Connection,
    options: &LiveOptions,
    scripts: &[Script],
    progress: &mut dyn Progress,
) -> Result<()> {
    if conn.dialect() == Dialect::Sqlite || options.rehearse {
        return Ok(());
    }
    // Without an audit trail an interrupted run leaves no trace to find.
    let Some(audit) = options.table.audit() else {
        return Ok(());
    };
    let interrupted = read_started_audit(conn, &audit)?;
    let Some(last) = interrupted.last() else {
        return Ok(());
    };
    if !options.close_interrupted {
        return Err(interrupted_error(conn.dialect(), last, &audit, scripts));
    }
    let rows = read_heads(conn, &options.table)?;
    let closed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for entry in &interrupted {
        let closed = AuditEntry {
            outcome: Outcome::Failed,
            heads_after: entry.heads_before.clone(),
            error: Some(format!(
                "interrupted: the run died before recording an outcome; closed by a stamp at \
                 {closed_at}, with the version rows at {rows:?}"
            )),
            ..entry.clone()
        };
        conn.execute(&audit.finish_audit_sql(&closed))
            .map_err(bookkeeping(Bookkeeping::CloseInterruptedRun {
                table: audit.display_name(),
            }))?;
        progress.closed_interrupted(entry.direction.name(), &entry.revision, &entry.started_at);
    }
    Ok(())
}

/// [`Error::InterruptedRun`] for `entry`, with the statements of its revision that may have
/// taken effect (see [`partial::possibly_applied`]).
fn interrupted_error(
    dialect: Dialect,
    entry: &AuditEntry,
    audit: &VersionTable,
    scripts: &[Script],
) -> Error {
    // An `accept` row is written whole in one transaction: it is never left `started`.
    let (direction, section) = match entry.direction {
        Direction::Upgrade => (StepKind::Upgrade, Some(SectionKind::Upgrade)),
        Direction::Downgrade => (StepKind::Downgrade, Some(SectionKind::Downgrade)),
        Direction::Stamp | Direction::Accept => (StepKind::Stamp, None),
    };
    let script = scripts.iter().find(|s| s.meta.revision == entry.revision);
    let statements = match (script, section) {
        (Some(script), Some(section)) => section_statements(script, section, dialect)
            .ok()
            .map(|statements| (script.transactional, statements)),
        (_, None) => Some((true, Vec::new())),
        (None, _) => None,
    };
    let statement_count = statements.as_ref().map_or(0, |(_, s)| s.len());
    let statements = statements.map(|(transactional, statements)| {
        let texts: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        let applied = partial::possibly_applied(dialect, transactional, &texts);
        statements
            .iter()
            .take(applied)
            .enumerate()
            .map(|(index, s)| StatementRef {
                number: index + 1,
                line: s.line,
                sql: s.sql.clone(),
            })
            .collect()
    });
    Error::InterruptedRun {
        revision: entry.revision.clone(),
        direction,
        started_at: entry.started_at.clone(),
        audit_table: audit.display_name(),
        heads_before: entry.heads_before.clone(),
        heads_after: entry.heads_after.clone(),
        statements,
        statement_count,
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::super::tests::{chain_plan, down_plan, script};
    use super::super::{BeforeChange, Silent};
    use super::*;
    use crate::config::Dialect;
    use crate::db::sqlite::SqliteConnection;
    use crate::db::version_table::read_audit;
    use crate::error::ForeignKeyViolation;
    use crate::graph::Plan;

    fn table() -> VersionTable {
        VersionTable::new(Dialect::Sqlite, None, "retort_version")
    }

    fn options(rehearse: bool) -> LiveOptions {
        LiveOptions {
            table: table(),
            migration_lock_wait: Duration::from_secs(1),
            timeouts: crate::config::Timeouts::default(),
            rehearse,
            os_user: None,
            close_interrupted: false,
            count_rows: None,
        }
    }

    /// Runs `plan` (re-planned as the fixed plan): the report and the error that stopped it.
    fn go(
        conn: &mut SqliteConnection,
        scripts: &[Script],
        plan: Plan,
        rehearse: bool,
    ) -> (RunReport, Option<Error>) {
        let plan_from = move |_rows: &[String]| Ok(plan.clone());
        split(run_live(
            conn,
            &options(rehearse),
            scripts,
            &plan_from,
            None,
            &mut Silent,
        ))
    }

    /// The report of a run and the error of the step that stopped it, if one did.
    fn split(ran: Result<RunReport>) -> (RunReport, Option<Error>) {
        match ran {
            Ok(report) => (report, None),
            Err(Error::MigrationFailed { report, error }) => (*report, Some(*error)),
            Err(error) => panic!("the run did not start: {error}"),
        }
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
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        assert!(failure.is_none(), "{:?}", failure);
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["b"]);
        assert_eq!(
            tables(&mut conn),
            ["retort_version", "retort_version_log", "t1", "t2"]
        );
        let (_, failure) = go(
            &mut conn,
            &scripts,
            down_plan(&[("b", Some("a")), ("a", None)]),
            false,
        );
        assert!(failure.is_none(), "{:?}", failure);
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        let audit = read_audit(&mut conn, &table().audit().unwrap()).unwrap();
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
        run(&mut conn, &mut record).unwrap();
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["b"]);
        // Nothing left to do: no call.
        run(&mut conn, &mut record).unwrap();
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
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        let err = failure.unwrap();
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
        let audit = read_audit(&mut conn, &table().audit().unwrap()).unwrap();
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
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        assert!(failure.is_some());
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        let audit = read_audit(&mut conn, &table().audit().unwrap()).unwrap();
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
        let (_, failure) = go(&mut conn, &[s], chain_plan(None, &["a"]), false);
        match failure {
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
        let (report, failure) = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), true);
        assert!(failure.is_none(), "{:?}", failure);
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
        let (_, failure) = split(run_live(
            &mut conn,
            &options(false),
            &scripts,
            &plan_from,
            None,
            &mut Silent,
        ));
        // The rows read inside the step differ from the plan's, so it plans again (the same
        // plan here); the second attempt runs and fails Alembic's row-count check.
        let err = failure.unwrap().to_string();
        assert!(
            err.contains(
                "expected to match one row when updating 'a' to 'b' in 'retort_version'; 0 found"
            ),
            "{err}"
        );
    }

    /// A parent `p` with rows 1 and 2 and an `ON DELETE CASCADE` child `c` holding one row each.
    fn parent_and_child(conn: &mut SqliteConnection) {
        for sql in [
            "CREATE TABLE p (id INTEGER PRIMARY KEY)",
            "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE)",
            "INSERT INTO p VALUES (1), (2)",
            "INSERT INTO c VALUES (10, 1), (11, 2)",
        ] {
            conn.execute(sql).unwrap();
        }
    }

    /// SQLite's rebuild of `p`, copying the rows `copied` selects.
    fn rebuild(copied: &str) -> String {
        format!(
            "PRAGMA foreign_keys = OFF;\nCREATE TABLE p_new (id INTEGER PRIMARY KEY);\n\
             INSERT INTO p_new SELECT id FROM p {copied};\nDROP TABLE p;\n\
             ALTER TABLE p_new RENAME TO p;\nPRAGMA foreign_keys = ON"
        )
    }

    fn children(conn: &mut SqliteConnection) -> Vec<Vec<crate::db::Value>> {
        conn.query("SELECT id FROM c ORDER BY id").unwrap()
    }

    #[test]
    fn a_leading_foreign_keys_pragma_runs_before_the_transaction_and_is_undone_after() {
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        parent_and_child(&mut conn);
        let scripts = [script("a", &[], &rebuild(""), None)];
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        assert!(failure.is_none(), "{:?}", failure);
        assert_eq!(children(&mut conn).len(), 2, "the cascade did not fire");
        assert!(foreign_keys::enabled(&mut conn).unwrap());
    }

    #[test]
    fn orphaned_rows_fail_the_revision_which_is_rolled_back_and_the_setting_restored() {
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        parent_and_child(&mut conn);
        let scripts = [script("a", &[], &rebuild("WHERE id = 1"), None)];
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        match failure {
            Some(Error::ForeignKeyViolations {
                revision,
                violations,
                total,
                ..
            }) => {
                assert_eq!((revision.as_str(), total), ("a", 1));
                assert_eq!(
                    violations,
                    [ForeignKeyViolation {
                        table: "c".into(),
                        rowid: Some(11),
                        parent: "p".into()
                    }]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        assert_eq!(
            conn.query("SELECT count(*) FROM p").unwrap(),
            [[crate::db::Value::Int(2)]]
        );
        assert_eq!(children(&mut conn).len(), 2);
        assert!(foreign_keys::enabled(&mut conn).unwrap());
        let audit = read_audit(&mut conn, &table().audit().unwrap()).unwrap();
        assert_eq!(audit[0].outcome, "failed");
    }

    #[test]
    fn a_connection_without_enforcement_gets_no_check_and_keeps_its_setting() {
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        parent_and_child(&mut conn);
        foreign_keys::set(&mut conn, false).unwrap();
        // Orphans rows, as the application's own writes could; enforcement was never promised.
        let scripts = [script("a", &[], &rebuild("WHERE id = 1"), None)];
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a"]), false);
        assert!(failure.is_none(), "{:?}", failure);
        assert!(!foreign_keys::enabled(&mut conn).unwrap());
    }

    #[test]
    fn a_non_transactional_revision_runs_its_pragmas_in_order_and_the_setting_is_restored() {
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        parent_and_child(&mut conn);
        let mut s = script(
            "a",
            &[],
            "PRAGMA foreign_keys = OFF;\nDELETE FROM p WHERE id = 2",
            None,
        );
        s.transactional = false;
        let (_, failure) = go(&mut conn, &[s], chain_plan(None, &["a"]), false);
        assert!(failure.is_none(), "{:?}", failure);
        assert_eq!(
            children(&mut conn).len(),
            2,
            "no cascade with enforcement off"
        );
        assert!(foreign_keys::enabled(&mut conn).unwrap());
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
        let (_, failure) = go(&mut conn, &scripts, chain_plan(None, &["a", "b"]), false);
        let err = failure.unwrap();
        assert!(err.to_string().contains("`b`"), "{err}");
        assert!(err.hint().unwrap_or_default().contains("not transactional"));
        assert_eq!(read_heads(&mut conn, &table()).unwrap(), ["a"]);
        // Without a transaction, what ran before the failing statement stays.
        assert!(tables(&mut conn).contains(&"t2".to_string()));
        let audit = read_audit(&mut conn, &table().audit().unwrap()).unwrap();
        let outcomes: Vec<_> = audit
            .iter()
            .map(|e| (e.revision.as_str(), e.outcome.name()))
            .collect();
        assert_eq!(outcomes, [("a", "success"), ("b", "failed")]);
    }

    /// A step outside a transaction records its version row and completes its audit row in
    /// one transaction: when the audit row cannot be completed (here a trigger refuses it;
    /// in the field, a kill between the two), the version row does not claim the step either.
    #[test]
    fn a_non_transactional_steps_version_row_commits_with_its_audit_row() {
        let mut step = script("a", &[], "CREATE TABLE t1 (x INTEGER)", None);
        step.transactional = false;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = SqliteConnection::open_path(Some(&dir.path().join("n.db")), true).unwrap();
        let audit = table().audit().unwrap();
        for sql in [
            table().create_sql(),
            audit.create_audit_sql(),
            "CREATE TRIGGER no_finish BEFORE UPDATE ON retort_version_log \
             BEGIN SELECT RAISE(ABORT, 'cannot complete the audit row'); END"
                .to_string(),
        ] {
            conn.execute(&sql).unwrap();
        }
        let (_, failure) = go(&mut conn, &[step], chain_plan(None, &["a"]), false);
        let err = failure.unwrap();
        assert!(
            err.to_string().contains("cannot complete the audit row"),
            "{err}"
        );
        assert!(read_heads(&mut conn, &table()).unwrap().is_empty());
        assert!(tables(&mut conn).contains(&"t1".to_string()));
    }
}
