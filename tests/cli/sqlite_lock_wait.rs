//! Concurrent runners on a rollback-journal SQLite file that another process keeps locked:
//! opening the file waits as long as the migration-lock wait (`--migration-lock-wait`), no more and
//! no less, and a runner that gives up says which wait ran out and what to do.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use retort::DatabaseUrl;

use crate::support::TestProject;

fn spawn_upgrade(p: &TestProject, lock_timeout: &str) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("retort"))
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .args([
            "upgrade",
            "heads",
            "--no-backup",
            "--migration-lock-wait",
            lock_timeout,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn opening_a_locked_database_waits_the_lock_timeout_and_says_so_when_it_runs_out() {
    let p = TestProject::new();
    p.revision("a", &[], "");
    p.revision("b", &["a"], "");
    let (code, _, stderr) = p.run(&["upgrade", "a", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");

    // Another process's write lock, held past SQLite's default five-second busy wait: every
    // runner meets it at open (a rollback journal lets nobody read meanwhile).
    let url =
        DatabaseUrl::parse(&format!("sqlite:///{}", p.path().join("app.db").display())).unwrap();
    let mut holder = retort::__test_support::connect(&url).unwrap();
    holder.execute("BEGIN EXCLUSIVE").unwrap();
    let short: Vec<Child> = (0..3).map(|_| spawn_upgrade(&p, "1")).collect();
    let long: Vec<Child> = (0..3).map(|_| spawn_upgrade(&p, "30")).collect();
    std::thread::sleep(Duration::from_secs(6));
    holder.execute("ROLLBACK").unwrap();

    for runner in short {
        let out = runner.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("gave up waiting for the database lock after 1s")
                && stderr.contains("app.db` locked for more than 1s while opening it")
                && stderr.contains("raise `--migration-lock-wait`"),
            "{stderr}"
        );
    }
    let mut ran_b = 0;
    for runner in long {
        let out = runner.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        ran_b += usize::from(stderr.contains("Running upgrade a -> b"));
    }
    assert_eq!(
        ran_b, 1,
        "one runner applies `b`, the others find it applied"
    );
    let (code, stdout, _) = p.run(&["current"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with('b'), "{stdout}");
}
