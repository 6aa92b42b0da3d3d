//! Online runs of `upgrade`, `downgrade` and `stamp`: the dry run, the backup before a change,
//! the locked execution, the `--verify` follow-up and the `--report` document.

use std::path::Path;
use std::time::Instant;

use crate::backup::{self, BackupOutcome, BackupRecord};
use crate::config::{DatabaseUrl, Dialect};
use crate::db::version_table::VersionTable;
use crate::db::{self, Connection};
use crate::error::{Error, Result};
use crate::exec::live::{run_live, LiveOptions};
use crate::exec::{BeforeChange, PreparedStep, Progress, Silent};
use crate::graph::Plan;
use crate::ops::audit::version_table;
use crate::ops::check::drift;
use crate::project::Project;
use crate::report::{Outcome, RowCounts, RunReport as MigrationReport, StepReport};
use crate::schema::Filter;
use crate::settings::{Mode, Operation, RunSettings};
use crate::verify::{self, VerifyReport};

/// What an online run did.
#[derive(Debug)]
pub(crate) enum RunOutcome {
    /// `--dry-run`: what would run; nothing changed.
    Planned(PlannedRun),
    /// The run happened (a rehearsal included).
    Ran(Ran),
}

/// A run that took the lock and walked its plan.
#[derive(Debug)]
pub(crate) struct Ran {
    /// The steps that ran; on failure the failed one is last.
    pub(crate) report: MigrationReport,
    /// The error that stopped the run at a step.
    pub(crate) failure: Option<Error>,
    /// `--verify`: the checks of the database the run left behind (after a success only).
    pub(crate) verify: Option<VerifyReport>,
}

/// The database a run works on.
pub(crate) enum Target<'a> {
    /// Connected for this run.
    Url(&'a DatabaseUrl),
    /// A session the caller holds.
    Open(&'a mut dyn Connection),
}

/// The database side of a run: what [`Migrator`](crate::Migrator) provides, seen from here.
pub(crate) trait Runner {
    fn project(&self) -> &Project;
    /// What `operation` would do, read without changing anything.
    fn plan(&mut self, operation: &Operation) -> Result<PlannedRun>;
    /// Runs `operation` under the migration lock (see [`execute`]).
    fn execute(
        &mut self,
        operation: &Operation,
        options: RunOptions<'_>,
    ) -> Result<MigrationReport>;
}

/// Runs `settings` online on the database of `url` through `migrator`. The backup taken
/// before a change is handed to `on_backup` as soon as it exists; `progress` hears of each
/// step. `Err` means the run did not start (or the `--report` could not be written).
pub(crate) fn run(
    migrator: &mut dyn Runner,
    url: &DatabaseUrl,
    settings: &RunSettings,
    progress: &mut dyn Progress,
    on_backup: &mut dyn FnMut(&BackupOutcome),
) -> Result<RunOutcome> {
    let operation = &settings.operation;
    let rehearse = match settings.mode {
        Mode::DryRun => return migrator.plan(operation).map(RunOutcome::Planned),
        Mode::Run => false,
        Mode::Rehearse => true,
        Mode::Offline { .. } => {
            return Err(Error::Internal(
                "an offline run reached the online runner".into(),
            ))
        }
    };
    let config = &migrator.project().config.clone();
    let trigger = format!("{} {}", operation.kind().name(), operation.target_text());
    let mut backup = None;
    // Under the lock, once the plan is known to change something: a backup of exactly the rows
    // the run starts from, and none when another runner left nothing to do.
    let mut backup_first = |_: &mut dyn Connection, rows: &[String]| -> Result<()> {
        if !rehearse {
            let outcome =
                backup::backup_before_change(config, url, &trigger, rows, settings.no_backup)?;
            on_backup(&outcome);
            backup = Some(outcome);
        }
        Ok(())
    };
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let refuse_drift = !settings.allow_drift
        && matches!(operation, Operation::Upgrade(_) | Operation::Downgrade(_));
    let result = migrator.execute(
        operation,
        RunOptions {
            rehearse,
            refuse_drift,
            count_rows: rehearse || settings.report.is_some(),
            progress: Some(progress),
            before_change: Some(&mut backup_first),
        },
    );
    let (report, failure) = match result {
        Ok(report) => (Ok(report), None),
        Err(Error::MigrationFailed { report, error }) => (Ok(*report), Some(*error)),
        Err(error) => (Err(error), None),
    };
    // `--verify` checks the database the run left behind.
    let checks = match &report {
        Ok(_) if settings.verify && failure.is_none() => {
            // Read-only; an SQLite file a run with nothing to do never created is an empty
            // database, which an in-memory one stands in for.
            let mut conn = match db::connect_existing(url)? {
                Some(conn) => conn,
                None => db::connect(&DatabaseUrl::parse("sqlite://")?)?,
            };
            Some(verify::run_checks(conn.as_mut())?)
        }
        _ => None,
    };
    if let Some(path) = &settings.report {
        let document = ReportDocument {
            command: operation.kind().name(),
            target: operation.target_text(),
            database: url.to_string(),
            dialect: url.dialect().name(),
            rehearsal: rehearse,
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
            outcome: match (&report, &failure) {
                (Ok(_), None) => Outcome::Success,
                _ => Outcome::Failed,
            },
            heads_before: report
                .as_ref()
                .map(|r| r.heads_before.as_slice())
                .unwrap_or_default(),
            heads_after: report
                .as_ref()
                .map(|r| r.heads_after.as_slice())
                .unwrap_or_default(),
            steps: report
                .as_ref()
                .map(|r| r.steps.as_slice())
                .unwrap_or_default(),
            error: match (&report, &failure) {
                (Err(e), _) | (Ok(_), Some(e)) => {
                    Some(crate::config::url::scrub_known(&e.to_string()))
                }
                (Ok(_), None) => None,
            },
            backup: backup.as_ref().and_then(|b| b.record.as_ref()),
            verify: checks.as_ref(),
            row_counts: report.as_ref().ok().and_then(|r| r.row_counts.as_ref()),
        };
        write_report(path, &document)?;
    }
    Ok(RunOutcome::Ran(Ran {
        report: report?,
        failure,
        verify: checks,
    }))
}

/// Runs `operation` on `target` under the migration lock: the executor of
/// [`Migrator::execute`](crate::Migrator::execute).
/// A step that fails is an [`Error::MigrationFailed`] with the steps that ran.
pub(crate) fn execute(
    project: &Project,
    target: Target<'_>,
    migration_lock_wait: std::time::Duration,
    operation: &Operation,
    options: RunOptions<'_>,
    os_user: Option<String>,
    schema_gate: Option<&SchemaGate>,
) -> Result<MigrationReport> {
    let dialect = match &target {
        Target::Url(url) => url.dialect(),
        Target::Open(conn) => conn.dialect(),
    };
    refuse_unsupported_rehearsal(dialect, options.rehearse)?;
    let mut opened;
    let conn: &mut dyn Connection = match target {
        Target::Url(url) => {
            if let Some(nothing) = nothing_to_do_on_missing_file(project, url, operation)? {
                return Ok(nothing);
            }
            let table = version_table(&project.config, dialect)?;
            let lock = db::LockOptions::of(project.config.lock, &table);
            opened = db::connect_for_run(url, migration_lock_wait, &lock)?;
            opened.as_mut()
        }
        Target::Open(conn) => conn,
    };
    let live = LiveOptions {
        table: version_table(&project.config, dialect)?,
        migration_lock_wait,
        timeouts: project.config.timeouts,
        rehearse: options.rehearse,
        os_user,
        close_interrupted: matches!(operation, Operation::Stamp { .. }),
        count_rows: match options.count_rows {
            true => Some(Filter::new(&project.config, dialect)?),
            false => None,
        },
    };
    let mut silent = Silent;
    let progress: &mut dyn Progress = match options.progress {
        Some(progress) => progress,
        None => &mut silent,
    };
    let planner = |rows: &[String]| plan(operation, project, rows);
    let mut caller_hook = options.before_change;
    let mut before_change = |conn: &mut dyn Connection, rows: &[String]| -> Result<()> {
        if options.refuse_drift {
            refuse_drift(conn, project, &live.table)?;
        }
        if let Some(gate) = schema_gate {
            refuse_schema_drift(conn, project, rows, gate, migration_lock_wait)?;
        }
        match caller_hook.as_mut() {
            Some(hook) => hook(conn, rows),
            None => Ok(()),
        }
    };
    let ran = run_live(
        conn,
        &live,
        &project.scripts,
        &planner,
        Some(&mut before_change),
        progress,
    );
    match ran {
        Err(Error::MigrationFailed { report, mut error }) if options.rehearse => {
            // The step's hint speaks of one revision rolled back; a rehearsal undid them all.
            if let Error::Migration { hint, .. } = error.as_mut() {
                *hint = Some(
                    "fix the statement and rehearse again; the rehearsal rolled everything \
                     back, so the database is unchanged"
                        .into(),
                );
            }
            Err(Error::MigrationFailed { report, error })
        }
        other => other,
    }
}

/// Refuses to run while an applied revision's file no longer holds the SQL that ran. Without
/// an audit trail (`audit_table = false`) nothing records what ran, so nothing is refused.
fn refuse_drift(conn: &mut dyn Connection, project: &Project, table: &VersionTable) -> Result<()> {
    let Some(audit) = table.audit() else {
        return Ok(());
    };
    let drifted = drift(conn, &project.scripts, &audit)?;
    if drifted.is_empty() {
        return Ok(());
    }
    Err(Error::AppliedRevisionsChanged { drifted })
}

/// `upgrade --require-no-drift`: the database whose schema is compared, and where the expected
/// schema is built.
#[derive(Debug, Clone)]
pub(crate) struct SchemaGate {
    pub url: DatabaseUrl,
    pub dev_url: Option<DatabaseUrl>,
}

/// Refuses to run while the schema differs from what the applied revisions `rows` build;
/// checked under the run's lock, before anything changes.
fn refuse_schema_drift(
    conn: &mut dyn Connection,
    project: &Project,
    rows: &[String],
    gate: &SchemaGate,
    lock_timeout: std::time::Duration,
) -> Result<()> {
    let report = crate::ops::schema::drift_at(
        project,
        conn,
        rows,
        &gate.url,
        gate.dev_url.as_ref(),
        lock_timeout,
    )?;
    if report.ok {
        return Ok(());
    }
    Err(Error::SchemaDriftRefused {
        count: report.differences.len(),
        differences: report
            .differences
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// The empty report of a run with nothing to do on an SQLite file that does not exist (a
/// database at base), so that connecting never leaves an empty file behind; `None` otherwise.
fn nothing_to_do_on_missing_file(
    project: &Project,
    url: &DatabaseUrl,
    operation: &Operation,
) -> Result<Option<MigrationReport>> {
    let missing =
        url.dialect() == Dialect::Sqlite && url.sqlite_path().is_some_and(|p| !p.exists());
    if !missing {
        return Ok(None);
    }
    let plan = plan(operation, project, &[])?;
    Ok(plan.steps.is_empty().then(|| MigrationReport {
        heads_after: plan.heads_after(),
        heads_before: Vec::new(),
        steps: Vec::new(),
        row_counts: None,
    }))
}

/// A rehearsal rolls everything back at the end, which needs transactional DDL.
fn refuse_unsupported_rehearsal(dialect: Dialect, rehearse: bool) -> Result<()> {
    if rehearse && !dialect.transactional_ddl() {
        return Err(Error::RehearseUnsupported { dialect });
    }
    Ok(())
}

/// The plan of `operation` from the version rows `rows`. Every row must name a revision file,
/// except for a purging stamp, which exists to recover from rows no file knows.
pub(crate) fn plan(operation: &Operation, project: &Project, rows: &[String]) -> Result<Plan> {
    let purge = matches!(operation, Operation::Stamp { purge: true, .. });
    if !purge {
        check_rows_known(project, rows)?;
    }
    match operation {
        Operation::Upgrade(target) => project.graph.plan_upgrade(rows, target),
        Operation::Downgrade(target) => project.graph.plan_downgrade(rows, target),
        Operation::Stamp { targets, purge } => project.graph.plan_stamp(rows, targets, *purge),
    }
}

/// Every version row must name a revision file, else nothing can be planned safely.
pub(crate) fn check_rows_known(project: &Project, rows: &[String]) -> Result<()> {
    match rows
        .iter()
        .find(|row| project.graph.index_of(row).is_none())
    {
        None => Ok(()),
        Some(unknown) => Err(Error::VersionRowWithoutFile {
            revision: unknown.clone(),
            table: project.config.version_table.clone(),
        }),
    }
}

/// Options of [`Migrator::execute`](crate::Migrator::execute).
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Run the whole plan in one transaction, report, and roll everything back (needs
    /// transactional DDL: SQLite or PostgreSQL).
    pub rehearse: bool,
    /// Told about each step as it starts and ends, and when the run waits for the lock.
    pub progress: Option<&'a mut dyn Progress>,
    /// Refuse to change anything while an applied revision's file changed since it ran
    /// ([`Error::AppliedRevisionsChanged`]); checked under the lock.
    pub refuse_drift: bool,
    /// Called once under the migration lock, with the connection and the version rows just
    /// read, when the plan changes the database and before anything changes (the CLI takes its
    /// backup there); an error ends the run with nothing changed.
    pub before_change: Option<&'a mut BeforeChange<'a>>,
    /// Count each table's rows before the first step and after the last (a rehearsal's before
    /// its rollback) into [`MigrationReport::row_counts`]; the version tables and
    /// `[schema] ignore` are left out.
    pub count_rows: bool,
}

/// What a run would do, computed without changing anything (the CLI's `--dry-run`).
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The version rows now.
    pub heads_before: Vec<String>,
    /// Whether every version row is deleted first (`stamp --purge`).
    pub purge: bool,
    /// Each step with the SQL it would run.
    pub steps: Vec<PreparedStep>,
    /// The version rows after the run.
    pub heads_after: Vec<String>,
}

impl PlannedRun {
    /// Whether running it would change the database (as [`Plan::changes_database`]).
    pub fn changes_database(&self) -> bool {
        !self.steps.is_empty() || (self.purge && !self.heads_before.is_empty())
    }
}

/// The `--report` document.
#[derive(serde::Serialize)]
struct ReportDocument<'a> {
    command: &'static str,
    target: String,
    /// The URL with its password redacted.
    database: String,
    dialect: &'static str,
    rehearsal: bool,
    started_at: String,
    duration_ms: i64,
    outcome: Outcome,
    heads_before: &'a [String],
    heads_after: &'a [String],
    steps: &'a [StepReport],
    error: Option<String>,
    /// The backup taken before the run, if any.
    backup: Option<&'a BackupRecord>,
    /// `--verify`: integrity and referential checks after the run.
    verify: Option<&'a VerifyReport>,
    /// Each table's rows before and after; `None` when nothing ran.
    row_counts: Option<&'a RowCounts>,
}

fn write_report(path: &Path, document: &ReportDocument<'_>) -> Result<()> {
    let text = serde_json::to_string_pretty(document)
        .map_err(|e| Error::Internal(format!("cannot encode the report: {e}")))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io("write report", path, e))
}
