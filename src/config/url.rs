//! Database URLs: which dialect, where, and a `Display` that never shows the password.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, UrlProblem};

pub use crate::dialect::Dialect;

/// A parsed database URL. `Display` and `Debug` redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
    /// Where a relative SQLite path is taken from; `None`: the working directory.
    base: Option<PathBuf>,
}

impl DatabaseUrl {
    /// Parses `sqlite:///rel.db`, `sqlite:////abs.db`, `sqlite://` (memory),
    /// `postgresql://…` (also `postgres://`), `mysql://…` (also `mariadb://`, kept as `mysql://`
    /// so that drivers accept it).
    pub fn parse(raw: &str) -> Result<DatabaseUrl> {
        remember_secrets(raw);
        let invalid = |problem| Error::InvalidDatabaseUrl {
            url: redact(raw),
            problem,
        };
        let Some((scheme, rest)) = split_scheme(raw) else {
            return Err(invalid(UrlProblem::NoScheme));
        };
        let (dialect, raw) = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => (Dialect::Sqlite, raw.to_string()),
            "postgresql" | "postgres" => (Dialect::Postgresql, raw.to_string()),
            "mysql" => (Dialect::Mysql, raw.to_string()),
            "mariadb" => (Dialect::Mysql, format!("mysql://{rest}")),
            _ => {
                return Err(invalid(UrlProblem::UnknownScheme {
                    scheme: scheme.to_string(),
                }))
            }
        };
        if dialect == Dialect::Sqlite && !(rest.is_empty() || rest.starts_with('/')) {
            return Err(invalid(UrlProblem::SqliteWithHost));
        }
        Ok(DatabaseUrl {
            raw,
            dialect,
            base: None,
        })
    }

    /// The URL with a relative SQLite path taken from `dir` rather than the working directory
    /// (a URL from `migrate.toml` is relative to the file's directory).
    pub(crate) fn relative_to(self, dir: &Path) -> DatabaseUrl {
        DatabaseUrl {
            base: Some(dir.to_path_buf()),
            ..self
        }
    }

    /// The dialect the URL's scheme names.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with its password, for handing to a driver only. Never print it.
    pub fn expose_secret(&self) -> &str {
        &self.raw
    }

    /// For SQLite: the database file path; `None` for in-memory. A relative path is taken from
    /// the directory of the config file the URL came from, else (`--url`, `DATABASE_URL`, the
    /// library's `with_url`) it stays relative to the working directory, as in Alembic.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        let rest = self.raw.split_once("://")?.1;
        let path = rest.strip_prefix('/')?;
        let path = Path::new(path.split('?').next().unwrap_or(path));
        if path.as_os_str().is_empty() || path == Path::new(":memory:") {
            return None;
        }
        Some(match &self.base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        })
    }

    /// A server URL naming the database `database` instead of its own, credentials and
    /// parameters kept (the scratch database of a schema check). The authority ends at the
    /// first `/` or `?` after the last `@`, so a password holding them is kept whole.
    pub(crate) fn with_database(&self, database: &str) -> DatabaseUrl {
        let (scheme, rest) = self.raw.split_once("://").unwrap_or(("", &self.raw));
        let host_start = rest.rfind('@').map_or(0, |at| at + 1);
        let authority_end = rest[host_start..]
            .find(['/', '?'])
            .map_or(rest.len(), |end| host_start + end);
        let (authority, tail) = rest.split_at(authority_end);
        let query = tail.find('?').map_or("", |q| &tail[q..]);
        DatabaseUrl {
            raw: format!("{scheme}://{authority}/{database}{query}"),
            ..self.clone()
        }
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

/// `raw` (a URL, one that failed to parse, or a libpq `key=value` string) with the password of
/// its user info and the values of secret parameters replaced by `***`. Works on text, so it
/// also protects input that failed to parse. When in doubt (an unencoded `@`, `?` or `#` in a
/// password, a URL missing `://`) it hides too much rather than too little.
pub(crate) fn redact(raw: &str) -> String {
    match split_scheme(raw) {
        Some((scheme, rest)) => {
            redact_params(&format!("{scheme}://{}", redact_userinfo(rest)), true)
        }
        None => redact_params(&redact_bare_userinfo(raw), false),
    }
}

/// `scheme` and the rest of `scheme://rest`; `None` when what precedes the first `://` is no
/// scheme (`u:pw@h/db?next=http://x` is a URL missing its own `://`).
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = raw.split_once("://")?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some((scheme, rest))
}

/// Hides the password of the user info at the start of `rest` (a URL after its `://`).
fn redact_userinfo(rest: &str) -> String {
    let query_start = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..query_start].rfind('@').or_else(|| {
        // `user:pa?ss@host`: an unencoded `?` or `#` in a password ends the text before it.
        rest[..query_start]
            .contains(':')
            .then(|| rest.rfind('@'))
            .flatten()
    });
    match at {
        Some(at) => {
            let userinfo = &rest[..at];
            let hidden = match userinfo.split_once(':') {
                Some((user, password)) if !password.is_empty() => format!("{user}:***"),
                _ => userinfo.to_string(),
            };
            format!("{hidden}@{}", &rest[at + 1..])
        }
        None => rest.to_string(),
    }
}

/// A URL missing its `://` (`postgresql:/u:pw@h/db`, `mysql:u:pw@h`, `u:pw@h/db`): where the
/// scheme ends and the user begins is a guess, so everything from the first `:` to the last
/// `@` is hidden.
fn redact_bare_userinfo(raw: &str) -> String {
    let Some(at) = raw.rfind('@') else {
        return raw.to_string();
    };
    match raw[..at].find(':') {
        Some(colon) => format!("{}***{}", &raw[..=colon], &raw[at..]),
        None => raw.to_string(),
    }
}

/// Hides the value of every secret `key=value` in `text`: URL query parameters and libpq
/// `key=value` (also `key = 'quoted value'`). In a URL a value ends at `&`; elsewhere also at
/// whitespace, a backtick or a quote.
fn redact_params(text: &str, url: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = find_secret_value(rest, url) {
        out.push_str(&rest[..found.start]);
        out.push_str("***");
        rest = &rest[found.end..];
    }
    out.push_str(rest);
    out
}

/// The byte range of the first secret parameter's value in `text`.
fn find_secret_value(text: &str, url: bool) -> Option<std::ops::Range<usize>> {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut from = 0;
    while let Some(eq) = text[from..].find('=').map(|i| from + i) {
        from = eq + 1;
        let before = text[..eq].trim_end_matches(' ');
        let key_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_key_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if !is_secret_key(&before[key_start..]) {
            continue;
        }
        let value = &text[eq + 1..];
        let start = eq + 1 + (value.len() - value.trim_start_matches(' ').len());
        let value = &text[start..];
        let len = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => value[1..]
                .find(quote)
                .map_or(value.len(), |close| close + 2),
            _ => value
                .find(|c: char| {
                    c == '&' || (!url && (c.is_whitespace() || matches!(c, '`' | '\'' | '"')))
                })
                .unwrap_or(value.len()),
        };
        if len > 0 {
            return Some(start..start + len);
        }
    }
    None
}

/// Whether a parameter named `key` holds a secret (`password`, `sslpassword`, `pwd`, …).
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|word| key.contains(word))
        || key == "pwd"
        || key == "pass"
}

/// `text` (a driver's message, a dump tool's output, an error chain) with every secret of
/// `raw_url` removed, as written and percent-decoded, and with the password of any URL and the
/// value of any secret parameter in it hidden. Drivers may echo a connection string, a
/// password, or a piece of one (a password with an unencoded `?` read as a query).
pub(crate) fn scrub_secrets(text: &str, raw_url: &str) -> String {
    redact_text(&hide_secrets(text, &secrets_of(raw_url)))
}

/// Hides the password of every `scheme://user:password@` and every secret parameter in `text`.
pub(crate) fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '`' | '\'' | '"'))
            .unwrap_or(after.len());
        out.push_str(&redact_userinfo(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    redact_params(&out, false)
}

/// Every secret written in `raw`: the user-info password under each reading of where it ends
/// (first or last `@`), and the values of secret parameters; each as written, percent-decoded,
/// and cut into the pieces a driver may echo when it reads an unencoded `@ ? # / :` as syntax.
/// Longest first, so a secret that contains another is replaced whole.
fn secrets_of(raw: &str) -> Vec<String> {
    let url = split_scheme(raw);
    // A SQLite URL is a path, whose `:` and `@` are no credentials.
    if url.is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("sqlite")) {
        return Vec::new();
    }
    let rest = url.map_or(raw, |(_, rest)| rest);
    let passwords = [rest.find('@'), rest.rfind('@')]
        .into_iter()
        .flatten()
        .filter_map(|at| rest[..at].split_once(':').map(|(_, password)| password));
    let mut params = Vec::new();
    let mut tail = raw;
    while let Some(found) = find_secret_value(tail, url.is_some()) {
        params.push(tail[found.clone()].trim_matches(['\'', '"']));
        tail = &tail[found.end..];
    }
    let mut forms: Vec<String> = passwords
        .chain(params)
        .flat_map(|secret| {
            let pieces = secret.split(['@', '?', '#', '/', ':', '&', '=', ' ']);
            std::iter::once(secret).chain(pieces).collect::<Vec<_>>()
        })
        .flat_map(|form| [form.to_string(), percent_decode(form)])
        .filter(|form| !form.is_empty())
        .collect();
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    forms
}

/// Replaces each of `secrets` in `text` by `***` where it stands alone (not inside a longer
/// word), so that a password such as `postgres` hides the password and a user of that name, but
/// leaves `postgresql://` readable.
fn hide_secrets(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find(secret.as_str()) {
            let end = i + secret.len();
            let alone = !rest[..i].ends_with(char::is_alphanumeric)
                && !rest[end..].starts_with(char::is_alphanumeric);
            out.push_str(&rest[..i]);
            out.push_str(if alone { "***" } else { secret });
            rest = &rest[end..];
        }
        out.push_str(rest);
        text = out;
    }
    text
}

/// The secrets of every database URL this process has parsed, for `scrub_known`.
static KNOWN_SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records the secrets of `raw` so that `scrub_known` hides them in any later output.
fn remember_secrets(raw: &str) {
    let mut known = KNOWN_SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // One- and two-character forms (fragments of a password cut at `@`, `:`, ...) would turn
    // every such word of every later message into `***`; the targeted `scrub_secrets` still
    // hides them where a driver echoes this URL.
    for secret in secrets_of(raw)
        .into_iter()
        .filter(|s| s.chars().count() >= 3)
    {
        if !known.contains(&secret) {
            known.push(secret);
        }
    }
    known.sort_by_key(|form| std::cmp::Reverse(form.len()));
}

/// `text` with the secrets of every database URL parsed in this process replaced by `***`: the
/// last guard where text leaves for the user (the printed error and its causes, `--report`, the
/// audit trail), whatever a driver or a cause chain put into it. Only known secrets are
/// replaced, so examples such as `user:pass@host` in hints stay readable.
pub(crate) fn scrub_known(text: &str) -> String {
    let known = KNOWN_SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    hide_secrets(text, &known)
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

    #[test]
    fn with_database_replaces_only_the_database() {
        let url = DatabaseUrl::parse("postgresql://u:p/w?@h:5/app?sslmode=require").unwrap();
        assert_eq!(
            url.with_database("scratch").expose_secret(),
            "postgresql://u:p/w?@h:5/scratch?sslmode=require"
        );
        let url = DatabaseUrl::parse("mysql://root@127.0.0.1:3306").unwrap();
        assert_eq!(
            url.with_database("s").expose_secret(),
            "mysql://root@127.0.0.1:3306/s"
        );
    }

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

    #[test]
    fn urls_missing_their_slashes_hide_everything_between_colon_and_at() {
        for (raw, want) in [
            ("postgresql:/u:s3cr3tPW@h/db", "postgresql:***@h/db"),
            ("postgres//u:s3cr3tPW@h", "postgres//u:***@h"),
            ("mysql:u:s3cr3tPW@h/db", "mysql:***@h/db"),
            ("u:s3cr3tPW@h/db", "u:***@h/db"),
            ("mysql:/root:s3cr3t?PW@h/db", "mysql:***@h/db"),
            // What precedes the first `://` is no scheme: still a URL missing its own.
            ("u:s3cr3tPW@h/db?next=http://x", "u:***@h/db?next=http://x"),
            (
                "postgresql:/u@h/db?password=s3cr3tPW",
                "postgresql:***@h/db?password=***",
            ),
        ] {
            let err = DatabaseUrl::parse(raw).unwrap_err().to_string();
            assert!(err.contains(&format!("`{want}`")), "{raw}: {err}");
            assert!(!err.contains("s3cr3t"), "{raw}: {err}");
        }
    }

    #[test]
    fn libpq_key_value_secrets_are_hidden() {
        for (raw, want) in [
            (
                "host=h password=s3cr3tPW dbname=d",
                "host=h password=*** dbname=d",
            ),
            (
                "host=h password='s3cr3t PW' dbname=d",
                "host=h password=*** dbname=d",
            ),
            ("dbname=d PASSWORD = s3cr3tPW", "dbname=d PASSWORD = ***"),
            ("sslpassword=\"s3cr3t\\\" PW\"", "sslpassword=*** PW\""),
        ] {
            assert_eq!(redact(raw), want, "{raw}");
        }
    }

    #[test]
    fn scrubbing_removes_every_form_a_driver_may_echo() {
        let raw = "postgresql://app:s3cr3t?PW@h/db?sslmode=disable&Token=t0k3nVALUE";
        let message = "unknown option `PW@h/db`: user app, token t0k3nVALUE, see postgresql://app:x@h and password=abcd";
        let scrubbed = scrub_secrets(message, raw);
        assert_eq!(
            scrubbed,
            "unknown option `***@h/db`: user app, token ***, see postgresql://app:***@h and password=***"
        );
        // A password is hidden where it stands alone, not inside every word.
        let scrubbed = scrub_secrets("pw rejected; pwned", "mysql://root:pw@h/db");
        assert_eq!(scrubbed, "*** rejected; pwned");
        let scrubbed = scrub_secrets(
            "cannot connect to postgresql://postgres@h/db as postgres",
            "postgresql://postgres:postgres@h/db",
        );
        assert_eq!(scrubbed, "cannot connect to postgresql://***@h/db as ***");
        assert!(secrets_of("sqlite:////data/a:b@c.db").is_empty());
    }

    #[test]
    fn known_secrets_are_hidden_in_any_later_text() {
        let _ = DatabaseUrl::parse("postgresql://u:Kn0wnS3cr%3Ft@h/db?sslpassword=An0therOne");
        let _ = DatabaseUrl::parse("not a url password=Thr1dOne");
        let text = scrub_known(
            "Kn0wnS3cr%3Ft / Kn0wnS3cr?t / An0therOne / Thr1dOne; postgresql://user:pass@host:port/db",
        );
        assert_eq!(
            text,
            "*** / *** / *** / ***; postgresql://user:pass@host:port/db"
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
                let echoed = format!("driver: {raw}; password {password}; {}", percent_decode(&password));
                let text = scrub_secrets(&echoed, &raw);
                proptest::prop_assert!(!text.contains(&password), "{} -> {}", echoed, text);
            }
            for raw in [
                format!("{scheme}:/user:{password}@host/db"),
                format!("user:{password}@host/db"),
            ] {
                let text = DatabaseUrl::parse(&raw).unwrap_err().to_string();
                proptest::prop_assert!(!text.contains(&password), "{} -> {}", raw, text);
            }
        }
    }
}
