//! [`Migrator`]: retort as a library, for services that migrate their database at startup.
//!
//! A `Migrator` holds a loaded project (revision files and the validated graph) and a database
//! (a URL or an open connection). Its methods return typed results and print nothing. It and
//! the CLI commands `upgrade`, `downgrade` and `stamp` run through the same operations (`ops`):
//! the same planner, the same executor and the same migration lock, so a service and a
//! `retort upgrade` run at the same time never apply a revision twice.
//!
//! ```
//! # fn main() -> retort::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
//! let mut migrator = retort::Migrator::from_sources(&[(
//!     "a1_create_account.sql",
//!     "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE account (id INTEGER PRIMARY KEY);\n",
//! )])?
//! .with_url(&url)?;
//! let report = migrator.upgrade("heads")?;
//! assert_eq!(report.heads_after, ["a1"]);
//! assert!(migrator.is_up_to_date()?);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backup;
use crate::config::Timeouts;
use crate::config::{Config, DatabaseUrl, Dialect};
use crate::db::version_table::read_heads;
use crate::db::{self, Connection};
use crate::error::{Error, Result};
use crate::exec::prepare;
use crate::ops::{self, check::CheckDatabase};
use crate::project::Project;
use crate::script;
use crate::settings::{self, ProcessEnv};

pub(crate) use crate::ops::audit::version_table;
pub(crate) use crate::ops::run::check_rows_known;
pub use crate::ops::run::{PlannedRun, RunOptions};
pub use crate::report::RunReport as MigrationReport;
pub use crate::settings::Operation;
/// How long a run waits for another runner's migration lock by default (the CLI's
/// `--migration-lock-wait` default).
pub use crate::settings::DEFAULT_MIGRATION_LOCK_WAIT;

/// The old name of [`DEFAULT_MIGRATION_LOCK_WAIT`], easy to confuse with PostgreSQL's
/// `lock_timeout` (see [`Timeouts`]).
#[deprecated(since = "0.2.0", note = "renamed DEFAULT_MIGRATION_LOCK_WAIT")]
pub const DEFAULT_LOCK_TIMEOUT: Duration = DEFAULT_MIGRATION_LOCK_WAIT;

/// A project and a database to migrate. See the [crate documentation](crate) for an example.
pub struct Migrator {
    project: Project,
    database: Database,
    migration_lock_wait: Duration,
    /// Recorded in the audit trail when the database has no notion of its user.
    os_user: Option<String>,
    /// `upgrade --require-no-drift`: refuse a database whose schema drifted.
    schema_gate: Option<ops::run::SchemaGate>,
}

/// Where the database is.
enum Database {
    /// Neither a URL nor a connection was given: only graph questions can be answered.
    Unset,
    /// Connected for each operation, then closed; read-only operations never create a missing
    /// SQLite file.
    Url(DatabaseUrl),
    /// An open session the caller handed over; reused by every operation.
    Connection(Box<dyn Connection + Send>),
}

/// The database's state relative to the graph, as `retort status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// The database's current revisions (empty at base).
    pub current: Vec<String>,
    /// The graph's heads.
    pub heads: Vec<String>,
    /// The revisions `upgrade("heads")` would apply, in the order it would apply them.
    pub pending: Vec<String>,
    /// True when nothing is pending.
    pub up_to_date: bool,
}

/// The findings of [`Migrator::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// Faults: version rows no revision file defines, applied revisions whose SQL changed.
    pub problems: Vec<String>,
    /// Worth knowing, not wrong: several heads, irreversible revisions, no database to check.
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Migrator {
    /// Opens the project of a `migrate.toml`: loads every revision file and validates the graph
    /// with the CLI's checks and messages. The database URL is resolved as the CLI does without
    /// `--url`: the `DATABASE_URL` environment variable, then the file's `database_url`; as
    /// without `--env`, `RETORT_ENV` names the `[env.NAME]` whose settings apply.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
    /// std::fs::write(
    ///     dir.path().join("migrations/versions/a1_start.sql"),
    ///     "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
    /// ).unwrap();
    /// std::fs::write(dir.path().join("migrate.toml"), "[migrate]\nscript_location = \"migrations\"\n").unwrap();
    /// let db = dir.path().join("app.db");
    /// let mut migrator = retort::Migrator::from_config(dir.path().join("migrate.toml"))?
    ///     .with_url(&format!("sqlite:///{}", db.display()))?;
    /// assert_eq!(migrator.pending()?, ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn from_config(path: impl AsRef<Path>) -> Result<Migrator> {
        let env = ProcessEnv;
        let project = Project::load(Config::load_existing(
            path.as_ref(),
            &env,
            settings::chosen_environment(None, &env).as_deref(),
        )?)?;
        let url = settings::choose_url(None, &env, &project.config)?;
        let migrator = Migrator::from_project(project);
        Ok(match url {
            Some(resolved) => migrator.with_database_url(resolved.url),
            None => migrator,
        })
    }

    /// Opens a project from revision files held in memory, as `(file name, text)` pairs: each is
    /// parsed and the graph validated exactly as the CLI does for files on disk, with the same
    /// messages (naming the file name given). Files load in byte order of their names, as the
    /// CLI loads one version directory. The version table is `retort_version` (see
    /// [`with_version_table`](Self::with_version_table)). No database is set: call
    /// [`with_url`](Self::with_url) or [`with_connection`](Self::with_connection).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let migrator = retort::Migrator::from_sources(&[
    ///     ("b2_add_name.sql", "-- revision = \"b2\"\n-- down_revision = \"a1\"\n\n-- migrate:upgrade\nALTER TABLE t ADD name TEXT;\n"),
    ///     ("a1_start.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    /// ])?;
    /// assert_eq!(migrator.heads(), ["b2"]);
    ///
    /// let broken = retort::Migrator::from_sources(&[
    ///     ("c3.sql", "-- revision = \"c3\"\n-- down_revision = \"zz\"\n\n-- migrate:upgrade\n"),
    /// ]);
    /// assert!(broken.unwrap_err().to_string().contains("`zz`"));
    /// # Ok(()) }
    /// ```
    pub fn from_sources<N: AsRef<str>, T: AsRef<str>>(sources: &[(N, T)]) -> Result<Migrator> {
        let mut sorted: Vec<(&str, &str)> = sources
            .iter()
            .map(|(name, text)| (name.as_ref(), text.as_ref()))
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let (scripts, warnings) = script::load_sources(
            sorted
                .into_iter()
                .map(|(name, text)| (Path::new(name), text)),
        )?;
        let config = Config::parse(
            Path::new("<embedded migrations>"),
            Path::new("."),
            "[migrate]\nscript_location = \".\"\n",
            &|_| None,
        )?;
        Ok(Migrator::from_project(Project::from_scripts(
            config, scripts, warnings,
        )?))
    }

    /// [`from_sources`](Self::from_sources) for the list [`include_migrations!`](crate::include_migrations)
    /// compiled into the binary (see [`crate::build`]).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// // In an application: `static MIGRATIONS: retort::Embedded = retort::include_migrations!();`
    /// static MIGRATIONS: retort::Embedded = &[(
    ///     "migrations/versions/a1_start.sql",
    ///     "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
    /// )];
    /// let migrator = retort::Migrator::embedded(MIGRATIONS)?;
    /// assert_eq!(migrator.heads(), ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn embedded(migrations: Embedded) -> Result<Migrator> {
        Migrator::from_sources(migrations)
    }

    /// Wraps a project already loaded (the CLI loads it once and prints its warnings).
    pub(crate) fn from_project(project: Project) -> Migrator {
        Migrator {
            project,
            database: Database::Unset,
            migration_lock_wait: DEFAULT_MIGRATION_LOCK_WAIT,
            os_user: settings::os_user(&ProcessEnv),
            schema_gate: None,
        }
    }

    /// Points the migrator at a database URL (`sqlite:///app.db`, `postgresql://...`,
    /// `mysql://...`). A connection is opened for each operation and closed after it. Fails on a
    /// malformed URL; a URL whose driver is not compiled in fails with
    /// [`Error::BackendNotCompiled`] when first used.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let migrator = retort::Migrator::from_sources::<&str, &str>(&[])?;
    /// assert!(migrator.with_url("sqlite://").is_ok());
    /// assert!(retort::Migrator::from_sources::<&str, &str>(&[])?.with_url("nonsense").is_err());
    /// # Ok(()) }
    /// ```
    pub fn with_url(self, url: &str) -> Result<Migrator> {
        Ok(self.with_database_url(DatabaseUrl::parse(url)?))
    }

    /// Points the migrator at an already parsed URL.
    pub fn with_database_url(mut self, url: DatabaseUrl) -> Migrator {
        self.database = Database::Url(url);
        self
    }

    /// Uses an open connection for every operation (e.g. an in-memory SQLite database, or a
    /// session the application configured itself).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// use retort::SqliteConnection;
    /// let conn = SqliteConnection::open_path(None, true)?; // in memory
    /// let mut migrator = retort::Migrator::from_sources(&[(
    ///     "a1.sql",
    ///     "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
    /// )])?
    /// .with_connection(Box::new(conn));
    /// migrator.upgrade("heads")?;
    /// assert_eq!(migrator.current()?, ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn with_connection(mut self, connection: Box<dyn Connection + Send>) -> Migrator {
        self.database = Database::Connection(connection);
        self
    }

    /// Uses an open [`rusqlite::Connection`].
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let conn = rusqlite::Connection::open_in_memory().unwrap();
    /// let mut migrator = retort::Migrator::from_sources(&[(
    ///     "a1.sql",
    ///     "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
    /// )])?
    /// .with_sqlite(conn);
    /// assert_eq!(migrator.upgrade("heads")?.steps.len(), 1);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub fn with_sqlite(self, connection: rusqlite::Connection) -> Migrator {
        self.with_connection(Box::new(db::sqlite::SqliteConnection::from(connection)))
    }

    /// Names the version table (default `retort_version`, or the config's `version_table`);
    /// `alembic_version` adopts a database Alembic manages.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("app.db");
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_version_table("alembic_version")
    ///     .with_url(&format!("sqlite:///{}", path.display()))?;
    /// migrator.upgrade("heads")?;
    /// let db = rusqlite::Connection::open(&path).unwrap();
    /// let row: String = db.query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0)).unwrap();
    /// assert_eq!(row, "a1");
    /// # Ok(()) }
    /// ```
    pub fn with_version_table(mut self, name: impl Into<String>) -> Migrator {
        self.project.config.version_table = name.into();
        self
    }

    /// How long a run waits for another runner's migration lock before failing (default
    /// [`DEFAULT_MIGRATION_LOCK_WAIT`]). Not PostgreSQL's `lock_timeout`, which bounds each
    /// statement's wait for a table lock: see [`Migrator::with_timeouts`].
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let migrator = retort::Migrator::from_sources::<&str, &str>(&[])?
    ///     .with_migration_lock_wait(std::time::Duration::from_secs(5));
    /// # let _ = migrator; Ok(()) }
    /// ```
    pub fn with_migration_lock_wait(mut self, wait: Duration) -> Migrator {
        self.migration_lock_wait = wait;
        self
    }

    /// The old name of [`Migrator::with_migration_lock_wait`].
    #[deprecated(since = "0.2.0", note = "renamed with_migration_lock_wait")]
    pub fn with_lock_timeout(self, wait: Duration) -> Migrator {
        self.with_migration_lock_wait(wait)
    }

    /// The table-lock and statement timeouts each revision runs under, and how a revision
    /// that loses a lock conflict is retried (default: `migrate.toml`'s `lock_timeout`,
    /// `statement_timeout`, `retries` and `retry_budget`, else [`Timeouts::default`]); a
    /// revision's header still overrides them.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let migrator = retort::Migrator::from_sources::<&str, &str>(&[])?.with_timeouts(
    ///     retort::Timeouts {
    ///         lock_timeout: std::time::Duration::from_millis(500),
    ///         ..retort::Timeouts::default()
    ///     },
    /// );
    /// # let _ = migrator; Ok(()) }
    /// ```
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Migrator {
        self.project.config.timeouts = timeouts;
        self
    }

    /// Records `user` in the audit trail when the database has no notion of its user (the CLI
    /// passes the one its settings resolved).
    pub(crate) fn with_os_user(mut self, user: Option<String>) -> Migrator {
        self.os_user = user;
        self
    }

    /// Refuse to run on a database whose schema differs from what its revisions build.
    pub(crate) fn with_schema_gate(mut self, gate: Option<ops::run::SchemaGate>) -> Migrator {
        self.schema_gate = gate;
        self
    }

    /// The loaded project: config, revision files, graph.
    pub(crate) fn project(&self) -> &Project {
        &self.project
    }

    /// Non-fatal findings while loading (e.g. a file name that does not start with its id), each
    /// as `path: message`.
    pub fn warnings(&self) -> Vec<String> {
        self.project
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.path.display(), w.message))
            .collect()
    }

    /// The revision ids, in load order (no database needed).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let m = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?;
    /// assert_eq!(m.revisions(), ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn revisions(&self) -> Vec<String> {
        self.project
            .scripts
            .iter()
            .map(|s| s.meta.revision.clone())
            .collect()
    }

    /// The graph's heads (no database needed).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let m = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?;
    /// assert_eq!(m.heads(), ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn heads(&self) -> Vec<String> {
        self.project
            .graph
            .heads()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// Applies revisions up to `target` (`"heads"` for everything) under the migration lock and
    /// returns what ran: each step with its timing and checksum, and the new heads. A failed
    /// revision is rolled back and returned as the error; the revisions before it stay applied.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t;\n"),
    /// ])?
    /// .with_url(&url)?;
    /// let report = migrator.upgrade("heads")?;
    /// let step = &report.steps[0];
    /// assert_eq!((step.revision.as_str(), step.outcome.name()), ("a1", "success"));
    /// assert!(step.checksum.as_deref().unwrap().starts_with("sha256:"));
    /// assert_eq!(report.heads_after, ["a1"]);
    /// // Nothing left to do: an empty report.
    /// assert!(migrator.upgrade("heads")?.steps.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn upgrade(&mut self, target: &str) -> Result<MigrationReport> {
        self.execute(
            &Operation::Upgrade(target.to_string()),
            RunOptions::default(),
        )
        .map_err(Error::without_report)
    }

    /// Reverts revisions down to `target` (`"base"` for everything, `"-1"` for one step), under
    /// the migration lock. Fails before changing anything when the way down crosses an
    /// irreversible revision.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t;\n"),
    /// ])?
    /// .with_url(&url)?;
    /// migrator.upgrade("heads")?;
    /// let report = migrator.downgrade("base")?;
    /// assert_eq!(report.steps[0].revision, "a1");
    /// assert!(migrator.current()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn downgrade(&mut self, target: &str) -> Result<MigrationReport> {
        self.execute(
            &Operation::Downgrade(target.to_string()),
            RunOptions::default(),
        )
        .map_err(Error::without_report)
    }

    /// Sets the version table to `targets` without running any revision (e.g. to adopt a
    /// database whose schema already matches).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    /// ])?
    /// .with_url(&url)?;
    /// migrator.stamp(&["heads"])?;
    /// assert_eq!(migrator.current()?, ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn stamp<S: AsRef<str>>(&mut self, targets: &[S]) -> Result<MigrationReport> {
        let operation = Operation::Stamp {
            targets: targets.iter().map(|t| t.as_ref().to_string()).collect(),
            purge: false,
        };
        self.execute(&operation, RunOptions::default())
            .map_err(Error::without_report)
    }

    /// Runs `operation` under the migration lock: the general form of [`upgrade`](Self::upgrade),
    /// [`downgrade`](Self::downgrade) and [`stamp`](Self::stamp), with progress and rehearsal.
    /// A revision that failed is an [`Error::MigrationFailed`] holding the report of the steps
    /// that ran, the failed one last; any other `Err` means nothing ran (no connection, no
    /// lock, no plan).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// use retort::{Operation, RunOptions};
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    /// ])?
    /// .with_url(&url)?;
    /// let options = RunOptions { rehearse: true, ..RunOptions::default() };
    /// let report = migrator.execute(&Operation::Upgrade("heads".into()), options)?;
    /// assert_eq!(report.steps.len(), 1);
    /// assert!(migrator.current()?.is_empty(), "a rehearsal changes nothing");
    /// # Ok(()) }
    /// ```
    pub fn execute(
        &mut self,
        operation: &Operation,
        options: RunOptions<'_>,
    ) -> Result<MigrationReport> {
        let target = match &mut self.database {
            Database::Unset => return Err(no_database(&self.project.config)),
            Database::Url(url) => ops::run::Target::Url(url),
            Database::Connection(conn) => ops::run::Target::Open(conn.as_mut()),
        };
        ops::run::execute(
            &self.project,
            target,
            self.migration_lock_wait,
            operation,
            options,
            self.os_user.clone(),
            self.schema_gate.as_ref(),
        )
    }

    /// Backs the database up before `operation` changes it, as the CLI does before every
    /// upgrade, downgrade and stamp (`execute` and friends never back up by themselves): an
    /// SQLite online copy, or for PostgreSQL/MySQL the config's `[backup] command` or
    /// `pg_dump`/`mysqldump`, each with a metadata file, then the config's retention. Call it
    /// before running `operation`; an error means nothing was changed.
    ///
    /// Returns the backup file, or `None` when nothing needed one: the plan changes nothing,
    /// the SQLite database does not exist yet or is in memory, `[backup] enabled = false`, or a
    /// server database has no dump tool and `[backup] required = false`. Needs a database URL
    /// (a connection given with [`Migrator::with_connection`] cannot be copied).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// use retort::Operation;
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    ///     ("a2.sql", "-- revision = \"a2\"\n-- down_revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE u (id INTEGER);\n"),
    /// ])?
    /// .with_url(&url)?;
    /// let upgrade = Operation::Upgrade("heads".into());
    /// assert_eq!(migrator.backup(&upgrade)?, None, "no database file yet: nothing to lose");
    /// migrator.upgrade("a1")?;
    /// let backup = migrator.backup(&upgrade)?.expect("a backup of the existing file");
    /// assert!(backup.is_file());
    /// migrator.upgrade("heads")?;
    /// assert_eq!(migrator.backup(&upgrade)?, None, "up to date: the plan changes nothing");
    /// # Ok(()) }
    /// ```
    pub fn backup(&mut self, operation: &Operation) -> Result<Option<PathBuf>> {
        let Database::Url(url) = &self.database else {
            return Err(no_database(&self.project.config));
        };
        let url = url.clone();
        let planned = self.plan(operation)?;
        if !planned.changes_database() {
            return Ok(None);
        }
        let trigger = format!("{} {}", operation.kind().name(), operation.target_text());
        let outcome = backup::backup_before_change(
            &self.project.config,
            &url,
            &trigger,
            &planned.heads_before,
            false,
        )?;
        Ok(outcome.record.map(|record| record.backup_path))
    }

    /// The SQL script that runs `operation` from the version rows `from` names (empty for an
    /// empty version table; a `FROM` of Alembic's offline `FROM:TO`), in `dialect`, without a
    /// database: what `retort upgrade --sql` prints. A purging stamp cannot be rendered.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// use retort::Dialect;
    /// use retort::Operation;
    /// let migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    /// ])?;
    /// let sql = migrator.offline_sql(&Operation::Upgrade("heads".into()), "", Dialect::Sqlite)?;
    /// assert!(sql.contains("CREATE TABLE t (id INTEGER);"));
    /// # Ok(()) }
    /// ```
    pub fn offline_sql(
        &self,
        operation: &Operation,
        from: &str,
        dialect: Dialect,
    ) -> Result<String> {
        let plan = ops::offline::plan(&self.project, operation, from)?;
        Ok(ops::offline::render(&self.project, plan, dialect)?.script)
    }

    /// What `operation` would do from the database's current state, computed without changing
    /// anything and without creating a missing SQLite file (the CLI's `--dry-run`).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// use retort::Operation;
    /// let mut migrator = retort::Migrator::from_sources(&[
    ///     ("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n"),
    /// ])?
    /// .with_url(&url)?;
    /// let planned = migrator.plan(&Operation::Upgrade("heads".into()))?;
    /// assert_eq!(planned.steps[0].running_line(), "Running upgrade  -> a1");
    /// assert_eq!(planned.heads_after, ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn plan(&mut self, operation: &Operation) -> Result<PlannedRun> {
        let (rows, dialect) = self.read_version_rows()?;
        let plan = ops::run::plan(operation, &self.project, &rows)?;
        let steps = prepare(
            &plan,
            &self.project.scripts,
            dialect,
            self.project.config.timeouts,
        )?;
        Ok(PlannedRun {
            heads_after: plan.heads_after(),
            heads_before: rows,
            purge: plan.purge,
            steps,
        })
    }

    /// The database's current revisions (empty at base). Read-only: a missing SQLite file or
    /// version table means base and is never created. Fails when the version table holds a
    /// revision no file defines.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_url(&url)?;
    /// assert!(migrator.current()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn current(&mut self) -> Result<Vec<String>> {
        let rows = self.version_rows()?;
        self.project.graph.current(&rows)
    }

    /// Current revisions, pending revisions, and whether the database is up to date. Read-only.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_url(&url)?;
    /// let status = migrator.status()?;
    /// assert_eq!((status.pending, status.up_to_date), (vec!["a1".to_string()], false));
    /// # Ok(()) }
    /// ```
    pub fn status(&mut self) -> Result<Status> {
        let rows = self.version_rows()?;
        let graph = &self.project.graph;
        let current = graph.current(&rows)?;
        // Pending = what `upgrade heads` would run from here.
        let pending = ops::check::pending(&self.project, &rows)?;
        Ok(Status {
            current,
            heads: graph.real_heads().into_iter().map(String::from).collect(),
            up_to_date: pending.is_empty(),
            pending,
        })
    }

    /// The revisions `upgrade("heads")` would apply, in order. Read-only.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_url(&url)?;
    /// assert_eq!(migrator.pending()?, ["a1"]);
    /// # Ok(()) }
    /// ```
    pub fn pending(&mut self) -> Result<Vec<String>> {
        Ok(self.status()?.pending)
    }

    /// Whether the database is at the graph's heads, asked without changing anything (a health
    /// check or a replica that must not migrate can call it).
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_url(&url)?;
    /// assert!(!migrator.is_up_to_date()?);
    /// migrator.upgrade("heads")?;
    /// assert!(migrator.is_up_to_date()?);
    /// # Ok(()) }
    /// ```
    pub fn is_up_to_date(&mut self) -> Result<bool> {
        Ok(self.status()?.up_to_date)
    }

    /// Checks the project and, when a database is set, the database: version rows no file
    /// defines, and applied revisions whose SQL changed since they ran (drift). Read-only. The
    /// files and the graph were already validated when the migrator was opened.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\nSELECT 1;\n")])?
    ///     .with_url(&url)?;
    /// migrator.upgrade("heads")?;
    /// let report = migrator.check()?;
    /// assert!(report.is_ok());
    /// // No downgrade section: a warning, not a problem.
    /// assert!(report.warnings[0].contains("no downgrade section"));
    /// # Ok(()) }
    /// ```
    pub fn check(&mut self) -> Result<CheckReport> {
        let database = match &mut self.database {
            Database::Unset => CheckDatabase::Unset,
            Database::Url(url) => CheckDatabase::Url(url),
            Database::Connection(conn) => CheckDatabase::Connection(conn.as_mut()),
        };
        let found = ops::check::findings(&self.project, database, false)?;
        Ok(CheckReport {
            problems: found.problems,
            warnings: found.warnings,
        })
    }

    /// The rows of the version table, each checked to name a revision file (the database's
    /// heads, before dependencies are resolved: see [`current`](Self::current)). Read-only.
    ///
    /// ```
    /// # fn main() -> retort::Result<()> {
    /// let mut migrator = retort::Migrator::from_sources(&[("a1.sql", "-- revision = \"a1\"\n\n-- migrate:upgrade\n")])?
    ///     .with_url("sqlite://")?;
    /// assert!(migrator.version_rows()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn version_rows(&mut self) -> Result<Vec<String>> {
        let (rows, _) = self.read_version_rows()?;
        check_rows_known(&self.project, &rows)?;
        Ok(rows)
    }

    /// Gives the project back.
    pub(crate) fn into_project(self) -> Project {
        self.project
    }

    /// The applied revisions whose files changed since they ran (or were last accepted with
    /// `retort accept`), in the order they were applied. Read-only.
    pub fn drift(&mut self) -> Result<Vec<crate::error::Drift>> {
        let config = &self.project.config;
        let scripts = &self.project.scripts;
        let drift = |conn: &mut dyn Connection| {
            // Without an audit trail nothing records what ran, so nothing can have drifted.
            match version_table(config, conn.dialect())?.audit() {
                Some(audit) => ops::check::drift(conn, scripts, &audit),
                None => Ok(Vec::new()),
            }
        };
        match &mut self.database {
            Database::Unset => Err(no_database(config)),
            Database::Url(url) => match db::connect_existing(url)? {
                Some(mut conn) => drift(conn.as_mut()),
                None => Ok(Vec::new()),
            },
            Database::Connection(conn) => drift(conn.as_mut()),
        }
    }

    /// The version rows and the database's dialect, read without creating anything.
    fn read_version_rows(&mut self) -> Result<(Vec<String>, Dialect)> {
        let config = &self.project.config;
        match &mut self.database {
            Database::Unset => Err(no_database(config)),
            Database::Url(url) => {
                let dialect = url.dialect();
                let rows = match db::connect_existing(url)? {
                    Some(mut conn) => read_heads(conn.as_mut(), &version_table(config, dialect)?)?,
                    None => Vec::new(),
                };
                Ok((rows, dialect))
            }
            Database::Connection(conn) => {
                let dialect = conn.dialect();
                let rows = read_heads(conn.as_mut(), &version_table(config, dialect)?)?;
                Ok((rows, dialect))
            }
        }
    }
}

impl ops::run::Runner for Migrator {
    fn project(&self) -> &Project {
        &self.project
    }
    fn plan(&mut self, operation: &Operation) -> Result<PlannedRun> {
        Migrator::plan(self, operation)
    }
    fn execute(
        &mut self,
        operation: &Operation,
        options: RunOptions<'_>,
    ) -> Result<MigrationReport> {
        Migrator::execute(self, operation, options)
    }
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = match &self.database {
            Database::Unset => "none".to_string(),
            Database::Url(url) => url.to_string(),
            Database::Connection(conn) => format!("an open {} connection", conn.dialect()),
        };
        f.debug_struct("Migrator")
            .field("revisions", &self.project.scripts.len())
            .field("database", &database)
            .field("migration_lock_wait", &self.migration_lock_wait)
            .finish()
    }
}

/// Revision files compiled into a binary, as `(file name, text)` pairs: what
/// [`include_migrations!`](crate::include_migrations) expands to.
pub type Embedded = &'static [(&'static str, &'static str)];

fn no_database(config: &Config) -> Error {
    Error::NoDatabaseUrl {
        path: config.path.clone(),
    }
}
