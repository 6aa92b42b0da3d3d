//! `lint`: prints what [`ops::lint`](crate::ops::lint) found, as text, JSON or SARIF; the
//! `--lint` gate of `check` and `upgrade` shares its resolution and printing.

use std::path::PathBuf;

use super::fleet::{self, project_for, refuse_with_fleet, FleetCommand};
use super::Context;
use crate::cli::args::{LintArgs, LintFormat};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::lint::{output, LintReport};
use crate::ops::lint::{lint, LintDatabase, LintSettings, Selection};
use crate::project::Project;

pub(super) fn run(ctx: &Context, args: LintArgs) -> Result<u8> {
    if args.fleet.fleet.is_some() {
        return run_fleet(ctx, args);
    }
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config).ok();
    // `--no-db` still takes the dialect from the URL; it only does not connect.
    let dialect = args
        .dialect
        .map(Into::into)
        .or(url.as_ref().map(|u| u.dialect()));
    let url = url.filter(|_| !args.no_db);
    let selection = selection(&args);
    let report = lint(
        &project,
        LintSettings {
            selection,
            dialect,
            server_version: args.server_version,
            database: database(url.as_ref()),
        },
    )?;
    let format = if args.json {
        LintFormat::Json
    } else {
        args.format
    };
    match format {
        LintFormat::Json => ctx.printer.json(&report),
        LintFormat::Sarif => {
            ctx.printer.json(&output::sarif(&report, &working_dir()));
        }
        LintFormat::Text => print_text(ctx, &report),
    }
    verdict(&report)
}

/// Which revisions `--all` and `--git-base` select.
fn selection(args: &LintArgs) -> Selection {
    match (args.all, &args.git_base) {
        (_, Some(reference)) => Selection::ChangedSince(reference.clone()),
        (true, None) => Selection::All,
        (false, None) => Selection::Unapplied,
    }
}

/// `lint --fleet`: each target lints what it has not applied, for its own server version;
/// its row (or JSON object, with the findings as `detail`) says what was found.
fn run_fleet(ctx: &Context, args: LintArgs) -> Result<u8> {
    refuse_with_fleet(&args.fleet, "--no-db", args.no_db)?;
    refuse_with_fleet(&args.fleet, "--dialect", args.dialect.is_some())?;
    refuse_with_fleet(
        &args.fleet,
        "--format sarif",
        args.format == LintFormat::Sarif,
    )?;
    let project = ctx.project()?;
    let selection = selection(&args);
    let op = |target: &Target| -> Result<Done> {
        let report = lint(
            &project_for(&project, target),
            LintSettings {
                selection: selection.clone(),
                dialect: None,
                server_version: args.server_version.clone(),
                database: LintDatabase::Target(&target.url),
            },
        )?;
        let error = findings_line(&report);
        let outcome = match error {
            None => TargetOutcome::Ok,
            Some(_) => TargetOutcome::Problems,
        };
        Ok(Done {
            error,
            detail: serde_json::to_value(&report).ok(),
            ..Done::at(outcome, report.applied.clone().unwrap_or_default())
        })
    };
    fleet::run(
        ctx,
        &args.fleet,
        FleetCommand {
            name: "lint".into(),
            changes: None,
            probe: None,
            op: &op,
            json: args.json || args.format == LintFormat::Json,
        },
    )
    .map(|_| 0)
}

/// A fleet target's findings on its row: `2 finding(s): RT153 in c3 line 5, ...`; `None`
/// without any.
pub(super) fn findings_line(report: &LintReport) -> Option<String> {
    let found = &report.result.findings;
    let each: Vec<String> = found
        .iter()
        .map(|f| format!("{} in {} line {}", f.code.id(), f.revision, f.line))
        .collect();
    (!found.is_empty()).then(|| format!("{} finding(s): {}", found.len(), each.join(", ")))
}

/// The database a lint reads: the command's URL, when one is set.
pub(super) fn database(url: Option<&DatabaseUrl>) -> LintDatabase<'_> {
    url.map_or(LintDatabase::None, LintDatabase::Url)
}

/// The lint's exit: 0 when every finding is allowed.
fn verdict(report: &LintReport) -> Result<u8> {
    match report.result.findings.len() {
        0 => Ok(0),
        count => Err(Error::LintFoundProblems { count }),
    }
}

/// Findings on stdout; notes and the summary on stderr.
fn print_text(ctx: &Context, report: &LintReport) {
    ctx.printer
        .data_lines(output::text_findings(report, &working_dir()));
    print_notes(ctx, report);
}

/// A gate's findings, notes and summary, all on stderr (stdout is the command's own).
pub(super) fn print_gate(ctx: &Context, report: &LintReport) {
    for line in output::text_findings(report, &working_dir()) {
        ctx.printer.status(line);
    }
    print_notes(ctx, report);
}

fn print_notes(ctx: &Context, report: &LintReport) {
    for line in output::text_notes(report, ctx.printer.is_verbose(), &working_dir()) {
        ctx.printer.status(line);
    }
}

/// The `--lint` gate of `check` and `upgrade`: lints `selection` of `project` for the database
/// of `url` (or `dialect`, offline). `Ok(report)` either way: the caller decides what a finding
/// means.
pub(super) fn gate(
    project: &Project,
    selection: Selection,
    url: Option<&DatabaseUrl>,
    dialect: Option<Dialect>,
) -> Result<LintReport> {
    lint(
        project,
        LintSettings {
            selection,
            dialect,
            server_version: None,
            database: database(url),
        },
    )
}

/// Where relative paths in the output start.
pub(super) fn working_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}
