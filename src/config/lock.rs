//! The migration lock's kind and lease: `lock` and `lock_lease` in `[migrate]`.

use std::time::Duration;

/// How long a lease lasts unless its holder's heartbeat extends it.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// The shortest lease: its heartbeat runs every third of it.
pub(crate) const MIN_LEASE: Duration = Duration::from_secs(1);

/// Which migration lock a PostgreSQL run takes (`lock` in `[migrate]`); other engines have one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockKind {
    /// The session advisory lock, unless the connection goes through a pooler in transaction
    /// mode, where only the lease table works.
    #[default]
    Auto,
    /// Always the session advisory lock; refused behind a pooler in transaction mode.
    Advisory,
    /// Always the lease table (`retort_lock` beside the version table).
    Table,
}

impl LockKind {
    /// The kind named `text` in migrate.toml, or what to write instead.
    pub(crate) fn parse(text: &str) -> Result<LockKind, String> {
        match text {
            "auto" => Ok(LockKind::Auto),
            "advisory" => Ok(LockKind::Advisory),
            "table" => Ok(LockKind::Table),
            other => Err(format!(
                "`{other}` is not a lock kind; use `auto`, `advisory` or `table`"
            )),
        }
    }
}

/// The migration lock settings of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockConfig {
    pub kind: LockKind,
    /// How long the lease table's lease lasts without a heartbeat (`lock_lease`).
    pub lease: Duration,
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            kind: LockKind::Auto,
            lease: DEFAULT_LEASE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_kinds_are_named_as_in_the_docs() {
        assert_eq!(LockKind::parse("auto"), Ok(LockKind::Auto));
        assert_eq!(LockKind::parse("advisory"), Ok(LockKind::Advisory));
        assert_eq!(LockKind::parse("table"), Ok(LockKind::Table));
        let err = LockKind::parse("Table").unwrap_err();
        assert!(err.contains("use `auto`, `advisory` or `table`"), "{err}");
    }
}
