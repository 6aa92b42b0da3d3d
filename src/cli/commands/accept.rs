//! `accept REV --reason "…"`: prints what was recorded for the changed revision.

use super::Context;
use crate::cli::args::AcceptArgs;
use crate::error::Result;
use crate::ops::accept::accept;

pub(super) fn run(ctx: &Context, args: AcceptArgs) -> Result<u8> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config)?;
    let accepted = accept(
        &project,
        &url,
        &args.rev,
        &args.reason,
        ctx.settings.user.clone(),
    )?;
    ctx.printer.status(format!(
        "accepted revision `{}` ({}): checksum {} -> {}{}",
        accepted.revision,
        accepted.path.display(),
        accepted.previous_checksum,
        accepted.checksum,
        accepted
            .accepted_by
            .as_deref()
            .map(|user| format!(", by {user}"))
            .unwrap_or_default()
    ));
    Ok(0)
}
