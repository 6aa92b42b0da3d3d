//! `log [-n N] [--json]`: prints the audit trail (runs and `accept`s), newest first. Read-only.

use super::Context;
use crate::cli::args::LogArgs;
use crate::db::version_table::Direction;
use crate::error::Result;
use crate::ops::audit;

pub(super) fn run(ctx: &Context, args: LogArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let entries = audit::log(&config, &url, args.limit)?;
    let printer = &ctx.printer;
    if args.json {
        printer.json(&entries);
        return Ok(0);
    }
    if entries.is_empty() {
        printer.status("no audit entries: nothing was applied to this database by retort yet");
    }
    let heads = |h: &[String]| {
        if h.is_empty() {
            "<base>".to_string()
        } else {
            h.join(",")
        }
    };
    for e in &entries {
        printer.data(format!(
            "{}  {:<9} {:<12} {:<7} {:>6} ms  {} -> {}  {}{}",
            e.started_at,
            e.direction.name(),
            e.revision,
            e.outcome,
            e.duration_ms,
            heads(&e.heads_before),
            heads(&e.heads_after),
            e.checksum.as_deref().unwrap_or("-"),
            e.applied_by
                .as_deref()
                .map(|u| format!("  by {u}"))
                .unwrap_or_default()
        ));
        if let Some(note) = &e.error {
            let label = match e.direction {
                Direction::Accept => "accepted",
                _ => "error",
            };
            printer.data(format!("    {label}: {note}"));
        }
    }
    Ok(0)
}
