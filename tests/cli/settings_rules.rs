//! How a run's settings are found and resolved (issue 11, items 10 to 14): the database URL only
//! when a database is used, SQLite paths relative to the config file, `migrate.toml` found
//! upward, the database named before a change, a missing `script_location`, the CI gates.

use crate::support::TestProject;

/// A project whose `database_url` names a variable no test sets.
fn project_with_unset_url() -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrate.toml",
        "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"${RETORT_TEST_UNSET_DB_URL}\"\n",
    );
    p.revision("aaaa0001", &[], "");
    p
}

#[test]
fn an_unset_variable_in_database_url_fails_only_commands_that_use_the_file_url() {
    let p = project_with_unset_url();
    let no_database: [&[&str]; 6] = [
        &["heads"],
        &["history"],
        &["check"],
        &["revision", "-m", "next"],
        &["upgrade", "heads", "--sql", "--dialect", "sqlite"],
        &["--url", "sqlite:///flag.db", "current"],
    ];
    for args in no_database {
        let (code, stdout, stderr) = p.run(args);
        assert_eq!(code, 0, "{args:?}\n{stdout}\n{stderr}");
    }
    let from_env = p
        .retort()
        .env("DATABASE_URL", "sqlite:///env.db")
        .arg("current")
        .output()
        .unwrap();
    assert!(from_env.status.success(), "{from_env:?}");
    let (code, _, stderr) = p.run(&["current"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "migrate.toml: line 3: `migrate.database_url`: environment variable \
             `RETORT_TEST_UNSET_DB_URL` is not set"
        ),
        "{stderr}"
    );
}

#[test]
fn relative_sqlite_paths_in_the_config_are_taken_from_its_directory() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    let run_in = |dir: &str, args: &[&str]| {
        let out = p
            .retort()
            .current_dir(p.path().join(dir))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run_in("migrations", &["-c", "../migrate.toml", "upgrade", "heads"]);
    assert!(p.path().join("app.db").is_file());
    assert!(!p.path().join("migrations/app.db").exists());
    // Without `-c`, the nearest migrate.toml above is used, with the same database.
    let status = run_in("migrations/versions", &["status"]);
    assert!(status.contains("Database is up to date."), "{status}");
    // A path typed on the command line (or in DATABASE_URL) is the working directory's.
    run_in(
        "migrations",
        &["--url", "sqlite:///typed.db", "upgrade", "heads"],
    );
    assert!(p.path().join("migrations/typed.db").is_file());
    assert!(!p.path().join("typed.db").exists());
}

#[test]
fn init_inside_a_project_still_creates_a_new_one_where_asked() {
    let p = TestProject::new();
    let (code, _, stderr) = p.run(&["init", "inner"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(p.path().join("inner/migrate.toml").is_file());
    let out = p
        .retort()
        .current_dir(p.path().join("inner"))
        .args(["revision", "-m", "first"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let written = String::from_utf8_lossy(&out.stdout);
    assert!(written.contains("inner/migrations/versions/"), "{written}");
}

#[test]
fn every_command_that_changes_the_database_names_it_first() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    let first_line = |args: &[&str]| {
        let (code, _, stderr) = p.run(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stderr.lines().next().unwrap_or_default().to_string()
    };
    let named = |line: &str, url: &str, from: &str| {
        let prefix = format!("database: {url} (SQLite 3.");
        assert!(
            line.starts_with(&prefix) && line.ends_with(&format!(", from {from})")),
            "{line}"
        );
    };
    for args in [
        &["upgrade", "heads"][..],
        &["backup"],
        &["downgrade", "base"],
        &["stamp", "heads"],
        &["restore", "--latest"],
        &["upgrade", "heads", "--rehearse"],
    ] {
        named(&first_line(args), "sqlite:///app.db", "migrate.toml");
    }
    named(
        &first_line(&["--url", "sqlite:///other.db", "upgrade", "heads"]),
        "sqlite:///other.db",
        "--url",
    );
    let out = p
        .retort()
        .env("DATABASE_URL", "sqlite:///env.db")
        .args(["upgrade", "heads"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    named(
        stderr.lines().next().unwrap_or_default(),
        "sqlite:///env.db",
        "DATABASE_URL",
    );
    let (code, _, stderr) = p.run(&["-q", "downgrade", "base"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    // Reading commands and the plan of a dry run change nothing: no line.
    for args in [
        &["status"][..],
        &["current"],
        &["upgrade", "heads", "--dry-run"],
    ] {
        let (_, _, stderr) = p.run(args);
        assert!(!stderr.contains("database:"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_script_location_is_alembics_error_and_nothing_is_created() {
    let p = TestProject::new();
    p.file(
        "migrate.toml",
        "[migrate]\nscript_location = \"migartions\"\ndatabase_url = \"sqlite:///app.db\"\n",
    );
    for args in [
        &["heads"][..],
        &["revision", "-m", "x"],
        &["check"],
        &["upgrade", "heads"],
    ] {
        let (code, _, stderr) = p.run(args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(
                "error: Path doesn't exist: [TMP]/migartions.  Please use the 'init' command to \
                 create a new scripts folder.\n"
            ),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("hint: run `retort init`"), "{stderr}");
    }
    assert!(!p.path().join("migartions").exists());
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn status_exit_code_and_check_strict_are_ci_gates() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    let code = |args: &[&str]| p.run(args).0;
    assert_eq!(code(&["status"]), 0);
    assert_eq!(code(&["status", "--exit-code"]), 1);
    assert_eq!(code(&["status", "--exit-code", "--json"]), 1);
    assert_eq!(code(&["check"]), 0);
    let (strict, stdout, _) = p.run(&["check", "--strict"]);
    assert_eq!(strict, 1);
    assert!(
        stdout.contains("problem: Target database is not up to date."),
        "{stdout}"
    );
    assert_eq!(code(&["upgrade", "heads"]), 0);
    assert_eq!(code(&["status", "--exit-code"]), 0);
    assert_eq!(code(&["check", "--strict"]), 0);
    // Two heads: a warning for `check`, a problem for `check --strict`.
    p.file(
        "migrations/versions/bbbb0002_rev.sql",
        "-- revision = \"bbbb0002\"\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    assert_eq!(code(&["upgrade", "heads"]), 0);
    assert_eq!(code(&["check"]), 0);
    let (strict, stdout, _) = p.run(&["check", "--strict", "--no-db"]);
    assert_eq!(strict, 1);
    assert!(
        stdout.contains("problem: 2 heads (aaaa0001, bbbb0002)"),
        "{stdout}"
    );
}

/// The servers name their engine and version (skipped visibly without the server URLs).
#[test]
fn a_server_database_is_named_with_its_engine_and_version() {
    use crate::support::server::TestDatabase;
    use retort::Dialect;
    for (dialect, engines) in [
        (Dialect::Postgresql, &["PostgreSQL "][..]),
        (Dialect::Mysql, &["MariaDB ", "MySQL "]),
    ] {
        let Some(db) = TestDatabase::create(dialect, "named_database") else {
            continue;
        };
        let p = TestProject::new();
        p.revision("aaaa0001", &[], "");
        let (code, _, stderr) = p.run(&["--url", &db.url, "upgrade", "heads", "--no-backup"]);
        assert_eq!(code, 0, "{stderr}");
        let line = stderr.lines().next().unwrap_or_default();
        assert!(
            engines
                .iter()
                .any(|engine| line.contains(&format!(" ({engine}"))),
            "{line}"
        );
        assert!(line.ends_with(", from --url)"), "{line}");
    }
}
