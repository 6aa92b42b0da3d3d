//! Schema introspection: the live database's schema read from its catalogs into one
//! normalized, deterministic [`model::Schema`], one module per engine behind [`Introspect`];
//! [`diff`] compares two of them object by object and [`render`] prints one (text, `--sql`).
//! `scratch` builds the schema a set of revisions produces on a temporary database.
//!
//! Catalog queries read one kind of object for the whole database each (never one query per
//! table), so a schema of hundreds of tables is read in a handful of round trips.

// A build without any driver compiles the model but reads no catalog.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]

pub(crate) mod cache;
pub(crate) mod diff;
pub(crate) mod model;
pub(crate) mod render;
pub(crate) mod row_counts;
pub(crate) mod scratch;
#[cfg(feature = "sqlite")]
mod sqltext;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::config::{Config, Dialect};
use crate::db::{Connection, DbError, Value};
use crate::error::{Error, Result};
use crate::ops::audit::version_table;
pub(crate) use model::Schema;

/// Reads one engine's catalogs into the model.
trait Introspect {
    /// Every modeled object of the database the session is connected to, plus the names of
    /// the objects it does not model (`not_compared`).
    fn read(&self, conn: &mut dyn Connection) -> Result<Schema>;
}

/// The reader of `dialect`'s catalogs.
fn introspector(dialect: Dialect) -> Result<&'static dyn Introspect> {
    match dialect {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(&sqlite::Sqlite),
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => Ok(&postgres::Postgres),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(&mysql::Mysql),
        #[allow(unreachable_patterns)]
        dialect => Err(Error::BackendNotCompiled { dialect }),
    }
}

/// What introspection leaves out: retort's own tables and `[schema] ignore`.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// The version table and the audit table, as model keys.
    own_tables: Vec<String>,
    ignore: Vec<glob::Pattern>,
    /// Schema-per-tenant: only the objects of this schema.
    only_schema: Option<String>,
}

impl Filter {
    /// The filter of `config` for a database of `dialect`.
    pub(crate) fn new(config: &Config, dialect: Dialect) -> Result<Filter> {
        let table = version_table(config, dialect)?;
        let own_tables = std::iter::once(table.clone())
            .chain(table.audit())
            .map(|t| Schema::key(t.schema.as_deref(), &t.name))
            .collect();
        let ignore = config
            .schema
            .ignore
            .iter()
            .map(|pattern| {
                glob::Pattern::new(pattern).map_err(|e| Error::SchemaIgnoreInvalid {
                    pattern: pattern.clone(),
                    message: e.msg.to_string(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Filter {
            own_tables,
            ignore,
            only_schema: config.schema.only_schema.clone(),
        })
    }

    /// Whether the model key `name` is in the tenant's schema, when there is one.
    fn in_schema(&self, name: &str) -> bool {
        match self.only_schema.as_deref() {
            None => true,
            Some("public") => !name.contains('.'),
            Some(schema) => name
                .strip_prefix(schema)
                .is_some_and(|rest| rest.starts_with('.')),
        }
    }

    /// Whether the object `name` (a model key, `schema.name` outside PostgreSQL's `public`)
    /// is kept; a pattern matches the key or the bare name.
    fn keeps(&self, name: &str) -> bool {
        let bare = name.rsplit('.').next().unwrap_or(name);
        !self.own_tables.iter().any(|own| own == name)
            && !self
                .ignore
                .iter()
                .any(|pattern| pattern.matches(name) || pattern.matches(bare))
    }
}

/// The schema of the database `conn` is connected to, without what `filter` leaves out.
pub(crate) fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema> {
    let mut schema = introspector(conn.dialect())?.read(conn)?;
    schema.retain(&|name| filter.keeps(name));
    if let Some(only) = &filter.only_schema {
        schema.only_schema(only, &|name| filter.in_schema(name));
    }
    schema.not_compared.sort();
    schema.not_compared.dedup();
    Ok(schema)
}

/// Runs a catalog query; `what` names the objects it reads, for the error.
fn query(conn: &mut dyn Connection, what: &str, sql: &str) -> Result<Vec<Vec<Value>>> {
    conn.query_catalog(sql)
        .map_err(|cause: DbError| Error::SchemaReadFailed {
            what: what.to_string(),
            cause,
        })
}

/// A catalog value as text (`NULL` as the empty string).
fn text(value: &Value) -> String {
    value.as_text().unwrap_or_default()
}

/// A catalog value as text, `NULL` as `None`.
fn opt_text(value: &Value) -> Option<String> {
    value.as_text()
}

/// A catalog value as a number (text digits included; anything else is 0).
fn int(value: &Value) -> i64 {
    match value {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        other => other
            .as_text()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0),
    }
}

/// A catalog flag: PostgreSQL's booleans, MySQL's `YES`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn flag(value: &Value) -> bool {
    match value {
        Value::Text(t) => matches!(t.as_str(), "t" | "true" | "YES" | "1"),
        other => int(other) != 0,
    }
}

/// The items of a list a catalog query aggregated with the unit separator (`chr(31)`), so
/// that commas inside expressions do not split them.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn split_list(value: &Value) -> Vec<String> {
    match value.as_text() {
        None => Vec::new(),
        Some(t) if t.is_empty() => Vec::new(),
        Some(t) => t.split('\u{1f}').map(String::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_schema_filter_keeps_only_that_schemas_objects() {
        let text = "[migrate]\nscript_location = \"m\"\n";
        let config = Config::parse_in(
            std::path::Path::new("/p/migrate.toml"),
            std::path::Path::new("/p"),
            text,
            &|_| None,
            None,
        )
        .unwrap();
        let filter = Filter::new(&config.in_schema("tenant_a"), Dialect::Postgresql).unwrap();
        assert!(filter.in_schema("tenant_a.users"));
        assert!(filter.in_schema("tenant_a.f(integer)"));
        assert!(
            !filter.in_schema("tenant_ab.users"),
            "a prefix is not the schema"
        );
        assert!(!filter.in_schema("users"), "public is another schema");
        assert!(
            !filter.keeps("tenant_a.retort_version"),
            "its own version table"
        );
        let mut schema = Schema::default();
        schema
            .schemas
            .extend(["tenant_a".into(), "tenant_b".into()]);
        schema
            .tables
            .insert("tenant_a.users".into(), Default::default());
        schema
            .tables
            .insert("tenant_b.users".into(), Default::default());
        schema.tables.insert("users".into(), Default::default());
        schema.only_schema("tenant_a", &|name| filter.in_schema(name));
        assert_eq!(schema.tables.keys().collect::<Vec<_>>(), ["tenant_a.users"]);
        assert_eq!(schema.schemas.iter().collect::<Vec<_>>(), ["tenant_a"]);
        let whole = Filter::new(&config, Dialect::Postgresql).unwrap();
        assert!(whole.in_schema("users") && whole.in_schema("tenant_b.users"));
    }
}
