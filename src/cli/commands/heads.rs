//! `heads`: the graph's heads (versioned heads; `--resolve-dependencies`: only real heads).

use super::Context;
use crate::cli::args::HeadsArgs;
use crate::display::LineParts;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: HeadsArgs) -> Result<u8> {
    let project = ctx.project()?;
    let heads: Vec<String> = if args.resolve_dependencies {
        project
            .graph
            .real_heads()
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        project
            .graph
            .heads()
            .into_iter()
            .map(String::from)
            .collect()
    };
    ctx.print_revisions(&project, &heads, args.json, |shown, verbose| {
        if verbose {
            shown.entry(false)
        } else {
            shown.line(LineParts {
                branches: true,
                ..LineParts::default()
            })
        }
    });
    Ok(0)
}
