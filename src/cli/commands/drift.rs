//! `drift [--json]` (and `check --schema`): the live schema against the one its applied
//! revisions build, difference by difference.

use super::Context;
use crate::cli::args::DriftArgs;
use crate::error::{Error, Result};
use crate::ops::schema::{drift, DriftReport};
use crate::output::Printer;
use crate::settings::dev_url;

pub(super) fn run(ctx: &Context, args: DriftArgs) -> Result<u8> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config)?;
    let dev = dev_url(args.scratch.dev_url.as_deref(), &project.config)?;
    let report = drift(
        &project,
        &url,
        dev.as_ref(),
        super::upgrade::lock_wait(ctx, &args.scratch.lock_wait),
    )?;
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
