//! SQLite backend (rusqlite, bundled).
//!
//! Locking: SQLite has no session lock, so the write lock of `BEGIN IMMEDIATE` is the migration
//! lock. `try_lock()` and `lock()` check that a write transaction could start (`lock()` waits
//! until it can), then set the busy timeout that every later `begin()` honours; the executor re-reads the version rows inside
//! each step's `BEGIN IMMEDIATE`, so concurrent runners never apply a revision twice.
//! Durability: `journal_mode` and `synchronous` are never touched (docs/running.md#durability).
//! Crashes: a writer killed mid-transaction in rollback-journal mode leaves a hot journal that
//! only a read-write connection can roll back, so a command that only reads opens such a file
//! read-write, lets SQLite roll it back, and records that it did (see [`take_recoveries`]).
//! In WAL mode a read-only connection already ignores an unfinished transaction's frames.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{ErrorCode, OpenFlags};

use super::version_table::quote_literal;
use super::{Connection, DbError, Value};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// How long plain reads wait for a writer that is committing, before any `--migration-lock-wait`.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Between two attempts to take the write lock while another process holds it.
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Status lines about interrupted transactions rolled back while opening a database, until
/// the caller takes them: opening happens deep inside commands, far from their output.
static RECOVERIES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The recoveries of interrupted transactions made since the last call, as status lines.
pub(crate) fn take_recoveries() -> Vec<String> {
    RECOVERIES
        .lock()
        .map(|mut lines| std::mem::take(&mut *lines))
        .unwrap_or_default()
}

/// One SQLite database file (or an in-memory database).
pub struct SqliteConnection {
    conn: rusqlite::Connection,
    /// For messages; `None` for an in-memory database.
    path: Option<PathBuf>,
}

/// Opens the database for a command that changes it; a missing file is created.
pub(crate) fn open(url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    let conn = SqliteConnection::open_path(url.sqlite_path().as_deref(), true)?;
    Ok(Box::new(conn))
}

/// [`open`] for a run under the migration lock: opening waits for other writers (committing,
/// or rolling back a killed runner's journal) as long as the lock wait, and a database still
/// locked after it is a [`Error::LockTimeout`] naming that wait.
pub(crate) fn open_for_run(url: &DatabaseUrl, wait: Duration) -> Result<Box<dyn Connection>> {
    let conn = SqliteConnection::open_waiting(url.sqlite_path().as_deref(), true, Some(wait))?;
    Ok(Box::new(conn))
}

/// Opens the database read-only for a command that only looks; `None` when the file does not
/// exist (the database is at base), and the file is never created.
pub(crate) fn open_existing(url: &DatabaseUrl) -> Result<Option<Box<dyn Connection>>> {
    match url.sqlite_path() {
        Some(path) if !path.exists() => Ok(None),
        path => {
            let conn = SqliteConnection::open_path(path.as_deref(), false)?;
            Ok(Some(Box::new(conn)))
        }
    }
}

/// Wraps a connection the application opened itself; its settings are left as they are.
impl From<rusqlite::Connection> for SqliteConnection {
    fn from(conn: rusqlite::Connection) -> Self {
        let path = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from);
        SqliteConnection { conn, path }
    }
}

impl SqliteConnection {
    /// Opens `path` (`None` = in memory), for writing when `write` (creating the file), else
    /// read-only. Fails, naming the file, when it is not a database or cannot be written.
    /// A hot journal a crashed writer left is rolled back either way, and recorded.
    pub fn open_path(path: Option<&Path>, write: bool) -> Result<SqliteConnection> {
        SqliteConnection::open_waiting(path, write, None)
    }

    /// [`SqliteConnection::open_path`], waiting up to `wait` for other processes' locks
    /// (`None`: [`DEFAULT_BUSY_TIMEOUT`], and a lock still held is an open failure).
    fn open_waiting(
        path: Option<&Path>,
        write: bool,
        wait: Option<Duration>,
    ) -> Result<SqliteConnection> {
        let database = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
        let fail = |e: rusqlite::Error| match path {
            Some(path) if directory_is_the_cause(path, &e) => Error::SqliteDirectoryReadOnly {
                database: path.to_path_buf(),
                directory: super::directory_of(path).to_path_buf(),
                cause: to_db_error(e),
            },
            _ => Error::SqliteOpenFailed {
                database: database.clone(),
                cause: to_db_error(e),
            },
        };
        if let Some(dir) = path.and_then(Path::parent) {
            if write && !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(Error::SqliteDirectoryMissing {
                    database,
                    directory: dir.to_path_buf(),
                });
            }
        }
        let hot_journal = path.is_some_and(has_hot_journal);
        let flags = match (write, hot_journal) {
            (true, _) => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            // Only a connection that may write can roll the journal back; the file exists.
            (false, true) => OpenFlags::SQLITE_OPEN_READ_WRITE,
            (false, false) => OpenFlags::SQLITE_OPEN_READ_ONLY,
        } | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match connect(path, flags, wait.unwrap_or(DEFAULT_BUSY_TIMEOUT)) {
            Err(e) if is_busy(&e) && wait.is_some() => {
                let waited = wait.unwrap_or_default();
                return Err(Error::LockTimeout {
                    waited,
                    cause: DbError::lock_timeout(format!(
                        "another process kept `{database}` locked for more than {}s while \
                         opening it ({e})",
                        waited.as_secs_f64()
                    )),
                });
            }
            Err(e) if needs_rollback(&e) => {
                return Err(Error::SqliteHotJournal {
                    database,
                    cause: to_db_error(e),
                });
            }
            opened => opened.map_err(fail)?,
        };
        if write
            && conn
                .is_readonly(rusqlite::DatabaseName::Main)
                .unwrap_or(false)
        {
            return Err(Error::SqliteReadOnly { database });
        }
        if hot_journal {
            if let Ok(mut lines) = RECOVERIES.lock() {
                lines.push(format!(
                    "recovered an interrupted transaction from `{database}-journal` (rolled back by \
                     SQLite)"
                ));
            }
        }
        Ok(SqliteConnection {
            conn,
            path: path.map(Path::to_path_buf),
        })
    }

    /// The database file, if not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Tries `BEGIN IMMEDIATE` once without waiting; `Ok(false)` when another process holds the
    /// write lock.
    fn try_begin_immediate(&mut self) -> Result<bool, DbError> {
        self.conn
            .busy_timeout(Duration::ZERO)
            .map_err(to_db_error)?;
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => Ok(true),
            Err(e) if is_busy(&e) => Ok(false),
            Err(e) => Err(to_db_error(e)),
        }
    }
}

/// Opens `path` (`None` = in memory) with `flags` and reads its schema, waiting up to `busy`
/// for a writer that is committing. Reading proves the file is a database (SQLite opens
/// lazily), and rolls back a hot journal when the connection may write.
fn connect(
    path: Option<&Path>,
    flags: OpenFlags,
    busy: Duration,
) -> rusqlite::Result<rusqlite::Connection> {
    let conn = match path {
        Some(p) => rusqlite::Connection::open_with_flags(p, flags)?,
        None => rusqlite::Connection::open_in_memory()?,
    };
    conn.busy_timeout(busy)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(conn)
}

/// Whether the journal of `db` holds a transaction a crashed writer left unfinished. A
/// journal exists while any writer is at work; whether it is hot (no writer holds its lock,
/// and it was synced before the database file changed) is SQLite's own test, which a
/// read-only connection reports as an error.
fn has_hot_journal(db: &Path) -> bool {
    let mut journal = db.as_os_str().to_owned();
    journal.push("-journal");
    if !Path::new(&journal).is_file() {
        return false;
    }
    // Without waiting: a lock held means a live writer, or another process rolling it back.
    let probe = connect(
        Some(db),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        Duration::ZERO,
    );
    matches!(probe, Err(e) if needs_rollback(&e))
}

fn needs_rollback(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK
    )
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// SQLite reads a statement only up to a NUL byte: what follows is dropped, and a statement
/// that starts with one is empty, which rusqlite then reports as "not an error".
fn refuse_nul(sql: &str) -> Result<(), DbError> {
    match sql.find('\0') {
        None => Ok(()),
        Some(at) => Err(DbError::new(format!(
            "the statement holds a NUL byte (at character {}), where SQLite would stop \
             reading it; remove it from the file",
            sql[..at].chars().count() + 1
        ))),
    }
}

fn to_db_error(err: rusqlite::Error) -> DbError {
    DbError::from_driver(err.to_string(), is_busy(&err), err)
}

impl SqliteConnection {
    /// `to_db_error` for a change: a read-only failure whose cause is the directory (SQLite
    /// could not create the journal beside the file) says so, instead of blaming the statement.
    fn write_error(&self, err: rusqlite::Error) -> DbError {
        let unwritable = self
            .path
            .as_deref()
            .filter(|path| directory_is_the_cause(path, &err))
            .map(Path::to_path_buf);
        let mut error = to_db_error(err);
        error.unwritable_directory_of = unwritable;
        error
    }
}

/// Whether `err` (read-only, or cannot open) comes from the directory of `path`, in which
/// SQLite must create the journal, or the WAL and its index, and which cannot be written.
fn directory_is_the_cause(path: &Path, err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen)
    ) && rustix::fs::access(super::directory_of(path), rustix::fs::Access::WRITE_OK).is_err()
}

/// Every row of `stmt`, run without parameters.
fn rows_of(stmt: &mut rusqlite::Statement<'_>) -> Result<Vec<Vec<Value>>, DbError> {
    let columns = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(to_db_error)? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(to_value(row.get_ref(i).map_err(to_db_error)?));
        }
        out.push(values);
    }
    Ok(out)
}

fn to_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        refuse_nul(sql)?;
        let mut stmt = self.conn.prepare(sql).map_err(to_db_error)?;
        if stmt.column_count() > 0 {
            // A statement that returns rows (`SELECT 'x'`, many PRAGMAs) still runs to completion.
            let mut rows = stmt.raw_query();
            let done = loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(0),
                    Err(e) => break Err(e),
                }
            };
            drop(rows);
            drop(stmt);
            return done.map_err(|e| self.write_error(e));
        }
        let ran = stmt.raw_execute();
        drop(stmt);
        ran.map_err(|e| self.write_error(e))?;
        Ok(self.conn.changes())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        refuse_nul(sql)?;
        let mut stmt = self.conn.prepare(sql).map_err(to_db_error)?;
        rows_of(&mut stmt)
    }

    /// Through rusqlite's statement cache: a schema read runs the same few queries each time.
    fn query_catalog(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        refuse_nul(sql)?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(to_db_error)?;
        rows_of(&mut stmt)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(to_db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        let committed = self.conn.execute_batch("COMMIT");
        committed.map_err(|e| self.write_error(e))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.conn.is_autocommit() {
            // SQLite already rolled back (some errors end the transaction on their own).
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(to_db_error)
    }

    fn table_exists(&mut self, _schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        // language=SQLite
        let sql = format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND lower(name) = lower({})",
            quote_literal(Dialect::Sqlite, table)
        );
        let rows = self.query(&sql)?;
        Ok(matches!(rows.first().and_then(|r| r.first()), Some(Value::Int(n)) if *n > 0))
    }

    fn try_lock(&mut self, _key: &str, timeout: Duration) -> Result<bool, DbError> {
        let free = self.try_begin_immediate()?;
        if free {
            // The probe only proves the lock can be had; each step takes it again with its own
            // `BEGIN IMMEDIATE` and waits up to the same timeout.
            self.conn.execute_batch("ROLLBACK").map_err(to_db_error)?;
        }
        self.conn.busy_timeout(timeout).map_err(to_db_error)?;
        Ok(free)
    }

    fn lock(&mut self, key: &str, timeout: Duration) -> Result<(), DbError> {
        let started = Instant::now();
        while !self.try_lock(key, timeout)? {
            if started.elapsed() >= timeout {
                return Err(DbError::lock_timeout(format!(
                    "another process held the write lock of `{}` for more than {}s",
                    self.path
                        .as_deref()
                        .map_or_else(|| ":memory:".into(), |p| p.display().to_string()),
                    timeout.as_secs_f64()
                )));
            }
            std::thread::sleep(LOCK_POLL_INTERVAL);
        }
        Ok(())
    }

    fn unlock(&mut self, _key: &str) -> Result<(), DbError> {
        Ok(())
    }

    /// SQLite has no users: the run records the operating system's (see `settings::os_user`).
    fn current_user(&mut self) -> Option<String> {
        None
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        super::single_text(self.query("SELECT sqlite_version()")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_returning_rows_run_through_execute() {
        let mut c = SqliteConnection::open_path(None, true).unwrap();
        assert_eq!(c.execute("SELECT 'up a'").unwrap(), 0);
        c.execute("CREATE TABLE t (x INTEGER)").unwrap();
        assert_eq!(c.execute("INSERT INTO t VALUES (1), (2)").unwrap(), 2);
        assert_eq!(
            c.query("SELECT x, 'a', NULL FROM t ORDER BY x").unwrap()[1],
            vec![Value::Int(2), Value::Text("a".into()), Value::Null]
        );
        assert!(c.table_exists(None, "T").unwrap());
        assert!(!c.table_exists(None, "nope").unwrap());
    }

    #[test]
    fn missing_file_is_not_created_by_read_only_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let err = SqliteConnection::open_path(Some(&path), false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("absent.db"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(
            &path,
            "this is not a database, just some text to fill the header...",
        )
        .unwrap();
        let err = SqliteConnection::open_path(Some(&path), true)
            .err()
            .unwrap();
        assert!(err.to_string().contains("junk.db"), "{err}");
    }

    /// What a writer killed mid-transaction leaves: copies of a database and its journal,
    /// taken once the open transaction had written pages to the file.
    fn crashed_copies(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
        let live = dir.join("live.db");
        let mut writer = SqliteConnection::open_path(Some(&live), true).unwrap();
        writer.execute("CREATE TABLE t (x BLOB)").unwrap();
        writer.begin().unwrap();
        // More than the page cache holds, so pages reach the file.
        writer
            .execute(
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) \
                 INSERT INTO t SELECT randomblob(1000) FROM c",
            )
            .unwrap();
        let copies = names
            .iter()
            .map(|name| {
                let copy = dir.join(name);
                std::fs::copy(&live, &copy).unwrap();
                std::fs::copy(
                    dir.join("live.db-journal"),
                    dir.join(format!("{name}-journal")),
                )
                .unwrap();
                copy
            })
            .collect();
        writer.rollback().unwrap();
        copies
    }

    fn rows_of_t(conn: &mut SqliteConnection) -> Vec<Vec<Value>> {
        conn.query("SELECT count(*) FROM t").unwrap()
    }

    // One test: recoveries are recorded process-wide.
    #[test]
    fn a_hot_journal_is_rolled_back_by_any_open_and_recorded_but_a_live_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let crashed = crashed_copies(dir.path(), &["read.db", "write.db"]);
        take_recoveries();
        for (path, write) in crashed.iter().zip([false, true]) {
            let mut conn = SqliteConnection::open_path(Some(path), write).unwrap();
            assert_eq!(rows_of_t(&mut conn), [[Value::Int(0)]]);
            let journal = format!("{}-journal", path.display());
            assert!(!Path::new(&journal).exists(), "{journal} stayed");
            assert_eq!(
                take_recoveries(),
                [format!(
                    "recovered an interrupted transaction from `{journal}` (rolled back by SQLite)"
                )]
            );
        }

        // A writer at work has a journal too; a reader leaves it alone and says nothing.
        let live = dir.path().join("live.db");
        let mut writer = SqliteConnection::open_path(Some(&live), true).unwrap();
        writer.begin().unwrap();
        writer.execute("INSERT INTO t VALUES (1)").unwrap();
        assert!(dir.path().join("live.db-journal").exists());
        let mut reader = SqliteConnection::open_path(Some(&live), false).unwrap();
        assert_eq!(rows_of_t(&mut reader), [[Value::Int(0)]]);
        writer.commit().unwrap();
        assert_eq!(rows_of_t(&mut reader), [[Value::Int(1)]]);
        assert!(take_recoveries().is_empty());
    }

    #[test]
    fn lock_times_out_with_a_lock_error_and_busy_try_lock_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let mut holder = SqliteConnection::open_path(Some(&path), true).unwrap();
        holder.begin().unwrap();
        let mut waiter = SqliteConnection::open_path(Some(&path), true).unwrap();
        assert!(!waiter.try_lock("k", Duration::from_millis(100)).unwrap());
        let err = waiter.lock("k", Duration::from_millis(100)).unwrap_err();
        assert!(err.is_lock_timeout);
        let err = waiter.begin().unwrap_err();
        assert!(err.is_lock_timeout, "{err}");
        holder.rollback().unwrap();
        assert!(waiter.try_lock("k", Duration::from_millis(100)).unwrap());
        waiter.lock("k", Duration::from_millis(100)).unwrap();
        waiter.begin().unwrap();
        waiter.commit().unwrap();
    }

    #[test]
    fn a_free_try_lock_leaves_begin_waiting_up_to_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let mut runner = SqliteConnection::open_path(Some(&path), true).unwrap();
        assert!(runner.try_lock("k", Duration::from_secs(30)).unwrap());
        let mut holder = SqliteConnection::open_path(Some(&path), true).unwrap();
        holder.begin().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            holder.rollback().unwrap();
        });
        // Fails at once if the probe left the busy timeout at zero.
        runner.begin().unwrap();
        runner.commit().unwrap();
        release.join().unwrap();
    }
}
