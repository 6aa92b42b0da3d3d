//! retort: an Alembic-style schema migration tool.
//!
//! # Architecture
//!
//! ```text
//! cli (clap) ─► commands ─► project (config + script + graph)
//!                   │              graph::target ─► graph::plan ─► Plan
//!                   └────────────► exec::run_plan(Plan) ─► db::Connection (live)
//!                                                      └─► render (offline --sql)
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
//! | `commands` | one file per command, thin orchestration | contain SQL or graph logic |
//! | `display` | Alembic-style revision lines and the JSON revision object | decide anything |
//! | `output` | stdout for data, stderr for everything else | — |

pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod display;
pub mod error;
pub mod exec;
pub mod graph;
pub mod output;
pub mod project;
pub mod render;
pub mod script;
pub mod verify;

pub use error::{Error, Result};
