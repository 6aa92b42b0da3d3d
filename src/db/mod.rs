//! Database backends behind one small synchronous trait.
//!
//! A backend only runs statements, transactions and locks; it holds no migration logic. Dialect
//! knowledge that offline mode also needs (version-table SQL, quoting) lives in `version_table`
//! as functions of `Dialect`, so `--sql` renders exactly what a live run executes.

use std::time::Duration;

use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

pub mod version_table;

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "mysql")]
pub mod mysql;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;

/// One value read back from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// SQL truthiness as `verify` sections use it: NULL, false, 0, '' , '0', 'f', 'false' are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Real(r) => *r != 0.0,
            Value::Text(t) => !matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "f" | "false" | "n" | "no"
            ),
            Value::Bytes(b) => !b.is_empty(),
        }
    }

    /// The value as text (for version rows and reports); NULL is `None`.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Real(r) => Some(r.to_string()),
            Value::Text(t) => Some(t.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// A driver error, with the database's own text (already scrubbed of passwords).
#[derive(Debug, Clone, PartialEq)]
pub struct DbError {
    pub message: String,
    /// True when the failure was waiting for a lock (busy database, lock timeout).
    pub is_lock_timeout: bool,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            is_lock_timeout: false,
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One open database session. Implemented once per driver.
pub trait Connection {
    fn dialect(&self) -> Dialect;

    /// Runs exactly one statement (the caller has split the script); returns rows affected.
    fn execute(&mut self, sql: &str) -> Result<u64, DbError>;

    /// Runs a query and returns all rows (each a vector of column values).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError>;

    /// Starts a transaction that holds the write lock where the database has one
    /// (SQLite: `BEGIN IMMEDIATE`).
    fn begin(&mut self) -> Result<(), DbError>;
    fn commit(&mut self) -> Result<(), DbError>;
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Whether a table exists; never creates anything. `schema` is PostgreSQL's schema.
    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError>;

    /// Takes the migration lock named `key`, waiting at most `timeout`; calls `on_wait` once when
    /// it has to wait. SQLite has no session lock: its backend relies on `begin()`'s write lock.
    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        on_wait: &mut dyn FnMut(),
    ) -> Result<(), DbError>;
    fn unlock(&mut self, key: &str) -> Result<(), DbError>;

    /// The user the session runs as, for the audit trail.
    fn current_user(&mut self) -> Option<String> {
        None
    }
}

/// Opens a connection for `url`, or says which feature is missing.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open(url),
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => postgres::open(url),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => mysql::open(url),
        #[allow(
            unreachable_patterns,
            reason = "reachable when a driver feature is off"
        )]
        other => Err(Error::BackendNotCompiled {
            dialect: other.name().to_string(),
        }),
    }
}

/// Opens a connection for a command that only reads (`current`, `status`, `log`, `check`):
/// `None` when an SQLite file does not exist (the database is at base), which is never created.
pub fn connect_existing(url: &DatabaseUrl) -> Result<Option<Box<dyn Connection>>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open_existing(url),
        _ => connect(url).map(Some),
    }
}
