//! `check`: validate every revision file and the graph, reporting all problems at once; with a
//! database, also applied revisions whose SQL changed since they ran (drift).

use serde::Serialize;

use super::Context;
use crate::cli::args::CheckArgs;
use crate::error::{Error, Result};
use crate::graph::{RevisionGraph, RevisionSpec};
use crate::migrator::{graph_warnings, Migrator};
use crate::project::Project;
use crate::script;

#[derive(Debug, Default, Serialize)]
struct CheckReport {
    ok: bool,
    revisions: usize,
    heads: Vec<String>,
    /// Faults that make commands fail: bad files, graph errors, drift.
    problems: Vec<String>,
    /// Worth knowing, not wrong: several heads, irreversible revisions, file-name mismatches.
    warnings: Vec<String>,
}

pub(super) fn run(ctx: &Context, args: CheckArgs) -> Result<u8> {
    let config = ctx.config()?;
    let scan = script::scan_all(
        &config.version_locations,
        config.recursive_version_locations,
        script::cache::dir_for(&config.script_location).as_deref(),
    )?;
    let mut report = CheckReport {
        revisions: scan.scripts.len() + scan.errors.len(),
        ..CheckReport::default()
    };
    report
        .problems
        .extend(scan.errors.iter().map(ToString::to_string));
    report.warnings.extend(
        scan.warnings
            .iter()
            .map(|w| format!("{}: {}", w.path.display(), w.message)),
    );

    let specs: Vec<RevisionSpec> = scan.scripts.iter().map(RevisionSpec::from).collect();
    match RevisionGraph::build(&specs) {
        Ok(graph) => {
            let project = Project {
                config,
                scripts: scan.scripts,
                graph,
                warnings: Vec::new(),
            };
            report.heads = project
                .graph
                .heads()
                .into_iter()
                .map(String::from)
                .collect();
            if args.no_db || !report.problems.is_empty() {
                report.warnings.extend(graph_warnings(&project));
            } else {
                // Without a usable URL, `Migrator::check` says drift was not checked.
                let url = ctx.database_url(&project.config).ok();
                let mut migrator = Migrator::from_project(project);
                if let Some(url) = url {
                    migrator = migrator.with_database_url(url);
                }
                let found = migrator.check()?;
                report.problems.extend(found.problems);
                report.warnings.extend(found.warnings);
            }
        }
        Err(e) => {
            let mut message = e.to_string();
            if let Some(hint) = e.hint() {
                message.push_str(&format!(" ({hint})"));
            }
            report.problems.push(message);
        }
    }
    report.ok = report.problems.is_empty();
    print(ctx, &report, args.json);
    if report.ok {
        Ok(0)
    } else {
        Err(Error::CheckFailed {
            message: format!("check found {} problem(s)", report.problems.len()),
        })
    }
}

fn print(ctx: &Context, report: &CheckReport, json: bool) {
    if json {
        ctx.printer.json(report);
        return;
    }
    for problem in &report.problems {
        ctx.printer.data(format!("problem: {problem}"));
    }
    for warning in &report.warnings {
        ctx.printer.data(format!("warning: {warning}"));
    }
    if report.ok {
        ctx.printer.data(format!(
            "ok: {} revision(s), {} head(s), no problems found",
            report.revisions,
            report.heads.len()
        ));
    }
}
