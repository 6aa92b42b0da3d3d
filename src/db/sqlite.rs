//! SQLite backend (rusqlite, bundled).
//!
//! Locking: SQLite has no session lock, so the write lock of `BEGIN IMMEDIATE` is the migration
//! lock. `try_lock()` and `lock()` check that a write transaction could start (`lock()` waits
//! until it can), then set the busy timeout that every later `begin()` honours; the executor re-reads the version rows inside
//! each step's `BEGIN IMMEDIATE`, so concurrent runners never apply a revision twice.
//! Durability: `journal_mode` and `synchronous` are never touched (docs/running.md#durability).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{ErrorCode, OpenFlags};

use super::version_table::quote_literal;
use super::{Connection, DbError, Value};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// How long plain reads wait for a writer that is committing, before any `--lock-timeout`.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Between two attempts to take the write lock while another process holds it.
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// One SQLite database file (or an in-memory database).
pub struct SqliteConnection {
    conn: rusqlite::Connection,
    /// For messages; `None` for an in-memory database.
    path: Option<PathBuf>,
}

/// Opens the database for a command that changes it; a missing file is created.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    let conn = SqliteConnection::open_path(url.sqlite_path().as_deref(), true)?;
    Ok(Box::new(conn))
}

/// Opens the database read-only for a command that only looks; `None` when the file does not
/// exist (the database is at base), and the file is never created.
pub fn open_existing(url: &DatabaseUrl) -> Result<Option<Box<dyn Connection>>> {
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
    pub fn open_path(path: Option<&Path>, write: bool) -> Result<SqliteConnection> {
        let database = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
        let fail = |e: rusqlite::Error| Error::SqliteOpenFailed {
            database: database.clone(),
            cause: to_db_error(e),
        };
        let flags = if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        if let Some(dir) = path.and_then(Path::parent) {
            if write && !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(Error::SqliteDirectoryMissing {
                    database,
                    directory: dir.to_path_buf(),
                });
            }
        }
        let conn = match path {
            Some(p) => rusqlite::Connection::open_with_flags(p, flags),
            None => rusqlite::Connection::open_in_memory(),
        }
        .map_err(fail)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT).map_err(fail)?;
        // Reading the schema proves the file is a database (SQLite opens lazily).
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(fail)?;
        if write
            && conn
                .is_readonly(rusqlite::DatabaseName::Main)
                .unwrap_or(false)
        {
            return Err(Error::SqliteReadOnly { database });
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

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn to_db_error(err: rusqlite::Error) -> DbError {
    DbError::from_driver(err.to_string(), is_busy(&err), err)
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
        let mut stmt = self.conn.prepare(sql).map_err(to_db_error)?;
        if stmt.column_count() > 0 {
            // A statement that returns rows (`SELECT 'x'`, many PRAGMAs) still runs to completion.
            let mut rows = stmt.raw_query();
            while rows.next().map_err(to_db_error)?.is_some() {}
            return Ok(0);
        }
        stmt.raw_execute().map_err(to_db_error)?;
        Ok(self.conn.changes())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(to_db_error)?;
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

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(to_db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT").map_err(to_db_error)
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
                    "another process held the write lock of `{}` for more than {:.1}s",
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
