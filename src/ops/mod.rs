//! One function per workflow, between the settings a caller resolved and the core (graph,
//! executor, drivers): the command line and [`Migrator`](crate::Migrator) both call these, and
//! they print nothing. Each returns a typed outcome for the caller to show.

pub(crate) mod accept;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod check;
pub(crate) mod identity;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod lint;
pub(crate) mod migration_test;
pub(crate) mod offline;
pub(crate) mod rebase;
pub(crate) mod revision;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod single_head;
pub(crate) mod stamp_from;
pub(crate) mod statement_diff;
pub(crate) mod verify;
