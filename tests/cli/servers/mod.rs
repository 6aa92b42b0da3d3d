//! Tests against the real PostgreSQL and MySQL/MariaDB servers (`RETORT_TEST_PG_URL`,
//! `RETORT_TEST_MYSQL_URL`); each test creates and drops its own database.

mod backends;
mod suite;

use std::process::{Command, Output};

/// The server-only tests of this binary, with no server URL, with and without `CI=true`.
fn backends_without_servers(ci: bool) -> Output {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.arg("servers::backends::")
        .env_remove("RETORT_TEST_PG_URL")
        .env_remove("RETORT_TEST_MYSQL_URL")
        .env_remove("CI");
    if ci {
        cmd.env("CI", "true");
    }
    cmd.output().expect("run the test binary")
}

#[test]
fn an_unset_server_url_is_one_line_on_the_terminal_and_an_error_under_ci() {
    let out = backends_without_servers(false);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut skipped: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("skipped:"))
        .collect();
    skipped.sort_unstable();
    assert_eq!(
        skipped,
        [
            "skipped: RETORT_TEST_MYSQL_URL not set, so the mysql server tests pass without \
             running",
            "skipped: RETORT_TEST_PG_URL not set, so the postgresql server tests pass without \
             running",
        ],
        "{stderr}"
    );

    let out = backends_without_servers(true);
    assert!(!out.status.success(), "{out:?}");
    let report = String::from_utf8_lossy(&out.stdout);
    for var in ["RETORT_TEST_PG_URL", "RETORT_TEST_MYSQL_URL"] {
        assert!(
            report.contains(&format!("{var} must be set when CI=true")),
            "{report}"
        );
    }
    assert!(!String::from_utf8_lossy(&out.stderr).contains("skipped:"));
}
