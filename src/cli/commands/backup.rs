//! `backup`, `backups` and `restore`: print what [`ops::backup`](crate::ops::backup) did.

use super::Context;
use crate::backup::{BackupOutcome, SkipReason};
use crate::cli::args::{BackupArgs, JsonArgs, RestoreArgs};
use crate::cli::table::{aligned, Align};
use crate::error::{Error, Result};
use crate::ops::backup;
use crate::output::Printer;

/// `backup [--json]`: backs the database up now; prints the backup's path (or its metadata).
pub(super) fn run_backup(ctx: &Context, args: BackupArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.name_database(&config)?;
    let outcome = backup::backup_now(&config, &url)?;
    print_backup_outcome(&ctx.printer, &outcome);
    let record = outcome
        .record
        .ok_or_else(|| Error::Internal("a backup made now has no record".into()))?;
    if args.json {
        ctx.printer.json(&record);
    } else {
        ctx.printer.data(record.backup_path.display());
        ctx.printer
            .status(format!("{} bytes, sha256 {}", record.size, record.sha256));
    }
    Ok(0)
}

/// The status lines of a backup before a change, or of one made now: skipped, where it went,
/// which old backups retention removed.
pub(crate) fn print_backup_outcome(printer: &Printer, outcome: &BackupOutcome) {
    match &outcome.skipped {
        Some(SkipReason::Requested) => printer.status("backup skipped (--no-backup)"),
        Some(SkipReason::NotRequired { cause }) => printer.warn(format!(
            "{cause}; going on without one (`required = false`)"
        )),
        Some(SkipReason::Disabled | SkipReason::NothingToLose) | None => {}
    }
    if let Some(record) = &outcome.record {
        printer.status(format!("backed up to {}", record.backup_path.display()));
    }
    for removed in &outcome.removed {
        printer.status(format!("removed old backup {}", removed.display()));
    }
}

/// `backups [--json]`: the backups in the backup directory, newest first.
pub(super) fn run_list(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let list = backup::list(&config, &url)?;
    if args.json {
        ctx.printer.json(&list.backups);
        return Ok(0);
    }
    if list.backups.is_empty() {
        ctx.printer.status(format!(
            "no backups of {} in {}",
            list.database.display(),
            list.dir.display()
        ));
    }
    let rows: Vec<Vec<String>> = list
        .backups
        .iter()
        .map(|listed| {
            let record = &listed.record;
            vec![
                record.created_at.clone(),
                record.backup_path.display().to_string(),
                format!("{} bytes", record.size),
                describe_versions(&record.version_rows),
                format!("[{}]", record.command),
                listed
                    .problem
                    .as_ref()
                    .map(|problem| format!("CHANGED: {problem}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let (header, lines) = aligned(
        &[
            ("CREATED", Align::Left),
            ("FILE", Align::Left),
            ("SIZE", Align::Right),
            ("VERSIONS", Align::Left),
            ("COMMAND", Align::Left),
            ("CHECK", Align::Left),
        ],
        &rows,
    );
    if !rows.is_empty() {
        // The header goes with the status lines: stdout stays one line per backup.
        ctx.printer.status(header);
    }
    for line in lines {
        ctx.printer.data(line.trim_end());
    }
    Ok(0)
}

/// `restore FILE | --latest`: a checked, atomic restore with a pre-restore backup.
pub(super) fn run_restore(ctx: &Context, args: RestoreArgs) -> Result<u8> {
    let config = ctx.config()?;
    let resolved = ctx.settings.database_url(&config)?;
    // Only an SQLite file can be restored: for any other URL, restore's own error says so.
    if resolved.url.sqlite_path().is_some() {
        ctx.announce(&config, &resolved)?;
    }
    let restored = backup::restore(&config, &resolved.url, args.file)?;
    let outcome = &restored.outcome;
    if let Some(original) = &restored.taken_of_another {
        ctx.printer.warn(format!(
            "the backup was taken of `{}`, not of `{}`",
            original.display(),
            restored.database.display()
        ));
    }
    if let Some(pre) = &outcome.pre_restore {
        ctx.printer.status(format!(
            "saved the current database to {}",
            pre.backup_path.display()
        ));
    }
    ctx.printer.status(format!(
        "restored {} (taken {}, {}) over {}; checksum and integrity verified",
        outcome.restored.backup_path.display(),
        outcome.restored.created_at,
        describe_versions(&outcome.restored.version_rows),
        restored.database.display()
    ));
    Ok(0)
}

fn describe_versions(rows: &[String]) -> String {
    if rows.is_empty() {
        "no version".to_string()
    } else {
        format!("version {}", rows.join(", "))
    }
}
