//! `check`: validate every revision file and the graph, reporting all problems at once; with a
//! database, also applied revisions whose SQL changed since they ran (drift).

use serde::Serialize;

use super::Context;
use crate::cli::args::CheckArgs;
use crate::error::{Error, Result};
use crate::graph::{RevisionGraph, RevisionSpec};
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
            graph_warnings(&project, &mut report);
            if !args.no_db && report.problems.is_empty() {
                ctx.check_database(&project, &mut report.problems, &mut report.warnings)?;
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

fn graph_warnings(project: &Project, report: &mut CheckReport) {
    let graph = &project.graph;
    report.heads = graph.heads().into_iter().map(String::from).collect();
    if report.heads.len() > 1 {
        report.warnings.push(format!(
            "{} heads ({}): `upgrade head` will fail; merge them with `retort merge heads` or target `heads`",
            report.heads.len(),
            report.heads.join(", ")
        ));
    }
    for script in &project.scripts {
        if !script.sections.is_reversible() {
            report.warnings.push(format!(
                "revision `{}` ({}) has no downgrade section: downgrades through it are refused",
                script.revision,
                script.path.display()
            ));
        }
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
