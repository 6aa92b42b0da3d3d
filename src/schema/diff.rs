//! The difference of two schemas, object by object: what the live database has that the
//! expected schema lacks (`+`), what it lacks (`-`), and each attribute that differs (`~`).
//!
//! Both schemas are flattened into objects with a kind, a name and named attributes; the diff
//! of those is generic, so every modeled kind is compared the same way. A table that is added
//! or missing is one line, not also one line per column and index.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::model::{Index, Schema};

/// How an object differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    /// In the database, not in the expected schema.
    Added,
    /// In the expected schema, not in the database.
    Removed,
    /// In both, with an attribute that differs.
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Difference {
    pub change: Change,
    /// `table`, `column`, `index`, `constraint`, `view`, …
    pub kind: &'static str,
    /// `users`, `users.name`, `ix_user_email`.
    pub name: String,
    /// The attribute that differs (`nullable`, `type`, `default`, `definition`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<&'static str>,
    /// The expected value of the attribute (`Changed`), or the expected object described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The database's value (`Changed`), or the database's object described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let none = String::from("none");
        match self.change {
            Change::Added => write!(
                f,
                "+ {} {}",
                self.kind,
                self.actual.as_ref().unwrap_or(&self.name)
            ),
            Change::Removed => write!(
                f,
                "- {} {}",
                self.kind,
                self.expected.as_ref().unwrap_or(&self.name)
            ),
            Change::Changed => {
                let expected = self.expected.as_ref().unwrap_or(&none);
                let actual = self.actual.as_ref().unwrap_or(&none);
                let long = |v: &str| v.len() > 80 || v.contains('\n');
                match self.attribute {
                    // Nullability reads best as the two clauses themselves.
                    Some("nullable") | None => {
                        write!(f, "~ {} {}: {expected} -> {actual}", self.kind, self.name)
                    }
                    Some(attribute) if long(expected) || long(actual) => {
                        write!(f, "~ {} {}: {attribute} changed", self.kind, self.name)
                    }
                    Some(attribute) => write!(
                        f,
                        "~ {} {}: {attribute} {expected} -> {actual}",
                        self.kind, self.name
                    ),
                }
            }
        }
    }
}

/// One object of a flattened schema.
struct Object {
    kind: &'static str,
    name: String,
    /// The key of the object it belongs to (a column's table).
    parent: Option<String>,
    /// How a `+`/`-` line describes it.
    summary: String,
    attributes: Vec<(&'static str, String)>,
}

/// The differences from `expected` to `actual`, in a stable order (by kind, then name).
pub(crate) fn diff(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    // The common case, at a fraction of flattening's cost: two identical models.
    if expected == actual {
        return Vec::new();
    }
    let expected = flatten(expected);
    let actual = flatten(actual);
    let mut out = Vec::new();
    let gone = |key: &Option<String>, other: &BTreeMap<String, Object>| {
        key.as_ref().is_some_and(|k| !other.contains_key(k))
    };
    for (key, object) in &expected {
        match actual.get(key) {
            None if !gone(&object.parent, &actual) => out.push(Difference {
                change: Change::Removed,
                kind: object.kind,
                name: object.name.clone(),
                attribute: None,
                expected: Some(object.summary.clone()),
                actual: None,
            }),
            None => {}
            Some(found) => {
                for ((attribute, want), (_, have)) in
                    object.attributes.iter().zip(&found.attributes)
                {
                    if want != have {
                        out.push(Difference {
                            change: Change::Changed,
                            kind: object.kind,
                            name: object.name.clone(),
                            attribute: Some(attribute),
                            expected: Some(want.clone()),
                            actual: Some(have.clone()),
                        });
                    }
                }
            }
        }
    }
    for (key, object) in &actual {
        if !expected.contains_key(key) && !gone(&object.parent, &expected) {
            out.push(Difference {
                change: Change::Added,
                kind: object.kind,
                name: object.name.clone(),
                attribute: None,
                expected: None,
                actual: Some(object.summary.clone()),
            });
        }
    }
    out.sort_by(|a, b| (rank(a.kind), &a.name).cmp(&(rank(b.kind), &b.name)));
    out
}

/// Objects before what they hold: tables before their columns, and so on.
fn rank(kind: &str) -> usize {
    const ORDER: [&str; 12] = [
        "schema",
        "enum",
        "domain",
        "sequence",
        "table",
        "column",
        "constraint",
        "index",
        "view",
        "materialized view",
        "function",
        "trigger",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

fn some(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".into())
}

fn index_summary(name: &str, on: &str, index: &Index) -> String {
    let mut summary = format!("{name} on {on}({})", index.columns.join(", "));
    if index.unique {
        summary.push_str(" unique");
    }
    if let Some(method) = &index.method {
        summary.push_str(&format!(" using {method}"));
    }
    if !index.include.is_empty() {
        summary.push_str(&format!(" include ({})", index.include.join(", ")));
    }
    if let Some(predicate) = &index.predicate {
        summary.push_str(&format!(" where {predicate}"));
    }
    summary
}

fn index_object(name: &str, on: &str, parent: String, index: &Index) -> Object {
    Object {
        kind: "index",
        name: name.to_string(),
        parent: Some(parent),
        summary: index_summary(name, on, index),
        attributes: vec![
            ("columns", index.columns.join(", ")),
            ("unique", index.unique.to_string()),
            ("predicate", some(&index.predicate)),
            ("method", some(&index.method)),
            (
                "include",
                some(&Some(index.include.join(", ")).filter(|i| !i.is_empty())),
            ),
        ],
    }
}

/// Every object of `schema` by a key unique across kinds.
fn flatten(schema: &Schema) -> BTreeMap<String, Object> {
    let mut out = BTreeMap::new();
    let mut add = |object: Object| {
        out.insert(format!("{} {}", object.kind, object.name), object);
    };
    let leaf = |kind: &'static str, name: &str, attribute: &'static str, value: &str| Object {
        kind,
        name: name.to_string(),
        parent: None,
        summary: name.to_string(),
        attributes: vec![(attribute, value.to_string())],
    };
    for name in &schema.schemas {
        add(leaf("schema", name, "name", name));
    }
    for (name, table) in &schema.tables {
        let primary_key = table.primary_key.as_ref().map_or("none".into(), |pk| {
            let columns = format!("({})", pk.columns.join(", "));
            match &pk.name {
                Some(name) => format!("{name} {columns}"),
                None => columns,
            }
        });
        add(Object {
            kind: "table",
            name: name.clone(),
            parent: None,
            summary: name.clone(),
            attributes: vec![("primary key", primary_key)],
        });
        let parent = format!("table {name}");
        for column in &table.columns {
            let nullable = if column.nullable { "NULL" } else { "NOT NULL" };
            add(Object {
                kind: "column",
                name: format!("{name}.{}", column.name),
                parent: Some(parent.clone()),
                summary: format!("{name}.{} {} {nullable}", column.name, column.data_type),
                attributes: vec![
                    ("type", column.data_type.clone()),
                    ("nullable", nullable.to_string()),
                    ("default", some(&column.default)),
                    ("generated", some(&column.generated)),
                    ("identity", some(&column.identity)),
                    ("collation", some(&column.collation)),
                ],
            });
        }
        for (key, constraint) in &table.constraints {
            let summary = if *key == constraint.definition {
                format!("on {name}: {}", constraint.definition)
            } else {
                format!("{key} on {name}: {}", constraint.definition)
            };
            add(Object {
                kind: "constraint",
                name: format!("{name}.{key}"),
                parent: Some(parent.clone()),
                summary,
                attributes: vec![
                    ("kind", constraint.kind.name().to_string()),
                    ("definition", constraint.definition.clone()),
                ],
            });
        }
        for (index_name, index) in &table.indexes {
            add(index_object(index_name, name, parent.clone(), index));
        }
    }
    for (name, view) in &schema.views {
        let kind = if view.materialized {
            "materialized view"
        } else {
            "view"
        };
        add(leaf(kind, name, "definition", &view.definition));
        for (index_name, index) in &view.indexes {
            add(index_object(
                index_name,
                name,
                format!("{kind} {name}"),
                index,
            ));
        }
    }
    for (name, sequence) in &schema.sequences {
        add(leaf("sequence", name, "definition", &sequence.definition));
    }
    for (name, routine) in &schema.routines {
        let kind = if routine.kind == "procedure" {
            "procedure"
        } else {
            "function"
        };
        add(leaf(kind, name, "definition", &routine.definition));
    }
    for (name, user_type) in &schema.types {
        let kind = if user_type.kind == "enum" {
            "enum"
        } else {
            "domain"
        };
        add(leaf(kind, name, "definition", &user_type.definition));
    }
    for (name, trigger) in &schema.triggers {
        add(leaf("trigger", name, "definition", &trigger.definition));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::{Column, Table};

    fn users(nullable: bool, index: bool) -> Schema {
        let mut table = Table {
            columns: vec![Column {
                name: "name".into(),
                data_type: "text".into(),
                nullable,
                ..Column::default()
            }],
            ..Table::default()
        };
        if index {
            table.indexes.insert(
                "ix_user_name".into(),
                Index {
                    columns: vec!["name".into()],
                    ..Index::default()
                },
            );
        }
        let mut schema = Schema::default();
        schema.tables.insert("users".into(), table);
        schema
    }

    #[test]
    fn each_difference_is_one_line_naming_the_object() {
        let lines: Vec<String> = diff(&users(false, false), &users(true, true))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "~ column users.name: NOT NULL -> NULL",
                "+ index ix_user_name on users(name)",
            ]
        );
        assert!(diff(&users(true, true), &users(true, true)).is_empty());
    }

    #[test]
    fn a_missing_table_is_one_line_not_one_per_column() {
        let lines: Vec<String> = diff(&users(true, true), &Schema::default())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines, ["- table users"]);
    }
}
