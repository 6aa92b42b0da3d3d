//! `verify [--json]`: integrity and referential checks of the live database.

use super::Context;
use crate::cli::args::JsonArgs;
use crate::error::{Error, Result};

pub(super) fn run(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    if url.dialect() == crate::config::Dialect::Sqlite && url.sqlite_path().is_some() {
        // Connecting would create an empty database and report it sound.
        crate::backup::existing_sqlite_file(&url)?;
    }
    let mut conn = crate::db::connect(&url)?;
    let report = crate::verify::run_checks(conn.as_mut())?;
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
        Err(Error::CheckFailed {
            message: format!(
                "verify found {} problem(s) in `{url}`",
                report.problem_count()
            ),
        })
    }
}
