//! `merge REV...`: a revision whose parents are the given revisions (`heads` = all heads).

use super::revision::{write_revision, Request};
use super::Context;
use crate::cli::args::MergeArgs;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: MergeArgs) -> Result<u8> {
    let project = ctx.project()?;
    let parents = project.graph.new_revision_parents(&args.revisions, false)?;
    write_revision(
        ctx,
        &project,
        Request {
            parents,
            message: args.message,
            branch_label: args.branch_label,
            depends_on: Vec::new(),
            rev_id: args.rev_id,
            version_path: None,
        },
    )
}
