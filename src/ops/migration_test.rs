//! `retort test`: the migration test suite on a scratch database. The graph is walked in
//! upgrade order (merges included); each revision is upgraded, its `-- migrate:test` queries
//! run, then it is downgraded and the schema must equal the one before it (every object that
//! differs is named), then it is upgraded again. At the end the schema must equal what
//! `upgrade heads` builds from empty. Irreversible revisions are upgraded and reported as
//! skipped for the down check.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::DatabaseUrl;
use crate::db::Connection;
use crate::error::{Error, Result};
use crate::exec::live::{run_locked, under_migration_lock, LiveOptions};
use crate::exec::Silent;
use crate::graph::plan::{Step, VersionOp};
use crate::graph::Plan;
use crate::ops::schema::{build, scratch_options};
use crate::project::Project;
use crate::report::StepKind;
use crate::schema::diff::{diff, Difference};
use crate::schema::scratch::Scratch;
use crate::schema::{self, Filter, Schema};
use crate::script::checksum::section_statements;
use crate::script::SectionKind;

/// How one check of a revision went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Check {
    Passed,
    Failed,
    /// Not run: the revision is irreversible (down check), or has no `-- migrate:test`.
    Skipped,
    /// Not reached: an earlier failure stopped the walk.
    NotRun,
}

/// One revision's tests.
#[derive(Debug, Serialize)]
pub(crate) struct RevisionTest {
    pub revision: String,
    pub path: String,
    pub upgrade: Check,
    /// The `-- migrate:test` queries after the upgrade.
    pub data_test: Check,
    /// Downgrade, then the schema equals the one before the upgrade.
    pub down_check: Check,
    /// What the downgrade left different (`+` left behind, `-` not restored, `~` changed).
    pub differences: Vec<Difference>,
    /// Why a step or query failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl RevisionTest {
    pub(crate) fn failed(&self) -> bool {
        [self.upgrade, self.data_test, self.down_check].contains(&Check::Failed)
    }
}

/// What `retort test` found.
#[derive(Debug, Serialize)]
pub(crate) struct TestReport {
    pub ok: bool,
    /// Where the revisions ran.
    pub built_in: String,
    pub revisions: Vec<RevisionTest>,
    /// The final schema against `upgrade heads` from empty.
    pub final_check: Check,
    pub final_differences: Vec<Difference>,
    pub duration_ms: u64,
}

impl TestReport {
    pub(crate) fn failed(&self) -> usize {
        self.revisions.iter().filter(|r| r.failed()).count()
            + usize::from(self.final_check == Check::Failed)
    }
}

/// Runs the suite for `project` on scratch databases beside `url` (or on `dev_url`), from
/// base, or from the revision `from` (built first, not tested).
pub(crate) fn run_tests(
    project: &Project,
    url: &DatabaseUrl,
    dev_url: Option<&DatabaseUrl>,
    from: Option<&str>,
    lock_timeout: Duration,
) -> Result<TestReport> {
    let clock = Instant::now();
    let mut scratch = Scratch::create(url, dev_url)?;
    let dialect = url.dialect();
    let filter = Filter::new(&project.config, dialect)?;
    let options = scratch_options(project, dialect, lock_timeout)?;
    let mut rows = Vec::new();
    if let Some(from) = from {
        let start = project.graph.plan_upgrade(&[], from)?.heads_after();
        build(project, scratch.conn(), &start, lock_timeout)?;
        rows = start;
    }
    let plan = project.graph.plan_upgrade(&rows, "heads")?;
    let heads = plan.heads_after();
    std::thread::scope(|scope| {
        // The server builds `upgrade heads` from empty in a scratch database of its own while
        // the walk runs; the one `dev_url` database builds it after the walk instead.
        let expected = dev_url.is_none().then(|| {
            scope.spawn(|| -> Result<Schema> {
                let mut scratch = Scratch::create(url, None)?;
                build(project, scratch.conn(), &heads, lock_timeout)?;
                schema::introspect(scratch.conn(), &filter)
            })
        });
        // One migration lock for the whole walk: nothing else knows the scratch database,
        // but each run of a step expects the lock held.
        let walk = under_migration_lock(
            scratch.conn(),
            &options.table,
            lock_timeout,
            &mut Silent,
            |conn, _| walk(project, conn, &options, &filter, &plan, rows),
        );
        let expected = match expected {
            Some(thread) => Some(thread.join().map_err(|_| {
                Error::Internal("the build of `upgrade heads` from empty panicked".into())
            })?),
            None => None,
        };
        let (revisions, stopped) = walk?;
        let (final_check, final_differences) = if stopped {
            (Check::NotRun, Vec::new())
        } else {
            let walked = schema::introspect(scratch.conn(), &filter)?;
            let expected = match expected {
                Some(built) => built?,
                None => {
                    scratch.reset()?;
                    build(project, scratch.conn(), &heads, lock_timeout)?;
                    schema::introspect(scratch.conn(), &filter)?
                }
            };
            let differences = diff(&expected, &walked);
            let check = if differences.is_empty() {
                Check::Passed
            } else {
                Check::Failed
            };
            (check, differences)
        };
        let mut report = TestReport {
            ok: false,
            built_in: scratch.shown.clone(),
            revisions,
            final_check,
            final_differences,
            duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        report.ok = report.failed() == 0 && report.final_check != Check::NotRun;
        Ok(report)
    })
}

/// Tests each revision `plan` upgrades, from version rows `rows`, until one leaves the
/// database at an unknown state; the tests, and whether the walk stopped.
fn walk(
    project: &Project,
    conn: &mut dyn Connection,
    options: &LiveOptions,
    filter: &Filter,
    plan: &Plan,
    mut rows: Vec<String>,
) -> Result<(Vec<RevisionTest>, bool)> {
    let mut revisions = Vec::new();
    let mut stopped = false;
    for step in &plan.steps {
        let Some(revision) = step
            .revision
            .clone()
            .filter(|_| step.kind == StepKind::Upgrade)
        else {
            continue;
        };
        let path = project
            .script(&revision)
            .map(|s| s.path.display().to_string())
            .unwrap_or_default();
        let mut test = RevisionTest {
            revision,
            path,
            upgrade: Check::NotRun,
            data_test: Check::NotRun,
            down_check: Check::NotRun,
            differences: Vec::new(),
            error: None,
            duration_ms: 0,
        };
        if !stopped {
            let started = Instant::now();
            stopped = !test_revision(project, &mut *conn, options, filter, step, &rows, &mut test)?;
            test.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        }
        rows = step.heads_after.clone();
        revisions.push(test);
    }
    Ok((revisions, stopped))
}

/// Upgrade, data test, downgrade and compare, upgrade again, for the revision of `step` from
/// version rows `rows`. `Ok(false)`: the database is no longer at a known state and the walk
/// stops.
fn test_revision(
    project: &Project,
    conn: &mut dyn Connection,
    options: &LiveOptions,
    filter: &Filter,
    step: &Step,
    rows: &[String],
    test: &mut RevisionTest,
) -> Result<bool> {
    let snapshot: Schema = schema::introspect(conn, filter)?;
    let up = Plan {
        purge: false,
        heads_before: rows.to_vec(),
        steps: vec![step.clone()],
    };
    let run = |conn: &mut dyn Connection, plan: &Plan| -> std::result::Result<(), String> {
        let planner = |_: &[String]| Ok(plan.clone());
        run_locked(conn, options, &project.scripts, &planner, None, &mut Silent)
            .map(drop)
            .map_err(|e| e.without_report().to_string())
    };
    if let Err(error) = run(conn, &up) {
        test.upgrade = Check::Failed;
        test.error = Some(error);
        return Ok(false);
    }
    test.upgrade = Check::Passed;
    let Some(script) = project.script(&test.revision) else {
        return Err(Error::Internal(format!(
            "the plan names `{}`, which has no file",
            test.revision
        )));
    };
    test.data_test = match data_test(conn, script)? {
        None => Check::Skipped,
        Some(Ok(())) => Check::Passed,
        Some(Err(error)) => {
            test.error = Some(error);
            Check::Failed
        }
    };
    if script
        .sections
        .get(SectionKind::Downgrade, conn.dialect())
        .is_none()
    {
        test.down_check = Check::Skipped;
        return Ok(true);
    }
    let down = Plan {
        purge: false,
        heads_before: step.heads_after.clone(),
        steps: vec![inverse(step, rows)],
    };
    if let Err(error) = run(conn, &down) {
        test.down_check = Check::Failed;
        test.error = Some(error);
        return Ok(false);
    }
    test.differences = diff(&snapshot, &schema::introspect(conn, filter)?);
    test.down_check = if test.differences.is_empty() {
        Check::Passed
    } else {
        Check::Failed
    };
    if let Err(error) = run(conn, &up) {
        // After a downgrade that left objects behind, this is the expected consequence.
        if test.down_check == Check::Passed {
            test.upgrade = Check::Failed;
        }
        test.error = Some(format!("upgrading again after the downgrade: {error}"));
        return Ok(false);
    }
    Ok(true)
}

/// The `-- migrate:test` queries of `script`: `None` without any, else whether each returned a
/// true first column (no row is false).
fn data_test(
    conn: &mut dyn Connection,
    script: &crate::script::Script,
) -> Result<Option<std::result::Result<(), String>>> {
    let statements = section_statements(script, SectionKind::Test, conn.dialect())?;
    if statements.is_empty() {
        return Ok(None);
    }
    for statement in statements {
        let at = format!("{}:{}", script.path.display(), statement.line);
        let ok = match conn.query(&statement.sql) {
            Ok(rows) => rows
                .first()
                .and_then(|row| row.first())
                .is_some_and(|value| value.is_truthy()),
            Err(e) => return Ok(Some(Err(format!("{at}: test query failed: {}", e.message)))),
        };
        if !ok {
            return Ok(Some(Err(format!(
                "{at}: test query did not return true: {}",
                crate::error::clip(&statement.sql, 200)
            ))));
        }
    }
    Ok(Some(Ok(())))
}

/// The downgrade step that undoes the upgrade `step` taken from version rows `rows`.
fn inverse(step: &Step, rows: &[String]) -> Step {
    let mut heads_after = rows.to_vec();
    heads_after.sort();
    Step {
        kind: StepKind::Downgrade,
        revision: step.revision.clone(),
        from: step.to.clone(),
        to: step.from.clone(),
        version_table_empty_before: false,
        ops: step
            .ops
            .iter()
            .rev()
            .map(|op| match op {
                VersionOp::Insert { revision } => VersionOp::Delete {
                    revision: revision.clone(),
                },
                VersionOp::Delete { revision } => VersionOp::Insert {
                    revision: revision.clone(),
                },
                VersionOp::Update { from, to } => VersionOp::Update {
                    from: to.clone(),
                    to: from.clone(),
                },
            })
            .collect(),
        heads_after,
    }
}

/// The report as JUnit XML: one test case per revision and one for the final schema.
pub(crate) fn junit(report: &TestReport) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    };
    let seconds = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let mut cases = String::new();
    let mut skipped = 0;
    for test in &report.revisions {
        cases.push_str(&format!(
            "    <testcase classname=\"retort.revisions\" name=\"{}\" file=\"{}\" time=\"{}\"",
            escape(&test.revision),
            escape(&test.path),
            seconds(test.duration_ms)
        ));
        if test.failed() {
            let mut details: Vec<String> =
                test.differences.iter().map(ToString::to_string).collect();
            details.extend(test.error.clone());
            let message = if test.down_check == Check::Failed && !test.differences.is_empty() {
                "the downgrade did not restore the schema".to_string()
            } else {
                test.error.clone().unwrap_or_default()
            };
            cases.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&message),
                escape(&details.join("\n"))
            ));
        } else if test.upgrade == Check::NotRun || test.down_check == Check::Skipped {
            skipped += 1;
            let why = if test.upgrade == Check::NotRun {
                "not run: an earlier revision failed"
            } else {
                "irreversible: no downgrade section, down check skipped"
            };
            cases.push_str(&format!(
                ">\n      <skipped message=\"{why}\"/>\n    </testcase>\n"
            ));
        } else {
            cases.push_str("/>\n");
        }
    }
    cases.push_str("    <testcase classname=\"retort.schema\" name=\"final schema equals upgrade heads from empty\"");
    match report.final_check {
        Check::Failed => {
            let details: Vec<String> = report
                .final_differences
                .iter()
                .map(ToString::to_string)
                .collect();
            cases.push_str(&format!(
                ">\n      <failure message=\"the walked schema differs from upgrade heads\">{}</failure>\n    </testcase>\n",
                escape(&details.join("\n"))
            ));
        }
        Check::NotRun | Check::Skipped => {
            skipped += 1;
            cases.push_str(
                ">\n      <skipped message=\"not run: a revision failed\"/>\n    </testcase>\n",
            );
        }
        Check::Passed => cases.push_str("/>\n"),
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"retort\" tests=\"{}\" failures=\"{}\" skipped=\"{skipped}\" time=\"{}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.revisions.len() + 1,
        report.failed(),
        seconds(report.duration_ms)
    )
}
