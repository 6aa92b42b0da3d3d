//! One integration suite over all three backends: every scenario runs the real `retort` binary
//! against SQLite, PostgreSQL and MariaDB (the servers when their URLs are set), each in a
//! database of its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use retort::config::Dialect;
use retort::db::{Connection, Value};
use tempfile::TempDir;

use crate::harness::{connect, TestDatabase};

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
        let down_revision = match down {
            [] => String::new(),
            [one] => format!("-- down_revision = \"{one}\"\n"),
            many => format!(
                "-- down_revision = [{}]\n",
                many.iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut text = format!(
            "-- revision = \"{id}\"\n{down_revision}-- message = \"step {id}\"\n{header}\n-- migrate:upgrade\n{up}\n"
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
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("retort"));
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

        project.ok(&["downgrade", "-1", "--no-backup"]);
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
            "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE t_never (id INTEGER);",
            Some("DROP TABLE t_bbb;"),
        );
        project.table_revision("ccc", &["bbb"]);
        let stderr = project.fails(&["upgrade", "heads", "--no-backup"]);
        assert!(stderr.contains("bbb"), "{stderr}");
        assert!(stderr.contains("statement 2"), "{stderr}");
        assert!(stderr.contains("no_such_table"), "{stderr}");
        assert_eq!(version_rows(backend, "retort_version"), ["aaa"]);
        if backend.dialect.transactional_ddl() {
            assert_eq!(user_tables(backend), ["t_aaa"], "bbb rolled back whole");
        } else {
            // MySQL committed the CREATE TABLE; retort must say so.
            assert_eq!(user_tables(backend), ["t_aaa", "t_bbb"]);
            assert!(stderr.contains("took effect"), "{stderr}");
            assert!(stderr.contains("CREATE TABLE t_bbb"), "{stderr}");
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
                    "CREATE TABLE t_{id} (id INTEGER PRIMARY KEY);\nINSERT INTO applied (rev) VALUES ('{id}');"
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
        "CREATE INDEX CONCURRENTLY t_aaa_id ON t_aaa (id);\nCREATE INDEX CONCURRENTLY t_aaa_id2 ON t_aaa (id);",
        Some("DROP INDEX CONCURRENTLY t_aaa_id;\nDROP INDEX CONCURRENTLY t_aaa_id2;"),
    );
    project.ok(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(version_rows(&backend, "retort_version"), ["bbb"]);
    let indexes = text_column(
        backend
            .connect()
            .query("SELECT indexname FROM pg_indexes WHERE tablename = 't_aaa' AND indexname LIKE 't_aaa_id%'")
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
                "CREATE TABLE t_bbb (id INTEGER PRIMARY KEY, note VARCHAR(20) DEFAULT 'a;b');\nINSERT INTO t_bbb (id) VALUES (1);",
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
