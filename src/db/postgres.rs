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
//!
//! That session ends the moment a runner is killed, while the work session may still be
//! committing on the server (a COMMIT sent just before the kill): the next runner would then
//! read the old version rows and run a revision again. So every transaction of the lock holder
//! also takes a transaction-level advisory lock on a second key (in the `BEGIN`'s round trip),
//! and a runner that takes the migration lock takes and drops that key in the same statement,
//! waiting while it is held: it reads the version rows only after any such commit is over.

use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::own_thread::OwnThread;
use super::server::{lock_id, scrub_password};
use super::version_table::quoted_ident;
use super::{Connection, DbError, Value};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// SQLSTATE `lock_not_available` (e.g. `lock_timeout` expired).
const LOCK_NOT_AVAILABLE: &str = "55P03";

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
}

/// The session for the advisory lock of `key`; kept after a failed `try_lock` for `lock`.
struct LockSession {
    client: Client,
    key: String,
    id: i64,
    /// The key every transaction of the holder takes (see the module doc).
    commit_id: i64,
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
        })
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
            commit_id: lock_id(&database, &format!("{key}:commit")),
            database,
            held: false,
        })
    }

    fn simple(&mut self, sql: &str) -> Result<u64, DbError> {
        let messages = self
            .client
            .simple_query(sql)
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
    /// One `pg_try_advisory_lock`, and when it is taken a try of the commit key (released at
    /// once, the statement being its own transaction): `None` when another session holds the
    /// lock, `Some(false)` when it is now held but a killed holder's transaction is still
    /// committing, `Some(true)` when it is held and no such transaction remains.
    fn try_acquire(&mut self, raw_url: &str) -> Result<Option<bool>, DbError> {
        let row = self
            .client
            .query_one(
                "SELECT CASE WHEN pg_try_advisory_lock($1) THEN pg_try_advisory_xact_lock($2) END",
                &[&self.id, &self.commit_id],
            )
            .map_err(|e| db_error(e, raw_url))?;
        Ok(row.get(0))
    }

    /// Polls the commit key until no transaction of a killed holder remains, for at most
    /// `timeout`; the migration lock is released when that time runs out.
    fn wait_for_commits(&mut self, raw_url: &str, timeout: Duration) -> Result<(), DbError> {
        let commit_id = self.commit_id;
        let client = &mut self.client;
        let over = poll_until(Instant::now() + timeout, || {
            let row = client
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&commit_id])
                .map_err(|e| db_error(e, raw_url))?;
            Ok(row.get(0))
        })?;
        if over {
            return Ok(());
        }
        // Best effort: the session ends with the process anyway.
        let _ = self
            .client
            .query_one("SELECT pg_advisory_unlock($1)", &[&self.id]);
        Err(DbError::lock_timeout(format!(
            "timed out after {}s waiting for the transaction of a killed runner to end \
             (PostgreSQL advisory lock {} for `{}:commit` in database `{}`, held by a session \
             still committing or running a statement)",
            timeout.as_secs_f64(),
            self.commit_id,
            self.key,
            self.database
        )))
    }

    /// One try for the migration lock; a taken lock waits for a killed holder's commit.
    fn acquire(&mut self, raw_url: &str, timeout: Duration) -> Result<bool, DbError> {
        match self.try_acquire(raw_url)? {
            None => return Ok(false),
            Some(false) => self.wait_for_commits(raw_url, timeout)?,
            Some(true) => {}
        }
        self.held = true;
        Ok(true)
    }
}

/// Calls `attempt` until it succeeds or `deadline` passes (`Ok(false)`), pausing between tries
/// from 20 ms, doubling up to 500 ms.
fn poll_until(
    deadline: Instant,
    mut attempt: impl FnMut() -> Result<bool, DbError>,
) -> Result<bool, DbError> {
    let mut pause = Duration::from_millis(20);
    while !attempt()? {
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(500));
    }
    Ok(true)
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
    let is_lock_timeout = e.code().is_some_and(|c| c.code() == LOCK_NOT_AVAILABLE);
    DbError::from_driver(describe(&e, raw_url), is_lock_timeout, e)
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

    /// The holder's transactions take the commit key (see the module doc) in `BEGIN`'s round
    /// trip; a killed holder's commit then keeps it until that commit is over.
    fn begin(&mut self) -> Result<(), DbError> {
        match self.lock.as_ref().filter(|s| s.held) {
            Some(session) => {
                let sql = format!("BEGIN; SELECT pg_advisory_xact_lock({})", session.commit_id);
                self.simple(&sql).map(drop)
            }
            None => self.simple("START TRANSACTION").map(drop),
        }
    }

    fn try_lock(&mut self, key: &str, timeout: Duration) -> Result<bool, DbError> {
        let raw_url = self.raw_url.clone();
        let session = self.lock_session(key)?;
        session.acquire(&raw_url, timeout)
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
        let held = poll_until(deadline, || {
            session.acquire(&raw_url, deadline.saturating_duration_since(Instant::now()))
        })?;
        if held {
            return Ok(());
        }
        Err(DbError::lock_timeout(format!(
            "timed out after {}s waiting for the migration lock (PostgreSQL advisory lock {} \
             for `{key}` in database `{}`)",
            timeout.as_secs_f64(),
            session.id,
            session.database
        )))
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
