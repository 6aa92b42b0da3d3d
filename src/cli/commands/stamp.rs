//! `stamp REV... [--purge] [--sql]`: rewrite the version table without running migrations;
//! `stamp --from TOOL [--dry-run]`: the revisions another tool's history says ran.

use super::upgrade;
use super::Context;
use crate::cli::args::StampArgs;
use crate::config::Dialect;
use crate::error::Result;
use crate::import::Tool;
use crate::ops::stamp_from;
use crate::settings::{RunFlags, RunSettings};

pub(super) fn run(ctx: &Context, args: StampArgs) -> Result<u8> {
    super::fleet::refuse_with_fleet(&args.fleet, "--sql", args.sql)?;
    super::fleet::refuse_with_fleet(&args.fleet, "--from", args.from.is_some())?;
    let migration_lock_wait = upgrade::migration_lock_wait(ctx, &args.lock_wait);
    let flags = RunFlags {
        sql: args.sql,
        dialect: args.dialect.map(Dialect::from),
        no_backup: args.no_backup,
        migration_lock_wait,
        purge: args.purge,
        ..RunFlags::default()
    };
    let revisions = match args.from {
        Some(tool) => match from_history(ctx, tool, args.dry_run)? {
            Some(revision) => vec![revision],
            None => return Ok(0),
        },
        None => args.revisions,
    };
    let settings = RunSettings::stamp(&revisions, flags)?;
    match &args.fleet.fleet {
        Some(_) => upgrade::run_fleet(ctx, &settings, &args.fleet, &args.rollout, None),
        None => upgrade::run(ctx, &settings, None),
    }
}

/// The revision `--from tool` stamps, after saying what the history holds; `None` when there
/// is nothing to stamp or `dry_run`.
fn from_history(ctx: &Context, tool: Tool, dry_run: bool) -> Result<Option<String>> {
    let project = ctx.project()?;
    let url = ctx.database_url(&project.config)?;
    let plan = stamp_from::plan(&project, &url, tool)?;
    let Some(table) = plan.table else {
        ctx.printer.data(format!(
            "no {} history table in `{url}`: nothing to stamp",
            tool.name()
        ));
        return Ok(None);
    };
    let Some(revision) = plan.revision else {
        ctx.printer.data(format!(
            "`{table}` records no applied migration: nothing to stamp"
        ));
        return Ok(None);
    };
    let verb = if dry_run { "would stamp" } else { "stamping" };
    ctx.printer.data(format!(
        "`{table}` records {} applied migration(s): {verb} {revision} ({})",
        plan.applied.len(),
        plan.applied.join(", ")
    ));
    Ok((!dry_run).then_some(revision))
}
