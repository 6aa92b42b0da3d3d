//! `show REV`: the revision(s) any target form names, in full.

use super::Context;
use crate::cli::args::ShowArgs;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: ShowArgs) -> Result<u8> {
    let project = ctx.project()?;
    let revisions = project.graph.resolve(&args.rev)?;
    ctx.print_revisions(&project, &revisions, args.json, |shown, _| {
        shown.entry(false)
    });
    Ok(0)
}
