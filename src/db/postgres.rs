//! PostgreSQL backend (postgres crate, synchronous, without TLS).
//!
//! Statements go through the simple query protocol, one per call, as `psql` sends them: one
//! round trip each, and `$1` inside a statement body is left to the server. Queries first
//! `prepare` the statement (which also refuses more than one statement) to learn the column
//! types, then read the rows as text and convert them by type.
//!
//! The migration lock is `pg_try_advisory_lock`, polled on a separate session: a runner that
//! waits never sits inside a long statement, so a `CREATE INDEX CONCURRENTLY` of a
//! `transactional = false` revision (which waits for every open transaction) cannot deadlock
//! against a waiting runner, nor against the lock holder's own session.

use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::blocker::{scrub_query, Blocker, Watch};
use super::own_thread::OwnThread;
use super::server::{lock_id, scrub_password};
use super::version_table::quoted_ident;
use super::{Connection, DbError, Value};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// SQLSTATE `lock_not_available` (e.g. `lock_timeout` expired).
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE `deadlock_detected`.
const DEADLOCK_DETECTED: &str = "40P01";

/// Opens a connection.
pub(crate) fn open(url: &DatabaseUrl) -> Result<Box<dyn super::Connection>> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // The client blocks on a runtime of its own, which tokio refuses inside another
        // (`#[tokio::main]` calling the library): it runs on a thread of its own instead.
        let raw_url = url.expose_secret().to_string();
        let conn = OwnThread::open(url, move || Ok(Box::new(Postgres::connect(&raw_url)?)))?;
        return Ok(Box::new(conn));
    }
    Ok(Box::new(Postgres::connect(url.expose_secret())?))
}

struct Postgres {
    client: Client,
    config: postgres::Config,
    /// The URL as given, only to scrub its password from driver messages.
    raw_url: String,
    lock: Option<LockSession>,
    /// `table_exists` runs once per step; preparing it once saves a round trip each time.
    table_exists_statement: Option<postgres::Statement>,
    /// Whether the timeouts were set for the session (to reset) rather than the transaction.
    session_timeouts: bool,
    /// Who blocks a statement waiting for a lock, seen from a second session opened when a
    /// lock timeout is first set.
    watch: Watch<Client>,
}

/// The session for the advisory lock of `key`; kept after a failed `try_lock` for `lock`.
struct LockSession {
    client: Client,
    key: String,
    id: i64,
    database: String,
    held: bool,
}

impl Postgres {
    fn connect(raw_url: &str) -> Result<Postgres> {
        let config = parse_config(raw_url)?;
        let client = config.connect(NoTls).map_err(|e| Error::ConnectFailed {
            url: scrub_password(raw_url, raw_url),
            cause: db_error(e, raw_url),
        })?;
        Ok(Postgres {
            client,
            config,
            raw_url: raw_url.to_string(),
            lock: None,
            table_exists_statement: None,
            session_timeouts: false,
            watch: Watch::new(),
        })
    }

    /// Opens the observer session unless there is one; without it (no connection slot left)
    /// the retry lines cannot name the blocker, which is no reason to fail the run.
    fn open_observer(&mut self) {
        if self.watch.observer.is_some() {
            return;
        }
        let pid: i32 = match self.client.query_one("SELECT pg_backend_pid()", &[]) {
            Ok(row) => row.get(0),
            Err(_) => return,
        };
        if let (Ok(client), Ok(pid)) = (self.config.connect(NoTls), u64::try_from(pid)) {
            self.watch.observer = Some((client, pid));
        }
    }

    fn db_error(&self, e: postgres::Error) -> DbError {
        db_error(e, &self.raw_url)
    }

    /// The lock session for `key`: the one a failed `try_lock` left, else a new one (the lock is
    /// polled on its own session, see the module doc).
    fn lock_session(&mut self, key: &str) -> Result<&mut LockSession, DbError> {
        let session = match self.lock.take() {
            Some(held) if held.held => {
                self.lock = Some(held);
                return Err(DbError::new(format!(
                    "the migration lock `{key}` is already held by this connection"
                )));
            }
            Some(pending) if pending.key == key => pending,
            _ => self.open_lock_session(key)?,
        };
        Ok(self.lock.insert(session))
    }

    fn open_lock_session(&mut self, key: &str) -> Result<LockSession, DbError> {
        let database: String = self
            .client
            .query_one("SELECT current_database()", &[])
            .map_err(|e| self.db_error(e))?
            .get(0);
        let client = self.config.connect(NoTls).map_err(|e| {
            let message = format!(
                "cannot open the session for the migration lock: {}",
                describe(&e, &self.raw_url)
            );
            DbError::from_driver(message, false, e)
        })?;
        Ok(LockSession {
            client,
            key: key.to_string(),
            id: lock_id(&database, key),
            database,
            held: false,
        })
    }

    fn simple(&mut self, sql: &str) -> Result<u64, DbError> {
        let client = &mut self.client;
        let messages = self
            .watch
            .run(blocker_of, || client.simple_query(sql))
            .map_err(|e| self.db_error(e))?;
        Ok(messages
            .iter()
            .map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => *n,
                _ => 0,
            })
            .sum())
    }
}

impl LockSession {
    /// One `pg_try_advisory_lock`: whether the lock is now held by this session.
    fn try_acquire(&mut self, raw_url: &str) -> Result<bool, DbError> {
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.id])
            .map_err(|e| db_error(e, raw_url))?;
        Ok(row.get(0))
    }
}

/// Parses a `postgresql://` URL into driver settings. `sslmode` is checked here because this
/// build has no TLS: `require` and stronger must fail clearly rather than connect in plain text.
fn parse_config(raw_url: &str) -> Result<postgres::Config> {
    let url = || scrub_password(raw_url, raw_url);
    let (base, query) = raw_url.split_once('?').unwrap_or((raw_url, ""));
    let mut params = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        match param.split_once('=') {
            Some(("sslmode", "disable" | "allow")) => params.push("sslmode=disable"),
            Some(("sslmode", "prefer")) => params.push(param),
            Some(("sslmode", mode @ ("require" | "verify-ca" | "verify-full"))) => {
                return Err(Error::TlsUnsupported {
                    url: url(),
                    sslmode: mode.to_string(),
                })
            }
            Some(("sslmode", other)) => {
                return Err(Error::UnknownSslMode {
                    url: url(),
                    sslmode: other.to_string(),
                })
            }
            _ => params.push(param),
        }
    }
    let joined = if params.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", params.join("&"))
    };
    let mut config: postgres::Config =
        joined
            .parse()
            .map_err(|e: postgres::Error| Error::PostgresUrlInvalid {
                url: url(),
                cause: db_error(e, raw_url),
            })?;
    if config.get_ssl_mode() == SslMode::Require {
        return Err(Error::TlsRequired { url: url() });
    }
    if config.get_application_name().is_none() {
        config.application_name("retort");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(30));
    }
    Ok(config)
}

fn db_error(e: postgres::Error, raw_url: &str) -> DbError {
    let code = e.code().map(|c| c.code().to_string());
    let is_lock_timeout = code.as_deref() == Some(LOCK_NOT_AVAILABLE);
    let mut error = DbError::from_driver(describe(&e, raw_url), is_lock_timeout, e);
    error.is_deadlock = code.as_deref() == Some(DEADLOCK_DETECTED);
    error
}

/// The first session that blocks `pid` (`pg_blocking_pids`: lock holders, and waiters queued
/// ahead for a conflicting lock), from `pg_stat_activity`.
fn blocker_of(observer: &mut Client, pid: u64) -> Option<Blocker> {
    let pid = i32::try_from(pid).ok()?;
    // language=PostgreSQL
    let sql = "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
               coalesce(a.state, ''), extract(epoch FROM clock_timestamp() - a.xact_start)::float8, \
               coalesce(a.query, ''), cardinality(b.pids) - 1 \
               FROM (SELECT pg_blocking_pids($1) AS pids) b \
               JOIN pg_stat_activity a ON a.pid = b.pids[1]";
    let row = observer.query_opt(sql, &[&pid]).ok()??;
    let age: Option<f64> = row.get(4);
    let others: i32 = row.get(6);
    Some(Blocker {
        id: i64::from(row.get::<_, i32>(0)),
        user: row.get(1),
        application: row.get(2),
        state: row.get(3),
        transaction_age: age.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok()),
        query: scrub_query(row.get(5)),
        others: usize::try_from(others).unwrap_or(0),
    })
}

/// A driver error as one line: the server's message, SQLSTATE, detail and hint; passwords removed.
fn describe(e: &postgres::Error, raw_url: &str) -> String {
    let text = match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; detail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            if db.code() == &postgres::error::SqlState::ACTIVE_SQL_TRANSACTION {
                // E.g. `CREATE INDEX CONCURRENTLY`, `ALTER TYPE ... ADD VALUE` before PG 12.
                text.push_str(
                    "; this statement cannot run inside a transaction: add \
                     `-- transactional = false` to the revision's header",
                );
            }
            text
        }
        None => {
            // `Display` of a non-database error is terse ("error connecting to server"); the
            // source says why (connection refused, no such host, ...).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(&format!(": {cause_text}"));
                }
                source = cause.source();
            }
            text
        }
    };
    scrub_password(&text, raw_url)
}

/// A duration as the servers take it in a `SET`: whole milliseconds, at least 1 unless zero.
fn millis(duration: Duration) -> u128 {
    let ms = duration.as_millis();
    if ms == 0 && !duration.is_zero() {
        1
    } else {
        ms
    }
}

/// Converts one text-format column to a `Value` by its PostgreSQL type.
fn value_from_text(ty: &Type, text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    let parsed = match *ty {
        Type::BOOL => match text {
            "t" => Some(Value::Bool(true)),
            "f" => Some(Value::Bool(false)),
            _ => None,
        },
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => text.parse().ok().map(Value::Int),
        Type::FLOAT4 | Type::FLOAT8 => text.parse().ok().map(Value::Real),
        Type::BYTEA => text
            .strip_prefix("\\x")
            .and_then(decode_hex)
            .map(Value::Bytes),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_string()))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Connection for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgresql
    }

    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        self.simple(sql)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let statement = self.client.prepare(sql).map_err(|e| self.db_error(e))?;
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| self.db_error(e))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| value_from_text(types.get(i).unwrap_or(&Type::TEXT), row.get(i)))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let quote = |name: &str| quoted_ident(Dialect::Postgresql, name);
        let name = match schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(table)),
            None => quote(table),
        };
        // language=PostgreSQL
        // `to_regclass` follows the search path when no schema is given, as unqualified
        // statements do; views count as tables (a version table may be exposed as one).
        let sql = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class \
                   WHERE oid = to_regclass($1) AND relkind IN ('r', 'p', 'v', 'f', 'm'))";
        let statement = match &self.table_exists_statement {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client.prepare(sql).map_err(|e| self.db_error(e))?;
                self.table_exists_statement = Some(statement.clone());
                statement
            }
        };
        let row = self
            .client
            .query_one(&statement, &[&name])
            .map_err(|e| self.db_error(e))?;
        Ok(row.get(0))
    }

    fn try_lock(&mut self, key: &str, _timeout: Duration) -> Result<bool, DbError> {
        let raw_url = self.raw_url.clone();
        let session = self.lock_session(key)?;
        session.held = session.try_acquire(&raw_url)?;
        Ok(session.held)
    }

    /// The session holding the advisory lock, from `pg_locks` and `pg_stat_activity`: a
    /// runner killed mid-statement leaves its server session (and the lock) behind until the
    /// server notices, and this names it (`pg_terminate_backend(pid)` ends it).
    fn lock_holder(&mut self, key: &str) -> Option<String> {
        let id = self.lock.as_ref().filter(|s| s.key == key)?.id;
        // A bigint advisory key is split over `classid` (high half) and `objid` (low half).
        let row = self
            .client
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, 'unknown'), \
                 to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
                 extract(epoch FROM now() - a.state_change)::bigint \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                 AND l.classid = (($1::bigint >> 32) & 4294967295)::oid \
                 AND l.objid = ($1::bigint & 4294967295)::oid \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 LIMIT 1",
                &[&id],
            )
            .ok()??;
        let pid: i32 = row.get(0);
        let application: String = row.get(1);
        let state: String = row.get(2);
        let since: Option<String> = row.get(3);
        let seconds: Option<i64> = row.get(4);
        let application = match application.as_str() {
            "" => String::new(),
            name => format!("application `{}`, ", crate::error::clip(name, 60)),
        };
        let since = match (since, seconds) {
            (Some(at), Some(seconds)) => format!(" since {at} UTC, {seconds}s ago"),
            _ => String::new(),
        };
        Some(format!(
            "PostgreSQL session {pid} ({application}{state}{since})"
        ))
    }

    fn lock(&mut self, key: &str, timeout: Duration) -> Result<(), DbError> {
        let raw_url = self.raw_url.clone();
        let session = self.lock_session(key)?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(20);
        while !session.try_acquire(&raw_url)? {
            let now = Instant::now();
            if now >= deadline {
                return Err(DbError::lock_timeout(format!(
                    "timed out after {}s waiting for the migration lock (PostgreSQL advisory \
                     lock {} for `{key}` in database `{}`)",
                    timeout.as_secs_f64(),
                    session.id,
                    session.database
                )));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(500));
        }
        session.held = true;
        Ok(())
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        match self.lock.take() {
            Some(mut session) if session.held && session.key == key => {
                let released: bool = session
                    .client
                    .query_one("SELECT pg_advisory_unlock($1)", &[&session.id])
                    .map_err(|e| self.db_error(e))?
                    .get(0);
                if released {
                    Ok(())
                } else {
                    Err(DbError::new(format!(
                        "the migration lock `{key}` was not held when releasing it"
                    )))
                }
            }
            other => {
                self.lock = other;
                Err(DbError::new(format!(
                    "the migration lock `{key}` is not held by this connection"
                )))
            }
        }
    }

    fn set_timeouts(
        &mut self,
        lock: Duration,
        statement: Duration,
        in_transaction: bool,
    ) -> Result<(), DbError> {
        let scope = if in_transaction { "LOCAL" } else { "SESSION" };
        // `0` turns PostgreSQL's lock timeout off; an unset statement timeout leaves the
        // server's (or role's) own.
        let mut sql = format!("SET {scope} lock_timeout = '{}ms'", millis(lock));
        if !statement.is_zero() {
            sql.push_str(&format!(
                "; SET {scope} statement_timeout = '{}ms'",
                millis(statement)
            ));
        }
        self.simple(&sql)?;
        self.session_timeouts = !in_transaction;
        self.watch.arm(lock);
        if !lock.is_zero() {
            self.open_observer();
        }
        Ok(())
    }

    fn reset_timeouts(&mut self) -> Result<(), DbError> {
        self.watch.arm(Duration::ZERO);
        if std::mem::take(&mut self.session_timeouts) {
            self.simple("RESET lock_timeout; RESET statement_timeout")?;
        }
        Ok(())
    }

    fn blocker(&mut self) -> Option<String> {
        self.watch.take("PostgreSQL", "application")
    }

    fn current_user(&mut self) -> Option<String> {
        self.client
            .query_one("SELECT current_user::text", &[])
            .ok()
            .map(|row| row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_require_is_refused_clearly_and_others_accepted() {
        let err = parse_config("postgresql://u:secret@localhost/db?sslmode=require")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not supported in this build"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        for mode in ["disable", "allow", "prefer"] {
            let config =
                parse_config(&format!("postgresql://u@localhost/db?sslmode={mode}")).unwrap();
            assert_ne!(config.get_ssl_mode(), SslMode::Require);
        }
    }

    #[test]
    fn urls_with_encoded_passwords_ports_and_sockets() {
        let config = parse_config("postgresql://app:p%40ss%2Fw@db.local:6543/prod").unwrap();
        assert_eq!(config.get_password(), Some(&b"p@ss/w"[..]));
        assert_eq!(config.get_ports(), &[6543]);
        assert_eq!(config.get_dbname(), Some("prod"));
        for url in [
            "postgresql://postgres@%2Fvar%2Frun%2Fpostgresql/test",
            "postgresql://postgres@/test?host=/var/run/postgresql",
        ] {
            let config = parse_config(url).unwrap();
            assert!(
                matches!(config.get_hosts(), [postgres::config::Host::Unix(p)] if p.ends_with("postgresql")),
                "{url}: {:?}",
                config.get_hosts()
            );
        }
    }

    #[test]
    fn timeouts_are_whole_milliseconds_and_never_round_to_off() {
        assert_eq!(millis(Duration::from_micros(500)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::ZERO), 0);
    }

    #[test]
    fn text_values_convert_by_type() {
        assert_eq!(value_from_text(&Type::BOOL, Some("t")), Value::Bool(true));
        assert_eq!(value_from_text(&Type::INT8, Some("-42")), Value::Int(-42));
        assert_eq!(
            value_from_text(&Type::FLOAT8, Some("1.5")),
            Value::Real(1.5)
        );
        assert_eq!(
            value_from_text(&Type::NUMERIC, Some("12.50")),
            Value::Text("12.50".into())
        );
        assert_eq!(
            value_from_text(&Type::BYTEA, Some("\\x00ff")),
            Value::Bytes(vec![0, 255])
        );
        assert_eq!(value_from_text(&Type::TEXT, None), Value::Null);
    }
}
