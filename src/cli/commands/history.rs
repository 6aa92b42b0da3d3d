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
    let range = args
        .rev_range
        .as_deref()
        .map(|range| with_current(range, &current));
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

/// `range` with `current` as an end of it standing for the database's one revision (with
/// several, `current` is left for the graph to refuse).
fn with_current(range: &str, current: &[String]) -> String {
    match (range.split_once(':'), current) {
        (Some((lower, upper)), [row]) => {
            let end = |end: &str| {
                if end == "current" {
                    row.clone()
                } else {
                    end.to_string()
                }
            };
            format!("{}:{}", end(lower), end(upper))
        }
        _ => range.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_current;

    #[test]
    fn current_stands_for_the_one_database_revision_at_either_end_only() {
        let row = ["ae10".to_string()];
        assert_eq!(with_current("current:", &row), "ae10:");
        assert_eq!(with_current("base:current", &row), "base:ae10");
        assert_eq!(with_current("currently:heads", &row), "currently:heads");
        assert_eq!(with_current("current:", &[]), "current:");
    }
}
