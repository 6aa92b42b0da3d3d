//! Running migrations against real SQLite files through the `retort` binary: upgrade,
//! downgrade, stamp, current, status, log, --dry-run, --rehearse, --report, failures, locking,
//! concurrency, crash recovery, and offline SQL equal to the online result.

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// A temporary project: migrate.toml, migrations/versions/, an SQLite file `app.db`.
struct TestProject {
    dir: tempfile::TempDir,
}

impl TestProject {
    fn new() -> Self {
        Self::with_config("")
    }

    /// A project whose `[migrate]` section gets `extra` lines.
    fn with_config(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("migrations/versions")).expect("mkdir");
        std::fs::write(
            dir.path().join("migrate.toml"),
            format!(
                "[migrate]\n\
                 script_location = \"migrations\"\n\
                 database_url = \"sqlite:///app.db\"\n\
                 version_table = \"retort_version\"\n\
                 {extra}"
            ),
        )
        .expect("config");
        TestProject { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.path().join("app.db")
    }

    /// Writes a revision file; `down` is the downgrade SQL (None = irreversible).
    fn rev(&self, id: &str, parent: Option<&str>, up: &str, down: Option<&str>) -> PathBuf {
        let mut text = format!("-- revision = \"{id}\"\n");
        if let Some(parent) = parent {
            text.push_str(&format!("-- down_revision = \"{parent}\"\n"));
        }
        text.push_str(&format!(
            "-- message = \"rev {id}\"\n\n-- migrate:upgrade\n{up}\n"
        ));
        if let Some(down) = down {
            text.push_str(&format!("\n-- migrate:downgrade\n{down}\n"));
        }
        let path = self
            .path()
            .join(format!("migrations/versions/{id}_rev.sql"));
        std::fs::write(&path, text).expect("revision");
        path
    }

    /// A chain of `n` revisions r001..rNNN, each creating table tNNN and inserting a row.
    fn chain(&self, n: usize) -> Vec<String> {
        let ids: Vec<String> = (1..=n).map(|i| format!("r{i:03}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let parent = i.checked_sub(1).map(|p| ids[p].as_str());
            self.rev(
                id,
                parent,
                &format!("CREATE TABLE t{id} (x INTEGER);\nINSERT INTO t{id} VALUES ({i});"),
                Some(&format!("DROP TABLE t{id};")),
            );
        }
        ids
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("retort").expect("binary");
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run retort")
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "retort {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and asserts exit 1; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "retort {args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open db")
    }

    fn rows(&self) -> Vec<String> {
        query_strings(
            &self.conn(),
            "SELECT version_num FROM retort_version ORDER BY 1",
        )
    }

    /// Every table's DDL and every row of the version table: what "unchanged" means.
    fn snapshot(&self) -> Vec<String> {
        if !self.db().exists() {
            return vec!["<no file>".into()];
        }
        dump(&self.conn(), &[])
    }
}

fn query_strings(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// Schema (minus `skip` tables) and version rows of a database, for comparisons.
fn dump(conn: &rusqlite::Connection, skip: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = query_strings(
        conn,
        "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master WHERE name \
         NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .into_iter()
    .filter(|line| !skip.iter().any(|s| line.contains(&format!(" {s}: "))))
    .collect();
    let has_version = query_strings(
        conn,
        "SELECT name FROM sqlite_master WHERE name = 'retort_version'",
    );
    if !has_version.is_empty() {
        // `SELECT *`: a corrupted table may lack the column.
        let mut stmt = conn
            .prepare("SELECT * FROM retort_version")
            .expect("prepare");
        let mut rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
            .expect("query")
            .map(|v| match v.expect("row") {
                rusqlite::types::Value::Text(t) => format!("row {t}"),
                other => format!("row {other:?}"),
            })
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// (revision, direction, outcome) of every audit row, oldest first.
fn audit(p: &TestProject) -> Vec<(String, String, String)> {
    let conn = p.conn();
    let mut stmt = conn
        .prepare("SELECT revision, direction, outcome FROM retort_version_log ORDER BY id")
        .expect("audit");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

fn table_exists(p: &TestProject, table: &str) -> bool {
    !query_strings(
        &p.conn(),
        &format!("SELECT name FROM sqlite_master WHERE name = '{table}'"),
    )
    .is_empty()
}

#[test]
fn upgrade_downgrade_and_current_walk_the_chain() {
    let p = TestProject::new();
    let ids = p.chain(3);
    p.ok(&["upgrade", "heads"]);
    assert_eq!(p.rows(), ["r003"]);
    assert!(table_exists(&p, "tr003"));
    assert_eq!(p.ok(&["current"]), "r003 (head)\n");
    p.ok(&["downgrade", "-1"]);
    assert_eq!(p.rows(), ["r002"]);
    assert!(!table_exists(&p, "tr003"));
    assert_eq!(p.ok(&["current"]), "r002\n");
    p.ok(&["upgrade", "+1"]);
    p.ok(&["downgrade", "base"]);
    assert!(p.rows().is_empty());
    assert!(!table_exists(&p, "tr001"));
    let trail = audit(&p);
    assert_eq!(trail.len(), 3 + 1 + 1 + 3);
    assert!(trail.iter().all(|(_, _, outcome)| outcome == "success"));
    assert_eq!(
        trail[0],
        (ids[0].clone(), "upgrade".into(), "success".into())
    );
    assert_eq!(
        trail[3],
        ("r003".into(), "downgrade".into(), "success".into())
    );
}

#[test]
fn current_json_describes_each_revision() {
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "heads"]);
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["current", "--json"])).expect("json");
    let rev = &json[0];
    assert_eq!(rev["revision"], "r002");
    assert_eq!(rev["down_revisions"], serde_json::json!(["r001"]));
    assert_eq!(rev["message"], "rev r002");
    assert_eq!(rev["is_head"], true);
    assert_eq!(rev["is_base"], false);
    assert_eq!(rev["is_merge"], false);
    assert_eq!(rev["is_branch_point"], false);
    assert!(rev["path"]
        .as_str()
        .unwrap_or_default()
        .ends_with("r002_rev.sql"));
    assert!(rev["branch_labels"].is_array() && rev["depends_on"].is_array());
}

#[test]
fn read_only_commands_never_create_the_database_or_tables() {
    let p = TestProject::new();
    p.chain(2);
    assert_eq!(p.ok(&["current"]), "");
    let status = p.ok(&["status"]);
    assert!(
        status.contains("r001") && status.contains("not up to date"),
        "{status}"
    );
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["up_to_date"], false);
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(2));
    p.ok(&["log"]);
    p.ok(&["upgrade", "heads", "--dry-run"]);
    assert!(
        !p.db().exists(),
        "a read-only command created the database file"
    );
    // An existing database without tables stays without tables.
    drop(p.conn());
    p.ok(&["current"]);
    p.ok(&["status"]);
    assert!(p.snapshot().is_empty(), "{:?}", p.snapshot());
    p.ok(&["upgrade", "heads"]);
    assert!(p.ok(&["status"]).contains("up to date"));
}

#[test]
fn failing_statement_leaves_the_database_at_the_last_good_revision() {
    let p = TestProject::new();
    p.rev("a1", None, "CREATE TABLE one (x INTEGER);", None);
    let bad = p.rev(
        "b2",
        Some("a1"),
        "CREATE TABLE two (x INTEGER);\n\
         INSERT INTO two VALUES (1);\n\
         INSERT INTO missing VALUES (1);",
        None,
    );
    p.rev("c3", Some("b2"), "CREATE TABLE three (x INTEGER);", None);
    let err = p.fails(&["upgrade", "heads"]);
    assert!(err.contains("`b2`"), "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(err.contains("statement 3"), "{err}");
    // Header (3 lines) + blank + marker, so the upgrade SQL starts on line 6: statement 3 is line 8.
    assert!(err.contains("line 8"), "{err}");
    assert!(err.contains("no such table: missing"), "{err}");
    assert_eq!(p.rows(), ["a1"]);
    assert!(table_exists(&p, "one"));
    assert!(
        !table_exists(&p, "two"),
        "the failed revision was not rolled back"
    );
    assert!(!table_exists(&p, "three"));
    let trail = audit(&p);
    assert_eq!(
        trail.last(),
        Some(&(
            "b2".to_string(),
            "upgrade".to_string(),
            "failed".to_string()
        ))
    );
}

#[test]
fn irreversible_revision_is_refused_before_anything_changes() {
    let p = TestProject::new();
    p.rev("a1", None, "CREATE TABLE one (x INTEGER);", None);
    p.rev(
        "b2",
        Some("a1"),
        "CREATE TABLE two (x INTEGER);",
        Some("DROP TABLE two;"),
    );
    p.ok(&["upgrade", "heads"]);
    let before = p.snapshot();
    let err = p.fails(&["downgrade", "base"]);
    assert!(
        err.contains("`a1`") && err.contains("irreversible"),
        "{err}"
    );
    assert_eq!(
        p.snapshot(),
        before,
        "b2 was downgraded although a1 cannot be"
    );
}

#[test]
fn unknown_version_row_is_a_clear_error_and_changes_nothing() {
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "r001"]);
    p.conn()
        .execute_batch("UPDATE retort_version SET version_num = 'feedface'")
        .unwrap();
    let before = p.snapshot();
    for args in [
        &["upgrade", "heads"][..],
        &["current"],
        &["status"],
        &["downgrade", "base"],
    ] {
        let err = p.fails(args);
        assert!(err.contains("feedface"), "{args:?}: {err}");
    }
    assert_eq!(p.snapshot(), before);
    // `stamp --purge` is the way out.
    p.ok(&["stamp", "--purge", "r001"]);
    assert_eq!(p.rows(), ["r001"]);
}

#[test]
fn corrupted_version_table_is_a_clear_error_and_changes_nothing() {
    let p = TestProject::new();
    p.chain(1);
    p.conn()
        .execute_batch("CREATE TABLE retort_version (something_else TEXT)")
        .unwrap();
    let before = p.snapshot();
    let err = p.fails(&["upgrade", "heads"]);
    assert!(
        err.contains("retort_version") && err.contains("version_num"),
        "{err}"
    );
    let err = p.fails(&["current"]);
    assert!(err.contains("retort_version"), "{err}");
    assert_eq!(p.snapshot(), before);

    let q = TestProject::new();
    q.chain(1);
    q.conn()
        .execute_batch(
            "CREATE TABLE retort_version (version_num VARCHAR(32)); INSERT INTO \
             retort_version VALUES (NULL)",
        )
        .unwrap();
    let before = q.snapshot();
    let err = q.fails(&["upgrade", "heads"]);
    assert!(err.contains("corrupted"), "{err}");
    assert_eq!(q.snapshot(), before);
}

#[test]
fn unusable_database_file_is_named() {
    let p = TestProject::new();
    p.chain(1);
    std::fs::write(p.db(), "definitely not an SQLite database, only text").unwrap();
    for args in [&["upgrade", "heads"][..], &["current"]] {
        let err = p.fails(args);
        assert!(err.contains("app.db"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(p.db()).unwrap(),
        "definitely not an SQLite database, only text"
    );
}

#[test]
fn read_only_database_file_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "r001"]);
    let before = p.snapshot();
    std::fs::set_permissions(p.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new().write(true).open(p.db()).is_ok() {
        // Root ignores file permissions, so there is nothing read-only to test.
        println!("skipped: the file stays writable for this user (root)");
        return;
    }
    let err = p.fails(&["upgrade", "heads"]);
    assert!(err.contains("app.db") && err.contains("read-only"), "{err}");
    assert_eq!(p.ok(&["current"]), "r001\n");
    assert_eq!(p.snapshot(), before);
}

#[test]
fn locked_database_fails_after_the_timeout_with_a_clear_message() {
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "r001"]);
    let holder = p.conn();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let err = p.fails(&["upgrade", "heads", "--migration-lock-wait", "0.5"]);
    assert!(started.elapsed() < Duration::from_secs(30), "it hung");
    assert!(
        err.contains("waiting for the database lock held by another process"),
        "{err}"
    );
    assert!(err.contains("lock"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(p.rows(), ["r001"]);
    p.ok(&["upgrade", "heads"]);
    assert_eq!(p.rows(), ["r002"]);
}

#[test]
fn eight_concurrent_runners_apply_each_revision_exactly_once() {
    let p = TestProject::new();
    let ids = p.chain(30);
    let binary = assert_cmd::cargo::cargo_bin("retort");
    let children: Vec<_> = (0..8)
        .map(|_| {
            StdCommand::new(&binary)
                .args(["-q", "upgrade", "heads", "--migration-lock-wait", "120"])
                .current_dir(p.path())
                .env_remove("DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "a runner failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(p.rows(), ["r030"]);
    let trail = audit(&p);
    let applied: Vec<&str> = trail
        .iter()
        .filter(|(_, d, o)| d == "upgrade" && o == "success")
        .map(|(r, _, _)| r.as_str())
        .collect();
    let want: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(applied, want, "each revision exactly once, in order");
    assert!(trail.iter().all(|(_, _, o)| o == "success"), "{trail:?}");
}

#[test]
fn runner_killed_mid_revision_leaves_a_database_the_next_run_completes() {
    let p = TestProject::new();
    p.rev("a1", None, "CREATE TABLE one (x INTEGER);", None);
    p.rev(
        "b2",
        Some("a1"),
        "CREATE TABLE big (x INTEGER);\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) INSERT \
         INTO big SELECT x FROM c;",
        None,
    );
    p.rev("c3", Some("b2"), "CREATE TABLE three (x INTEGER);", None);
    p.ok(&["upgrade", "a1"]);
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("retort"))
        .args(["-q", "upgrade", "heads"])
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .spawn()
        .expect("spawn");
    // The rollback journal appears once b2 starts writing; kill the runner in the middle.
    let journal = p.path().join("app.db-journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !journal.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let finished_early = child.try_wait().expect("try_wait").is_some();
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    if !finished_early {
        assert_eq!(p.rows(), ["a1"], "a killed revision must not be recorded");
        assert!(!table_exists(&p, "big"));
    }
    p.ok(&["upgrade", "heads"]);
    assert_eq!(p.rows(), ["c3"]);
    let count = query_strings(&p.conn(), "SELECT CAST(count(*) AS TEXT) FROM big");
    assert_eq!(count, ["3000000"]);
    let applied: Vec<_> = audit(&p)
        .into_iter()
        .filter(|(r, d, o)| r == "b2" && d == "upgrade" && o == "success")
        .collect();
    assert_eq!(applied.len(), 1);
}

#[test]
fn rehearse_runs_everything_then_changes_nothing() {
    let p = TestProject::new();
    p.chain(3);
    p.ok(&["upgrade", "r001"]);
    p.conn()
        .execute_batch("INSERT INTO tr001 VALUES (42)")
        .unwrap();
    let before = p.snapshot();
    let data_before = query_strings(&p.conn(), "SELECT CAST(count(*) AS TEXT) FROM tr001");
    let audit_before = audit(&p);
    let out = p.ok(&["upgrade", "heads", "--rehearse"]);
    assert!(out.contains("r002") && out.contains("r003"), "{out}");
    assert!(out.contains("rolled back"), "{out}");
    assert_eq!(p.snapshot(), before);
    assert_eq!(
        query_strings(&p.conn(), "SELECT CAST(count(*) AS TEXT) FROM tr001"),
        data_before
    );
    assert_eq!(audit(&p), audit_before);

    // A failing rehearsal reports the failure and still changes nothing.
    p.rev("r004", Some("r003"), "SELECT * FROM nowhere;", None);
    let err = p.fails(&["upgrade", "heads", "--rehearse"]);
    assert!(err.contains("r004") && err.contains("nowhere"), "{err}");
    assert!(err.contains("the database is unchanged"), "{err}");
    assert!(!err.contains("last revision that succeeded"), "{err}");
    assert_eq!(p.snapshot(), before);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let p = TestProject::new();
    p.chain(3);
    p.ok(&["upgrade", "r001"]);
    let before = p.snapshot();
    let out = p.ok(&["upgrade", "heads", "--dry-run"]);
    assert!(
        out.contains("r001 -> r002") && out.contains("r002 -> r003"),
        "{out}"
    );
    assert!(!out.contains("-> r001"), "{out}");
    let out = p.ok(&["downgrade", "base", "--dry-run"]);
    assert!(out.contains("downgrade r001 -> "), "{out}");
    assert_eq!(p.snapshot(), before);
}

#[test]
fn report_records_steps_checksums_and_failures() {
    let p = TestProject::new();
    p.chain(2);
    let report = p.path().join("report.json");
    p.ok(&["upgrade", "heads", "--report", report.to_str().unwrap()]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["outcome"], "success");
    assert_eq!(json["command"], "upgrade");
    assert_eq!(json["heads_after"], serde_json::json!(["r002"]));
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps[0]["checksum"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(steps[0]["duration_ms"].is_i64());
    assert!(json.get("backup").is_some());

    p.rev("r003", Some("r002"), "SELEC 1;", None);
    p.fails(&["upgrade", "heads", "--report", report.to_str().unwrap()]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["outcome"], "failed");
    assert!(json["error"].as_str().unwrap().contains("r003"));
}

#[test]
fn stamp_rewrites_rows_without_running_sql() {
    let p = TestProject::new();
    p.chain(3);
    p.ok(&["stamp", "r002"]);
    assert_eq!(p.rows(), ["r002"]);
    assert!(!table_exists(&p, "tr001"));
    p.ok(&["stamp", "base"]);
    assert!(p.rows().is_empty());
    p.ok(&["stamp", "--purge", "heads"]);
    assert_eq!(p.rows(), ["r003"]);
    let trail = audit(&p);
    assert!(trail.iter().all(|(_, d, _)| d == "stamp"), "{trail:?}");
}

#[test]
fn sql_mode_argument_errors() {
    let p = TestProject::new();
    p.chain(2);
    let out = p.run(&["downgrade", "base", "--sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("downgrade with --sql requires <fromrev>:<torev>"));
    let out = p.run(&["stamp", "--purge", "--sql", "heads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Can't use --purge with --sql mode"));
    assert!(!p.db().exists(), "--sql must not touch the database");
}

#[test]
fn offline_script_run_by_sqlite3_matches_the_online_upgrade() {
    if StdCommand::new("sqlite3").arg("-version").output().is_err() {
        println!("skipped: sqlite3 shell not installed");
        return;
    }
    let p = TestProject::new();
    p.chain(4);
    p.rev(
        "r005",
        Some("r004"),
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'it''s');\n\
         CREATE INDEX note_body ON note (body);\n\
         INSERT INTO note (body) VALUES ('a;b');",
        None,
    );
    let script = p.ok(&["upgrade", "heads", "--sql"]);
    assert!(!p.db().exists());
    let offline_db = p.path().join("offline.db");
    let mut shell = StdCommand::new("sqlite3")
        .arg("-bail")
        .arg(&offline_db)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3");
    {
        use std::io::Write;
        let mut stdin = shell.stdin.take().expect("stdin");
        stdin.write_all(script.as_bytes()).expect("feed script");
    }
    let out = shell.wait_with_output().expect("sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.ok(&["upgrade", "heads"]);
    let offline = rusqlite::Connection::open(&offline_db).unwrap();
    // The audit table is retort's own record of live runs; offline scripts, like Alembic's,
    // carry only the version table.
    let online = dump(&p.conn(), &["retort_version_log"]);
    assert_eq!(dump(&offline, &[]), online);
    assert!(online.contains(&"row r005".to_string()));
}

#[test]
fn offline_range_starts_from_the_given_revision() {
    let p = TestProject::new();
    p.chain(3);
    let out = p.ok(&["upgrade", "r001:heads", "--sql"]);
    assert!(!out.contains("CREATE TABLE retort_version"), "{out}");
    assert!(
        out.starts_with("-- Running upgrade r001 -> r002\n\n"),
        "{out}"
    );
    let out = p.ok(&["downgrade", "r003:r001", "--sql", "--dialect", "postgresql"]);
    assert!(
        out.starts_with("BEGIN;\n\n-- Running downgrade r003 -> r002\n\n"),
        "{out}"
    );
    assert!(out.ends_with("COMMIT;\n\n"), "{out}");
}

#[test]
fn progress_is_plain_lines_off_a_terminal_and_nothing_with_quiet() {
    let p = TestProject::new();
    p.chain(2);
    let out = p.run(&["upgrade", "r001"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "database: sqlite:///app.db (SQLite {}, from migrate.toml)\n\
             Running upgrade  -> r001, rev r001\n",
            rusqlite::version()
        )
    );
    let out = p.run(&["-q", "upgrade", "heads", "--no-backup"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(p.rows(), ["r002"]);
}

#[test]
fn log_lists_the_audit_trail_newest_first() {
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "heads"]);
    p.ok(&["stamp", "r001"]);
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["log", "--json"])).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["direction"], "stamp");
    assert_eq!(entries[0]["heads_before"], serde_json::json!(["r002"]));
    assert_eq!(entries[0]["heads_after"], serde_json::json!(["r001"]));
    assert_eq!(entries[2]["revision"], "r001");
    assert!(entries[2]["checksum"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(entries[2]["started_at"].as_str().unwrap().ends_with('Z'));
    let text = p.ok(&["log", "-n", "1"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("stamp"), "{text}");
}

#[test]
fn check_reports_an_applied_revision_whose_file_changed() {
    let p = TestProject::new();
    p.chain(2);
    p.ok(&["upgrade", "heads"]);
    p.ok(&["check"]);
    // Comments and line endings do not count as a change.
    let path = p.path().join("migrations/versions/r001_rev.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace('\n', "\r\n").replace(
            "-- migrate:upgrade\r\n",
            "-- migrate:upgrade\r\n-- reviewed\r\n",
        ),
    )
    .unwrap();
    p.ok(&["check"]);
    std::fs::write(&path, text.replace("VALUES (0)", "VALUES (1)")).unwrap();
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("r001") && all.contains("r001_rev.sql"),
        "{all}"
    );
}
