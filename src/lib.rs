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
//! | `backup` | SQLite backups, checksums, restore | plan migrations |
//! | `verify` | integrity and orphaned-row checks of a live database | change data |
//! | `migrator` | the library API (`Migrator`): typed results, the executor's lock | print |
//! | `build` | embed revision files from an application's build script | run at run time |
//! | `settings` | flags, environment and config resolved into typed settings | run anything |
//! | `ops` | one function per workflow: backup, lock, run, verify, report data | print |
//! | `cli` | clap, and one file per command: resolve, call one op, print | contain SQL or graph logic |
//! | `display` | Alembic-style revision lines and the JSON revision object | decide anything |
//! | `output` | stdout for data, stderr for everything else | — |

pub mod backup;
pub mod build;
pub mod cli;
pub mod config;
pub mod db;
mod dialect;
pub mod display;
mod env;
pub mod error;
pub mod exec;
pub mod graph;
pub mod migrator;
mod ops;
pub mod output;
mod parallel;
pub mod project;
pub mod render;
mod report;
pub mod script;
mod settings;
pub mod verify;

pub use error::{Error, Result};
pub use migrator::{Embedded, Migrator};
