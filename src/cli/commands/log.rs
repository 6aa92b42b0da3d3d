//! `log [-n N] [--json]`: prints the audit trail (runs and `accept`s), newest first. Read-only.

use super::Context;
use crate::cli::args::LogArgs;
use crate::cli::table::{aligned, Align};
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
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.started_at.clone(),
                e.direction.name().to_string(),
                e.revision.clone(),
                e.outcome.to_string(),
                format!("{} ms", e.duration_ms),
                format!("{} -> {}", heads(&e.heads_before), heads(&e.heads_after)),
                e.checksum.clone().unwrap_or_else(|| "-".into()),
                e.applied_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let (header, lines) = aligned(
        &[
            ("STARTED", Align::Left),
            ("DIRECTION", Align::Left),
            ("REVISION", Align::Left),
            ("OUTCOME", Align::Left),
            ("DURATION", Align::Right),
            ("VERSIONS", Align::Left),
            ("CHECKSUM", Align::Left),
            ("BY", Align::Left),
        ],
        &rows,
    );
    if !entries.is_empty() {
        // The header goes with the status lines: stdout stays one line per entry.
        printer.status(header);
    }
    for (e, line) in entries.iter().zip(lines) {
        printer.data(line.trim_end());
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
