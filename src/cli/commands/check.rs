//! `check`: prints what [`ops::check`](crate::ops::check) found in the revision files, the graph
//! and, unless `--no-db`, the database.

use super::fleet::{self, FleetCommand};
use super::Context;
use crate::cli::args::CheckArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::ops::check::{check, CheckDatabase, CheckOutcome};

pub(super) fn run(ctx: &Context, args: CheckArgs) -> Result<u8> {
    let config = ctx.config()?;
    if args.fleet.fleet.is_some() {
        return run_fleet(ctx, &args, &config);
    }
    // Without a usable URL, the check says drift was not checked.
    let url = ctx.database_url(&config).ok();
    let database = match (&url, args.no_db) {
        (_, true) => CheckDatabase::Skipped,
        (Some(url), false) => CheckDatabase::Url(url),
        (None, false) => CheckDatabase::Unset,
    };
    let outcome = check(config, database, args.strict)?;
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

/// `check --fleet`: the files and graph, and each target's database (drift, unknown rows).
fn run_fleet(ctx: &Context, args: &CheckArgs, config: &Config) -> Result<u8> {
    let op = |target: &Target| -> Result<Done> {
        let outcome = check(
            target.config(config),
            CheckDatabase::Url(&target.url),
            args.strict,
        )?;
        Ok(Done {
            error: (!outcome.ok).then(|| outcome.problems.join("; ")),
            detail: serde_json::to_value(&outcome).ok(),
            ..Done::at(
                if outcome.ok {
                    TargetOutcome::Ok
                } else {
                    TargetOutcome::Problems
                },
                Vec::new(),
            )
        })
    };
    fleet::run(
        ctx,
        &args.fleet,
        FleetCommand {
            name: "check".into(),
            changes: None,
            probe: None,
            op: &op,
            json: args.json,
        },
    )
    .map(|_| 0)
}
