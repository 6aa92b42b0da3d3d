//! Who blocks a statement waiting for a lock: sampled from a second session while the
//! statement runs, because once the lock timeout fires the server no longer knows whom the
//! statement waited for. The retry line names that session, so an operator can see the long
//! transaction behind the outage (and end it) instead of guessing.

use std::sync::mpsc;
use std::time::Duration;

/// The longest gap between two looks at who blocks a statement.
const MAX_SAMPLE_GAP: Duration = Duration::from_millis(500);

/// A session holding a lock another one waits for, as the server describes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Blocker {
    /// The server's session id (PostgreSQL backend pid, MySQL connection id).
    pub id: i64,
    pub user: String,
    /// PostgreSQL's `application_name`; MySQL's client host.
    pub application: String,
    /// `idle in transaction`, `active`, MySQL's command and state.
    pub state: String,
    /// How long its transaction has been open, when it has one.
    pub transaction_age: Option<Duration>,
    /// Its current or last query, as [`scrub_query`] leaves it.
    pub query: String,
    /// How many other sessions block the statement too.
    pub others: usize,
}

impl Blocker {
    /// One line: `PostgreSQL session 4242 (user `app`, application `worker`, idle in
    /// transaction, transaction open 12.0s, query `UPDATE t SET x = ?`)`.
    pub(super) fn describe(&self, engine: &str, application: &str) -> String {
        let mut parts = vec![format!("user `{}`", clip(&self.user, 40))];
        if !self.application.is_empty() {
            parts.push(format!("{application} `{}`", clip(&self.application, 60)));
        }
        if !self.state.is_empty() {
            parts.push(self.state.clone());
        }
        if let Some(age) = self.transaction_age {
            parts.push(format!("transaction open {:.1}s", age.as_secs_f64()));
        }
        if !self.query.is_empty() {
            parts.push(format!("query `{}`", self.query));
        }
        let others = match self.others {
            0 => String::new(),
            n => format!(" and {n} other session(s)"),
        };
        format!(
            "{engine} session {} ({}){others}",
            self.id,
            parts.join(", ")
        )
    }
}

fn clip(text: &str, chars: usize) -> String {
    crate::error::clip(text, chars).into_owned()
}

/// A blocker's query as a retry line may show it: string literals (where passwords and
/// personal data sit) replaced by `?`, whitespace folded, any known secret removed, at most
/// 100 characters.
pub(super) fn scrub_query(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len().min(200));
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // To the closing quote; `''` inside is an escaped quote.
                loop {
                    match chars.next() {
                        None => break,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                    }
                }
                out.push('?');
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let scrubbed = crate::config::url::scrub_known(out.trim());
    clip(&scrubbed, 100)
}

/// The observer session of a connection and what it saw: statements run under an armed lock
/// timeout are watched, and the blocker of the last one that failed is kept.
pub(super) struct Watch<O> {
    /// The observer session and the id of the session it watches; opened on first need.
    pub observer: Option<(O, u64)>,
    /// The lock timeout statements run under; zero: none, so nothing is watched.
    pub lock_timeout: Duration,
    blocker: Option<Blocker>,
}

impl<O: Send> Watch<O> {
    pub(super) fn new() -> Watch<O> {
        Watch {
            observer: None,
            lock_timeout: Duration::ZERO,
            blocker: None,
        }
    }

    /// Statements from now on wait at most `lock_timeout` for a lock.
    pub(super) fn arm(&mut self, lock_timeout: Duration) {
        self.lock_timeout = lock_timeout;
        self.blocker = None;
    }

    /// Runs `statement`, watched by `sample(observer, id)` when a lock timeout is armed.
    pub(super) fn run<R, E>(
        &mut self,
        sample: fn(&mut O, u64) -> Option<Blocker>,
        statement: impl FnOnce() -> Result<R, E>,
    ) -> Result<R, E> {
        let Some((observer, id)) = self
            .observer
            .as_mut()
            .filter(|_| !self.lock_timeout.is_zero())
        else {
            return statement();
        };
        let id = *id;
        let (result, seen) = watched(observer, self.lock_timeout, |o| sample(o, id), statement);
        if result.is_err() {
            self.blocker = seen;
        }
        result
    }

    /// The blocker of the last statement that failed, described for `engine`.
    pub(super) fn take(&mut self, engine: &str, application: &str) -> Option<String> {
        self.blocker.take().map(|b| b.describe(engine, application))
    }
}

/// Runs `statement` while another thread asks `sample` on `observer` who blocks it: first
/// after half of `lock_timeout`, then every quarter of it (at most every [`MAX_SAMPLE_GAP`],
/// so that a deadlock, which the server breaks after its own `deadlock_timeout`, is seen
/// too), until the statement ends. Returns the statement's result and the last blocker seen.
fn watched<O: Send, R>(
    observer: &mut O,
    lock_timeout: Duration,
    sample: impl Fn(&mut O) -> Option<Blocker> + Send,
    statement: impl FnOnce() -> R,
) -> (R, Option<Blocker>) {
    let (done, finished) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let watcher = scope.spawn(move || {
            let mut seen = None;
            let mut wait = (lock_timeout / 2).min(MAX_SAMPLE_GAP);
            while let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(wait) {
                if let Some(blocker) = sample(observer) {
                    seen = Some(blocker);
                }
                wait = (lock_timeout / 4).clamp(Duration::from_millis(20), MAX_SAMPLE_GAP);
            }
            seen
        });
        let result = statement();
        drop(done);
        (result, watcher.join().ok().flatten())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_lose_their_literals_and_extra_space() {
        assert_eq!(
            scrub_query("ALTER USER app\n   PASSWORD 'hunter''2'  ;"),
            "ALTER USER app PASSWORD ? ;"
        );
        assert_eq!(scrub_query("SELECT 'a', 'b"), "SELECT ?, ?");
        assert!(scrub_query(&"x".repeat(500)).chars().count() < 140);
    }

    #[test]
    fn a_blocker_is_described_on_one_line() {
        let blocker = Blocker {
            id: 4242,
            user: "app".into(),
            application: "worker".into(),
            state: "idle in transaction".into(),
            transaction_age: Some(Duration::from_millis(12_340)),
            query: "LOCK TABLE t".into(),
            others: 1,
        };
        assert_eq!(
            blocker.describe("PostgreSQL", "application"),
            "PostgreSQL session 4242 (user `app`, application `worker`, idle in transaction, \
             transaction open 12.3s, query `LOCK TABLE t`) and 1 other session(s)"
        );
    }

    #[test]
    fn the_watcher_reports_what_it_saw_while_the_statement_ran() {
        let mut calls = 0;
        let (result, seen) = watched(
            &mut calls,
            Duration::from_millis(40),
            |calls| {
                *calls += 1;
                Some(Blocker {
                    id: *calls,
                    user: String::new(),
                    application: String::new(),
                    state: String::new(),
                    transaction_age: None,
                    query: String::new(),
                    others: 0,
                })
            },
            || {
                std::thread::sleep(Duration::from_millis(100));
                7
            },
        );
        assert_eq!(result, 7);
        assert!(seen.is_some_and(|b| b.id >= 2), "sampled more than once");
        let (_, seen) = watched(&mut 0, Duration::from_secs(10), |_| None, || ());
        assert_eq!(seen, None, "a quick statement is not sampled");
    }
}
