//! Database URLs: which dialect, where, and a `Display` that never shows the password.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

pub use crate::dialect::Dialect;

/// A parsed database URL. `Display` and `Debug` redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
}

/// The URL forms retort understands, for error messages.
const SUPPORTED_FORMS: &str = "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory), \
     postgresql://user:pass@host:port/db (or postgres://), mysql://user:pass@host:port/db (or mariadb://)";

impl DatabaseUrl {
    /// Parses `sqlite:///rel.db`, `sqlite:////abs.db`, `sqlite://` (memory),
    /// `postgresql://…` (also `postgres://`), `mysql://…` (also `mariadb://`, kept as `mysql://`
    /// so that drivers accept it).
    pub fn parse(raw: &str) -> Result<DatabaseUrl> {
        let invalid = |message: String| Error::Database {
            context: format!("invalid database URL `{}`", redact(raw)),
            message,
        };
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(invalid(format!(
                "expected `scheme://...`; supported forms: {SUPPORTED_FORMS}"
            )));
        };
        let (dialect, raw) = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => (Dialect::Sqlite, raw.to_string()),
            "postgresql" | "postgres" => (Dialect::Postgresql, raw.to_string()),
            "mysql" => (Dialect::Mysql, raw.to_string()),
            "mariadb" => (Dialect::Mysql, format!("mysql://{rest}")),
            other => {
                let driver_hint = if other.contains('+') {
                    " (SQLAlchemy driver suffixes such as `+psycopg2` are not needed: drop them)"
                } else {
                    ""
                };
                return Err(invalid(format!(
                    "unknown scheme `{scheme}`{driver_hint}; supported forms: {SUPPORTED_FORMS}"
                )));
            }
        };
        if dialect == Dialect::Sqlite && !(rest.is_empty() || rest.starts_with('/')) {
            return Err(invalid(
                "a SQLite URL has no host: use sqlite:///relative/path.db (three slashes) or \
                 sqlite:////absolute/path.db (four)"
                    .into(),
            ));
        }
        Ok(DatabaseUrl { raw, dialect })
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
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        let rest = self.raw.split_once("://")?.1;
        let path = rest.strip_prefix('/')?;
        let path = path.split('?').next().unwrap_or(path);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// For SQLite: whether the database file exists, the one question backup, restore and
    /// verify ask before they touch it (connecting would create it); `None` for a server URL.
    pub(crate) fn sqlite_file(&self) -> Option<SqliteFile> {
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        Some(match self.sqlite_path() {
            None => SqliteFile::InMemory,
            Some(path) if path.is_file() => SqliteFile::Exists(path),
            Some(path) => SqliteFile::Missing(path),
        })
    }
}

/// Where an SQLite URL's database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteFile {
    InMemory,
    /// A file that has not been created yet.
    Missing(PathBuf),
    Exists(PathBuf),
}

/// `raw` with the password of its user-info and any password-like query parameter replaced by
/// `***`. Works on text, so it also protects URLs that failed to parse. When in doubt (an
/// unencoded `@` or `?` in a password) it hides too much rather than too little.
fn redact(raw: &str) -> String {
    let Some((head, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    let query_start = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..query_start].rfind('@').or_else(|| {
        // `user:pa?ss@host`: an unencoded `?` or `#` in a password ends the text before it.
        rest[..query_start]
            .contains(':')
            .then(|| rest.rfind('@'))
            .flatten()
    });
    let (authority, tail) = match at {
        Some(at) => {
            let userinfo = &rest[..at];
            let hidden = match userinfo.split_once(':') {
                Some((user, password)) if !password.is_empty() => format!("{user}:***"),
                _ => userinfo.to_string(),
            };
            (format!("{hidden}@"), &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    format!("{head}://{authority}{}", redact_query(tail))
}

/// Hides the values of password-like parameters in the query part of `tail` (host, path, query).
fn redact_query(tail: &str) -> String {
    let Some((before, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if is_secret_key(key) => format!("{key}=***"),
            _ => param.to_string(),
        })
        .collect();
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{before}?{}{fragment}", params.join("&"))
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|word| key.contains(word))
        || key == "pwd"
        || key == "pass"
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Decodes `%XX` escapes of a URL part; invalid escapes stay as written.
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3tPW";

    fn url(raw: &str) -> DatabaseUrl {
        DatabaseUrl::parse(raw).unwrap()
    }

    /// Both renderings of `raw`, checked to never contain the secret.
    fn shown(raw: &str) -> String {
        let parsed = url(raw);
        let display = parsed.to_string();
        let debug = format!("{parsed:?}");
        for text in [&display, &debug] {
            assert!(!text.contains(SECRET), "{raw} shows its password as {text}");
            assert!(
                !text.contains("s3cr3t"),
                "{raw} shows part of its password as {text}"
            );
        }
        assert_eq!(debug, format!("DatabaseUrl({display})"));
        display
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(url("sqlite:///app.db").sqlite_path(), Some("app.db".into()));
        assert_eq!(
            url("sqlite:///data/app.db").sqlite_path(),
            Some("data/app.db".into())
        );
        assert_eq!(
            url("sqlite:////var/lib/app.db").sqlite_path(),
            Some("/var/lib/app.db".into())
        );
        assert_eq!(
            url("sqlite:///app.db?mode=rwc").sqlite_path(),
            Some("app.db".into())
        );
        for memory in ["sqlite://", "sqlite:///:memory:", "sqlite:///"] {
            let parsed = url(memory);
            assert_eq!(parsed.dialect(), Dialect::Sqlite);
            assert_eq!(parsed.sqlite_path(), None, "{memory}");
        }
        assert_eq!(url("sqlite:///app.db").to_string(), "sqlite:///app.db");
    }

    #[test]
    fn server_forms() {
        for (raw, dialect) in [
            ("postgresql://u:p@h:5432/db", Dialect::Postgresql),
            ("postgres://h/db", Dialect::Postgresql),
            ("POSTGRESQL://h/db", Dialect::Postgresql),
            ("mysql://root@127.0.0.1:3306/test", Dialect::Mysql),
            ("mariadb://root@127.0.0.1:3306/test", Dialect::Mysql),
        ] {
            let parsed = url(raw);
            assert_eq!(parsed.dialect(), dialect, "{raw}");
            assert_eq!(parsed.sqlite_path(), None);
        }
        assert_eq!(
            url("mariadb://root@h/test").expose_secret(),
            "mysql://root@h/test"
        );
        assert_eq!(
            url("postgres://u:pw@h/db").expose_secret(),
            "postgres://u:pw@h/db"
        );
    }

    #[test]
    fn unknown_schemes_list_the_supported_forms() {
        for raw in [
            "oracle://u@h/db",
            "app.db",
            "postgresql+psycopg2://u:s3cr3tPW@h/db",
        ] {
            let err = DatabaseUrl::parse(raw).unwrap_err().to_string();
            assert!(err.starts_with("invalid database URL `"), "{err}");
            assert!(
                err.contains("supported forms: sqlite:///relative/path.db"),
                "{err}"
            );
            assert!(err.contains("mysql://user:pass@host:port/db"), "{err}");
            assert!(!err.contains(SECRET), "{err}");
        }
        let err = DatabaseUrl::parse("postgresql+psycopg2://h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("drop them"), "{err}");
        let err = DatabaseUrl::parse("sqlite://host/app.db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("three slashes"), "{err}");
    }

    #[test]
    fn user_info_password_is_redacted() {
        assert_eq!(
            shown("postgresql://u:s3cr3tPW@h/db"),
            "postgresql://u:***@h/db"
        );
        assert_eq!(
            shown("mysql://root:s3cr3tPW@127.0.0.1:3306/test"),
            "mysql://root:***@127.0.0.1:3306/test"
        );
        assert_eq!(shown("postgres://u:s3cr3tPW@h"), "postgres://u:***@h");
    }

    #[test]
    fn urls_without_password_are_unchanged() {
        for raw in [
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql://h/db",
            "postgresql://u:@h/db",
            "mysql://root@h/test?ssl-mode=REQUIRED",
            "postgresql://h/db?application_name=a@b",
        ] {
            assert_eq!(shown(raw), raw);
        }
    }

    #[test]
    fn percent_encoded_and_awkward_passwords_are_redacted() {
        for (raw, want) in [
            (
                "postgresql://u:s3cr3tPW%40x%3Ay@h/db",
                "postgresql://u:***@h/db",
            ),
            (
                "postgresql://u%40corp:s3cr3tPW@h/db",
                "postgresql://u%40corp:***@h/db",
            ),
            // Unencoded `@`, `/`, `:` in the password: the last `@` ends the user-info.
            ("postgresql://u:s3cr3t@PW@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:s3cr3t/PW@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:s3cr3t:PW@h/db", "postgresql://u:***@h/db"),
            // An unencoded `?` or `#` in the password must not make it look like a query.
            ("postgresql://u:s3cr3t?PW@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:s3cr3t#PW@h/db", "postgresql://u:***@h/db"),
        ] {
            assert_eq!(shown(raw), want, "{raw}");
        }
    }

    #[test]
    fn password_query_parameters_are_redacted() {
        assert_eq!(
            shown("postgresql://u@h/db?sslmode=require&password=s3cr3tPW"),
            "postgresql://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            shown("postgresql://u:s3cr3tPW@h/db?sslpassword=s3cr3tPW&sslmode=require#frag"),
            "postgresql://u:***@h/db?sslpassword=***&sslmode=require#frag"
        );
        assert_eq!(
            shown("mysql://h/db?PASSWORD=s3cr3tPW&pwd=s3cr3tPW&user=x"),
            "mysql://h/db?PASSWORD=***&pwd=***&user=x"
        );
        assert_eq!(
            shown("postgresql://h/db?options=x&password=s3cr3tPW@home"),
            "postgresql://h/db?options=x&password=***"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_password_is_ever_shown(
            password in "Zq[A-Za-z0-9@:/?#%!$&*+=.~_-]{4,20}",
            scheme in "(postgresql|postgres|mysql|mariadb)",
            query in "(\\?sslmode=require)?",
        ) {
            for raw in [
                format!("{scheme}://user:{password}@host:5432/db{query}"),
                format!("{scheme}://host/db?user=u&password={password}"),
            ] {
                let text = format!("{}", url(&raw));
                proptest::prop_assert!(!text.contains(&password), "{} -> {}", raw, text);
            }
        }
    }
}
