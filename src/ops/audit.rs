//! Reading a database's version and audit tables without changing anything (`log`, the rows a
//! backup records).

use crate::config::{AuditTable, Config, DatabaseUrl, Dialect};
use crate::db::version_table::{read_audit, read_heads, AuditEntry, VersionTable};
use crate::db::{self, Connection};
use crate::error::{Error, Result};

/// The version table of `config` spelled for `dialect`; fails when `dialect` would not keep
/// its name (or its audit table's) whole.
pub(crate) fn version_table(config: &Config, dialect: Dialect) -> Result<VersionTable> {
    let table = VersionTable::new(
        dialect,
        config.version_table_schema.clone(),
        config.version_table.clone(),
    );
    let table = match &config.audit_table {
        AuditTable::BesideVersionTable => table,
        AuditTable::Named(name) => table.with_audit_table(Some(name.clone())),
        AuditTable::Off => table.with_audit_table(None),
    };
    table.check_name_lengths()?;
    Ok(table)
}

/// Reads from the version table of the database of `url` with `read`, creating nothing: a
/// database that does not exist yet (an SQLite file not created) reads as `T::default()`.
pub(crate) fn read_existing<T: Default>(
    config: &Config,
    url: &DatabaseUrl,
    read: impl FnOnce(&mut dyn Connection, &VersionTable) -> Result<T>,
) -> Result<T> {
    match db::connect_existing(url)? {
        Some(mut conn) => read(conn.as_mut(), &version_table(config, url.dialect())?),
        None => Ok(T::default()),
    }
}

/// The version table's rows (none when the table or the database does not exist).
pub(crate) fn version_rows(config: &Config, url: &DatabaseUrl) -> Result<Vec<String>> {
    read_existing(config, url, read_heads)
}

/// The audit trail, newest first, at most `limit` entries.
pub(crate) fn log(
    config: &Config,
    url: &DatabaseUrl,
    limit: Option<usize>,
) -> Result<Vec<AuditEntry>> {
    let Some(audit) = version_table(config, url.dialect())?.audit() else {
        return Err(Error::AuditTrailOff {
            path: config.path.clone(),
        });
    };
    let mut entries = read_existing(config, url, |conn, _| read_audit(conn, &audit))?;
    entries.reverse();
    if let Some(limit) = limit {
        entries.truncate(limit);
    }
    Ok(entries)
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::path::Path;

    use super::*;

    fn config_with(root: &Path, lines: &str) -> Config {
        let text = format!("[migrate]\nscript_location = \"m\"\n{lines}\n");
        Config::parse(&root.join("migrate.toml"), root, &text, &|_| None).unwrap()
    }

    #[test]
    fn version_rows_are_read_without_a_version_table_too() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("app.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TABLE retort_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
                 INSERT INTO retort_version VALUES ('1975ea83b712');",
            )
            .unwrap();
        let url = DatabaseUrl::parse(&format!("sqlite:///{}", db.display())).unwrap();
        let config = config_with(tmp.path(), "");
        assert_eq!(version_rows(&config, &url).unwrap(), ["1975ea83b712"]);
        let alembic = config_with(tmp.path(), "version_table = \"alembic_version\"");
        assert!(version_rows(&alembic, &url).unwrap().is_empty());
        let missing = DatabaseUrl::parse(&format!(
            "sqlite:///{}",
            tmp.path().join("new.db").display()
        ))
        .unwrap();
        assert!(version_rows(&config, &missing).unwrap().is_empty());
        assert!(!tmp.path().join("new.db").exists());
    }
}
