//! `current [--verbose] [--json]`: the database's current revision(s). Read-only: a missing
//! database file or version table means base and is never created.

use super::fleet::{self, project_for, FleetCommand};
use super::Context;
use crate::cli::args::ReadArgs;
use crate::display::LineParts;
use crate::error::Result;
use crate::fleet::{Done, Target, TargetOutcome};
use crate::migrator::Migrator;
use crate::project::Project;

/// Alembic's `current` line: `<rev>[ (head)|(effective head)][ (branchpoint)][ (mergepoint)]`.
pub(super) fn current_line(project: &Project, id: &str) -> String {
    project.shown(id).map_or_else(
        || id.to_string(),
        |shown| {
            shown.line(LineParts {
                tree_indicators: true,
                ..LineParts::default()
            })
        },
    )
}

pub(super) fn run(ctx: &Context, args: ReadArgs) -> Result<u8> {
    if args.fleet.fleet.is_some() {
        let project = ctx.project()?;
        let op = |target: &Target| -> Result<Done> {
            let rows = Migrator::from_project(project_for(&project, target))
                .with_database_url(target.url.clone())
                .current()?;
            Ok(Done::at(TargetOutcome::Ok, rows))
        };
        return fleet::run(
            ctx,
            &args.fleet,
            FleetCommand {
                name: "current".into(),
                changes: None,
                probe: None,
                op: &op,
                json: args.json,
            },
        )
        .map(|_| 0);
    }
    let mut migrator = ctx.migrator(ctx.project()?)?;
    let current = migrator.current()?;
    let project = migrator.project();
    let printer = &ctx.printer;
    if args.json {
        let revisions: Vec<_> = current
            .iter()
            .filter_map(|id| project.revision_json(id, Some(true)))
            .collect();
        printer.json(&revisions);
        return Ok(0);
    }
    if printer.is_verbose() {
        let url = ctx.database_url(&project.config)?;
        printer.data(format!("Current revision(s) for {url}:"));
        for shown in current.iter().filter_map(|id| project.shown(id)) {
            printer.data(shown.entry(false));
        }
    } else {
        for id in &current {
            printer.data(current_line(project, id));
        }
    }
    Ok(0)
}
