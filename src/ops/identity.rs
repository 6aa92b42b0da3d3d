//! Which database a command is about to change: its engine and version, asked of the database
//! itself, so an ambient `DATABASE_URL` can never silently redirect a run.

use crate::config::{DatabaseUrl, Dialect};
use crate::db;
use crate::error::{Error, Result};

/// The engine and version of the database of `url`, e.g. `PostgreSQL 15.19`, `MariaDB 10.11.6`,
/// `SQLite 3.46.0`. SQLite's version is the linked library's, which an in-memory database
/// reports: the file is neither created nor opened here, so opening it is left to the run,
/// which waits for other runners' locks as long as the lock wait.
pub(crate) fn server_description(url: &DatabaseUrl) -> Result<String> {
    let mut conn = match url.dialect() {
        Dialect::Sqlite => db::connect(&DatabaseUrl::parse("sqlite://")?)?,
        _ => db::connect(url)?,
    };
    let version = conn
        .server_version()
        .map_err(|cause| Error::ServerVersionUnreadable {
            url: url.to_string(),
            cause,
        })?;
    Ok(describe(url.dialect(), &version))
}

/// The engine and version number in what the server reports: PostgreSQL's `version()` goes on
/// with the build (`PostgreSQL 15.19 (Debian …) on x86_64…`), MySQL's names MariaDB after the
/// number (`10.11.6-MariaDB-0+deb12u1`).
fn describe(dialect: Dialect, version: &str) -> String {
    let version = version.trim();
    match dialect {
        Dialect::Sqlite => format!("SQLite {version}"),
        Dialect::Postgresql => version
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        Dialect::Mysql => {
            let number = version.split('-').next().unwrap_or(version);
            let engine = if version.to_ascii_lowercase().contains("mariadb") {
                "MariaDB"
            } else {
                "MySQL"
            };
            format!("{engine} {number}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_number_from_what_servers_report() {
        assert_eq!(
            describe(
                Dialect::Postgresql,
                "PostgreSQL 15.19 (Debian 15.19-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc"
            ),
            "PostgreSQL 15.19"
        );
        assert_eq!(
            describe(Dialect::Mysql, "10.11.6-MariaDB-0+deb12u1"),
            "MariaDB 10.11.6"
        );
        assert_eq!(describe(Dialect::Mysql, "8.0.36"), "MySQL 8.0.36");
        assert_eq!(describe(Dialect::Sqlite, "3.46.0"), "SQLite 3.46.0");
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_missing_sqlite_file_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let url = DatabaseUrl::parse(&format!("sqlite:///{}", path.display())).unwrap();
        assert!(server_description(&url).unwrap().starts_with("SQLite 3."));
        assert!(!path.exists());
    }
}
