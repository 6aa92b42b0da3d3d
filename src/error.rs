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

    /// A check found problems (`check`, `verify`); the report was already printed.
    #[error("{message}")]
    CheckFailed { message: String },

    /// A bug in retort.
    #[error("internal error: {0}")]
    Internal(String),

    // backup
    /// A file handed to restore has no readable metadata beside it.
    #[error("`{}` has no readable metadata file `{}`: {cause}", backup.display(), metadata.display())]
    BackupMetadataUnreadable {
        backup: PathBuf,
        metadata: PathBuf,
        cause: std::io::Error,
    },

    /// A backup's metadata file is not retort's JSON.
    #[error("`{}` is not retort backup metadata: {cause}", metadata.display())]
    BackupMetadataInvalid {
        metadata: PathBuf,
        cause: serde_json::Error,
    },

    /// The backup directory cannot be created or written (full disk, permissions).
    #[error("cannot write a backup into `{}`: {cause}; nothing was changed", dir.display())]
    BackupWriteFailed { dir: PathBuf, cause: String },

    /// A backup file's size differs from its metadata.
    #[error(
        "backup `{}` is {size} bytes but its metadata says {recorded_size} bytes (truncated or changed); SHA-256 expected {recorded_sha256}, actual {actual_sha256}; nothing was restored",
        backup.display()
    )]
    BackupTruncated {
        backup: PathBuf,
        size: u64,
        recorded_size: u64,
        recorded_sha256: String,
        actual_sha256: String,
    },

    /// A backup file's content differs from its metadata's checksum.
    #[error(
        "backup `{}` does not match its checksum: SHA-256 expected {recorded_sha256}, actual {actual_sha256}; nothing was restored",
        backup.display()
    )]
    BackupChecksumMismatch {
        backup: PathBuf,
        recorded_sha256: String,
        actual_sha256: String,
    },

    /// SQLite cannot open a backup file.
    #[error("backup `{}` cannot be read by SQLite: {cause}; nothing was restored", backup.display())]
    BackupUnreadable { backup: PathBuf, cause: String },

    /// A backup file fails SQLite's integrity check.
    #[error(
        "backup `{}` fails `PRAGMA integrity_check`: {}; nothing was restored",
        backup.display(),
        problems.join("; ")
    )]
    BackupIntegrity {
        backup: PathBuf,
        problems: Vec<String>,
    },

    /// Restore was handed a server dump.
    #[error("`{}` is a {dialect} dump; retort restores SQLite backups only", backup.display())]
    RestoreOfDump { backup: PathBuf, dialect: String },

    /// Restore was asked for a database that is not an SQLite file.
    #[error("`restore` restores SQLite database files; `{database}` is not one")]
    RestoreNeedsSqliteFile { database: String },

    /// Restore `--latest` found no backup of the database.
    #[error("there is no backup of `{}` in `{}`", database.display(), dir.display())]
    NoBackupOf { database: PathBuf, dir: PathBuf },

    /// Another process keeps using the database a restore would replace.
    #[error(
        "database `{}` is in use by another process ({detail}); nothing was restored",
        database.display()
    )]
    DatabaseInUse { database: PathBuf, detail: String },

    /// Another process holds the write lock (or, in rollback-journal mode, a lock that keeps
    /// retort from taking it) of the database a restore would replace.
    #[error(
        "database `{}` is locked by another process (an open transaction, e.g. `BEGIN IMMEDIATE`, still held after {waited_secs} s); nothing was restored",
        database.display()
    )]
    DatabaseLocked { database: PathBuf, waited_secs: u64 },

    /// An SQLite database file that must exist (backup, verify) does not.
    #[error("the SQLite database `{}` does not exist", path.display())]
    SqliteFileMissing { path: PathBuf },

    /// An in-memory SQLite database has no file to back up.
    #[error("`{database}` is an in-memory database; there is no file to back up")]
    SqliteInMemory { database: String },

    /// A server database has no `[backup] command` and no dump tool on `PATH`.
    #[error(
        "no backup of `{database}` can be made: `command` under `[backup]` is not set and `{tool}` is not on PATH{}",
        if *before_change { "; nothing was changed" } else { "" }
    )]
    NoDumpTool {
        database: String,
        tool: String,
        /// The client package that ships `tool`, as a user would install it.
        client: &'static str,
        /// Whether the backup was to precede a change (which then did not happen).
        before_change: bool,
    },

    /// The `[backup] command` (or dump tool) failed.
    #[error("the backup command `{command}` failed ({failure}); nothing was changed")]
    DumpFailed { command: String, failure: String },

    // check and verify
    /// `check` found problems; the report was already printed.
    #[error("check found {count} problem(s)")]
    CheckFoundProblems { count: usize },

    /// `verify` found problems in a database; the report was already printed.
    #[error("verify found {count} problem(s) in `{database}`")]
    VerifyFoundProblems { count: u64, database: String },

    // new revisions
    /// A new revision's id is taken by a revision or a branch label.
    #[error("revision id `{id}` is already used in this project")]
    RevisionIdTaken { id: String },

    /// A new branch label is not an identifier.
    #[error("branch label `{label}` must be letters, digits and `_`")]
    InvalidBranchLabel { label: String },

    /// A new branch label is taken by a revision id or another label.
    #[error("branch label `{label}` is already used as a revision id or branch label")]
    BranchLabelTaken { label: String },

    /// The version path asked for is not a version location (Alembic's wording).
    #[error("Path {} is not represented in current version locations", path.display())]
    UnknownVersionPath { path: PathBuf },

    /// Several version locations and nothing to choose one by (Alembic's wording, which names
    /// the option).
    #[error("Multiple version locations present, please specify --version-path")]
    VersionPathNeeded,

    /// A file `init` would write exists already.
    #[error(
        "{}: already exists; `retort init` never overwrites a file (move it away or initialise another directory)",
        path.display()
    )]
    InitTargetExists { path: PathBuf },

    /// The versions directory `init` needs is a file.
    #[error(
        "{}: exists and is not a directory; `retort init` needs it for revision files",
        path.display()
    )]
    InitVersionsNotADirectory { path: PathBuf },
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
            | Error::Migration { hint, .. } => hint.clone(),
            Error::BackendNotCompiled { dialect } => Some(format!(
                "rebuild retort with `--features {}`, or in Cargo.toml: `retort = {{ features = [\"{0}\"] }}`",
                feature_of(dialect)
            )),
            Error::Internal(_) => {
                Some("this is a bug in retort; please report it with the command you ran".into())
            }
            // backup
            Error::BackupMetadataUnreadable { .. } => Some(
                "retort restores only its own backups, whose checksum it can check; `retort backups` lists them"
                    .into(),
            ),
            Error::BackupWriteFailed { .. } => Some(
                "free disk space or make the directory writable, or set `dir` under `[backup]` in migrate.toml; \
                 `--no-backup` skips the backup of one run (not recommended)"
                    .into(),
            ),
            Error::BackupTruncated { .. }
            | Error::BackupChecksumMismatch { .. }
            | Error::BackupUnreadable { .. }
            | Error::BackupIntegrity { .. } => {
                Some("restore another backup; `retort backups` lists them, newest first".into())
            }
            Error::RestoreOfDump { .. } => {
                Some("load a server dump with the server's own tools (psql, mysql)".into())
            }
            Error::RestoreNeedsSqliteFile { .. } => {
                Some("load a server dump with the server's own client (psql, mysql)".into())
            }
            Error::NoBackupOf { .. } => {
                Some("`retort backups` lists the backups; `retort backup` makes one".into())
            }
            Error::DatabaseInUse { .. } => Some(
                "stop the applications using the database, then run `retort restore` again".into(),
            ),
            Error::DatabaseLocked { database, .. } => Some(format!(
                "let the application holding `{}` commit or roll back (better: stop the applications \
                 using it, which would keep writing to the replaced file), then run `retort restore` again",
                database.display()
            )),
            Error::SqliteFileMissing { .. } => {
                Some("check `database_url` in migrate.toml, DATABASE_URL or `--url`".into())
            }
            Error::NoDumpTool {
                tool,
                client,
                before_change,
                ..
            } => {
                let install = format!(
                    "install `{tool}` ({client}) or set `command` under `[backup]` in migrate.toml"
                );
                Some(if *before_change {
                    format!(
                        "to go on without a backup, run again with `--no-backup` (this run only) or set \
                         `required = false` under `[backup]` (a warning each run); to keep backups, {install}"
                    )
                } else {
                    install
                })
            }
            Error::DumpFailed { .. } => Some(
                "fix `command` under `[backup]` in migrate.toml, or run again with `--no-backup`"
                    .into(),
            ),
            _ => None,
        }
    }

    /// The process exit status for this error (docs/exit-codes.md: 1 failure, 2 usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. }
            // A test pins 2 for a taken id; a taken label is the same kind of refusal.
            | Error::RevisionIdTaken { .. }
            | Error::InvalidBranchLabel { .. }
            | Error::BranchLabelTaken { .. }
            | Error::UnknownVersionPath { .. }
            | Error::VersionPathNeeded => 2,
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
