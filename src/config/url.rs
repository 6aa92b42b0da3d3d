//! Database URLs: which dialect, where, and a `Display` that never shows the password.

use std::fmt;
use std::path::PathBuf;

use crate::error::Result;

/// The SQL dialects retort speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Sqlite,
    Postgresql,
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

/// A parsed database URL. `Display` and `Debug` redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
}

impl DatabaseUrl {
    /// Parses `sqlite:///rel.db`, `sqlite:////abs.db`, `sqlite://` (memory),
    /// `postgresql://…` (also `postgres://`), `mysql://…` (also `mariadb://`).
    pub fn parse(raw: &str) -> Result<DatabaseUrl> {
        let _ = raw;
        Err(crate::error::Error::Internal(
            "DatabaseUrl::parse: not built yet".into(),
        ))
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with its password, for handing to a driver only. Never print it.
    pub fn expose_secret(&self) -> &str {
        &self.raw
    }

    /// For SQLite: the database file path (relative paths stay relative, resolved by the caller
    /// against the working directory as Alembic/SQLAlchemy do); `None` for in-memory.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        None
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}
