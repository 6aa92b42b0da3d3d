//! The one error type of retort.
//!
//! Every variant carries what a user needs to find the fault: the file and line, the revision,
//! the statement. Messages start lower-case, name things in backticks and never repeat their
//! `#[source]` (the renderer in `cli` prints the chain). `hint()` adds what to do next.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::dialect::Dialect;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in retort, as a user sees it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A revision file is malformed (header, sections, encoding).
    #[error("{}:{line}: {message}", path.display())]
    Script {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// `migrate.toml` is missing, malformed, or names something that does not exist.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    /// The revision graph is invalid: duplicate ids, missing parents, cycles, label clashes.
    #[error("{message}")]
    Graph {
        message: String,
        hint: Option<String>,
    },

    /// A target, range or revision argument cannot be resolved or does not make sense here.
    /// The message follows Alembic's wording (`Can't locate revision identified by 'x'`, ...).
    #[error("{message}")]
    Resolution {
        message: String,
        hint: Option<String>,
    },

    /// A command-line combination that parses but cannot work (exit 2).
    #[error("{message}")]
    Usage { message: String },

    /// A file-system operation failed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Connecting to or talking to the database failed outside of a revision's SQL.
    #[error("{context}: {message}")]
    Database { context: String, message: String },

    /// A statement of a revision failed; the database is left at the last good revision.
    #[error(
        "revision `{revision}` ({}) failed at statement {statement_index} (line {line}): {message}\n  statement: {statement}",
        path.display()
    )]
    Migration {
        revision: String,
        path: PathBuf,
        statement_index: usize,
        line: usize,
        statement: String,
        message: String,
        hint: Option<String>,
    },

    // database
    //
    // A `DbError` is part of the message, not a `#[source]`: its text is the driver's, scrubbed
    // of passwords, which the driver's own error (`DbError`'s source) may still show.
    /// A database URL names a driver this build of retort does not contain.
    #[error(
        "`{dialect}` support is not compiled into this build of retort: it needs the `{}` feature",
        feature_of(*dialect)
    )]
    BackendNotCompiled { dialect: Dialect },

    /// An SQLite file cannot be opened, or is not a database. `database` is the path as shown.
    #[error("cannot open SQLite database `{database}`: {cause}")]
    SqliteOpenFailed { database: String, cause: DbError },

    /// The directory of an SQLite file to create does not exist.
    #[error(
        "cannot open SQLite database `{database}`: the directory `{}` does not exist; create it first",
        directory.display()
    )]
    SqliteDirectoryMissing {
        database: String,
        directory: PathBuf,
    },

    /// An SQLite file to change cannot be written.
    #[error(
        "cannot open SQLite database `{database}`: the file is read-only; check its permissions \
         and those of its directory"
    )]
    SqliteReadOnly { database: String },

    /// A database server refused or did not answer. `url` has its password hidden.
    #[error(
        "cannot connect to `{url}`: {cause}; check the host, port, user, password and database \
         name of the URL"
    )]
    ConnectFailed { url: String, cause: DbError },

    /// The MySQL driver cannot use a URL; `reason` is its text, password hidden.
    #[error("cannot connect to `{url}`: {reason}")]
    MysqlUrlInvalid { url: String, reason: String },

    /// The PostgreSQL driver cannot use a URL.
    #[error("invalid PostgreSQL URL `{url}`: {cause}")]
    PostgresUrlInvalid { url: String, cause: DbError },

    /// A PostgreSQL URL asks for TLS, which this build does not have.
    #[error(
        "invalid PostgreSQL URL `{url}`: `sslmode={sslmode}` needs TLS, which is not supported in \
         this build of retort; use `sslmode=disable` or `sslmode=prefer`, or connect through a \
         TLS tunnel"
    )]
    TlsUnsupported { url: String, sslmode: String },

    /// A PostgreSQL URL requires TLS some other way than `sslmode`.
    #[error("invalid PostgreSQL URL `{url}`: TLS is not supported in this build of retort")]
    TlsRequired { url: String },

    /// A PostgreSQL URL has an `sslmode` libpq does not know.
    #[error(
        "invalid PostgreSQL URL `{url}`: unknown `sslmode={sslmode}`; use `disable`, `allow`, \
         `prefer` or `require`"
    )]
    UnknownSslMode { url: String, sslmode: String },

    /// The version table exists but cannot be read.
    #[error("cannot read version table `{table}`: {cause}")]
    VersionTableUnreadable { table: String, cause: DbError },

    /// The audit table exists but cannot be read.
    #[error("cannot read audit table `{table}`: {cause}")]
    AuditTableUnreadable { table: String, cause: DbError },

    /// A version row is NULL, empty or not text: the table was edited by hand. `row` is the
    /// value read, as `db::Value`'s `Debug` shows it (`Null`, `Text("")`, `Int(7)`).
    #[error(
        "version table `{table}` is corrupted: it holds the row {row}, which is not a revision id"
    )]
    UnknownVersionRow { row: String, table: String },

    /// Another runner held the migration lock for longer than the lock timeout.
    #[error(
        "gave up waiting for the database lock after {:.0}s: {cause}; another retort run may \
         still be going",
        waited.as_secs_f64()
    )]
    LockTimeout { waited: Duration, cause: DbError },

    /// The migration lock cannot be taken (other than by waiting too long).
    #[error("cannot take the migration lock: {cause}; another retort run may still be going")]
    LockFailed { cause: DbError },

    /// A template failed to render (built-in or project override).
    #[error("template `{name}`: {message}")]
    Template { name: String, message: String },

    /// Backup, restore or verification of a database failed.
    #[error("{message}")]
    Backup {
        message: String,
        hint: Option<String>,
    },

    /// A check found problems (`check`, `verify`); the report was already printed.
    #[error("{message}")]
    CheckFailed { message: String },

    /// A bug in retort.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The Cargo feature that compiles in the driver of `dialect`.
fn feature_of(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgresql => "postgres",
        Dialect::Mysql => "mysql",
    }
}

impl Error {
    /// What the user can do about it, printed as a `hint:` paragraph.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Graph { hint, .. }
            | Error::Resolution { hint, .. }
            | Error::Migration { hint, .. }
            | Error::Backup { hint, .. } => hint.clone(),
            Error::BackendNotCompiled { dialect } => Some(format!(
                "rebuild retort with `--features {}`, or in Cargo.toml: `retort = {{ features = [\"{0}\"] }}`",
                feature_of(*dialect)
            )),
            Error::LockTimeout { .. } | Error::LockFailed { .. } => {
                Some("retry later or raise `--lock-timeout`".into())
            }
            Error::UnknownVersionRow { .. } => Some("repair it with `stamp --purge REV`".into()),
            Error::Internal(_) => {
                Some("this is a bug in retort; please report it with the command you ran".into())
            }
            _ => None,
        }
    }

    /// The process exit status for this error (SPEC: 1 failure, 2 usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => 2,
            _ => 1,
        }
    }

    /// Shorthand for a resolution error without a hint.
    pub fn resolution(message: impl Into<String>) -> Self {
        Error::Resolution {
            message: message.into(),
            hint: None,
        }
    }

    /// Shorthand for a graph error without a hint.
    pub fn graph(message: impl Into<String>) -> Self {
        Error::Graph {
            message: message.into(),
            hint: None,
        }
    }

    /// Shorthand for an I/O error with the path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A driver error, with the database's own text (already scrubbed of passwords). It lives here
/// rather than in `db` so that `Error` can carry it without an `error -> db` import.
#[derive(Debug, Clone)]
pub struct DbError {
    pub message: String,
    /// True when the failure was waiting for a lock (busy database, lock timeout).
    pub is_lock_timeout: bool,
    /// The driver's own error, kept for code that inspects it; unlike `message` its text may
    /// show a password, so retort never prints it.
    driver: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl DbError {
    /// An error described by `message` alone (a driver of the application's own may use it).
    pub fn new(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            is_lock_timeout: false,
            driver: None,
        }
    }

    /// A lock wait that timed out, as the driver explains it.
    pub fn lock_timeout(message: impl Into<String>) -> Self {
        DbError {
            is_lock_timeout: true,
            ..DbError::new(message)
        }
    }

    /// The driver's error `driver`, described as `message` (which must not show a password).
    pub fn from_driver(
        message: impl Into<String>,
        is_lock_timeout: bool,
        driver: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DbError {
            message: message.into(),
            is_lock_timeout,
            driver: Some(Arc::new(driver)),
        }
    }
}

impl PartialEq for DbError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.is_lock_timeout == other.is_lock_timeout
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.driver
            .as_deref()
            .map(|driver| driver as &(dyn std::error::Error + 'static))
    }
}
