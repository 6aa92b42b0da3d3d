//! `backup`, `backups` and `restore` of a project's database: which directory, which file,
//! which version rows the backup records.

use std::path::{Path, PathBuf};

use crate::backup::{self, BackupOutcome, BackupRecord, ListedBackup, RestoreOutcome};
use crate::config::{Config, DatabaseUrl};
use crate::error::{Error, Result};
use crate::ops::audit;

/// Backs the database up now, whatever `[backup] enabled` says, and applies retention.
pub(crate) fn backup_now(config: &Config, url: &DatabaseUrl) -> Result<BackupOutcome> {
    let rows = audit::version_rows(config, url)?;
    backup::backup_now(config, url, "backup", &rows)
}

/// The backups of a project's database, newest first, each checked against its metadata.
#[derive(Debug)]
pub(crate) struct BackupList {
    /// The backup directory (which may not exist).
    pub dir: PathBuf,
    /// The database whose backups these are, as its backups record it.
    pub database: PathBuf,
    pub backups: Vec<ListedBackup>,
}

/// Only this database's backups: a shared backup folder also holds other databases' files.
pub(crate) fn list(config: &Config, url: &DatabaseUrl) -> Result<BackupList> {
    let dir = backup::backup_dir(config, url.sqlite_path().as_deref());
    let database = backup::database_identity(url);
    let backups = backup::list_backups(&dir)?
        .into_iter()
        .filter(|record| record.original_path == database)
        .map(ListedBackup::check)
        .collect();
    Ok(BackupList {
        dir,
        database,
        backups,
    })
}

/// What `restore` did, and to which database file.
#[derive(Debug)]
pub(crate) struct Restored {
    pub outcome: RestoreOutcome,
    pub database: PathBuf,
    /// The database the backup was taken of, when that is another file.
    pub taken_of_another: Option<PathBuf>,
}

/// Restores `file`, or the newest backup of the database when `None`, over the SQLite
/// database of `url` (see [`backup::restore`]).
pub(crate) fn restore(
    config: &Config,
    url: &DatabaseUrl,
    file: Option<PathBuf>,
) -> Result<Restored> {
    let database = url
        .sqlite_path()
        .ok_or_else(|| Error::RestoreNeedsSqliteFile {
            database: url.to_string(),
        })?;
    let dir = backup::backup_dir(config, Some(&database));
    let file = match file {
        Some(file) => file,
        None => latest_backup_of(&dir, &database)?.backup_path,
    };
    let rows = audit::version_rows(config, url)?;
    let outcome = backup::restore(&file, &database, &dir, &rows)?;
    let taken_of_another = (outcome.restored.original_path != backup::canonical_path(&database))
        .then(|| outcome.restored.original_path.clone());
    Ok(Restored {
        outcome,
        database,
        taken_of_another,
    })
}

fn latest_backup_of(dir: &Path, database: &Path) -> Result<BackupRecord> {
    let original = backup::canonical_path(database);
    backup::list_backups(dir)?
        .into_iter()
        .find(|record| record.original_path == original)
        .ok_or_else(|| Error::NoBackupOf {
            database: database.to_path_buf(),
            dir: dir.to_path_buf(),
        })
}
