//! SQLite backups: online backup API, SHA-256 checksums, JSON metadata, retention, restore.
//!
//! A backup is two files in the backup directory: `<db-stem>_<YYYYmmdd_HHMMSS>.db` (created with
//! mode 0600 before any byte is written) and `<that name>.json`, the [`BackupRecord`]. Only files
//! with such a metadata file count as retort backups: retention never touches anything else, and
//! `restore` refuses a file whose checksum does not match its metadata.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
#[cfg(feature = "sqlite")]
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, DatabaseUrl, Dialect};
use crate::error::{Error, Result};
use crate::output::Printer;

mod server;

/// The metadata of one backup, stored as `<backup file>.json` beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// The database that was backed up: an absolute file path, or a server URL without password.
    pub original_path: PathBuf,
    /// Where the backup is (as found on disk when listed).
    pub backup_path: PathBuf,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Lower-case hex SHA-256 of the backup file.
    pub sha256: String,
    /// Size of the backup file in bytes.
    pub size: u64,
    /// The version table's rows when the backup was taken.
    pub version_rows: Vec<String>,
    /// What made the backup, e.g. `upgrade head` or `backup`.
    pub command: String,
    pub retort_version: String,
    /// `sqlite`, `postgresql` or `mysql`.
    pub dialect: String,
}

impl BackupRecord {
    /// The path of the metadata file of a backup file.
    pub fn metadata_path(backup_file: &Path) -> PathBuf {
        let mut name = backup_file.as_os_str().to_owned();
        name.push(".json");
        PathBuf::from(name)
    }

    /// Reads the metadata beside `backup_file`.
    pub fn load(backup_file: &Path) -> Result<BackupRecord> {
        let meta_path = Self::metadata_path(backup_file);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::Backup {
            message: format!(
                "`{}` has no readable metadata file `{}`: {e}",
                backup_file.display(),
                meta_path.display()
            ),
            hint: Some(
                "retort restores only its own backups, whose checksum it can check; `retort backups` lists them"
                    .into(),
            ),
        })?;
        let mut record: BackupRecord = serde_json::from_str(&text).map_err(|e| Error::Backup {
            message: format!(
                "`{}` is not retort backup metadata: {e}",
                meta_path.display()
            ),
            hint: None,
        })?;
        record.backup_path = backup_file.to_path_buf();
        Ok(record)
    }

    fn created(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.created_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// `keep` and `keep_days` of `[backup]`: a backup goes when it is beyond the `keep` newest
/// backups of its database, or older than `keep_days` days. `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub keep: Option<usize>,
    pub keep_days: Option<u64>,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreOutcome {
    /// The backup that is now the database.
    pub restored: BackupRecord,
    /// The backup of the database as it was before the restore (none when there was no file).
    pub pre_restore: Option<BackupRecord>,
}

/// The backup directory: `[backup] dir`, else `backups/` beside the database file, else
/// `backups/` beside `migrate.toml` (server databases).
pub fn backup_dir(config: &Config, db_path: Option<&Path>) -> PathBuf {
    if let Some(dir) = &config.backup.dir {
        return config.root.join(dir);
    }
    match db_path.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("backups"),
        Some(_) => PathBuf::from("backups"),
        None => config.root.join("backups"),
    }
}

/// Retention settings of `config`.
pub fn retention(config: &Config) -> Retention {
    Retention {
        keep: config.backup.keep,
        keep_days: config.backup.keep_days,
    }
}

/// Backs up the SQLite database at `db_path` into `backup_dir` with the online backup API, which
/// gives a consistent copy while other connections are open, and writes its metadata.
///
/// Fails before anything else happens when the directory cannot be created or written (full
/// disk, permissions), naming the directory; a partial backup file is removed.
pub fn backup_sqlite(
    db_path: &Path,
    backup_dir: &Path,
    trigger_command: &str,
    version_rows: &[String],
) -> Result<BackupRecord> {
    if !db_path.is_file() {
        return Err(Error::io(
            "read database",
            db_path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let original = canonical_path(db_path);
    let stem = original
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    let (backup_path, file) = create_backup_file(backup_dir, &stem, "db")?;
    // The file exists empty with mode 0600; SQLite writes the pages into it.
    drop(file);
    if let Err(e) = copy_with_backup_api(&original, &backup_path) {
        let _ = std::fs::remove_file(&backup_path);
        return Err(write_failure(backup_dir, &e.to_string()));
    }
    finish_backup(
        &backup_path,
        backup_dir,
        original,
        trigger_command,
        version_rows,
        Dialect::Sqlite,
    )
}

/// Checksums a finished backup file, writes its metadata and makes both durable.
fn finish_backup(
    backup_path: &Path,
    backup_dir: &Path,
    original_path: PathBuf,
    trigger_command: &str,
    version_rows: &[String],
    dialect: Dialect,
) -> Result<BackupRecord> {
    let result = (|| {
        File::open(backup_path)
            .and_then(|f| f.sync_all())
            .map_err(|e| write_failure(backup_dir, &e.to_string()))?;
        let (sha256, size) = sha256_file(backup_path)?;
        let record = BackupRecord {
            original_path,
            backup_path: backup_path.to_path_buf(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            sha256,
            size,
            version_rows: version_rows.to_vec(),
            command: trigger_command.to_string(),
            retort_version: env!("CARGO_PKG_VERSION").to_string(),
            dialect: dialect.name().to_string(),
        };
        write_metadata(&record, backup_dir)?;
        sync_dir(backup_dir);
        Ok(record)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(backup_path);
        let _ = std::fs::remove_file(BackupRecord::metadata_path(backup_path));
    }
    result
}

#[cfg(feature = "sqlite")]
fn copy_with_backup_api(source: &Path, target: &Path) -> rusqlite::Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    use rusqlite::OpenFlags;

    let src = rusqlite::Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(30))?;
    let mut dst = rusqlite::Connection::open(target)?;
    dst.busy_timeout(Duration::from_secs(30))?;
    let backup = Backup::new(&src, &mut dst)?;
    // All pages in one step: the copy is one consistent snapshot, and a writer on another
    // connection cannot make it start over. Busy/Locked only happen while a writer holds an
    // exclusive lock; retry for about as long as the busy timeout.
    for _ in 0..600 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the database stayed locked by another connection for 30 seconds".into()),
    ))
}

/// The absolute path a backup records as its original: symlinks resolved, also for a database
/// file that does not exist (yet).
pub fn canonical_path(path: &Path) -> PathBuf {
    if let Ok(full) = path.canonicalize() {
        return full;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|p| p.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

/// Creates `<stem>_<YYYYmmdd_HHMMSS>[_N].<ext>` in `dir`, mode 0600, never reusing a name.
fn create_backup_file(dir: &Path, stem: &str, ext: &str) -> Result<(PathBuf, File)> {
    let created = !dir.is_dir();
    std::fs::create_dir_all(dir).map_err(|e| write_failure(dir, &e.to_string()))?;
    // Metadata records absolute paths, whatever directory retort ran in.
    let dir = &canonical_path(dir);
    if let Some(parent) = dir.parent().filter(|_| created) {
        sync_dir(parent);
    }
    let stamp = Utc::now().format("%Y%m%d_%H%M%S").to_string();
    for n in 0..1000 {
        let name = match n {
            0 => format!("{stem}_{stamp}.{ext}"),
            n => format!("{stem}_{stamp}_{n}.{ext}"),
        };
        let path = dir.join(name);
        if BackupRecord::metadata_path(&path).exists() {
            continue;
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_failure(dir, &e.to_string())),
        }
    }
    Err(write_failure(dir, "too many backups in the same second"))
}

fn write_metadata(record: &BackupRecord, dir: &Path) -> Result<()> {
    let path = BackupRecord::metadata_path(&record.backup_path);
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| Error::Internal(format!("cannot encode backup metadata: {e}")))?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        })
        .map_err(|e| write_failure(dir, &e.to_string()))
}

fn write_failure(dir: &Path, cause: &str) -> Error {
    Error::Backup {
        message: format!(
            "cannot write a backup into `{}`: {cause}; nothing was changed",
            dir.display()
        ),
        hint: Some(
            "free disk space or make the directory writable, or set `dir` under `[backup]` in migrate.toml; \
             `--no-backup` skips the backup of one run (not recommended)"
                .into(),
        ),
    }
}

/// SHA-256 (lower-case hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).map_err(|e| Error::io("read", path, e))?;
    hash_stream(&mut file, None).map_err(|e| Error::io("read", path, e))
}

/// Hashes `reader` to its end, copying every byte to `copy` when given.
fn hash_stream(
    reader: &mut dyn Read,
    mut copy: Option<&mut File>,
) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if let Some(out) = copy.as_deref_mut() {
            out.write_all(&buf[..n])?;
        }
        size += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((hex, size))
}

/// Makes a rename or a new file in `dir` durable. Best effort: some file systems refuse to
/// fsync a directory, and the data itself is already synced.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The retort backups in `dir`, newest first. A missing directory has none; files without
/// readable metadata are not retort backups and are left out.
pub fn list_backups(dir: &Path) -> Result<Vec<BackupRecord>> {
    let dir = &canonical_path(dir);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list backups in", dir, e)),
    };
    let mut records = Vec::new();
    for entry in entries {
        let meta_path = entry
            .map_err(|e| Error::io("list backups in", dir, e))?
            .path();
        if meta_path.extension() != Some(std::ffi::OsStr::new("json")) {
            continue;
        }
        let backup_file = meta_path.with_extension("");
        if !backup_file.is_file() {
            continue;
        }
        if let Ok(record) = BackupRecord::load(&backup_file) {
            let named_alike = record.backup_path.file_name() == backup_file.file_name();
            if named_alike && record.created().is_some() {
                records.push(record);
            }
        }
    }
    records.sort_by(|a, b| {
        b.created()
            .cmp(&a.created())
            .then_with(|| b.backup_path.cmp(&a.backup_path))
    });
    Ok(records)
}

/// Deletes the backups of `just_made`'s database in `dir` that are beyond `retention`, never
/// `just_made` itself nor anything that is not a retort backup. Returns the deleted files.
pub fn apply_retention(
    dir: &Path,
    retention: Retention,
    just_made: &BackupRecord,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>> {
    if retention == Retention::default() {
        return Ok(Vec::new());
    }
    let keep_others = retention.keep.map(|keep| keep.saturating_sub(1));
    let cutoff = retention
        .keep_days
        .and_then(|days| i64::try_from(days).ok())
        .and_then(chrono::Duration::try_days)
        .and_then(|age| now.checked_sub_signed(age));
    let older = list_backups(dir)?.into_iter().filter(|r| {
        r.original_path == just_made.original_path
            && r.backup_path.file_name() != just_made.backup_path.file_name()
    });
    let mut deleted = Vec::new();
    for (index, record) in older.enumerate() {
        let beyond_count = keep_others.is_some_and(|keep| index >= keep);
        let too_old = match (cutoff, record.created()) {
            (Some(cutoff), Some(created)) => created < cutoff,
            _ => false,
        };
        if beyond_count || too_old {
            std::fs::remove_file(&record.backup_path)
                .map_err(|e| Error::io("delete old backup", &record.backup_path, e))?;
            let _ = std::fs::remove_file(BackupRecord::metadata_path(&record.backup_path));
            deleted.push(record.backup_path);
        }
    }
    Ok(deleted)
}

/// Checks a backup file against its metadata (size and SHA-256) and, for SQLite, runs
/// `PRAGMA integrity_check` on it without changing it. Returns its metadata.
pub fn verify_backup(backup_file: &Path) -> Result<BackupRecord> {
    let record = BackupRecord::load(backup_file)?;
    let (actual, size) = sha256_file(backup_file)?;
    check_checksum(&record, &actual, size)?;
    if record.dialect == Dialect::Sqlite.name() {
        let problems = integrity_problems(backup_file)
            .map_err(|e| corrupt(backup_file, &format!("cannot be read by SQLite: {e}")))?;
        if !problems.is_empty() {
            return Err(corrupt(
                backup_file,
                &format!("fails `PRAGMA integrity_check`: {}", problems.join("; ")),
            ));
        }
    }
    Ok(record)
}

fn check_checksum(record: &BackupRecord, actual: &str, size: u64) -> Result<()> {
    let path = &record.backup_path;
    if size != record.size {
        return Err(corrupt(
            path,
            &format!(
                "is {size} bytes but its metadata says {} bytes (truncated or changed); SHA-256 expected {}, actual {actual}",
                record.size, record.sha256
            ),
        ));
    }
    if actual != record.sha256 {
        return Err(corrupt(
            path,
            &format!(
                "does not match its checksum: SHA-256 expected {}, actual {actual}",
                record.sha256
            ),
        ));
    }
    Ok(())
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::Backup {
        message: format!("backup `{}` {what}; nothing was restored", path.display()),
        hint: Some("restore another backup; `retort backups` lists them, newest first".into()),
    }
}

/// The lines `PRAGMA integrity_check` reports other than `ok`, reading the file as immutable so
/// that neither it nor its directory is touched (no journal, WAL or shared-memory file).
#[cfg(feature = "sqlite")]
fn integrity_problems(db_file: &Path) -> rusqlite::Result<Vec<String>> {
    use rusqlite::OpenFlags;
    let uri = format!("file:{}?immutable=1", uri_path(db_file));
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}

/// A path as the path part of an SQLite `file:` URI (percent-encodes what URIs reserve).
#[cfg(feature = "sqlite")]
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for byte in absolute.as_os_str().as_encoded_bytes() {
        match byte {
            b'%' | b'?' | b'#' => out.push_str(&format!("%{byte:02X}")),
            _ => out.push(char::from(*byte)),
        }
    }
    out
}

/// The version table's rows of the database of `url`, for a backup's metadata (none when the
/// table, or the SQLite file, does not exist). Reads only.
pub fn current_version_rows(config: &Config, url: &DatabaseUrl) -> Result<Vec<String>> {
    if url.dialect() == Dialect::Sqlite && !url.sqlite_path().is_some_and(|path| path.is_file()) {
        // Connecting would create the file.
        return Ok(Vec::new());
    }
    let table = crate::db::version_table::VersionTable::new(
        url.dialect(),
        config.version_table_schema.clone(),
        config.version_table.clone(),
    );
    crate::db::version_table::read_heads(crate::db::connect(url)?.as_mut(), &table)
}

/// Restores `backup_file` over the SQLite database at `db_path`.
///
/// In order: the backup's size and SHA-256 are checked against its metadata and SQLite's
/// integrity check is run on it (a corrupt or truncated backup is refused before anything
/// changes); the current database, if any, is backed up into `pre_restore_dir`; the backup is
/// copied to a temporary file beside the database (checked again while copying) and synced; the
/// database's WAL is checkpointed so no stale log can be replayed over the restored file; the
/// copy is renamed over the database in one step and the directory synced. A process killed at
/// any point leaves either the old database or the restored one, never a mix.
pub fn restore(
    backup_file: &Path,
    db_path: &Path,
    pre_restore_dir: &Path,
    current_version_rows: &[String],
) -> Result<RestoreOutcome> {
    let restored = verify_backup(backup_file)?;
    if restored.dialect != Dialect::Sqlite.name() {
        return Err(Error::Backup {
            message: format!(
                "`{}` is a {} dump; retort restores SQLite backups only",
                backup_file.display(),
                restored.dialect
            ),
            hint: Some("load a server dump with the server's own tools (psql, mysql)".into()),
        });
    }
    let exists = db_path.exists();
    let pre_restore = if exists {
        Some(backup_sqlite(
            db_path,
            pre_restore_dir,
            "restore (pre-restore backup)",
            current_version_rows,
        )?)
    } else {
        None
    };
    replace_atomically(&restored, db_path, exists)?;
    Ok(RestoreOutcome {
        restored,
        pre_restore,
    })
}

fn replace_atomically(backup: &BackupRecord, db_path: &Path, exists: bool) -> Result<()> {
    // Through a symlink, the file it points to is the database.
    let db_path = &canonical_path(db_path);
    let dir = match db_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = db_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    let temp = dir.join(format!(".{name}.retort-restore.tmp"));
    // A previous restore killed half way leaves this file; it was never the database.
    let _ = std::fs::remove_file(&temp);
    let current = std::fs::metadata(db_path).ok();
    let mode = current
        .as_ref()
        .map_or(0o600, |meta| meta.permissions().mode() & 0o7777);
    let result = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| Error::io("create", &temp, e))?;
        // The restored file keeps the database's owner and mode (the umask must not narrow it),
        // so the application can still open it. Changing the owner needs root: best effort.
        out.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("set permissions of", &temp, e))?;
        if let Some(meta) = &current {
            let _ = std::os::unix::fs::fchown(&out, Some(meta.uid()), Some(meta.gid()));
        }
        let mut input = File::open(&backup.backup_path)
            .map_err(|e| Error::io("read", &backup.backup_path, e))?;
        let (actual, size) =
            hash_stream(&mut input, Some(&mut out)).map_err(|e| Error::io("write", &temp, e))?;
        check_checksum(backup, &actual, size)?;
        out.sync_all().map_err(|e| Error::io("sync", &temp, e))?;
        drop(out);
        if exists {
            quiesce(db_path)?;
        }
        std::fs::rename(&temp, db_path).map_err(|e| Error::io("replace", db_path, e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        return result;
    }
    // The WAL is empty (checkpointed above) and the shared-memory index is rebuilt by the next
    // connection; removing them keeps the old database's log from ever meeting the new file.
    for suffix in ["-wal", "-shm"] {
        let mut side = db_path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    sync_dir(&dir);
    Ok(())
}

/// Brings the database file up to date with its journal or WAL (rolling back a hot journal,
/// checkpointing the WAL into the file and truncating it), and refuses when another process
/// keeps writing to it.
fn quiesce(db_path: &Path) -> Result<()> {
    let in_use = |detail: String| Error::Backup {
        message: format!(
            "database `{}` is in use by another process ({detail}); nothing was restored",
            db_path.display()
        ),
        hint: Some(
            "stop the applications using the database, then run `retort restore` again".into(),
        ),
    };
    let busy = checkpoint_wal(db_path).map_err(in_use)?;
    if busy != 0 {
        return Err(in_use("its WAL could not be checkpointed".into()));
    }
    let mut wal = db_path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0) {
        return Err(in_use("it wrote to the WAL during the restore".into()));
    }
    Ok(())
}

/// `PRAGMA wal_checkpoint(TRUNCATE)` on `db_path`: its first column, non-zero when another
/// connection kept the checkpoint from completing.
#[cfg(feature = "sqlite")]
fn checkpoint_wal(db_path: &Path) -> std::result::Result<i64, String> {
    let conn = rusqlite::Connection::open(db_path).map_err(|e| format!("cannot open it: {e}"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .map_err(|e| e.to_string())?;
    Ok(busy)
}

/// Without the `sqlite` feature no SQLite file can be backed up, checked or restored.
#[cfg(not(feature = "sqlite"))]
fn no_sqlite() -> std::io::Error {
    std::io::Error::other(
        "`sqlite` support is not compiled into this build of retort (rebuild with `--features sqlite`)",
    )
}

#[cfg(not(feature = "sqlite"))]
fn copy_with_backup_api(_source: &Path, _target: &Path) -> std::io::Result<()> {
    Err(no_sqlite())
}

#[cfg(not(feature = "sqlite"))]
fn integrity_problems(_db_file: &Path) -> std::io::Result<Vec<String>> {
    Err(no_sqlite())
}

#[cfg(not(feature = "sqlite"))]
fn checkpoint_wal(_db_path: &Path) -> std::result::Result<i64, String> {
    Err(no_sqlite().to_string())
}

/// Backs up the database before `upgrade`, `downgrade` or `stamp` changes it. Call it first,
/// before taking the migration lock or running any SQL: an error means nothing was changed.
///
/// - SQLite file (not in-memory, and only when the file exists): an online backup into
///   [`backup_dir`] unless `[backup] enabled = false`, then retention (`keep`, `keep_days`).
/// - PostgreSQL / MySQL: `[backup] command` when set (run by `sh -c`, its stdout is the dump),
///   else `pg_dump` / `mysqldump` when on `PATH`; the URL's credentials go through the
///   environment (`PGPASSWORD`, `MYSQL_PWD`, ...), never the command line. The dump gets the
///   same metadata file. When no dump can be made this fails, unless `no_backup` or
///   `[backup] required = false` (then one warning is printed and `Ok(None)` returned).
///
/// `trigger` is the command line to record (e.g. `upgrade head`); `version_rows` the version
/// table's rows before the change. Prints nothing: the caller shows the outcome.
pub(crate) fn backup_before_change(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
    no_backup: bool,
) -> Result<BackupOutcome> {
    let nothing = BackupOutcome::default();
    if no_backup {
        return Ok(BackupOutcome {
            skipped: Some(SkipReason::Flag),
            ..nothing
        });
    }
    if config.backup.enabled == Some(false) {
        return Ok(nothing);
    }
    if url.dialect() == Dialect::Sqlite && !url.sqlite_path().is_some_and(|path| path.is_file()) {
        // In memory, or not created yet: there is nothing to lose.
        return Ok(nothing);
    }
    match take_backup(config, url, trigger, version_rows)? {
        Some((record, removed)) => Ok(BackupOutcome {
            record: Some(record),
            removed,
            skipped: None,
        }),
        None => without_backup(config, url),
    }
}

/// When a server database cannot be dumped: on without a backup, if `required = false`.
fn without_backup(config: &Config, url: &DatabaseUrl) -> Result<BackupOutcome> {
    if config.backup.required == Some(false) {
        return Ok(BackupOutcome {
            skipped: Some(SkipReason::NoDumpTool {
                detail: no_dump_tool(url),
            }),
            ..BackupOutcome::default()
        });
    }
    Err(no_backup_possible(url, true))
}

/// What [`backup_before_change`] did.
#[derive(Debug, Default)]
pub(crate) struct BackupOutcome {
    /// The backup made.
    pub(crate) record: Option<BackupRecord>,
    /// Old backups deleted by retention.
    pub(crate) removed: Vec<PathBuf>,
    /// Why no backup was made, when the user should hear of it.
    pub(crate) skipped: Option<SkipReason>,
}

/// Why a change goes on without a backup.
#[derive(Debug)]
pub(crate) enum SkipReason {
    /// The caller asked for none.
    Flag,
    /// A server database without a dump tool, and `required = false`.
    NoDumpTool { detail: String },
}

/// Backs up the database of `url` now, whatever `[backup] enabled` says, and applies retention.
/// `Ok(None)` when a server database has no dump command or tool; an SQLite database must be
/// an existing file.
pub fn backup_now(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
    printer: &Printer,
) -> Result<Option<BackupRecord>> {
    let Some((record, removed)) = take_backup(config, url, trigger, version_rows)? else {
        return Ok(None);
    };
    printer.status(format!("backed up to {}", record.backup_path.display()));
    for deleted in removed {
        printer.status(format!("removed old backup {}", deleted.display()));
    }
    Ok(Some(record))
}

/// Backs up now and applies retention: the backup and the old backups deleted.
fn take_backup(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
) -> Result<Option<(BackupRecord, Vec<PathBuf>)>> {
    let record = match url.dialect() {
        Dialect::Sqlite => {
            let db_path = existing_sqlite_file(url)?;
            let dir = backup_dir(config, Some(&db_path));
            backup_sqlite(&db_path, &dir, trigger, version_rows)?
        }
        Dialect::Postgresql | Dialect::Mysql => {
            let dir = backup_dir(config, None);
            match server::dump(config, url, &dir, trigger, version_rows)? {
                Some(record) => record,
                None => return Ok(None),
            }
        }
    };
    let dir = record
        .backup_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let removed = apply_retention(&dir, retention(config), &record, Utc::now())?;
    Ok(Some((record, removed)))
}

/// The file of an SQLite URL, which must exist (backup, restore's pre-restore copy, verify).
pub fn existing_sqlite_file(url: &DatabaseUrl) -> Result<PathBuf> {
    match url.sqlite_path() {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(Error::Backup {
            message: format!("the SQLite database `{}` does not exist", path.display()),
            hint: Some("check `database_url` in migrate.toml, DATABASE_URL or `--url`".into()),
        }),
        None => Err(Error::Backup {
            message: format!("`{url}` is an in-memory database; there is no file to back up"),
            hint: None,
        }),
    }
}

fn no_dump_tool(url: &DatabaseUrl) -> String {
    format!(
        "no backup of `{url}` can be made: `command` under `[backup]` is not set and `{}` is not on PATH",
        server::default_tool(url.dialect())
    )
}

/// The error when a server database cannot be dumped; `before_change` adds how to go on anyway.
pub fn no_backup_possible(url: &DatabaseUrl, before_change: bool) -> Error {
    let tool = server::default_tool(url.dialect());
    let go_on = if before_change {
        ", or run again with `--no-backup` (or set `required = false` under `[backup]`) to go on without a backup"
    } else {
        ""
    };
    Error::Backup {
        message: format!(
            "{}{}",
            no_dump_tool(url),
            if before_change {
                "; nothing was changed"
            } else {
                ""
            }
        ),
        hint: Some(format!(
            "install `{tool}` or set `command` under `[backup]` in migrate.toml{go_on}"
        )),
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests;
