//! A schema printed: as text for people, and as DDL (`schema --sql`) in dependency order:
//! schemas, types, sequences and routines first, then tables, their constraints (foreign keys
//! last, once every table exists), indexes, views (each after the views it reads) and
//! triggers. The same schema always prints the same bytes.

use std::collections::BTreeSet;

use super::model::{ConstraintKind, Index, Schema};

/// The schema for people: one block per object.
pub(crate) fn text(schema: &Schema) -> String {
    let mut out = String::new();
    for name in &schema.schemas {
        out.push_str(&format!("schema {name}\n"));
    }
    for (name, user_type) in &schema.types {
        out.push_str(&format!(
            "{} {name}: {}\n",
            user_type.kind, user_type.definition
        ));
    }
    for (name, sequence) in &schema.sequences {
        out.push_str(&format!("sequence {name}: {}\n", sequence.definition));
    }
    for (name, table) in &schema.tables {
        out.push_str(&format!("table {name}\n"));
        for column in &table.columns {
            out.push_str(&format!("  column {} {}", column.name, column.data_type));
            out.push_str(if column.nullable {
                " NULL"
            } else {
                " NOT NULL"
            });
            if let Some(default) = &column.default {
                out.push_str(&format!(" DEFAULT {default}"));
            }
            if let Some(generated) = &column.generated {
                out.push_str(&format!(" GENERATED {generated}"));
            }
            if let Some(identity) = &column.identity {
                out.push_str(&format!(" IDENTITY {identity}"));
            }
            if let Some(collation) = &column.collation {
                out.push_str(&format!(" COLLATE {collation}"));
            }
            out.push('\n');
        }
        if let Some(pk) = &table.primary_key {
            let name = pk
                .name
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  primary key{name} ({})\n",
                pk.columns.join(", ")
            ));
        }
        for (key, constraint) in &table.constraints {
            if *key == constraint.definition {
                out.push_str(&format!("  {}: {key}\n", constraint.kind.name()));
            } else {
                out.push_str(&format!(
                    "  {} {key}: {}\n",
                    constraint.kind.name(),
                    constraint.definition
                ));
            }
        }
        for (name, index) in &table.indexes {
            out.push_str(&format!("  {}\n", index_line(name, index)));
        }
    }
    for (name, view) in &schema.views {
        let kind = if view.materialized {
            "materialized view"
        } else {
            "view"
        };
        out.push_str(&format!("{kind} {name}\n"));
        for line in view.definition.trim().lines() {
            out.push_str(&format!("  | {}\n", line.trim_end()));
        }
        for (index_name, index) in &view.indexes {
            out.push_str(&format!("  {}\n", index_line(index_name, index)));
        }
    }
    for (name, routine) in &schema.routines {
        out.push_str(&format!("{} {name}\n", routine.kind));
    }
    for (name, trigger) in &schema.triggers {
        out.push_str(&format!("trigger {name}\n"));
        for line in trigger.definition.trim().lines() {
            out.push_str(&format!("  | {}\n", line.trim_end()));
        }
    }
    if !schema.not_compared.is_empty() {
        out.push_str("not compared:\n");
        for object in &schema.not_compared {
            out.push_str(&format!("  {object}\n"));
        }
    }
    out
}

fn index_line(name: &str, index: &Index) -> String {
    let mut line = format!(
        "{} {name} ({})",
        if index.unique {
            "unique index"
        } else {
            "index"
        },
        index.columns.join(", ")
    );
    if let Some(method) = &index.method {
        line.push_str(&format!(" using {method}"));
    }
    if !index.include.is_empty() {
        line.push_str(&format!(" include ({})", index.include.join(", ")));
    }
    if let Some(predicate) = &index.predicate {
        line.push_str(&format!(" where {predicate}"));
    }
    line
}

/// The schema as DDL, each statement ended by `;` and a blank line.
pub(crate) fn sql(schema: &Schema) -> String {
    let mut statements: Vec<&str> = Vec::new();
    statements.extend(schema.schema_ddl.values().map(String::as_str));
    // Enums before the domains that may be based on them.
    for kind in ["enum", "domain"] {
        statements.extend(
            schema
                .types
                .values()
                .filter(|t| t.kind == kind)
                .map(|t| t.ddl.as_str()),
        );
    }
    statements.extend(schema.sequences.values().map(|s| s.ddl.as_str()));
    statements.extend(schema.routines.values().map(|r| r.ddl.as_str()));
    statements.extend(schema.tables.values().map(|t| t.ddl.as_str()));
    for foreign in [false, true] {
        for table in schema.tables.values() {
            statements.extend(
                table
                    .constraints
                    .values()
                    .filter(|c| (c.kind == ConstraintKind::ForeignKey) == foreign)
                    .filter_map(|c| c.ddl.as_deref()),
            );
        }
    }
    for table in schema.tables.values() {
        statements.extend(table.indexes.values().map(|i| i.ddl.as_str()));
    }
    for name in view_order(schema) {
        let view = &schema.views[name];
        statements.push(&view.ddl);
        statements.extend(view.indexes.values().map(|i| i.ddl.as_str()));
    }
    statements.extend(schema.triggers.values().map(|t| t.ddl.as_str()));
    let mut out = String::new();
    for statement in statements {
        let statement = statement.trim().trim_end_matches(';').trim_end();
        if statement.is_empty() {
            continue;
        }
        out.push_str(statement);
        out.push_str(";\n\n");
    }
    out.truncate(out.trim_end().len());
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The views in an order where each follows the views its definition names; by name where
/// nothing says otherwise.
fn view_order(schema: &Schema) -> Vec<&str> {
    let names: Vec<&str> = schema.views.keys().map(String::as_str).collect();
    let mentions = |definition: &str, name: &str| {
        let bare = name.rsplit('.').next().unwrap_or(name);
        definition.match_indices(bare).any(|(at, _)| {
            let before = definition[..at].chars().next_back();
            let after = definition[at + bare.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    };
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < names.len() {
        let ready = names.iter().copied().find(|name| {
            !done.contains(name)
                && names.iter().all(|other| {
                    other == name
                        || done.contains(other)
                        || !mentions(&schema.views[*name].definition, other)
                })
        });
        // A cycle of mentions (names inside strings): the rest by name.
        let next = ready.unwrap_or_else(|| {
            names
                .iter()
                .copied()
                .find(|name| !done.contains(name))
                .unwrap_or_default()
        });
        done.insert(next);
        order.push(next);
    }
    order
}
