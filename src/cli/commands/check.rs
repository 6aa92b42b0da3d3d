//! `check`: prints what [`ops::check`](crate::ops::check) found in the revision files, the graph
//! and, unless `--no-db`, the database.

use super::fleet::{self, project_for, FleetCommand};
use super::{lint, Context};
use crate::cli::args::{CheckArgs, LintMode};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::lint::LintReport;
use crate::ops::audit::version_rows;
use crate::ops::check::{check, CheckDatabase, CheckOutcome, SchemaCheck};
use crate::ops::lint::Selection;
use crate::ops::single_head::{single_head, SingleHeadOutcome};
use crate::settings::dev_url;

pub(super) fn run(ctx: &Context, args: CheckArgs) -> Result<u8> {
    if args.single_head {
        let project = ctx.project()?;
        let outcome = single_head(&project, args.git_base.as_deref());
        print_single_head(ctx, &outcome, args.json);
        return match outcome.ok {
            true => Ok(0),
            false => Err(Error::CheckFoundProblems { count: 1 }),
        };
    }
    let config = ctx.config()?;
    if args.fleet.fleet.is_some() {
        return run_fleet(ctx, &args, &config);
    }
    // Without a usable URL, the check says drift was not checked.
    let url = ctx.database_url(&config).ok();
    let database = match (&url, args.no_db) {
        (_, true) => CheckDatabase::Skipped,
        (Some(url), false) => CheckDatabase::Url(url),
        (None, false) => CheckDatabase::Unset,
    };
    let dev = dev_url(args.scratch.dev_url.as_deref(), &config)?;
    let wanted = args.schema || args.schema_file.is_some();
    let schema = wanted.then_some(SchemaCheck {
        live: args.schema,
        file: args.schema_file.as_deref(),
        dev_url: dev.as_ref(),
        lock_timeout: super::upgrade::lock_wait(ctx, &args.scratch.lock_wait),
    });
    let mut outcome = check(config, database, args.strict, schema)?;
    if let Some(mode) = args.lint {
        // Only a sound project can be linted: its problems are already reported.
        if outcome.ok {
            let project = ctx.project()?;
            // `--no-db` still takes the dialect from the URL; it only does not connect.
            let dialect = url.as_ref().map(|u| u.dialect());
            let url = url.filter(|_| !args.no_db);
            let report = lint::gate(&project, Selection::Unapplied, url.as_ref(), dialect)?;
            add_lint(&mut outcome, &report, mode);
        }
    }
    print(ctx, &outcome, args.json);
    if outcome.ok {
        Ok(0)
    } else {
        Err(Error::CheckFoundProblems {
            count: outcome.problems.len(),
        })
    }
}

/// `--lint`: the findings of `report` as problems (`deny`) or warnings of the check.
fn add_lint(outcome: &mut CheckOutcome, report: &LintReport, mode: LintMode) {
    let base = lint::working_dir();
    let lines = report
        .result
        .findings
        .iter()
        .map(|f| crate::lint::output::located(f, &base));
    match mode {
        LintMode::Deny => outcome.problems.extend(lines),
        LintMode::Warn => outcome.warnings.extend(lines),
    }
    outcome.ok = outcome.problems.is_empty();
}

fn print(ctx: &Context, outcome: &CheckOutcome, json: bool) {
    if json {
        ctx.printer.json(outcome);
        return;
    }
    // Each difference is a problem line below; a clean comparison says so.
    if let Some(report) = outcome.schema.as_ref().filter(|r| r.ok) {
        super::drift::print(&ctx.printer, report);
    }
    if let Some(file) = outcome.schema_file.as_ref().filter(|f| !f.ok) {
        ctx.printer.data_raw(&file.diff);
    }
    for problem in &outcome.problems {
        ctx.printer.data(format!("problem: {problem}"));
    }
    for warning in &outcome.warnings {
        ctx.printer.data(format!("warning: {warning}"));
    }
    if outcome.ok {
        ctx.printer.data(format!(
            "ok: {} revision(s), {} head(s), no problems found",
            outcome.revisions,
            outcome.heads.len()
        ));
    }
}

fn print_single_head(ctx: &Context, outcome: &SingleHeadOutcome, json: bool) {
    if json {
        ctx.printer.json(outcome);
        return;
    }
    if outcome.ok {
        ctx.printer
            .data(format!("ok: {} revision(s), one head", outcome.revisions));
        return;
    }
    ctx.printer.data(format!(
        "problem: {} heads ({}): `upgrade head` will fail once they reach one branch",
        outcome.heads.len(),
        outcome.heads.join(", ")
    ));
    let Some(base) = &outcome.git_base else {
        ctx.printer.data(
            "hint: pass `--git-base REF` (the branch this one merges into) to name the revisions to move, or merge them with `retort merge heads`",
        );
        return;
    };
    if let Some(problem) = &outcome.git_problem {
        ctx.printer.data(format!(
            "cannot tell which revisions this branch added: {problem}"
        ));
        return;
    }
    match outcome.added.as_slice() {
        [] => ctx.printer.data(format!(
            "this branch added no revision file since `{base}`: the heads come from `{base}` itself; merge them with `retort merge heads`"
        )),
        added => ctx.printer.data(format!(
            "this branch added since `{base}`, and must move: {}",
            added.join(", ")
        )),
    }
    match &outcome.fix {
        Some(fix) => ctx.printer.data(format!("fix: {fix}")),
        None if !outcome.added.is_empty() => ctx
            .printer
            .data("the other side has several heads itself: merge them with `retort merge heads`"),
        None => {}
    }
}

/// `check --fleet`: the files and graph, and each target's database (drift of applied files,
/// unknown rows; with `--schema` its live schema, with `--lint` what it has not applied).
fn run_fleet(ctx: &Context, args: &CheckArgs, config: &Config) -> Result<u8> {
    let dev = dev_url(args.scratch.dev_url.as_deref(), config)?;
    let lock_timeout = super::upgrade::lock_wait(ctx, &args.scratch.lock_wait);
    // Files that do not load are each target's problems, and nothing is linted then.
    let project = args.lint.and_then(|_| ctx.project().ok());
    let op = |target: &Target| -> Result<Done> {
        let schema = (args.schema || args.schema_file.is_some()).then_some(SchemaCheck {
            live: args.schema,
            file: args.schema_file.as_deref(),
            dev_url: dev.as_ref(),
            lock_timeout,
        });
        let config = target.config(config);
        let mut outcome = check(
            config.clone(),
            CheckDatabase::Url(&target.url),
            args.strict,
            schema,
        )?;
        if let (Some(mode), Some(project), true) = (args.lint, &project, outcome.ok) {
            let project = project_for(project, target);
            let database = Some(&target.url);
            let report = lint::gate(&project, Selection::Unapplied, database, None)?;
            add_lint(&mut outcome, &report, mode);
        }
        let drifted = outcome.schema.as_ref().is_some_and(|r| !r.ok);
        let result = match (outcome.ok, drifted) {
            (true, _) => TargetOutcome::Ok,
            (false, true) => TargetOutcome::Drifted,
            (false, false) => TargetOutcome::Problems,
        };
        // The CURRENT column: what the drift check built to, else read for it.
        let rows = match &outcome.schema {
            Some(report) => report.heads.clone(),
            None => version_rows(&config, &target.url)?,
        };
        Ok(Done {
            error: (!outcome.ok).then(|| outcome.problems.join("; ")),
            detail: serde_json::to_value(&outcome).ok(),
            ..Done::at(result, rows)
        })
    };
    fleet::run(
        ctx,
        &args.fleet,
        FleetCommand {
            name: "check".into(),
            changes: None,
            probe: None,
            op: &op,
            json: args.json,
        },
    )
    .map(|_| 0)
}
