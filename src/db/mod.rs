//! Database backends behind one small synchronous trait.
//!
//! A backend only runs statements, transactions and locks; it holds no migration logic. Dialect
//! knowledge that offline mode also needs (version-table SQL, quoting) lives in `version_table`
//! as functions of `Dialect`, so `--sql` renders exactly what a live run executes.

use std::time::Duration;

use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

pub mod version_table;

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "mysql")]
pub mod mysql;

/// One value read back from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// SQL truthiness as `verify` sections use it: NULL, false, 0, '' , '0', 'f', 'false' are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Real(r) => *r != 0.0,
            Value::Text(t) => !matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "f" | "false" | "n" | "no"
            ),
            Value::Bytes(b) => !b.is_empty(),
        }
    }

    /// The value as text (for version rows and reports); NULL is `None`.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Real(r) => Some(r.to_string()),
            Value::Text(t) => Some(t.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// A driver error, with the database's own text (already scrubbed of passwords).
#[derive(Debug, Clone, PartialEq)]
pub struct DbError {
    pub message: String,
    /// True when the failure was waiting for a lock (busy database, lock timeout).
    pub is_lock_timeout: bool,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            is_lock_timeout: false,
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One open database session. Implemented once per driver.
pub trait Connection {
    fn dialect(&self) -> Dialect;

    /// Runs exactly one statement (the caller has split the script); returns rows affected.
    fn execute(&mut self, sql: &str) -> Result<u64, DbError>;

    /// Runs a query and returns all rows (each a vector of column values).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError>;

    /// Starts a transaction that holds the write lock where the database has one
    /// (SQLite: `BEGIN IMMEDIATE`).
    fn begin(&mut self) -> Result<(), DbError>;
    fn commit(&mut self) -> Result<(), DbError>;
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Whether a table exists; never creates anything. `schema` is PostgreSQL's schema.
    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError>;

    /// Takes the migration lock named `key`, waiting at most `timeout`; calls `on_wait` once when
    /// it has to wait. SQLite has no session lock: its backend relies on `begin()`'s write lock.
    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        on_wait: &mut dyn FnMut(),
    ) -> Result<(), DbError>;
    fn unlock(&mut self, key: &str) -> Result<(), DbError>;

    /// The user the session runs as, for the audit trail.
    fn current_user(&mut self) -> Option<String> {
        None
    }
}

/// Opens a connection for `url`, or says which feature is missing.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Connection>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open(url),
        #[cfg(feature = "postgres")]
        Dialect::Postgresql => postgres::open(url),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => mysql::open(url),
        #[allow(
            unreachable_patterns,
            reason = "reachable when a driver feature is off"
        )]
        other => Err(Error::BackendNotCompiled {
            dialect: other.name().to_string(),
        }),
    }
}

/// Removes the password of `raw_url` from a driver's message: drivers may echo a connection
/// string or a password back (e.g. in a URL parse error). Both the percent-encoded form written
/// in the URL and the decoded form are replaced, and so is any `scheme://user:secret@` in the text.
pub(crate) fn scrub_password(message: &str, raw_url: &str) -> String {
    let mut scrubbed = message.to_string();
    for secret in password_forms(raw_url) {
        scrubbed = scrubbed.replace(&secret, "***");
    }
    redact_userinfo(&scrubbed)
}

/// The password as written in `raw_url` and percent-decoded; both the first and the last `@`
/// are tried as the end of the user info, since drivers differ on an unencoded `@`.
fn password_forms(raw_url: &str) -> Vec<String> {
    let Some((_, rest)) = raw_url.split_once("://") else {
        return Vec::new();
    };
    let mut forms: Vec<String> = [rest.find('@'), rest.rfind('@')]
        .into_iter()
        .flatten()
        .filter_map(|at| rest[..at].split_once(':').map(|(_, pass)| pass))
        .flat_map(|pass| [pass.to_string(), percent_decode(pass)])
        .filter(|form| !form.is_empty())
        .collect();
    // Longest first, so a password that contains another form is replaced whole.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    forms
}

pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the password in every `scheme://user:password@` of `text`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let userinfo_end = after
            .find(|c: char| c == '@' || c == '/' || c.is_whitespace())
            .filter(|&end| after[end..].starts_with('@'));
        match userinfo_end.and_then(|end| after[..end].find(':').map(|colon| (colon, end))) {
            Some((colon, end)) => {
                out.push_str(&after[..=colon]);
                out.push_str("***");
                rest = &after[end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// The id of the migration lock (PostgreSQL advisory lock id, MySQL lock name): the first 8 bytes (big-endian) of
/// SHA-256(`<database>` NUL `<key>`). Stable across releases and platforms, and distinct per
/// database and version table, so two projects sharing a server do not block each other.
pub(crate) fn lock_id(database: &str, key: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(database.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Opens a connection for a command that only reads (`current`, `status`, `log`, `check`):
/// `None` when an SQLite file does not exist (the database is at base), which is never created.
pub fn connect_existing(url: &DatabaseUrl) -> Result<Option<Box<dyn Connection>>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::open_existing(url),
        _ => connect(url).map(Some),
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::scrub_password;

    #[test]
    fn removes_encoded_and_decoded_passwords_and_userinfo() {
        let url = "postgresql://app:s%40cr%3At@db.example:5432/prod";
        let message =
            "connect to postgresql://app:s%40cr%3At@db.example failed; password s@cr:t rejected";
        let scrubbed = scrub_password(message, url);
        assert!(!scrubbed.contains("s@cr:t"), "{scrubbed}");
        assert!(!scrubbed.contains("s%40cr%3At"), "{scrubbed}");
        assert_eq!(
            scrubbed,
            "connect to postgresql://app:***@db.example failed; password *** rejected"
        );
    }

    #[test]
    fn handles_unencoded_at_signs_and_urls_without_password() {
        let scrubbed = scrub_password("bad pa@ss here", "mysql://root:pa@ss@localhost/db");
        assert_eq!(scrubbed, "bad *** here");
        assert_eq!(
            scrub_password("see mysql://root@localhost/db", "mysql://root@localhost/db"),
            "see mysql://root@localhost/db"
        );
    }

    #[test]
    fn lock_id_is_stable_and_distinct() {
        // Pinned: changing the derivation would let old and new retort runners miss each other.
        assert_eq!(
            super::lock_id("app", "retort_version"),
            super::lock_id("app", "retort_version")
        );
        assert_ne!(
            super::lock_id("app", "retort_version"),
            super::lock_id("other", "retort_version")
        );
        let digest = <sha2::Sha256 as sha2::Digest>::digest(b"app\0retort_version");
        assert_eq!(
            super::lock_id("app", "retort_version").to_be_bytes(),
            digest[..8]
        );
    }
}
