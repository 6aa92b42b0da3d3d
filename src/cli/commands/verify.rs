//! `verify [--json]`: prints the integrity and referential checks of the live database.

use super::fleet::{self, FleetCommand};
use super::Context;
use crate::cli::args::ReadArgs;
use crate::error::{Error, Result};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::ops::audit::version_rows;
use crate::ops::verify::verify;

pub(super) fn run(ctx: &Context, args: ReadArgs) -> Result<u8> {
    if args.fleet.fleet.is_some() {
        let config = ctx.config()?;
        let op = |target: &Target| -> Result<Done> {
            let report = verify(&target.url)?;
            // For the CURRENT column; verify itself does not read them.
            let rows = version_rows(&target.config(&config), &target.url)?;
            let problems = report.problem_count();
            Ok(Done {
                error: (!report.ok).then(|| format!("{problems} problem(s)")),
                detail: serde_json::to_value(&report).ok(),
                ..Done::at(
                    if report.ok {
                        TargetOutcome::Ok
                    } else {
                        TargetOutcome::Problems
                    },
                    rows,
                )
            })
        };
        return fleet::run(
            ctx,
            &args.fleet,
            FleetCommand {
                name: "verify".into(),
                changes: None,
                probe: None,
                op: &op,
                json: args.json,
            },
        )
        .map(|_| 0);
    }
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
