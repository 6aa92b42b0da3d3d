//! retort's integration tests as one binary (like cargo's `tests/testsuite`): each module drives
//! the real `retort` binary or the library; `support` holds the shared helpers.

mod alembic_oracle;
mod backup;
mod backup_on_change;
mod cli_conventions;
mod graph_cli;
mod graph_rules;
mod library;
mod offline;
mod script_files;
mod servers;
mod sqlite_run;
mod support;
