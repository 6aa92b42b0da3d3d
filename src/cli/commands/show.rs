//! `show REV`: the revision(s) any target form names, in full; `show current` the database's.

use super::history::current_rows;
use super::Context;
use crate::cli::args::ShowArgs;
use crate::error::Result;
use crate::graph::CURRENT;

pub(super) fn run(ctx: &Context, args: ShowArgs) -> Result<u8> {
    let naming_current = Some(args.rev.as_str()).filter(|&rev| rev == CURRENT);
    let (project, rows) = current_rows(ctx, ctx.project()?, naming_current, false)?;
    let revisions = project.graph.show(&args.rev, rows.as_deref())?;
    ctx.print_revisions(&project, &revisions, args.json, |shown, _| {
        shown.entry(false)
    });
    Ok(0)
}
