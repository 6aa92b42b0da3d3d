//! The normalized schema: what introspection reads, whatever the engine. Every collection is a
//! `BTreeMap` (or sorted), so the same database always gives the same model, the same text and
//! the same bytes of `--sql`.
//!
//! Object names are the keys: bare on SQLite and MySQL (one database), and on PostgreSQL bare in
//! `public` and `schema.name` elsewhere. Definitions are kept as the server renders them
//! (`format_type`, `pg_get_constraintdef`, `COLUMN_TYPE`, …) so that two databases built by the
//! same statements compare equal without retort re-deriving anything.
//!
//! `ddl` fields hold the statement `schema --sql` prints for the object; they are not compared
//! (the attributes are) and not part of the JSON document.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A database's schema, as far as retort models it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Schema {
    /// PostgreSQL schemas other than `public` and the system ones.
    pub schemas: BTreeSet<String>,
    pub tables: BTreeMap<String, Table>,
    pub views: BTreeMap<String, View>,
    pub sequences: BTreeMap<String, Sequence>,
    /// Functions and procedures, keyed by name and argument types on PostgreSQL.
    pub routines: BTreeMap<String, Routine>,
    /// Enums and domains (PostgreSQL).
    pub types: BTreeMap<String, UserType>,
    /// Keyed `table.trigger`.
    pub triggers: BTreeMap<String, Trigger>,
    /// Objects that exist but retort does not model (`extension pgcrypto`), sorted.
    pub not_compared: Vec<String>,
    #[serde(skip)]
    pub schema_ddl: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Table {
    /// In the order of the table's definition.
    pub columns: Vec<Column>,
    pub primary_key: Option<PrimaryKey>,
    /// Unique, check and foreign-key constraints by name (an unnamed one by its definition).
    pub constraints: BTreeMap<String, Constraint>,
    /// Indexes by name, those that back a primary key or unique constraint excluded where the
    /// engine creates them implicitly.
    pub indexes: BTreeMap<String, Index>,
    #[serde(skip)]
    pub ddl: String,
}

impl Table {
    /// Records the constraint `name`, with the `ALTER TABLE {on} ADD CONSTRAINT …` that creates
    /// it for `--sql`: `on` is the table as the engine's DDL names it, `ident` its quoting.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn add_constraint(
        &mut self,
        on: &str,
        name: String,
        kind: ConstraintKind,
        definition: String,
        ident: fn(&str) -> String,
    ) {
        let ddl = format!(
            "ALTER TABLE {on} ADD CONSTRAINT {} {definition}",
            ident(&name)
        );
        self.constraints.insert(
            name,
            Constraint {
                kind,
                definition,
                ddl: Some(ddl),
            },
        );
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Column {
    pub name: String,
    /// As the server renders it (`character varying(40)`, `int(11)`, `TEXT`).
    #[serde(rename = "type")]
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    /// The generation expression, or `virtual`/`stored` where the engine does not give it.
    pub generated: Option<String>,
    /// `always`, `by default` (PostgreSQL identity), `auto_increment` (MySQL, SQLite's
    /// `AUTOINCREMENT`).
    pub identity: Option<String>,
    /// A collation other than the type's default.
    pub collation: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrimaryKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// Each engine reads some kinds only (MySQL keeps UNIQUE as an index); a build with one driver
// may construct only those.
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) enum ConstraintKind {
    Unique,
    Check,
    ForeignKey,
}

impl ConstraintKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::Check => "check",
            ConstraintKind::ForeignKey => "foreign key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Constraint {
    pub kind: ConstraintKind,
    /// The whole constraint as the server renders it, ON DELETE/UPDATE, DEFERRABLE and
    /// NOT VALID included (`FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE`).
    pub definition: String,
    /// `ALTER TABLE … ADD …` for `--sql`; `None` when the table's DDL holds it.
    #[serde(skip)]
    pub ddl: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Index {
    /// Column names or expressions, with their order and collation where not the default.
    pub columns: Vec<String>,
    pub unique: bool,
    /// The `WHERE` of a partial index.
    pub predicate: Option<String>,
    /// The access method where the engine has several (`btree`, `gin`, `HASH`).
    pub method: Option<String>,
    /// The non-key columns of a covering index (PostgreSQL `INCLUDE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(skip)]
    pub ddl: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct View {
    pub materialized: bool,
    /// The query as the server renders it.
    pub definition: String,
    /// Indexes of a materialized view.
    pub indexes: BTreeMap<String, Index>,
    #[serde(skip)]
    pub ddl: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sequence {
    /// Type, start, increment, bounds and cycling (never the current value).
    pub definition: String,
    #[serde(skip)]
    pub ddl: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Routine {
    /// `function` or `procedure`.
    pub kind: String,
    pub definition: String,
    #[serde(skip)]
    pub ddl: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct UserType {
    /// `enum` or `domain`.
    pub kind: String,
    /// An enum's labels in order, a domain's base type, default, NOT NULL and checks.
    pub definition: String,
    #[serde(skip)]
    pub ddl: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Trigger {
    pub table: String,
    pub definition: String,
    #[serde(skip)]
    pub ddl: String,
}

impl Schema {
    /// The object names of a PostgreSQL-style key: `public.x` and `x` are the same object.
    pub(crate) fn key(schema: Option<&str>, name: &str) -> String {
        match schema {
            None | Some("public") => name.to_string(),
            Some(schema) => format!("{schema}.{name}"),
        }
    }

    /// Keeps only the objects `keep` accepts by name (a trigger by its own name and its
    /// table's): the filter of `[schema] ignore` and of the version tables.
    pub(crate) fn retain(&mut self, keep: &dyn Fn(&str) -> bool) {
        self.tables.retain(|name, _| keep(name));
        for table in self.tables.values_mut() {
            table.indexes.retain(|name, _| keep(name));
        }
        self.views.retain(|name, _| keep(name));
        self.sequences.retain(|name, _| keep(name));
        self.routines
            .retain(|name, _| keep(name.split('(').next().unwrap_or(name)));
        self.types.retain(|name, _| keep(name));
        self.triggers.retain(|name, trigger| {
            keep(&trigger.table) && keep(name.rsplit('.').next().unwrap_or(name))
        });
    }

    /// Only the objects of the PostgreSQL schema `schema` (`inside` says whether a model key
    /// is in it): a schema-per-tenant target, among its neighbours' schemas.
    pub(crate) fn only_schema(&mut self, schema: &str, inside: &dyn Fn(&str) -> bool) {
        self.tables.retain(|name, _| inside(name));
        self.views.retain(|name, _| inside(name));
        self.sequences.retain(|name, _| inside(name));
        self.routines.retain(|name, _| inside(name));
        self.types.retain(|name, _| inside(name));
        self.triggers.retain(|_, trigger| inside(&trigger.table));
        self.schemas.retain(|name| name == schema);
        self.schema_ddl.retain(|name, _| name == schema);
    }

    /// Only the table `name` and its triggers: `--table`.
    pub(crate) fn only_table(&mut self, name: &str) {
        self.tables.retain(|key, _| key == name);
        self.triggers.retain(|_, trigger| trigger.table == name);
        self.views.clear();
        self.sequences.clear();
        self.routines.clear();
        self.types.clear();
        self.schemas.clear();
        self.schema_ddl.clear();
        self.not_compared.clear();
    }
}
