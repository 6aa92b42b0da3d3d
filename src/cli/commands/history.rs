//! `history [-r RANGE]`: revisions newest first, in the order Alembic lists them.

use super::Context;
use crate::cli::args::HistoryArgs;
use crate::display::LineParts;
use crate::error::{Error, Result};
use crate::graph::CURRENT;
use crate::project::Project;

pub(super) fn run(ctx: &Context, args: HistoryArgs) -> Result<u8> {
    let range = args.rev_range.as_deref().map(str::trim);
    let names_current = range.is_some_and(|range| {
        range
            .split_once(':')
            .is_some_and(|(lower, upper)| lower == CURRENT || upper == CURRENT)
    });
    let naming_current = range.filter(|_| names_current);
    let (project, rows) = current_rows(ctx, ctx.project()?, naming_current, args.indicate_current)?;
    let revisions = project.graph.history_at(range, rows.as_deref())?;
    // Alembic marks the current revisions only with `-i`, even when the range names them.
    let current = rows.filter(|_| args.indicate_current).unwrap_or_default();
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

/// The database's version rows, with the project back, when an `argument` names `current` or
/// `also_needed` (`-i`). A database that cannot be read for `current` fails naming the argument.
pub(super) fn current_rows(
    ctx: &Context,
    project: Project,
    argument: Option<&str>,
    also_needed: bool,
) -> Result<(Project, Option<Vec<String>>)> {
    if argument.is_none() && !also_needed {
        return Ok((project, None));
    }
    let unreadable = |error: Error| match (argument, error) {
        // An unknown row is the graph's to report, as it always is.
        (Some(argument), error) if !matches!(error, Error::VersionRowWithoutFile { .. }) => {
            Error::CurrentUnreadable {
                argument: argument.to_string(),
                error: Box::new(error),
            }
        }
        (_, error) => error,
    };
    let mut migrator = ctx.migrator(project).map_err(unreadable)?;
    let rows = migrator.version_rows().map_err(unreadable)?;
    Ok((migrator.into_project(), Some(rows)))
}
