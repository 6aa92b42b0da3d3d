//! MySQL/MariaDB backend (mysql crate).
//!
//! Statements run through the text protocol, one per call, as the `mysql` client sends them.
//! DDL commits implicitly on these servers (<https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html>),
//! so `begin`/`commit` only group data changes; `Dialect::transactional_ddl()` tells `exec` so.
//! The migration lock is `GET_LOCK`, a session lock that survives those implicit commits. It is
//! taken on the work session itself, so a runner killed just after sending `COMMIT` keeps it
//! until the server has finished that commit and only then notices the closed connection: the
//! next runner cannot read the version rows of before that commit (PostgreSQL's lock session
//! needs a second key for this, see postgres.rs).

use std::time::Duration;

use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use super::server::{lock_id, scrub_password};
use super::version_table::quote_literal;
use super::{Connection, DbError, Value};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// `ER_LOCK_WAIT_TIMEOUT`.
const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// The `binary` collation id: such string columns hold bytes, not text.
const BINARY_CHARSET: u16 = 63;
/// `GET_LOCK` names are limited to 64 characters.
const MAX_LOCK_NAME: usize = 64;

/// Opens a connection.
pub(crate) fn open(url: &DatabaseUrl) -> Result<Box<dyn super::Connection>> {
    Ok(Box::new(Mysql::connect(url.expose_secret())?))
}

struct Mysql {
    conn: Conn,
    /// The URL as given, only to scrub its password from driver messages.
    raw_url: String,
    /// The `GET_LOCK` name held, with the key it was taken for.
    lock: Option<(String, String)>,
}

impl Mysql {
    fn connect(raw_url: &str) -> Result<Mysql> {
        let url = || scrub_password(raw_url, raw_url);
        let opts =
            parse_opts(raw_url).map_err(|reason| Error::MysqlUrlInvalid { url: url(), reason })?;
        let conn = Conn::new(opts).map_err(|e| Error::ConnectFailed {
            url: url(),
            cause: db_error(e, raw_url),
        })?;
        Ok(Mysql {
            conn,
            raw_url: raw_url.to_string(),
            lock: None,
        })
    }

    fn db_error(&self, e: mysql::Error) -> DbError {
        db_error(e, &self.raw_url)
    }

    /// The `GET_LOCK` name for `key` in the current database; fails if a lock is held already.
    fn lock_name_for(&mut self, key: &str) -> Result<String, DbError> {
        if self.lock.is_some() {
            return Err(DbError::new(format!(
                "the migration lock `{key}` is already held by this connection"
            )));
        }
        let database = match self.query_scalar("SELECT DATABASE()")? {
            mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        Ok(lock_name(&database, key))
    }

    /// `GET_LOCK(name, timeout)`, the server waiting: whether the lock is now held.
    fn get_lock(&mut self, name: String, key: &str, timeout: Duration) -> Result<bool, DbError> {
        // Whole seconds: MySQL and MariaDB agree on integer timeouts.
        let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        let literal = quote_literal(Dialect::Mysql, &name);
        let outcome = self.query_scalar(&format!("SELECT GET_LOCK({literal}, {seconds})"))?;
        match lock_result(&outcome) {
            Some(1) => {
                self.lock = Some((name, key.to_string()));
                Ok(true)
            }
            Some(0) => Ok(false),
            _ => Err(DbError::new(format!(
                "`GET_LOCK('{name}')` failed (returned NULL: the session was killed or ran out \
                 of memory)"
            ))),
        }
    }

    /// The first column of the first row of `sql`, as the server sent it.
    fn query_scalar(&mut self, sql: &str) -> Result<mysql::Value, DbError> {
        let value: Option<mysql::Value> =
            self.conn.query_first(sql).map_err(|e| self.db_error(e))?;
        Ok(value.unwrap_or(mysql::Value::NULL))
    }
}

/// Turns a `mysql://` or `mariadb://` URL into driver options. A Unix socket can be given as
/// `?socket=/path` (the driver's own option) or, as for PostgreSQL, as a percent-encoded path in
/// the host position (`mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/db`).
fn parse_opts(raw_url: &str) -> Result<Opts, String> {
    let rest = raw_url
        .strip_prefix("mysql://")
        .or_else(|| raw_url.strip_prefix("mariadb://"))
        .ok_or_else(|| "a MySQL URL starts with `mysql://` or `mariadb://`".to_string())?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let url = if host.to_ascii_lowercase().starts_with("%2f") {
        let socket = crate::config::url::percent_decode(host);
        let separator = if tail.contains('?') { '&' } else { '?' };
        let tail = if tail.is_empty() { "/" } else { tail };
        format!("mysql://{userinfo}localhost{tail}{separator}socket={socket}")
    } else {
        format!("mysql://{rest}")
    };
    Opts::from_url(&url).map_err(|e| {
        let e = scrub_password(&e.to_string(), raw_url);
        format!("{e}; the form is `mysql://user:password@host:port/database`")
    })
}

fn db_error(e: mysql::Error, raw_url: &str) -> DbError {
    let is_lock_timeout = matches!(&e, mysql::Error::MySqlError(m) if m.code == LOCK_WAIT_TIMEOUT);
    DbError::from_driver(describe(&e, raw_url), is_lock_timeout, e)
}

/// A driver error as one line, with the server's code and SQLSTATE; passwords removed.
fn describe(e: &mysql::Error, raw_url: &str) -> String {
    let text = match e {
        mysql::Error::MySqlError(m) => {
            format!("{} (error {}, SQLSTATE {})", m.message, m.code, m.state)
        }
        other => other.to_string(),
    };
    scrub_password(&text, raw_url)
}

/// Converts one column to a `Value` by its MySQL type. The text protocol sends every value as
/// bytes; numbers are parsed back, DECIMAL stays text (exact), binary strings stay bytes.
fn convert_value(column: &mysql::Column, value: mysql::Value) -> Value {
    let bytes = match value {
        mysql::Value::NULL => return Value::Null,
        mysql::Value::Int(i) => return Value::Int(i),
        mysql::Value::UInt(u) => {
            return i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int)
        }
        mysql::Value::Float(f) => return Value::Real(f64::from(f)),
        mysql::Value::Double(d) => return Value::Real(d),
        mysql::Value::Bytes(bytes) => bytes,
        // Dates and times only arrive typed from the binary protocol, which `query` does not use.
        other => return Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
    };
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => text()
            .parse()
            .map_or_else(|_| Value::Text(text()), Value::Int),
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => text()
            .parse()
            .map_or_else(|_| Value::Text(text()), Value::Real),
        MYSQL_TYPE_BIT => Value::Bytes(bytes),
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
            if column.character_set() == BINARY_CHARSET =>
        {
            Value::Bytes(bytes)
        }
        _ => Value::Text(text()),
    }
}

/// The `GET_LOCK` name for `key`: readable when it fits, else a digest (names are server-wide,
/// so the database is part of it).
fn lock_name(database: &str, key: &str) -> String {
    let readable = format!("retort:{database}.{key}");
    if readable.chars().count() <= MAX_LOCK_NAME {
        readable
    } else {
        format!("retort:{:016x}", lock_id(database, key))
    }
}

fn lock_result(value: &mysql::Value) -> Option<i64> {
    match value {
        mysql::Value::Int(i) => Some(*i),
        mysql::Value::UInt(u) => i64::try_from(*u).ok(),
        mysql::Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

impl Connection for Mysql {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        self.conn.query_drop(sql).map_err(|e| self.db_error(e))?;
        Ok(self.conn.affected_rows())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let raw_url = &self.raw_url;
        let error = |e: mysql::Error| db_error(e, raw_url);
        let mut result = self.conn.query_iter(sql).map_err(error)?;
        let mut rows = Vec::new();
        // Only the first result set is the query's; a stored procedure may add more.
        if let Some(set) = result.iter() {
            for row in set {
                let row = row.map_err(error)?;
                let columns = row.columns();
                rows.push(
                    columns
                        .iter()
                        .zip(row.unwrap())
                        .map(|(column, value)| convert_value(column, value))
                        .collect(),
                );
            }
        }
        Ok(rows)
    }

    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let quote = |text: &str| quote_literal(Dialect::Mysql, text);
        let schema = schema.map_or_else(|| "DATABASE()".to_string(), quote);
        // language=MySQL
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = {schema} AND table_name = {}",
            quote(table)
        );
        Ok(lock_result(&self.query_scalar(&sql)?).unwrap_or(0) > 0)
    }

    fn try_lock(&mut self, key: &str, _timeout: Duration) -> Result<bool, DbError> {
        let name = self.lock_name_for(key)?;
        self.get_lock(name, key, Duration::ZERO)
    }

    fn lock(&mut self, key: &str, timeout: Duration) -> Result<(), DbError> {
        let name = self.lock_name_for(key)?;
        if self.get_lock(name.clone(), key, timeout)? {
            return Ok(());
        }
        Err(DbError::lock_timeout(format!(
            "timed out after {}s waiting for the migration lock (`GET_LOCK('{name}')`)",
            timeout.as_secs_f64()
        )))
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        let name = match self.lock.take() {
            Some((name, held_key)) if held_key == key => name,
            other => {
                self.lock = other;
                return Err(DbError::new(format!(
                    "the migration lock `{key}` is not held by this connection"
                )));
            }
        };
        let outcome = self.query_scalar(&format!(
            "SELECT RELEASE_LOCK({})",
            quote_literal(Dialect::Mysql, &name)
        ))?;
        match lock_result(&outcome) {
            Some(1) => Ok(()),
            _ => Err(DbError::new(format!(
                "`RELEASE_LOCK('{name}')` did not release the migration lock (it was not held)"
            ))),
        }
    }

    fn current_user(&mut self) -> Option<String> {
        match self.query_scalar("SELECT CURRENT_USER()").ok()? {
            mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_sockets_and_encoded_passwords() {
        let opts = parse_opts("mariadb://app:p%40ss@db.local:3307/prod").unwrap();
        assert_eq!(opts.get_pass(), Some("p@ss"));
        assert_eq!(opts.get_tcp_port(), 3307);
        assert_eq!(opts.get_db_name(), Some("prod"));
        let opts = parse_opts("mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/test").unwrap();
        assert_eq!(opts.get_socket(), Some("/run/mysqld/mysqld.sock"));
        assert_eq!(opts.get_db_name(), Some("test"));
        let opts = parse_opts("mysql://root@localhost/test?socket=/tmp/my.sock").unwrap();
        assert_eq!(opts.get_socket(), Some("/tmp/my.sock"));
    }

    #[test]
    fn bad_urls_never_show_the_password() {
        let err = parse_opts("mysql://app:hunter22@/db?bogus=1").unwrap_err();
        assert!(!err.contains("hunter22"), "{err}");
    }

    #[test]
    fn lock_names_fit_the_server_limit() {
        assert_eq!(
            lock_name("app", "retort_version"),
            "retort:app.retort_version"
        );
        let long = lock_name(&"d".repeat(60), "retort_version");
        assert!(long.len() <= MAX_LOCK_NAME, "{long}");
        assert!(long.starts_with("retort:"));
    }
}
