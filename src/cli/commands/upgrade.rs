//! `upgrade` and `downgrade` (online, `--sql`, `--dry-run`, `--rehearse`, `--report`), and the
//! printing `stamp` shares with them.

use super::backup::print_backup_outcome;
use super::Context;
use crate::cli::args::{DowngradeArgs, RunArgs, UpgradeArgs};
use crate::cli::progress::{describe_heads, StepDisplay};
use crate::config::{Config, Dialect};
use crate::error::{Error, Result};
use crate::migrator::{version_table, PlannedRun};
use crate::ops::run::SchemaGate;
use crate::ops::{self, run::RunOutcome};
use crate::output::Printer;
use crate::report::{Outcome, RunReport};
use crate::settings::{dev_url, Mode, RunFlags, RunSettings};

pub(super) fn run_upgrade(ctx: &Context, args: UpgradeArgs) -> Result<u8> {
    let flags = RunFlags {
        rehearse: args.rehearse,
        verify: args.verify,
        require_no_drift: args.require_no_drift.then_some(args.dev_url),
        ..run_flags(args.run)
    };
    run(ctx, &RunSettings::upgrade(&args.target, flags)?)
}

pub(super) fn run_downgrade(ctx: &Context, args: DowngradeArgs) -> Result<u8> {
    run(
        ctx,
        &RunSettings::downgrade(&args.target, run_flags(args.run))?,
    )
}

/// The flags `upgrade` and `downgrade` share.
fn run_flags(args: RunArgs) -> RunFlags {
    RunFlags {
        sql: args.sql,
        dialect: args.dialect.map(Dialect::from),
        dry_run: args.dry_run,
        report: args.report,
        no_backup: args.no_backup,
        allow_drift: args.allow_drift,
        lock_timeout: Some(args.lock_timeout.0),
        ..RunFlags::default()
    }
}

/// Runs `settings` (online or offline) and prints what happened.
pub(super) fn run(ctx: &Context, settings: &RunSettings) -> Result<u8> {
    let project = ctx.project()?;
    let printer = &ctx.printer;
    if let Mode::Offline { from, dialect } = &settings.mode {
        let plan = ops::offline::plan(&project, &settings.operation, from)?;
        let dialect = offline_dialect(ctx, &project.config, *dialect)?;
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
        .with_lock_timeout(settings.lock_timeout)
        .with_schema_gate(gate);
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
