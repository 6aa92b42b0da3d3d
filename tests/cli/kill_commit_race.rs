//! A runner SIGKILLed while its COMMIT is still running on the server: the next runner must
//! wait for that commit and see its version rows, never run the revision again.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use retort::{Dialect, Value};

use crate::support::server::TestDatabase;
use crate::support::{down_revision_header, TestProject};

/// `a` creates `counter` with a deferred trigger that sleeps at commit; `b` inserts one row,
/// so `b`'s COMMIT takes two seconds on the server.
fn slow_commit_project() -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrations/versions/a_rev.sql",
        "-- revision = \"a\"\n-- message = \"counter\"\n\n\
         -- migrate:upgrade\n\
         CREATE TABLE counter (n INTEGER);\n\
         CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$;\n\
         CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON counter \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();\n\n\
         -- migrate:downgrade\n\
         DROP TABLE counter;\nDROP FUNCTION slow_commit();\n",
    );
    p.file(
        "migrations/versions/b_rev.sql",
        &format!(
            "-- revision = \"b\"\n{}-- message = \"one row\"\n\n\
             -- migrate:upgrade\nINSERT INTO counter VALUES (1);\n\n\
             -- migrate:downgrade\nDELETE FROM counter;\n",
            down_revision_header(&["a"])
        ),
    );
    p
}

fn count(rows: Vec<Vec<Value>>) -> i64 {
    match rows.first().and_then(|row| row.first()) {
        Some(Value::Int(n)) => *n,
        other => panic!("not a count: {other:?}"),
    }
}

#[test]
fn a_runner_killed_while_committing_is_waited_for_and_its_revision_not_run_again() {
    killed_while_committing("kill_commit_race", "");
}

/// The same under the lease lock on a direct connection: the lease (1 s) runs out while the
/// killed holder's COMMIT (2 s) still runs, and only the row lock its transaction took at
/// BEGIN keeps the taker's upsert waiting for that commit.
#[test]
fn under_the_lease_a_runner_killed_while_committing_is_waited_for() {
    let stderr = killed_while_committing(
        "kill_commit_race_lease",
        "lock = \"table\"\nlock_lease = \"1s\"\n",
    );
    assert!(stderr.contains("held by the lease of runner"), "{stderr}");
}

/// Kills a runner of `b` while its COMMIT runs, then runs again with `config` lines added to
/// `[migrate]`; the second runner's stderr.
fn killed_while_committing(name: &str, config: &str) -> String {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, name) else {
        return String::new();
    };
    let p = slow_commit_project();
    p.file(
        "migrate.toml",
        &format!("[migrate]\nscript_location = \"migrations\"\n{config}"),
    );
    let url = db.url.as_str();
    let (code, _, stderr) = p.run(&["--url", url, "upgrade", "a", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");

    let mut runner = Command::new(assert_cmd::cargo::cargo_bin("retort"))
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .args(["--url", url, "upgrade", "heads", "--no-backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its COMMIT of `b` is running (inside the trigger's sleep).
    let mut watcher = db.connect();
    let committing = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND state = 'active' \
         AND query = 'COMMIT'",
        db.name
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(watcher.query(&committing).unwrap()) == 0 {
        assert!(Instant::now() < deadline, "the runner never committed `b`");
        std::thread::sleep(Duration::from_millis(10));
    }
    runner.kill().unwrap(); // SIGKILL
    runner.wait().unwrap();

    let (code, stdout, stderr) = p.run(&["--url", url, "upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "the second runner failed:\n{stdout}\n{stderr}");
    let rows = watcher.query("SELECT count(*) FROM counter").unwrap();
    assert_eq!(count(rows), 1, "`b` ran twice:\n{stdout}\n{stderr}");
    let (code, current, _) = p.run(&["--url", url, "current"]);
    assert_eq!(code, 0);
    assert!(current.contains('b'), "{current}");
    stderr
}
