//! Running a plan: the one place that orders side effects (lock, begin, statements, verify,
//! version-table change, audit row, commit, unlock), for a live database or as offline SQL.
//!
//! [`run`] walks a [`Plan`] and makes the same calls on a [`Sink`] whether the sink executes
//! them ([`live::LiveSink`]) or renders them ([`offline::OfflineSink`]), so `--sql` output and a
//! live run cannot drift apart. Everything that can be checked without touching the database
//! (irreversible revisions, unknown revisions, unsplittable SQL, a `foreign_keys` pragma SQLite
//! would ignore) is checked by [`prepare`] before the first step starts.

mod foreign_keys;
pub(crate) mod live;
pub(crate) mod offline;
pub(crate) mod partial;
pub(crate) mod retry;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::{Dialect, Timeouts};
use crate::db::audit_details::LintAllowed;
use crate::db::version_table::{AuditDetails, AuditEntry};
use crate::db::DbError;
use crate::error::{Error, Result, ScriptProblem};
use crate::graph::{Plan, Step, VersionOp};
use crate::report::{Outcome, RunReport, StepKind, StepReport};
use crate::script::checksum::{checksum, section_statements, SqlStatement};
use crate::script::{Script, SectionKind};
pub use retry::{Attempt, LockRetry};
use retry::{Next, Repeat, Retry};

/// A plan step with everything needed to run it: its SQL split into statements.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    pub(crate) step: Step,
    /// The revision file (`None` for a stamp).
    pub(crate) path: Option<PathBuf>,
    pub(crate) message: Option<String>,
    /// `false` runs the step outside a transaction (header `transactional = false`).
    pub(crate) transactional: bool,
    pub(crate) statements: Vec<SqlStatement>,
    /// Queries of the `verify` section (upgrades only).
    pub(crate) verify: Vec<SqlStatement>,
    /// See [`checksum`]; `None` for a stamp.
    pub(crate) checksum: Option<String>,
    /// The project's timeouts with the revision header's overrides.
    pub(crate) timeouts: Timeouts,
    /// The lint suppressions of an upgrade's file, for its audit row.
    pub(crate) lint_allowed: Vec<LintAllowed>,
}

impl PreparedStep {
    /// The revision this step is about, for the audit trail and messages: the revision that
    /// runs, or for a stamp the revisions stamped (`base` when none).
    pub fn label(&self) -> String {
        match &self.step.revision {
            Some(rev) => rev.clone(),
            None if self.step.to.is_empty() => "base".to_string(),
            None => self.step.to.join(","),
        }
    }

    /// `upgrade A -> B` as Alembic's `Running ...` line spells it, with `, message` when known.
    pub fn running_line(&self) -> String {
        let mut line = format!(
            "Running {} {} -> {}",
            self.step.kind.running_name(),
            self.step.from.join(", "),
            self.step.to.join(", ")
        );
        if let Some(message) = &self.message {
            line.push_str(", ");
            line.push_str(message);
        }
        line
    }
}

/// Resolves every step of `plan` to its SQL. Fails before anything runs when a downgrade goes
/// through an irreversible revision, a revision has no file, or SQL cannot be split.
pub(crate) fn prepare(
    plan: &Plan,
    scripts: &[Script],
    dialect: Dialect,
    timeouts: Timeouts,
) -> Result<Vec<PreparedStep>> {
    let by_id: HashMap<&str, &Script> = scripts
        .iter()
        .map(|s| (s.meta.revision.as_str(), s))
        .collect();
    // Splitting and hashing each revision's SQL is independent work.
    let steps: Vec<&Step> = plan.steps.iter().collect();
    crate::parallel::map(steps, |step| {
        let Some(revision) = &step.revision else {
            return Ok(PreparedStep {
                step: step.clone(),
                path: None,
                message: None,
                transactional: true,
                statements: Vec::new(),
                verify: Vec::new(),
                checksum: None,
                timeouts,
                lint_allowed: Vec::new(),
            });
        };
        let script = by_id.get(revision.as_str()).ok_or_else(|| {
            Error::Internal(format!("the plan names `{revision}`, which has no file"))
        })?;
        let (statements, verify) = match step.kind {
            StepKind::Upgrade => (
                section_statements(script, SectionKind::Upgrade, dialect)?,
                section_statements(script, SectionKind::Verify, dialect)?,
            ),
            StepKind::Downgrade => {
                if script
                    .sections
                    .get(SectionKind::Downgrade, dialect)
                    .is_none()
                {
                    return Err(Error::Irreversible {
                        revision: revision.clone(),
                        path: script.path.clone(),
                    });
                }
                (
                    section_statements(script, SectionKind::Downgrade, dialect)?,
                    Vec::new(),
                )
            }
            StepKind::Stamp => (Vec::new(), Vec::new()),
        };
        if script.transactional {
            refuse_transaction_control(script, &statements)?;
            if dialect == Dialect::Sqlite {
                foreign_keys::refuse_misplaced(script, &statements)?;
            }
        }
        Ok(PreparedStep {
            step: step.clone(),
            path: Some(script.path.clone()),
            message: script.meta.message.clone(),
            transactional: script.transactional,
            checksum: Some(checksum(statements.iter().map(|s| s.sql.as_str()))),
            lint_allowed: match step.kind {
                StepKind::Upgrade => AuditDetails::of_allows(&script.allows),
                _ => Vec::new(),
            },
            statements,
            verify,
            timeouts: timeouts.with(&script.timeouts),
        })
    })?
    .into_iter()
    .collect()
}

/// A transactional revision may not commit or roll back by itself: retort's transaction holds
/// the revision together with its version row. Checked before anything runs.
fn refuse_transaction_control(script: &Script, statements: &[SqlStatement]) -> Result<()> {
    match statements
        .iter()
        .find(|s| partial::controls_transaction(&s.sql))
    {
        Some(statement) => Err(refused_statement(
            script,
            statement,
            |statement, revision| ScriptProblem::TransactionControl {
                statement,
                revision,
            },
        )),
        None => Ok(()),
    }
}

/// The error of a statement refused in `script`, located at its line: `problem` of the
/// statement (on one line) and the revision.
fn refused_statement(
    script: &Script,
    statement: &SqlStatement,
    problem: fn(String, String) -> ScriptProblem,
) -> Error {
    Error::Script {
        path: script.path.clone(),
        line: statement.line,
        problem: problem(
            statement
                .sql
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            script.meta.revision.clone(),
        ),
    }
}

/// Receives the calls of a run. [`live::LiveSink`] executes them; [`offline::OfflineSink`]
/// renders them as a script. Both receive exactly the same sequence.
pub(crate) trait Sink {
    /// `stamp --purge`: every version row goes, before the first step.
    fn purge(&mut self) -> Result<()>;
    /// Sets the step's lock and statement timeouts (see [`crate::db::Connection::set_timeouts`])
    /// once it has begun, so the migration lock's wait is not bounded by them; they end with
    /// the step.
    fn set_timeouts(&mut self, step: &PreparedStep) -> Result<()>;
    /// Whether a step that lost a lock conflict may be rolled back and run again (not in a
    /// rehearsal, whose one transaction holds the steps before it).
    fn can_retry(&self) -> bool;
    /// Who held the lock the last failed statement waited for, when the database could say.
    fn blocker(&mut self) -> Option<String>;
    /// Starts `step` (a transaction unless the step is non-transactional). A live sink returns
    /// the version rows it read inside the transaction, so a concurrent runner's progress is
    /// seen before anything runs; an offline sink returns `None`.
    fn begin_step(&mut self, step: &PreparedStep) -> Result<Option<Vec<String>>>;
    /// Called once a step is about to run. Where the step cannot be rolled back (not
    /// transactional, or DDL that commits implicitly), a live sink records a `started` audit
    /// row first, so a run that dies in the middle leaves a trace.
    fn record_start(&mut self, step: &PreparedStep, entry: &AuditEntry) -> Result<()>;
    /// Gives up a step that has not run anything (the rows changed under it): roll back.
    fn abandon_step(&mut self) -> Result<()>;
    /// Runs a statement; says what it did to the open transaction (a live MySQL sink asks the
    /// server when the text cannot tell, see [`partial::classify`]).
    fn execute(&mut self, sql: &str) -> Result<partial::TxEffect, DbError>;
    /// After `sql` failed: what it did to the open transaction before failing.
    fn failed_statement(&mut self, sql: &str) -> partial::TxEffect;
    /// Runs a verify query; `Ok(false)` when its first row's first column is not truthy.
    fn verify(&mut self, sql: &str) -> Result<bool, DbError>;
    fn version_op(&mut self, op: &VersionOp) -> Result<()>;
    /// Records the audit row and commits.
    fn finish_step(&mut self, step: &PreparedStep, entry: &AuditEntry) -> Result<()>;
    /// Rolls the step back and records the failed audit row in its own transaction.
    fn fail_step(&mut self, step: &PreparedStep, entry: &AuditEntry) -> Result<()>;
}

/// Progress of a run, for bars, plain lines and silence.
pub trait Progress {
    /// Step `index` (from 0) of `total` starts; [`PreparedStep::running_line`] describes it.
    fn step_started(&mut self, _step: &PreparedStep, _index: usize, _total: usize) {}
    /// A step ended, successfully or not.
    fn step_finished(&mut self, _report: &StepReport) {}
    /// Another runner changed the version rows; the remaining plan was recomputed.
    fn replanned(&mut self, _heads: &[String]) {}
    /// Another runner holds the migration lock; the run waits for it (called at most once).
    /// `holder` describes the session holding it, when the database can say.
    fn waiting_for_lock(&mut self, _holder: Option<&str>) {}
    /// The migration lock is held; `holder` describes it (which lock, which session or lease)
    /// at the cost of a query, for progress that shows it.
    fn lock_taken(&mut self, _holder: &mut dyn FnMut() -> Option<String>) {}
    /// The migration lock could not be released after the run (`cause`: e.g. the server says it
    /// was not held); the run's outcome stands, and the session's end releases a lock it still
    /// has.
    fn lock_not_released(&mut self, _cause: &str) {}
    /// A stamp closed the audit row of a run that died in the middle of its `direction` step
    /// of `revision`, started at `started_at`.
    fn closed_interrupted(&mut self, _direction: &str, _revision: &str, _started_at: &str) {}
    /// Asked between steps: `true` ends the run after the step that just ended, as if its plan
    /// stopped there (a fleet's Ctrl-C lets a running target finish its current revision).
    fn stop_requested(&mut self) -> bool {
        false
    }

    /// A statement (or verify query) of the running step, starting at `line` of its file,
    /// succeeded after `elapsed`.
    fn statement_ran(&mut self, _line: usize, _sql: &str, _elapsed: Duration) {}

    /// A revision lost a lock conflict (a lock timeout or a deadlock) and runs again after a
    /// wait: the whole revision, rolled back, or only the statement of a non-transactional one.
    fn lock_retry(&mut self, _retry: &LockRetry) {}
}

/// Progress that shows nothing.
pub(crate) struct Silent;
impl Progress for Silent {}

/// Recomputes the plan from version rows (after another runner moved them).
pub(crate) type Replanner<'a> = dyn Fn(&[String]) -> Result<Plan> + 'a;

/// Called by a live run once it holds the migration lock and its first plan changes the
/// database, before any change, with the connection and the version rows the plan starts from
/// (a backup of exactly those rows, a last check). An error ends the run with nothing changed.
pub(crate) type BeforeChange<'a> =
    dyn FnMut(&mut dyn crate::db::Connection, &[String]) -> Result<()> + 'a;

/// What a run needs besides the sink.
pub(crate) struct RunInput<'a> {
    pub plan: Plan,
    pub scripts: &'a [Script],
    pub dialect: Dialect,
    /// For a live run: how to plan again when another runner changed the rows.
    pub replan: Option<&'a Replanner<'a>>,
    pub applied_by: Option<String>,
    /// The project's lock and statement timeouts and retries.
    pub timeouts: Timeouts,
}

fn sorted(rows: &[String]) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort();
    rows
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Walks the plan, step by step, on `sink`. Stops at the first failure, an
/// [`Error::MigrationFailed`] with the steps that ran (the failed step is rolled back and
/// recorded by the sink).
pub(crate) fn run(
    input: RunInput<'_>,
    sink: &mut dyn Sink,
    progress: &mut dyn Progress,
) -> Result<RunReport> {
    let mut report = RunReport {
        heads_before: sorted(&input.plan.heads_before),
        ..RunReport::default()
    };
    match run_steps(&input, sink, progress, &mut report) {
        Ok(()) => Ok(report),
        Err(error) => Err(Error::MigrationFailed {
            report: Box::new(report),
            error: Box::new(error),
        }),
    }
}

fn run_steps(
    input: &RunInput<'_>,
    sink: &mut dyn Sink,
    progress: &mut dyn Progress,
    report: &mut RunReport,
) -> Result<()> {
    let mut steps = prepare(&input.plan, input.scripts, input.dialect, input.timeouts)?;
    let mut expected = report.heads_before.clone();
    if input.plan.purge {
        sink.purge()?;
        expected.clear();
    }
    report.heads_after = expected.clone();
    let mut index = 0;
    // The attempts of the step at `index`, once it has started.
    let mut retry: Option<Retry> = None;
    while index < steps.len() {
        if index > 0 && progress.stop_requested() {
            return Ok(());
        }
        let prepared = &steps[index];
        let rows = sink.begin_step(prepared)?;
        if let (Some(rows), Some(replan)) = (rows, input.replan) {
            let rows = sorted(&rows);
            if rows != expected {
                // Another runner applied steps since we planned: plan again from what it left.
                sink.abandon_step()?;
                progress.replanned(&rows);
                let plan = replan(&rows)?;
                steps = prepare(&plan, input.scripts, input.dialect, input.timeouts)?;
                expected = rows;
                report.heads_after = expected.clone();
                index = 0;
                retry = None;
                continue;
            }
        }
        sink.set_timeouts(prepared)?;
        let first_attempt = retry.is_none();
        let attempts = retry.get_or_insert_with(|| Retry::new(prepared.timeouts));
        if first_attempt {
            progress.step_started(prepared, index, steps.len());
        }
        let mut entry = AuditEntry {
            id: 0,
            revision: prepared.label(),
            direction: prepared.step.kind.into(),
            heads_before: expected.clone(),
            heads_after: prepared.step.heads_after.clone(),
            checksum: prepared.checksum.clone(),
            started_at: attempts.started_at.clone(),
            duration_ms: 0,
            outcome: Outcome::Started,
            error: None,
            applied_by: input.applied_by.clone(),
            details: AuditDetails {
                lint_allowed: prepared.lint_allowed.clone(),
                ..AuditDetails::default()
            },
        };
        // A retry completes the `started` row of the first attempt (a live sink keeps it).
        let outcome = if first_attempt {
            sink.record_start(prepared, &entry)
        } else {
            Ok(())
        };
        let mut lost = None;
        let mut ran = 0;
        let mut outcome = outcome.and_then(|()| {
            run_one(
                prepared,
                input.dialect,
                sink,
                progress,
                attempts,
                &mut lost,
                &mut ran,
            )
        });
        if let Some(conflict) = lost.filter(|_| outcome.is_err() && sink.can_retry()) {
            // Rolled back whole, then a wait with no transaction open.
            sink.abandon_step()?;
            match attempts.lost(conflict.cause, conflict.line, conflict.blocker.clone()) {
                Next::Wait(wait) => {
                    progress.lock_retry(&attempts.notice(&prepared.label(), wait, false));
                    attempts.wait(wait);
                    continue;
                }
                Next::GiveUp => {
                    outcome = Err(retries_exhausted(
                        prepared,
                        attempts,
                        &conflict,
                        aftermath(prepared, &[], partial::TxEffect::Stays),
                    ))
                }
            }
        }
        entry.details.statements = AuditDetails::of_statements(
            prepared.statements[..ran]
                .iter()
                .map(|s| (s.sql.as_str(), s.line)),
        );
        entry.details.attempts = attempts.attempts.clone();
        entry.duration_ms = i64::try_from(attempts.elapsed().as_millis()).unwrap_or(i64::MAX);
        entry.outcome = Outcome::Success;
        let outcome = outcome.and_then(|()| sink.finish_step(prepared, &entry));
        if let Err(err) = &outcome {
            entry.outcome = Outcome::Failed;
            entry.heads_after = expected.clone();
            entry.error = Some(crate::config::url::scrub_known(&err.to_string()));
            // The step's own error is what the user needs; a failure to record it is secondary.
            let _ = sink.fail_step(prepared, &entry);
        }
        let lost_attempts = retry.take().map(|r| r.attempts).unwrap_or_default();
        let step_report = StepReport {
            revision: entry.revision.clone(),
            kind: prepared.step.kind,
            from: prepared.step.from.clone(),
            to: prepared.step.to.clone(),
            message: prepared.message.clone(),
            path: prepared.path.clone(),
            started_at: entry.started_at.clone(),
            duration_ms: entry.duration_ms,
            checksum: entry.checksum.clone(),
            outcome: entry.outcome,
            error: entry.error.clone(),
            attempts: lost_attempts,
        };
        progress.step_finished(&step_report);
        report.steps.push(step_report);
        outcome?;
        expected = sorted(&prepared.step.heads_after);
        report.heads_after = expected.clone();
        index += 1;
    }
    Ok(())
}

/// Drops the index `name` if it exists and is invalid: what a failed `CREATE INDEX
/// CONCURRENTLY` left (PostgreSQL). A valid index of that name is not the statement's and stays.
fn drop_invalid_index(sink: &mut dyn Sink, name: &str) -> Result<(), DbError> {
    let dropped = sink
        .verify(&retry::invalid_index_sql(name))
        .and_then(|invalid| {
            if invalid {
                sink.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
            }
            Ok(())
        });
    dropped.map_err(|mut e| {
        e.message = format!(
            "cannot drop the invalid index `{name}` the failed attempt left: {}",
            e.message
        );
        e
    })
}

/// What a failure after `effects` (what each statement that ran did to the transaction; all
/// of them, for a failed verify) leaves behind, for the hint: all rolled back, or which
/// statements took effect or may have because they could not be rolled back (see [`partial`]).
fn aftermath(
    prepared: &PreparedStep,
    effects: &[partial::TxEffect],
    failed: partial::TxEffect,
) -> String {
    let statements: Vec<(&str, usize)> = prepared
        .statements
        .iter()
        .map(|s| (s.sql.as_str(), s.line))
        .collect();
    let Some(applied) =
        partial::describe_applied(prepared.transactional, &statements, effects, failed)
    else {
        return if prepared.transactional {
            "its changes were rolled back; the database is at the last revision that succeeded"
                .to_string()
        } else {
            "nothing of this revision took effect".to_string()
        };
    };
    let what_to_do = if applied.contains("may have taken effect") {
        "inspect the database for the statements that may have taken effect, undo those that \
         did by hand (or make the revision safe to re-run) before running again"
    } else {
        "undo the applied statements by hand (or make the revision safe to re-run) before \
         running again"
    };
    format!(
        "{applied}\n  the version table still records the last revision that succeeded; {what_to_do}"
    )
}

/// [`Error::LockRetriesExhausted`] for `prepared`, whose last attempt lost `conflict`;
/// `outcome` says what the revision left behind.
fn retries_exhausted(
    prepared: &PreparedStep,
    attempts: &Retry,
    conflict: &retry::Lost,
    outcome: String,
) -> Error {
    Error::LockRetriesExhausted {
        revision: prepared.label(),
        path: prepared.path.clone().unwrap_or_default(),
        line: conflict.line,
        attempts: attempts.attempts.len(),
        elapsed: attempts.elapsed(),
        cause: conflict.message.clone(),
        blocker: conflict.blocker.clone(),
        outcome,
    }
}

/// The body of one step: statements, verify queries, version-table ops. A statement that loses
/// a lock conflict in a revision that can run again whole is left in `lost` for the caller to
/// roll back and retry; in a non-transactional revision the statement alone runs again here
/// when that is safe (see [`retry::repeatable`]). `ran` counts the statements that succeeded.
fn run_one(
    prepared: &PreparedStep,
    dialect: Dialect,
    sink: &mut dyn Sink,
    progress: &mut dyn Progress,
    attempts: &mut Retry,
    lost: &mut Option<retry::Lost>,
    ran: &mut usize,
) -> Result<()> {
    let fail = |index: usize, statement: &SqlStatement, message: String, hint: Option<String>| {
        Error::Migration {
            revision: prepared.label(),
            path: prepared.path.clone().unwrap_or_default(),
            statement_index: index + 1,
            line: statement.line,
            statement: statement.sql.clone(),
            message,
            hint,
        }
    };
    let mut effects = Vec::with_capacity(prepared.statements.len());
    // The invalid index a failed `CREATE INDEX CONCURRENTLY` left, to drop before it runs again.
    let mut leftover_index: Option<String> = None;
    let mut index = 0;
    while let Some(statement) = prepared.statements.get(index) {
        let clock = Instant::now();
        let mut cleaned = Ok(());
        if let Some(name) = &leftover_index {
            cleaned = drop_invalid_index(sink, name);
            if cleaned.is_ok() {
                leftover_index = None;
            }
        }
        let e = match cleaned.and_then(|()| sink.execute(&statement.sql)) {
            Ok(effect) => {
                effects.push(effect);
                *ran += 1;
                progress.statement_ran(statement.line, &statement.sql, clock.elapsed());
                index += 1;
                continue;
            }
            Err(e) => e,
        };
        if e.lock_lost {
            // Checked before the statement, which did not run.
            return Err(Error::LockLost {
                revision: prepared.label(),
                cause: e,
                outcome: aftermath(prepared, &effects, partial::TxEffect::Stays),
            });
        }
        if let Some(database) = &e.unwritable_directory_of {
            return Err(Error::SqliteDirectoryReadOnly {
                directory: crate::db::directory_of(database).to_path_buf(),
                database: database.clone(),
                cause: e,
            });
        }
        let failed = sink.failed_statement(&statement.sql);
        let mut note = String::new();
        if e.is_lock_conflict() && dialect != Dialect::Sqlite {
            let conflict = retry::Lost {
                cause: retry::cause(&e),
                line: statement.line,
                blocker: sink.blocker(),
                message: e.message.clone(),
            };
            let repeat = retry::repeatable(dialect, &statement.sql);
            if prepared.transactional {
                if retry::whole_revision_repeatable(dialect, &effects, &statement.sql) {
                    *lost = Some(conflict);
                } else {
                    note = "; it was not retried: statements before it committed implicitly"
                        .to_string();
                }
            } else if let Repeat::No(why) = repeat {
                note = format!("; it was not retried: {why}");
            } else if sink.can_retry() {
                match attempts.lost(conflict.cause, conflict.line, conflict.blocker.clone()) {
                    Next::Wait(wait) => {
                        let mut notice = attempts.notice(&prepared.label(), wait, true);
                        if let Repeat::AfterDropping(name) = repeat {
                            notice.drops_invalid_index = Some(name.clone());
                            leftover_index = leftover_index.or(Some(name));
                        }
                        progress.lock_retry(&notice);
                        attempts.wait(wait);
                        continue;
                    }
                    Next::GiveUp => {
                        let outcome = aftermath(prepared, &effects, failed);
                        return Err(retries_exhausted(prepared, attempts, &conflict, outcome));
                    }
                }
            }
        }
        return Err(fail(
            index,
            statement,
            e.message,
            Some(format!(
                "fix the statement and run again{note}; {}",
                aftermath(prepared, &effects, failed)
            )),
        ));
    }
    let rolled_back = aftermath(prepared, &effects, partial::TxEffect::Stays);
    for (index, statement) in prepared.verify.iter().enumerate() {
        let clock = Instant::now();
        let ok = sink.verify(&statement.sql).map_err(|e| {
            fail(
                index,
                statement,
                format!("verify query failed: {}", e.message),
                Some(rolled_back.clone()),
            )
        })?;
        progress.statement_ran(statement.line, &statement.sql, clock.elapsed());
        if !ok {
            return Err(fail(
                index,
                statement,
                "verify query returned a false first column".to_string(),
                Some(format!(
                    "the revision's changes did not pass its own check; {rolled_back}"
                )),
            ));
        }
    }
    for op in &prepared.step.ops {
        sink.version_op(op)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::script::{RevisionMeta, Section, Sections};

    /// A revision with `up`/`down` SQL (`None` = no such section).
    pub(crate) fn script(rev: &str, down: &[&str], up: &str, downgrade: Option<&str>) -> Script {
        Script {
            meta: RevisionMeta {
                revision: rev.to_string(),
                down_revisions: down.iter().map(|s| s.to_string()).collect(),
                message: Some(format!("rev {rev}")),
                ..RevisionMeta::default()
            },
            transactional: true,
            timeouts: Default::default(),
            allows: Vec::new(),
            path: PathBuf::from(format!("versions/{rev}_x.sql")),
            sections: Sections {
                upgrade: Some(Section {
                    sql: up.to_string(),
                    first_line: 8,
                }),
                downgrade: downgrade.map(|sql| Section {
                    sql: sql.to_string(),
                    first_line: 12,
                }),
                verify: None,
                test: None,
                dialect_specific: Vec::new(),
            },
        }
    }

    /// A linear upgrade plan through `revs` starting at `from` (None = base).
    pub(crate) fn chain_plan(from: Option<&str>, revs: &[&str]) -> Plan {
        let mut current = from.map(str::to_string);
        let steps = revs
            .iter()
            .map(|rev| {
                let op = match &current {
                    Some(prev) => VersionOp::Update {
                        from: prev.clone(),
                        to: rev.to_string(),
                    },
                    None => VersionOp::Insert {
                        revision: rev.to_string(),
                    },
                };
                let step = Step {
                    kind: StepKind::Upgrade,
                    revision: Some(rev.to_string()),
                    from: current.iter().cloned().collect(),
                    to: vec![rev.to_string()],
                    version_table_empty_before: current.is_none(),
                    ops: vec![op],
                    heads_after: vec![rev.to_string()],
                };
                current = Some(rev.to_string());
                step
            })
            .collect();
        Plan {
            purge: false,
            heads_before: from.iter().map(|s| s.to_string()).collect(),
            steps,
        }
    }

    /// A linear downgrade plan from `revs[0]` down through each of `revs` (to its parent).
    pub(crate) fn down_plan(revs: &[(&str, Option<&str>)]) -> Plan {
        let steps = revs
            .iter()
            .map(|(rev, parent)| Step {
                kind: StepKind::Downgrade,
                revision: Some(rev.to_string()),
                from: vec![rev.to_string()],
                to: parent.iter().map(|p| p.to_string()).collect(),
                version_table_empty_before: false,
                ops: vec![match parent {
                    Some(p) => VersionOp::Update {
                        from: rev.to_string(),
                        to: p.to_string(),
                    },
                    None => VersionOp::Delete {
                        revision: rev.to_string(),
                    },
                }],
                heads_after: parent.iter().map(|p| p.to_string()).collect(),
            })
            .collect();
        Plan {
            purge: false,
            heads_before: vec![revs[0].0.to_string()],
            steps,
        }
    }

    #[test]
    fn irreversible_revision_is_refused_before_anything_runs() {
        let scripts = [script("a", &[], "CREATE TABLE t (x INTEGER);", None)];
        let err = prepare(
            &down_plan(&[("a", None)]),
            &scripts,
            Dialect::Sqlite,
            Default::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`a`") && text.contains("irreversible"),
            "{text}"
        );
    }

    #[test]
    fn transaction_control_in_a_transactional_revision_is_refused_before_anything_runs() {
        let scripts = [script(
            "a",
            &[],
            "CREATE TABLE t (x INTEGER);\nCOMMIT;\nCREATE TABLE u (x INTEGER)",
            None,
        )];
        let err = prepare(
            &chain_plan(None, &["a"]),
            &scripts,
            Dialect::Postgresql,
            Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(":9:"), "the COMMIT's line: {err}");
        assert!(err.contains("`COMMIT`"), "{err}");
        assert!(err.contains("transactional = false"), "{err}");
        let mut non_transactional = scripts[0].clone();
        non_transactional.transactional = false;
        assert!(prepare(
            &chain_plan(None, &["a"]),
            &[non_transactional],
            Dialect::Postgresql,
            Default::default()
        )
        .is_ok());
    }

    #[test]
    fn mysql_failure_names_the_statements_its_implicit_commits_kept() {
        use partial::TxEffect::{Commits, Stays, Unknown};
        let scripts = [script(
            "a",
            &[],
            "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1);\nINSERT INTO nope VALUES (1)",
            None,
        )];
        let plan = chain_plan(None, &["a"]);
        let steps = prepare(&plan, &scripts, Dialect::Mysql, Default::default()).unwrap();
        let hint = aftermath(&steps[0], &[Commits, Stays], Stays);
        assert!(
            hint.contains("statement 1 (line 8): CREATE TABLE t (x INTEGER)"),
            "{hint}"
        );
        assert!(
            hint.contains("statement 2 was rolled back"),
            "DML after the last DDL is rolled back (the live sink starts a new transaction after \
             an implicit commit): {hint}"
        );
        assert!(
            hint.contains("undo the applied statements by hand"),
            "{hint}"
        );
        assert!(aftermath(&steps[0], &[Stays, Stays], Stays).contains("rolled back"));
        let hint = aftermath(&steps[0], &[Commits, Unknown], Stays);
        assert!(!hint.contains("rolled back"), "{hint}");
        assert!(hint.contains("inspect the database"), "{hint}");
    }
}
