//! `rebase`: prints what [`ops::rebase`](crate::ops::rebase) moved.

use super::Context;
use crate::cli::args::RebaseArgs;
use crate::error::Result;
use crate::ops::rebase::{rebase, AppliedCheck};

pub(super) fn run(ctx: &Context, args: RebaseArgs) -> Result<u8> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config).ok();
    let database = match &url {
        Some(url) => AppliedCheck::Url(url),
        None => AppliedCheck::NoUrl,
    };
    let outcome = rebase(
        &project,
        &args.revisions,
        &args.onto,
        database,
        args.unchecked,
    )?;
    if args.json {
        ctx.printer.json(&outcome);
        return Ok(0);
    }
    if let Some(reason) = &outcome.not_checked {
        ctx.printer.warn(format!(
            "not checked for applied revisions (--unchecked): {reason}"
        ));
    }
    for moved in &outcome.moved {
        let from = match moved.from.as_slice() {
            [] => "base".to_string(),
            from => from.join(", "),
        };
        ctx.printer.data(format!(
            "moved {} from {from} onto {} ({})",
            moved.revision,
            moved.onto.as_deref().unwrap_or("base"),
            moved.path.display()
        ));
    }
    for revision in &outcome.unchanged {
        ctx.printer
            .data(format!("{revision} is already on the target; unchanged"));
    }
    Ok(0)
}
