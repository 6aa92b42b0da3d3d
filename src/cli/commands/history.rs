//! `history [-r RANGE]`: revisions newest first, in the order Alembic lists them.

use super::Context;
use crate::cli::args::HistoryArgs;
use crate::display::LineParts;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: HistoryArgs) -> Result<u8> {
    let project = ctx.project()?;
    let (project, current) = if args.indicate_current {
        let mut migrator = ctx.migrator(project)?;
        let rows = migrator.version_rows()?;
        (migrator.into_project(), rows)
    } else {
        (project, Vec::new())
    };
    // `current` as an end of the range means the database's revision(s).
    let range = match (&args.rev_range, current.as_slice()) {
        (Some(r), [row]) if r.contains("current") => Some(r.replace("current", row)),
        (Some(r), _) => Some(r.clone()),
        (None, _) => None,
    };
    let revisions = project.graph.history(range.as_deref())?;
    let is_current = |id: &str| current.iter().any(|c| c == id);
    if args.json {
        let indicate = args.indicate_current.then_some(());
        let docs: Vec<_> = revisions
            .iter()
            .filter_map(|id| project.revision_json(id, indicate.map(|()| is_current(id))))
            .collect();
        ctx.printer.json(&docs);
        return Ok(0);
    }
    let verbose = ctx.printer.is_verbose();
    ctx.printer.data_lines(revisions.iter().filter_map(|id| {
        let shown = project.shown(id)?;
        Some(if verbose {
            shown.entry(is_current(id))
        } else {
            shown.line(LineParts {
                branches: true,
                doc: true,
                parents: true,
                tree_indicators: true,
                current: is_current(id),
            })
        })
    }));
    Ok(0)
}
