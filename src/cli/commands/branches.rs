//! `branches`: each branch point, then one line per branch it starts.

use super::Context;
use crate::cli::args::JsonArgs;
use crate::display::LineParts;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let project = ctx.project()?;
    let points: Vec<String> = project
        .graph
        .history(None)?
        .into_iter()
        .filter(|id| project.graph.info(id).is_some_and(|i| i.is_branch_point))
        .collect();
    if args.json {
        let docs: Vec<_> = points
            .iter()
            .filter_map(|id| project.revision_json(id, None))
            .collect();
        ctx.printer.json(&docs);
        return Ok(0);
    }
    let verbose = ctx.printer.is_verbose();
    let parts = LineParts {
        branches: true,
        tree_indicators: true,
        ..LineParts::default()
    };
    for id in &points {
        let Some(point) = project.shown(id) else {
            continue;
        };
        let header = if verbose {
            point.entry(false)
        } else {
            point.line(parts)
        };
        let indent = " ".repeat(id.len());
        let children: Vec<String> = point
            .info
            .children
            .iter()
            .filter_map(|c| project.shown(c))
            .map(|child| {
                format!(
                    "{indent} -> {}",
                    child.line(LineParts {
                        doc: verbose,
                        ..parts
                    })
                )
            })
            .collect();
        ctx.printer
            .data(format!("{header}\n{}\n", children.join("\n")));
    }
    Ok(0)
}
