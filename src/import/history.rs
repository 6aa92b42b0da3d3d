//! The history tables other tools keep in a database, read as the set of versions they applied:
//! what `stamp --from` needs to adopt a database that tool migrated. Each reader follows what
//! that tool's source writes (table, columns, how a failed or dirty run shows).

use std::collections::BTreeSet;

use super::{flyway, Tool, Version};
use crate::db::{Connection, Value};
use crate::error::{Error, Result};

/// What a tool's history table says was applied.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct History {
    /// Versions applied, each once.
    pub applied: BTreeSet<Version>,
    /// Flyway's baseline: every version up to it counts as applied (it need not be a file).
    pub baseline: Option<Version>,
    /// golang-migrate's one row: the version the database is at, all below it applied.
    pub current: Option<Version>,
}

/// The table `tool` keeps its history in, and the query of what `read` needs from it.
fn table_and_query(tool: Tool) -> Option<(&'static str, &'static str)> {
    Some(match tool {
        Tool::Flyway => (
            "flyway_schema_history",
            "SELECT version, type, success FROM flyway_schema_history ORDER BY installed_rank",
        ),
        Tool::Dbmate => ("schema_migrations", "SELECT version FROM schema_migrations"),
        Tool::GolangMigrate => (
            "schema_migrations",
            "SELECT version, dirty FROM schema_migrations",
        ),
        Tool::Goose => (
            "goose_db_version",
            "SELECT version_id, is_applied FROM goose_db_version ORDER BY id",
        ),
        Tool::Sqlx => (
            "_sqlx_migrations",
            "SELECT version, success FROM _sqlx_migrations ORDER BY version",
        ),
        Tool::Numbered | Tool::Alembic => return None,
    })
}

/// Reads `tool`'s history table on `conn`; refuses a history that records a failed or
/// unfinished migration. The table's name, and `None` when it does not exist.
pub(crate) fn read(
    conn: &mut dyn Connection,
    tool: Tool,
) -> Result<(&'static str, Option<History>)> {
    let Some((table, sql)) = table_and_query(tool) else {
        return Err(Error::StampFromNoHistory { tool: tool.name() });
    };
    let exists = conn
        .table_exists(None, table)
        .map_err(|cause| Error::HistoryUnreadable {
            table: table.into(),
            cause,
        })?;
    if !exists {
        return Ok((table, None));
    }
    let rows = conn.query(sql).map_err(|cause| Error::HistoryUnreadable {
        table: table.into(),
        cause,
    })?;
    let text = |v: &Value| v.as_text().unwrap_or_default();
    let version = |v: &Value| -> Result<Version> {
        let raw = text(v);
        let parsed = match tool {
            Tool::Flyway => flyway::parse_version(&raw),
            _ => Version::parse_number(raw.trim()),
        };
        parsed.ok_or_else(|| Error::HistoryBadVersion {
            table: table.into(),
            version: raw,
        })
    };
    let refuse = |version: String, state: &str| Error::HistoryDirty {
        tool: tool.name(),
        repair: tool.repair_hint(),
        table: table.into(),
        version,
        state: state.into(),
    };
    let mut history = History::default();
    for row in &rows {
        let col = |i: usize| row.get(i).unwrap_or(&Value::Null);
        match tool {
            Tool::Flyway => {
                // Repeatable migrations have no version; the schema-creation row neither.
                if col(0) == &Value::Null {
                    continue;
                }
                let kind = text(col(1));
                if !col(2).is_truthy() {
                    return Err(refuse(text(col(0)), "failed (success = false)"));
                }
                match kind.as_str() {
                    "SCHEMA" => {}
                    "BASELINE" => history.baseline = Some(version(col(0))?),
                    k if k.starts_with("UNDO") => {
                        history.applied.remove(&version(col(0))?);
                    }
                    _ => {
                        history.applied.insert(version(col(0))?);
                    }
                }
            }
            Tool::Dbmate => {
                history.applied.insert(version(col(0))?);
            }
            Tool::GolangMigrate => {
                if col(1).is_truthy() {
                    return Err(refuse(text(col(0)), "dirty (dirty = true)"));
                }
                // One row: the current version; golang-migrate applies versions in order.
                history.current = Some(version(col(0))?);
            }
            Tool::Goose => {
                let v = version(col(0))?;
                // goose's first row, version 0, marks the table's creation.
                if v.0 == [0] {
                    continue;
                }
                match col(1).is_truthy() {
                    true => history.applied.insert(v),
                    false => history.applied.remove(&v),
                };
            }
            Tool::Sqlx => {
                if !col(1).is_truthy() {
                    return Err(refuse(text(col(0)), "failed (success = false)"));
                }
                history.applied.insert(version(col(0))?);
            }
            Tool::Numbered | Tool::Alembic => {}
        }
    }
    Ok((table, Some(history)))
}
