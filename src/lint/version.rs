//! The server version the rules judge against: asked of the database when one answers, else
//! `--server-version` or `[lint] server_version`, else an old version assumed (and said so).

use std::fmt;

use serde::Serialize;

use crate::config::Dialect;

/// Which server a version number is of: MySQL and MariaDB share a dialect, not a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Engine {
    #[serde(rename = "PostgreSQL")]
    Postgresql,
    #[serde(rename = "MySQL")]
    Mysql,
    #[serde(rename = "MariaDB")]
    Mariadb,
    #[serde(rename = "SQLite")]
    Sqlite,
}

/// Where the version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VersionSource {
    Database,
    Flag,
    Config,
    /// Nothing said: the oldest version the rules know, so no risk is missed.
    Assumed,
}

/// A server version as the rules compare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ServerVersion {
    pub engine: Engine,
    #[serde(serialize_with = "as_text")]
    pub number: (u32, u32, u32),
    pub source: VersionSource,
}

fn as_text<S: serde::Serializer>(n: &(u32, u32, u32), s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}.{}.{}", n.0, n.1, n.2))
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = match self.engine {
            Engine::Postgresql => "PostgreSQL",
            Engine::Mysql => "MySQL",
            Engine::Mariadb => "MariaDB",
            Engine::Sqlite => "SQLite",
        };
        match self.number {
            (major, minor, 0) => write!(f, "{engine} {major}.{minor}"),
            (major, minor, patch) => write!(f, "{engine} {major}.{minor}.{patch}"),
        }
    }
}

impl ServerVersion {
    /// The version assumed when nothing says: PostgreSQL 10 (before fast defaults and
    /// check-backed `SET NOT NULL`), MySQL 5.7 (before `ALGORITHM=INSTANT`).
    pub(crate) fn assumed(dialect: Dialect) -> ServerVersion {
        let (engine, number) = match dialect {
            Dialect::Postgresql => (Engine::Postgresql, (10, 0, 0)),
            Dialect::Mysql => (Engine::Mysql, (5, 7, 0)),
            Dialect::Sqlite => (Engine::Sqlite, (3, 0, 0)),
        };
        ServerVersion {
            engine,
            number,
            source: VersionSource::Assumed,
        }
    }

    /// Reads what a server reports (`PostgreSQL 15.4 (Debian…) on …`, `10.11.6-MariaDB-1`,
    /// `8.0.36`) or a user writes (`15`, `15.4`, `mariadb-10.11`, `MySQL 8.0`). On the MySQL
    /// dialect, a bare major version of 10 or more is MariaDB's (MySQL went from 8 to 9).
    pub(crate) fn parse(dialect: Dialect, text: &str, source: VersionSource) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let start = lower.find(|c: char| c.is_ascii_digit())?;
        let digits: String = lower[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = digits.split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(Result::ok).unwrap_or(0);
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        let engine = match dialect {
            Dialect::Postgresql => Engine::Postgresql,
            Dialect::Sqlite => Engine::Sqlite,
            Dialect::Mysql if lower.contains("mariadb") || major >= 10 => Engine::Mariadb,
            Dialect::Mysql => Engine::Mysql,
        };
        Some(ServerVersion {
            engine,
            number: (major, minor, patch),
            source,
        })
    }

    /// At least `major.minor.patch` of this engine.
    pub(crate) fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.number >= (major, minor, patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dialect: Dialect, text: &str) -> Option<(Engine, (u32, u32, u32))> {
        ServerVersion::parse(dialect, text, VersionSource::Flag).map(|v| (v.engine, v.number))
    }

    #[test]
    fn versions_as_servers_report_them_and_users_write_them() {
        use Engine::*;
        let pg = Dialect::Postgresql;
        let my = Dialect::Mysql;
        assert_eq!(
            parse(pg, "PostgreSQL 15.19 (Debian 15.19-1) on x86_64"),
            Some((Postgresql, (15, 19, 0)))
        );
        assert_eq!(parse(pg, "10"), Some((Postgresql, (10, 0, 0))));
        assert_eq!(
            parse(my, "10.11.6-MariaDB-0+deb12u1"),
            Some((Mariadb, (10, 11, 6)))
        );
        assert_eq!(parse(my, "mariadb-10.3"), Some((Mariadb, (10, 3, 0))));
        assert_eq!(parse(my, "8.0.36"), Some((Mysql, (8, 0, 36))));
        assert_eq!(parse(my, "MySQL 5.7"), Some((Mysql, (5, 7, 0))));
        assert_eq!(parse(pg, "new"), None);
        assert_eq!(parse(pg, "99999999999"), None);
    }
}
