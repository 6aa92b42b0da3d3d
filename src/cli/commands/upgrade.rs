//! `upgrade` and `downgrade` (online, `--sql`, `--dry-run`, `--rehearse`, `--report`), and the
//! printing `stamp` shares with them.

use super::backup::print_backup_outcome;
use super::fleet::{project_for, refuse_with_fleet, FleetCommand};
use super::{lint, Context};
use std::time::Duration;

use crate::cli::args::{
    DowngradeArgs, FleetArgs, LintMode, LockWaitArgs, RolloutArgs, RunArgs, UpgradeArgs,
};
use crate::cli::progress::{describe_heads, StepDisplay};
use crate::config::{Config, Dialect};
use crate::error::{Error, Result};
use crate::fleet::run::{interrupt_flag, StopOnInterrupt};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::migrator::Migrator;
use crate::migrator::{version_table, PlannedRun};
use crate::ops::lint::Selection;
use crate::ops::run::SchemaGate;
use crate::ops::{self, run::RunOutcome};
use crate::output::Printer;
use crate::report::{Outcome, RunReport};
use crate::settings::{dev_url, Mode, RunFlags, RunSettings};

pub(super) fn run_upgrade(ctx: &Context, args: UpgradeArgs) -> Result<u8> {
    refuse_with_fleet(&args.fleet, "--sql", args.run.sql)?;
    refuse_with_fleet(&args.fleet, "--report", args.run.report.is_some())?;
    // A warning has no place on a target's row: `lint --fleet` reports them all.
    refuse_with_fleet(
        &args.fleet,
        "--lint warn",
        args.lint == Some(LintMode::Warn),
    )?;
    let flags = RunFlags {
        rehearse: args.rehearse,
        verify: args.verify,
        require_no_drift: args.require_no_drift.then_some(args.dev_url),
        ..run_flags(ctx, args.run)
    };
    let settings = RunSettings::upgrade(&args.target, flags)?;
    match &args.fleet.fleet {
        Some(_) => run_fleet(ctx, &settings, &args.fleet, &args.rollout, args.lint),
        None => run(ctx, &settings, args.lint),
    }
}

pub(super) fn run_downgrade(ctx: &Context, args: DowngradeArgs) -> Result<u8> {
    refuse_with_fleet(&args.fleet, "--sql", args.run.sql)?;
    refuse_with_fleet(&args.fleet, "--report", args.run.report.is_some())?;
    let settings = RunSettings::downgrade(&args.target, run_flags(ctx, args.run))?;
    match &args.fleet.fleet {
        Some(_) => run_fleet(ctx, &settings, &args.fleet, &args.rollout, None),
        None => run(ctx, &settings, None),
    }
}

/// `upgrade`, `downgrade` or `stamp` with `--fleet`: a read-only first pass finds the targets
/// with something to do (without their locks), then each of those runs as one `upgrade` would
/// (`--lint deny`: refused on a target whose revisions to apply have findings).
pub(super) fn run_fleet(
    ctx: &Context,
    settings: &RunSettings,
    fleet: &FleetArgs,
    rollout: &RolloutArgs,
    lint: Option<LintMode>,
) -> Result<u8> {
    let project = ctx.project()?;
    let operation = &settings.operation;
    // `--require-no-drift`: each target's run compares its schema under its own lock.
    let dev = match &settings.require_no_drift {
        Some(flag) => Some(dev_url(flag.as_deref(), &project.config)?),
        None => None,
    };
    let probe = |target: &Target| -> Result<Done> {
        let project = project_for(&project, target);
        let rows = ops::audit::version_rows(&project.config, &target.url)?;
        let plan = ops::run::plan(operation, &project, &rows)?;
        let outcome = if plan.changes_database() {
            TargetOutcome::Behind
        } else {
            TargetOutcome::UpToDate
        };
        Ok(Done::at(outcome, rows))
    };
    let op = |target: &Target| -> Result<Done> {
        let mut migrator = Migrator::from_project(project_for(&project, target))
            .with_database_url(target.url.clone())
            .with_os_user(ctx.settings.user.clone())
            .with_migration_lock_wait(settings.migration_lock_wait)
            .with_schema_gate(dev.as_ref().map(|dev_url| SchemaGate {
                url: target.url.clone(),
                dev_url: dev_url.clone(),
            }));
        if lint == Some(LintMode::Deny) {
            // What this target's run would apply, read without a lock.
            let planned = migrator.plan(operation)?;
            let ids = planned.steps.iter().filter_map(|s| s.step.revision.clone());
            let report = lint::gate(
                migrator.project(),
                Selection::Revisions(ids.collect()),
                Some(&target.url),
                None,
            )?;
            if let Some(found) = lint::findings_line(&report) {
                return Ok(Done {
                    error: Some(format!("refused by --lint deny, nothing changed: {found}")),
                    detail: serde_json::to_value(&report).ok(),
                    ..Done::at(TargetOutcome::Problems, planned.heads_before)
                });
            }
        }
        let mut progress = StopOnInterrupt {
            flag: interrupt_flag(),
            stopped: false,
        };
        let outcome = ops::run::run(
            &mut migrator,
            &target.url,
            settings,
            &mut progress,
            &mut |_| {},
        )?;
        Ok(match outcome {
            RunOutcome::Planned(planned) => Done {
                steps: planned.steps.len(),
                before: planned.heads_before.clone(),
                after: planned.heads_after.clone(),
                ..Done::at(
                    if planned.changes_database() {
                        TargetOutcome::Behind
                    } else {
                        TargetOutcome::UpToDate
                    },
                    Vec::new(),
                )
            },
            RunOutcome::Ran(ran) => {
                let steps = ran
                    .report
                    .steps
                    .iter()
                    .filter(|s| s.outcome == Outcome::Success)
                    .count();
                let verify_failed = ran.verify.as_ref().is_some_and(|v| !v.ok);
                let (outcome, error) = match (&ran.failure, verify_failed) {
                    (Some(e), _) => (TargetOutcome::Failed, Some(crate::fleet::describe(e))),
                    (None, _) if progress.stopped => (
                        TargetOutcome::Interrupted,
                        Some(format!("Ctrl-C: stopped after {steps} revision(s)")),
                    ),
                    (None, true) => (
                        TargetOutcome::Problems,
                        ran.verify
                            .as_ref()
                            .map(|v| format!("verify found {} problem(s)", v.problem_count())),
                    ),
                    (None, false)
                        if steps > 0 || ran.report.heads_before != ran.report.heads_after =>
                    {
                        (TargetOutcome::Migrated, None)
                    }
                    (None, false) => (TargetOutcome::UpToDate, None),
                };
                Done {
                    outcome,
                    before: ran.report.heads_before,
                    after: ran.report.heads_after,
                    steps,
                    pending: None,
                    error,
                    detail: ran.verify.and_then(|v| serde_json::to_value(v).ok()),
                }
            }
        })
    };
    let dry_run = settings.mode == Mode::DryRun;
    super::fleet::run(
        ctx,
        fleet,
        FleetCommand {
            name: format!("{} {}", operation.kind().name(), operation.target_text()),
            changes: (!dry_run).then_some(rollout),
            probe: (!dry_run).then_some(&probe),
            op: &op,
            json: rollout.json,
        },
    )
    .map(|_| 0)
}

/// `--migration-lock-wait`, or its old name `--lock-timeout` with a note on stderr.
pub(super) fn migration_lock_wait(ctx: &Context, args: &LockWaitArgs) -> Option<Duration> {
    Some(lock_wait(ctx, args))
}

/// The wait `--migration-lock-wait` (or its old name, with a note) gives.
pub(super) fn lock_wait(ctx: &Context, args: &LockWaitArgs) -> Duration {
    let (wait, note) = args.resolve();
    if let Some(note) = note {
        ctx.printer.warn(note);
    }
    wait
}

/// The flags `upgrade` and `downgrade` share.
fn run_flags(ctx: &Context, args: RunArgs) -> RunFlags {
    RunFlags {
        sql: args.sql,
        dialect: args.dialect.map(Dialect::from),
        dry_run: args.dry_run,
        report: args.report,
        no_backup: args.no_backup,
        allow_drift: args.allow_drift,
        migration_lock_wait: migration_lock_wait(ctx, &args.lock_wait),
        ..RunFlags::default()
    }
}

/// Runs `settings` (online or offline) and prints what happened; with `lint`, lints the
/// revisions it would run first (see [`lint_gate`]).
pub(super) fn run(ctx: &Context, settings: &RunSettings, lint: Option<LintMode>) -> Result<u8> {
    let project = ctx.project()?;
    let printer = &ctx.printer;
    if let Mode::Offline { from, dialect } = &settings.mode {
        let plan = ops::offline::plan(&project, &settings.operation, from)?;
        let dialect = offline_dialect(ctx, &project.config, *dialect)?;
        if let Some(mode) = lint {
            let ids = plan.steps.iter().filter_map(|s| s.revision.clone());
            lint_gate(ctx, &project, ids.collect(), None, Some(dialect), mode)?;
        }
        let offline = ops::offline::render(&project, plan, dialect)?;
        if !offline.running_lines.is_empty() {
            printer.status(offline.running_lines.join("\n").trim_end());
        }
        printer.data_raw(&offline.script);
        return Ok(0);
    }
    let url = match settings.mode {
        Mode::Run | Mode::Rehearse => ctx.name_database(&project.config)?,
        Mode::DryRun | Mode::Offline { .. } => ctx.database_url(&project.config)?,
    };
    let gate = match &settings.require_no_drift {
        Some(flag) => Some(SchemaGate {
            url: url.clone(),
            dev_url: dev_url(flag.as_deref(), &project.config)?,
        }),
        None => None,
    };
    let mut migrator = ctx
        .migrator(project)?
        .with_migration_lock_wait(settings.migration_lock_wait)
        .with_schema_gate(gate);
    if let Some(mode) = lint {
        // What the run would apply, read without a lock; nothing has changed yet.
        let planned = migrator.plan(&settings.operation)?;
        let ids = planned.steps.iter().filter_map(|s| s.step.revision.clone());
        lint_gate(
            ctx,
            migrator.project(),
            ids.collect(),
            Some(&url),
            None,
            mode,
        )?;
    }
    let rehearse = settings.mode == Mode::Rehearse;
    let mut display = StepDisplay::new(printer, rehearse);
    let outcome = ops::run::run(&mut migrator, &url, settings, &mut display, &mut |backup| {
        print_backup_outcome(printer, backup)
    });
    display.finish();
    let ran = match outcome? {
        RunOutcome::Planned(planned) => {
            let table = version_table(&migrator.project().config, url.dialect())?;
            print_plan(printer, &url.to_string(), &table.display_name(), &planned);
            return Ok(0);
        }
        RunOutcome::Ran(ran) => ran,
    };
    summarize(printer, &ran.report, ran.failure.is_some(), rehearse);
    if let Some(failure) = ran.failure {
        return Err(failure);
    }
    let Some(checks) = ran.verify else {
        return Ok(0);
    };
    for line in checks.text_lines() {
        printer.status(line);
    }
    if checks.ok {
        return Ok(0);
    }
    Err(Error::VerifyFoundProblemsAfterRun {
        count: checks.problem_count(),
    })
}

/// `--lint`: lints the revisions `ids` a run would apply and prints the findings; under `deny`
/// a finding refuses the run before it takes a lock or changes anything.
fn lint_gate(
    ctx: &Context,
    project: &crate::project::Project,
    ids: std::collections::HashSet<String>,
    url: Option<&crate::config::DatabaseUrl>,
    dialect: Option<Dialect>,
    mode: LintMode,
) -> Result<()> {
    let report = lint::gate(project, Selection::Revisions(ids), url, dialect)?;
    lint::print_gate(ctx, &report);
    match (mode, report.result.findings.len()) {
        (LintMode::Deny, count @ 1..) => Err(Error::LintRefused { count }),
        _ => Ok(()),
    }
}

/// The dialect of an offline run: `--dialect`, else the URL's.
fn offline_dialect(ctx: &Context, config: &Config, dialect: Option<Dialect>) -> Result<Dialect> {
    match dialect {
        Some(d) => Ok(d),
        None => ctx
            .database_url(config)
            .map(|url| url.dialect())
            .map_err(|error| Error::OfflineDialectUnknown {
                error: Box::new(error),
            }),
    }
}

/// `--dry-run`: the plan for the database `url` (whose version table is `table`).
fn print_plan(printer: &Printer, url: &str, table: &str, planned: &PlannedRun) {
    let rows = &planned.heads_before;
    if !planned.changes_database() {
        printer.data(format!(
            "nothing to do: `{url}` is already at {}",
            describe_heads(rows)
        ));
        return;
    }
    printer.data(format!(
        "plan for `{url}` (dry run; nothing was changed), from {}:",
        describe_heads(rows)
    ));
    if planned.purge {
        printer.data(format!("  delete every row of `{table}`"));
    }
    for step in &planned.steps {
        printer.data(format!("  {}", step.running_line()));
    }
    printer.data(format!("then at {}", describe_heads(&planned.heads_after)));
}

/// The end of a run: the rehearsal's table, or where the database is now.
fn summarize(printer: &Printer, report: &RunReport, failed: bool, rehearse: bool) {
    let ok = report
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Success)
        .count();
    if rehearse {
        for step in &report.steps {
            printer.data(format!(
                "{:<7} {} {} -> {} ({} ms)",
                step.outcome,
                step.kind.running_name(),
                step.from.join(", "),
                step.to.join(", "),
                step.duration_ms
            ));
        }
        // What the rehearsal did to the rows, before the line saying it was all undone.
        for line in row_changes(report) {
            printer.data(line);
        }
        let verdict = if failed {
            "rehearsal failed"
        } else {
            "rehearsal succeeded"
        };
        printer.data(format!(
            "{verdict}: {ok} of {} revision(s) ran; everything was rolled back, the database is \
             unchanged",
            report.steps.len()
        ));
        return;
    }
    for line in row_changes(report) {
        printer.status(line);
    }
    if report.steps.is_empty() && !failed {
        printer.status(format!(
            "nothing to do: the database is at {}",
            describe_heads(&report.heads_after)
        ));
    } else if !failed && printer.shows_progress() {
        // The progress bar clears itself; say where the run ended.
        printer.status(format!(
            "done: {ok} step(s); the database is at {}",
            describe_heads(&report.heads_after)
        ));
    }
}

/// `--report`, `--rehearse`: the tables whose row count the run changed.
fn row_changes(report: &RunReport) -> Vec<String> {
    report
        .row_counts
        .as_ref()
        .map(|counts| counts.changes())
        .unwrap_or_default()
}
