//! Database backends behind one small synchronous trait.
//!
//! A backend only runs statements, transactions and locks; it holds no migration logic. Dialect
//! knowledge that offline mode also needs (version-table SQL, quoting) lives in `version_table`
//! as functions of `Dialect`, so `--sql` renders exactly what a live run executes.

use std::time::Duration;

use crate::config::{DatabaseUrl, Dialect, LockConfig};
pub(crate) use crate::error::DbError;
use crate::error::{Error, Result};

pub(crate) mod audit_details;
pub(crate) mod version_table;

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;

#[cfg(feature = "postgres")]
mod own_thread;

#[cfg(feature = "postgres")]
mod lease;

#[cfg(feature = "mysql")]
pub(crate) mod mysql;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod blocker;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

/// One value read back from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A boolean column (PostgreSQL `boolean`).
    Bool(bool),
    /// Any integer column.
    Int(i64),
    /// A floating-point column.
    Real(f64),
    /// A text column.
    Text(String),
    /// A binary column.
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

/// One open database session. Implemented once per driver.
pub trait Connection {
    /// The SQL dialect the session speaks: which version-table SQL and lock it gets.
    fn dialect(&self) -> Dialect;

    /// Runs exactly one statement (the caller has split the script); returns rows affected.
    fn execute(&mut self, sql: &str) -> Result<u64, DbError>;

    /// Runs a query and returns all rows (each a vector of column values).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError>;

    /// Runs one of retort's own catalog queries, whose columns are plain text, numbers and
    /// booleans: a backend may take a quicker path than [`Connection::query`]'s, which must
    /// render any type the way the server prints it.
    fn query_catalog(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        self.query(sql)
    }

    /// Runs a query on one of retort's own tables whose columns are all text (the version
    /// rows), every value text or NULL: a backend may answer it in one round trip where
    /// [`Connection::query`] takes two to learn the column types.
    fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        self.query(sql)
    }

    /// Starts a transaction that holds the write lock where the database has one
    /// (SQLite: `BEGIN IMMEDIATE`). The servers' standard statement is the default.
    fn begin(&mut self) -> Result<(), DbError> {
        self.execute("START TRANSACTION").map(drop)
    }
    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), DbError> {
        self.execute("COMMIT").map(drop)
    }
    /// Rolls the open transaction back.
    fn rollback(&mut self) -> Result<(), DbError> {
        self.execute("ROLLBACK").map(drop)
    }

    /// Whether a table exists; never creates anything. `schema` is PostgreSQL's schema.
    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError>;

    /// Takes the migration lock named `key` if no other session holds it: `Ok(false)` when one
    /// does (the caller can say so, then wait with [`Connection::lock`]). `timeout` is how long
    /// the waits that follow may last: SQLite has no session lock, and its backend relies on
    /// `begin()`'s write lock, which then waits up to `timeout` for another process.
    fn try_lock(&mut self, key: &str, timeout: Duration) -> Result<bool, DbError>;

    /// Takes the migration lock named `key`, waiting at most `timeout` for another session to
    /// release it (a `DbError` with `is_lock_timeout` when it does not).
    fn lock(&mut self, key: &str, timeout: Duration) -> Result<(), DbError>;
    /// Who holds the migration lock named `key`, described for the line that says the run
    /// waits (a session, its application, its state and since when); `None` when the
    /// backend cannot say.
    fn lock_holder(&mut self, _key: &str) -> Option<String> {
        None
    }

    /// Releases the migration lock named `key`.
    fn unlock(&mut self, key: &str) -> Result<(), DbError>;

    /// Bounds how long each following statement may wait for a table or row lock (`lock`) and
    /// run (`statement`); zero leaves that one unbounded. Inside a transaction on PostgreSQL
    /// the settings end with it (`SET LOCAL`); otherwise they hold for the session until
    /// [`Connection::reset_timeouts`]. The default does nothing (SQLite has neither).
    fn set_timeouts(
        &mut self,
        _lock: Duration,
        _statement: Duration,
        _in_transaction: bool,
    ) -> Result<(), DbError> {
        Ok(())
    }

    /// Puts the session's timeouts back as they were before [`Connection::set_timeouts`].
    fn reset_timeouts(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// The session that held the lock the last failed statement waited for, described for the
    /// line that says the revision is retried (session id, user, application or host, state,
    /// how long its transaction has been open, its query clipped and without literals).
    /// Backends watch for it while a statement runs under a lock timeout; `None` when none
    /// was seen.
    fn blocker(&mut self) -> Option<String> {
        None
    }

    /// The user the session runs as, for the audit trail.
    fn current_user(&mut self) -> Option<String> {
        None
    }

    /// The server's version as it reports it (`PostgreSQL 15.19 on …`, `10.11.6-MariaDB`,
    /// SQLite's `3.46.0`), for the line that names the database before a change. The servers'
    /// standard function is the default.
    fn server_version(&mut self) -> Result<String, DbError> {
        single_text(self.query("SELECT version()")?)
    }
}

/// The one text value a `SELECT f()` returns.
pub(crate) fn single_text(rows: Vec<Vec<Value>>) -> Result<String, DbError> {
    rows.into_iter()
        .next()
        .and_then(|row| row.into_iter().next())
        .and_then(|value| value.as_text())
        .ok_or_else(|| DbError::new("the query returned no value"))
}

/// A driver compiled into this build: the dialect it speaks and how it connects.
struct Driver {
    dialect: Dialect,
    open: fn(&DatabaseUrl) -> Result<Box<dyn Connection>>,
}

/// The drivers of this build, by Cargo feature.
const DRIVERS: &[Driver] = &[
    #[cfg(feature = "sqlite")]
    Driver {
        dialect: Dialect::Sqlite,
        open: sqlite::open,
    },
    #[cfg(feature = "postgres")]
    Driver {
        dialect: Dialect::Postgresql,
        open: postgres::open,
    },
    #[cfg(feature = "mysql")]
    Driver {
        dialect: Dialect::Mysql,
        open: mysql::open,
    },
];

/// The directory of the database file `path` (`.` for a bare file name), where SQLite keeps
/// its journal.
pub(crate) fn directory_of(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    }
}

/// Opens a connection for `url`, or says which feature is missing.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    connect_with(DRIVERS, url)
}

/// [`connect`] through `drivers`: tests pass a set without some driver, in any build.
fn connect_with(drivers: &[Driver], url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    let dialect = url.dialect();
    let driver = drivers
        .iter()
        .find(|driver| driver.dialect == dialect)
        .ok_or(Error::BackendNotCompiled { dialect })?;
    (driver.open)(url)
}

/// The migration lock a run asks of its connection: the project's `lock` and `lock_lease`,
/// and the version table's schema, where PostgreSQL's lease table goes.
#[derive(Debug, Clone, Default)]
// Only PostgreSQL has a choice of lock.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) struct LockOptions {
    pub config: LockConfig,
    pub schema: Option<String>,
}

impl LockOptions {
    /// The lock of the project whose config is `config` and version table `table`.
    pub(crate) fn of(config: LockConfig, table: &version_table::VersionTable) -> LockOptions {
        LockOptions {
            config,
            schema: table.schema.clone(),
        }
    }
}

/// [`connect`] for a run under the migration lock, which may wait up to `lock_wait` for
/// another runner: opening an SQLite file waits for other writers as long, and a PostgreSQL
/// connection takes the lock `lock` asks for.
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(unused_variables)
)]
pub(crate) fn connect_for_run(
    url: &DatabaseUrl,
    lock_wait: std::time::Duration,
    lock: &LockOptions,
) -> Result<Box<dyn Connection>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open_for_run(url, lock_wait),
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => postgres::open_locking(url, lock.clone()),
        _ => connect(url),
    }
}

/// [`connect_existing`] for a command that takes the migration lock (`drift`): the lock the
/// project's runs take, so the two keep each other out.
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
pub(crate) fn connect_existing_locking(
    url: &DatabaseUrl,
    lock: &LockOptions,
) -> Result<Option<Box<dyn Connection>>> {
    match url.dialect() {
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => postgres::open_locking(url, lock.clone()).map(Some),
        _ => connect_existing(url),
    }
}

/// Opens a connection for a command that only reads (`current`, `status`, `log`, `check`):
/// `None` when an SQLite file does not exist (the database is at base), which is never created.
pub(crate) fn connect_existing(url: &DatabaseUrl) -> Result<Option<Box<dyn Connection>>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open_existing(url),
        _ => connect(url).map(Some),
    }
}

#[cfg(test)]
mod connect_tests {
    use super::*;

    const URLS: [(&str, &str); 3] = [
        ("sqlite://", "sqlite"),
        ("postgresql://u@localhost:1/db", "postgres"),
        ("mysql://u@localhost:1/db", "mysql"),
    ];

    /// Every build, `--all-features` included, since no driver is passed; the example project
    /// (tests/library.rs) checks the same through a binary built with SQLite only.
    #[test]
    fn a_url_for_a_driver_not_compiled_in_names_the_feature() {
        for (url, feature) in URLS {
            let url = DatabaseUrl::parse(url).unwrap();
            let Err(err) = connect_with(&[], &url) else {
                panic!("{url} must fail");
            };
            assert!(matches!(err, Error::BackendNotCompiled { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .contains(&format!("the `{feature}` feature")),
                "{err}"
            );
            let hint = err.hint().unwrap_or_default();
            assert!(hint.contains(&format!("--features {feature}")), "{hint}");
        }
    }

    #[test]
    fn the_compiled_drivers_are_the_enabled_features() {
        let compiled = |dialect| DRIVERS.iter().any(|driver| driver.dialect == dialect);
        assert_eq!(compiled(Dialect::Sqlite), cfg!(feature = "sqlite"));
        assert_eq!(compiled(Dialect::Postgresql), cfg!(feature = "postgres"));
        assert_eq!(compiled(Dialect::Mysql), cfg!(feature = "mysql"));
        for (url, _) in URLS {
            let url = DatabaseUrl::parse(url).unwrap();
            if !compiled(url.dialect()) {
                assert!(matches!(
                    connect(&url),
                    Err(Error::BackendNotCompiled { .. })
                ));
            }
        }
    }
}
