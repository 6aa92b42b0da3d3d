//! `backup`, `backups` and `restore`: thin layers over `crate::backup`.

use super::Context;
use crate::backup::{self, BackupRecord};
use crate::cli::args::{BackupArgs, JsonArgs, RestoreArgs};
use crate::config::Dialect;
use crate::error::{Error, Result};

/// `backup [--json]`: backs the database up now; prints the backup's path (or its metadata).
pub(super) fn run_backup(ctx: &Context, args: BackupArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let rows = backup::current_version_rows(&config, &url)?;
    let record = backup::backup_now(&config, &url, "backup", &rows, &ctx.printer)?
        .ok_or_else(|| backup::no_backup_possible(&url, false))?;
    if args.json {
        ctx.printer.json(&record);
    } else {
        ctx.printer.data(record.backup_path.display());
        ctx.printer
            .status(format!("{} bytes, sha256 {}", record.size, record.sha256));
    }
    Ok(0)
}

/// `backups [--json]`: the backups in the backup directory, newest first.
pub(super) fn run_list(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let dir = backup::backup_dir(&config, url.sqlite_path().as_deref());
    let records = backup::list_backups(&dir)?;
    if args.json {
        ctx.printer.json(&records);
        return Ok(0);
    }
    if records.is_empty() {
        ctx.printer
            .status(format!("no backups in {}", dir.display()));
    }
    for record in &records {
        ctx.printer.data(format!(
            "{}  {}  {:>10} bytes  {}  [{}]",
            record.created_at,
            record.backup_path.display(),
            record.size,
            describe_versions(&record.version_rows),
            record.command
        ));
    }
    Ok(0)
}

/// `restore FILE | --latest`: a checked, atomic restore with a pre-restore backup.
pub(super) fn run_restore(ctx: &Context, args: RestoreArgs) -> Result<u8> {
    let config = ctx.config()?;
    let url = ctx.database_url(&config)?;
    let db_path = match (url.dialect(), url.sqlite_path()) {
        (Dialect::Sqlite, Some(path)) => path,
        _ => {
            return Err(Error::Backup {
                message: format!("`restore` restores SQLite database files; `{url}` is not one"),
                hint: Some("load a server dump with the server's own client (psql, mysql)".into()),
            })
        }
    };
    let dir = backup::backup_dir(&config, Some(&db_path));
    let file = match args.file {
        Some(file) => file,
        None => latest_backup_of(&dir, &db_path)?.backup_path,
    };
    let rows = backup::current_version_rows(&config, &url)?;
    let outcome = backup::restore(&file, &db_path, &dir, &rows)?;
    if outcome.restored.original_path != backup::canonical_path(&db_path) {
        ctx.printer.warn(format!(
            "the backup was taken of `{}`, not of `{}`",
            outcome.restored.original_path.display(),
            db_path.display()
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
        db_path.display()
    ));
    Ok(0)
}

fn latest_backup_of(dir: &std::path::Path, db_path: &std::path::Path) -> Result<BackupRecord> {
    let original = backup::canonical_path(db_path);
    backup::list_backups(dir)?
        .into_iter()
        .find(|record| record.original_path == original)
        .ok_or_else(|| Error::Backup {
            message: format!(
                "there is no backup of `{}` in `{}`",
                db_path.display(),
                dir.display()
            ),
            hint: Some("`retort backups` lists the backups; `retort backup` makes one".into()),
        })
}

fn describe_versions(rows: &[String]) -> String {
    if rows.is_empty() {
        "no version".to_string()
    } else {
        format!("version {}", rows.join(", "))
    }
}
