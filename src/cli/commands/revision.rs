//! `revision`: a new revision file from the template, on the current head or `--head`.

use std::path::Path;

use super::Context;
use crate::cli::args::RevisionArgs;
use crate::error::Result;
use crate::ops::revision::{self, RevisionRequest};
use crate::output::Printer;

pub(super) fn run(ctx: &Context, args: RevisionArgs) -> Result<u8> {
    let project = ctx.project()?;
    let path = revision::create(
        &project,
        RevisionRequest {
            parents: vec![args.head.unwrap_or_else(|| "head".to_string())],
            splice: args.splice,
            message: args.message,
            branch_label: args.branch_label,
            depends_on: args.depends_on,
            rev_id: args.rev_id,
            version_path: args.version_path,
        },
    )?;
    print_created(&ctx.printer, &path);
    Ok(0)
}

/// The new revision file: a status line as Alembic's, and its path on stdout.
pub(super) fn print_created(printer: &Printer, path: &Path) {
    printer.status(format!("Generating {} ...  done", path.display()));
    printer.data(path.display());
}
