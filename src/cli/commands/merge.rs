//! `merge REV...`: a revision whose parents are the given revisions (`heads` = all heads).

use super::revision::print_created;
use super::Context;
use crate::cli::args::MergeArgs;
use crate::error::{Error, Result};
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
    )
    .map_err(as_merge_error)?;
    print_created(&ctx.printer, &path);
    Ok(0)
}

/// `revision`'s parent errors as `merge` words them: its parents are arguments, not `--head`,
/// and it has no `--splice`.
fn as_merge_error(error: Error) -> Error {
    match error {
        Error::NotAHead { revision } => Error::MergeOfNonHead { revision },
        Error::MultipleHeadsForNewRevision { heads, .. } => {
            Error::MultipleHeadsForNewRevision { heads, merge: true }
        }
        other => other,
    }
}
