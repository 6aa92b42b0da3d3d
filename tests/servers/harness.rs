//! Test databases on the real servers: each test gets its own database, created through an
//! admin connection and dropped when the guard goes out of scope.
//!
//! The servers come from `RETORT_TEST_PG_URL` / `RETORT_TEST_MYSQL_URL`. When one is unset the
//! test prints one `skipped:` line and passes, except under `CI=true`, where it panics so CI can
//! never go green by skipping.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::atomic::{AtomicUsize, Ordering};

use retort::config::{DatabaseUrl, Dialect};
use retort::db::Connection;

pub const PG_ENV: &str = "RETORT_TEST_PG_URL";
pub const MYSQL_ENV: &str = "RETORT_TEST_MYSQL_URL";

/// The environment variable naming the admin URL of `dialect`'s server.
pub fn env_var(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgresql => PG_ENV,
        Dialect::Mysql => MYSQL_ENV,
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    }
}

/// The admin URL for `dialect`, or `None` after printing why the test is skipped.
#[allow(
    clippy::disallowed_methods,
    reason = "tests read their own environment"
)]
pub fn server_url(dialect: Dialect) -> Option<String> {
    let var = env_var(dialect);
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} must be set when CI=true (server tests may not be skipped in CI)")
        }
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// Opens a connection through retort's own backend.
pub fn connect(url: &str) -> Box<dyn Connection> {
    let parsed = DatabaseUrl::parse(url).unwrap_or_else(|e| panic!("bad test URL: {e}"));
    retort::db::connect(&parsed).unwrap_or_else(|e| panic!("cannot connect: {e}"))
}

/// `url` with its database (path) replaced by `database`; query parameters are kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{database}{query}")
}

/// A database of its own for one test, dropped (best effort, never panicking) on drop.
pub struct TestDatabase {
    pub dialect: Dialect,
    pub name: String,
    /// The URL of the test database (with the admin URL's credentials).
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `retort_t_<test>_<pid>_<n>` on `dialect`'s server; `None` when skipped.
    pub fn create(dialect: Dialect, test: &str) -> Option<TestDatabase> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let admin_url = server_url(dialect)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let suffix = format!("_{}_{n}", std::process::id());
        let mut test: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        // PostgreSQL identifiers hold 63 bytes, MySQL names 64.
        test.truncate(63 - "retort_t_".len() - suffix.len());
        let name = format!("retort_t_{test}{suffix}");
        let mut admin = connect(&admin_url);
        admin
            .execute(&format!(
                "DROP DATABASE IF EXISTS {}",
                quote(dialect, &name)
            ))
            .and_then(|_| admin.execute(&format!("CREATE DATABASE {}", quote(dialect, &name))))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        Some(TestDatabase {
            dialect,
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    pub fn connect(&self) -> Box<dyn Connection> {
        connect(&self.url)
    }

    /// The user name of the URL.
    pub fn user(&self) -> &str {
        let rest = self.url.split_once("://").map_or("", |(_, rest)| rest);
        rest.split(['@', ':']).next().unwrap_or_default()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let force = match self.dialect {
            // Sessions a failed test left open must not keep the database alive.
            Dialect::Postgresql => " WITH (FORCE)",
            _ => "",
        };
        let sql = format!(
            "DROP DATABASE IF EXISTS {}{force}",
            quote(self.dialect, &self.name)
        );
        let dropped = DatabaseUrl::parse(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|url| retort::db::connect(&url).map_err(|e| e.to_string()))
            .and_then(|mut admin| admin.execute(&sql).map_err(|e| e.to_string()));
        if let Err(e) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Quotes an identifier for `dialect`.
pub fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}
