//! Exact row counts of every table introspection lists (retort's own tables and
//! `[schema] ignore` left out), for the before and after of `--report` and `--rehearse`.
//! One `SELECT COUNT(*)` per table: exact, and cheap next to the run it brackets.

use std::collections::BTreeMap;

use super::{int, introspect, query, Filter, Schema};
use crate::config::Dialect;
use crate::db::version_table::quoted_ident;
use crate::db::Connection;
use crate::error::Result;

/// Each table's row count, by its model key.
pub(crate) fn count_rows(
    conn: &mut dyn Connection,
    filter: &Filter,
) -> Result<BTreeMap<String, u64>> {
    let schema: Schema = introspect(conn, filter)?;
    let dialect = conn.dialect();
    let mut counts = BTreeMap::new();
    for name in schema.tables.keys() {
        let sql = format!("SELECT COUNT(*) FROM {}", qualified(dialect, name));
        let rows = query(conn, &format!("the row count of {name}"), &sql)?;
        let count = rows.first().and_then(|row| row.first()).map_or(0, int);
        counts.insert(name.clone(), u64::try_from(count).unwrap_or(0));
    }
    Ok(counts)
}

/// The table a model key names, quoted: on PostgreSQL a key outside `public` is
/// `schema.name` (see [`Schema::key`]); elsewhere the key is the bare name.
fn qualified(dialect: Dialect, key: &str) -> String {
    match key.split_once('.') {
        Some((schema, name)) if dialect == Dialect::Postgresql => {
            format!(
                "{}.{}",
                quoted_ident(dialect, schema),
                quoted_ident(dialect, name)
            )
        }
        _ => quoted_ident(dialect, key),
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::sqlite::SqliteConnection;
    use std::path::Path;

    #[test]
    fn counts_every_table_but_the_version_tables_and_the_ignored() {
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        for sql in [
            "CREATE TABLE retort_version (version_num TEXT)",
            "INSERT INTO retort_version VALUES ('a')",
            "CREATE TABLE \"Odd name\" (id INTEGER)",
            "INSERT INTO \"Odd name\" VALUES (1), (2)",
            "CREATE TABLE empty (id INTEGER)",
            "CREATE TABLE tmp_scratch (id INTEGER)",
            "INSERT INTO tmp_scratch VALUES (1)",
        ] {
            conn.execute(sql).unwrap();
        }
        let text = "[migrate]\nscript_location = \"m\"\n[schema]\nignore = [\"tmp_*\"]\n";
        let config =
            Config::parse(Path::new("migrate.toml"), Path::new("/p"), text, &|_| None).unwrap();
        let filter = Filter::new(&config, Dialect::Sqlite).unwrap();
        let counts = count_rows(&mut conn, &filter).unwrap();
        let expected: BTreeMap<String, u64> = [("Odd name".to_string(), 2), ("empty".into(), 0)]
            .into_iter()
            .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn a_postgresql_key_outside_public_is_schema_and_name() {
        assert_eq!(
            qualified(Dialect::Postgresql, "billing.Orders"),
            "\"billing\".\"Orders\""
        );
        assert_eq!(qualified(Dialect::Mysql, "a.b"), "`a.b`");
    }
}
