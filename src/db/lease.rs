//! The PostgreSQL migration lock as a lease row (`lock = "table"`, or `auto` behind a pooler in
//! transaction mode, where a session advisory lock cannot keep runners apart).
//!
//! The row (`retort_lock`, beside the version table) names its owner (a random id, the host,
//! pid and application, for the "held by" line) and when it expires, on the server's clock:
//! no runner's clock is compared with another's. Taking it is one statement that inserts the
//! row or takes over one whose expiry has passed; a heartbeat thread on its own session
//! extends it every third of the lease while it is held.
//!
//! Expiry alone cannot keep runners apart: a holder paused past its lease (or killed while its
//! COMMIT is on the way) may still commit. So each of the holder's transactions first locks
//! its own row, `FOR KEY SHARE`, in `BEGIN`'s round trip, and stops when the row is no longer
//! its own (the fence). A taker's `INSERT … ON CONFLICT DO UPDATE` also sets the key column,
//! which makes its row lock `FOR UPDATE`: that conflicts with `FOR KEY SHARE`, so the taker
//! waits for any transaction of the holder to end, and then sees the row as that transaction
//! left it. The heartbeat's `UPDATE` of `expires_at` alone (`FOR NO KEY UPDATE`) does not
//! conflict with it, so a revision that runs longer than the lease keeps its lease.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::types::Type;
use postgres::{Client, SimpleQueryMessage};

use super::version_table::quoted_ident;
use super::DbError;
use crate::config::Dialect;

/// The lease table's name, in the version table's schema.
pub(super) const TABLE: &str = "retort_lock";

/// The longest one try waits for the lease row's lock before polling again.
const MAX_WAIT_PER_TRY: Duration = Duration::from_secs(1);

/// SQLSTATEs of a `CREATE TABLE IF NOT EXISTS` that lost a race with another runner's: the
/// check is not atomic, so the loser trips on the table's name, or on its row type's
/// (`type "retort_lock" already exists`).
const RACE_LOST: [&str; 3] = ["23505", "42P07", "42710"];

/// The lease for one key, polled on `client` until taken, then kept by its heartbeat.
pub(super) struct Lease {
    pub(super) key: String,
    /// The lease table, quoted and qualified.
    table: String,
    owner: String,
    lease: Duration,
    /// The advisory lock and commit key a runner with `lock = "advisory"` (or `auto` on a
    /// direct connection) takes for the same key.
    advisory: (i64, i64),
    /// The session that polls for the lease; the heartbeat's while the lease is held.
    client: Option<Client>,
    heartbeat: Option<Heartbeat>,
}

struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Client>,
    /// The heartbeat's `UPDATE` found the row no longer ours.
    lost: Arc<AtomicBool>,
}

/// A string literal for SQL sent as text (standard_conforming_strings is on since 9.1).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Deletes the lease row of `key` in `table` if `owner` still holds it: the release, and the
/// give-back of a lease taken while an advisory-lock runner holds the key.
fn delete_sql(table: &str, key: &str, owner: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE key = {} AND owner = {}",
        literal(key),
        literal(owner)
    )
}

/// The rows a simple query reports for its statements, summed.
fn rows(messages: &[SimpleQueryMessage]) -> u64 {
    messages
        .iter()
        .map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => *n,
            _ => 0,
        })
        .sum()
}

/// The lease table in `schema` (the search path's first when `None`), quoted.
pub(super) fn qualified_table(schema: Option<&str>) -> String {
    let quote = |name: &str| quoted_ident(Dialect::Postgresql, name);
    match schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(TABLE)),
        None => quote(TABLE),
    }
}

/// Whether `table` holds an unexpired lease of `key`: an advisory-lock runner that took its
/// lock while a lease runner holds the lease gives its lock back (see [`Lease::try_acquire`]).
pub(super) fn live_lease(
    client: &mut Client,
    table: &str,
    key: &str,
) -> Result<bool, postgres::Error> {
    let exists: bool = client
        .query_typed_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[(&table, Type::TEXT)],
        )?
        .get(0);
    if !exists {
        return Ok(false);
    }
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE key = $1 AND expires_at > clock_timestamp())"
    );
    Ok(client.query_typed_one(&sql, &[(&key, Type::TEXT)])?.get(0))
}

impl Lease {
    /// The lease of `key` in `schema`'s lease table (created if missing), polled on `client`.
    /// `advisory` is the key's advisory lock and commit key (see [`Lease::try_acquire`]).
    pub(super) fn new(
        mut client: Client,
        key: &str,
        schema: Option<&str>,
        lease: Duration,
        advisory: (i64, i64),
    ) -> Result<Lease, postgres::Error> {
        let table = qualified_table(schema);
        // language=PostgreSQL
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, owner text NOT NULL, \
             host text NOT NULL, pid integer NOT NULL, application text NOT NULL, \
             acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)"
        );
        if let Err(e) = client.simple_query(&create) {
            // Two runners creating it at once: one of them fails, and the table is there.
            if !e.code().is_some_and(|c| RACE_LOST.contains(&c.code())) {
                return Err(e);
            }
        }
        Ok(Lease {
            key: key.to_string(),
            table,
            owner: uuid::Uuid::new_v4().simple().to_string(),
            lease,
            advisory,
            client: Some(client),
            heartbeat: None,
        })
    }

    pub(super) fn held(&self) -> bool {
        self.heartbeat.is_some()
    }

    /// The table for messages.
    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// One try for the lease; a lease row locked by a transaction of its holder (one killed
    /// while committing, or still running) is waited for at most `wait`, and at most a second
    /// a try: behind a pooler a waiting statement holds a server connection of the pool.
    pub(super) fn try_acquire(
        &mut self,
        wait: Duration,
        application: &str,
    ) -> Result<bool, postgres::Error> {
        let Some(client) = self.client.as_mut() else {
            return Ok(true);
        };
        // language=PostgreSQL
        let sql = format!(
            "INSERT INTO {table} AS l (key, owner, host, pid, application, acquired_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp(), \
             clock_timestamp() + $6 * interval '1 millisecond') \
             ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key, owner = EXCLUDED.owner, \
             host = EXCLUDED.host, pid = EXCLUDED.pid, application = EXCLUDED.application, \
             acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at \
             WHERE l.expires_at < clock_timestamp() RETURNING owner",
            table = self.table
        );
        let host = host_name();
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let mut tx = client.transaction()?;
        // `0` would wait forever.
        let wait_ms = wait.min(MAX_WAIT_PER_TRY).as_millis().max(1);
        tx.batch_execute(&format!("SET LOCAL lock_timeout = '{wait_ms}ms'"))?;
        let taken = tx.query_typed_opt(
            &sql,
            &[
                (&self.key, Type::TEXT),
                (&self.owner, Type::TEXT),
                (&host, Type::TEXT),
                (&pid, Type::INT4),
                (&application, Type::TEXT),
                (&lease_ms, Type::INT8),
            ],
        );
        let taken = match taken {
            Ok(row) => row.is_some(),
            // The holder's transaction did not end within the wait: not taken (yet).
            Err(e) if e.code().map(|c| c.code()) == Some(super::postgres::LOCK_NOT_AVAILABLE) => {
                return Ok(false)
            }
            Err(e) => return Err(e),
        };
        tx.commit()?;
        if !taken {
            return Ok(false);
        }
        // A runner on a direct connection may hold the advisory lock (or be committing under
        // it). Each kind first takes its own lock, then looks for the other's: of two runners
        // at once, at least one sees the other and gives its lock back.
        let (id, commit_id) = self.advisory;
        let advisory_held: bool = client
            .query_typed_one(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {}) \
                     OR NOT pg_try_advisory_xact_lock($2)",
                    super::postgres::HELD_ADVISORY_KEY
                ),
                &[(&id, Type::INT8), (&commit_id, Type::INT8)],
            )?
            .get(0);
        if advisory_held {
            client.simple_query(&delete_sql(&self.table, &self.key, &self.owner))?;
            return Ok(false);
        }
        self.start_heartbeat();
        Ok(true)
    }

    fn start_heartbeat(&mut self) {
        let Some(mut client) = self.client.take() else {
            return;
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        let extend = self.extend_sql();
        let period = self.lease / 3;
        let thread = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                match client.simple_query(&extend) {
                    Ok(messages) if rows(&messages) == 0 => {
                        flag.store(true, Ordering::SeqCst);
                        break;
                    }
                    // A failed heartbeat only lets the lease run out; the fence in each
                    // transaction is what keeps runners apart.
                    Ok(_) | Err(_) => {}
                }
            }
            client
        });
        self.heartbeat = Some(Heartbeat { stop, thread, lost });
    }

    /// Extends the lease if it is still ours; the heartbeat's statement, and the check before
    /// each statement of a revision that runs outside a transaction.
    pub(super) fn extend_sql(&self) -> String {
        format!(
            "UPDATE {} SET expires_at = clock_timestamp() + interval '{} milliseconds' \
             WHERE key = {} AND owner = {}",
            self.table,
            self.lease.as_millis(),
            literal(&self.key),
            literal(&self.owner)
        )
    }

    /// The statement that opens each of the holder's transactions: one row when the lease is
    /// still ours, then locked against a taker until the transaction ends (see the module doc).
    pub(super) fn begin_sql(&self) -> String {
        format!(
            "BEGIN; SELECT 1 FROM {} WHERE key = {} AND owner = {} FOR KEY SHARE",
            self.table,
            literal(&self.key),
            literal(&self.owner)
        )
    }

    /// Whether the heartbeat found the lease taken.
    pub(super) fn heartbeat_lost(&self) -> bool {
        self.heartbeat
            .as_ref()
            .is_some_and(|h| h.lost.load(Ordering::SeqCst))
    }

    /// Who holds the lease now, seen from `client`; `None` when nobody does.
    pub(super) fn holder(&self, client: &mut Client) -> Option<String> {
        holder(client, &self.table, &self.key)
    }

    /// Why the lease is no longer ours, seen from `client`.
    pub(super) fn why_lost(&self, client: &mut Client) -> String {
        match self.holder(client) {
            Some(holder) => format!(
                "another runner took over the migration lock `{}`: it is now {holder}",
                self.key
            ),
            None => format!(
                "the lease row of the migration lock `{}` is gone from `{}` (deleted by hand?)",
                self.key, self.table
            ),
        }
    }

    /// Stops the heartbeat and deletes the lease row if it is still ours: an error says why
    /// it was not (expired and taken over, or deleted).
    pub(super) fn release(
        mut self,
        db_error: &dyn Fn(postgres::Error) -> DbError,
    ) -> Result<(), DbError> {
        let Some(heartbeat) = self.heartbeat.take() else {
            return Err(DbError::new(format!(
                "the migration lock `{}` is not held by this connection",
                self.key
            )));
        };
        drop(heartbeat.stop);
        let mut client = heartbeat
            .thread
            .join()
            .map_err(|_| DbError::new("the lease's heartbeat thread panicked"))?;
        let deleted = client
            .simple_query(&delete_sql(&self.table, &self.key, &self.owner))
            .map(|messages| rows(&messages))
            .map_err(db_error)?;
        if deleted == 1 {
            return Ok(());
        }
        Err(DbError::new(format!(
            "the lease was no longer this run's: {}",
            self.why_lost(&mut client)
        )))
    }
}

/// Who holds the lease of `key` in `table` now, seen from `client`; `None` when nobody does.
pub(super) fn holder(client: &mut Client, table: &str, key: &str) -> Option<String> {
    // language=PostgreSQL
    let sql = format!(
        "SELECT owner, host, pid, application, \
         to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
         extract(epoch FROM expires_at - clock_timestamp())::float8 \
         FROM {} WHERE key = $1",
        table
    );
    let row = client.query_typed_opt(&sql, &[(&key, Type::TEXT)]).ok()??;
    let owner: String = row.get(0);
    let host: String = row.get(1);
    let pid: i32 = row.get(2);
    let application: String = row.get(3);
    let since: String = row.get(4);
    let left: f64 = row.get(5);
    let expiry = if left >= 0.0 {
        format!("expires in {left:.1}s unless renewed")
    } else {
        format!("expired {:.1}s ago", -left)
    };
    Some(format!(
        "the lease of runner {} (host `{}`, pid {pid}, application `{}`) in `{}`, taken \
         at {since} UTC, {expiry}",
        owner.get(..8).unwrap_or(&owner),
        crate::error::clip(&host, 60),
        crate::error::clip(&application, 60),
        table
    ))
}

/// This machine's name, for the "held by" line.
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("retort:o'brien.v"), "'retort:o''brien.v'");
    }
}
