//! Trying a revision again after it lost a lock conflict (it waited past `lock_timeout`, or the
//! server chose it to break a deadlock): what may be repeated, how long to wait, and when to
//! give up.
//!
//! A transactional revision is rolled back whole and run again from its first statement; the
//! wait happens with no transaction open, so nothing queues behind the revision while it
//! waits. A non-transactional revision keeps what its earlier statements did and repeats only
//! the statement that timed out, when repeating it is safe: a failed `CREATE INDEX
//! CONCURRENTLY` leaves an invalid index behind, which is dropped first. Waits grow
//! exponentially with jitter (so runners on several hosts do not retry in step), inside the
//! revision's total retry budget.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::partial::{self, leading_words, strip_leading_comments, TxEffect};
use crate::config::{Dialect, Timeouts};
pub use crate::report::Attempt;

/// The first wait; each next one doubles, up to [`MAX_BACKOFF`].
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A lost lock conflict, as the retry line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRetry {
    pub revision: String,
    /// The attempt that lost (1 for the first).
    pub attempt: u32,
    /// How many attempts the revision gets in all.
    pub attempts_allowed: u32,
    /// `lock timeout` or `deadlock`.
    pub cause: &'static str,
    /// The file line of the statement that lost.
    pub line: usize,
    /// How long the attempt ran before it lost.
    pub ran: Duration,
    pub blocker: Option<String>,
    /// The wait before the next attempt.
    pub wait: Duration,
    /// Only the statement runs again (a non-transactional revision), not the whole revision.
    pub statement_only: bool,
    /// The invalid index a failed `CREATE INDEX CONCURRENTLY` left, dropped (if it is still
    /// invalid) before the statement runs again.
    pub drops_invalid_index: Option<String>,
}

/// A statement that lost a lock conflict.
#[derive(Debug, Clone)]
pub(crate) struct Lost {
    pub cause: &'static str,
    pub line: usize,
    pub blocker: Option<String>,
    /// The server's message.
    pub message: String,
}

/// The attempts of the revision that runs.
#[derive(Debug)]
pub(crate) struct Retry {
    timeouts: Timeouts,
    /// When the first attempt started, as its audit row records it.
    pub started_at: String,
    first_started: Instant,
    /// When the current attempt (of the revision or of its failing statement) started.
    pub attempt_started: Instant,
    pub attempts: Vec<Attempt>,
}

/// What the retry decided after a lost conflict.
pub(crate) enum Next {
    /// Wait this long, then try again.
    Wait(Duration),
    /// The retries or the budget are used up.
    GiveUp,
}

impl Retry {
    pub(crate) fn new(timeouts: Timeouts) -> Retry {
        let now = Instant::now();
        Retry {
            timeouts,
            started_at: super::now_rfc3339(),
            first_started: now,
            attempt_started: now,
            attempts: Vec::new(),
        }
    }

    /// How many attempts the revision gets in all.
    pub(crate) fn allowed(&self) -> u32 {
        self.timeouts.retries.saturating_add(1)
    }

    /// How long all attempts took so far.
    pub(crate) fn elapsed(&self) -> Duration {
        self.first_started.elapsed()
    }

    /// Records a lost conflict of the current attempt and decides whether to try again.
    pub(crate) fn lost(
        &mut self,
        cause: &'static str,
        line: usize,
        blocker: Option<String>,
    ) -> Next {
        let number = u32::try_from(self.attempts.len()).unwrap_or(u32::MAX) + 1;
        let ran = self.attempt_started.elapsed();
        let wait = backoff(number, jitter());
        let within_budget = self.first_started.elapsed() + wait < self.timeouts.retry_budget;
        let next = if number < self.allowed() && within_budget {
            Next::Wait(wait)
        } else {
            Next::GiveUp
        };
        self.attempts.push(Attempt {
            attempt: number,
            cause: cause.to_string(),
            line,
            ran_ms: millis(ran),
            backoff_ms: match next {
                Next::Wait(wait) => millis(wait),
                Next::GiveUp => 0,
            },
            blocker,
        });
        next
    }

    /// The retry line of the last lost conflict, waiting `wait`.
    pub(crate) fn notice(&self, revision: &str, wait: Duration, statement_only: bool) -> LockRetry {
        let last = self.attempts.last();
        LockRetry {
            revision: revision.to_string(),
            attempt: last.map_or(1, |a| a.attempt),
            attempts_allowed: self.allowed(),
            cause: match last.map(|a| a.cause.as_str()) {
                Some("deadlock") => "deadlock",
                _ => "lock timeout",
            },
            line: last.map_or(0, |a| a.line),
            ran: Duration::from_millis(last.map_or(0, |a| a.ran_ms)),
            blocker: last.and_then(|a| a.blocker.clone()),
            wait,
            statement_only,
            drops_invalid_index: None,
        }
    }

    /// Waits `wait` (never with a transaction open: the caller has rolled it back or runs
    /// outside one) and starts the next attempt.
    pub(crate) fn wait(&mut self, wait: Duration) {
        std::thread::sleep(wait);
        self.attempt_started = Instant::now();
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The wait after attempt `number` (from 1) lost: [`FIRST_BACKOFF`] doubled each time up to
/// [`MAX_BACKOFF`], of which `jitter` (0 to 1) keeps between half and all ("equal jitter").
pub(crate) fn backoff(number: u32, jitter: f64) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1u32 << number.saturating_sub(1).min(16));
    let step = doubled.min(MAX_BACKOFF);
    step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number from 0 to 1 that differs between calls and processes: std's hash keys are random
/// per process and per `RandomState`, which is enough to spread runners apart.
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The cause of a lost conflict as the retry line says it.
pub(crate) fn cause(error: &crate::db::DbError) -> &'static str {
    if error.is_deadlock {
        "deadlock"
    } else {
        "lock timeout"
    }
}

/// Whether a transactional revision whose statement `failed` lost a lock conflict, after
/// statements that did `effects`, can be rolled back whole and run again: always where DDL is
/// transactional; on MySQL only when nothing committed implicitly before (no DDL ran, and the
/// failing statement is no DDL, whose implicit commit happens before it runs).
pub(crate) fn whole_revision_repeatable(
    dialect: Dialect,
    effects: &[TxEffect],
    failed: &str,
) -> bool {
    match dialect {
        Dialect::Sqlite => false,
        Dialect::Postgresql => true,
        Dialect::Mysql => {
            effects.iter().all(|e| *e == TxEffect::Stays)
                && (effects.is_empty() || partial::classify(dialect, failed) == TxEffect::Stays)
        }
    }
}

/// Whether one statement of a non-transactional revision that lost a lock conflict may run
/// again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// It had no effect: the server undid it.
    Yes,
    /// `CREATE INDEX CONCURRENTLY` leaves the index it was building behind, invalid: drop the
    /// index named so (if it is invalid), then repeat.
    AfterDropping(String),
    /// It may have left something behind; `why` says what.
    No(&'static str),
}

/// See [`Repeat`]. On PostgreSQL a statement outside a transaction is its own transaction,
/// undone when it fails, except the `CONCURRENTLY` forms that commit in stages; on MySQL a
/// failed lock wait changed nothing, but a `CALL` may have run statements before it.
pub(crate) fn repeatable(dialect: Dialect, sql: &str) -> Repeat {
    let text = strip_leading_comments(sql);
    match dialect {
        Dialect::Sqlite => Repeat::No("SQLite does not retry"),
        Dialect::Mysql if partial::runs_other_statements(text) => {
            Repeat::No("a procedure may have run statements before the one that waited")
        }
        Dialect::Mysql => Repeat::Yes,
        Dialect::Postgresql => {
            let words = leading_words(text, 4);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match words.as_slice() {
                ["CREATE", "INDEX", "CONCURRENTLY", ..]
                | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"] => match concurrent_index(text) {
                    Some(name) => Repeat::AfterDropping(name),
                    None => Repeat::No(
                        "the index has no name, so the invalid one it left cannot be found",
                    ),
                },
                ["REINDEX", ..] if words.contains(&"CONCURRENTLY") => {
                    Repeat::No("REINDEX CONCURRENTLY leaves an invalid `_ccnew` index behind")
                }
                _ => Repeat::Yes,
            }
        }
    }
}

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] [schema.]table`
/// creates, qualified by the table's schema when it has one, as written (quotes kept).
fn concurrent_index(sql: &str) -> Option<String> {
    let mut tokens = sql.split_whitespace();
    let mut name = None;
    while let Some(token) = tokens.next() {
        if token.eq_ignore_ascii_case("CONCURRENTLY") {
            let mut next = tokens.next()?;
            if next.eq_ignore_ascii_case("IF") {
                tokens.next()?; // NOT
                tokens.next()?; // EXISTS
                next = tokens.next()?;
            }
            // No name, or a quoted one with spaces this simple reading cannot take apart.
            if next.eq_ignore_ascii_case("ON") || next.starts_with('"') && !next.ends_with('"') {
                return None;
            }
            name = Some(next.to_string());
            break;
        }
    }
    let name = name?;
    if !tokens.next()?.eq_ignore_ascii_case("ON") {
        return None;
    }
    let mut table = tokens.next()?;
    if table.eq_ignore_ascii_case("ONLY") {
        table = tokens.next()?;
    }
    let table = table.split('(').next().unwrap_or(table);
    Some(match table.rsplit_once('.') {
        Some((schema, _)) if !schema.is_empty() => format!("{schema}.{name}"),
        _ => name,
    })
}

/// Whether the index `name` exists and is invalid (PostgreSQL), for [`Repeat::AfterDropping`]:
/// a valid index of that name was not left by the failed statement and stays.
pub(crate) fn invalid_index_sql(name: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index \
         WHERE indexrelid = to_regclass({}) AND NOT indisvalid)",
        crate::db::version_table::quote_literal(Dialect::Postgresql, name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_keeps_at_least_half() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(10, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(1000, 0.0), MAX_BACKOFF / 2);
        let j = jitter();
        assert!((0.0..1.0).contains(&j), "{j}");
    }

    #[test]
    fn retries_stop_at_the_count_or_the_budget() {
        let timeouts = Timeouts {
            retries: 2,
            ..Timeouts::default()
        };
        let mut retry = Retry::new(timeouts);
        assert!(matches!(retry.lost("lock timeout", 3, None), Next::Wait(_)));
        assert!(matches!(retry.lost("deadlock", 3, None), Next::Wait(_)));
        assert!(matches!(retry.lost("lock timeout", 3, None), Next::GiveUp));
        assert_eq!(retry.attempts.len(), 3);
        assert_eq!(retry.attempts[2].backoff_ms, 0);
        assert_eq!(retry.notice("a", Duration::ZERO, false).attempts_allowed, 3);
        let mut broke = Retry::new(Timeouts {
            retry_budget: Duration::from_millis(10),
            ..Timeouts::default()
        });
        std::thread::sleep(Duration::from_millis(15));
        assert!(matches!(broke.lost("lock timeout", 1, None), Next::GiveUp));
    }

    #[test]
    fn mysql_repeats_a_revision_only_before_anything_committed() {
        use TxEffect::{Commits, Stays};
        let ddl = "ALTER TABLE t ADD COLUMN x INT";
        let dml = "UPDATE t SET x = 1";
        assert!(whole_revision_repeatable(Dialect::Mysql, &[], ddl));
        assert!(whole_revision_repeatable(Dialect::Mysql, &[Stays], dml));
        assert!(!whole_revision_repeatable(Dialect::Mysql, &[Stays], ddl));
        assert!(!whole_revision_repeatable(Dialect::Mysql, &[Commits], dml));
        assert!(whole_revision_repeatable(
            Dialect::Postgresql,
            &[Stays],
            ddl
        ));
    }

    #[test]
    fn statements_safe_to_repeat() {
        let pg = |sql| repeatable(Dialect::Postgresql, sql);
        assert_eq!(pg("ALTER TABLE t ADD COLUMN x int"), Repeat::Yes);
        assert_eq!(
            pg("CREATE INDEX CONCURRENTLY t_x ON t (x)"),
            Repeat::AfterDropping("t_x".into())
        );
        assert_eq!(
            pg("-- why\ncreate unique index concurrently if not exists \"Tx\" on only app.t(x)"),
            Repeat::AfterDropping("app.\"Tx\"".into())
        );
        assert!(matches!(
            pg("CREATE INDEX CONCURRENTLY \"T x\" ON t (x)"),
            Repeat::No(_)
        ));
        assert_eq!(
            pg("CREATE UNIQUE INDEX CONCURRENTLY t_x ON app.t USING btree (x)"),
            Repeat::AfterDropping("app.t_x".into())
        );
        assert!(matches!(
            pg("CREATE INDEX CONCURRENTLY ON t (x)"),
            Repeat::No(_)
        ));
        assert!(matches!(
            pg("REINDEX INDEX CONCURRENTLY t_x"),
            Repeat::No(_)
        ));
        assert_eq!(
            repeatable(Dialect::Mysql, "ALTER TABLE t ADD x INT"),
            Repeat::Yes
        );
        assert!(matches!(
            repeatable(Dialect::Mysql, "CALL p()"),
            Repeat::No(_)
        ));
    }
}
