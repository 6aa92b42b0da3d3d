//! Table-lock timeouts and retries on real PostgreSQL and MariaDB: a second session holds a
//! lock the revision needs; the revision gives up its wait after `lock_timeout`, is rolled
//! back, waits with no transaction open and runs again, naming the blocking session, until it
//! commits once the blocker is gone, or until its retry budget is spent, with nothing applied.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use retort::{Dialect, Value};

use crate::support::server::{connect, TestDatabase};
use crate::support::TestProject;

/// A session holding locks on another thread until `hold` passes or it is dropped.
struct Blocker {
    /// Its server session id (PostgreSQL pid, MariaDB connection id).
    id: i64,
    release: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Blocker {
    /// Runs `take` (its locks) on a new session of `db`, keeps them until another session
    /// sees `waiting` true (the revision is stuck behind them; at most 30 s) and then for
    /// `hold`, then runs `give_back`. Waiting for the revision first keeps the test honest on
    /// a loaded machine, where retort may start later than the hold would last.
    fn start(
        db: &TestDatabase,
        take: &[&str],
        give_back: &[&str],
        waiting: &str,
        hold: Duration,
    ) -> Blocker {
        let url = db.url.clone();
        let id_sql = match db.dialect {
            Dialect::Postgresql => "SELECT pg_backend_pid()",
            _ => "SELECT CONNECTION_ID()",
        };
        let take: Vec<String> = take.iter().map(|s| s.to_string()).collect();
        let waiting = waiting.to_string();
        let give_back: Vec<String> = give_back.iter().map(|s| s.to_string()).collect();
        let (started, ready) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut conn = connect(&url);
            // First, so that the last query the session ran is its lock.
            let id = match &conn.query(id_sql).unwrap()[0][0] {
                Value::Int(id) => *id,
                other => panic!("session id {other:?}"),
            };
            for sql in &take {
                conn.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            started.send(id).unwrap();
            wait_until(&url, &waiting);
            let _ = released.recv_timeout(hold);
            for sql in &give_back {
                let _ = conn.execute(sql);
            }
        });
        let id = ready.recv().expect("the blocker started");
        Blocker {
            id,
            release: Some(release),
            thread: Some(thread),
        }
    }
}

/// Polls `condition` on a session of its own until it is true, for at most 30 s.
fn wait_until(url: &str, condition: &str) {
    let mut conn = connect(url);
    for _ in 0..600 {
        let rows = conn.query(condition).unwrap();
        if rows[0][0].is_truthy() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True while a session of this database waits for a table lock (the revision).
fn someone_waits(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgresql => {
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND datname = current_database())"
        }
        _ => {
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE STATE LIKE 'Waiting for%lock' AND DB = DATABASE()"
        }
    }
}

impl Drop for Blocker {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A project on `db` whose table `t` exists, with `config` added to `[migrate]`.
fn project(db: &TestDatabase, config: &str) -> TestProject {
    let project = TestProject::new();
    project.file(
        "migrate.toml",
        &format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{}\"\n{config}",
            db.url
        ),
    );
    let mut conn = db.connect();
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        .unwrap();
    project
}

/// Revision `r1` running `sql`, with `header` lines.
fn revision(project: &TestProject, header: &str, sql: &str) {
    project.file(
        "migrations/versions/r1_change.sql",
        &format!("-- revision = \"r1\"\n{header}\n-- migrate:upgrade\n{sql}\n"),
    );
}

fn upgrade(project: &TestProject) -> (i32, String) {
    let (code, _, stderr) = project.run(&["upgrade", "heads", "--no-backup"]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stderr)
}

/// The version rows and the `(revision, outcome)` of each audit row.
fn recorded(db: &TestDatabase) -> (Vec<String>, Vec<(String, String)>) {
    let mut conn = db.connect();
    let text = |v: &Value| v.as_text().unwrap_or_default();
    let versions = conn
        .query("SELECT version_num FROM retort_version")
        .map(|rows| rows.iter().map(|r| text(&r[0])).collect())
        .unwrap_or_default();
    let audit = conn
        .query("SELECT revision, outcome FROM retort_version_log ORDER BY id")
        .map(|rows| rows.iter().map(|r| (text(&r[0]), text(&r[1]))).collect())
        .unwrap_or_default();
    (versions, audit)
}

fn has_column(db: &TestDatabase, column: &str) -> bool {
    let sql = match db.dialect {
        Dialect::Postgresql => format!(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 't' AND column_name = '{column}'"
        ),
        _ => format!(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 't' AND column_name = '{column}'"
        ),
    };
    db.connect().query(&sql).unwrap()[0][0] == Value::Int(1)
}

/// MariaDB names the holder of a metadata lock through its `metadata_lock_info` plugin.
fn metadata_lock_info(db: &TestDatabase) {
    let mut conn = db.connect();
    let installed = conn
        .query(
            "SELECT count(*) FROM information_schema.PLUGINS \
             WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'",
        )
        .unwrap();
    if installed[0][0] != Value::Int(1) {
        conn.execute("INSTALL SONAME 'metadata_lock_info'").unwrap();
    }
}

/// What the blocker runs on each server to hold a lock `ALTER TABLE t` waits for, and to let
/// it go: PostgreSQL an `ACCESS EXCLUSIVE` table lock, MariaDB an open transaction that read
/// `t` (its metadata lock).
fn table_lock(dialect: Dialect) -> (&'static [&'static str], &'static [&'static str]) {
    match dialect {
        Dialect::Postgresql => (
            &[
                "SET application_name = 'lock-holder'",
                "BEGIN",
                "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
            ],
            &["ROLLBACK"],
        ),
        _ => (&["START TRANSACTION", "SELECT * FROM t"], &["ROLLBACK"]),
    }
}

#[test]
fn a_revision_behind_a_lock_is_retried_names_the_blocker_and_commits_once_after_it_leaves() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "lock_retry_commits") else {
            continue;
        };
        if dialect == Dialect::Mysql {
            metadata_lock_info(&db);
        }
        let project = project(&db, "lock_timeout = \"200ms\"\nretries = 30\n");
        revision(&project, "", "ALTER TABLE t ADD COLUMN c INTEGER;");
        // MariaDB waits whole seconds (at least 1): hold past two of its attempts.
        let hold = match dialect {
            Dialect::Postgresql => Duration::from_millis(1000),
            _ => Duration::from_millis(2000),
        };
        let (take, give_back) = table_lock(dialect);
        let blocker = Blocker::start(&db, take, give_back, someone_waits(dialect), hold);
        let (code, stderr) = upgrade(&project);
        assert_eq!(code, 0, "{dialect:?}: {stderr}");
        let retries = stderr.matches("lock timeout in `r1` at line").count();
        assert!(retries >= 1, "{dialect:?}: {stderr}");
        assert!(
            stderr.contains("rolled back; retrying the revision in"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("session {} (user `", blocker.id)),
            "{dialect:?}: the retry line names the blocker {}: {stderr}",
            blocker.id
        );
        if dialect == Dialect::Postgresql {
            assert!(
                stderr.contains("application `lock-holder`, idle in transaction"),
                "{stderr}"
            );
            assert!(
                stderr.contains("query `LOCK TABLE t IN ACCESS EXCLUSIVE MODE`"),
                "{stderr}"
            );
        } else {
            assert!(stderr.contains("transaction open"), "{stderr}");
        }
        drop(blocker);
        assert!(has_column(&db, "c"));
        let (versions, audit) = recorded(&db);
        assert_eq!(versions, ["r1"], "{dialect:?}");
        assert_eq!(
            audit,
            [("r1".into(), "success".into())],
            "{dialect:?}: one row"
        );
    }
}

#[test]
fn a_blocker_that_stays_past_the_budget_fails_the_revision_with_nothing_applied() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "lock_retry_budget") else {
            continue;
        };
        if dialect == Dialect::Mysql {
            metadata_lock_info(&db);
        }
        let project = project(
            &db,
            "lock_timeout = \"200ms\"\nretries = 50\nretry_budget = \"1500ms\"\n",
        );
        // On PostgreSQL a statement before the one that waits shows the revision rolled back
        // whole; on MariaDB it would commit implicitly and rule out the retry.
        let (sql, line) = match dialect {
            Dialect::Postgresql => (
                "CREATE TABLE u (id INTEGER);\nALTER TABLE t ADD COLUMN c INTEGER;",
                5,
            ),
            _ => ("ALTER TABLE t ADD COLUMN c INTEGER;", 4),
        };
        revision(&project, "", sql);
        let (take, give_back) = table_lock(dialect);
        let blocker = Blocker::start(&db, take, give_back, "SELECT 1", Duration::from_secs(30));
        let (code, stderr) = upgrade(&project);
        assert_eq!(code, 1, "{dialect:?}: {stderr}");
        assert!(
            stderr.contains("`r1` gave up after"),
            "{dialect:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("each lost a lock conflict at line {line}")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "the lock was last held by MariaDB session {}",
                blocker.id
            )) || stderr.contains(&format!(
                "the lock was last held by PostgreSQL session {}",
                blocker.id
            )),
            "{dialect:?}: {stderr}"
        );
        assert!(
            stderr.contains("raise `lock_timeout`, `retries`"),
            "{stderr}"
        );
        drop(blocker);
        assert!(!has_column(&db, "c"));
        let (versions, audit) = recorded(&db);
        assert!(versions.is_empty(), "{dialect:?}: {versions:?}");
        assert_eq!(audit, [("r1".into(), "failed".into())], "{dialect:?}");
        if dialect == Dialect::Postgresql {
            // Rolled back whole: the table its first statement created is gone.
            let tables = db
                .connect()
                .query("SELECT count(*) FROM pg_tables WHERE tablename = 'u'")
                .unwrap();
            assert_eq!(tables[0][0], Value::Int(0));
        }
    }
}

#[test]
fn a_revision_header_overrides_the_timeouts_and_retries() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lock_retry_header") else {
        return;
    };
    // The project would wait 30 s; the revision waits 200 ms and does not retry.
    let project = project(&db, "lock_timeout = \"30s\"\n");
    revision(
        &project,
        "-- lock_timeout = \"200ms\"\n-- retries = 0\n",
        "ALTER TABLE t ADD COLUMN c INTEGER;",
    );
    let (take, give_back) = table_lock(Dialect::Postgresql);
    let blocker = Blocker::start(&db, take, give_back, "SELECT 1", Duration::from_secs(30));
    let started = std::time::Instant::now();
    let (code, stderr) = upgrade(&project);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("`r1` gave up after 1 attempt(s)"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the header's 200ms applied"
    );
    drop(blocker);
    // With the blocker gone, the statement timeout of the header stops a slow statement.
    revision(
        &project,
        "-- statement_timeout = \"100ms\"\n",
        "SELECT pg_sleep(2);",
    );
    let (code, stderr) = upgrade(&project);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("canceling statement due to statement timeout"),
        "{stderr}"
    );
}

#[test]
fn a_deadlock_is_retried_on_postgresql() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lock_retry_deadlock") else {
        return;
    };
    let project = project(&db, "lock_timeout = \"5s\"\n");
    db.connect().execute("CREATE TABLE b (id INTEGER)").unwrap();
    // The revision takes `t`, then wants `b`, which the blocker holds while it waits for
    // `t`: a deadlock. The blocker checks for it only after 10 s, so the revision's check
    // (after PostgreSQL's default 1 s) finds it and the revision is the one cancelled.
    revision(
        &project,
        "",
        "LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1);\nLOCK TABLE b IN ACCESS EXCLUSIVE MODE;\nALTER TABLE t ADD COLUMN c INTEGER;",
    );
    let url = db.url.clone();
    let blocker = std::thread::spawn(move || {
        let mut conn = connect(&url);
        for sql in [
            "SET deadlock_timeout = '10s'",
            "BEGIN",
            "LOCK TABLE b IN ACCESS EXCLUSIVE MODE",
        ] {
            conn.execute(sql).unwrap();
        }
        // Once the revision holds `t`, wait for it until the revision is cancelled.
        wait_until(
            &url,
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted)",
        );
        conn.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        conn.execute("COMMIT").unwrap();
    });
    let (code, stderr) = upgrade(&project);
    blocker.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("deadlock in `r1` at line 6"), "{stderr}");
    assert!(stderr.contains("blocked by PostgreSQL session"), "{stderr}");
    assert!(has_column(&db, "c"));
    assert_eq!(recorded(&db).0, ["r1"]);
}

#[test]
fn a_deadlock_is_retried_on_mariadb() {
    let Some(db) = TestDatabase::create(Dialect::Mysql, "lock_retry_deadlock") else {
        return;
    };
    let project = project(&db, "lock_timeout = \"10s\"\n");
    let mut conn = db.connect();
    for sql in [
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER)",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, v INTEGER)",
        "CREATE TABLE heavy (id INTEGER)",
        "INSERT INTO a VALUES (1, 0)",
        "INSERT INTO b VALUES (1, 0)",
    ] {
        conn.execute(sql).unwrap();
    }
    // The revision takes row `a`, then wants row `b`, which the blocker holds; the blocker
    // then wants row `a`: a deadlock. InnoDB rolls back the lighter transaction, and the
    // blocker's thousand inserted rows make that the revision.
    revision(
        &project,
        "",
        "UPDATE a SET v = v + 1 WHERE id = 1;\nUPDATE b SET v = v + 1 WHERE id = 1;",
    );
    let url = db.url.clone();
    let blocker = std::thread::spawn(move || {
        let mut conn = connect(&url);
        for sql in [
            "START TRANSACTION",
            "INSERT INTO heavy SELECT seq FROM seq_1_to_1000",
            "UPDATE b SET v = v + 10 WHERE id = 1",
        ] {
            conn.execute(sql).unwrap();
        }
        // Once the revision asks for `b` (holding `a`), ask for `a`.
        wait_until(
            &url,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE 'UPDATE b SET v = v + 1 %' AND DB = DATABASE()",
        );
        conn.execute("UPDATE a SET v = v + 10 WHERE id = 1")
            .unwrap();
        conn.execute("COMMIT").unwrap();
    });
    let (code, stderr) = upgrade(&project);
    blocker.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("deadlock in `r1` at line 5"), "{stderr}");
    assert!(
        stderr.contains("rolled back; retrying the revision in"),
        "{stderr}"
    );
    // Both transactions committed once each: nothing of the cancelled attempt remains.
    let values = db
        .connect()
        .query("SELECT (SELECT v FROM a), (SELECT v FROM b)")
        .unwrap();
    assert_eq!(values, [[Value::Int(11), Value::Int(11)]]);
    let (versions, audit) = recorded(&db);
    assert_eq!(versions, ["r1"]);
    assert_eq!(audit, [("r1".into(), "success".into())]);
}

#[test]
fn a_create_index_concurrently_that_timed_out_drops_its_invalid_index_and_runs_again() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lock_retry_cic") else {
        return;
    };
    let project = project(&db, "lock_timeout = \"200ms\"\nretries = 30\n");
    revision(
        &project,
        "-- transactional = false\n",
        "CREATE INDEX CONCURRENTLY t_id ON t (id);",
    );
    // A writer's open transaction: the index build waits for it after creating the
    // (invalid) index, and times out there.
    let blocker = Blocker::start(
        &db,
        &["BEGIN", "INSERT INTO t VALUES (1)"],
        &["ROLLBACK"],
        "SELECT EXISTS (SELECT 1 FROM pg_index \
         WHERE indexrelid = to_regclass('t_id') AND NOT indisvalid)",
        Duration::from_millis(1000),
    );
    let (code, stderr) = upgrade(&project);
    drop(blocker);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "dropping the invalid index `t_id` the failed CREATE INDEX CONCURRENTLY left \
             (DROP INDEX CONCURRENTLY IF EXISTS), then retrying the statement"
        ),
        "{stderr}"
    );
    let valid = db
        .connect()
        .query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass")
        .unwrap();
    assert_eq!(valid, [[Value::Bool(true)]]);
    assert_eq!(recorded(&db).0, ["r1"]);
}

#[test]
fn the_old_lock_timeout_flag_still_works_with_a_note() {
    let project = TestProject::new();
    project.revision("a1", &[], "");
    let (code, _, stderr) = project.run(&["upgrade", "heads", "--lock-timeout", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: `--lock-timeout` is now `--migration-lock-wait`"),
        "{stderr}"
    );
    let (code, _, stderr) = project.run(&["downgrade", "base", "--migration-lock-wait", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("--lock-timeout"), "{stderr}");
    let (code, _, stderr) = project.run(&[
        "stamp",
        "a1",
        "--lock-timeout",
        "1",
        "--migration-lock-wait",
        "1",
    ]);
    assert_eq!(code, 2, "both names at once: {stderr}");
}
