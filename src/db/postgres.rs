//! PostgreSQL backend (postgres crate, synchronous; TLS with rustls as libpq's `sslmode`s ask,
//! see `db/tls.rs`).
//!
//! Statements go through the simple query protocol, one per call, as `psql` sends them: one
//! round trip each, and `$1` inside a statement body is left to the server. Queries first
//! `prepare` the statement (which also refuses more than one statement) to learn the column
//! types, then read the rows as text and convert them by type. retort's own parameterized
//! queries use unnamed statements (`query_typed`): one round trip, and nothing left behind on a
//! server session that a pooler may hand to another client.
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
//!
//! Behind a proxy or pooler (`lock = "auto"`), or with `lock = "table"`, the lock is a lease
//! row instead, fenced in each transaction (see `db/lease.rs`); nothing there relies on
//! session state across transactions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::blocker::{scrub_query, Blocker, Watch};
use super::lease::Lease;
use super::own_thread::OwnThread;
use super::server::{lock_id, scrub_password};
use super::version_table::quoted_ident;
use super::{tls, Connection, DbError, LockOptions, Value};
use crate::config::tls::{TlsMode, TlsSettings};
use crate::config::{DatabaseUrl, Dialect, LockKind};
use crate::error::{Error, Result};

/// The `pg_locks l` row of a granted advisory lock on the bigint key `$1` in this database: the
/// key is split over `classid` (high half) and `objid` (low half).
pub(super) const HELD_ADVISORY_KEY: &str = "l.locktype = 'advisory' AND l.granted \
     AND l.objsubid = 1 AND l.classid = (($1::bigint >> 32) & 4294967295)::oid \
     AND l.objid = ($1::bigint & 4294967295)::oid \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// SQLSTATE `lock_not_available` (e.g. `lock_timeout` expired).
pub(super) const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE `deadlock_detected`.
const DEADLOCK_DETECTED: &str = "40P01";

/// Opens a connection whose migration lock is the default (`lock = "auto"`).
pub(crate) fn open(url: &DatabaseUrl) -> Result<Box<dyn super::Connection>> {
    open_locking(url, LockOptions::default())
}

/// Opens a connection that takes the migration lock `lock` asks for.
pub(crate) fn open_locking(
    url: &DatabaseUrl,
    lock: LockOptions,
) -> Result<Box<dyn super::Connection>> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // The client blocks on a runtime of its own, which tokio refuses inside another
        // (`#[tokio::main]` calling the library): it runs on a thread of its own instead.
        let raw_url = url.expose_secret().to_string();
        let conn = OwnThread::open(url, move || {
            let mut conn = Postgres::connect(&raw_url)?;
            conn.lock_options = lock;
            Ok(Box::new(conn))
        })?;
        return Ok(Box::new(conn));
    }
    let mut conn = Postgres::connect(url.expose_secret())?;
    conn.lock_options = lock;
    Ok(Box::new(conn))
}

struct Postgres {
    client: Client,
    /// The settings the connection was made with, for the lock's session.
    config: postgres::Config,
    tls: Option<MakeRustlsConnect>,
    /// The URL as given, only to scrub its password from driver messages.
    raw_url: String,
    lock: Option<MigrationLock>,
    lock_options: LockOptions,
    /// retort's catalog queries, prepared once on a direct connection: their plans are kept
    /// (a schema read runs eleven, twice a revision in `retort test`).
    catalog_statements: HashMap<String, postgres::Statement>,
    /// A transaction is open (`begin` to `commit` or `rollback`): outside one, a statement
    /// run under a lease first checks the lease is still ours.
    in_transaction: bool,
    /// The server may be reached through a pooler that lends its sessions per transaction:
    /// true once a lease was chosen behind a proxy (see [`behind_proxy`]).
    pooled: bool,
    /// Whether the timeouts were set for the session (to reset) rather than the transaction.
    session_timeouts: bool,
    /// Who blocks a statement waiting for a lock, seen from a second session opened when a
    /// lock timeout is first set.
    watch: Watch<Client>,
    /// The server is reached through a proxy or pooler (see [`behind_proxy`]): queries use
    /// unnamed statements only.
    proxied: bool,
}

/// The migration lock: the advisory lock on a session of its own, or the lease row.
enum MigrationLock {
    Advisory(LockSession),
    Lease(Lease),
}

impl MigrationLock {
    fn key(&self) -> &str {
        match self {
            MigrationLock::Advisory(session) => &session.key,
            MigrationLock::Lease(lease) => &lease.key,
        }
    }

    fn held(&self) -> bool {
        match self {
            MigrationLock::Advisory(session) => session.held,
            MigrationLock::Lease(lease) => lease.held(),
        }
    }
}

/// The session for the advisory lock of `key`; kept after a failed `try_lock` for `lock`.
struct LockSession {
    client: Client,
    key: String,
    id: i64,
    /// The key every transaction of the holder takes (see the module doc).
    commit_id: i64,
    database: String,
    /// Where a runner with the lease lock (`lock = "table"`, or `auto` behind a pooler) keeps
    /// it: the advisory lock counts as taken only while no live lease is there.
    lease_table: String,
    held: bool,
}

/// One way to connect: the driver's `sslmode` and the TLS connector, if any.
struct Attempt {
    config: postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl Attempt {
    fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

impl Postgres {
    fn connect(raw_url: &str) -> Result<Postgres> {
        let shown = scrub_password(raw_url, raw_url);
        let (settings, mut attempt, mut fallback) = parse_config(raw_url)?;
        let outcome = loop {
            match (attempt.connect(), fallback.take()) {
                (Err(_), Some(next)) => attempt = next,
                (outcome, _) => break outcome,
            }
        };
        let e = match outcome {
            Ok(mut client) => {
                let proxied = behind_proxy(&mut client, &attempt.config).map_err(|e| {
                    Error::ConnectFailed {
                        url: shown,
                        cause: db_error(e, raw_url),
                    }
                })?;
                return Ok(Postgres {
                    client,
                    config: attempt.config,
                    tls: attempt.tls,
                    raw_url: raw_url.to_string(),
                    lock: None,
                    lock_options: LockOptions::default(),
                    catalog_statements: HashMap::new(),
                    in_transaction: false,
                    pooled: false,
                    proxied,
                    session_timeouts: false,
                    watch: Watch::new(),
                });
            }
            Err(e) => e,
        };
        let problem = attempt
            .tls
            .as_ref()
            .and_then(|_| tls::problem(&e, &settings, Some("server does not support TLS")));
        Err(match problem {
            Some(problem) => Error::TlsFailed {
                url: shown,
                dialect: Dialect::Postgresql,
                mode_param: settings.names().mode,
                mode: settings.mode_name(),
                problem,
            },
            None => Error::ConnectFailed {
                url: shown,
                cause: db_error(e, raw_url),
            },
        })
    }

    /// Another session to the same server, over the same TLS as this one.
    fn new_session(&self) -> Result<Client, postgres::Error> {
        Attempt {
            config: self.config.clone(),
            tls: self.tls.clone(),
        }
        .connect()
    }

    /// Opens the observer session unless there is one; without it (no connection slot left)
    /// the retry lines cannot name the blocker, which is no reason to fail the run.
    fn open_observer(&mut self) {
        if self.watch.observer.is_some() {
            return;
        }
        let pid: i32 = match self.client.query_typed_one("SELECT pg_backend_pid()", &[]) {
            Ok(row) => row.get(0),
            Err(_) => return,
        };
        if let (Ok(client), Ok(pid)) = (self.new_session(), u64::try_from(pid)) {
            self.watch.observer = Some((client, pid));
        }
    }

    fn db_error(&self, e: postgres::Error) -> DbError {
        db_error(e, &self.raw_url)
    }

    /// The application name the lease row records (`retort` unless the URL names another).
    fn application(&self) -> String {
        self.config
            .get_application_name()
            .unwrap_or("retort")
            .to_string()
    }

    /// The migration lock for `key`: the one a failed `try_lock` left, else a new one (polled
    /// on a session of its own, see the module doc).
    fn lock_session(&mut self, key: &str) -> Result<&mut MigrationLock, DbError> {
        let session = match self.lock.take() {
            Some(held) if held.held() => {
                self.lock = Some(held);
                return Err(DbError::new(format!(
                    "the migration lock `{key}` is already held by this connection"
                )));
            }
            Some(pending) if pending.key() == key => pending,
            _ => self.open_lock_session(key)?,
        };
        Ok(self.lock.insert(session))
    }

    /// Opens the lock's session and picks the lock `lock_options` ask for: `auto` is the
    /// advisory lock on a direct connection, the lease behind a proxy or pooler.
    fn open_lock_session(&mut self, key: &str) -> Result<MigrationLock, DbError> {
        let database: String = self
            .client
            .query_typed_one("SELECT current_database()::text", &[])
            .map_err(|e| self.db_error(e))?
            .get(0);
        let mut client = self.new_session().map_err(|e| {
            let message = format!(
                "cannot open the session for the migration lock: {}",
                describe(&e, &self.raw_url)
            );
            DbError::from_driver(message, false, e)
        })?;
        let kind = self.lock_options.config.kind;
        let id = lock_id(&database, key);
        let commit_id = lock_id(&database, &format!("{key}:commit"));
        let lease_table = super::lease::qualified_table(self.lock_options.schema.as_deref());
        // Whether a pooler shares server sessions cannot be proven false under load (another
        // client may have taken the session the probe looks for): `auto` takes the lease
        // behind any proxy, and only `advisory` asks, to refuse when it sees one shared.
        if kind == LockKind::Table || (kind == LockKind::Auto && self.proxied) {
            self.pooled = self.proxied;
            let options = &self.lock_options;
            let lease = Lease::new(
                client,
                key,
                options.schema.as_deref(),
                options.config.lease,
                (id, commit_id),
            )
            .map_err(|e| {
                let message = format!(
                    "cannot create the lease table `{}`: {}",
                    super::lease::TABLE,
                    describe(&e, &self.raw_url)
                );
                DbError::from_driver(message, false, e)
            })?;
            return Ok(MigrationLock::Lease(lease));
        }
        let pooled = self.proxied
            && transaction_pooling(&mut self.client, &mut client)
                .map_err(|e| db_error(e, &self.raw_url))?;
        if pooled {
            return Err(DbError::lock_unsupported(
                "the server is reached through a pooler in transaction mode (two sessions of \
                 this run were served by one server session): PostgreSQL's session advisory \
                 lock (`lock = \"advisory\"`) cannot keep runners apart there",
            ));
        }
        Ok(MigrationLock::Advisory(LockSession {
            client,
            key: key.to_string(),
            id,
            commit_id,
            database,
            lease_table,
            held: false,
        }))
    }

    /// The lease this connection holds, if it holds one.
    fn held_lease(&self) -> Option<&Lease> {
        match &self.lock {
            Some(MigrationLock::Lease(lease)) if lease.held() => Some(lease),
            _ => None,
        }
    }

    /// The error of a lease found no longer ours, with who holds it now.
    fn lease_lost(&mut self) -> DbError {
        let why = match &self.lock {
            Some(MigrationLock::Lease(lease)) => lease.why_lost(&mut self.client),
            _ => "the migration lock is not held".to_string(),
        };
        DbError::lock_lost(why)
    }

    /// Outside a transaction, under a lease: extends it, or fails when it is no longer ours.
    fn check_lease(&mut self) -> Result<(), DbError> {
        let Some(extend) = self.held_lease().map(Lease::extend_sql) else {
            return Ok(());
        };
        if self.in_transaction {
            return Ok(());
        }
        match self.simple(&extend)? {
            1 => Ok(()),
            _ => Err(self.lease_lost()),
        }
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
    /// One `pg_try_advisory_lock`, and when it is taken a try of the commit key (released at
    /// once, the statement being its own transaction): `None` when another session holds the
    /// lock, `Some(false)` when it is now held but a killed holder's transaction is still
    /// committing, `Some(true)` when it is held and no such transaction remains.
    fn try_acquire(&mut self, raw_url: &str) -> Result<Option<bool>, DbError> {
        let row = self
            .client
            .query_typed_one(
                "SELECT CASE WHEN pg_try_advisory_lock($1) THEN pg_try_advisory_xact_lock($2) END",
                &[(&self.id, Type::INT8), (&self.commit_id, Type::INT8)],
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
                .query_typed_one(
                    "SELECT pg_try_advisory_xact_lock($1)",
                    &[(&commit_id, Type::INT8)],
                )
                .map_err(|e| db_error(e, raw_url))?;
            Ok(row.get(0))
        })?;
        if over {
            return Ok(());
        }
        // Best effort: the session ends with the process anyway.
        let _ = self
            .client
            .query_typed_one("SELECT pg_advisory_unlock($1)", &[(&self.id, Type::INT8)]);
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
        // A runner behind a pooler may hold the lease: give the lock back and wait (see
        // `Lease::try_acquire`, which looks for this lock the other way round).
        let leased = super::lease::live_lease(&mut self.client, &self.lease_table, &self.key)
            .map_err(|e| db_error(e, raw_url))?;
        if leased {
            self.client
                .query_typed_one("SELECT pg_advisory_unlock($1)", &[(&self.id, Type::INT8)])
                .map_err(|e| db_error(e, raw_url))?;
            return Ok(false);
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

/// Parses a `postgresql://` URL into its TLS settings and the way to connect, with the one to
/// try when that fails (`sslmode=allow`: plain text, then TLS).
fn parse_config(raw_url: &str) -> Result<(TlsSettings, Attempt, Option<Attempt>)> {
    let url = || scrub_password(raw_url, raw_url);
    // The driver knows only `disable`, `prefer` and `require`, and no certificate parameters.
    let (settings, stripped) = TlsSettings::from_url(Dialect::Postgresql, raw_url, &url())?;
    let mut config: postgres::Config =
        stripped
            .parse()
            .map_err(|e: postgres::Error| Error::PostgresUrlInvalid {
                url: url(),
                cause: db_error(e, raw_url),
            })?;
    if config.get_application_name().is_none() {
        config.application_name("retort");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(30));
    }
    let sockets_only = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, postgres::config::Host::Unix(_)));
    let with = |mode: SslMode, tls: Option<MakeRustlsConnect>| {
        let mut config = config.clone();
        config.ssl_mode(mode);
        Attempt { config, tls }
    };
    // libpq does not use TLS on a Unix socket, whatever the mode.
    if sockets_only || settings.mode == TlsMode::Disable {
        return Ok((settings, with(SslMode::Disable, None), None));
    }
    let connector = MakeRustlsConnect::new(tls::client_config(&settings, &url())?);
    Ok(match settings.mode {
        TlsMode::Allow => (
            settings,
            with(SslMode::Disable, None),
            Some(with(SslMode::Require, Some(connector))),
        ),
        TlsMode::Prefer => (settings, with(SslMode::Prefer, Some(connector)), None),
        _ => (settings, with(SslMode::Require, Some(connector)), None),
    })
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

/// Whether the session reaches the server through a proxy or pooler (PgBouncer, RDS Proxy, a
/// forwarded port): the server's own port is not the one connected to. Behind a pooler in
/// transaction mode each transaction may run on another server session, so the driver's named
/// prepared statements (`s0`, `s1`, ...) collide with other clients' ("prepared statement
/// \"s0\" already exists"); such a session uses unnamed statements only. Mistaking a forwarded
/// port for a pooler costs nothing but that.
fn behind_proxy(client: &mut Client, config: &postgres::Config) -> Result<bool, postgres::Error> {
    let port = client
        .simple_query("SELECT inet_server_port()")?
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
            _ => None,
        })
        .flatten();
    let tcp = matches!(config.get_hosts(), [postgres::config::Host::Tcp(_), ..]);
    let asked = config.get_ports().first().copied().unwrap_or(5432);
    Ok(tcp && port != Some(asked.to_string()))
}

/// Whether two sessions of a proxied connection share server sessions, which only a pooler in
/// transaction mode does: `main` asks for its server's PID (and lets the server go back to the
/// pool); `other` opens a transaction and asks for its server's PID. Directly or in session
/// mode the two are different sessions; in transaction mode PgBouncer hands out the most
/// recently used server first, which is `main`'s. (`main` asking again while `other` holds the
/// server would wait forever on a pool of one.)
fn transaction_pooling(main: &mut Client, other: &mut Client) -> Result<bool, postgres::Error> {
    fn pid(client: &mut Client, sql: &str) -> Result<Option<String>, postgres::Error> {
        Ok(client.simple_query(sql)?.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        }))
    }
    let first = pid(main, "SELECT pg_backend_pid()")?;
    let held = pid(other, "BEGIN; SELECT pg_backend_pid()")?;
    other.simple_query("COMMIT")?;
    Ok(held == first)
}

/// A column's value as the server sent it in binary, for the types without a decoder here.
struct Raw(Vec<u8>);

impl<'a> postgres::types::FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Converts column `i` of a binary-format row to a `Value` by its PostgreSQL type, as
/// [`value_from_text`] does for text: numbers and booleans typed, NUMERIC, dates and timestamps
/// as PostgreSQL prints them, other text-like types as text, anything else as its bytes.
fn value_from_binary(row: &postgres::Row, i: usize) -> Value {
    let Some(column) = row.columns().get(i) else {
        return Value::Null;
    };
    let ty = column.type_();
    let get = |row: &postgres::Row| row.try_get::<_, Option<Raw>>(i).ok().flatten();
    let value = match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .ok()
            .flatten()
            .map(Value::Bool),
        // The one-byte `"char"` of the catalogs (`relkind`, `contype`), text as psql shows it.
        Type::CHAR => row
            .try_get::<_, Option<i8>>(i)
            .ok()
            .flatten()
            .map(|c| Value::Text(char::from(c.to_ne_bytes()[0]).to_string())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .ok()
            .flatten()
            .map(|n| Value::Int(n.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .ok()
            .flatten()
            .map(|n| Value::Int(n.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .ok()
            .flatten()
            .map(Value::Int),
        Type::OID => row
            .try_get::<_, Option<u32>>(i)
            .ok()
            .flatten()
            .map(|n| Value::Int(n.into())),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .ok()
            .flatten()
            .map(|f| Value::Real(f.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .ok()
            .flatten()
            .map(Value::Real),
        Type::BYTEA => get(row).map(|Raw(bytes)| Value::Bytes(bytes)),
        Type::NUMERIC => get(row)
            .map(|Raw(bytes)| decode_numeric(&bytes).map_or(Value::Bytes(bytes), Value::Text)),
        Type::DATE | Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row)
            .map(|Raw(bytes)| decode_time(ty, &bytes).map_or(Value::Bytes(bytes), Value::Text)),
        // JSONB's binary form is a version byte, then the text.
        Type::JSONB => get(row).map(|Raw(bytes)| {
            Value::Text(String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).into_owned())
        }),
        _ => get(row).map(|Raw(bytes)| match std::str::from_utf8(&bytes) {
            Ok(text) if is_text_like(ty) => Value::Text(text.to_string()),
            _ => Value::Bytes(bytes),
        }),
    };
    value.unwrap_or(Value::Null)
}

/// Types whose binary form is their text.
fn is_text_like(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::JSON
            | Type::XML
    ) || matches!(ty.kind(), postgres::types::Kind::Enum(_))
}

/// NUMERIC's binary form (base-10000 digits, weight, sign, display scale) as PostgreSQL prints it.
fn decode_numeric(bytes: &[u8]) -> Option<String> {
    let word = |at: usize| Some(i16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    let (count, weight, sign, scale) = (word(0)?, word(2)?, word(4)? as u16, word(6)?);
    let digits: Vec<i16> = (0..usize::try_from(count).ok()?)
        .map(|k| word(8 + 2 * k))
        .collect::<Option<_>>()?;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digit = |position: i32| -> i16 {
        usize::try_from(i32::from(weight) - position)
            .ok()
            .and_then(|k| digits.get(k).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    let mut integer = String::new();
    for position in (0..=i32::from(weight).max(0)).rev() {
        integer.push_str(&format!("{:04}", digit(position)));
    }
    let integer = integer.trim_start_matches('0');
    text.push_str(if integer.is_empty() { "0" } else { integer });
    if scale > 0 {
        let mut fraction = String::new();
        for position in 1..=(i32::from(scale) + 3) / 4 {
            fraction.push_str(&format!("{:04}", digit(-position)));
        }
        text.push('.');
        text.push_str(fraction.get(..usize::try_from(scale).ok()?)?);
    }
    Some(text)
}

/// DATE (days) and TIMESTAMP[TZ] (microseconds) since 2000-01-01, as PostgreSQL prints them
/// (TIMESTAMPTZ in UTC).
fn decode_time(ty: &Type, bytes: &[u8]) -> Option<String> {
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?;
    if *ty == Type::DATE {
        let days = i32::from_be_bytes(bytes.try_into().ok()?);
        return Some((epoch + chrono::Duration::days(days.into())).to_string());
    }
    let micros = i64::from_be_bytes(bytes.try_into().ok()?);
    let at = epoch.and_hms_opt(0, 0, 0)? + chrono::Duration::microseconds(micros);
    let mut text = at.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    // PostgreSQL prints the fraction without trailing zeros, and none at all when it is zero.
    text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    Some(if *ty == Type::TIMESTAMPTZ {
        format!("{text}+00")
    } else {
        text
    })
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
    if !hex.len().is_multiple_of(2) {
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
        self.check_lease()?;
        self.simple(sql)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.in_transaction = false;
        self.simple("COMMIT").map(drop)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_transaction = false;
        self.simple("ROLLBACK").map(drop)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        if self.proxied {
            return self.query_catalog(sql);
        }
        let statement = self.client.prepare(sql).map_err(|e| self.db_error(e))?;
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        // The values as the server prints them, typed by the statement's columns.
        let rows = self.query_text(sql)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, value)| match value {
                        Value::Text(text) => {
                            value_from_text(types.get(i).unwrap_or(&Type::TEXT), Some(&text))
                        }
                        other => other,
                    })
                    .collect()
            })
            .collect())
    }

    /// The simple protocol alone: one round trip, and text is what it returns.
    fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| self.db_error(e))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| {
                            row.get(i)
                                .map_or(Value::Null, |t| Value::Text(t.to_string()))
                        })
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// One round trip, rows in binary converted by type: behind a proxy one unnamed
    /// statement (nothing left on a server session a pooler lends to others), else a statement
    /// prepared on first use and kept.
    fn query_catalog(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let rows = if self.proxied {
            self.client.query_typed(sql, &[])
        } else {
            let statement = match self.catalog_statements.get(sql) {
                Some(statement) => Ok(statement.clone()),
                None => self.client.prepare(sql).inspect(|statement| {
                    self.catalog_statements
                        .insert(sql.to_string(), statement.clone());
                }),
            };
            statement.and_then(|statement| self.client.query(&statement, &[]))
        }
        .map_err(|e| self.db_error(e))?;
        Ok(rows
            .iter()
            .map(|row| (0..row.len()).map(|i| value_from_binary(row, i)).collect())
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
        let row = self
            .client
            .query_typed_one(sql, &[(&name, Type::TEXT)])
            .map_err(|e| self.db_error(e))?;
        Ok(row.get(0))
    }

    /// The holder's transactions take the commit key (see the module doc) in `BEGIN`'s round
    /// trip; a killed holder's commit then keeps it until that commit is over. Under a lease
    /// they lock the lease row instead, and stop when it is no longer theirs.
    fn begin(&mut self) -> Result<(), DbError> {
        let sql = match self.lock.as_ref().filter(|s| s.held()) {
            Some(MigrationLock::Advisory(session)) => {
                format!("BEGIN; SELECT pg_advisory_xact_lock({})", session.commit_id)
            }
            Some(MigrationLock::Lease(lease)) if lease.heartbeat_lost() => {
                return Err(self.lease_lost());
            }
            Some(MigrationLock::Lease(lease)) => lease.begin_sql(),
            None => "START TRANSACTION".to_string(),
        };
        let rows = self.simple(&sql)?;
        self.in_transaction = true;
        if self.held_lease().is_some() && rows != 1 {
            let _ = self.rollback();
            return Err(self.lease_lost());
        }
        Ok(())
    }

    fn try_lock(&mut self, key: &str, timeout: Duration) -> Result<bool, DbError> {
        let raw_url = self.raw_url.clone();
        let application = self.application();
        match self.lock_session(key)? {
            MigrationLock::Advisory(session) => session.acquire(&raw_url, timeout),
            MigrationLock::Lease(lease) => lease
                .try_acquire(timeout, &application)
                .map_err(|e| db_error(e, &raw_url)),
        }
    }

    /// The session holding the advisory lock, from `pg_locks` and `pg_stat_activity`: a
    /// runner killed mid-statement leaves its server session (and the lock) behind until the
    /// server notices, and this names it (`pg_terminate_backend(pid)` ends it).
    fn lock_holder(&mut self, key: &str) -> Option<String> {
        let (id, lease_table) = match self.lock.as_ref().filter(|s| s.key() == key)? {
            MigrationLock::Advisory(session) => (session.id, session.lease_table.clone()),
            MigrationLock::Lease(lease) => return lease.holder(&mut self.client),
        };
        let row = self
            .client
            .query_typed_opt(
                &format!(
                    "SELECT a.pid, coalesce(a.application_name, ''), \
                     coalesce(a.state, 'unknown'), \
                     to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
                     extract(epoch FROM now() - a.state_change)::bigint \
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE {HELD_ADVISORY_KEY} LIMIT 1"
                ),
                &[(&id, Type::INT8)],
            )
            .ok()?;
        // No session holds the advisory lock: a runner behind a pooler may hold the lease.
        let Some(row) = row else {
            return super::lease::holder(&mut self.client, &lease_table, key);
        };
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
        let application = self.application();
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let what = match self.lock_session(key)? {
            MigrationLock::Advisory(session) => {
                if poll_until(deadline, || session.acquire(&raw_url, left()))? {
                    return Ok(());
                }
                format!(
                    "PostgreSQL advisory lock {} for `{key}` in database `{}`",
                    session.id, session.database
                )
            }
            MigrationLock::Lease(lease) => {
                let taken = poll_until(deadline, || {
                    lease
                        .try_acquire(left(), &application)
                        .map_err(|e| db_error(e, &raw_url))
                })?;
                if taken {
                    return Ok(());
                }
                format!("the lease `{key}` in `{}`", lease.table())
            }
        };
        Err(DbError::lock_timeout(format!(
            "timed out after {}s waiting for the migration lock ({what})",
            timeout.as_secs_f64(),
        )))
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        match self.lock.take() {
            Some(MigrationLock::Lease(lease)) if lease.held() && lease.key == key => {
                let raw_url = self.raw_url.clone();
                lease.release(&|e| db_error(e, &raw_url))
            }
            Some(MigrationLock::Advisory(mut session)) if session.held && session.key == key => {
                let released: bool = session
                    .client
                    .query_typed_one(
                        "SELECT pg_advisory_unlock($1)",
                        &[(&session.id, Type::INT8)],
                    )
                    .map_err(|e| self.db_error(e))?
                    .get(0);
                // The session stays for the next run on this connection (`retort test` runs
                // three a revision): a new one would cost a connection and a TLS handshake.
                session.held = false;
                self.lock = Some(MigrationLock::Advisory(session));
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
        if self.pooled && !in_transaction {
            // A session setting would stay on whichever server session the pooler lent for
            // it, and the statements that follow may run on another: none is set (documented
            // in docs/running.md), rather than one that leaks to other clients.
            return Ok(());
        }
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
        if self.pooled {
            // The server session behind this one changes with each transaction: there is no
            // one backend to watch for the blocker.
            return Ok(());
        }
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
            .query_typed_one("SELECT current_user::text", &[])
            .ok()
            .map(|row| row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_map_to_driver_modes_and_connectors() {
        let modes = |url: &str| {
            let (_, first, fallback) = parse_config(url).unwrap();
            let describe = |a: &Attempt| (a.config.get_ssl_mode(), a.tls.is_some());
            (describe(&first), fallback.as_ref().map(describe))
        };
        let url = |mode: &str| format!("postgresql://u@localhost/db?sslmode={mode}");
        assert_eq!(modes(&url("disable")), ((SslMode::Disable, false), None));
        assert_eq!(
            modes(&url("allow")),
            ((SslMode::Disable, false), Some((SslMode::Require, true)))
        );
        // libpq's default is `prefer`.
        assert_eq!(
            modes("postgresql://u@localhost/db"),
            ((SslMode::Prefer, true), None)
        );
        assert_eq!(modes(&url("require")), ((SslMode::Require, true), None));
        // No TLS on a Unix socket, as libpq.
        assert_eq!(
            modes("postgresql://u@/db?host=/var/run/postgresql&sslmode=require"),
            ((SslMode::Disable, false), None)
        );
        let err = parse_config("postgresql://u:secret@localhost/db?sslmode=verify-full")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no `sslrootcert`"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn urls_with_encoded_passwords_ports_and_sockets() {
        let config = parse_config("postgresql://app:p%40ss%2Fw@db.local:6543/prod")
            .unwrap()
            .1
            .config;
        assert_eq!(config.get_password(), Some(&b"p@ss/w"[..]));
        assert_eq!(config.get_ports(), &[6543]);
        assert_eq!(config.get_dbname(), Some("prod"));
        for url in [
            "postgresql://postgres@%2Fvar%2Frun%2Fpostgresql/test",
            "postgresql://postgres@/test?host=/var/run/postgresql",
        ] {
            let config = parse_config(url).unwrap().1.config;
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
    fn binary_numerics_and_times_print_as_postgres_does() {
        let numeric = |words: &[i16]| {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            decode_numeric(&bytes).unwrap()
        };
        // count, weight, sign, scale, digits (base 10000)
        assert_eq!(numeric(&[2, 0, 0, 2, 2, 5000]), "2.50");
        assert_eq!(numeric(&[2, 1, 0x4000, 0, 1, 2]), "-10002");
        assert_eq!(numeric(&[1, -1, 0, 4, 5]), "0.0005");
        assert_eq!(numeric(&[0, 0, 0, 0]), "0");
        assert_eq!(numeric(&[0, 0, 0xC000u16 as i16, 0]), "NaN");
        let days = 9466_i32.to_be_bytes();
        assert_eq!(decode_time(&Type::DATE, &days).unwrap(), "2025-12-01");
        let micros = (86_400_000_000_i64 + 1_500_000).to_be_bytes();
        assert_eq!(
            decode_time(&Type::TIMESTAMPTZ, &micros).unwrap(),
            "2000-01-02 00:00:01.5+00"
        );
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
