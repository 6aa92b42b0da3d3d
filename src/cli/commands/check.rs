//! `check`: prints what [`ops::check`](crate::ops::check) found in the revision files, the graph
//! and, unless `--no-db`, the database.

use super::Context;
use crate::cli::args::CheckArgs;
use crate::error::{Error, Result};
use crate::ops::check::{check, CheckDatabase, CheckOutcome, SchemaCheck};
use crate::settings::dev_url;

pub(super) fn run(ctx: &Context, args: CheckArgs) -> Result<u8> {
    let config = ctx.config()?;
    // Without a usable URL, the check says drift was not checked.
    let url = ctx.database_url(&config).ok();
    let database = match (&url, args.no_db) {
        (_, true) => CheckDatabase::Skipped,
        (Some(url), false) => CheckDatabase::Url(url),
        (None, false) => CheckDatabase::Unset,
    };
    let dev = dev_url(args.scratch.dev_url.as_deref(), &config)?;
    let wanted = args.schema || args.schema_file.is_some();
    let schema = wanted.then_some(SchemaCheck {
        live: args.schema,
        file: args.schema_file.as_deref(),
        dev_url: dev.as_ref(),
        lock_timeout: args.scratch.lock_timeout.0,
    });
    let outcome = check(config, database, args.strict, schema)?;
    print(ctx, &outcome, args.json);
    if outcome.ok {
        Ok(0)
    } else {
        Err(Error::CheckFoundProblems {
            count: outcome.problems.len(),
        })
    }
}

fn print(ctx: &Context, outcome: &CheckOutcome, json: bool) {
    if json {
        ctx.printer.json(outcome);
        return;
    }
    // Each difference is a problem line below; a clean comparison says so.
    if let Some(report) = outcome.schema.as_ref().filter(|r| r.ok) {
        super::drift::print(&ctx.printer, report);
    }
    if let Some(file) = outcome.schema_file.as_ref().filter(|f| !f.ok) {
        ctx.printer.data_raw(&file.diff);
    }
    for problem in &outcome.problems {
        ctx.printer.data(format!("problem: {problem}"));
    }
    for warning in &outcome.warnings {
        ctx.printer.data(format!("warning: {warning}"));
    }
    if outcome.ok {
        ctx.printer.data(format!(
            "ok: {} revision(s), {} head(s), no problems found",
            outcome.revisions,
            outcome.heads.len()
        ));
    }
}
