//! SQLite backups: online backup API, SHA-256 checksums, JSON metadata, retention, restore.
//!
//! A backup is two files in the backup directory: `<db-stem>_<YYYYmmdd_HHMMSS>.db` (created with
//! mode 0600 before any byte is written) and `<that name>.json`, the [`BackupRecord`]. Both are
//! written under hidden `.<name>.retort-partial` names and renamed once complete, so a killed run
//! never leaves a file under a backup's name; the next backup removes such leftovers. Only files
//! with a metadata file count as retort backups: retention never touches anything else, and
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

use crate::config::url::SqliteFile;
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::error::{Error, Result};

mod server;

/// The metadata of one backup, stored as `<backup file>.json` beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BackupRecord {
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
    pub(crate) fn metadata_path(backup_file: &Path) -> PathBuf {
        let mut name = backup_file.as_os_str().to_owned();
        name.push(".json");
        PathBuf::from(name)
    }

    /// Reads the metadata beside `backup_file`.
    pub(crate) fn load(backup_file: &Path) -> Result<BackupRecord> {
        let meta_path = Self::metadata_path(backup_file);
        let text = std::fs::read_to_string(&meta_path).map_err(|cause| {
            Error::BackupMetadataUnreadable {
                backup: backup_file.to_path_buf(),
                metadata: meta_path.clone(),
                cause,
            }
        })?;
        let mut record: BackupRecord =
            serde_json::from_str(&text).map_err(|cause| Error::BackupMetadataInvalid {
                metadata: meta_path.clone(),
                cause,
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
pub(crate) struct Retention {
    pub keep: Option<usize>,
    pub keep_days: Option<u64>,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RestoreOutcome {
    /// The backup that is now the database.
    pub restored: BackupRecord,
    /// The backup of the database as it was before the restore (none when there was no file).
    pub pre_restore: Option<BackupRecord>,
}

/// The backup directory: `[backup] dir`, else `backups/` beside the database file, else
/// `backups/` beside `migrate.toml` (server databases).
pub(crate) fn backup_dir(config: &Config, db_path: Option<&Path>) -> PathBuf {
    if let Some(dir) = &config.backup.dir {
        return config.root.join(dir);
    }
    match db_path.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("backups"),
        Some(_) => PathBuf::from("backups"),
        None => config.root.join("backups"),
    }
}

/// How many dumps of a server database are kept when `[backup] keep` is not set: each is a
/// whole copy of the database, taken before every change, and would otherwise fill the disk.
pub(crate) const SERVER_DUMPS_KEPT: usize = 10;

/// Retention settings of `config` for backups of a `dialect` database: SQLite backups have no
/// limit unless one is set, server dumps keep [`SERVER_DUMPS_KEPT`].
pub(crate) fn retention(config: &Config, dialect: Dialect) -> Retention {
    let default_keep = (dialect != Dialect::Sqlite).then_some(SERVER_DUMPS_KEPT);
    Retention {
        keep: config.backup.keep.or(default_keep),
        keep_days: config.backup.keep_days,
    }
}

/// What a backup records as its database (`original_path`): the SQLite file's absolute path, or
/// the server URL without its password.
pub(crate) fn database_identity(url: &DatabaseUrl) -> PathBuf {
    match url.sqlite_path() {
        Some(path) => canonical_path(&path),
        None => PathBuf::from(url.to_string()),
    }
}

/// A backup as `backups` lists it: its metadata and whether the file still matches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ListedBackup {
    #[serde(flatten)]
    pub record: BackupRecord,
    /// Whether the file's size and SHA-256 are still those its metadata records.
    pub intact: bool,
    /// What differs when it is not intact.
    pub problem: Option<String>,
}

impl ListedBackup {
    /// Reads the backup file whole and compares it with its metadata.
    pub(crate) fn check(record: BackupRecord) -> ListedBackup {
        let problem = match sha256_file(&record.backup_path) {
            Ok((_, size)) if size != record.size => {
                Some(format!("{size} bytes, metadata says {}", record.size))
            }
            Ok((sha256, _)) if sha256 != record.sha256 => {
                Some("SHA-256 differs from metadata".to_string())
            }
            Ok(_) => None,
            Err(e) => Some(format!("unreadable: {}", error_chain(&e))),
        };
        ListedBackup {
            record,
            intact: problem.is_none(),
            problem,
        }
    }
}

/// An error and its causes on one line.
fn error_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    text
}

/// Backs up the SQLite database at `db_path` into `backup_dir` with the online backup API, which
/// gives a consistent copy while other connections are open, and writes its metadata.
///
/// Fails before anything else happens when the directory cannot be created or written (full
/// disk, permissions), naming the directory; a partial backup file is removed.
pub(crate) fn backup_sqlite(
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
    let partial = create_backup_file(backup_dir, &stem, "db")?;
    // The file exists empty with mode 0600; SQLite writes the pages into it.
    if let Err(e) = copy_with_backup_api(&original, &partial.temp_path) {
        partial.discard();
        return Err(write_failure(backup_dir, &e.to_string()));
    }
    finish_backup(
        partial,
        backup_dir,
        original,
        trigger_command,
        version_rows,
        Dialect::Sqlite,
    )
}

/// Checksums a complete backup file, gives it its name, writes its metadata and makes both
/// durable.
fn finish_backup(
    partial: PartialBackup,
    backup_dir: &Path,
    original_path: PathBuf,
    trigger_command: &str,
    version_rows: &[String],
    dialect: Dialect,
) -> Result<BackupRecord> {
    let backup_path = partial.final_path.clone();
    let temp_path = partial.temp_path.clone();
    let result = (|| {
        let (sha256, size) = sha256_file(&temp_path)?;
        partial
            .persist()
            .map_err(|e| write_failure(backup_dir, &e.to_string()))?;
        let record = BackupRecord {
            original_path,
            backup_path: backup_path.clone(),
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
        let _ = std::fs::remove_file(&backup_path);
        let _ = std::fs::remove_file(BackupRecord::metadata_path(&backup_path));
        remove_with_journal(&temp_path);
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
        // A failed step sets no message on either connection, so the one rusqlite reads from
        // the destination is stale ("not an error" on a full disk): the code says what failed.
        let step = backup.step(-1).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(code, _) => rusqlite::Error::SqliteFailure(code, None),
            other => other,
        });
        match step? {
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
pub(crate) fn canonical_path(path: &Path) -> PathBuf {
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

/// How the hidden name of a file being written ends (`.<final name>.retort-partial`).
const PARTIAL_SUFFIX: &str = ".retort-partial";

/// A file being written: a hidden temporary file, mode 0600, that holds an exclusive `flock`
/// while its writer lives (so another run can tell a leftover from work in progress) and gets
/// its final name only when complete.
pub(crate) struct PartialBackup {
    /// The name it gets when complete.
    final_path: PathBuf,
    /// Where it is written: `.<final name>.retort-partial` in the same directory.
    temp_path: PathBuf,
    /// Open and locked until this value is dropped.
    file: File,
}

impl PartialBackup {
    /// Creates the locked temporary file for `final_path`; `AlreadyExists` when another run
    /// writes the same name.
    fn create(final_path: PathBuf) -> std::io::Result<PartialBackup> {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(final_path.file_name().unwrap_or_default());
        temp_name.push(PARTIAL_SUFFIX);
        let temp_path = final_path.with_file_name(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp_path)?;
        // A concurrent run's clean-up may have taken this new file for a leftover (locked it
        // first, or already removed it): then the name is not ours.
        let ours = try_lock(&file).is_ok()
            && match (file.metadata(), std::fs::metadata(&temp_path)) {
                (Ok(opened), Ok(named)) => {
                    (opened.dev(), opened.ino()) == (named.dev(), named.ino())
                }
                _ => false,
            };
        if !ours {
            return Err(std::io::ErrorKind::AlreadyExists.into());
        }
        Ok(PartialBackup {
            final_path,
            temp_path,
            file,
        })
    }

    /// Gives the complete file its final name (replacing nothing retort would not: the name was
    /// free when chosen) and makes that durable.
    fn persist(self) -> std::io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.temp_path, &self.final_path)
    }

    /// Removes the temporary file and what SQLite may have left beside it.
    fn discard(self) {
        remove_with_journal(&self.temp_path);
    }
}

/// An exclusive `flock` on `file` without waiting; it lasts while a handle to it is open.
fn try_lock(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(std::io::Error::from)
}

fn remove_with_journal(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(PathBuf::from(journal));
}

/// Removes the temporary files of backups that a killed run left in `dir`: those whose lock
/// nobody holds. Files being written by a live run keep their lock and are left alone.
fn remove_stale_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(PARTIAL_SUFFIX)) {
            continue;
        }
        let abandoned = File::open(&path).is_ok_and(|file| try_lock(&file).is_ok());
        if abandoned {
            remove_with_journal(&path);
        }
    }
}

/// Starts `<stem>_<YYYYmmdd_HHMMSS>[_N].<ext>` in `dir`, never reusing a name, after removing
/// what killed runs left behind.
fn create_backup_file(dir: &Path, stem: &str, ext: &str) -> Result<PartialBackup> {
    let created = !dir.is_dir();
    std::fs::create_dir_all(dir).map_err(|e| write_failure(dir, &e.to_string()))?;
    // Metadata records absolute paths, whatever directory retort ran in.
    let dir = &canonical_path(dir);
    if let Some(parent) = dir.parent().filter(|_| created) {
        sync_dir(parent);
    }
    remove_stale_partials(dir);
    let stamp = Utc::now().format("%Y%m%d_%H%M%S").to_string();
    for n in 0..1000 {
        let name = match n {
            0 => format!("{stem}_{stamp}.{ext}"),
            n => format!("{stem}_{stamp}_{n}.{ext}"),
        };
        let path = dir.join(name);
        if path.exists() || BackupRecord::metadata_path(&path).exists() {
            continue;
        }
        match PartialBackup::create(path) {
            Ok(partial) => return Ok(partial),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_failure(dir, &e.to_string())),
        }
    }
    Err(write_failure(dir, "too many backups in the same second"))
}

/// Writes the metadata of `record` beside it: under a temporary name, renamed when complete, so
/// that a metadata file is always whole.
fn write_metadata(record: &BackupRecord, dir: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| Error::Internal(format!("cannot encode backup metadata: {e}")))?;
    let mut partial = PartialBackup::create(BackupRecord::metadata_path(&record.backup_path))
        .map_err(|e| write_failure(dir, &e.to_string()))?;
    let written = partial
        .file
        .write_all(text.as_bytes())
        .and_then(|()| partial.file.write_all(b"\n"));
    let temp_path = partial.temp_path.clone();
    written.and_then(|()| partial.persist()).map_err(|e| {
        let _ = std::fs::remove_file(&temp_path);
        write_failure(dir, &e.to_string())
    })
}

fn write_failure(dir: &Path, cause: &str) -> Error {
    Error::BackupWriteFailed {
        dir: dir.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// SHA-256 (lower-case hex) and size of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64)> {
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
    Ok((crate::script::checksum::hex(&hasher.finalize()), size))
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
pub(crate) fn list_backups(dir: &Path) -> Result<Vec<BackupRecord>> {
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
/// `just_made` itself nor anything that is not a retort backup; a file already gone is no
/// error. Returns the deleted files.
pub(crate) fn apply_retention(
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
            match std::fs::remove_file(&record.backup_path) {
                Ok(()) => deleted.push(record.backup_path.clone()),
                // Another process deleted it first (by hand, or a retort of an older version).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete old backup", &record.backup_path, e)),
            }
            let _ = std::fs::remove_file(BackupRecord::metadata_path(&record.backup_path));
        }
    }
    Ok(deleted)
}

/// Checks a backup file against its metadata (size and SHA-256) and, for SQLite, runs
/// `PRAGMA integrity_check` on it without changing it. Returns its metadata.
pub(crate) fn verify_backup(backup_file: &Path) -> Result<BackupRecord> {
    let record = BackupRecord::load(backup_file)?;
    let (actual, size) = sha256_file(backup_file)?;
    check_checksum(&record, &actual, size)?;
    if record.dialect == Dialect::Sqlite.name() {
        let problems = integrity_problems(backup_file).map_err(|e| Error::BackupUnreadable {
            backup: backup_file.to_path_buf(),
            cause: e.to_string(),
        })?;
        if !problems.is_empty() {
            return Err(Error::BackupIntegrity {
                backup: backup_file.to_path_buf(),
                problems,
            });
        }
    }
    Ok(record)
}

fn check_checksum(record: &BackupRecord, actual: &str, size: u64) -> Result<()> {
    let backup = record.backup_path.clone();
    if size != record.size {
        return Err(Error::BackupTruncated {
            backup,
            size,
            recorded_size: record.size,
            recorded_sha256: record.sha256.clone(),
            actual_sha256: actual.to_string(),
        });
    }
    if actual != record.sha256 {
        return Err(Error::BackupChecksumMismatch {
            backup,
            recorded_sha256: record.sha256.clone(),
            actual_sha256: actual.to_string(),
        });
    }
    Ok(())
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

/// Restores `backup_file` over the SQLite database at `db_path`.
///
/// In order: the backup's size and SHA-256 are checked against its metadata and SQLite's
/// integrity check is run on it (a corrupt or truncated backup is refused before anything
/// changes); the backup is copied to a temporary file beside the database (checked again while
/// copying) and synced; the database's write lock is taken and held until the swap is done, so
/// no other process can commit into a file that is about to be replaced (refused when another
/// process holds it); the current database is backed up into `pre_restore_dir`; the copy is
/// renamed over the database in one step and the directory synced. A process killed at any point
/// leaves either the old database or the restored one, never a mix.
pub(crate) fn restore(
    backup_file: &Path,
    db_path: &Path,
    pre_restore_dir: &Path,
    current_version_rows: &[String],
) -> Result<RestoreOutcome> {
    let restored = verify_backup(backup_file)?;
    if restored.dialect != Dialect::Sqlite.name() {
        return Err(Error::RestoreOfDump {
            backup: backup_file.to_path_buf(),
            dialect: restored.dialect,
        });
    }
    // Through a symlink, the file it points to is the database.
    let db_path = &canonical_path(db_path);
    let temp = stage_restore_copy(&restored, db_path)?;
    let swapped = (|| {
        let exists = db_path.exists();
        // Held until the end of this block, after the rename: a writer waiting for it finds
        // the restored file.
        let _write_lock = if exists {
            Some(lock_for_swap(db_path)?)
        } else {
            None
        };
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
        std::fs::rename(&temp, db_path).map_err(|e| Error::io("replace", db_path, e))?;
        Ok(pre_restore)
    })();
    let pre_restore = match swapped {
        Ok(pre_restore) => pre_restore,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    // The WAL is empty (checkpointed under the lock) and the shared-memory index is rebuilt by
    // the next connection; removing them keeps the old database's log from ever meeting the new
    // file.
    for suffix in ["-wal", "-shm"] {
        let mut side = db_path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    sync_dir(&parent_dir(db_path));
    Ok(RestoreOutcome {
        restored,
        pre_restore,
    })
}

/// The directory a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies `backup` to a temporary file beside `db_path`, checking its checksum again on the way,
/// with the database's owner and mode; returns the synced temporary file.
fn stage_restore_copy(backup: &BackupRecord, db_path: &Path) -> Result<PathBuf> {
    let name = db_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    let temp = parent_dir(db_path).join(format!(".{name}.retort-restore.tmp"));
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
        out.sync_all().map_err(|e| Error::io("sync", &temp, e))
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// How long restore waits for another process to release the database's write lock.
#[cfg(feature = "sqlite")]
const SWAP_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Takes the write lock of the SQLite database at `db_path` (`BEGIN IMMEDIATE`: the RESERVED
/// lock in the rollback-journal modes, the WAL write lock in WAL mode), after rolling back a hot
/// journal and checkpointing the WAL into the file. While the returned connection is open no
/// other process can commit. Refused when another process holds the lock, or commits to the WAL
/// between the checkpoint and the lock.
#[cfg(feature = "sqlite")]
fn lock_for_swap(db_path: &Path) -> Result<rusqlite::Connection> {
    use rusqlite::{ErrorCode, OpenFlags};
    let refusal = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::DatabaseLocked {
            database: db_path.to_path_buf(),
            waited_secs: SWAP_LOCK_WAIT.as_secs(),
        },
        _ => Error::DatabaseInUse {
            database: db_path.to_path_buf(),
            detail: format!("cannot lock it: {e}"),
        },
    };
    let conn = rusqlite::Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(refusal)?;
    conn.busy_timeout(SWAP_LOCK_WAIT).map_err(refusal)?;
    // A checkpoint cannot run inside a transaction, so it comes first; the WAL must still be
    // empty once the lock is held.
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .map_err(refusal)?;
    if busy != 0 {
        return Err(Error::DatabaseLocked {
            database: db_path.to_path_buf(),
            waited_secs: SWAP_LOCK_WAIT.as_secs(),
        });
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(refusal)?;
    let mut wal = db_path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0) {
        return Err(Error::DatabaseInUse {
            database: db_path.to_path_buf(),
            detail: "it wrote to the WAL during the restore".into(),
        });
    }
    Ok(conn)
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
fn lock_for_swap(db_path: &Path) -> Result<()> {
    Err(Error::DatabaseInUse {
        database: db_path.to_path_buf(),
        detail: no_sqlite().to_string(),
    })
}

/// What [`backup_before_change`] or [`backup_now`] did, for the caller to report.
#[derive(Debug)]
pub(crate) struct BackupOutcome {
    /// The backup made, if any.
    pub record: Option<BackupRecord>,
    /// Older backups that retention deleted.
    pub removed: Vec<PathBuf>,
    /// Why no backup was made, when none was.
    pub skipped: Option<SkipReason>,
}

/// Why a change goes ahead without a backup.
#[derive(Debug)]
pub(crate) enum SkipReason {
    /// The caller asked for none.
    Requested,
    /// `[backup] enabled = false`.
    Disabled,
    /// An SQLite database in memory, not created yet or empty: there is nothing to lose.
    NothingToLose,
    /// A server database cannot be dumped and `[backup] required = false`; `cause` says why.
    NotRequired { cause: Error },
}

impl BackupOutcome {
    fn skipped(reason: SkipReason) -> Self {
        BackupOutcome {
            record: None,
            removed: Vec::new(),
            skipped: Some(reason),
        }
    }
}

/// Backs up the database before `upgrade`, `downgrade` or `stamp` changes it. Call it under
/// the migration lock, before any SQL runs: an error means nothing was changed.
///
/// - SQLite file (not in-memory, and only when the file exists): an online backup into
///   [`backup_dir`] unless `[backup] enabled = false`, then retention (`keep`, `keep_days`).
/// - PostgreSQL / MySQL: `[backup] command` when set (run by `sh -c`, its stdout is the dump),
///   else `pg_dump` / `mysqldump` when on `PATH`; the URL's credentials go through the
///   environment (`PGPASSWORD`, `MYSQL_PWD`, ...), never the command line. The dump gets the
///   same metadata file. When no dump can be made this fails, unless `no_backup` or
///   `[backup] required = false` (then the outcome says so, for one warning).
///
/// `trigger` is the command line to record (e.g. `upgrade head`); `version_rows` the version
/// table's rows before the change.
pub(crate) fn backup_before_change(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
    no_backup: bool,
) -> Result<BackupOutcome> {
    if no_backup {
        return Ok(BackupOutcome::skipped(SkipReason::Requested));
    }
    if config.backup.enabled == Some(false) {
        return Ok(BackupOutcome::skipped(SkipReason::Disabled));
    }
    match url.sqlite_file() {
        Some(SqliteFile::InMemory | SqliteFile::Missing(_)) => {
            return Ok(BackupOutcome::skipped(SkipReason::NothingToLose));
        }
        // Opening the run's connection creates a missing file, empty until the first change.
        Some(SqliteFile::Exists(path)) if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) => {
            return Ok(BackupOutcome::skipped(SkipReason::NothingToLose));
        }
        _ => {}
    }
    match try_backup(config, url, trigger, version_rows)? {
        Some(outcome) => Ok(outcome),
        None => without_backup(config, url),
    }
}

/// When a server database cannot be dumped: on without a backup only if `required = false`.
fn without_backup(config: &Config, url: &DatabaseUrl) -> Result<BackupOutcome> {
    if config.backup.required == Some(false) {
        return Ok(BackupOutcome::skipped(SkipReason::NotRequired {
            cause: no_dump_tool(url, false),
        }));
    }
    Err(no_dump_tool(url, true))
}

/// Backs up the database of `url` now, whatever `[backup] enabled` says, and applies retention.
/// An SQLite database must be an existing file; a server database needs a dump command or tool.
pub(crate) fn backup_now(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
) -> Result<BackupOutcome> {
    try_backup(config, url, trigger, version_rows)?.ok_or_else(|| no_dump_tool(url, false))
}

/// A backup and retention; `None` when a server database has no dump command or tool.
fn try_backup(
    config: &Config,
    url: &DatabaseUrl,
    trigger: &str,
    version_rows: &[String],
) -> Result<Option<BackupOutcome>> {
    let db_path = match url.dialect() {
        Dialect::Sqlite => Some(existing_sqlite_file(url)?),
        Dialect::Postgresql | Dialect::Mysql => None,
    };
    let dir = backup_dir(config, db_path.as_deref());
    let _turn = lock_dir(&dir)?;
    let record = match &db_path {
        Some(db_path) => backup_sqlite(db_path, &dir, trigger, version_rows)?,
        None => match server::dump(config, url, &dir, trigger, version_rows)? {
            Some(record) => record,
            None => return Ok(None),
        },
    };
    let dir = record
        .backup_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let removed = apply_retention(&dir, retention(config, url.dialect()), &record, Utc::now())?;
    Ok(Some(BackupOutcome {
        record: Some(record),
        removed,
        skipped: None,
    }))
}

/// Waits for the backup directory `dir` (created if missing) to be this process's alone, until
/// the handle returned is dropped. A backup and its retention take turns: two at the same
/// moment could each delete the other's new backup as the older one.
fn lock_dir(dir: &Path) -> Result<File> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| write_failure(dir, &e.to_string()))?;
        if let Some(parent) = canonical_path(dir).parent() {
            sync_dir(parent);
        }
    }
    let handle = File::open(dir).map_err(|e| write_failure(dir, &e.to_string()))?;
    rustix::fs::flock(&handle, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| write_failure(dir, &std::io::Error::from(e).to_string()))?;
    Ok(handle)
}

/// The file of an SQLite URL, which must exist to be backed up.
fn existing_sqlite_file(url: &DatabaseUrl) -> Result<PathBuf> {
    match url.sqlite_file() {
        Some(SqliteFile::Exists(path)) => Ok(path),
        Some(SqliteFile::Missing(path)) => Err(Error::SqliteFileMissing { path }),
        Some(SqliteFile::InMemory) | None => Err(Error::SqliteInMemory {
            database: url.to_string(),
        }),
    }
}

/// The error when a server database cannot be dumped; `before_change` when a change was to
/// follow (then it did not happen).
fn no_dump_tool(url: &DatabaseUrl, before_change: bool) -> Error {
    Error::NoDumpTool {
        database: url.to_string(),
        tool: server::default_tool(url.dialect()),
        client: server::client_package(url.dialect()),
        before_change,
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests;
