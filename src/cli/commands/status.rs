//! `status [--json]`: current revisions, pending revisions, and whether the database is up to
//! date. Read-only, like `current`.

use super::current::current_line;
use super::fleet::{self, project_for, FleetCommand};
use super::Context;
use crate::cli::args::StatusArgs;
use crate::error::Result;
use crate::fleet::{Done, Target, TargetOutcome};
use crate::migrator::Status;
use crate::ops;

pub(super) fn run(ctx: &Context, args: StatusArgs) -> Result<u8> {
    if args.fleet.fleet.is_some() {
        return run_fleet(ctx, &args);
    }
    let mut migrator = ctx.migrator(ctx.project()?)?;
    let Status {
        current,
        heads,
        pending,
        up_to_date,
    } = migrator.status()?;
    let drifted = migrator.drift()?;
    let project = migrator.project();
    let printer = &ctx.printer;
    if args.json {
        let url = ctx.database_url(&project.config)?;
        let documents = |ids: &[String], current: bool| -> Vec<_> {
            ids.iter()
                .filter_map(|id| project.revision_json(id, Some(current)))
                .collect()
        };
        printer.json(&serde_json::json!({
            "database": url.to_string(),
            "current": documents(&current, true),
            "heads": heads,
            "pending": documents(&pending, false),
            "up_to_date": up_to_date,
            "drifted": drifted,
        }));
        return Ok(exit_status(up_to_date, args.exit_code));
    }
    if current.is_empty() {
        printer.data("Current revision(s): <base> (empty database)");
    } else {
        printer.data("Current revision(s):");
        for id in &current {
            printer.data(format!("  {}", current_line(project, id)));
        }
    }
    if up_to_date {
        printer.data("Database is up to date.");
    } else {
        printer.data(format!("Pending revision(s): {}", pending.len()));
        for id in &pending {
            let message = project
                .script(id)
                .and_then(|s| s.meta.message.clone())
                .map(|m| format!(", {m}"))
                .unwrap_or_default();
            printer.data(format!("  {id}{message}"));
        }
        printer.data("Database is not up to date: run `retort upgrade heads`.");
    }
    if !drifted.is_empty() {
        printer.data(format!(
            "Changed since applied: {} revision(s); `upgrade` and `downgrade` refuse to run:",
            drifted.len()
        ));
        for d in &drifted {
            printer.data(format!("  {d}"));
        }
        printer.data(
            "Restore the files, or record an intended change with `retort accept REV --reason \"…\"`.",
        );
    }
    Ok(exit_status(up_to_date, args.exit_code))
}

/// `--exit-code` (a CI gate): 1 when the database is not up to date.
fn exit_status(up_to_date: bool, exit_code: bool) -> u8 {
    u8::from(exit_code && !up_to_date)
}

/// `status --fleet`: which targets are behind, and by which revisions. A target that is behind
/// is not a failure (exit 0) unless `--exit-code` asks.
fn run_fleet(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let project = ctx.project()?;
    let op = |target: &Target| -> Result<Done> {
        let (status, drifted) =
            ops::check::status_and_drift(&project_for(&project, target), &target.url)?;
        let outcome = if status.up_to_date {
            TargetOutcome::UpToDate
        } else {
            TargetOutcome::Behind
        };
        Ok(Done {
            pending: Some(status.pending),
            detail: (!drifted.is_empty()).then(|| serde_json::json!({ "drifted": drifted })),
            ..Done::at(outcome, status.current)
        })
    };
    let records = fleet::run(
        ctx,
        &args.fleet,
        FleetCommand {
            name: "status".into(),
            changes: None,
            probe: None,
            op: &op,
            json: args.json,
        },
    )?;
    let behind = records.iter().any(|r| r.outcome == TargetOutcome::Behind);
    Ok(exit_status(!behind, args.exit_code))
}
