//! `verify [--json]`: prints the integrity and referential checks of the live database.

use super::Context;
use crate::cli::args::JsonArgs;
use crate::error::{Error, Result};
use crate::ops::verify::verify;

pub(super) fn run(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let report = verify(&url)?;
    if args.json {
        ctx.printer.json(&report);
    } else {
        for line in report.text_lines() {
            ctx.printer.data(line);
        }
    }
    if report.ok {
        Ok(0)
    } else {
        Err(Error::VerifyFoundProblems {
            count: report.problem_count(),
            database: url.to_string(),
        })
    }
}
