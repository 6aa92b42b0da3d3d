//! `stamp --from TOOL`: adopting a database another tool migrated. dbmate (from npm;
//! `RETORT_TEST_DBMATE`) and sqlx-cli (from crates.io; `RETORT_TEST_SQLX`) are the real
//! binaries; for the other tools the history rows are written as their sources write them (the
//! tools are Go or Java programs that do not install here).

use std::path::{Path, PathBuf};
use std::process::Command;

use retort::Dialect;

use crate::support::server::{connect, TestDatabase};
use crate::support::TestProject;

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(tool)
}

/// The real `tool` binary, from `env_var` or else on PATH, or `None` (said on stderr; an
/// error under `CI=true`).
fn real_tool(tool: &str, env_var: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env_var).map(PathBuf::from).or_else(|| {
        let found = Command::new(tool).arg("--version").output().ok()?;
        found.status.success().then(|| PathBuf::from(tool))
    });
    if path.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "{env_var} must be set when CI=true"
        );
        eprintln!("skipped: {tool} not installed, so the real-{tool} tests pass without running");
    }
    path
}

fn dbmate() -> Option<PathBuf> {
    real_tool("dbmate", "RETORT_TEST_DBMATE")
}

/// A project with `tool`'s fixture imported; `url` is where it adopts.
fn imported(tool: &str) -> TestProject {
    let p = TestProject::new();
    let (code, _, err) = p.run(&["import", tool, fixture(tool).to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    p
}

fn run_with(p: &TestProject, url: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--url", url];
    all.extend_from_slice(args);
    p.run(&all)
}

/// dbmate migrates `url`; retort adopts it: `--dry-run` says what it would stamp and stamps
/// nothing, then the stamp leaves nothing pending.
fn adopt_real_dbmate(dbmate: &Path, dbmate_url: &str, url: &str) {
    let p = imported("dbmate");
    let out = Command::new(dbmate)
        .args(["--url", dbmate_url, "--migrations-dir"])
        .arg(fixture("dbmate"))
        .args(["--no-dump-schema", "up"])
        .output()
        .expect("run dbmate");
    assert!(
        out.status.success(),
        "dbmate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, err) = run_with(&p, url, &["stamp", "--from", "dbmate", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "`schema_migrations` records 3 applied migration(s): would stamp dbmate_20240103080000 \
         (dbmate_20240101120000, dbmate_20240102093000, dbmate_20240103080000)\n"
    );
    let (_, current, _) = run_with(&p, url, &["current"]);
    assert_eq!(current, "");
    let (code, _, err) = run_with(&p, url, &["stamp", "--from", "dbmate", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let (_, current, _) = run_with(&p, url, &["current"]);
    assert_eq!(current, "dbmate_20240103080000 (head)\n");
    let (code, _, err) = run_with(&p, url, &["status", "--exit-code"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_database_migrated_by_dbmate_is_adopted_on_sqlite() {
    let Some(dbmate) = dbmate() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dbmate.db");
    adopt_real_dbmate(
        &dbmate,
        &format!("sqlite:{}", db.display()),
        &format!("sqlite:///{}", db.display()),
    );
}

#[test]
fn a_database_migrated_by_dbmate_is_adopted_on_the_servers() {
    let Some(dbmate) = dbmate() else { return };
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "adopt_dbmate") else {
            continue;
        };
        let dbmate_url = match dialect {
            Dialect::Postgresql => {
                db.url.replacen("postgresql://", "postgres://", 1) + "?sslmode=disable"
            }
            _ => db.url.clone(),
        };
        adopt_real_dbmate(&dbmate, &dbmate_url, &db.url);
    }
}

/// Runs `tool args`, failing the test with its stderr when it fails.
fn run_tool(tool: &Path, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .expect("run the tool");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `sqlx migrate run` migrates `url` from the fixture (simple and reversible files, one
/// `-- no-transaction`); retort adopts it, and knows the simple files as irreversible.
fn adopt_real_sqlx(sqlx: &Path, url: &str) {
    let p = imported("sqlx");
    let source = fixture("sqlx");
    run_tool(
        sqlx,
        &[
            "migrate",
            "run",
            "--source",
            source.to_str().unwrap(),
            "--database-url",
            url,
        ],
    );
    let (code, out, err) = run_with(&p, url, &["stamp", "--from", "sqlx", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "`_sqlx_migrations` records 3 applied migration(s): would stamp sqlx_20240103000000 \
         (sqlx_20240101000000, sqlx_20240102000000, sqlx_20240103000000)\n"
    );
    let (code, _, err) = run_with(&p, url, &["stamp", "--from", "sqlx", "--no-backup"]);
    assert_eq!(code, 0, "{err}");
    let (_, current, _) = run_with(&p, url, &["current"]);
    assert_eq!(current, "sqlx_20240103000000 (head)\n");
    let (code, _, err) = run_with(&p, url, &["status", "--exit-code"]);
    assert_eq!(code, 0, "{err}");
    assert!(table_names(url).contains(&"todos".to_string()));
    // The last migration is a simple file (no down): retort refuses to go below it and leaves
    // sqlx's tables alone.
    let (code, _, err) = run_with(
        &p,
        url,
        &["downgrade", "sqlx_20240101000000", "--no-backup"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("revision `sqlx_20240103000000` (") && err.contains("is irreversible"),
        "{err}"
    );
    let left = table_names(url);
    for table in ["users", "todos", "_sqlx_migrations"] {
        assert!(left.contains(&table.to_string()), "{left:?}");
    }
}

/// The table names of `url`'s database (or current schema).
fn table_names(url: &str) -> Vec<String> {
    let sql = if url.starts_with("sqlite") {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    } else if url.starts_with("postgres") {
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    } else {
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    };
    connect(url)
        .query(sql)
        .unwrap()
        .into_iter()
        .map(|row| match &row[0] {
            retort::Value::Text(name) => name.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_database_migrated_by_sqlx_is_adopted_on_sqlite() {
    let Some(sqlx) = real_tool("sqlx", "RETORT_TEST_SQLX") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sqlx.db");
    std::fs::File::create(&db).unwrap();
    let url = format!("sqlite:///{}", db.display());
    adopt_real_sqlx(&sqlx, &url);
}

#[test]
fn a_database_migrated_by_sqlx_is_adopted_on_the_servers() {
    let Some(sqlx) = real_tool("sqlx", "RETORT_TEST_SQLX") else {
        return;
    };
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "adopt_sqlx") else {
            continue;
        };
        adopt_real_sqlx(&sqlx, &db.url);
    }
}

/// The history table of each tool as its source creates it (SQLite and portable forms), and
/// rows for the fixture's versions.
fn history(tool: &str, dialect: Dialect, rows: &str) -> Vec<String> {
    let boolean = if dialect == Dialect::Mysql {
        "TINYINT(1)"
    } else {
        "BOOLEAN"
    };
    let create = match tool {
        "flyway" => format!(
            "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, \
             version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, \
             script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, \
             success {boolean} NOT NULL)"
        ),
        "golang-migrate" => format!("CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty {boolean} NOT NULL)"),
        "goose" => format!(
            "CREATE TABLE goose_db_version (id {} PRIMARY KEY, version_id BIGINT NOT NULL, \
             is_applied {boolean} NOT NULL, tstamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
            match dialect {
                Dialect::Postgresql => "SERIAL",
                Dialect::Mysql => "INT AUTO_INCREMENT",
                _ => "INTEGER",
            }
        ),
        "sqlx" => format!(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success {boolean} NOT NULL, \
             checksum {} NOT NULL, execution_time BIGINT NOT NULL)",
            if dialect == Dialect::Postgresql { "BYTEA" } else { "BLOB" }
        ),
        other => panic!("no history table for {other}"),
    };
    vec![create, rows.to_string()]
}

const FLYWAY_OK: &str = "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES \
    (1, '1', 'Create person table', 'SQL', 'V1__Create_person_table.sql', 1, 'u', 5, TRUE), \
    (2, '1.1', 'Add people', 'SQL', 'V1.1__Add_people.sql', 2, 'u', 5, TRUE), \
    (3, NULL, 'Person view', 'SQL', 'R__Person_view.sql', 3, 'u', 5, TRUE), \
    (4, '2', 'Add email', 'SQL', 'V2__Add_email.sql', 4, 'u', 5, TRUE)";

/// Each tool's history on `url` (`dialect`): the clean one is adopted at the right revision;
/// dirty, failed and unknown ones are refused and nothing is stamped.
fn adopt_written_histories(dialect: Dialect, fresh: &dyn Fn() -> String) {
    let cases: Vec<(&str, String, Result<&str, &str>)> = vec![
        ("flyway", FLYWAY_OK.into(), Ok("would stamp flyway_2 (flyway_1, flyway_1_1, flyway_2)")),
        ("flyway", FLYWAY_OK.replacen("(4, '2', 'Add email', 'SQL', 'V2__Add_email.sql', 4, 'u', 5, TRUE)", "(4, '2', 'Add email', 'SQL', 'V2__Add_email.sql', 4, 'u', 5, FALSE)", 1),
            Err("records version 2 as failed (success = false): flyway did not finish it")),
        ("flyway", FLYWAY_OK.replacen("(2, '1.1'", "(2, '1.5'", 1), Err("records version(s) 1.5 that no imported revision stands for")),
        ("golang-migrate", "INSERT INTO schema_migrations (version, dirty) VALUES (2, FALSE)".into(), Ok("would stamp migrate_2 (migrate_1, migrate_2)")),
        ("golang-migrate", "INSERT INTO schema_migrations (version, dirty) VALUES (2, TRUE)".into(), Err("records version 2 as dirty (dirty = true)")),
        ("goose", "INSERT INTO goose_db_version (id, version_id, is_applied) VALUES (1, 0, TRUE), (2, 1, TRUE), (3, 2, TRUE), (4, 3, TRUE)".into(), Ok("would stamp goose_3 (goose_1, goose_2, goose_3)")),
        ("goose", "INSERT INTO goose_db_version (id, version_id, is_applied) VALUES (1, 0, TRUE), (2, 1, TRUE), (3, 3, TRUE)".into(), Err("records version 3 as applied but not the earlier 2")),
        ("sqlx", "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (20240101000000, 'users', TRUE, 'x', 1), (20240102000000, 'todos', TRUE, 'x', 1)".into(), Ok("would stamp sqlx_20240102000000")),
        ("sqlx", "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (20240101000000, 'users', FALSE, 'x', 1)".into(), Err("records version 20240101000000 as failed (success = false)")),
    ];
    for (tool, rows, expected) in cases {
        let url = fresh();
        let mut conn = connect(&url);
        for sql in history(tool, dialect, &rows) {
            conn.execute(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let p = imported(tool);
        let (code, out, err) = run_with(&p, &url, &["stamp", "--from", tool, "--dry-run"]);
        match expected {
            Ok(text) => {
                assert_eq!(code, 0, "{tool}: {err}");
                assert!(out.contains(text), "{tool}: {out}");
                let (code, _, err) = run_with(&p, &url, &["stamp", "--from", tool, "--no-backup"]);
                assert_eq!(code, 0, "{tool}: {err}");
                let (_, current, _) = run_with(&p, &url, &["current"]);
                let revision = text.split_whitespace().nth(2).unwrap();
                assert!(current.starts_with(revision), "{tool}: {current}");
            }
            Err(text) => {
                assert_eq!(code, 1, "{tool}: {out}{err}");
                assert!(err.contains(text), "{tool}: {err}");
                assert!(err.contains("nothing was stamped"), "{tool}: {err}");
                let (code, current, err) =
                    run_with(&p, &url, &["stamp", "--from", tool, "--no-backup"]);
                assert_eq!(code, 1, "{tool}: {err}");
                let (_, current2, _) = run_with(&p, &url, &["current"]);
                assert_eq!((current.as_str(), current2.as_str()), ("", ""), "{tool}");
            }
        }
    }
}

#[test]
fn tool_histories_are_adopted_or_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        format!(
            "sqlite:///{}",
            dir.path().join(format!("h{}.db", n.get())).display()
        )
    };
    adopt_written_histories(Dialect::Sqlite, &fresh);
}

#[test]
fn tool_histories_are_adopted_or_refused_on_the_servers() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(db) = TestDatabase::create(dialect, "adopt_history") else {
            continue;
        };
        // One database, emptied between cases: creating one per case is slow on the servers.
        let fresh = || {
            let mut conn = db.connect();
            for table in [
                "flyway_schema_history",
                "schema_migrations",
                "goose_db_version",
                "_sqlx_migrations",
                "retort_version",
                "retort_version_log",
            ] {
                conn.execute(&format!("DROP TABLE IF EXISTS {table}"))
                    .unwrap();
            }
            db.url.clone()
        };
        adopt_written_histories(dialect, &fresh);
    }
}
