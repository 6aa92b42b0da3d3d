//! Offline (`--sql`) scripts: what the per-dialect templates `templates/offline/<dialect>.sql.j2`
//! see, and their rendering. `exec::offline` fills an [`OfflineScript`]; it knows no template.

use minijinja::Environment;
use serde::{Serialize, Serializer};

use crate::config::Dialect;
use crate::error::Result;

/// The built-in offline templates, by dialect.
pub(crate) const OFFLINE_TEMPLATES: [(Dialect, &str); 3] = [
    (
        Dialect::Sqlite,
        include_str!("../../templates/offline/sqlite.sql.j2"),
    ),
    (
        Dialect::Postgresql,
        include_str!("../../templates/offline/postgresql.sql.j2"),
    ),
    (
        Dialect::Mysql,
        include_str!("../../templates/offline/mysql.sql.j2"),
    ),
];

/// The template's name, also its path below a templates directory.
pub(crate) fn offline_template_name(dialect: Dialect) -> String {
    format!("offline/{}.sql.j2", dialect.name())
}

/// What the offline templates see.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OfflineScript {
    /// Picks the template; templates see its name (`sqlite`, `postgresql`, `mysql`).
    #[serde(serialize_with = "dialect_name")]
    pub dialect: Dialect,
    /// The version table's `CREATE TABLE`, without terminator.
    pub version_table_ddl: String,
    /// Wrap each step in its own transaction instead of the whole script in one.
    pub transaction_per_migration: bool,
    pub steps: Vec<OfflineStep>,
}

/// One step as the templates render it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OfflineStep {
    /// The version rows are empty when this step starts: the DDL goes before it.
    pub create_version_table: bool,
    /// `upgrade`, `downgrade` or `stamp_revision`.
    pub kind: &'static str,
    /// Comma-and-space-joined, empty for base (so `-- Running upgrade  -> a`).
    pub from: String,
    pub to: String,
    pub transactional: bool,
    /// The revision's statements, without terminators.
    pub statements: Vec<String>,
    /// The version-table statements, without terminators.
    pub version_statements: Vec<String>,
}

fn dialect_name<S: Serializer>(dialect: &Dialect, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(dialect.name())
}

/// Renders `script` with its dialect's template from `env` (see [`super::environment`]): the
/// project's override if one was added, else the built-in one.
pub(crate) fn render(env: &Environment<'_>, script: &OfflineScript) -> Result<String> {
    super::render_template(env, &offline_template_name(script.dialect), script)
}
