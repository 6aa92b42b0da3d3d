//! retort: an Alembic-style schema migration tool, as a command line and as a library.
//!
//! From code, [`Migrator`] opens a project (a `migrate.toml`, or revision files embedded with
//! [`build::embed_migrations`] and [`include_migrations!`]) and migrates a database:
//!
//! ```
//! # fn main() -> retort::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let url = format!("sqlite:///{}", dir.path().join("app.db").display());
//! let config = concat!(env!("CARGO_MANIFEST_DIR"), "/migrate.toml");
//! let report = retort::Migrator::from_config(config)?.with_url(&url)?.upgrade("heads")?;
//! println!("database at {}", report.heads_after.join(", "));
//! # Ok(()) }
//! ```
//!
//! [`Migrator::upgrade`], [`downgrade`](Migrator::downgrade), [`stamp`](Migrator::stamp) and
//! [`execute`](Migrator::execute) return a [`MigrationReport`] of [`StepReport`]s, or an
//! [`Error`] (carrying the steps that ran) when a revision fails. They take no backup:
//! [`Migrator::backup`] takes the one the CLI takes before a change. A [`Progress`] follows a
//! run step by step; [`Migrator::with_connection`] runs on a session of your own
//! ([`Connection`]). Everything else is internal.
//!
//! # Architecture
//!
//! ```text
//! cli (clap) ─► settings ─► ops ◄─ migrator     project (config + script + graph)
//!   commands ─────────────► │          graph::target ─► graph::plan ─► Plan
//!                           └────────► exec::run(Plan) ─► db::Connection (live)
//!                                                     └─► render (offline --sql)
//! ```
//!
//! | module | responsibility | must not |
//! | --- | --- | --- |
//! | `config` | `migrate.toml`, `${VAR}` expansion, database URLs | print, connect |
//! | `script` | parse revision files; split SQL into statements | know the graph |
//! | `graph` | the DAG, target grammar, planner (pure) | do I/O, import `db` |
//! | `db` | one trait, one file per driver, version/audit table SQL | hold migration logic |
//! | `exec` | order side effects of a plan: lock, transactions, audit | parse targets |
//! | `render` | minijinja templates for offline SQL and new revisions | execute SQL |
//! | `backup` | SQLite backups and server dumps, checksums, retention, restore | plan migrations |
//! | `lint` | lock-risky and breaking DDL in revision files: rules, parser bridge, renderings | connect, print |
//! | `verify` | integrity and orphaned-row checks of a live database | change data |
//! | `schema` | introspection into one model per engine, schema diffs, scratch databases | plan migrations |
//! | `migrator` | the library API (`Migrator`): typed results, the executor's lock | print |
//! | `build` | embed revision files from an application's build script | run at run time |
//! | `settings` | flags, environment and config resolved into typed settings | run anything |
//! | `fleet` | many targets: listing a fleet, running one per-target op over it, the manifest | print |
//! | `ops` | one function per workflow: backup, lock, run, verify, report data | print |
//! | `cli` | clap, and one file per command: resolve, call one op, print | contain SQL or graph logic |
//! | `display` | Alembic-style revision lines and the JSON revision object | decide anything |
//! | `output` | stdout for data, stderr for everything else | — |
//! | `project` | a loaded project: config, revision files, the validated graph | connect |
//! | `error` | the one `Error`: conditions with data, each text and hint written once | print |
//! | `report` | what a run reports: steps, directions, outcomes (a leaf: imports nothing) | — |
//! | `dialect` | the three SQL dialects and what each can do | — |
//! | `env` | the process environment behind a trait, so settings can be tested | — |
//! | `import` | other tools' migration folders, one file per tool | write files |
//! | `git` | which files a branch added, asked of the `git` command | know revisions |
//! | `parallel` | splitting work over the cores (parsing, SQL preparation) | — |

mod backup;
pub mod build;
mod cli;
mod config;
mod db;
mod dialect;
mod display;
mod env;
mod error;
mod exec;
mod fleet;
mod git;
mod graph;
mod import;
mod lint;
mod migrator;
mod ops;
mod output;
mod parallel;
mod project;
mod render;
mod report;
mod schema;
mod script;
mod settings;
mod verify;

pub use config::Timeouts;
pub use config::{DatabaseUrl, Dialect};
#[cfg(feature = "sqlite")]
pub use db::sqlite::SqliteConnection;
pub use db::{Connection, Value};
pub use error::{DbError, Error, InvalidId, Result, ScriptProblem, TlsProblem, Unresolved};
pub use exec::{Attempt, LockRetry};
pub use exec::{PreparedStep, Progress};
#[allow(deprecated)]
pub use migrator::DEFAULT_LOCK_TIMEOUT;
pub use migrator::{
    CheckReport, Embedded, MigrationReport, Migrator, Operation, PlannedRun, RunOptions, Status,
    DEFAULT_MIGRATION_LOCK_WAIT,
};
pub use report::{Outcome, StepKind, StepReport};

/// The command line, for the `retort` binary only: it parses `args`, runs the command and
/// returns the exit status.
#[doc(hidden)]
pub fn cli_main(args: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    cli::main(args)
}

/// Internals the integration tests drive directly (the Alembic oracle walks the graph, the
/// server tests read the audit trail). Not part of the API: no stability promise.
#[doc(hidden)]
pub mod __test_support {
    pub use crate::config::{Config, LockConfig, LockKind, TimeoutOverrides};
    pub use crate::db::audit_details::{AuditDetails, LintAllowed, StatementChecksum};
    pub use crate::db::connect;
    pub use crate::db::version_table::{
        read_audit, read_heads, AuditEntry, Direction, VersionTable,
    };
    pub use crate::graph::plan::{Plan, VersionOp};
    pub use crate::graph::RevisionGraph;
    pub use crate::project::Project;
    pub use crate::render::builtin_templates;
    pub use crate::script::{parse_revision, scan, RevisionMeta, Script, SectionKind, Sections};
}
