//! Running a plan: the one place that orders side effects (lock, begin, statements, verify,
//! version-table change, audit row, commit, unlock), for a live database or as offline SQL.
//!
//! [`run`] walks a [`Plan`] and makes the same calls on a [`Sink`] whether the sink executes
//! them ([`live::LiveSink`]) or renders them ([`offline::OfflineSink`]), so `--sql` output and a
//! live run cannot drift apart. Everything that can be checked without touching the database
//! (irreversible revisions, unknown revisions, unsplittable SQL) is checked by [`prepare`] before
//! the first step starts.

pub mod live;
pub mod offline;
pub mod partial;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::Dialect;
use crate::db::version_table::AuditEntry;
pub use crate::db::version_table::Outcome;
use crate::db::DbError;
use crate::error::{Error, Result, ScriptProblem};
use crate::graph::{Plan, Step, StepKind, VersionOp};
use crate::script::checksum::{checksum, section_statements, SqlStatement};
use crate::script::{Script, SectionKind};

/// A plan step with everything needed to run it: its SQL split into statements.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    pub step: Step,
    /// The revision file (`None` for a stamp).
    pub path: Option<PathBuf>,
    pub message: Option<String>,
    /// `false` runs the step outside a transaction (header `transactional = false`).
    pub transactional: bool,
    pub statements: Vec<SqlStatement>,
    /// Queries of the `verify` section (upgrades only).
    pub verify: Vec<SqlStatement>,
    /// See [`checksum`]; `None` for a stamp.
    pub checksum: Option<String>,
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
pub fn prepare(plan: &Plan, scripts: &[Script], dialect: Dialect) -> Result<Vec<PreparedStep>> {
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
                    return Err(Error::Resolution {
                        message: format!(
                            "revision `{revision}` ({}) is irreversible: it has no \
                                 `-- migrate:downgrade` section; nothing was changed",
                            script.path.display()
                        ),
                        hint: Some(format!(
                            "add a downgrade section to {}, or downgrade to a revision \
                                 above `{revision}`",
                            script.path.display()
                        )),
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
        }
        Ok(PreparedStep {
            step: step.clone(),
            path: Some(script.path.clone()),
            message: script.meta.message.clone(),
            transactional: script.transactional,
            checksum: Some(checksum(statements.iter().map(|s| s.sql.as_str()))),
            statements,
            verify,
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
        Some(statement) => Err(Error::Script {
            path: script.path.clone(),
            line: statement.line,
            problem: ScriptProblem::TransactionControl {
                statement: statement
                    .sql
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                revision: script.meta.revision.clone(),
            },
        }),
        None => Ok(()),
    }
}

/// What happened to one step, for progress output, `--report` and `--rehearse`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    pub revision: String,
    pub kind: StepKind,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub message: Option<String>,
    pub path: Option<PathBuf>,
    pub started_at: String,
    pub duration_ms: i64,
    pub checksum: Option<String>,
    /// `success` or `failed`.
    pub outcome: Outcome,
    pub error: Option<String>,
}

/// The outcome of a run. On failure `failure` holds the error to report (exit 1) and `steps`
/// ends with the failed step.
#[derive(Debug, Default, serde::Serialize)]
pub struct RunReport {
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    pub steps: Vec<StepReport>,
    /// The error that stopped the run, if one did.
    #[serde(skip)]
    pub failure: Option<Error>,
}

impl RunReport {
    /// The run's result: `Ok` or the failure that stopped it.
    pub fn into_result(mut self) -> Result<RunReport> {
        match self.failure.take() {
            Some(err) => Err(err),
            None => Ok(self),
        }
    }
}

/// Receives the calls of a run. [`live::LiveSink`] executes them; [`offline::OfflineSink`]
/// renders them as a script. Both receive exactly the same sequence.
pub trait Sink {
    /// `stamp --purge`: every version row goes, before the first step.
    fn purge(&mut self) -> Result<()>;
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
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;
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
    fn step_started(&mut self, _step: &PreparedStep, _index: usize, _total: usize) {}
    fn step_finished(&mut self, _report: &StepReport) {}
    /// Another runner changed the version rows; the remaining plan was recomputed.
    fn replanned(&mut self, _heads: &[String]) {}
    /// Another runner holds the migration lock; the run waits for it (called at most once).
    fn waiting_for_lock(&mut self) {}
}

/// Progress that shows nothing.
pub struct Silent;
impl Progress for Silent {}

/// Recomputes the plan from version rows (after another runner moved them).
pub type Replanner<'a> = dyn Fn(&[String]) -> Result<Plan> + 'a;

/// Called by a live run once it holds the migration lock and its first plan changes the
/// database, before any change, with the connection and the version rows the plan starts from
/// (a backup of exactly those rows, a last check). An error ends the run with nothing changed.
pub type BeforeChange<'a> = dyn FnMut(&mut dyn crate::db::Connection, &[String]) -> Result<()> + 'a;

/// What a run needs besides the sink.
pub struct RunInput<'a> {
    pub plan: Plan,
    pub scripts: &'a [Script],
    pub dialect: Dialect,
    /// For a live run: how to plan again when another runner changed the rows.
    pub replan: Option<&'a Replanner<'a>>,
    pub applied_by: Option<String>,
}

fn sorted(rows: &[String]) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort();
    rows
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Walks the plan, step by step, on `sink`. Stops at the first failure, which is in the
/// report's `failure` (the failed step is rolled back and recorded by the sink).
pub fn run(input: RunInput<'_>, sink: &mut dyn Sink, progress: &mut dyn Progress) -> RunReport {
    let mut report = RunReport {
        heads_before: sorted(&input.plan.heads_before),
        ..RunReport::default()
    };
    if let Err(err) = run_steps(&input, sink, progress, &mut report) {
        report.failure = Some(err);
    }
    report
}

fn run_steps(
    input: &RunInput<'_>,
    sink: &mut dyn Sink,
    progress: &mut dyn Progress,
    report: &mut RunReport,
) -> Result<()> {
    let mut steps = prepare(&input.plan, input.scripts, input.dialect)?;
    let mut expected = report.heads_before.clone();
    if input.plan.purge {
        sink.purge()?;
        expected.clear();
    }
    report.heads_after = expected.clone();
    let mut index = 0;
    while index < steps.len() {
        let prepared = &steps[index];
        let rows = sink.begin_step(prepared)?;
        if let (Some(rows), Some(replan)) = (rows, input.replan) {
            let rows = sorted(&rows);
            if rows != expected {
                // Another runner applied steps since we planned: plan again from what it left.
                sink.abandon_step()?;
                progress.replanned(&rows);
                let plan = replan(&rows)?;
                steps = prepare(&plan, input.scripts, input.dialect)?;
                expected = rows;
                report.heads_after = expected.clone();
                index = 0;
                continue;
            }
        }
        progress.step_started(prepared, index, steps.len());
        let clock = Instant::now();
        let mut entry = AuditEntry {
            id: 0,
            revision: prepared.label(),
            direction: prepared.step.kind.into(),
            heads_before: expected.clone(),
            heads_after: prepared.step.heads_after.clone(),
            checksum: prepared.checksum.clone(),
            started_at: now_rfc3339(),
            duration_ms: 0,
            outcome: Outcome::Started,
            error: None,
            applied_by: input.applied_by.clone(),
        };
        let outcome = sink
            .record_start(prepared, &entry)
            .and_then(|()| run_one(prepared, input.dialect, sink));
        entry.duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        entry.outcome = Outcome::Success;
        let outcome = outcome.and_then(|()| sink.finish_step(prepared, &entry));
        if let Err(err) = &outcome {
            entry.outcome = Outcome::Failed;
            entry.heads_after = expected.clone();
            entry.error = Some(crate::config::url::scrub_known(&err.to_string()));
            // The step's own error is what the user needs; a failure to record it is secondary.
            let _ = sink.fail_step(prepared, &entry);
        }
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

/// What a failure at statement `failed` (the number of statements, for a failed verify) leaves
/// behind, for the hint: all rolled back, or which statements stayed because they could not be
/// rolled back (see [`partial`]).
fn aftermath(prepared: &PreparedStep, dialect: Dialect, failed: usize) -> String {
    let statements: Vec<(&str, usize)> = prepared
        .statements
        .iter()
        .map(|s| (s.sql.as_str(), s.line))
        .collect();
    match partial::describe_applied(dialect, prepared.transactional, &statements, failed) {
        Some(applied) => format!(
            "{applied}\n  the version table still records the last revision that succeeded; undo \
             the applied statements by hand (or make the revision safe to re-run) before running \
             again"
        ),
        None if prepared.transactional => {
            "its changes were rolled back; the database is at the last revision that succeeded"
                .to_string()
        }
        None => "nothing of this revision took effect".to_string(),
    }
}

/// The body of one step: statements, verify queries, version-table ops.
fn run_one(prepared: &PreparedStep, dialect: Dialect, sink: &mut dyn Sink) -> Result<()> {
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
    for (index, statement) in prepared.statements.iter().enumerate() {
        sink.execute(&statement.sql).map_err(|e| {
            fail(
                index,
                statement,
                e.message,
                Some(format!(
                    "fix the statement and run again; {}",
                    aftermath(prepared, dialect, index)
                )),
            )
        })?;
    }
    let rolled_back = aftermath(prepared, dialect, prepared.statements.len());
    for (index, statement) in prepared.verify.iter().enumerate() {
        let ok = sink.verify(&statement.sql).map_err(|e| {
            fail(
                index,
                statement,
                format!("verify query failed: {}", e.message),
                Some(rolled_back.clone()),
            )
        })?;
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
        let err = prepare(&down_plan(&[("a", None)]), &scripts, Dialect::Sqlite).unwrap_err();
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
        let err = prepare(&chain_plan(None, &["a"]), &scripts, Dialect::Postgresql)
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
            Dialect::Postgresql
        )
        .is_ok());
    }

    #[test]
    fn mysql_failure_names_the_statements_its_implicit_commits_kept() {
        let scripts = [script(
            "a",
            &[],
            "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1);\nINSERT INTO nope VALUES (1)",
            None,
        )];
        let plan = chain_plan(None, &["a"]);
        let steps = prepare(&plan, &scripts, Dialect::Mysql).unwrap();
        let hint = aftermath(&steps[0], Dialect::Mysql, 2);
        assert!(
            hint.contains("statement 1 (line 8): CREATE TABLE t (x INTEGER)"),
            "{hint}"
        );
        assert!(
            hint.contains("statement 2 was rolled back"),
            "DML after the last DDL is rolled back (the live sink starts a new transaction after \
             an implicit commit): {hint}"
        );
        assert!(aftermath(&steps[0], Dialect::Postgresql, 2).contains("rolled back"));
    }
}
