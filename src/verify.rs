//! Integrity and referential checks of a live database (`verify`, `upgrade --verify`).
//!
//! Everything goes through [`Connection::query`], so the checks run on every backend:
//! - SQLite: `PRAGMA integrity_check` and `PRAGMA foreign_key_check` (orphaned rows by table and
//!   rowid; the check works whether or not `PRAGMA foreign_keys` is on).
//! - PostgreSQL: constraints not validated (`NOT VALID`), and for every foreign key the child
//!   rows without a parent, found with an anti-join generated from `pg_constraint`.
//! - MySQL/MariaDB: the same anti-join per foreign key from `information_schema` (rows inserted
//!   with `foreign_key_checks = 0`).
//!
//! Nothing here changes data.

use serde::Serialize;

use crate::config::Dialect;
use crate::db::version_table::quoted_ident as quote_ident;
use crate::db::{Connection, DbError, Value};
use crate::error::{Error, Result};

/// How many orphaned rows are listed per foreign key; the count is always complete.
const LISTED_PER_KEY: usize = 100;

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct VerifyReport {
    pub dialect: String,
    /// True when nothing is wrong.
    pub ok: bool,
    /// Problems SQLite's `PRAGMA integrity_check` reports (empty when it says `ok`).
    pub integrity_errors: Vec<String>,
    /// Constraints the database holds but has not validated (PostgreSQL `NOT VALID`), and
    /// invalid indexes (a failed `CREATE INDEX CONCURRENTLY`).
    pub invalid_constraints: Vec<InvalidConstraint>,
    /// Foreign keys with child rows whose parent row is missing.
    pub orphans: Vec<OrphanedRows>,
}

/// A constraint that is not valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InvalidConstraint {
    pub table: String,
    pub constraint: String,
    /// `foreign key`, `check`, `index`, ...
    pub kind: String,
}

/// The orphaned rows of one foreign key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OrphanedRows {
    /// The child table (schema-qualified on PostgreSQL outside `public`).
    pub table: String,
    pub parent_table: String,
    /// The key, e.g. `book(author_id) -> author(id)`, or its name where the database has one.
    pub foreign_key: String,
    /// How many rows have no parent.
    pub count: u64,
    /// Up to 100 of them: `rowid 7` on SQLite, `author_id=42` on servers.
    pub rows: Vec<String>,
}

impl VerifyReport {
    fn new(dialect: Dialect) -> Self {
        VerifyReport {
            dialect: dialect.name().to_string(),
            ..VerifyReport::default()
        }
    }

    /// How many problems were found (each orphaned row counts).
    pub(crate) fn problem_count(&self) -> u64 {
        let orphans: u64 = self.orphans.iter().map(|o| o.count).sum();
        self.integrity_errors.len() as u64 + self.invalid_constraints.len() as u64 + orphans
    }

    /// The report as text lines, for the terminal.
    pub(crate) fn text_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.dialect == Dialect::Sqlite.name() {
            if self.integrity_errors.is_empty() {
                lines.push("integrity_check: ok".to_string());
            } else {
                lines.push(format!(
                    "integrity_check: {} problem(s)",
                    self.integrity_errors.len()
                ));
                lines.extend(self.integrity_errors.iter().map(|e| format!("  {e}")));
            }
        } else {
            lines.push(format!(
                "invalid constraints: {}",
                if self.invalid_constraints.is_empty() {
                    "none".to_string()
                } else {
                    self.invalid_constraints.len().to_string()
                }
            ));
            lines.extend(self.invalid_constraints.iter().map(|c| {
                format!(
                    "  {} on `{}` is not valid ({})",
                    c.constraint, c.table, c.kind
                )
            }));
        }
        let orphan_total: u64 = self.orphans.iter().map(|o| o.count).sum();
        if orphan_total == 0 {
            lines.push("orphaned rows: none".to_string());
        } else {
            lines.push(format!("orphaned rows: {orphan_total}"));
            for key in &self.orphans {
                lines.push(format!(
                    "  `{}`: {} row(s) without a parent in `{}` ({})",
                    key.table, key.count, key.parent_table, key.foreign_key
                ));
                lines.extend(key.rows.iter().map(|row| format!("    {row}")));
                let unlisted = key.count.saturating_sub(key.rows.len() as u64);
                if unlisted > 0 {
                    lines.push(format!("    ... and {unlisted} more"));
                }
            }
        }
        lines
    }
}

/// Runs every check this backend supports; `ok` is false when anything is wrong. An error means
/// a check could not run (not that it found problems).
pub(crate) fn run_checks(conn: &mut dyn Connection) -> Result<VerifyReport> {
    let dialect = conn.dialect();
    let mut report = VerifyReport::new(dialect);
    match dialect {
        Dialect::Sqlite => {
            report.integrity_errors = sqlite_integrity(conn)?;
            let (rows, broken_keys) = sqlite_foreign_key_check(conn)?;
            report.integrity_errors.extend(broken_keys);
            report.orphans = sqlite_orphans(conn, &rows)?;
        }
        Dialect::Postgresql => {
            report.invalid_constraints = pg_invalid_constraints(conn)?;
            let keys = pg_foreign_keys(conn)?;
            report.orphans = orphans_by_anti_join(conn, dialect, &keys)?;
        }
        Dialect::Mysql => {
            let keys = mysql_foreign_keys(conn)?;
            report.orphans = orphans_by_anti_join(conn, dialect, &keys)?;
        }
    }
    report.ok = report.problem_count() == 0;
    Ok(report)
}

fn query(conn: &mut dyn Connection, what: &str, sql: &str) -> Result<Vec<Vec<Value>>> {
    conn.query(sql)
        .map_err(|cause: DbError| Error::VerifyQueryFailed {
            what: what.to_string(),
            cause,
        })
}

fn text(row: &[Value], index: usize) -> String {
    row.get(index).and_then(Value::as_text).unwrap_or_default()
}

fn sqlite_integrity(conn: &mut dyn Connection) -> Result<Vec<String>> {
    let rows = query(conn, "PRAGMA integrity_check", "PRAGMA integrity_check")?;
    Ok(rows
        .iter()
        .map(|row| text(row, 0))
        .filter(|line| line != "ok")
        .collect())
}

/// The rows of `PRAGMA foreign_key_check`, and the foreign keys it cannot check. A key whose
/// parent columns are not unique ("foreign key mismatch") fails the whole pragma, so then each
/// table is checked alone and the broken keys are reported by table.
fn sqlite_foreign_key_check(conn: &mut dyn Connection) -> Result<(Vec<Vec<Value>>, Vec<String>)> {
    if let Ok(rows) = conn.query("PRAGMA foreign_key_check") {
        return Ok((rows, Vec::new()));
    }
    let tables = query(
        conn,
        "list tables",
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    for table in tables.iter().map(|row| text(row, 0)) {
        let sql = format!(
            "PRAGMA foreign_key_check({})",
            quote_ident(Dialect::Sqlite, &table)
        );
        match conn.query(&sql) {
            Ok(found) => rows.extend(found),
            Err(e) => broken.push(format!("`{table}`: {}", e.message)),
        }
    }
    Ok((rows, broken))
}

/// `PRAGMA foreign_key_check` rows (table, rowid, parent, fkid), grouped per foreign key and
/// described with the columns from `PRAGMA foreign_key_list`.
fn sqlite_orphans(conn: &mut dyn Connection, rows: &[Vec<Value>]) -> Result<Vec<OrphanedRows>> {
    let mut groups: Vec<OrphanedRows> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for row in rows {
        let table = text(row, 0);
        let fk_id = text(row, 3);
        let listed = match row.get(1).and_then(Value::as_text) {
            Some(rowid) => format!("rowid {rowid}"),
            None => "a row of a WITHOUT ROWID table".to_string(),
        };
        let index = match keys
            .iter()
            .position(|k| *k == (table.clone(), fk_id.clone()))
        {
            Some(index) => index,
            None => {
                let parent = text(row, 2);
                let foreign_key = sqlite_key_description(conn, &table, &fk_id, &parent)?;
                keys.push((table.clone(), fk_id));
                groups.push(OrphanedRows {
                    table,
                    parent_table: parent,
                    foreign_key,
                    count: 0,
                    rows: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        group.count += 1;
        if group.rows.len() < LISTED_PER_KEY {
            group.rows.push(listed);
        }
    }
    groups.sort_by(|a, b| (&a.table, &a.foreign_key).cmp(&(&b.table, &b.foreign_key)));
    Ok(groups)
}

fn sqlite_key_description(
    conn: &mut dyn Connection,
    table: &str,
    fk_id: &str,
    parent: &str,
) -> Result<String> {
    let sql = format!(
        "PRAGMA foreign_key_list({})",
        quote_ident(Dialect::Sqlite, table)
    );
    let rows = query(conn, &format!("foreign keys of `{table}`"), &sql)?;
    // Columns: id, seq, table, from, to, on_update, on_delete, match.
    let (from, to): (Vec<String>, Vec<String>) = rows
        .iter()
        .filter(|row| text(row, 0) == fk_id)
        .map(|row| (text(row, 3), text(row, 4)))
        .unzip();
    // `to` is empty when the key references the parent's primary key implicitly.
    let to = if to.iter().all(String::is_empty) {
        "PRIMARY KEY".to_string()
    } else {
        to.join(", ")
    };
    Ok(format!("{table}({}) -> {parent}({to})", from.join(", ")))
}

fn pg_invalid_constraints(conn: &mut dyn Connection) -> Result<Vec<InvalidConstraint>> {
    let sql = "SELECT n.nspname::text, c.relname::text, con.conname::text, con.contype::text \
               FROM pg_constraint con \
               JOIN pg_class c ON c.oid = con.conrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE NOT con.convalidated \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               ORDER BY 1, 2, 3";
    let mut rows = query(conn, "constraints not valid", sql)?;
    // An index left invalid by a failed `CREATE INDEX CONCURRENTLY` is not used and, if unique,
    // enforces nothing; it belongs in the same list.
    let indexes = "SELECT n.nspname::text, c.relname::text, i.relname::text, 'i' \
                   FROM pg_index x \
                   JOIN pg_class i ON i.oid = x.indexrelid \
                   JOIN pg_class c ON c.oid = x.indrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE NOT x.indisvalid \
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                   ORDER BY 1, 2, 3";
    rows.extend(query(conn, "invalid indexes", indexes)?);
    Ok(rows
        .iter()
        .map(|row| InvalidConstraint {
            table: qualified(Dialect::Postgresql, &text(row, 0), &text(row, 1)),
            constraint: text(row, 2),
            kind: match text(row, 3).as_str() {
                "f" => "foreign key",
                "c" => "check",
                "n" => "not null",
                "u" => "unique",
                "p" => "primary key",
                "i" => "index",
                _ => "constraint",
            }
            .to_string(),
        })
        .collect())
}

/// A foreign key as found in the catalog.
#[derive(Debug, Clone, PartialEq)]
struct ForeignKey {
    name: String,
    schema: String,
    table: String,
    columns: Vec<String>,
    parent_schema: String,
    parent_table: String,
    parent_columns: Vec<String>,
}

/// Groups catalog rows (name, schema, table, column, parent schema, parent table, parent
/// column), ordered by key and column position, into foreign keys.
fn group_foreign_keys(rows: &[Vec<Value>]) -> Vec<ForeignKey> {
    let mut keys: Vec<ForeignKey> = Vec::new();
    for row in rows {
        let (name, schema, table) = (text(row, 0), text(row, 1), text(row, 2));
        let same = keys
            .last()
            .is_some_and(|k| k.name == name && k.schema == schema && k.table == table);
        if !same {
            keys.push(ForeignKey {
                name,
                schema,
                table,
                columns: Vec::new(),
                parent_schema: text(row, 4),
                parent_table: text(row, 5),
                parent_columns: Vec::new(),
            });
        }
        if let Some(key) = keys.last_mut() {
            key.columns.push(text(row, 3));
            key.parent_columns.push(text(row, 6));
        }
    }
    keys
}

/// Top-level keys only (`conparentid = 0`): the copies PostgreSQL keeps for each partition of a
/// partitioned table would report the same rows again.
fn pg_foreign_keys(conn: &mut dyn Connection) -> Result<Vec<ForeignKey>> {
    let sql = "SELECT con.conname::text, cn.nspname::text, cc.relname::text, ca.attname::text, \
                      pn.nspname::text, pc.relname::text, pa.attname::text \
               FROM pg_constraint con \
               JOIN pg_class cc ON cc.oid = con.conrelid \
               JOIN pg_namespace cn ON cn.oid = cc.relnamespace \
               JOIN pg_class pc ON pc.oid = con.confrelid \
               JOIN pg_namespace pn ON pn.oid = pc.relnamespace \
               CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(child_att, parent_att, pos) \
               JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.child_att \
               JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.parent_att \
               WHERE con.contype = 'f' AND con.conparentid = 0 \
                 AND cn.nspname NOT IN ('pg_catalog', 'information_schema') \
               ORDER BY cn.nspname, cc.relname, con.conname, k.pos";
    Ok(group_foreign_keys(&query(conn, "foreign keys", sql)?))
}

fn mysql_foreign_keys(conn: &mut dyn Connection) -> Result<Vec<ForeignKey>> {
    let sql = "SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, \
                      k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME \
               FROM information_schema.KEY_COLUMN_USAGE k \
               JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                 ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
                AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
                AND r.TABLE_NAME = k.TABLE_NAME \
               WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
               ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";
    Ok(group_foreign_keys(&query(conn, "foreign keys", sql)?))
}

fn orphans_by_anti_join(
    conn: &mut dyn Connection,
    dialect: Dialect,
    keys: &[ForeignKey],
) -> Result<Vec<OrphanedRows>> {
    let mut found = Vec::new();
    for key in keys {
        let (count_sql, list_sql) = anti_join_sql(dialect, key);
        let what = format!("orphaned rows of `{}` on `{}`", key.name, key.table);
        let count = query(conn, &what, &count_sql)?
            .first()
            .and_then(|row| row.first())
            .and_then(Value::as_text)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if count == 0 {
            continue;
        }
        let rows = query(conn, &what, &list_sql)?
            .iter()
            .map(|row| {
                key.columns
                    .iter()
                    .enumerate()
                    .map(|(i, column)| {
                        let value = row.get(i).and_then(Value::as_text).unwrap_or_default();
                        format!("{column}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        found.push(OrphanedRows {
            table: qualified(dialect, &key.schema, &key.table),
            parent_table: qualified(dialect, &key.parent_schema, &key.parent_table),
            foreign_key: format!(
                "{}: {}({}) -> {}({})",
                key.name,
                key.table,
                key.columns.join(", "),
                key.parent_table,
                key.parent_columns.join(", ")
            ),
            count,
            rows,
        });
    }
    Ok(found)
}

/// The COUNT query and the listing query that find child rows of `key` without a parent. A row
/// with a NULL in any key column references nothing (MATCH SIMPLE) and is not orphaned.
fn anti_join_sql(dialect: Dialect, key: &ForeignKey) -> (String, String) {
    let q = |name: &str| quote_ident(dialect, name);
    let child = format!("{}.{}", q(&key.schema), q(&key.table));
    let parent = format!("{}.{}", q(&key.parent_schema), q(&key.parent_table));
    let join = key
        .columns
        .iter()
        .zip(&key.parent_columns)
        .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let not_null = key
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", q(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let missing = key
        .parent_columns
        .first()
        .map(|p| format!("p.{} IS NULL", q(p)))
        .unwrap_or_else(|| "1 = 0".to_string());
    let from =
        format!("FROM {child} c LEFT JOIN {parent} p ON {join} WHERE {not_null} AND {missing}");
    let as_text = |column: &str| match dialect {
        Dialect::Mysql => format!("CAST(c.{} AS CHAR)", q(column)),
        _ => format!("CAST(c.{} AS TEXT)", q(column)),
    };
    let listed = key
        .columns
        .iter()
        .map(|c| as_text(c))
        .collect::<Vec<_>>()
        .join(", ");
    let count_sql = format!("SELECT COUNT(*) {from}");
    let list_sql = format!("SELECT {listed} {from} ORDER BY {listed} LIMIT {LISTED_PER_KEY}");
    (count_sql, list_sql)
}

/// `schema.table` as users know it: PostgreSQL's default `public` schema and MySQL's current
/// database (the only one checked) are left out.
fn qualified(dialect: Dialect, schema: &str, table: &str) -> String {
    if schema.is_empty() || schema == "public" || dialect == Dialect::Mysql {
        table.to_string()
    } else {
        format!("{schema}.{table}")
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests;
