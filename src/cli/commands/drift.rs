//! `drift [--json]` (and `check --schema`): the live schema against the one its applied
//! revisions build, difference by difference.

use super::fleet::{self, project_for, FleetCommand};
use super::Context;
use crate::cli::args::DriftArgs;
use crate::error::{Error, Result};
use crate::fleet::{Done, Target, TargetOutcome};
use crate::ops::schema::{drift, DriftReport};
use crate::output::Printer;
use crate::settings::dev_url;

pub(super) fn run(ctx: &Context, args: DriftArgs) -> Result<u8> {
    let project = ctx.project()?;
    let dev = dev_url(args.scratch.dev_url.as_deref(), &project.config)?;
    let lock_wait = super::upgrade::lock_wait(ctx, &args.scratch.lock_wait);
    if args.fleet.fleet.is_some() {
        let op = |target: &Target| -> Result<Done> {
            let report = drift(
                &project_for(&project, target),
                &target.url,
                dev.as_ref(),
                lock_wait,
            )?;
            Ok(drift_done(&report))
        };
        return fleet::run(
            ctx,
            &args.fleet,
            FleetCommand {
                name: "drift".into(),
                changes: None,
                probe: None,
                op: &op,
                json: args.json,
            },
        )
        .map(|_| 0);
    }
    let url = ctx.database_url(&project.config)?;
    let report = drift(&project, &url, dev.as_ref(), lock_wait)?;
    if args.json {
        ctx.printer.json(&report);
    } else {
        print(&ctx.printer, &report);
    }
    if report.ok {
        Ok(0)
    } else {
        Err(Error::SchemaDrifted {
            count: report.differences.len(),
        })
    }
}

/// A fleet target's drift check: `drifted` with its differences on the row, the report as
/// `detail`.
fn drift_done(report: &DriftReport) -> Done {
    let outcome = if report.ok {
        TargetOutcome::Ok
    } else {
        TargetOutcome::Drifted
    };
    let each: Vec<String> = report.differences.iter().map(|d| d.to_string()).collect();
    Done {
        error: (!report.ok).then(|| format!("schema drift: {}", each.join("; "))),
        detail: serde_json::to_value(report).ok(),
        ..Done::at(outcome, report.heads.clone())
    }
}

/// The report as lines: each difference, then what was not compared.
pub(super) fn print(printer: &Printer, report: &DriftReport) {
    let heads = if report.heads.is_empty() {
        "base".to_string()
    } else {
        report.heads.join(", ")
    };
    if report.ok {
        printer.data(format!(
            "no schema drift: `{}` has the schema its applied revisions ({heads}) build",
            report.database
        ));
    } else {
        printer.data(format!(
            "schema drift: `{}` differs from the schema its applied revisions ({heads}) build in {}:",
            report.database, report.built_in
        ));
        for difference in &report.differences {
            printer.data(format!("  {difference}"));
        }
    }
    if !report.not_compared.is_empty() {
        printer.data(format!("not compared: {}", report.not_compared.join(", ")));
    }
}
