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
    // revision files
    /// A revision file is malformed (header, sections, encoding, statements): what is wrong is
    /// `problem`, where is `path` and the 1-based `line`.
    #[error("{}:{line}: {problem}", path.display())]
    Script {
        path: PathBuf,
        line: usize,
        problem: ScriptProblem,
    },

    /// A revision file is larger than retort reads (revision files are read whole).
    #[error(
        "revision file `{}` is {size} bytes, over the limit of {} MiB ({limit} bytes); it was not read",
        path.display(),
        limit >> 20
    )]
    RevisionFileTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    /// A path that named a regular file when listed is something else when opened.
    #[error("revision file `{}` is not a regular file; it was not read", path.display())]
    RevisionFileNotRegular { path: PathBuf },

    /// A revision id given outside a revision file (a new revision's id) is malformed.
    #[error(transparent)]
    InvalidRevisionId(#[from] InvalidId),

    /// `migrate.toml` is malformed: what is wrong is `problem`, in the file `path`.
    #[error("{}: {problem}", path.display())]
    ConfigInvalid {
        path: PathBuf,
        problem: ConfigProblem,
    },

    /// A file-system operation failed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A statement of a revision failed; the database is left at the last good revision.
    #[error(
        "revision `{revision}` ({}) failed at statement {statement_index} (line {line}): {message}\n  statement: {}",
        path.display(),
        clip(statement, QUOTED_STATEMENT_CHARS)
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
    // fleets
    /// The targets of a fleet cannot be listed (its file, glob or query failed).
    #[error("cannot list the targets of fleet `{fleet}`: {detail}")]
    FleetListFailed { fleet: String, detail: String },

    #[error("fleet `{fleet}` has no targets")]
    FleetEmpty { fleet: String },

    #[error("the query `{}` failed: {cause}", clip(sql, QUOTED_CHARS))]
    FleetQueryFailed { sql: String, cause: DbError },

    /// Some targets of a fleet run failed or found problems; each says why on its row.
    #[error(
        "{failed} of {total} target(s) of fleet `{fleet}` failed{} (see their rows)",
        if *read_only { " or found problems" } else { "" }
    )]
    FleetTargetsFailed {
        fleet: String,
        failed: usize,
        total: usize,
        /// The command only reads (`status`, `check`, `lint`, `drift`, ...).
        read_only: bool,
    },

    /// A fleet run stopped before every target ran (`--canary`, `--max-failures`, Ctrl-C).
    #[error("the run of fleet `{fleet}` stopped with {not_started} target(s) not started: {why}")]
    FleetStopped {
        fleet: String,
        not_started: usize,
        why: String,
        manifest: Option<PathBuf>,
    },

    #[error("`{flag}` works on one database; it cannot be used with `--fleet`")]
    FleetFlagConflict { flag: &'static str },

    /// `--resume` names a manifest that cannot be read or is of another run.
    #[error("cannot resume from `{}`: {detail}", path.display())]
    ManifestUnusable { path: PathBuf, detail: String },

    // A `DbError` is part of the message, not a `#[source]`: its text is the driver's, scrubbed
    // of passwords, which the driver's own error (`DbError`'s source) may still show.
    /// A database URL cannot be parsed. `url` has its password hidden.
    #[error("invalid database URL `{}`: {problem}", clip(url, QUOTED_CHARS))]
    InvalidDatabaseUrl { url: String, problem: UrlProblem },

    /// A database URL names a driver this build of retort does not contain.
    #[error(
        "`{dialect}` support is not compiled into this build of retort: it needs the `{}` feature",
        feature_of(*dialect)
    )]
    BackendNotCompiled { dialect: Dialect },

    /// An SQLite file cannot be opened, or is not a database. `database` is the path as shown.
    #[error("cannot open SQLite database `{database}`: {cause}")]
    SqliteOpenFailed { database: String, cause: DbError },

    /// A crashed writer left a hot journal, and this connection cannot write to roll it back.
    #[error(
        "cannot open SQLite database `{database}`: `{database}-journal` holds a transaction a \
         crashed writer left unfinished, which only a connection that can write the database \
         can roll back: {cause}"
    )]
    SqliteHotJournal { database: String, cause: DbError },

    /// The directory of an SQLite file to create does not exist.
    #[error(
        "cannot open SQLite database `{database}`: the directory `{}` does not exist; create it first",
        directory.display()
    )]
    SqliteDirectoryMissing {
        database: String,
        directory: PathBuf,
    },

    /// An SQLite database cannot be used because its directory cannot be written: SQLite
    /// creates the rollback journal beside the file before the first change, and in WAL mode
    /// the WAL and its index before the first read.
    #[error(
        "cannot use SQLite database `{}`: its directory `{}` cannot be written, and SQLite \
         creates the database's journal there (`-journal`, or `-wal` and `-shm` in WAL mode) \
         ({cause})",
        database.display(),
        directory.display()
    )]
    SqliteDirectoryReadOnly {
        database: PathBuf,
        directory: PathBuf,
        cause: DbError,
    },

    /// An SQLite file to change cannot be written.
    #[error(
        "cannot open SQLite database `{database}`: the file is read-only; check its permissions \
         and those of its directory"
    )]
    SqliteReadOnly { database: String },

    /// The version table, its audit table or its schema has a name the engine would cut or
    /// refuse.
    #[error(
        "the table name `{name}` is {length} {unit} long, over {engine}'s limit of {limit} {unit} \
         for identifiers"
    )]
    IdentifierTooLong {
        name: String,
        length: usize,
        engine: &'static str,
        limit: usize,
        unit: &'static str,
    },

    /// A database server refused or did not answer. `url` has its password hidden.
    #[error(
        "cannot connect to `{}`: {cause}; check the host, port, user, password and database \
         name of the URL",
        clip(url, QUOTED_CHARS)
    )]
    ConnectFailed { url: String, cause: DbError },

    /// The MySQL driver cannot use a URL; `reason` is its text, password hidden.
    #[error("cannot connect to `{}`: {reason}", clip(url, QUOTED_CHARS))]
    MysqlUrlInvalid { url: String, reason: String },

    /// The PostgreSQL driver cannot use a URL.
    #[error("invalid PostgreSQL URL `{}`: {cause}", clip(url, QUOTED_CHARS))]
    PostgresUrlInvalid { url: String, cause: DbError },

    /// A URL's TLS mode (`sslmode`, `ssl-mode`) is not one its engine's client knows.
    #[error(
        "invalid database URL `{}`: unknown `{param}={value}`; use {known}",
        clip(url, QUOTED_CHARS)
    )]
    UnknownSslMode {
        url: String,
        param: &'static str,
        value: String,
        known: &'static str,
    },

    /// A URL's TLS parameters contradict each other.
    #[error("invalid database URL `{}`: {problem}", clip(url, QUOTED_CHARS))]
    TlsSettingInvalid { url: String, problem: String },

    /// A certificate or key file named in a URL cannot be read or holds no usable PEM.
    #[error(
        "cannot use `{param}={}` of `{}`: {problem}",
        path.display(),
        clip(url, QUOTED_CHARS)
    )]
    TlsFileUnusable {
        url: String,
        param: &'static str,
        path: PathBuf,
        problem: String,
    },

    /// A verifying TLS mode without root certificates to verify against.
    #[error(
        "`{mode_param}={mode}` of `{}` verifies the server's certificate, but no `{root_param}` \
         names the certificate authority to verify it against",
        clip(url, QUOTED_CHARS)
    )]
    TlsRootCertMissing {
        url: String,
        mode_param: &'static str,
        mode: &'static str,
        root_param: &'static str,
    },

    /// A TLS connection was asked for and could not be made as asked: nothing was sent in plain
    /// text.
    #[error(
        "cannot connect to `{}` over TLS ({mode_param}={mode}): {problem}",
        clip(url, QUOTED_CHARS)
    )]
    TlsFailed {
        url: String,
        dialect: Dialect,
        mode_param: &'static str,
        mode: &'static str,
        problem: TlsProblem,
    },

    /// The version table exists but cannot be read.
    #[error("cannot read version table `{table}`: {cause}")]
    VersionTableUnreadable { table: String, cause: DbError },

    /// The audit table exists but cannot be read.
    #[error("cannot read audit table `{table}`: {cause}")]
    AuditTableUnreadable { table: String, cause: DbError },

    /// An audit row holds a direction or outcome retort never writes: edited by hand.
    #[error("cannot read audit table `{table}`: row {row} holds the unknown {column} `{value}`")]
    UnknownAuditValue {
        table: String,
        row: i64,
        column: &'static str,
        value: String,
    },

    /// A version row is NULL, empty or not text: the table was edited by hand. `row` is the
    /// value read, as `db::Value`'s `Debug` shows it (`Null`, `Text("")`, `Int(7)`).
    #[error(
        "version table `{table}` is corrupted: it holds the row {row}, which is not a revision id"
    )]
    UnknownVersionRow { row: String, table: String },

    /// Another runner held the migration lock for longer than the lock timeout.
    #[error(
        "gave up waiting for the database lock after {}s: {cause}; another retort run may \
         still be going",
        waited.as_secs_f64()
    )]
    LockTimeout { waited: Duration, cause: DbError },

    /// A revision lost a lock conflict (lock timeout or deadlock) on every attempt its
    /// `retries` and the `retry_budget` allowed. `outcome` says what it left behind.
    #[error(
        "`{revision}` gave up after {attempts} attempt(s) in {:.1}s: each lost a lock conflict \
         at line {line} of `{}` ({cause}){}; {outcome}",
        elapsed.as_secs_f64(),
        path.display(),
        blocker.as_ref().map(|b| format!("; the lock was last held by {b}")).unwrap_or_default()
    )]
    LockRetriesExhausted {
        revision: String,
        path: PathBuf,
        line: usize,
        attempts: usize,
        elapsed: Duration,
        cause: String,
        blocker: Option<String>,
        outcome: String,
    },
    /// The migration lock cannot work on this connection at all.
    #[error("cannot take the migration lock: {cause}")]
    LockUnsupported { cause: DbError },

    /// The lease of the migration lock was found no longer this runner's while it ran
    /// `revision`; `outcome` says what of the revision took effect.
    #[error("lost the migration lock during `{revision}`: {cause}; {outcome}")]
    LockLost {
        revision: String,
        cause: DbError,
        outcome: String,
    },

    /// The migration lock cannot be taken (other than by waiting too long).
    #[error("cannot take the migration lock: {cause}; another retort run may still be going")]
    LockFailed { cause: DbError },

    /// A statement retort runs for its own bookkeeping (a transaction, the version and audit
    /// tables) failed.
    #[error("{task}: {cause}")]
    BookkeepingFailed { task: Bookkeeping, cause: DbError },

    /// A version-table change matched another number of rows than one (Alembic's row-count
    /// safety); `change` says what it did, e.g. `updating 'a' to 'b'`.
    #[error(
        "version table `{table}` does not hold the expected rows: Online migration expected to \
         match one row when {change} in '{table}'; {affected} found"
    )]
    VersionRowCountMismatch {
        table: String,
        change: String,
        affected: u64,
    },

    /// A query of `verify` failed; `what` names what it looked for.
    #[error("verify: {what}: {cause}")]
    VerifyQueryFailed { what: String, cause: DbError },

    // templates
    /// The `templates` directory of the config does not exist.
    #[error(
        "template `{}`: no such directory; create it (`retort init` copies the built-in \
         templates) or remove `templates` from migrate.toml",
        dir.display()
    )]
    TemplateDirectoryMissing { dir: PathBuf },

    /// A template (built-in or project override) does not compile or render. `detail` is
    /// minijinja's text, `line` the template line it names.
    #[error(
        "template `{name}`: {detail}{}",
        line.map(|line| format!(" (line {line})")).unwrap_or_default()
    )]
    TemplateFailed {
        name: String,
        detail: String,
        line: Option<usize>,
    },

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

    /// `lint` found findings no suppression covers; the report was already printed.
    #[error("lint found {count} finding(s) not allowed by a `retort:allow` with a reason")]
    LintFoundProblems { count: usize },

    /// `upgrade --lint=deny` found findings in the revisions it would run: nothing ran.
    #[error("upgrade refused: lint found {count} finding(s) in the revisions it would run; nothing was changed")]
    LintRefused { count: usize },

    /// `--server-version` or `[lint] server_version` is not a version number.
    #[error("`{value}` (from {from}) is not a server version")]
    LintServerVersionInvalid { value: String, from: &'static str },

    /// `lint` has neither `--dialect` nor a database URL to take the dialect from.
    #[error("lint needs a dialect, and no database URL is set to take it from")]
    LintDialectUnknown,

    /// `lint --git-base REF`: git could not list the files changed since `REF`.
    #[error("cannot list the files changed since `{reference}` with git: {detail}")]
    LintGitFailed { reference: String, detail: String },

    /// `verify` found problems in a database; the report was already printed.
    #[error("verify found {count} problem(s) in `{database}`")]
    VerifyFoundProblems { count: u64, database: String },

    /// A run succeeded, and `verify` then found problems in the database it left.
    #[error("the migration succeeded, but verify found {count} problem(s) in the database")]
    VerifyFoundProblemsAfterRun { count: u64 },

    // schema
    /// A catalog query of schema introspection failed; `what` names the objects it read.
    #[error("cannot read the schema ({what}): {cause}")]
    SchemaReadFailed { what: String, cause: DbError },

    /// `[schema] ignore` holds a pattern that is not a glob.
    #[error("`[schema] ignore` pattern `{pattern}` is not a valid glob: {message}")]
    SchemaIgnoreInvalid { pattern: String, message: String },

    /// `schema --table NAME` names no table of the database.
    #[error("there is no table `{table}` in the database (or `[schema] ignore` leaves it out)")]
    SchemaTableUnknown { table: String },

    /// The temporary database the expected schema is built in could not be created or used.
    #[error("cannot {action} the scratch database `{database}`: {cause}")]
    ScratchDatabaseFailed {
        action: &'static str,
        database: String,
        cause: DbError,
    },

    /// The `dev_url` database holds objects already; retort builds only in an empty one.
    #[error("the dev database `{url}` is not empty ({found}); retort rebuilds the expected schema only in an empty database")]
    DevDatabaseNotEmpty { url: String, found: String },

    /// `check --schema` found differences; the report was already printed.
    #[error("the schema of the database differs from what its applied revisions build: {count} difference(s)")]
    SchemaDrifted { count: usize },

    /// `upgrade --require-no-drift` on a database whose schema drifted.
    #[error("the schema of the database differs from what its applied revisions build ({count} difference(s)); nothing was changed\n{differences}")]
    SchemaDriftRefused { count: usize, differences: String },

    /// `check --schema-file` found that the migrations no longer build the file's schema.
    #[error("the migrations no longer build the schema in `{}`; the differences were printed", path.display())]
    SchemaFileDiffers { path: PathBuf },

    /// `retort test` found failures; the report was already printed.
    #[error("migration tests failed: {failed} of {total} test(s)")]
    MigrationTestsFailed { failed: usize, total: usize },

    // embedding
    /// `embed_migrations` was called outside a build script.
    #[error(
        "`OUT_DIR` is not set: call `retort::build::embed_migrations` from a build script (build.rs)"
    )]
    NotInBuildScript,

    /// The directory handed to `embed_migrations` does not exist.
    #[error(
        "{}: no such directory: `embed_migrations` takes the directory holding the revision \
         files, relative to Cargo.toml",
        path.display()
    )]
    EmbedDirectoryMissing { path: PathBuf },

    // drift
    /// Applied revisions whose files no longer hold the SQL that ran: a run refuses to go on.
    #[error("{}\nnothing was changed", drift_lines(drifted))]
    AppliedRevisionsChanged { drifted: Vec<Drift> },

    /// `accept` of a revision the database has not applied.
    #[error("revision `{revision}` is not applied to this database: there is no drift to accept")]
    AcceptNotApplied { revision: String },

    /// `accept` of an applied revision whose file still holds the SQL that ran.
    #[error("revision `{revision}` ({}) has not changed since it was applied (checksum {checksum}): nothing to accept", path.display())]
    AcceptNotDrifted {
        revision: String,
        path: PathBuf,
        checksum: String,
    },

    /// `accept` names one revision; `argument` resolves to several.
    #[error("`{argument}` names {} revisions ({}); accept one at a time", revisions.len(), revisions.join(", "))]
    AcceptNeedsOneRevision {
        argument: String,
        revisions: Vec<String>,
    },

    /// An `accept` row cannot be written.
    #[error("cannot record in audit table `{table}`: {cause}")]
    AuditWriteFailed { table: String, cause: DbError },

    /// `accept` needs a reason for the audit trail.
    #[error("a reason is required to accept a changed revision")]
    AcceptReasonEmpty,

    // new revisions
    /// A new revision's id is taken by a revision or a branch label.
    #[error("revision id `{id}` is already used in this project")]
    RevisionIdTaken { id: String },

    /// A new branch label is taken by a revision id or another label.
    #[error("branch label `{label}` is already used as a revision id or branch label")]
    NewBranchLabelTaken { label: String },

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

    // graph
    /// Two revision files declare the same id.
    #[error(
        "revision `{revision}` is declared twice: in `{}` and in `{}`",
        first.display(),
        second.display()
    )]
    DuplicateRevision {
        revision: String,
        first: PathBuf,
        second: PathBuf,
    },

    /// A revision names itself as `down_revision`.
    #[error(
        "Self-loop is detected in revisions ({revision}): `{}` names itself as down_revision",
        path.display()
    )]
    SelfLoop { revision: String, path: PathBuf },

    /// A `down_revision` names no revision file.
    #[error(
        "revision `{revision}` (`{}`) has down_revision `{parent}`, which no revision file declares",
        path.display()
    )]
    MissingDownRevision {
        revision: String,
        path: PathBuf,
        parent: String,
    },

    /// A branch label is declared twice, or equals a revision id (`other` declares it first).
    #[error(
        "Branch name '{label}' in revision {revision} already used by revision {other} (`{}` and `{}`)",
        path.display(),
        other_path.display()
    )]
    BranchLabelTaken {
        label: String,
        revision: String,
        path: PathBuf,
        other: String,
        other_path: PathBuf,
    },

    /// A `depends_on` entry names no revision id, unique prefix or branch label.
    #[error(
        "revision `{revision}` (`{}`) depends on `{dependency}`, which is no revision id, unique prefix or branch label",
        path.display()
    )]
    UnknownDependency {
        revision: String,
        path: PathBuf,
        dependency: String,
    },

    /// A `depends_on` entry is a prefix of several revision ids.
    #[error(
        "revision `{revision}` (`{}`) depends on `{dependency}`, a prefix of several revisions: {}",
        path.display(),
        quoted(candidates)
    )]
    AmbiguousDependency {
        revision: String,
        path: PathBuf,
        dependency: String,
        candidates: Vec<String>,
    },

    /// A revision depends on itself.
    #[error(
        "Dependency self-loop is detected in revisions ({revision}): `{}` depends on itself",
        path.display()
    )]
    DependencySelfLoop { revision: String, path: PathBuf },

    /// The graph has a circle: `path` walks it from a revision back to the same revision,
    /// `files` are the files of its members.
    #[error(
        "{} is detected in revisions: {}",
        if *via_dependency { "Dependency cycle" } else { "Cycle" },
        path.join(" -> ")
    )]
    Cycle {
        path: Vec<String>,
        files: Vec<PathBuf>,
        /// At least one edge of the circle is a `depends_on`.
        via_dependency: bool,
    },

    /// A target or revision argument names no revision (Alembic's `ResolutionError`).
    #[error("Can't locate revision identified by '{argument}'")]
    UnknownRevision {
        /// The token at fault (a part of what was typed).
        argument: String,
        /// Why it does not resolve; `None` where it names base instead of a revision.
        detail: Option<Unresolved>,
    },

    /// `head` (or `label@head`, or a single-revision argument) names several heads.
    #[error(
        "Multiple head revisions are present for given argument '{argument}'; please specify a specific target revision, '<branchname>@{argument}' to narrow to a specific head, or 'heads' for all heads"
    )]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
        /// The argument is the start of an offline `FROM:TO` range, which is one revision.
        offline_start: bool,
    },

    /// A stamp target names several heads.
    #[error("Multiple heads are present; please specify a single target revision")]
    MultipleHeadsToStamp { heads: Vec<String> },

    /// The parent of a new revision names several heads.
    #[error(
        "Multiple heads are present; please specify the head revision on which the new revision should be based, or perform a merge."
    )]
    MultipleHeadsForNewRevision {
        heads: Vec<String>,
        /// Asked by `merge` (whose parents are arguments) rather than `revision` (`--head`).
        merge: bool,
    },

    /// A relative step meets a merge (down) or a branch point (up).
    #[error("Ambiguous walk")]
    AmbiguousWalk {
        /// The relative step as signed: up (`+N`) or down (`-N`).
        steps: i64,
    },

    /// A walk went past base or a head where the target needs it to stop on a revision.
    #[error("Walked too far")]
    WalkedTooFar,

    /// A relative target (`+N`, `-N`) ran out of revisions before `steps`.
    #[error("Relative revision {relative} didn't produce {steps} migrations")]
    RelativeTooFar {
        /// As written, e.g. `-2`.
        relative: String,
        steps: i64,
    },

    /// `+N` from several current revisions.
    #[error("Ambiguous upgrade from multiple current revisions")]
    AmbiguousUpgrade,

    /// `label@-N` where the branch has no single current revision.
    #[error(
        "Not a valid downgrade target from current heads: branch '{branch}' has {count} current revisions"
    )]
    BranchCurrentNotSingle { branch: String, count: usize },

    /// `label@REV` where no revision above `REV` lies on the branch.
    #[error("Not a valid downgrade target from current heads")]
    DowngradeTargetOffBranch,

    /// A downgrade destination is not below the current revisions.
    #[error("Destination {target} is not a valid downgrade target from current head(s)")]
    NotADowngradeTarget { target: String },

    /// A history range whose ends are not on one line of descent.
    #[error(
        "Requested range {lower}:{upper} does not refer to ancestor/descendant revisions along the same branch"
    )]
    RangeNotAncestor { lower: String, upper: String },

    /// A history range without `:`.
    #[error("History range requires [start]:[end], [start]:, or :[end]")]
    HistoryRangeSyntax,

    /// Of revisions asked for together, one lies below another.
    #[error(
        "Requested revision {revision} overlaps with other requested revisions {}",
        others.join(", ")
    )]
    OverlappingRevisions {
        revision: String,
        others: Vec<String>,
    },

    /// The parents of a new revision name one revision twice.
    #[error("Duplicate head revisions specified")]
    DuplicateHeads,

    /// A new revision on a parent that is not a head, without splicing (Alembic's text).
    #[error(
        "Revision {revision} is not a head revision; please specify --splice to create a new branch from this revision"
    )]
    NotAHead { revision: String },

    /// A `merge` argument that is not a head: merge joins heads only.
    #[error("Revision {revision} is not a head revision; merge joins heads only")]
    MergeOfNonHead { revision: String },

    // import
    /// A file of the folder being imported that retort cannot read as that tool's migration.
    #[error("cannot import `{}`: {detail}; nothing was written", path.display())]
    ImportBadSource { path: PathBuf, detail: String },

    /// Two migrations of the folder being imported have one version.
    #[error("version {version} is defined twice, by `{}` and `{}`; nothing was written", first.display(), second.display())]
    ImportDuplicateVersion {
        version: String,
        first: PathBuf,
        second: PathBuf,
    },

    /// A numbered folder skips a number.
    #[error("no migration numbered between {after} and `{}`: a file is missing; nothing was written", next.display())]
    ImportGap { after: String, next: PathBuf },

    /// An imported revision would clash with a file the project already has.
    #[error("cannot import `{}` as `{revision}`: {detail}; nothing was written", source_file.display())]
    ImportConflict {
        source_file: PathBuf,
        revision: String,
        detail: String,
    },

    /// `--alembic` or `--dialect` given to the import of another tool.
    #[error("`{flag}` is for `retort import alembic` only; {tool} migrations are SQL already")]
    ImportFlagNeedsAlembic {
        flag: &'static str,
        tool: &'static str,
    },

    // stamp --from
    /// `stamp --from` a tool that keeps no history table.
    #[error("`{tool}` keeps no history table in the database; stamp the revision yourself")]
    StampFromNoHistory { tool: &'static str },

    /// A tool's history table could not be read.
    #[error("cannot read `{table}`: {cause}")]
    HistoryUnreadable { table: String, cause: DbError },

    /// A tool's history table holds a version that tool could not have written.
    #[error("`{table}` holds the version `{version}`, which is not a version of that tool")]
    HistoryBadVersion { table: String, version: String },

    /// A tool's history records a failed or unfinished migration.
    #[error("`{table}` records version {version} as {state}: {tool} did not finish it; nothing was stamped")]
    HistoryDirty {
        tool: &'static str,
        /// How that tool repairs it.
        repair: &'static str,
        table: String,
        version: String,
        state: String,
    },

    /// A tool's history names versions the import does not have.
    #[error("`{table}` records version(s) {} that no imported revision stands for; nothing was stamped", versions.join(", "))]
    HistoryUnknownVersions {
        table: String,
        versions: Vec<String>,
    },

    /// A tool's history applied a version but not an earlier one: the chain cannot say that.
    #[error("`{table}` records version {applied} as applied but not the earlier {missing}: stamping retort's linear chain at {applied} would count {missing} as applied; nothing was stamped")]
    HistoryOutOfOrder {
        table: String,
        applied: String,
        missing: String,
    },

    /// `stamp --from` found no database.
    #[error("database `{url}` does not exist: there is no history to adopt")]
    StampFromNoDatabase { url: String },

    // rebase
    /// `rebase` of a revision a database has applied (or of one below an applied revision).
    #[error("revision `{revision}` is applied in the database: its place in the graph is history, so it cannot move")]
    RebaseApplied { revision: String },

    /// `rebase` could not read a database to see what it applied.
    #[error("cannot check whether a database has applied the revisions to move: {reason}")]
    RebaseUnchecked { reason: String },

    /// `rebase` of a merge revision, which has several parents to replace with one.
    #[error("revision `{revision}` is a merge of {}: rebase moves revisions with one parent", parents.join(", "))]
    RebaseMerge {
        revision: String,
        parents: Vec<String>,
    },

    /// `rebase` onto a revision that would move along: the graph would have a circle.
    #[error("rebase onto `{onto}` would make a cycle: {cycle}")]
    RebaseCycle { onto: String, cycle: Box<Error> },

    /// A revision file whose header `rebase` cannot find the `down_revision` of.
    #[error("cannot find the header of `{}` to rewrite its down_revision", path.display())]
    RebaseUnreadableHeader { path: PathBuf },

    /// The planner would insert a version row that is already there.
    #[error(
        "version row '{revision}' is already present; the version table does not match the revision graph"
    )]
    VersionRowPresent { revision: String },

    /// The planner would delete a version row that is not there.
    #[error(
        "version row '{revision}' is not present; the version table does not match the revision graph"
    )]
    VersionRowAbsent { revision: String },

    /// The planner would move a version row that is not there.
    #[error(
        "cannot move version row '{from}' to '{to}': '{from}' is not present; the version table does not match the revision graph"
    )]
    VersionRowMoveFromAbsent { from: String, to: String },

    /// The planner would move a version row onto one that is already there.
    #[error("cannot move version row '{from}' to '{to}': '{to}' is already present")]
    VersionRowMoveOntoPresent { from: String, to: String },

    /// A merge revision is applied while none of its parents has a version row.
    #[error("cannot merge into '{revision}': no parent row is present")]
    MergeWithoutParentRow { revision: String },

    /// Downgrading a merge whose parents' rows do not say which one to return to.
    #[error("can't downgrade '{revision}': its down revision in the version table is ambiguous")]
    AmbiguousDownRevisionRow { revision: String },

    /// A revision id or branch label is one of the words the target grammar reserves.
    #[error(
        "{kind} `{name}` is a reserved word: in a target, `{name}` means {}",
        reserved_meaning(name)
    )]
    ReservedName { kind: NameKind, name: String },

    /// A branch label is a prefix of a revision id: where that prefix is typed, the label wins.
    #[error(
        "branch label `{label}` is a prefix of revision id `{revision}`: in a target, `{label}` \
         names the label's revision, never `{revision}`"
    )]
    LabelShadowsRevision { label: String, revision: String },

    /// A branch label the target grammar reads as syntax, so no target can name it.
    #[error("branch label `{label}` cannot be named in a target: {syntax}")]
    UntargetableLabel { label: String, syntax: LabelSyntax },

    // running
    /// The config file does not exist.
    #[error("{}: no such config file", path.display())]
    MissingConfig { path: PathBuf },

    /// Neither the caller, `DATABASE_URL` nor the config file names a database.
    #[error("{}: no database URL", path.display())]
    NoDatabaseUrl { path: PathBuf },

    /// A rehearsal rolls everything back, which needs DDL inside transactions.
    #[error("a rehearsal needs transactional DDL, which {dialect} does not have")]
    RehearseUnsupported { dialect: Dialect },

    /// A downgrade would pass a revision without a downgrade section.
    #[error(
        "revision `{revision}` ({}) is irreversible: it has no `-- migrate:downgrade` section; \
         nothing was changed",
        path.display()
    )]
    Irreversible { revision: String, path: PathBuf },

    /// The version table holds a revision no file defines (Alembic's wording first).
    #[error(
        "Can't locate revision identified by '{revision}': the version table `{table}` holds \
         it, but no revision file defines it; nothing was changed"
    )]
    VersionRowWithoutFile { revision: String, table: String },

    /// A run stopped at a failed step: `report` holds the steps that ran, the failed one last,
    /// and the revisions before it stay applied. Reads as the step's own error.
    #[error("{error}")]
    MigrationFailed {
        report: Box<crate::report::RunReport>,
        error: Box<Error>,
    },

    /// `current` (in a `history` range or `show`) names the database's revisions, and the
    /// database could not be read; `error` says why.
    #[error(
        "`{argument}` names the database's current revisions, which could not be read: {error}"
    )]
    CurrentUnreadable { argument: String, error: Box<Error> },

    /// A purging stamp cannot be rendered offline (Alembic's wording).
    #[error("Can't use --purge with --sql mode")]
    PurgeWithSql,

    /// A run died in the middle of a step that could not be rolled back whole (its audit row
    /// is still `started`): what it left is unknown, so no upgrade or downgrade runs until a
    /// stamp records the state the user found. `statements` is `None` when no revision file
    /// defines `revision` any more.
    #[error(
        "revision `{revision}` was interrupted: {} {} started at {started_at} and never \
         recorded an outcome (its row in `{audit_table}` is still `started`), so the version table \
         does not record it; nothing was changed now{}",
        if *direction == crate::report::StepKind::Upgrade { "an" } else { "a" },
        direction.name(),
        interrupted_statements(statements.as_ref(), *statement_count)
    )]
    InterruptedRun {
        revision: String,
        direction: crate::report::StepKind,
        started_at: String,
        audit_table: String,
        heads_before: Vec<String>,
        heads_after: Vec<String>,
        /// The statements that may have taken effect.
        statements: Option<Vec<StatementRef>>,
        /// How many statements the step has.
        statement_count: usize,
    },

    // running: SQLite foreign keys
    /// A revision that ran with SQLite's foreign keys off leaves rows whose parent row is
    /// missing (`PRAGMA foreign_key_check` before the commit); it was rolled back. `violations`
    /// are the first of them, `total` counts all.
    #[error(
        "revision `{revision}` ({}) leaves {total} row(s) that break a foreign key: {}{}",
        path.display(),
        violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        match total.saturating_sub(violations.len()) {
            0 => String::new(),
            more => format!("; and {more} more"),
        }
    )]
    ForeignKeyViolations {
        revision: String,
        path: PathBuf,
        violations: Vec<ForeignKeyViolation>,
        total: usize,
    },

    /// A rehearsal runs in one transaction, where SQLite ignores `PRAGMA foreign_keys`, so a
    /// revision that sets it would not rehearse what it does.
    #[error(
        "revision `{revision}` ({}) sets `PRAGMA foreign_keys`, which SQLite ignores inside the \
         one transaction a rehearsal runs in, so the rehearsal would not do what the run does",
        path.display()
    )]
    RehearseForeignKeys { revision: String, path: PathBuf },

    // audit trail
    /// The audit trail was asked for while `audit_table = false` keeps none.
    #[error("there is no audit trail to read: `audit_table = false` in `{}`", path.display())]
    AuditTrailOff { path: PathBuf },

    // usage
    /// An offline downgrade without a `FROM:TO` range (Alembic's wording).
    #[error("downgrade with --sql requires <fromrev>:<torev>")]
    OfflineDowngradeNeedsRange,

    /// A `FROM:TO` stamp argument without `--sql` (Alembic's wording first).
    #[error("Range revision not allowed; a `FROM:TO` range needs `--sql`")]
    StampRangeNeedsSql,

    /// An offline stamp with ranges from several revisions (Alembic's wording).
    #[error("Stamp operation with --sql only supports a single starting revision at a time")]
    StampRangesFromSeveral,

    /// A `FROM:TO` target of `upgrade`/`downgrade` without `--sql`; `to` is the range's end.
    #[error(
        "a `FROM:TO` range is only allowed with `--sql`; run `retort {command} {to}` on a \
         database"
    )]
    RangeNeedsSql { command: &'static str, to: String },

    /// An offline run whose dialect neither `--dialect` nor a database URL gives; `error` is
    /// why the URL is missing or invalid.
    #[error("{error}; with `--sql`, pass `--dialect sqlite|postgresql|mysql` instead")]
    OfflineDialectUnknown { error: Box<Error> },

    // settings
    /// The config's `script_location` folder does not exist (Alembic's wording).
    #[error(
        "Path doesn't exist: {}.  Please use the 'init' command to create a new scripts folder.",
        path.display()
    )]
    ScriptLocationMissing { path: PathBuf },

    /// The database did not say which version it runs.
    #[error("cannot read the server version of `{url}`: {cause}")]
    ServerVersionUnreadable { url: String, cause: DbError },

    /// A CI gate: the database is behind the graph's heads (Alembic's `check` wording).
    #[error("Target database is not up to date.")]
    NotUpToDate { pending: Vec<String> },
}

/// A statement of a revision named in a message: its number in the section, its line, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    pub number: usize,
    pub line: usize,
    pub sql: String,
}

/// The tail of [`Error::InterruptedRun`]'s message: what may have taken effect.
fn interrupted_statements(statements: Option<&Vec<StatementRef>>, count: usize) -> String {
    let Some(statements) = statements else {
        return "; no revision file defines it now, so retort cannot tell which statements ran"
            .to_string();
    };
    if statements.is_empty() {
        return "; none of its statements can have taken effect (they were rolled back with the \
                session)"
            .to_string();
    }
    let mut text = "; these statements may have taken effect:".to_string();
    for statement in statements {
        text.push_str(&format!(
            "\n    statement {} (line {}): {}",
            statement.number,
            statement.line,
            crate::exec::partial::abbreviate(&statement.sql)
        ));
    }
    let first_safe = statements.len() + 1;
    match count.checked_sub(statements.len()) {
        None | Some(0) => {}
        Some(1) => text.push_str(&format!(
            "\n  statement {first_safe} cannot have taken effect (it was rolled back with the session)"
        )),
        Some(_) => text.push_str(&format!(
            "\n  statements {first_safe} to {count} cannot have taken effect (they were rolled back \
             with the session)"
        )),
    }
    text
}

/// Version rows as `stamp` arguments: `a b`, or `base` for none.
fn stamp_arguments(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.join(" ")
    }
}

// running: SQLite foreign keys
/// A row `PRAGMA foreign_key_check` reports: its table, its rowid (`None` in a `WITHOUT ROWID`
/// table) and the table its missing parent row belongs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyViolation {
    pub table: String,
    pub rowid: Option<i64>,
    pub parent: String,
}

impl std::fmt::Display for ForeignKeyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rowid {
            Some(rowid) => write!(f, "`{}` row {rowid}", self.table),
            None => write!(f, "a row of `{}`", self.table),
        }?;
        write!(f, " references a missing row of `{}`", self.parent)
    }
}

// database
/// What retort was doing when its own bookkeeping statement failed: the context of
/// [`Error::BookkeepingFailed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Bookkeeping {
    #[error("cannot start a transaction")]
    Begin,
    #[error("cannot commit the transaction")]
    Commit,
    #[error("cannot commit revision `{revision}`")]
    CommitRevision { revision: String },
    #[error("cannot roll back the transaction")]
    Rollback,
    #[error("cannot create table `{table}`")]
    CreateTable { table: String },
    #[error("cannot record the audit row in `{table}`")]
    RecordAudit { table: String },
    #[error("cannot purge version table `{table}`")]
    PurgeVersionTable { table: String },
    #[error("cannot change version table `{table}`")]
    ChangeVersionTable { table: String },
    #[error("cannot set SQLite's `foreign_keys` for revision `{revision}`")]
    SetForeignKeys { revision: String },
    #[error("cannot check the foreign keys of revision `{revision}`")]
    CheckForeignKeys { revision: String },
    #[error("cannot restore SQLite's `foreign_keys` setting")]
    RestoreForeignKeys,
    #[error("cannot set the lock and statement timeouts of revision `{revision}`")]
    SetTimeouts { revision: String },
    #[error("cannot reset the session's lock and statement timeouts after a revision")]
    ResetTimeouts,
    #[error("cannot close the interrupted run's row in `{table}`")]
    CloseInterruptedRun { table: String },
}

/// Why a TLS connection failed: the `problem` of [`Error::TlsFailed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The server answered the request for TLS with "no".
    #[error("the server does not accept TLS connections")]
    ServerRefused,
    /// The certificate does not chain to the root certificates given.
    #[error("the server's certificate is not signed by a trusted certificate authority ({roots})")]
    UnknownIssuer { roots: String },
    /// The certificate is valid, but not for the host connected to.
    #[error("the server's certificate is not issued for host `{host}`{}", if names.is_empty() { String::new() } else { format!(" (it names {names})") })]
    NameMismatch { host: String, names: String },
    /// Anything else: expired, revoked, a bad signature, a protocol failure.
    #[error("{0}")]
    Other(String),
}

/// Why a database URL cannot be parsed: the `problem` of [`Error::InvalidDatabaseUrl`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    #[error("expected `scheme://...`; supported forms: {SUPPORTED_URL_FORMS}")]
    NoScheme,

    /// A SQLAlchemy driver suffix (`postgresql+psycopg2`) gets a word of its own.
    #[error(
        "unknown scheme `{scheme}`{}; supported forms: {SUPPORTED_URL_FORMS}",
        if scheme.contains('+') {
            " (SQLAlchemy driver suffixes such as `+psycopg2` are not needed: drop them)"
        } else {
            ""
        }
    )]
    UnknownScheme { scheme: String },

    #[error(
        "a SQLite URL has no host: use sqlite:///relative/path.db (three slashes) or \
         sqlite:////absolute/path.db (four)"
    )]
    SqliteWithHost,
}

/// The URL forms retort understands, for error messages.
const SUPPORTED_URL_FORMS: &str = "sqlite:///relative/path.db, sqlite:////absolute/path.db, \
     sqlite:// (in memory), postgresql://user:pass@host:port/db (or postgres://), \
     mysql://user:pass@host:port/db (or mariadb://)";

// config
/// What is wrong in `migrate.toml`: the `problem` of [`Error::ConfigInvalid`]. Texts quoted
/// from the file are stored with passwords hidden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// TOML rejected the file; `detail` is its text, `place` the line and its text if known.
    #[error(
        "{}{detail}",
        place.as_ref().map(|(line, text)| format!("line {line} (`{text}`): ")).unwrap_or_default()
    )]
    Toml {
        place: Option<(usize, String)>,
        detail: String,
    },

    #[error("no `[migrate]` table; add one with at least `script_location = \"migrations\"`")]
    NoMigrateTable,

    /// A `${…}` reference in the value of `key` cannot be expanded.
    #[error("line {line}: `{key}`: {detail}")]
    Interpolation {
        line: usize,
        key: String,
        detail: String,
    },

    #[error("`[migrate]` has no `script_location`; add `script_location = \"migrations\"`")]
    NoScriptLocation,

    #[error("`version_locations` is empty; remove it to use `<script_location>/versions`")]
    EmptyVersionLocations,

    #[error("line {line}: `version_table` is empty")]
    EmptyVersionTable { line: usize },

    #[error(
        "line {line}: `audit_table` is empty; write `audit_table = false` to keep no audit trail"
    )]
    EmptyAuditTable { line: usize },

    #[error("line {line}: `audit_table` must be a table name or `false`")]
    AuditTableType { line: usize },

    #[error(
        "no environment `{name}` (from --env or RETORT_ENV); {}",
        defined_list("environments", "[env.NAME]", defined)
    )]
    UnknownEnvironment { name: String, defined: Vec<String> },

    #[error(
        "no fleet `{name}`; {}",
        defined_list("fleets", "[fleet.NAME]", defined)
    )]
    UnknownFleet { name: String, defined: Vec<String> },

    #[error(
        "line {line}: fleet `{fleet}` needs exactly one of `urls_file`, `urls`, `sqlite_glob`, \
         `query` or `schemas`{}",
        if given.is_empty() { String::new() } else { format!("; it has {}", given.join(", ")) }
    )]
    FleetSources {
        fleet: String,
        line: usize,
        given: Vec<String>,
    },

    #[error(
        "line {line}: `schemas` of fleet `{fleet}` needs `url` and exactly one of `sql`, `list` \
         or `glob`"
    )]
    FleetSchemaSources { fleet: String, line: usize },

    /// A timeout or the retry budget is not a duration; `detail` says why.
    #[error("line {line}: `{key}`: {detail}")]
    InvalidDuration {
        line: usize,
        key: String,
        detail: String,
    },

    /// `lock` names no lock kind; `detail` lists the kinds.
    #[error("line {line}: `lock`: {detail}")]
    InvalidLock { line: usize, detail: String },
}

/// `the environments defined are a, b` or, when there are none, how to define one.
fn defined_list(what: &str, table: &str, defined: &[String]) -> String {
    if defined.is_empty() {
        format!("migrate.toml defines no {what}; add a `{table}` table")
    } else {
        let names: Vec<String> = defined.iter().map(|n| format!("`{n}`")).collect();
        format!("the {what} defined are {}", names.join(", "))
    }
}

// graph
/// What a name in [`Error::ReservedName`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameKind {
    #[error("revision id")]
    RevisionId,
    #[error("branch label")]
    BranchLabel,
}

/// What a reserved word means in a target.
fn reserved_meaning(name: &str) -> &'static str {
    match name {
        "head" => "the one head",
        "heads" => "every head",
        "base" => "no revision at all",
        _ => "the database's current revisions",
    }
}

/// Why the target grammar cannot name a branch label (Alembic's grammar, which retort's is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelSyntax {
    #[error("`@` separates a branch from a revision (`label@head`)")]
    At,
    #[error("`:` separates the ends of a range (`label@base:`)")]
    Colon,
    #[error("it reads as a relative step (a word, then `+N` or `-N`)")]
    Relative,
}

/// Why an argument names no revision: the `detail` of [`Error::UnknownRevision`], in
/// Alembic's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    #[error("No such branch: '{branch}'")]
    NoSuchBranch { branch: String },

    /// No id or label is `ident` or starts with it.
    #[error(
        "No such revision or branch '{ident}'{}",
        if ident.len() < 4 {
            "; please ensure at least four characters are present for partial revision identifier matches"
        } else {
            ""
        }
    )]
    NoSuchRevision { ident: String },

    /// Several ids or labels start with `prefix`.
    #[error("Multiple revisions start with '{prefix}': {}", quoted(candidates))]
    AmbiguousPrefix {
        prefix: String,
        candidates: Vec<String>,
    },

    #[error("Revision {revision} is not a member of branch '{branch}'")]
    NotOnBranch { revision: String, branch: String },
}

/// `'a', 'b'`, as Alembic lists revisions.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    quoted.join(", ")
}

/// `` `a`, `b` ``, as retort lists revisions and files in hints.
fn backticked(names: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

// revision files
/// What is wrong in a revision file. One enum under [`Error::Script`] rather than one `Error`
/// variant per condition: every condition is located the same way (file and line), and the
/// `path:line: ` prefix is then written once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptProblem {
    /// The bytes are not UTF-8.
    #[error("not valid UTF-8 (first bad byte at offset {offset}); save the file as UTF-8")]
    NotUtf8 { offset: usize },

    /// The header is not TOML, or TOML rejected a key. `detail` is the TOML parser's text.
    #[error(
        "invalid header: {detail}{}{}",
        line_text.as_ref().map(|text| format!(" in `{text}`")).unwrap_or_default(),
        if *prose {
            "; header lines are TOML `key = value` pairs, so put a blank line between the \
             header and any prose comment"
        } else {
            ""
        }
    )]
    InvalidHeader {
        detail: String,
        /// The header line quoted where the parser's text does not say where it is.
        line_text: Option<String>,
        /// The line reads as prose rather than `key = value`.
        prose: bool,
    },

    #[error(
        "the header has no `revision` key; the file must start with a line like \
         `-- revision = \"4f2a9c1b7d3e\"`"
    )]
    MissingRevision,

    /// A header value has the wrong TOML type; `expected` says what it must be.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
        /// The value found, described (`integer 12`, `an array`).
        found: String,
    },

    /// A header timeout is not a duration; `detail` says why.
    #[error("`{key}`: {detail}")]
    InvalidDuration { key: &'static str, detail: String },

    /// A revision id in the header is malformed; `reason` is the id rule it breaks.
    #[error("`{key}`: {reason}")]
    InvalidId {
        key: &'static str,
        reason: InvalidId,
    },

    #[error("branch label `{label}` holds a control character")]
    InvalidBranchLabel { label: String },

    #[error("`{key}` has an empty entry")]
    EmptyEntry { key: &'static str },

    #[error(
        "`{key}` names the revision itself (`{revision}`); a revision cannot follow or depend \
         on itself"
    )]
    SelfReference { key: &'static str, revision: String },

    #[error("`{key}` lists `{id}` twice")]
    RepeatedReference { key: &'static str, id: String },

    /// A header key after the blank line that ended the header.
    #[error(
        "`{key}` is set after the header ended (at the first blank line); remove the blank line \
         so that it is part of the header"
    )]
    KeyAfterHeader { key: &'static str },

    #[error(
        "SQL before the first `-- migrate:upgrade` marker; put it under a `-- migrate:upgrade` \
         line (after a blank line ending the header)"
    )]
    SqlBeforeFirstSection,

    /// `-- migrate:<kind>` with an unknown kind (`kind` as written, possibly empty).
    #[error(
        "unknown section `-- migrate:{kind}`; expected `-- migrate:upgrade`, \
         `-- migrate:downgrade` or `-- migrate:verify`, optionally followed by a dialect"
    )]
    UnknownSection { kind: String },

    #[error(
        "unknown dialect `{dialect}` in `-- migrate:{kind}`; expected `sqlite`, `postgresql` or \
         `mysql`"
    )]
    UnknownDialect { dialect: String, kind: &'static str },

    /// Words after a complete marker; `marker` is the marker as understood.
    #[error("unexpected `{extra}` after `{marker}`; a marker is `-- migrate:<kind> [dialect]`")]
    MarkerTrailingText { extra: String, marker: String },

    #[error(
        "second `{marker}` section (the first is at line {first_line}); put all of its SQL in \
         one section"
    )]
    DuplicateSection { marker: String, first_line: usize },

    #[error("no `-- migrate:upgrade` section; every revision needs one (it may be empty)")]
    NoUpgradeSection,

    // A section's SQL cannot be split into statements:
    #[error("unterminated block comment: `/*` has no closing `*/`")]
    UnterminatedBlockComment,

    /// `what` is `string` or `quoted identifier`.
    #[error("unterminated {what}: `{quote}` has no closing `{quote}`")]
    UnterminatedQuote { what: &'static str, quote: char },

    #[error("unterminated quoted identifier: `[` has no closing `]`")]
    UnterminatedBracket,

    #[error("unterminated dollar-quoted string: `{tag}` has no closing `{tag}`")]
    UnterminatedDollarQuote { tag: String },

    #[error("`DELIMITER` needs a delimiter string such as `//` (without backslashes)")]
    DelimiterWithoutString,

    /// A transactional revision commits or rolls back by itself.
    #[error(
        "`{statement}` controls the transaction, but retort runs revision `{revision}` in a \
         transaction of its own; remove the statement, or add `-- transactional = false` to the \
         header to run the revision's statements one by one"
    )]
    TransactionControl { statement: String, revision: String },

    /// A transactional SQLite revision sets `foreign_keys` where SQLite ignores it.
    #[error(
        "`{statement}` would have no effect: SQLite ignores `PRAGMA foreign_keys` inside a \
         transaction, and retort runs revision `{revision}` in one; put the pragma before the \
         revision's first statement (retort runs it there before the transaction begins, and \
         restores the setting after the revision), or add `-- transactional = false` to the \
         header to run the revision's statements one by one"
    )]
    ForeignKeysInTransaction { statement: String, revision: String },
}

/// Why a revision id is malformed (the texts of the first follow Alembic's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidId {
    /// Target syntax (`-`, `+`, `@`, `:`) in an id; `chars` sorted, without repeats.
    #[error(
        "Character(s) '{}' not allowed in revision identifier '{id}'",
        chars.iter().map(char::to_string).collect::<Vec<_>>().join(", ")
    )]
    TargetSyntax { id: String, chars: Vec<char> },

    #[error("revision identifier '{id}' must be 1 to 32 characters long")]
    Length { id: String },

    #[error(
        "character '{bad}' not allowed in revision identifier '{id}'; use letters, digits and `_`"
    )]
    Character { id: String, bad: char },
}

/// The Cargo feature that compiles in the driver of `dialect`.
fn feature_of(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgresql => "postgres",
        Dialect::Mysql => "mysql",
    }
}

/// An applied revision whose file no longer holds the SQL that ran (or that was last accepted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    pub revision: String,
    pub path: PathBuf,
    /// The checksum recorded when it was applied, or by its last `accept`.
    pub applied_checksum: String,
    /// The checksum of the file's upgrade SQL now.
    pub current_checksum: String,
    /// When it was applied (RFC 3339).
    pub applied_at: String,
    /// Which statements changed, in file order; `None` when the audit row holding the checksum
    /// predates statement checksums (only the whole-file checksum can be compared).
    pub statements: Option<Vec<StatementChange>>,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "revision `{}` ({}) changed since it was applied at {}: checksum {} then, {} now",
            self.revision,
            self.path.display(),
            self.applied_at,
            self.applied_checksum,
            self.current_checksum
        )?;
        match &self.statements {
            None => write!(
                f,
                "\n    which statements changed is not recorded (its audit row predates \
                 statement checksums): only the whole-file checksum differs"
            ),
            Some(changes) => changes
                .iter()
                .try_for_each(|change| write!(f, "\n    {change}")),
        }
    }
}

/// How one statement of a drifted revision differs from the statement recorded when it ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum StatementChange {
    /// Statement `index` (from 1, in the file now) at `line` holds other SQL than the one that
    /// ran at `was_line`.
    Changed {
        index: usize,
        line: usize,
        was_line: usize,
    },
    /// Statement `index` at `line` did not run.
    Added { index: usize, line: usize },
    /// Statement `index` of those that ran (at `was_line`) is no longer in the file.
    Removed { index: usize, was_line: usize },
}

impl std::fmt::Display for StatementChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatementChange::Changed {
                index,
                line,
                was_line,
            } if line == was_line => write!(f, "statement {index} (line {line}) changed"),
            StatementChange::Changed {
                index,
                line,
                was_line,
            } => write!(
                f,
                "statement {index} (line {line}, was line {was_line}) changed"
            ),
            StatementChange::Added { index, line } => {
                write!(
                    f,
                    "a statement was added at line {line} (statement {index})"
                )
            }
            StatementChange::Removed { index, was_line } => {
                write!(f, "statement {index} (was line {was_line}) was removed")
            }
        }
    }
}

fn drift_lines(drifted: &[Drift]) -> String {
    drifted
        .iter()
        .map(Drift::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// What to do about a failed TLS connection, in the engine's own parameter names.
fn tls_hint(dialect: Dialect, mode_param: &str, problem: &TlsProblem) -> String {
    let mysql = dialect == Dialect::Mysql;
    let mode = |pg: &str, my: &str| format!("`{mode_param}={}`", if mysql { my } else { pg });
    let root_param = if mysql { "ssl-ca" } else { "sslrootcert" };
    match problem {
        TlsProblem::ServerRefused => format!(
            "turn TLS on at the server ({}), or use {} to fall back to plain text on a network \
             you trust",
            if mysql {
                "`ssl_cert` and `ssl_key` in the server's configuration"
            } else {
                "`ssl = on` with `ssl_cert_file` and `ssl_key_file` in postgresql.conf"
            },
            mode("prefer", "PREFERRED")
        ),
        TlsProblem::UnknownIssuer { .. } => format!(
            "set `{root_param}` to the certificate of the authority that signed the server's \
             certificate, or use {} to encrypt without verifying the server",
            mode("require", "REQUIRED")
        ),
        TlsProblem::NameMismatch { .. } => format!(
            "connect with a host name the certificate names, or use {} to verify the \
             certificate's authority only",
            mode("verify-ca", "VERIFY_CA")
        ),
        TlsProblem::Other(_) => {
            "check the certificate files of the URL and the server's TLS settings".to_string()
        }
    }
}

impl Error {
    /// What the user can do about it, printed as a `hint:` paragraph.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Migration { hint, .. } => hint.clone(),
            Error::BackendNotCompiled { dialect } => Some(format!(
                "rebuild retort with `--features {}`, or in Cargo.toml: `retort = {{ features = [\"{0}\"] }}`",
                feature_of(*dialect)
            )),
            Error::LockRetriesExhausted { .. } => Some(
                "run again once the blocking session is gone (PostgreSQL: \
                 `SELECT pg_terminate_backend(<session>)` ends it; MySQL: `KILL <session>`), or \
                 give the revision more time: raise `lock_timeout`, `retries` or `retry_budget` \
                 (its header or migrate.toml)"
                    .into(),
            ),
            Error::LockLost { .. } => Some(
                "run again: the runner that holds the lock now, or the next run, goes on from \
                 what is committed; if this runner was paused past its lease (no heartbeat for \
                 `lock_lease`), raise `lock_lease`"
                    .into(),
            ),
            Error::LockTimeout { .. } | Error::LockFailed { .. } => {
                Some("retry later or raise `--migration-lock-wait`".into())
            }
            Error::HistoryDirty { tool, repair, .. } => Some(format!(
                "repair the history with {tool} first ({repair}), then stamp"
            )),
            Error::HistoryUnknownVersions { .. } => Some(
                "import the tool's current migration folder first (`retort import TOOL DIR`)".into(),
            ),
            Error::RebaseApplied { .. } => Some(
                "join the heads with `retort merge heads` instead: merge keeps applied revisions where they are".into(),
            ),
            Error::RebaseUnchecked { .. } => Some(
                "set the database URL (`--url`, DATABASE_URL), or pass `--unchecked` if you know no database has applied them; revisions already applied somewhere need `retort merge heads`".into(),
            ),
            Error::RebaseMerge { .. } => Some("rebase the revisions below the merge instead".into()),
            Error::RebaseCycle { .. } => Some("choose a target that is not among or below the revisions that move".into()),
            Error::LockUnsupported { .. } => Some(
                "run migrations on a direct connection to PostgreSQL, or through the pooler in \
                 session mode (PgBouncer: a database entry or port with `pool_mode = session`)"
                    .into(),
            ),
            Error::TlsFileUnusable { .. } => Some(
                "name a readable PEM file (a relative path is taken from the working directory)"
                    .into(),
            ),
            Error::TlsRootCertMissing { root_param, .. } => Some(format!(
                "add `{root_param}=/path/to/ca.pem` with the certificate of the authority that \
                 signed the server's (managed services publish theirs), or \
                 `{root_param}=system` for a server certificate from a public authority"
            )),
            Error::TlsFailed {
                dialect,
                mode_param,
                problem,
                ..
            } => Some(tls_hint(*dialect, mode_param, problem)),
            Error::UnknownVersionRow { .. } => Some("repair it with `stamp --purge REV`".into()),
            Error::LintFoundProblems { .. } | Error::LintRefused { .. } => Some(
                "fix each finding as its help line says, or accept it on purpose with `-- retort:allow CODE reason=\"...\"` on the line before the statement".into(),
            ),
            Error::LintServerVersionInvalid { .. } => Some(
                "write a version number such as `15`, `15.4`, `8.0.36` or `mariadb-10.11`".into(),
            ),
            Error::LintDialectUnknown => Some(
                "pass `--dialect postgresql|mysql|sqlite`, or set `--url`, DATABASE_URL or `database_url`".into(),
            ),
            Error::LintGitFailed { .. } => Some(
                "run inside a git checkout and name a commit, branch or tag git knows (e.g. `origin/main`)".into(),
            ),
            Error::FleetStopped {
                manifest: Some(path),
                ..
            } => Some(format!(
                "fix what stopped it, then continue with `--resume {}`",
                path.display()
            )),
            Error::FleetFlagConflict { flag } => Some(format!(
                "run without `--fleet` on one database, or without `{flag}` on the fleet (its \
                 `[fleet.NAME]` names the databases)"
            )),
            Error::FleetTargetsFailed {
                read_only: false, ..
            } => Some(
                "fix the failed targets and run the same command again: targets already done \
                 are skipped without taking their locks"
                    .into(),
            ),
            Error::FleetTargetsFailed {
                read_only: true, ..
            } => Some(
                "each target's row says what failed or what was found; `--json` prints every \
                 target's findings as its `detail`"
                    .into(),
            ),
            Error::ScratchDatabaseFailed { .. } => Some(
                "give retort an empty database to build in: `[schema] dev_url` in migrate.toml \
                 or `--dev-url URL` (or grant the user CREATE DATABASE / CREATEDB)"
                    .into(),
            ),
            Error::DevDatabaseNotEmpty { .. } => {
                Some("point `dev_url` at an empty database of its own".into())
            }
            Error::SchemaDriftRefused { .. } => Some(
                "see the differences with `retort check --schema`; undo the change by hand or \
                 write a revision that makes it, then run again"
                    .into(),
            ),
            Error::SchemaFileDiffers { .. } => Some(
                "if the change is intended, write the file again: `retort schema --sql > FILE` \
                 on a database built from the migrations"
                    .into(),
            ),
            Error::SchemaTableUnknown { .. } => {
                Some("list the tables with `retort schema`".into())
            }
            Error::AuditTrailOff { .. } => Some(
                "remove `audit_table = false` from `[migrate]` to record one from the next run on"
                    .into(),
            ),
            Error::IdentifierTooLong { limit, unit, .. } => Some(format!(
                "shorten `version_table` (or `version_table_schema`) in migrate.toml: the audit \
                 table `<version_table>_log` must fit in {limit} {unit} too"
            )),
            Error::SqliteDirectoryReadOnly { .. } => Some(
                "make the directory writable for this user, or move the database into a writable \
                 directory"
                    .into(),
            ),
            Error::RevisionFileTooLarge { .. } => Some(
                "split it into several revisions, or load bulk data outside retort".into(),
            ),
            Error::MissingConfig { .. } => {
                Some("run `retort init` to create one, or pass `-c PATH`".into())
            }
            Error::NoDatabaseUrl { .. } => Some(
                "set `database_url` in migrate.toml or DATABASE_URL, or pass `--url` (from code: \
                 `Migrator::with_url`)"
                    .into(),
            ),
            Error::ScriptLocationMissing { .. } => Some(
                "run `retort init`, or point `script_location` in migrate.toml at the folder that \
                 holds `versions/`"
                    .into(),
            ),
            Error::NotUpToDate { pending } => Some(format!(
                "{} pending revision(s) ({}): run `retort upgrade heads`",
                pending.len(),
                pending.join(", ")
            )),
            Error::RehearseUnsupported { .. } => Some("use `--dry-run` or `--sql`".into()),
            Error::Irreversible { revision, path } => Some(format!(
                "add a downgrade section to {}, or downgrade to a revision above `{revision}`",
                path.display()
            )),
            Error::VersionRowWithoutFile { .. } => Some(
                "check `version_locations` in migrate.toml (is a file missing?), or reset the \
                 table with `retort stamp --purge REV`"
                    .into(),
            ),
            Error::MigrationFailed { error, .. } | Error::OfflineDialectUnknown { error } => {
                error.hint()
            }
            Error::InterruptedRun {
                heads_before,
                heads_after,
                ..
            } => Some(format!(
                "inspect the database: if every change of the interrupted step is in place, \
                 record it with `retort stamp {}`; otherwise undo what took effect, record the \
                 state before it with `retort stamp {}` and run again (a stamp closes the \
                 interrupted run in the audit trail)",
                stamp_arguments(heads_after),
                stamp_arguments(heads_before)
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
            Error::CurrentUnreadable { error, .. } => Some(error.hint().unwrap_or_else(|| {
                "name revisions instead of `current`, or point `--url` at a database retort can read"
                    .into()
            })),
            Error::DumpFailed { .. } => Some(
                "fix `command` under `[backup]` in migrate.toml, or run again with `--no-backup`"
                    .into(),
            ),
            // graph
            Error::DuplicateRevision { .. } => Some(
                "give one of the files a new id (`retort revision` generates unique ids)".into(),
            ),
            Error::MissingDownRevision { .. } => {
                Some("restore the missing file, or fix `down_revision` in the header".into())
            }
            Error::BranchLabelTaken { .. } => {
                Some("a branch label must be unique and differ from every revision id".into())
            }
            Error::UnknownDependency { .. } => Some("fix `depends_on` in the header".into()),
            Error::AmbiguousDependency { .. } => Some("write more characters of the id".into()),
            Error::Cycle { files, .. } => Some(format!(
                "break the circle by fixing `down_revision`/`depends_on` in one of {}",
                backticked(files.iter().map(|f| f.display()))
            )),
            Error::UnknownRevision { detail, .. } => detail.as_ref().map(ToString::to_string),
            Error::MultipleHeads {
                heads,
                offline_start: true,
                ..
            } => Some(format!(
                "an offline run starts from one revision: write one of {} (or `<label>@head`) \
                 before the `:`, one run per head",
                backticked(heads)
            )),
            Error::MultipleHeads {
                argument, heads, ..
            } if argument == "heads" || argument.ends_with("@heads") => Some(format!(
                "`{argument}` names several revisions where one is needed: name one of {} or \
                 use `<label>@head`",
                backticked(heads)
            )),
            Error::MultipleHeadsForNewRevision {
                heads,
                merge: false,
            } => Some(format!(
                "the heads are {}; build on one with `--head <revision>` (or `--head \
                 <label>@head`), or join them first with `retort merge heads`",
                backticked(heads)
            )),
            Error::MultipleHeads { heads, .. }
            | Error::MultipleHeadsToStamp { heads }
            | Error::MultipleHeadsForNewRevision { heads, .. } => Some(format!(
                "the heads are {}; use `heads` for all of them or `<label>@head` for one branch",
                backticked(heads)
            )),
            Error::MergeOfNonHead { .. } => Some(
                "name heads only (`retort heads` lists them, `heads` names them all); to start \
                 a branch from an older revision use `retort revision --head <revision> --splice`"
                    .into(),
            ),
            Error::ReservedName { .. } => Some(
                "choose another name: `head`, `heads`, `base` and `current` always mean what targets say".into(),
            ),
            Error::LabelShadowsRevision { .. } => {
                Some("choose a label that no revision id starts with".into())
            }
            Error::UntargetableLabel { .. } => Some(
                "a label may hold `-` (`core-plugin`) but not `@` or `:`, and no `+N`/`-N` right \
                 after its first word (`release-2`)"
                    .into(),
            ),
            Error::AmbiguousWalk { steps } => Some(format!(
                "a relative step cannot choose between the parents of a merge or the branches of a branch point; name the revision to go to, or use `<label>@{steps:+}`"
            )),
            // running: SQLite foreign keys
            Error::ForeignKeyViolations { .. } => Some(
                "its changes were rolled back; the database is at the last revision that \
                 succeeded; keep a parent row for every child row the revision rebuilds (or \
                 delete the orphaned child rows in the revision), then run again"
                    .into(),
            ),
            Error::RehearseForeignKeys { revision, .. } => Some(format!(
                "rehearse up to the revision before `{revision}`, or run the upgrade on a copy \
                 of the database file; everything was rolled back"
            )),

            // drift
            Error::AppliedRevisionsChanged { drifted } => {
                let revision = drifted.first().map_or("REV", |d| d.revision.as_str());
                Some(format!(
                    "restore the file's SQL as it ran; or, if the change is intended, record it with `retort accept {revision} --reason \"…\"`; or run anyway with `--allow-drift`"
                ))
            }
            Error::AcceptNotApplied { .. } | Error::AcceptNotDrifted { .. } => Some(
                "`retort check` lists the applied revisions whose files changed".into(),
            ),
            Error::AcceptReasonEmpty => {
                Some("say why the change is safe: `--reason \"…\"`".into())
            }
            _ => None,
        }
    }

    /// The process exit status for this error (docs/exit-codes.md: 1 failure, 2 usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::OfflineDowngradeNeedsRange
            | Error::StampRangeNeedsSql
            | Error::StampRangesFromSeveral
            | Error::RangeNeedsSql { .. }
            | Error::OfflineDialectUnknown { .. }
            // A test pins 2 for a taken id; a taken label is the same kind of refusal.
            | Error::RevisionIdTaken { .. }
            | Error::NewBranchLabelTaken { .. }
            | Error::ReservedName { .. }
            | Error::LabelShadowsRevision { .. }
            | Error::UntargetableLabel { .. }
            | Error::UnknownVersionPath { .. }
            | Error::VersionPathNeeded
            | Error::HistoryRangeSyntax
            | Error::RehearseUnsupported { .. }
            | Error::PurgeWithSql
            | Error::AcceptReasonEmpty
            | Error::AcceptNeedsOneRevision { .. }
            | Error::FleetFlagConflict { .. }
            | Error::ImportFlagNeedsAlembic { .. } => 2,
            Error::MigrationFailed { error, .. } => error.exit_code(),
            _ => 1,
        }
    }

    /// The revision file an error of reading or parsing one names.
    pub(crate) fn revision_file(&self) -> Option<&std::path::Path> {
        match self {
            Error::Script { path, .. }
            | Error::RevisionFileTooLarge { path, .. }
            | Error::RevisionFileNotRegular { path }
            | Error::Io { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The error itself, without the partial report of [`Error::MigrationFailed`].
    pub(crate) fn without_report(self) -> Error {
        match self {
            Error::MigrationFailed { error, .. } => *error,
            other => other,
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

/// The most characters of user input (a file's line, a URL, a parser's text) that a message
/// quotes: enough to recognise it, while a 400 KB line of a damaged file stays off the terminal.
pub(crate) const QUOTED_CHARS: usize = 200;

/// The most characters of a failing statement that its error shows: a whole hand-written
/// statement, but not a generated multi-megabyte `INSERT`.
pub(crate) const QUOTED_STATEMENT_CHARS: usize = 2000;

/// `text` cut to `max` characters, with `…` and the number of characters left out when cut.
pub(crate) fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((end, _)) => {
            let left_out = text[end..].chars().count();
            format!("{}… ({left_out} more characters)", &text[..end]).into()
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
    /// True when the server ended the statement to break a deadlock (PostgreSQL `40P01`,
    /// MySQL 1213): like a lock timeout, trying again later may succeed.
    pub is_deadlock: bool,
    /// The SQLite database whose write failed because its directory cannot be written (for
    /// the journal): the statement is not to blame.
    pub unwritable_directory_of: Option<PathBuf>,
    /// The migration lock cannot work on this connection (a pooler in transaction mode).
    pub(crate) lock_unsupported: bool,
    /// The migration lock (a lease) is no longer this connection's: another runner took it
    /// over, or its row was deleted. Nothing was run.
    pub(crate) lock_lost: bool,
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
            is_deadlock: false,
            unwritable_directory_of: None,
            lock_unsupported: false,
            lock_lost: false,
            driver: None,
        }
    }

    /// A migration lock this connection cannot hold, said in `message`.
    #[cfg(feature = "postgres")]
    pub(crate) fn lock_unsupported(message: impl Into<String>) -> Self {
        DbError {
            lock_unsupported: true,
            ..DbError::new(message)
        }
    }

    /// A migration lock found no longer held, said in `message`.
    #[cfg(feature = "postgres")]
    pub(crate) fn lock_lost(message: impl Into<String>) -> Self {
        DbError {
            lock_lost: true,
            ..DbError::new(message)
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
            is_deadlock: false,
            unwritable_directory_of: None,
            lock_unsupported: false,
            lock_lost: false,
            driver: Some(Arc::new(driver)),
        }
    }
}

impl DbError {
    /// The error of a statement that lost a lock conflict: it waited past the lock timeout or
    /// was chosen to break a deadlock. Nothing it did remains; trying again may succeed.
    pub fn is_lock_conflict(&self) -> bool {
        self.is_lock_timeout || self.is_deadlock
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

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clip_cuts_at_a_character_and_says_how_much_is_left_out() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdefgh", 6), "abcdef… (2 more characters)");
        assert_eq!(clip("ééééé", 2), "éé… (3 more characters)");
    }

    #[test]
    fn a_lock_timeout_says_the_wait_as_it_was_given() {
        let waited = |seconds: f64| {
            super::Error::LockTimeout {
                waited: std::time::Duration::from_secs_f64(seconds),
                cause: super::DbError::lock_timeout("held"),
            }
            .to_string()
        };
        assert!(waited(1.5).starts_with("gave up waiting for the database lock after 1.5s: held"));
        assert!(waited(60.0).contains("after 60s:"));
    }
}
