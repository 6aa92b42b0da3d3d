//! Test databases on the real servers: each test gets its own database, created through an
//! admin connection and dropped when the guard goes out of scope.
//!
//! The servers come from `RETORT_TEST_PG_URL` / `RETORT_TEST_MYSQL_URL`. When one is unset its
//! tests pass without running, and the first of them prints one `skipped:` line to the terminal,
//! except under `CI=true`, where each of them panics so CI can never go green by skipping.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use retort::Connection;
use retort::{DatabaseUrl, Dialect};

/// The environment variable naming the admin URL of `dialect`'s server, and the guard that
/// announces its skip once.
fn server_env(dialect: Dialect) -> (&'static str, &'static Once) {
    static PG_SKIP: Once = Once::new();
    static MYSQL_SKIP: Once = Once::new();
    match dialect {
        Dialect::Postgresql => ("RETORT_TEST_PG_URL", &PG_SKIP),
        Dialect::Mysql => ("RETORT_TEST_MYSQL_URL", &MYSQL_SKIP),
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    }
}

/// The admin URL for `dialect`, or `None` when its tests are skipped.
pub(crate) fn server_url(dialect: Dialect) -> Option<String> {
    let (var, skip) = server_env(dialect);
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} must be set when CI=true (server tests may not be skipped in CI)")
        }
        _ => {
            // libtest swallows a passing test's `eprintln!`, but not a write to the stderr
            // handle itself, which `cargo test` passes through. A closed stderr is no failure.
            skip.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {var} not set, so the {dialect} server tests pass without running"
                );
            });
            None
        }
    }
}

/// Opens a connection through retort's own backend.
pub(crate) fn connect(url: &str) -> Box<dyn Connection> {
    let parsed = DatabaseUrl::parse(url).unwrap_or_else(|e| panic!("bad test URL: {e}"));
    retort::__test_support::connect(&parsed).unwrap_or_else(|e| panic!("cannot connect: {e}"))
}

/// `url` with its database (path) replaced by `database`; query parameters are kept.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{database}{query}")
}

/// A database of its own for one test, dropped (best effort, never panicking) on drop.
pub(crate) struct TestDatabase {
    pub dialect: Dialect,
    pub name: String,
    /// The URL of the test database (with the admin URL's credentials).
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `retort_t_<test>_<pid>_<n>` on `dialect`'s server; `None` when skipped.
    pub(crate) fn create(dialect: Dialect, test: &str) -> Option<TestDatabase> {
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

    pub(crate) fn connect(&self) -> Box<dyn Connection> {
        connect(&self.url)
    }

    /// The user name of the URL.
    pub(crate) fn user(&self) -> &str {
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
            .and_then(|url| retort::__test_support::connect(&url).map_err(|e| e.to_string()))
            .and_then(|mut admin| admin.execute(&sql).map_err(|e| e.to_string()));
        if let Err(e) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Quotes an identifier for `dialect`.
pub(crate) fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// Runs `retort --url <url> upgrade heads --no-backup` in `project` and SIGKILLs it as soon as
/// `table` exists in the database `conn` reaches (polling, no timing assumption): a runner
/// killed in the middle of the revision that creates `table`.
pub(crate) fn kill_upgrade_once_table_exists(
    project: &crate::support::TestProject,
    url: &str,
    conn: &mut dyn Connection,
    table: &str,
) {
    let mut runner = std::process::Command::new(assert_cmd::cargo::cargo_bin("retort"))
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .args(["--url", url, "upgrade", "heads", "--no-backup"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !conn.table_exists(None, table).unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the runner never created {table}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    runner.kill().unwrap(); // SIGKILL
    runner.wait().unwrap();
}
