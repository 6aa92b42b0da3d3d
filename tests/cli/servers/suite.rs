//! One integration suite over all three backends: every scenario runs the real `retort` binary
//! against SQLite, PostgreSQL and MariaDB (the servers when their URLs are set), each in a
//! database of its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use retort::Dialect;
use retort::{Connection, Value};
use tempfile::TempDir;

use crate::support::down_revision_header;
use crate::support::server::{connect, TestDatabase};

/// A database to migrate: a SQLite file in a temporary directory, or a server test database.
struct Backend {
    dialect: Dialect,
    url: String,
    _server: Option<TestDatabase>,
    _dir: Option<TempDir>,
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("app.db").display());
        Backend {
            dialect: Dialect::Sqlite,
            url,
            _server: None,
            _dir: Some(dir),
        }
    }

    fn server(dialect: Dialect, test: &str) -> Option<Backend> {
        let db = TestDatabase::create(dialect, test)?;
        Some(Backend {
            dialect,
            url: db.url.clone(),
            _server: Some(db),
            _dir: None,
        })
    }

    fn connect(&self) -> Box<dyn Connection> {
        connect(&self.url)
    }

    /// Another empty database of the same kind (for comparing offline with online runs).
    fn sibling(&self, test: &str) -> Backend {
        match self.dialect {
            Dialect::Sqlite => Backend::sqlite(),
            dialect => Backend::server(dialect, test).expect("the server was there a moment ago"),
        }
    }
}

/// Runs `scenario` on SQLite and on each configured server.
fn for_each_backend(test: &str, scenario: impl Fn(&Backend)) {
    scenario(&Backend::sqlite());
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        if let Some(backend) = Backend::server(dialect, test) {
            scenario(&backend);
        }
    }
}

/// A project directory with `migrate.toml` and revision files.
struct Project {
    dir: TempDir,
    url: String,
}

impl Project {
    fn new(backend: &Backend) -> Project {
        Project::with_version_table(backend, "retort_version")
    }

    fn with_version_table(backend: &Backend, table: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("migrations/versions")).unwrap();
        std::fs::write(
            dir.path().join("migrate.toml"),
            format!("[migrate]\nscript_location = \"migrations\"\nversion_table = \"{table}\"\n"),
        )
        .unwrap();
        Project {
            dir,
            url: backend.url.clone(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn revision_path(&self, id: &str) -> PathBuf {
        self.path()
            .join(format!("migrations/versions/{id}_step.sql"))
    }

    /// Writes revision `id` with parents `down`, extra header lines, and its sections.
    fn revision_with(
        &self,
        id: &str,
        down: &[&str],
        header: &str,
        up: &str,
        down_sql: Option<&str>,
    ) {
        let down_revision = down_revision_header(down);
        let mut text = format!(
            "-- revision = \"{id}\"\n\
             {down_revision}-- message = \"step {id}\"\n\
             {header}\n\
             -- migrate:upgrade\n\
             {up}\n"
        );
        if let Some(down_sql) = down_sql {
            text.push_str(&format!("\n-- migrate:downgrade\n{down_sql}\n"));
        }
        std::fs::write(self.revision_path(id), text).unwrap();
    }

    /// A reversible revision that creates table `t_<id>`.
    fn table_revision(&self, id: &str, down: &[&str]) {
        self.revision_with(
            id,
            down,
            "",
            &format!("CREATE TABLE t_{id} (id INTEGER PRIMARY KEY);"),
            Some(&format!("DROP TABLE t_{id};")),
        );
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        // `RETORT_BIN` pins the binary when several checkouts share one target directory.
        let binary = std::env::var_os("RETORT_BIN")
            .map_or_else(|| assert_cmd::cargo::cargo_bin("retort"), PathBuf::from);
        let mut cmd = std::process::Command::new(binary);
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .arg("--url")
            .arg(&self.url)
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "retort {args:?} failed on {}:\n{}",
            self.url,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a command that must fail with exit 1; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "retort {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }
}

fn text_column(rows: Vec<Vec<Value>>) -> Vec<String> {
    let mut values: Vec<String> = rows
        .into_iter()
        .filter_map(|row| row.first().and_then(Value::as_text))
        .collect();
    values.sort();
    values
}

fn version_rows(backend: &Backend, table: &str) -> Vec<String> {
    let mut conn = backend.connect();
    if !conn.table_exists(None, table).unwrap() {
        return Vec::new();
    }
    text_column(
        conn.query(&format!("SELECT version_num FROM {table}"))
            .unwrap(),
    )
}

/// The user tables (`t_*`) of the database, sorted.
fn user_tables(backend: &Backend) -> Vec<String> {
    let sql = match backend.dialect {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Dialect::Postgresql => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        }
        Dialect::Mysql => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    text_column(backend.connect().query(sql).unwrap())
        .into_iter()
        .filter(|t| t.starts_with("t_"))
        .collect()
}

#[test]
fn linear_upgrade_and_downgrade() {
    for_each_backend("linear", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        project.table_revision("bbb", &["aaa"]);
        project.table_revision("ccc", &["bbb"]);
        project.ok(&["upgrade", "head", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["ccc"]);
        assert_eq!(user_tables(backend), ["t_aaa", "t_bbb", "t_ccc"]);
        assert!(project.ok(&["current"]).contains("ccc"));

        project.ok(&["downgrade", "-1", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["bbb"]);
        assert_eq!(user_tables(backend), ["t_aaa", "t_bbb"]);
        project.ok(&["downgrade", "base", "--no-backup"]);
        assert!(version_rows(backend, "retort_version").is_empty());
        assert!(user_tables(backend).is_empty());
        // Upgrading again works from base.
        project.ok(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["ccc"]);
    });
}

#[test]
fn branches_and_merge() {
    for_each_backend("branches", |backend| {
        let project = Project::new(backend);
        project.table_revision("root", &[]);
        project.table_revision("left", &["root"]);
        project.table_revision("right", &["root"]);
        project.ok(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["left", "right"]);

        project.table_revision("joined", &["left", "right"]);
        project.ok(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["joined"]);
        assert_eq!(
            user_tables(backend),
            ["t_joined", "t_left", "t_right", "t_root"]
        );

        // Downgrading the merge splits the row again.
        project.ok(&["downgrade", "left", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["left", "right"]);
        project.ok(&["downgrade", "root", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["root"]);
        assert_eq!(user_tables(backend), ["t_root"]);
    });
}

#[test]
fn stamp_sets_rows_without_running_sql() {
    for_each_backend("stamp", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        project.table_revision("bbb", &["aaa"]);
        project.ok(&["stamp", "bbb", "--no-backup"]);
        assert_eq!(version_rows(backend, "retort_version"), ["bbb"]);
        assert!(user_tables(backend).is_empty(), "stamp runs no SQL");
        project.ok(&["stamp", "base", "--no-backup"]);
        assert!(version_rows(backend, "retort_version").is_empty());
        project.ok(&["stamp", "aaa", "--no-backup"]);
        project.ok(&["upgrade", "head", "--no-backup"]);
        assert_eq!(user_tables(backend), ["t_bbb"], "only bbb ran");
    });
}

#[test]
fn failure_in_the_middle_leaves_the_last_good_revision() {
    for_each_backend("failure", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        project.revision_with(
            "bbb",
            &["aaa"],
            "",
            "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY);\n\
             INSERT INTO t_bbb VALUES (1);\n\
             INSERT INTO no_such_table VALUES (1);\n\
             CREATE TABLE t_never (id INTEGER);",
            Some("DROP TABLE t_bbb;"),
        );
        project.table_revision("ccc", &["bbb"]);
        let stderr = project.fails(&["upgrade", "heads", "--no-backup"]);
        assert!(stderr.contains("bbb"), "{stderr}");
        assert!(stderr.contains("statement 3"), "{stderr}");
        assert!(stderr.contains("no_such_table"), "{stderr}");
        assert_eq!(version_rows(backend, "retort_version"), ["aaa"]);
        if backend.dialect.transactional_ddl() {
            assert_eq!(user_tables(backend), ["t_aaa"], "bbb rolled back whole");
        } else {
            // MySQL committed the CREATE TABLE; retort must say so.
            assert_eq!(user_tables(backend), ["t_aaa", "t_bbb"]);
            assert!(stderr.contains("took effect"), "{stderr}");
            assert!(stderr.contains("CREATE TABLE t_bbb"), "{stderr}");
            // The INSERT after the implicit commit ran in a new transaction: rolled back.
            assert!(stderr.contains("statement 2 was rolled back"), "{stderr}");
            let rows = backend
                .connect()
                .query("SELECT COUNT(*) FROM t_bbb")
                .unwrap();
            assert_eq!(rows, vec![vec![Value::Int(0)]]);
        }
        let log = project.ok(&["log", "--json"]);
        assert!(log.contains("failed"), "{log}");
    });
}

#[test]
fn irreversible_revision_is_refused_before_anything_changes() {
    for_each_backend("irreversible", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        project.revision_with(
            "bbb",
            &["aaa"],
            "",
            "CREATE TABLE t_bbb (id INTEGER);",
            None,
        );
        project.table_revision("ccc", &["bbb"]);
        project.ok(&["upgrade", "heads", "--no-backup"]);
        let stderr = project.fails(&["downgrade", "base", "--no-backup"]);
        assert!(stderr.contains("bbb"), "{stderr}");
        assert_eq!(version_rows(backend, "retort_version"), ["ccc"]);
        assert_eq!(user_tables(backend), ["t_aaa", "t_bbb", "t_ccc"]);
    });
}

#[test]
fn adopts_an_alembic_version_table() {
    for_each_backend("adopt_alembic", |backend| {
        let mut conn = backend.connect();
        // What Alembic leaves behind after `upgrade aaa`.
        conn.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
        )
        .unwrap();
        conn.execute("CREATE TABLE t_aaa (id INTEGER PRIMARY KEY)")
            .unwrap();
        conn.execute("INSERT INTO alembic_version (version_num) VALUES ('aaa')")
            .unwrap();
        drop(conn);
        let project = Project::with_version_table(backend, "alembic_version");
        project.table_revision("aaa", &[]);
        project.table_revision("bbb", &["aaa"]);
        assert!(project.ok(&["current"]).contains("aaa"));
        project.ok(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(version_rows(backend, "alembic_version"), ["bbb"]);
        assert_eq!(user_tables(backend), ["t_aaa", "t_bbb"]);
    });
}

#[test]
fn eight_concurrent_runners_apply_each_revision_once() {
    for_each_backend("concurrent", |backend| {
        let project = Project::new(backend);
        project.revision_with(
            "r00",
            &[],
            "",
            "CREATE TABLE applied (rev VARCHAR(10) NOT NULL);",
            None,
        );
        let ids: Vec<String> = (1..=12).map(|i| format!("r{i:02}")).collect();
        let mut parent = "r00".to_string();
        for id in &ids {
            project.revision_with(
                id,
                &[&parent],
                "",
                &format!(
                    "CREATE TABLE t_{id} (id INTEGER PRIMARY KEY);\n\
                     INSERT INTO applied (rev) VALUES ('{id}');"
                ),
                None,
            );
            parent = id.clone();
        }
        let runners: Vec<_> = (0..8)
            .map(|_| {
                let mut cmd = project.command(&["upgrade", "heads", "--no-backup"]);
                cmd.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for runner in runners {
            let output = runner.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{:?}: {}",
                backend.dialect,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_eq!(version_rows(backend, "retort_version"), ["r12"]);
        let applied = text_column(backend.connect().query("SELECT rev FROM applied").unwrap());
        assert_eq!(applied, ids, "each revision ran exactly once");
        let audit = text_column(
            backend
                .connect()
                .query("SELECT revision FROM retort_version_log WHERE outcome = 'success'")
                .unwrap(),
        );
        let mut expected = ids.clone();
        expected.insert(0, "r00".to_string());
        assert_eq!(audit, expected, "one successful audit row per revision");
    });
}

#[test]
fn drift_of_an_applied_revision_is_detected() {
    for_each_backend("drift", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        project.table_revision("bbb", &["aaa"]);
        project.ok(&["upgrade", "heads", "--no-backup"]);
        project.ok(&["check"]);
        project.revision_with(
            "aaa",
            &[],
            "",
            "CREATE TABLE t_aaa (id INTEGER PRIMARY KEY, extra INTEGER);",
            Some("DROP TABLE t_aaa;"),
        );
        let output = project.run(&["check"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("aaa"), "{text}");
    });
}

/// PostgreSQL: a `transactional = false` revision runs its statements one by one outside a
/// transaction, so `CREATE INDEX CONCURRENTLY` works (it refuses to run in a transaction block).
#[test]
fn postgres_non_transactional_revision_runs_statement_by_statement() {
    let Some(backend) = Backend::server(Dialect::Postgresql, "pg_non_txn") else {
        return;
    };
    let project = Project::new(&backend);
    project.table_revision("aaa", &[]);
    project.revision_with(
        "bbb",
        &["aaa"],
        "-- transactional = false\n",
        "CREATE INDEX CONCURRENTLY t_aaa_id ON t_aaa (id);\n\
         CREATE INDEX CONCURRENTLY t_aaa_id2 ON t_aaa (id);",
        Some("DROP INDEX CONCURRENTLY t_aaa_id;\nDROP INDEX CONCURRENTLY t_aaa_id2;"),
    );
    project.ok(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(version_rows(&backend, "retort_version"), ["bbb"]);
    let indexes = text_column(
        backend
            .connect()
            .query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 't_aaa' AND indexname LIKE \
                 't_aaa_id%'",
            )
            .unwrap(),
    );
    assert_eq!(indexes, ["t_aaa_id", "t_aaa_id2"]);
    project.ok(&["downgrade", "aaa", "--no-backup"]);
    assert_eq!(version_rows(&backend, "retort_version"), ["aaa"]);
}

/// Runs an offline script with the database's own command-line client.
fn run_script(backend: &Backend, script: &str) {
    let (program, args): (&str, Vec<String>) = match backend.dialect {
        Dialect::Postgresql => (
            "psql",
            vec![
                "-X".into(),
                "-q".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-d".into(),
                backend.url.clone(),
            ],
        ),
        Dialect::Mysql => {
            let rest = backend.url.split_once("://").unwrap().1;
            let (userinfo, host_path) = rest.rsplit_once('@').unwrap();
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let (host_port, database) = host_path.split_once('/').unwrap();
            let database = database.split('?').next().unwrap();
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
            let mut args = vec![
                format!("--host={host}"),
                format!("--port={port}"),
                format!("--user={user}"),
                database.to_string(),
            ];
            if !password.is_empty() {
                args.push(format!("--password={password}"));
            }
            ("mariadb", args)
        }
        Dialect::Sqlite => {
            let path = backend.url.trim_start_matches("sqlite:///").to_string();
            ("sqlite3", vec!["-bail".into(), path])
        }
    };
    let mut child = std::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{program} failed on the offline script:\n{}\n--- script ---\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The offline script, run by the database's own client, leaves the same tables and version
/// rows as the online upgrade.
#[test]
fn offline_sql_matches_the_online_upgrade() {
    for_each_backend("offline_online", |online| {
        let online_project = Project::new(online);
        let write = |project: &Project| {
            project.table_revision("aaa", &[]);
            project.revision_with(
                "bbb",
                &["aaa"],
                "",
                "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY, note VARCHAR(20) DEFAULT 'a;b');\n\
                 INSERT INTO t_bbb (id) VALUES (1);",
                Some("DROP TABLE t_bbb;"),
            );
            project.table_revision("left", &["bbb"]);
            project.table_revision("right", &["bbb"]);
            project.table_revision("joined", &["left", "right"]);
        };
        write(&online_project);
        online_project.ok(&["upgrade", "heads", "--no-backup"]);

        let offline = online.sibling("offline_offline");
        let offline_project = Project::new(&offline);
        write(&offline_project);
        let script = offline_project.ok(&["upgrade", "heads", "--sql"]);
        assert!(script.contains("-- Running upgrade"), "{script}");
        run_script(&offline, &script);

        assert_eq!(user_tables(&offline), user_tables(online));
        assert_eq!(
            version_rows(&offline, "retort_version"),
            version_rows(online, "retort_version")
        );
        assert_eq!(version_rows(&offline, "retort_version"), ["joined"]);
    });
}

/// PostgreSQL: when a statement of a `transactional = false` revision fails, the ones before it
/// stay applied; retort says which, keeps the version table at the last complete revision, and
/// completes the `started` audit row as failed.
#[test]
fn postgres_non_transactional_failure_reports_what_took_effect() {
    let Some(backend) = Backend::server(Dialect::Postgresql, "pg_non_txn_fail") else {
        return;
    };
    let project = Project::new(&backend);
    project.table_revision("aaa", &[]);
    project.revision_with(
        "bbb",
        &["aaa"],
        "-- transactional = false\n",
        "CREATE INDEX CONCURRENTLY t_aaa_id ON t_aaa (id);\n\
         CREATE INDEX CONCURRENTLY nope_id ON no_such_table (id);",
        None,
    );
    let stderr = project.fails(&["upgrade", "heads", "--no-backup"]);
    assert!(stderr.contains("statement 2"), "{stderr}");
    assert!(stderr.contains("took effect"), "{stderr}");
    assert!(
        stderr.contains("CREATE INDEX CONCURRENTLY t_aaa_id"),
        "{stderr}"
    );
    assert_eq!(version_rows(&backend, "retort_version"), ["aaa"]);
    let outcomes = text_column(
        backend
            .connect()
            .query("SELECT revision || ':' || outcome FROM retort_version_log")
            .unwrap(),
    );
    assert_eq!(outcomes, ["aaa:success", "bbb:failed"]);
}

/// PostgreSQL: `version_table_schema` puts the version table (and the audit table beside it)
/// in that schema; `current` and the lock use it too.
#[test]
fn postgres_version_table_schema() {
    let Some(backend) = Backend::server(Dialect::Postgresql, "pg_schema") else {
        return;
    };
    backend.connect().execute("CREATE SCHEMA ops").unwrap();
    let project = Project::new(&backend);
    let config = project.path().join("migrate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}version_table_schema = \"ops\"\n")).unwrap();
    project.table_revision("aaa", &[]);
    project.ok(&["upgrade", "heads", "--no-backup"]);
    let mut conn = backend.connect();
    assert!(conn.table_exists(Some("ops"), "retort_version").unwrap());
    assert!(conn
        .table_exists(Some("ops"), "retort_version_log")
        .unwrap());
    assert!(!conn.table_exists(Some("public"), "retort_version").unwrap());
    assert_eq!(
        text_column(
            conn.query("SELECT version_num FROM ops.retort_version")
                .unwrap()
        ),
        ["aaa"]
    );
    assert!(project.ok(&["current"]).contains("aaa"));
}

/// MySQL: a `DELIMITER` block runs online as one statement, and the offline script wraps it in
/// `DELIMITER` lines again so the `mariadb` client runs it the same way.
#[test]
fn mysql_delimiter_blocks_online_and_offline() {
    let write = |project: &Project| {
        project.revision_with(
            "aaa",
            &[],
            "",
            "CREATE TABLE t_aaa (id INTEGER PRIMARY KEY, note VARCHAR(20));\n\
             DELIMITER //\n\
             CREATE TRIGGER t_aaa_note BEFORE INSERT ON t_aaa FOR EACH ROW\n\
             BEGIN\n    SET NEW.note = CONCAT('x;', NEW.id);\nEND //\n\
             DELIMITER ;\n\
             INSERT INTO t_aaa (id) VALUES (7);",
            Some("DROP TABLE t_aaa;"),
        );
        // The same without DELIMITER: retort keeps the body whole anyway.
        project.revision_with(
            "bbb",
            &["aaa"],
            "",
            "CREATE PROCEDURE fill_aaa(IN n INT)\n\
             BEGIN\n    DECLARE i INT DEFAULT 100;\n    WHILE i < 100 + n DO\n        \
             IF i % 2 = 0 THEN INSERT INTO t_aaa (id) VALUES (i); END IF;\n        \
             SET i = i + 1;\n    END WHILE;\nEND;\n\
             CALL fill_aaa(4);",
            Some("DROP PROCEDURE fill_aaa;"),
        );
    };
    let Some(online) = Backend::server(Dialect::Mysql, "mysql_delimiter_on") else {
        return;
    };
    let online_project = Project::new(&online);
    write(&online_project);
    online_project.ok(&["upgrade", "heads", "--no-backup"]);

    let offline = online.sibling("mysql_delimiter_off");
    let offline_project = Project::new(&offline);
    write(&offline_project);
    let script = offline_project.ok(&["upgrade", "heads", "--sql"]);
    assert!(script.contains("DELIMITER //"), "{script}");
    run_script(&offline, &script);

    for backend in [&online, &offline] {
        let notes = text_column(backend.connect().query("SELECT note FROM t_aaa").unwrap());
        assert_eq!(notes, ["x;100", "x;102", "x;7"], "{:?}", backend.url);
        assert_eq!(version_rows(backend, "retort_version"), ["bbb"]);
    }
}

/// PostgreSQL: `CREATE INDEX CONCURRENTLY` in a transactional revision fails with a hint to mark
/// the revision `transactional = false`.
#[test]
fn postgres_concurrent_index_in_a_transaction_suggests_the_header() {
    let Some(backend) = Backend::server(Dialect::Postgresql, "pg_cic_hint") else {
        return;
    };
    let project = Project::new(&backend);
    project.revision_with(
        "aaa",
        &[],
        "",
        "CREATE TABLE t_aaa (id INTEGER);\nCREATE INDEX CONCURRENTLY t_aaa_id ON t_aaa (id);",
        None,
    );
    let stderr = project.fails(&["upgrade", "heads", "--no-backup"]);
    assert!(stderr.contains("transactional = false"), "{stderr}");
    assert!(user_tables(&backend).is_empty(), "rolled back whole");
}

/// No command shows the password of the URL, whatever fails.
#[test]
fn passwords_never_appear_in_output() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(backend) = Backend::server(dialect, "password_output") else {
            continue;
        };
        let (scheme, rest) = backend.url.split_once("://").unwrap();
        let (userinfo, host_path) = rest.rsplit_once('@').unwrap();
        let user = userinfo.split(':').next().unwrap();
        let database = host_path.split_once('/').unwrap().1;
        let secret = "Pw0rd%21Secret";
        let urls = [
            // Trusted locally: the password is accepted and the commands work.
            format!("{scheme}://{user}:{secret}@{host_path}"),
            format!("{scheme}://{user}:{secret}@127.0.0.1:1/{database}"),
            format!(
                "{scheme}://{user}:{secret}@{}/retort_no_such_db",
                host_path.split('/').next().unwrap()
            ),
        ];
        for url in urls {
            let mut project = Project::new(&backend);
            project.url = url;
            project.table_revision("aaa", &[]);
            for args in [
                &["upgrade", "heads", "--no-backup"][..],
                &["current"],
                &["status"],
                &["log"],
                &["downgrade", "base", "--no-backup"],
            ] {
                let output = project.run(args);
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                assert!(!text.contains("Pw0rd"), "{args:?}: {text}");
                assert!(!text.contains("Secret"), "{args:?}: {text}");
            }
        }
    }
}

/// `--migration-lock-wait` is honoured: while another session holds the migration lock, `upgrade`
/// gives up after the timeout with a clear message and changes nothing.
#[test]
fn lock_timeout_is_honoured() {
    for dialect in [Dialect::Postgresql, Dialect::Mysql] {
        let Some(backend) = Backend::server(dialect, "lock_timeout_cli") else {
            continue;
        };
        let project = Project::new(&backend);
        project.table_revision("aaa", &[]);
        let mut holder = backend.connect();
        // The key the executor locks: `retort:<version table>`.
        holder
            .lock("retort:retort_version", std::time::Duration::from_secs(5))
            .unwrap();
        let stderr = project.fails(&[
            "upgrade",
            "heads",
            "--no-backup",
            "--migration-lock-wait",
            "1",
        ]);
        assert!(stderr.contains("lock"), "{dialect:?}: {stderr}");
        assert!(
            stderr.contains("--migration-lock-wait"),
            "{dialect:?}: {stderr}"
        );
        assert!(version_rows(&backend, "retort_version").is_empty());
        holder.unlock("retort:retort_version").unwrap();
        project.ok(&[
            "upgrade",
            "heads",
            "--no-backup",
            "--migration-lock-wait",
            "1",
        ]);
        assert_eq!(version_rows(&backend, "retort_version"), ["aaa"]);
    }
}

/// PostgreSQL offline: a `transactional = false` revision (`CREATE INDEX CONCURRENTLY`) is
/// placed outside the script's transaction, so `psql` runs the script, with one transaction for
/// the whole script and with one per revision.
#[test]
fn postgres_offline_non_transactional_revision_runs_in_psql() {
    for per_migration in [false, true] {
        let Some(backend) = Backend::server(Dialect::Postgresql, "pg_offline_non_txn") else {
            return;
        };
        let project = Project::new(&backend);
        if per_migration {
            let config = project.path().join("migrate.toml");
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(&config, format!("{text}transaction_per_migration = true\n")).unwrap();
        }
        project.table_revision("aaa", &[]);
        project.revision_with(
            "bbb",
            &["aaa"],
            "-- transactional = false\n",
            "CREATE INDEX CONCURRENTLY t_aaa_id ON t_aaa (id);",
            Some("DROP INDEX CONCURRENTLY t_aaa_id;"),
        );
        project.table_revision("ccc", &["bbb"]);
        let script = project.ok(&["upgrade", "heads", "--sql"]);
        run_script(&backend, &script);
        assert_eq!(version_rows(&backend, "retort_version"), ["ccc"]);
        assert_eq!(user_tables(&backend), ["t_aaa", "t_ccc"]);
    }
}

/// MySQL: a runner killed in the middle of a revision leaves its audit row as `started` (so
/// `log` shows the interrupted run), the version table at the last complete revision, and the
/// DDL that had already committed.
#[test]
fn mysql_runner_killed_mid_revision_leaves_a_started_audit_row() {
    let Some(backend) = Backend::server(Dialect::Mysql, "mysql_killed") else {
        return;
    };
    let project = Project::new(&backend);
    project.table_revision("aaa", &[]);
    project.revision_with(
        "bbb",
        &["aaa"],
        "",
        "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY);\n\
         SELECT SLEEP(30);\n\
         CREATE TABLE t_late (id INTEGER);",
        None,
    );
    let mut runner = project
        .command(&["upgrade", "heads", "--no-backup"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (polling, no timing assumption) until the revision's first statement committed.
    let mut conn = backend.connect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !conn.table_exists(None, "t_bbb").unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the runner never got to bbb"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    runner.kill().unwrap();
    runner.wait().unwrap();
    assert_eq!(version_rows(&backend, "retort_version"), ["aaa"]);
    let audit = text_column(
        conn.query("SELECT CONCAT(revision, ':', outcome) FROM retort_version_log")
            .unwrap(),
    );
    assert_eq!(audit, ["aaa:success", "bbb:started"]);
    let log = project.ok(&["log"]);
    assert!(log.contains("started"), "{log}");
    assert_eq!(user_tables(&backend), ["t_aaa", "t_bbb"]);
}

#[test]
fn verbose_shows_each_statement_as_it_runs() {
    for_each_backend("verbose", |backend| {
        let project = Project::new(backend);
        project.table_revision("aaa", &[]);
        for (command, target, line, statement) in [
            (
                "upgrade",
                "heads",
                5,
                "CREATE TABLE t_aaa (id INTEGER PRIMARY KEY)",
            ),
            ("downgrade", "base", 8, "DROP TABLE t_aaa"),
        ] {
            let output = project.run(&["-v", command, target, "--no-backup"]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{stderr}");
            assert_eq!(
                crate::verbose::statement_lines(&stderr),
                [(line, statement.to_string())],
                "{}: {stderr}",
                backend.url
            );
        }
    });
}
