//! `retort init [DIR]`: prints what [`ops::init`](crate::ops::init) created, as Alembic does.

use crate::cli::args::InitArgs;
use crate::error::Result;
use crate::ops::init::{self, Created};

pub(super) fn run(ctx: &super::Context, args: InitArgs) -> Result<u8> {
    let outcome = init::init(&args.dir)?;
    for created in &outcome.created {
        match created {
            Created::Directory(dir) => ctx
                .printer
                .status(format!("Creating directory {} ...  done", dir.display())),
            Created::File(file) => ctx
                .printer
                .status(format!("Generating {} ...  done", file.display())),
        }
    }
    ctx.printer.status(format!(
        "Please edit configuration/connection settings in '{}' before proceeding.",
        outcome.config.display()
    ));
    Ok(0)
}
