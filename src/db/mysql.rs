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
use mysql::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts};

use super::blocker::{scrub_query, Blocker, Watch};
use super::server::{lock_id, scrub_password};
use super::version_table::quote_literal;
use super::{tls, Connection, DbError, Value};
use crate::config::tls::{RootCert, TlsMode, TlsSettings, Verify};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result, TlsProblem};

/// `ER_LOCK_WAIT_TIMEOUT`: a row lock (`innodb_lock_wait_timeout`) or a metadata lock
/// (`lock_wait_timeout`, e.g. behind `LOCK TABLES` or an open transaction) waited too long.
const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// `ER_LOCK_DEADLOCK`.
const LOCK_DEADLOCK: u16 = 1213;
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
    /// The session's timeouts before [`Connection::set_timeouts`], as `SET` assignments to
    /// put them back; `None` when they were not changed.
    saved_timeouts: Option<String>,
    /// Who blocks a statement waiting for a lock (armed with the whole seconds the server
    /// was given), seen from a second session.
    watch: Watch<Conn>,
    /// The server says it is MariaDB (known once timeouts were set).
    mariadb: bool,
}

impl Mysql {
    fn connect(raw_url: &str) -> Result<Mysql> {
        let shown = scrub_password(raw_url, raw_url);
        // The driver refuses parameters it does not know, the `ssl-*` ones among them.
        let (settings, stripped) = TlsSettings::from_url(Dialect::Mysql, raw_url, &shown)?;
        let opts = parse_opts(&stripped).map_err(|reason| Error::MysqlUrlInvalid {
            url: shown.clone(),
            reason,
        })?;
        let ssl = ssl_opts(&settings, &shown)?;
        let with_tls = ssl.is_some();
        let mut builder = OptsBuilder::from_opts(opts.clone()).ssl_opts(ssl);
        if settings.mode >= TlsMode::Require {
            // On a loopback address the driver switches to the server's Unix socket, where it
            // does not use TLS: a connection that must be TLS stays on TCP.
            builder = builder.prefer_socket(false);
        }
        let outcome = match Conn::new(builder) {
            // PREFERRED: plain text when the server has no TLS.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
                if settings.mode == TlsMode::Prefer =>
            {
                Conn::new(opts)
            }
            outcome => outcome,
        };
        let conn = outcome.map_err(|e| {
            // The driver's errors name their cause with the old `cause()` only.
            let inner: Option<&(dyn std::error::Error + 'static)> = match &e {
                mysql::Error::IoError(io) => Some(io),
                mysql::Error::CodecError(codec) => Some(codec),
                mysql::Error::TlsError(tls) => Some(tls),
                _ => None,
            };
            let problem = match &e {
                mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
                    Some(TlsProblem::ServerRefused)
                }
                _ => inner
                    .filter(|_| with_tls)
                    .and_then(|inner| tls::problem(inner, &settings, None)),
            };
            match problem {
                Some(problem) => Error::TlsFailed {
                    url: shown.clone(),
                    dialect: Dialect::Mysql,
                    mode_param: settings.names().mode,
                    mode: settings.mode_name(),
                    problem,
                },
                None => Error::ConnectFailed {
                    url: shown.clone(),
                    cause: db_error(e, raw_url),
                },
            }
        })?;
        Ok(Mysql {
            conn,
            raw_url: raw_url.to_string(),
            lock: None,
            saved_timeouts: None,
            watch: Watch::new(),
            mariadb: false,
        })
    }

    /// Opens the observer session unless there is one (best effort, as for PostgreSQL).
    fn open_observer(&mut self) {
        if self.watch.observer.is_some() {
            return;
        }
        let id = self.conn.connection_id();
        if let Some(conn) = parse_opts(&self.raw_url)
            .ok()
            .and_then(|opts| Conn::new(opts).ok())
        {
            self.watch.observer = Some((conn, u64::from(id)));
        }
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

/// The driver's TLS options for `settings`: none for `DISABLED`; `PREFERRED` and `REQUIRED`
/// encrypt without checking the certificate unless `ssl-ca` is given (then they check its
/// chain, as `VERIFY_CA`); `VERIFY_IDENTITY` also checks the host name. The files are read
/// first, so that a missing one is named (the driver reports a bare I/O error).
fn ssl_opts(settings: &TlsSettings, url: &str) -> Result<Option<SslOpts>> {
    if settings.mode <= TlsMode::Allow {
        return Ok(None);
    }
    tls::install_provider();
    let names = settings.names();
    let mut ssl = SslOpts::default();
    if let Some(RootCert::File(path)) = &settings.root_cert {
        tls::read_file(path, names.root_cert, url)?;
        ssl = ssl.with_root_cert_path(Some(path.clone()));
    }
    if let (Some(cert), Some(key)) = (&settings.cert, &settings.key) {
        tls::read_file(cert, names.cert, url)?;
        tls::read_file(key, names.key, url)?;
        ssl = ssl.with_client_identity(Some(ClientIdentity::new(cert.clone(), key.clone())));
    }
    Ok(Some(match settings.verify() {
        Verify::Nothing => ssl.with_danger_accept_invalid_certs(true),
        Verify::Chain => ssl.with_danger_skip_domain_validation(true),
        Verify::ChainAndHost => ssl,
    }))
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
    let code = match &e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    };
    let mut error = DbError::from_driver(describe(&e, raw_url), code == Some(LOCK_WAIT_TIMEOUT), e);
    error.is_deadlock = code == Some(LOCK_DEADLOCK);
    error
}

/// Who blocks session `id`: the InnoDB transaction holding the row lock it waits for
/// (`INNODB_LOCK_WAITS` on MariaDB and MySQL 5.7, `performance_schema.data_lock_waits` on
/// MySQL 8), else the holder of a metadata lock on a table of this database
/// (`METADATA_LOCK_INFO`, MariaDB's plugin, when installed), described from `PROCESSLIST`.
fn blocker_of(observer: &mut Conn, id: u64) -> Option<Blocker> {
    // language=MySQL
    let row_lock_holders = [
        format!(
            "SELECT b.trx_mysql_thread_id FROM information_schema.INNODB_LOCK_WAITS w \
             JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id \
             JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id \
             WHERE r.trx_mysql_thread_id = {id}"
        ),
        format!(
            "SELECT b.trx_mysql_thread_id FROM performance_schema.data_lock_waits w \
             JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID \
             JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID \
             WHERE r.trx_mysql_thread_id = {id}"
        ),
        // The waiting statement is not in METADATA_LOCK_INFO (only granted locks are); a
        // session waiting for a metadata lock is blocked by a holder of one on a table here.
        format!(
            "SELECT m.THREAD_ID FROM information_schema.METADATA_LOCK_INFO m \
             JOIN information_schema.PROCESSLIST p ON p.ID = {id} \
             WHERE p.STATE LIKE 'Waiting for%metadata lock' AND m.THREAD_ID <> {id} \
             AND m.TABLE_SCHEMA = DATABASE() AND m.LOCK_TYPE LIKE 'Table%' \
             ORDER BY m.THREAD_ID"
        ),
    ];
    let holders: Vec<u64> = row_lock_holders
        .iter()
        .map(|sql| observer.query::<u64, _>(sql).unwrap_or_default())
        .find(|ids| !ids.is_empty())?;
    let mut holders = holders;
    holders.dedup();
    let holder = holders[0];
    // language=MySQL
    let sql = format!(
        "SELECT p.USER, p.HOST, p.COMMAND, coalesce(p.STATE, ''), coalesce(p.INFO, ''), \
         (SELECT TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) \
          FROM information_schema.INNODB_TRX t WHERE t.trx_mysql_thread_id = p.ID LIMIT 1) \
         FROM information_schema.PROCESSLIST p WHERE p.ID = {holder}"
    );
    let row: Option<(String, String, String, String, String, Option<i64>)> =
        observer.query_first(sql).ok()?;
    let (user, host, command, state, info, age) = row?;
    let state = match state.as_str() {
        "" => command,
        _ => format!("{command}, {state}"),
    };
    Some(Blocker {
        id: i64::try_from(holder).unwrap_or(i64::MAX),
        user,
        application: host,
        state,
        transaction_age: age
            .and_then(|us| u64::try_from(us).ok())
            .map(Duration::from_micros),
        query: scrub_query(&info),
        others: holders.len() - 1,
    })
}

/// A lock wait in the whole seconds the servers take (at least 1).
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs().max(1) + u64::from(duration.as_secs() > 0 && duration.subsec_nanos() > 0)
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
        let conn = &mut self.conn;
        self.watch
            .run(blocker_of, || conn.query_drop(sql))
            .map_err(|e| self.db_error(e))?;
        Ok(self.conn.affected_rows())
    }

    /// `lock_wait_timeout` (metadata locks: `ALTER TABLE` behind an open transaction or
    /// `LOCK TABLES`) and `innodb_lock_wait_timeout` (row locks) both get the lock timeout,
    /// in whole seconds, at least 1. The statement timeout is MariaDB's `max_statement_time`;
    /// MySQL's `max_execution_time` bounds only `SELECT`, so on MySQL it bounds nothing a
    /// migration's DDL does. Session settings (MySQL has no `SET LOCAL`), put back by
    /// [`Connection::reset_timeouts`].
    fn set_timeouts(
        &mut self,
        lock: Duration,
        statement: Duration,
        _in_transaction: bool,
    ) -> Result<(), DbError> {
        if lock.is_zero() && statement.is_zero() {
            return Ok(());
        }
        let version = self.query_scalar("SELECT @@version")?;
        let mariadb = matches!(&version, mysql::Value::Bytes(b) if String::from_utf8_lossy(b).contains("MariaDB"));
        self.mariadb = mariadb;
        let statement_variable = if mariadb {
            "max_statement_time"
        } else {
            "max_execution_time"
        };
        if self.saved_timeouts.is_none() {
            let saved: Option<(String, String, String)> = self
                .conn
                .query_first(format!(
                    "SELECT CAST(@@session.lock_wait_timeout AS CHAR), \
                     CAST(@@session.innodb_lock_wait_timeout AS CHAR), \
                     CAST(@@session.{statement_variable} AS CHAR)"
                ))
                .map_err(|e| self.db_error(e))?;
            let (lock_wait, innodb, statement_time) = saved.unwrap_or_default();
            self.saved_timeouts = Some(format!(
                "lock_wait_timeout = {lock_wait}, innodb_lock_wait_timeout = {innodb}, \
                 {statement_variable} = {statement_time}"
            ));
        }
        let mut assignments = Vec::new();
        if !lock.is_zero() {
            let seconds = whole_seconds(lock);
            assignments.push(format!(
                "lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}"
            ));
        }
        if !statement.is_zero() {
            assignments.push(if mariadb {
                format!("max_statement_time = {:.3}", statement.as_secs_f64())
            } else {
                format!("max_execution_time = {}", statement.as_millis())
            });
        }
        self.execute(&format!("SET SESSION {}", assignments.join(", ")))?;
        self.watch.arm(if lock.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_secs(whole_seconds(lock))
        });
        if !lock.is_zero() {
            self.open_observer();
        }
        Ok(())
    }

    fn reset_timeouts(&mut self) -> Result<(), DbError> {
        self.watch.arm(Duration::ZERO);
        match self.saved_timeouts.take() {
            Some(saved) => self.execute(&format!("SET SESSION {saved}")).map(drop),
            None => Ok(()),
        }
    }

    fn blocker(&mut self) -> Option<String> {
        let engine = if self.mariadb { "MariaDB" } else { "MySQL" };
        self.watch.take(engine, "host")
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
