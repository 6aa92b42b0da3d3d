//! The SQL dialects retort speaks: a leaf type that configuration, drivers, rendering and
//! errors all name (re-exported as `config::Dialect`).

use std::fmt;

/// The SQL dialects retort speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Dialect {
    /// SQLite (`sqlite:///path`).
    Sqlite,
    /// PostgreSQL (`postgresql://`).
    Postgresql,
    /// MySQL or MariaDB (`mysql://`).
    Mysql,
}

impl Dialect {
    /// The name used in URLs, section markers, `--dialect` and template file names.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgresql => "postgresql",
            Dialect::Mysql => "mysql",
        }
    }

    /// Parses a dialect name as written in section markers and `--dialect`.
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "sqlite" => Some(Dialect::Sqlite),
            "postgresql" | "postgres" => Some(Dialect::Postgresql),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// Whether DDL takes part in transactions (and so can be rolled back).
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Dialect::Mysql)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
