//! SQLite's schema: `sqlite_schema` for the objects and their SQL, and the `pragma_*`
//! table-valued functions joined to it, one query per kind for the whole database.
//!
//! SQLite keeps CHECK constraints, a column's collation and generation expression, a foreign
//! key's deferrability and an index's expressions and `WHERE` only in the statement text,
//! which `sqltext` reads.

use std::collections::BTreeMap;

use super::model::{
    Column, Constraint, ConstraintKind, Index, PrimaryKey, Schema, Table, Trigger, View,
};
use super::sqltext::{ColumnText, ForeignKeyText};
use super::{int, opt_text, query, sqltext, text, Introspect};
use crate::db::Connection;
use crate::error::Result;

pub(super) struct Sqlite;

/// Names SQLite reserves for its own tables (`sqlite_sequence`, `sqlite_stat1`).
fn internal(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("sqlite_")
}

impl Introspect for Sqlite {
    fn read(&self, conn: &mut dyn Connection) -> Result<Schema> {
        let mut schema = Schema::default();
        let kinds: BTreeMap<String, String> = query(
            conn,
            "tables",
            "SELECT name, type FROM pragma_table_list WHERE schema = 'main'",
        )?
        .iter()
        .map(|row| (text(&row[0]), text(&row[1])))
        .collect();
        let objects = query(
            conn,
            "objects",
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
        )?;
        let mut index_sql = BTreeMap::new();
        let mut table_text = BTreeMap::new();
        for row in &objects {
            let (kind, name, table, sql) = (
                text(&row[0]),
                text(&row[1]),
                text(&row[2]),
                opt_text(&row[3]),
            );
            if internal(&name) {
                continue;
            }
            let sql = sql.unwrap_or_default();
            match (kind.as_str(), kinds.get(&name).map(String::as_str)) {
                ("table", Some("table")) => {
                    let mut table = Table {
                        ddl: sql.clone(),
                        ..Table::default()
                    };
                    for (name, expression) in sqltext::checks(&sql) {
                        let definition = format!("CHECK ({expression})");
                        table.constraints.insert(
                            name.unwrap_or_else(|| definition.clone()),
                            Constraint {
                                kind: ConstraintKind::Check,
                                definition,
                                ddl: None,
                            },
                        );
                    }
                    table_text.insert(name.clone(), sqltext::table_parts(&sql));
                    schema.tables.insert(name, table);
                }
                ("table", Some("virtual")) => {
                    schema.not_compared.push(format!("virtual table {name}"))
                }
                // A virtual table's shadow tables belong to it.
                ("table", _) => {}
                ("view", _) => {
                    schema.views.insert(
                        name,
                        View {
                            definition: sql.clone(),
                            ddl: sql,
                            ..View::default()
                        },
                    );
                }
                ("trigger", _) => {
                    schema.triggers.insert(
                        format!("{table}.{name}"),
                        Trigger {
                            table,
                            definition: sql.clone(),
                            ddl: sql,
                        },
                    );
                }
                ("index", _) => {
                    index_sql.insert(name, sql);
                }
                _ => {}
            }
        }
        read_columns(conn, &mut schema, &table_text)?;
        read_indexes(conn, &mut schema, &index_sql)?;
        read_foreign_keys(conn, &mut schema, &table_text)?;
        Ok(schema)
    }
}

/// Per table: what its `CREATE TABLE` says of its columns and foreign keys.
type TableText = BTreeMap<String, (Vec<ColumnText>, Vec<ForeignKeyText>)>;

fn read_columns(conn: &mut dyn Connection, schema: &mut Schema, texts: &TableText) -> Result<()> {
    let rows = query(
        conn,
        "columns",
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
         FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid",
    )?;
    let mut keys: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for row in rows {
        let table_name = text(&row[0]);
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        let name = text(&row[1]);
        let pk = int(&row[5]);
        if pk > 0 {
            keys.entry(table_name.clone())
                .or_default()
                .push((pk, name.clone()));
        }
        let autoincrement = pk > 0 && table.ddl.to_ascii_uppercase().contains("AUTOINCREMENT");
        let written = texts
            .get(&table_name)
            .and_then(|(columns, _)| columns.iter().find(|c| c.name.eq_ignore_ascii_case(&name)));
        // The pragma says whether a column is generated; the statement says from what.
        let generated = match int(&row[6]) {
            2 => Some("VIRTUAL"),
            3 => Some("STORED"),
            _ => None,
        }
        .map(|kind| match written.and_then(|c| c.generated.as_ref()) {
            Some(expression) => format!("{expression} {kind}"),
            None => kind.to_string(),
        });
        table.columns.push(Column {
            name,
            data_type: text(&row[2]),
            nullable: int(&row[3]) == 0,
            default: opt_text(&row[4]),
            generated,
            identity: autoincrement.then(|| "autoincrement".into()),
            collation: written
                .and_then(|c| c.collation.clone())
                .filter(|c| c != "BINARY"),
        });
    }
    for (table, mut columns) in keys {
        columns.sort();
        if let Some(table) = schema.tables.get_mut(&table) {
            table.primary_key = Some(PrimaryKey {
                name: None,
                columns: columns.into_iter().map(|(_, name)| name).collect(),
            });
        }
    }
    Ok(())
}

fn read_indexes(
    conn: &mut dyn Connection,
    schema: &mut Schema,
    index_sql: &BTreeMap<String, String>,
) -> Result<()> {
    let rows = query(
        conn,
        "indexes",
        "SELECT m.name, il.name, il.\"unique\", il.origin, ix.cid, ix.name, ix.\"desc\", ix.coll \
         FROM sqlite_schema m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ix \
         WHERE m.type = 'table' AND ix.key = 1 ORDER BY m.name, il.name, ix.seqno",
    )?;
    // Per index: its table, origin and key parts, in order.
    let mut found: BTreeMap<(String, String), (bool, String, Vec<String>)> = BTreeMap::new();
    for row in rows {
        let key = (text(&row[0]), text(&row[1]));
        let entry = found
            .entry(key)
            .or_insert_with(|| (int(&row[2]) != 0, text(&row[3]), Vec::new()));
        let mut part = match (int(&row[4]), opt_text(&row[5])) {
            (-2, _) | (_, None) => String::new(),
            (_, Some(name)) => name,
        };
        if !part.is_empty() {
            if let Some(collation) = opt_text(&row[7]).filter(|c| !c.eq_ignore_ascii_case("BINARY"))
            {
                part.push_str(&format!(" COLLATE {collation}"));
            }
            if int(&row[6]) != 0 {
                part.push_str(" DESC");
            }
        }
        entry.2.push(part);
    }
    for ((table_name, name), (unique, origin, mut columns)) in found {
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        match origin.as_str() {
            // The primary key is the table's.
            "pk" => {}
            "u" => {
                let definition = format!("UNIQUE ({})", columns.join(", "));
                table.constraints.insert(
                    definition.clone(),
                    Constraint {
                        kind: ConstraintKind::Unique,
                        definition,
                        ddl: None,
                    },
                );
            }
            _ => {
                let sql = index_sql.get(&name).cloned().unwrap_or_default();
                let (written, predicate) = sqltext::index_parts(&sql);
                // An expression has no name in the pragma: the statement gives its text.
                for (i, part) in columns.iter_mut().enumerate() {
                    if part.is_empty() {
                        *part = written.get(i).cloned().unwrap_or_default();
                    }
                }
                table.indexes.insert(
                    name,
                    Index {
                        columns,
                        unique,
                        predicate,
                        method: None,
                        include: Vec::new(),
                        ddl: sql,
                    },
                );
            }
        }
    }
    Ok(())
}

fn read_foreign_keys(
    conn: &mut dyn Connection,
    schema: &mut Schema,
    texts: &TableText,
) -> Result<()> {
    let rows = query(
        conn,
        "foreign keys",
        "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
         FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
    )?;
    // Per table and key id: the referenced table, both column lists, the actions.
    type Key = (String, Vec<String>, Vec<String>, String, String);
    let mut keys: BTreeMap<(String, i64), Key> = BTreeMap::new();
    for row in rows {
        let entry = keys
            .entry((text(&row[0]), int(&row[1])))
            .or_insert_with(|| {
                (
                    text(&row[2]),
                    Vec::new(),
                    Vec::new(),
                    text(&row[5]),
                    text(&row[6]),
                )
            });
        entry.1.push(text(&row[3]));
        // A key naming no columns references the primary key.
        entry.2.extend(opt_text(&row[4]));
    }
    // The statement's keys, each matched once, by its columns.
    let mut written: BTreeMap<&str, Vec<&ForeignKeyText>> = texts
        .iter()
        .map(|(table, (_, keys))| (table.as_str(), keys.iter().collect()))
        .collect();
    for ((table_name, _), (target, from, to, on_update, on_delete)) in keys {
        let Some(table) = schema.tables.get_mut(&table_name) else {
            continue;
        };
        let deferred = written.get_mut(table_name.as_str()).is_some_and(|keys| {
            let same = |key: &&ForeignKeyText| {
                key.columns.len() == from.len()
                    && key
                        .columns
                        .iter()
                        .zip(&from)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            };
            keys.iter()
                .position(same)
                .is_some_and(|at| keys.remove(at).deferred)
        });
        let mut definition = format!("FOREIGN KEY ({}) REFERENCES {target}", from.join(", "));
        if !to.is_empty() {
            definition.push_str(&format!(" ({})", to.join(", ")));
        }
        for (what, action) in [("UPDATE", on_update), ("DELETE", on_delete)] {
            if action != "NO ACTION" {
                definition.push_str(&format!(" ON {what} {action}"));
            }
        }
        if deferred {
            definition.push_str(" DEFERRABLE INITIALLY DEFERRED");
        }
        table.constraints.insert(
            definition.clone(),
            Constraint {
                kind: ConstraintKind::ForeignKey,
                definition,
                ddl: None,
            },
        );
    }
    Ok(())
}
