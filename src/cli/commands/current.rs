//! `current [--verbose] [--json]`: the database's current revision(s). Read-only: a missing
//! database file or version table means base and is never created.

use super::Context;
use crate::cli::args::JsonArgs;
use crate::display::LineParts;
use crate::error::Result;
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

pub(super) fn run(ctx: &Context, args: JsonArgs) -> Result<u8> {
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
