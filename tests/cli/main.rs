//! retort's integration tests as one binary (like cargo's `tests/testsuite`): each module drives
//! the real `retort` binary or the library; `support` holds the shared helpers.

// Tests read the environment they run in (server URLs, CI) as users' programs would.
#![allow(clippy::disallowed_methods)]

#[cfg(feature = "sqlite")]
mod adopt;
mod alembic_oracle;
mod audit_details;
mod backup;
mod backup_on_change;
mod backup_safety;
mod backup_under_lock;
mod cli_conventions;
#[cfg(feature = "sqlite")]
mod crash_recovery;
mod drift_refusal;
#[cfg(feature = "sqlite")]
mod fleet;
mod graph_cli;
mod graph_rules;
#[cfg(feature = "sqlite")]
mod hazards;
#[cfg(feature = "sqlite")]
mod import;
mod import_alembic;
mod kill_commit_race;
mod killed_nontransactional;
mod library;
#[cfg(feature = "sqlite")]
mod lint;
#[cfg(feature = "postgres")]
mod lock_release;
#[cfg(all(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod lock_retry;
#[cfg(feature = "mysql")]
mod mysql_partial;
mod offline;
#[cfg(feature = "postgres")]
mod pgbouncer;
mod polish;
mod rebase;
mod row_counts;
mod schema;
mod script_files;
mod secrets;
mod servers;
mod settings_rules;
mod single_head;
#[cfg(feature = "sqlite")]
mod sqlite_lock_wait;
#[cfg(feature = "sqlite")]
mod sqlite_pragmas;
mod sqlite_run;
mod support;
#[cfg(feature = "sqlite")]
mod targets_and_hints;
#[cfg(all(feature = "postgres", feature = "mysql"))]
mod tls;
mod verbose;
