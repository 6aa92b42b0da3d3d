//! `merge REV...`: a revision whose parents are the given revisions (`heads` = all heads).

use super::revision::print_created;
use super::Context;
use crate::cli::args::MergeArgs;
use crate::error::Result;
use crate::ops::revision::{self, RevisionRequest};

pub(super) fn run(ctx: &Context, args: MergeArgs) -> Result<u8> {
    let project = ctx.project()?;
    let path = revision::create(
        &project,
        RevisionRequest {
            parents: args.revisions,
            splice: false,
            message: args.message,
            branch_label: args.branch_label,
            depends_on: Vec::new(),
            rev_id: args.rev_id,
            version_path: None,
        },
    )?;
    print_created(&ctx.printer, &path);
    Ok(0)
}
