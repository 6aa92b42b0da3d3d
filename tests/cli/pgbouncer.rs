//! Through a real PgBouncer: unnamed statements only, and in transaction pooling the lease
//! lock (`retort_lock`) instead of the session advisory lock, which cannot keep runners apart
//! there. Also the lease on a direct connection (`lock = "table"`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use retort::{Dialect, Value};

use crate::support::private::PrivatePgbouncer;
use crate::support::server::{self, TestDatabase};
use crate::support::{down_revision_header, TestProject};

/// The host part of `db`'s URL (`user@host:port`), the text after it, and the server's port.
fn split(db: &TestDatabase) -> (&str, &str, u16) {
    let rest = db.url.split_once("://").unwrap().1;
    let (authority, tail) = rest.split_at(rest.find('/').unwrap());
    let port = authority
        .rsplit_once(':')
        .map_or(5432, |(_, port)| port.parse().unwrap());
    (authority, tail, port)
}

/// `db`'s URL with the port of `bouncer` instead of the server's.
fn through(db: &TestDatabase, bouncer: &PrivatePgbouncer) -> String {
    let (authority, tail, _) = split(db);
    let user_host = authority
        .rsplit_once(':')
        .map_or(authority, |(user_host, _)| user_host);
    format!("postgresql://{user_host}:{}{tail}", bouncer.port)
}

#[test]
fn transaction_pooling_needs_unnamed_statements_and_refuses_the_session_lock() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_tx") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 1) else {
        return;
    };
    let url = through(&db, &bouncer);
    // Two clients on one server session: named statements of one (the driver's `s0`, …)
    // would collide with the other's.
    let mut a = server::connect(&url);
    let mut b = server::connect(&url);
    for _ in 0..3 {
        assert!(!a.table_exists(None, "nothing_here").unwrap());
        assert_eq!(
            b.query("SELECT 1::int8").unwrap(),
            vec![vec![retort::Value::Int(1)]]
        );
        assert!(!b.table_exists(None, "nothing_here").unwrap());
        assert_eq!(
            a.query("SELECT 2.50::numeric, DATE '2026-12-01', 'x'::text")
                .unwrap(),
            vec![vec![
                retort::Value::Text("2.50".into()),
                retort::Value::Text("2026-12-01".into()),
                retort::Value::Text("x".into())
            ]]
        );
    }
    drop((a, b));

    let project = TestProject::new();
    project.revision("a1", &[], "");
    configure(&project, "lock = \"advisory\"\n");
    let (code, stdout, stderr) = project.run(&["--url", &url, "current"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "{stderr}");
    let (code, _, stderr) = project.run(&["--url", &url, "upgrade", "head", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("a pooler in transaction mode"), "{stderr}");
    assert!(stderr.contains("lock = \"advisory\""), "{stderr}");
    assert!(
        stderr.contains("hint: run migrations on a direct connection"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!db.connect().table_exists(None, "t_a1").unwrap());
}

#[test]
fn session_pooling_runs_with_the_advisory_lock() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_session") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "session", 4) else {
        return;
    };
    let url = through(&db, &bouncer);
    let project = TestProject::new();
    project.revision("a1", &[], "");
    configure(&project, "lock = \"advisory\"\n");
    let (code, _, stderr) = project.run(&["--url", &url, "-v", "upgrade", "head", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("holding the database lock: PostgreSQL session "),
        "{stderr}"
    );
    assert!(db.connect().table_exists(None, "t_a1").unwrap());
    assert!(!db.connect().table_exists(None, "retort_lock").unwrap());
}

/// `migrate.toml` of `project` with `lines` added to `[migrate]`.
fn configure(project: &TestProject, lines: &str) {
    project.file(
        "migrate.toml",
        &format!("[migrate]\nscript_location = \"migrations\"\n{lines}"),
    );
}

/// A revision `id` after `down` whose upgrade is `body`.
fn revision(project: &TestProject, id: &str, down: &[&str], header: &str, body: &str) {
    project.file(
        &format!("migrations/versions/{id}_rev.sql"),
        &format!(
            "-- revision = \"{id}\"\n{}{header}-- message = \"rev {id}\"\n\n\
             -- migrate:upgrade\n{body}\n\n-- migrate:downgrade\nSELECT 1;\n",
            down_revision_header(down)
        ),
    );
}

/// `a1`, the root: it creates `applied`, where each revision inserts its id once it runs.
fn applied_root(project: &TestProject) {
    revision(
        project,
        "a1",
        &[],
        "",
        "CREATE TABLE applied (rev text NOT NULL);\nINSERT INTO applied VALUES ('a1');",
    );
}

/// `a1` creates `applied`, where every revision (`a1` to `a4`) inserts its id; `a2` and `a4`
/// sleep `sleep` seconds inside their transaction, `a3` runs outside one.
fn counted_history(project: &TestProject, sleep: f64) {
    applied_root(project);
    let sleeping =
        |id: &str| format!("INSERT INTO applied VALUES ('{id}');\nSELECT pg_sleep({sleep});");
    revision(project, "a2", &["a1"], "", &sleeping("a2"));
    revision(
        project,
        "a3",
        &["a2"],
        "-- transactional = false\n",
        &sleeping("a3"),
    );
    revision(project, "a4", &["a3"], "", &sleeping("a4"));
}

/// How many times each revision's insert is in `applied`, and the successful steps of each in
/// the audit trail.
fn applied_counts(db: &TestDatabase) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    let mut conn = db.connect();
    let applied = conn
        .query("SELECT rev, count(*) FROM applied GROUP BY rev ORDER BY rev")
        .unwrap();
    let audited = conn
        .query(
            "SELECT revision, count(*) FROM retort_version_log WHERE outcome = 'success' \
             GROUP BY revision ORDER BY revision",
        )
        .unwrap();
    (applied, audited)
}

fn once_each(ids: &[&str]) -> Vec<Vec<Value>> {
    ids.iter()
        .map(|id| vec![Value::Text((*id).into()), Value::Int(1)])
        .collect()
}

/// `retort --url URL upgrade heads` started in `project`, its output piped.
fn spawn_upgrade(project: &TestProject, url: &str) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("retort"))
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .args(["--url", url, "upgrade", "heads", "--no-backup"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 60 s) until a session of `db` runs a `SELECT pg_sleep…` of a revision.
fn wait_for_sleep(db: &TestDatabase) {
    let mut watcher = db.connect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while watcher
        .query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
        )
        .unwrap()
        != vec![vec![Value::Int(1)]]
    {
        assert!(
            Instant::now() < deadline,
            "no runner reached its sleeping revision"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn lease_rows(db: &TestDatabase) -> i64 {
    match db
        .connect()
        .query("SELECT count(*) FROM retort_lock")
        .unwrap()[..]
    {
        [ref row] => match row[..] {
            [Value::Int(n)] => n,
            _ => panic!("not a count: {row:?}"),
        },
        ref rows => panic!("not one row: {rows:?}"),
    }
}

#[test]
fn transaction_pooling_runs_under_the_lease_lock_by_default() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_lease") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 2) else {
        return;
    };
    let url = through(&db, &bouncer);
    let project = TestProject::new();
    counted_history(&project, 0.0);
    let (code, _, stderr) = project.run(&["--url", &url, "-v", "upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains("holding the database lock: the lease of runner ")
            && stderr.contains("in `\"retort_lock\"`"),
        "{stderr}"
    );
    assert_eq!(
        applied_counts(&db),
        (
            once_each(&["a1", "a2", "a3", "a4"]),
            once_each(&["a1", "a2", "a3", "a4"])
        )
    );
    // The lease table was made, and the lease released (its row deleted, checked).
    assert_eq!(lease_rows(&db), 0);
    let (code, stdout, stderr) = project.run(&["--url", &url, "current"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("a4"), "{stdout}");
}

#[test]
fn eight_runners_through_transaction_pooling_apply_each_revision_once() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_eight") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 12) else {
        return;
    };
    let url = through(&db, &bouncer);
    let project = TestProject::new();
    counted_history(&project, 0.3);
    let runners: Vec<_> = (0..8).map(|_| spawn_upgrade(&project, &url)).collect();
    let mut waited = 0;
    for runner in runners {
        let out = runner.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("warning"), "{stderr}");
        waited += usize::from(stderr.contains("held by the lease of runner"));
    }
    assert!(waited > 0, "no runner waited for another's lease");
    assert_eq!(
        applied_counts(&db),
        (
            once_each(&["a1", "a2", "a3", "a4"]),
            once_each(&["a1", "a2", "a3", "a4"])
        )
    );
    assert_eq!(lease_rows(&db), 0);
}

#[test]
fn a_runner_killed_holding_the_lease_blocks_the_next_only_until_it_expires() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_killed") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 4) else {
        return;
    };
    let url = through(&db, &bouncer);
    let project = TestProject::new();
    configure(&project, "lock_lease = \"2s\"\n");
    counted_history(&project, 1.0);
    let mut runner = Command::new(assert_cmd::cargo::cargo_bin("retort"))
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .args(["--url", &url, "upgrade", "heads", "--no-backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = runner.id();
    // Kill it inside `a2`'s sleep, its transaction open and the lease held.
    wait_for_sleep(&db);
    runner.kill().unwrap(); // SIGKILL
    runner.wait().unwrap();

    let started = Instant::now();
    let (code, _, stderr) = project.run(&["--url", &url, "upgrade", "heads", "--no-backup"]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    // It waited for the killed runner's lease, naming it.
    assert!(
        stderr.contains("held by the lease of runner") && stderr.contains(&format!("pid {pid}")),
        "{stderr}"
    );
    // The killed runner's `a2` never committed; each revision ran once.
    assert_eq!(
        applied_counts(&db),
        (
            once_each(&["a1", "a2", "a3", "a4"]),
            once_each(&["a1", "a2", "a3", "a4"])
        )
    );
    // The lease (2 s) and the killed transaction's sleep (1 s), then three sleeping revisions:
    // far from the default 30 s lease, let alone a session that never ends.
    assert!(took < Duration::from_secs(15), "took {took:?}: {stderr}");
    assert_eq!(lease_rows(&db), 0);
}

#[test]
fn a_lease_taken_over_mid_run_stops_before_the_next_revision_commits() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lease_lost") else {
        return;
    };
    let project = TestProject::new();
    configure(&project, "lock = \"table\"\nlock_lease = \"2s\"\n");
    applied_root(&project);
    revision(
        &project,
        "a2",
        &["a1"],
        "",
        "INSERT INTO applied VALUES ('a2');\nSELECT pg_sleep(1.5);",
    );
    revision(
        &project,
        "a3",
        &["a2"],
        "",
        "INSERT INTO applied VALUES ('a3');",
    );
    let runner = spawn_upgrade(&project, &db.url);
    take_over_during_sleep(&db);
    let out = runner.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "lost the migration lock during `a3`: another runner took over the migration lock \
             `retort:retort_version`: it is now the lease of runner intruder (host"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("pid 4242"), "{stderr}");
    assert!(stderr.contains("; nothing of it was committed"), "{stderr}");
    assert!(
        stderr.contains(
            "warning: releasing the migration lock failed: the lease was no longer this run's"
        ),
        "{stderr}"
    );
    // `a2` had its lease at BEGIN and committed; `a3` ran nothing.
    let (applied, _) = applied_counts(&db);
    assert_eq!(applied, once_each(&["a1", "a2"]));
}

/// `drift` takes the lock the project's runs take: with `lock = "table"` and the version table
/// in `ops`, the lease in `ops.retort_lock` keeps it out while another runner holds it.
#[test]
fn drift_waits_for_the_lease_the_runs_take() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lease_drift") else {
        return;
    };
    db.connect().execute("CREATE SCHEMA ops").unwrap();
    let project = TestProject::new();
    configure(
        &project,
        "lock = \"table\"\nversion_table_schema = \"ops\"\n",
    );
    project.revision("a1", &[], "");
    let (code, _, stderr) = project.run(&["--url", &db.url, "upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    db.connect()
        .execute(
            "INSERT INTO ops.retort_lock VALUES ('retort:ops.retort_version', 'other0123', \
             'elsewhere', 777, 'retort', now(), now() + interval '1 hour')",
        )
        .unwrap();
    let (code, _, stderr) = project.run(&["--url", &db.url, "drift", "--migration-lock-wait", "1"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "waiting for the migration lock (the lease `retort:ops.retort_version` in \
             `\"ops\".\"retort_lock\"`)"
        ),
        "{stderr}"
    );
}

/// Once a `SELECT pg_sleep…` of a runner runs in `db`: the lease becomes another runner's (a
/// real taker would wait for the holder's transaction; this one only changes who owns it).
fn take_over_during_sleep(db: &TestDatabase) {
    let mut intruder = db.connect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let taken = intruder
            .execute(
                "UPDATE retort_lock SET owner = 'intruder0123', pid = 4242, \
                 expires_at = clock_timestamp() + interval '1 hour' \
                 WHERE EXISTS (SELECT 1 FROM pg_stat_activity WHERE state = 'active' \
                 AND datname = current_database() AND query LIKE 'SELECT pg_sleep%')",
            )
            .unwrap_or(0);
        if taken == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the runner never reached a2");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_lease_taken_over_during_a_non_transactional_revision_stops_before_its_next_statement() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lease_lost_nontx") else {
        return;
    };
    let project = TestProject::new();
    configure(&project, "lock = \"table\"\n");
    applied_root(&project);
    revision(
        &project,
        "a2",
        &["a1"],
        "-- transactional = false\n",
        "SELECT pg_sleep(1.5);\nINSERT INTO applied VALUES ('a2');",
    );
    let runner = spawn_upgrade(&project, &db.url);
    take_over_during_sleep(&db);
    let out = runner.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lost the migration lock during `a2`: another runner took over"),
        "{stderr}"
    );
    // Its first statement ran; the second, and its version row, did not.
    assert!(stderr.contains("statement 1"), "{stderr}");
    let (applied, _) = applied_counts(&db);
    assert_eq!(applied, once_each(&["a1"]));
    let (code, stdout, _) = project.run(&["--url", &db.url, "current"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("a1") && !stdout.contains("a2"), "{stdout}");
}

/// A revision that runs longer than the lease keeps it while another runner waits: the
/// heartbeat's `UPDATE` is not held up by the fence's `FOR KEY SHARE`, so the waiting runner
/// sees a live lease when the revision commits, and the holder goes on to the end.
#[test]
fn a_revision_longer_than_the_lease_keeps_it_while_another_runner_waits() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lease_long_revision") else {
        return;
    };
    let project = TestProject::new();
    configure(&project, "lock = \"table\"\nlock_lease = \"1s\"\n");
    applied_root(&project);
    revision(
        &project,
        "a2",
        &["a1"],
        "",
        "INSERT INTO applied VALUES ('a2');\nSELECT pg_sleep(3);",
    );
    revision(
        &project,
        "a3",
        &["a2"],
        "",
        "INSERT INTO applied VALUES ('a3');",
    );
    let first = spawn_upgrade(&project, &db.url);
    wait_for_sleep(&db);
    let second = spawn_upgrade(&project, &db.url);
    for (name, runner) in [("first", first), ("second", second)] {
        let out = runner.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(!stderr.contains("warning"), "{name}: {stderr}");
    }
    let (applied, _) = applied_counts(&db);
    assert_eq!(applied, once_each(&["a1", "a2", "a3"]));
}

/// Runners that take different kinds of migration lock on one database (one through a pooler
/// under the lease, one direct with the advisory lock) still keep each other out: each takes
/// its own lock, then looks for the other kind, and gives its own back while that is held.
#[test]
fn a_lease_runner_and_an_advisory_runner_keep_each_other_out() {
    for (first_lock, second_lock) in [("table", "advisory"), ("advisory", "table")] {
        let Some(db) = TestDatabase::create(Dialect::Postgresql, "lease_mixed_kinds") else {
            return;
        };
        let project = |lock: &str| {
            let project = TestProject::new();
            configure(
                &project,
                &format!("lock = \"{lock}\"\nlock_lease = \"2s\"\n"),
            );
            applied_root(&project);
            revision(
                &project,
                "a2",
                &["a1"],
                "",
                "INSERT INTO applied VALUES ('a2');\nSELECT pg_sleep(2);",
            );
            project
        };
        let (one, two) = (project(first_lock), project(second_lock));
        let first = spawn_upgrade(&one, &db.url);
        wait_for_sleep(&db);
        let second = spawn_upgrade(&two, &db.url);
        for (name, runner) in [(first_lock, first), (second_lock, second)] {
            let out = runner.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name}: {stderr}");
        }
        let (applied, audited) = applied_counts(&db);
        assert_eq!(applied, once_each(&["a1", "a2"]), "{first_lock} first");
        assert_eq!(audited, once_each(&["a1", "a2"]), "{first_lock} first");
    }
}

/// The catalogs read through transaction pooling (one unnamed statement each, nothing left on
/// a server session the pooler lends to others) give the schema a direct session reads.
#[test]
fn the_schema_reads_the_same_through_transaction_pooling() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "pgbouncer_schema") else {
        return;
    };
    let Some(bouncer) = PrivatePgbouncer::start(split(&db).2, "transaction", 2) else {
        return;
    };
    let mut conn = db.connect();
    for sql in [
        "CREATE TABLE users (id integer PRIMARY KEY, email text UNIQUE, age integer CHECK (age > 0))",
        "CREATE TABLE posts (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         user_id integer REFERENCES users (id) ON DELETE CASCADE, title text NOT NULL)",
        "CREATE INDEX posts_title ON posts (lower(title)) WHERE title <> ''",
        "CREATE VIEW titles AS SELECT title FROM posts",
        "CREATE MATERIALIZED VIEW counts AS SELECT user_id, count(*) FROM posts GROUP BY user_id",
    ] {
        conn.execute(sql).unwrap();
    }
    let project = TestProject::new();
    configure(&project, "");
    let read = |url: &str| {
        let (code, stdout, stderr) = project.run(&["--url", url, "schema", "--json"]);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let direct = read(&db.url);
    for expected in [
        "\"foreign_key\"",
        "\"check\"",
        "\"unique\"",
        "\"materialized\": true",
    ] {
        assert!(direct.contains(expected), "{expected} in {direct}");
    }
    assert_eq!(read(&through(&db, &bouncer)), direct);
}
