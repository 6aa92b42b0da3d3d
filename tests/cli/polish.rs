//! Issue 11 items 24 and 25: the library inside an async runtime, and the CLI's rough edges
//! (help texts, empty database files, the audit table setting).

use retort::{Dialect, Migrator};

use crate::support::server::TestDatabase;

const REVISION: &str =
    "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t;\n";

/// The README's migrate-on-startup code, run from inside a tokio runtime of either flavour.
fn migrate_inside_tokio(dialect: Dialect, flavour: &str) {
    let Some(db) = TestDatabase::create(dialect, &format!("tokio_{flavour}")) else {
        return;
    };
    let runtime = match flavour {
        "current_thread" => tokio::runtime::Builder::new_current_thread().build(),
        _ => tokio::runtime::Builder::new_multi_thread().build(),
    }
    .unwrap();
    let url = db.url.clone();
    let heads: retort::Result<Vec<String>> = runtime.block_on(async move {
        let mut migrator = Migrator::from_sources(&[("a1.sql", REVISION)])?.with_url(&url)?;
        migrator.upgrade("heads")?;
        let current = migrator.current()?;
        assert!(migrator.check()?.is_ok());
        migrator.downgrade("base")?;
        migrator.upgrade("heads")?;
        Ok(current)
    });
    assert_eq!(heads.unwrap(), ["a1"]);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_migrates_inside_a_current_thread_tokio_runtime() {
    migrate_inside_tokio(Dialect::Postgresql, "current_thread");
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_migrates_inside_a_multi_thread_tokio_runtime() {
    migrate_inside_tokio(Dialect::Postgresql, "multi_thread");
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_migrates_inside_a_tokio_runtime() {
    migrate_inside_tokio(Dialect::Mysql, "current_thread");
    migrate_inside_tokio(Dialect::Mysql, "multi_thread");
}

/// `#[tokio::main]` as the README writes it: the migrator is called straight from `main`.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_migrates_from_an_async_test() {
    let Some(url) = crate::support::server::server_url(Dialect::Postgresql) else {
        return;
    };
    // Only the read: the admin database is shared, so nothing is created in it.
    let mut migrator = Migrator::from_sources(&[("a1.sql", REVISION)])
        .unwrap()
        .with_url(&url)
        .unwrap()
        .with_version_table("retort_polish_never_created");
    assert!(migrator.current().unwrap().is_empty());
}

/// A run with nothing to do on a missing SQLite file leaves no file behind, from the CLI and
/// from the library; one with something to do still creates it.
#[cfg(feature = "sqlite")]
#[test]
fn nothing_to_do_creates_no_database_file() {
    let project = crate::support::TestProject::new();
    let db = project.path().join("app.db");
    for args in [
        &["downgrade", "base"][..],
        &["stamp", "head"],
        &["stamp", "base"],
        &["stamp", "--purge", "base"],
        &["upgrade", "heads"],
        &["upgrade", "heads", "--verify"],
    ] {
        let (code, _, stderr) = project.run(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stderr.contains("nothing to do"), "{args:?}: {stderr}");
        assert!(!db.exists(), "{args:?} created an empty database file");
    }
    project.revision("a1", &[], "");
    assert_eq!(project.run(&["downgrade", "base"]).0, 0);
    assert!(!db.exists(), "downgrade base at base created the file");
    let url = format!("sqlite:///{}", db.display());
    let mut migrator = Migrator::from_config(project.path().join("migrate.toml"))
        .unwrap()
        .with_url(&url)
        .unwrap();
    assert!(migrator.downgrade("base").unwrap().steps.is_empty());
    assert!(!db.exists(), "Migrator::downgrade at base created the file");
    assert_eq!(migrator.upgrade("heads").unwrap().steps.len(), 1);
    assert!(db.exists());
}

/// The sorted table names of an SQLite file.
#[cfg(feature = "sqlite")]
fn sqlite_tables(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let names = statement.query_map([], |row| row.get(0)).unwrap();
    names.map(Result::unwrap).collect()
}

/// A project with one revision whose `[migrate]` gets `audit_line`.
fn audit_project(audit_line: &str) -> crate::support::TestProject {
    let project = crate::support::TestProject::new();
    project.file(
        "migrate.toml",
        &format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n{audit_line}\n"
        ),
    );
    project.revision("a1", &[], "");
    project
}

#[cfg(feature = "sqlite")]
#[test]
fn the_audit_table_name_is_configurable() {
    let project = audit_project("audit_table = \"migration_audit\"");
    assert_eq!(project.run(&["upgrade", "heads"]).0, 0);
    assert_eq!(
        sqlite_tables(&project.path().join("app.db")),
        ["migration_audit", "retort_version", "t_a1"]
    );
    let (code, stdout, stderr) = project.run(&["log"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("a1"), "{stdout}");
}

/// `audit_table = false`: no audit table is created, and `log` and drift detection say they
/// need it instead of reporting an empty trail.
#[cfg(feature = "sqlite")]
#[test]
fn the_audit_table_can_be_turned_off() {
    let project = audit_project("audit_table = false");
    let (code, _, stderr) = project.run(&["upgrade", "heads"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sqlite_tables(&project.path().join("app.db")),
        ["retort_version", "t_a1"]
    );
    assert_eq!(project.run(&["downgrade", "base"]).0, 0);
    assert_eq!(project.run(&["stamp", "heads"]).0, 0);
    let (code, _, stderr) = project.run(&["log"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error: there is no audit trail to read: `audit_table = false`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: remove `audit_table = false`"),
        "{stderr}"
    );
    let (code, stdout, stderr) = project.run(&["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("warning: drift detection needs the audit table"),
        "{stdout}"
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn a_bad_audit_table_value_is_a_config_error() {
    for (line, message) in [
        ("audit_table = \"\"", "`audit_table` is empty"),
        (
            "audit_table = 3",
            "`audit_table` must be a table name or `false`",
        ),
    ] {
        let (code, _, stderr) = audit_project(line).run(&["heads"]);
        assert_eq!(code, 1, "{line}");
        assert!(
            stderr.contains(&format!("line 4: {message}")),
            "{line}: {stderr}"
        );
    }
}

/// The audit table is the server's too (PostgreSQL, with a schema-less name).
#[cfg(feature = "postgres")]
#[test]
fn the_audit_table_setting_reaches_postgres() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "audit_table") else {
        return;
    };
    let project = audit_project("audit_table = \"migration_audit\"");
    let (code, _, stderr) = project.run(&["--url", &db.url, "upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = db
        .connect()
        .query("SELECT count(*) FROM migration_audit")
        .unwrap();
    assert_eq!(rows[0][0], retort::Value::Int(1));
}

/// `man` is listed; `init`, `completions` and `man` read no config and open no database, so
/// their help leaves out `-c` and `--url` (still accepted: they are global).
#[test]
fn help_lists_man_and_hides_project_options_where_they_mean_nothing() {
    let project = crate::support::TestProject::new();
    let (_, help, _) = project.run(&["--help"]);
    assert!(help.contains("\n  man "), "{help}");
    for sub in ["init", "completions", "man"] {
        let (code, help, _) = project.run(&[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(
            !help.contains("--url") && !help.contains("--config"),
            "{sub}: {help}"
        );
    }
    let (_, help, _) = project.run(&["upgrade", "--help"]);
    assert!(
        help.contains("--url") && help.contains("--config"),
        "{help}"
    );
    let (code, _, stderr) = project.run(&["--url", "sqlite://", "completions", "bash"]);
    assert_eq!(code, 0, "{stderr}");
}

/// `log` and `backups` print a header (with the status lines, so stdout keeps one line per
/// entry) and columns that line up whatever the widths of their cells.
#[cfg(feature = "sqlite")]
#[test]
fn log_and_backups_columns_line_up_under_a_header() {
    let project = crate::support::TestProject::new();
    project.revision("a1", &[], "");
    project.revision("b2_longer_id", &["a1"], "");
    assert_eq!(project.run(&["upgrade", "a1"]).0, 0);
    assert_eq!(project.run(&["upgrade", "heads"]).0, 0);
    assert_eq!(project.run(&["downgrade", "-1"]).0, 0);
    for (command, heading, column) in [
        ("log", "STARTED", "VERSIONS"),
        ("backups", "CREATED", "VERSIONS"),
    ] {
        // Raw output: `run` shortens the temp path in the rows, not in the header's widths.
        let out = project.retort().arg(command).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert!(out.status.success(), "{stderr}");
        let header = stderr.lines().find(|l| l.starts_with(heading)).unwrap();
        let at = header.find(column).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(lines.len() >= 2, "{stdout}");
        for line in &lines {
            assert!(
                line[..at].ends_with("  ") && !line[at..].starts_with(' '),
                "`{column}` does not line up:\n{header}\n{stdout}"
            );
            assert_eq!(line.trim_end(), *line);
        }
    }
    let (_, _, quiet) = project.run(&["-q", "log"]);
    assert!(quiet.is_empty(), "{quiet}");
}

/// The README's async guidance compiles and runs: the migrator inside `spawn_blocking`, its
/// error type crossing the task boundary.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_spawn_blocking_example_runs() {
    fn error_crosses_threads<E: std::error::Error + Send + Sync + 'static>() {}
    error_crosses_threads::<retort::Error>();
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "spawn_blocking") else {
        return;
    };
    let url = db.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        Migrator::from_sources(&[("a1.sql", REVISION)])?
            .with_url(&url)?
            .upgrade("heads")
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.heads_after, ["a1"]);
}
