//! The one error type of retort.
//!
//! Every variant carries what a user needs to find the fault: the file and line, the revision,
//! the statement. Messages start lower-case, name things in backticks and never repeat their
//! `#[source]` (the renderer in `cli` prints the chain). `hint()` adds what to do next.

use std::path::PathBuf;

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

    /// A database URL names a driver this build of retort does not contain.
    #[error(
        "`{dialect}` support is not compiled into this build of retort: it needs the `{}` feature",
        feature_of(dialect)
    )]
    BackendNotCompiled { dialect: String },

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

    // running
    /// The config file does not exist.
    #[error("{}: no such config file", path.display())]
    MissingConfig { path: PathBuf },

    /// Neither the caller, `DATABASE_URL` nor the config file names a database.
    #[error("{}: no database URL: set `database_url` or DATABASE_URL", path.display())]
    NoDatabaseUrl { path: PathBuf },

    /// A rehearsal rolls everything back, which needs DDL inside transactions.
    #[error("a rehearsal needs transactional DDL, which {dialect} does not have")]
    RehearseUnsupported { dialect: crate::config::Dialect },

    /// A run stopped at a failed step: `report` holds the steps that ran, the failed one last,
    /// and the revisions before it stay applied. Reads as the step's own error.
    #[error("{error}")]
    MigrationFailed {
        report: Box<crate::exec::RunReport>,
        error: Box<Error>,
    },

    /// A purging stamp cannot be rendered offline (Alembic's wording).
    #[error("Can't use --purge with --sql mode")]
    PurgeWithSql,
}

/// The Cargo feature that compiles in the driver of `dialect`.
fn feature_of(dialect: &str) -> &str {
    match dialect {
        "postgresql" => "postgres",
        other => other,
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
                feature_of(dialect)
            )),
            Error::MissingConfig { .. } => {
                Some("run `retort init` to create one, or pass `-c PATH`".into())
            }
            Error::NoDatabaseUrl { .. } => {
                Some("or pass `--url` (from code: `Migrator::with_url`)".into())
            }
            Error::RehearseUnsupported { .. } => Some("use `--dry-run` or `--sql`".into()),
            Error::MigrationFailed { error, .. } => error.hint(),
            Error::Internal(_) => {
                Some("this is a bug in retort; please report it with the command you ran".into())
            }
            _ => None,
        }
    }

    /// The process exit status for this error (SPEC: 1 failure, 2 usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::RehearseUnsupported { .. } | Error::PurgeWithSql => 2,
            Error::MigrationFailed { error, .. } => error.exit_code(),
            _ => 1,
        }
    }

    /// The error itself, without the partial report of [`Error::MigrationFailed`].
    pub(crate) fn without_report(self) -> Error {
        match self {
            Error::MigrationFailed { error, .. } => *error,
            other => other,
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
