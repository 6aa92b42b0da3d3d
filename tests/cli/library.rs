//! retort as a library: `Migrator` on real SQLite files, concurrent replicas (threads and
//! processes, alone and mixed with the CLI), embedded sources checked like files on disk, and the
//! standalone example project that embeds the demo migrations.
#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::{Arc, Barrier};

use assert_cmd::Command;
use retort::__test_support::{read_audit, read_heads, VersionTable};
use retort::Dialect;
use retort::SqliteConnection;
use retort::{Error, Migrator};
use retort::{Operation, RunOptions};

/// The repository's demo project.
fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrate.toml")
}

fn demo_versions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/versions")
}

/// The demo's revision files as `(file name, text)`, as `include_migrations!` would give them.
fn demo_sources() -> Vec<(String, String)> {
    let mut sources: Vec<(String, String)> = std::fs::read_dir(demo_versions())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            (
                format!(
                    "migrations/versions/{}",
                    p.file_name().unwrap().to_string_lossy()
                ),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    // Reverse on purpose: the migrator loads them in file-name order whatever the input order.
    sources.sort();
    sources.reverse();
    sources
}

/// A temp project with `migrate.toml` and these files in `migrations/versions/`.
fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let versions = project.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        project.path().join("migrate.toml"),
        "[migrate]\nscript_location = \"migrations\"\n",
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(versions.join(name), text).unwrap();
    }
    project
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

fn demo_migrator(db: &Path) -> Migrator {
    Migrator::from_config(demo_config())
        .unwrap()
        .with_url(&sqlite_url(db))
        .unwrap()
}

fn demo_heads() -> Vec<String> {
    let mut heads = Migrator::from_config(demo_config()).unwrap().heads();
    heads.sort();
    heads
}

fn table() -> VersionTable {
    VersionTable::new(Dialect::Sqlite, None, "retort_version")
}

fn version_rows(db: &Path) -> Vec<String> {
    let mut conn = SqliteConnection::open_path(Some(db), false).unwrap();
    let mut rows = read_heads(&mut conn, &table()).unwrap();
    rows.sort();
    rows
}

/// `(revision, direction, outcome)` of every audit row, oldest first.
fn audit(db: &Path) -> Vec<(String, String, String)> {
    let mut conn = SqliteConnection::open_path(Some(db), false).unwrap();
    read_audit(&mut conn, &table().audit().expect("an audit table"))
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.revision,
                e.direction.name().into(),
                e.outcome.name().into(),
            )
        })
        .collect()
}

fn retort(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("retort").unwrap();
    cmd.current_dir(dir).env_remove("DATABASE_URL");
    cmd
}

#[test]
fn upgrade_reports_each_step_and_the_database_agrees_with_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let mut migrator = demo_migrator(&db);
    assert!(!db.exists());
    let status = migrator.status().unwrap();
    assert!(
        !db.exists(),
        "status is read-only and never creates the file"
    );
    assert_eq!(status.pending.len(), 7);
    assert!(!status.up_to_date && status.current.is_empty());

    let report = migrator.upgrade("heads").unwrap();
    let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!(
        ran, status.pending,
        "the pending list is the order that runs"
    );
    for step in &report.steps {
        assert_eq!(step.outcome, "success");
        assert!(step.checksum.as_deref().unwrap().starts_with("sha256:"));
        assert!(step.duration_ms >= 0 && !step.started_at.is_empty());
    }
    assert!(report.heads_before.is_empty());
    assert_eq!(report.heads_after, demo_heads());
    assert_eq!(version_rows(&db), demo_heads());

    let mut current = migrator.current().unwrap();
    current.sort();
    assert_eq!(current, demo_heads());
    assert!(migrator.is_up_to_date().unwrap());
    assert!(migrator.pending().unwrap().is_empty());
    assert!(migrator.check().unwrap().is_ok());

    // The CLI reads what the library wrote.
    let out = retort(tmp.path())
        .args(["-c", demo_config().to_str().unwrap()])
        .args(["--url", &sqlite_url(&db), "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["up_to_date"], true);

    let down = migrator.downgrade("base").unwrap();
    assert_eq!(down.steps.len(), 7);
    assert!(down.heads_after.is_empty());
    assert!(migrator.current().unwrap().is_empty());
}

#[test]
fn embedded_sources_migrate_like_the_files_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let from_files = tmp.path().join("files.db");
    let from_memory = tmp.path().join("memory.db");
    let files = demo_migrator(&from_files).upgrade("heads").unwrap();
    let embedded = Migrator::from_sources(&demo_sources())
        .unwrap()
        .with_url(&sqlite_url(&from_memory))
        .unwrap()
        .upgrade("heads")
        .unwrap();
    let summary = |r: &retort::MigrationReport| -> Vec<(String, Vec<String>, Option<String>)> {
        r.steps
            .iter()
            .map(|s| (s.revision.clone(), s.to.clone(), s.checksum.clone()))
            .collect()
    };
    assert_eq!(summary(&files), summary(&embedded));
    assert_eq!(
        embedded.steps[0].path.as_deref(),
        Some(Path::new(
            "migrations/versions/3568e282dfe1_create_account.sql"
        ))
    );
}

#[test]
fn embedded_sources_fail_with_the_cli_messages() {
    let cases = [
        // An unknown header key.
        vec![(
            "a1_x.sql",
            "-- revision = \"a1\"\n-- colour = 1\n\n-- migrate:upgrade\n",
        )],
        // A missing parent.
        vec![(
            "a1_x.sql",
            "-- revision = \"a1\"\n-- down_revision = \"zz\"\n\n-- migrate:upgrade\n",
        )],
        // A cycle.
        vec![
            (
                "a1_x.sql",
                "-- revision = \"a1\"\n-- down_revision = \"b2\"\n\n-- migrate:upgrade\n",
            ),
            (
                "b2_x.sql",
                "-- revision = \"b2\"\n-- down_revision = \"a1\"\n\n-- migrate:upgrade\n",
            ),
        ],
    ];
    for files in cases {
        let project = project_with(&files);
        let out = retort(project.path()).arg("heads").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        // The CLI names files by their path on disk; the library by the name it was given.
        let cli = String::from_utf8(out.stderr).unwrap().replace(
            &format!("{}/", project.path().join("migrations/versions").display()),
            "",
        );
        let err = Migrator::from_sources(&files).unwrap_err();
        let mut library = format!("error: {err}");
        if let Some(hint) = err.hint() {
            library.push_str(&format!("\n\nhint: {hint}"));
        }
        assert_eq!(cli.trim_end(), library, "for {files:?}");
    }
}

#[test]
fn ten_threads_apply_each_revision_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(tmp.path().join("app.db"));
    let start = Arc::new(Barrier::new(10));
    let replicas: Vec<_> = (0..10)
        .map(|_| {
            let db = Arc::clone(&db);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let mut migrator = Migrator::from_sources(&demo_sources())
                    .unwrap()
                    .with_url(&sqlite_url(&db))
                    .unwrap();
                start.wait();
                migrator.upgrade("heads")
            })
        })
        .collect();
    let mut applied = 0;
    for replica in replicas {
        let report = replica.join().unwrap().unwrap();
        assert_eq!(report.heads_after, demo_heads());
        applied += report.steps.len();
    }
    assert_eq!(applied, 7, "seven revisions, applied once in all");
    assert_exactly_once(&db);
}

/// Every demo revision has one successful upgrade in the audit trail, and nothing failed.
fn assert_exactly_once(db: &Path) {
    let audit = audit(db);
    assert_eq!(audit.len(), 7, "{audit:?}");
    let mut revisions: Vec<&str> = audit.iter().map(|(r, _, _)| r.as_str()).collect();
    revisions.sort();
    revisions.dedup();
    assert_eq!(revisions.len(), 7, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|(_, d, o)| d == "upgrade" && o == "success"),
        "{audit:?}"
    );
    assert_eq!(version_rows(db), demo_heads());
}

/// The libtest name of `replica_process`, which the test binary runs in each replica process.
const REPLICA_PROCESS: &str = "library::replica_process";

/// The body of one replica process, not a test of its own: `ten_processes_...` starts the test
/// binary with `--ignored --exact` on it.
#[test]
#[ignore = "a subprocess entry point, not a test of its own"]
fn replica_process() {
    let db = std::env::var("RETORT_TEST_REPLICA_DB")
        .expect("RETORT_TEST_REPLICA_DB names the database of this replica");
    let report = demo_migrator(Path::new(&db)).upgrade("heads").unwrap();
    println!("applied {}", report.steps.len());
}

#[test]
fn ten_processes_library_and_cli_together_apply_each_revision_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let test_binary = std::env::current_exe().unwrap();
    let cli = assert_cmd::cargo::cargo_bin("retort");
    // Five services using the library and five `retort upgrade heads` runs, all at once.
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut cmd = if i % 2 == 0 {
                let mut cmd = StdCommand::new(&test_binary);
                cmd.args(["--ignored", "--exact", REPLICA_PROCESS, "--nocapture"])
                    .env("RETORT_TEST_REPLICA_DB", &db);
                cmd
            } else {
                let mut cmd = StdCommand::new(&cli);
                cmd.args(["-c", demo_config().to_str().unwrap()]).args([
                    "--url",
                    &sqlite_url(&db),
                    "upgrade",
                    "heads",
                ]);
                cmd
            };
            cmd.env_remove("DATABASE_URL")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        if i % 2 == 0 {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("applied "),
                "the replica did not run: {stdout}"
            );
        }
    }
    assert_exactly_once(&db);
}

#[test]
fn read_only_questions_never_create_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let mut migrator = demo_migrator(&db);
    assert!(!migrator.is_up_to_date().unwrap());
    assert!(migrator.current().unwrap().is_empty());
    let planned = migrator.plan(&Operation::Upgrade("heads".into())).unwrap();
    assert_eq!(planned.steps.len(), 7);
    let report = migrator.check().unwrap();
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("does not exist yet")));
    assert!(!db.exists());
}

#[test]
fn a_failed_revision_is_an_error_and_the_ones_before_it_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let sources = [
        (
            "a1_ok.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
        ),
        (
            "b2_bad.sql",
            "-- revision = \"b2\"\n\
             -- down_revision = \"a1\"\n\n\
             -- migrate:upgrade\n\
             INSERT INTO nope VALUES (1);\n",
        ),
    ];
    let mut migrator = Migrator::from_sources(&sources)
        .unwrap()
        .with_url(&sqlite_url(&db))
        .unwrap();
    match migrator.upgrade("heads") {
        Err(Error::Migration { revision, line, .. }) => {
            assert_eq!((revision.as_str(), line), ("b2", 5))
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(migrator.current().unwrap(), ["a1"]);
    // The general form keeps the steps that ran, with the failed one last, in its error.
    let report = match migrator.execute(&Operation::Upgrade("heads".into()), RunOptions::default())
    {
        Err(Error::MigrationFailed { report, error }) => {
            assert!(matches!(*error, Error::Migration { .. }), "{error:?}");
            report
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(report.steps.len(), 1);
    assert_eq!(report.steps[0].outcome, "failed");
}

#[test]
fn unknown_version_rows_fail_reads_and_purging_stamp_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let mut migrator = demo_migrator(&db);
    migrator.upgrade("3568e282dfe1").unwrap();
    let mut conn = SqliteConnection::open_path(Some(&db), true).unwrap();
    retort::Connection::execute(
        &mut conn,
        "UPDATE retort_version SET version_num = 'feedface'",
    )
    .unwrap();
    drop(conn);
    let err = migrator.current().unwrap_err().to_string();
    assert!(
        err.starts_with("Can't locate revision identified by 'feedface'"),
        "{err}"
    );
    assert!(migrator.upgrade("heads").is_err());
    assert!(!migrator.check().unwrap().is_ok());
    migrator
        .execute(
            &Operation::Stamp {
                targets: vec!["3568e282dfe1".into()],
                purge: true,
            },
            RunOptions::default(),
        )
        .unwrap();
    assert_eq!(migrator.current().unwrap(), ["3568e282dfe1"]);
}

#[test]
fn an_open_connection_is_used_for_every_operation() {
    // In memory: only one connection ever sees this database.
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut migrator = Migrator::from_sources(&demo_sources())
        .unwrap()
        .with_sqlite(conn);
    assert_eq!(migrator.upgrade("heads").unwrap().steps.len(), 7);
    assert!(migrator.is_up_to_date().unwrap());
    let down = migrator.downgrade("3568e282dfe1").unwrap();
    assert_eq!(down.heads_after, ["3568e282dfe1"]);
    assert!(!migrator.is_up_to_date().unwrap());
}

#[test]
fn without_a_database_only_graph_questions_work() {
    let mut migrator = Migrator::from_sources(&demo_sources()).unwrap();
    assert_eq!(migrator.heads().len(), 1);
    let err = migrator.upgrade("heads").unwrap_err().to_string();
    assert!(err.contains("no database URL"), "{err}");
    assert!(migrator.current().is_err());
    assert!(migrator
        .check()
        .unwrap()
        .warnings
        .iter()
        .any(|w| w.contains("drift was not checked")));
}

/// `cargo` building into the same target directory as this test run, so the example reuses the
/// compiled dependencies.
fn cargo() -> StdCommand {
    let mut cmd = StdCommand::new(option_env!("CARGO").unwrap_or("cargo"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    cmd.env("CARGO_TARGET_DIR", target)
        .env_remove("DATABASE_URL");
    cmd
}

#[test]
fn the_startup_example_migrates_with_embedded_files_and_only_the_sqlite_driver() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("startup.db");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/startup/Cargo.toml");
    let run = |url: &str| {
        cargo()
            .args(["run", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .args(["--", url])
            // No files at run time: the working directory holds no migrations.
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let out = run(&sqlite_url(&db));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "applied 7 revision(s); database at {}\n",
            demo_heads().join(", ")
        )
    );
    assert_eq!(version_rows(&db), demo_heads());
    let again = run(&sqlite_url(&db));
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("applied 0 revision(s)"));
    // Built without the `postgres` feature: a PostgreSQL URL names the missing feature.
    let out = run("postgresql://app@localhost/app");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "migration failed: `postgresql` support is not compiled into this build of retort: it \
         needs the `postgres` feature\n"
    );
}

#[test]
fn a_bad_revision_file_fails_the_applications_build_with_the_cli_message() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("src")).unwrap();
    std::fs::create_dir_all(app.path().join("versions")).unwrap();
    let manifest = std::fs::read_to_string(repo.join("examples/startup/Cargo.toml"))
        .unwrap()
        .replace("../..", &repo.display().to_string())
        // Its own name: Cargo names a workspace root's outputs by name and version only, and this
        // build shares its target directory with the example's.
        .replace("name = \"startup\"", "name = \"bad-migrations-app\"");
    std::fs::write(app.path().join("Cargo.toml"), manifest).unwrap();
    // The example's lock file: the same dependency versions, already compiled.
    std::fs::copy(
        repo.join("examples/startup/Cargo.lock"),
        app.path().join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(
        app.path().join("build.rs"),
        "fn main() { retort::build::embed_migrations(\"versions\"); }\n",
    )
    .unwrap();
    std::fs::copy(
        repo.join("examples/startup/src/main.rs"),
        app.path().join("src/main.rs"),
    )
    .unwrap();
    std::fs::write(
        app.path().join("versions/a1_bad.sql"),
        "-- revision = \"a1\"\n-- colour = \"red\"\n\n-- migrate:upgrade\n",
    )
    .unwrap();
    let out = cargo()
        .args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(app.path().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: versions/a1_bad.sql:2: invalid header: unknown key `colour`"),
        "{stderr}"
    );
}

#[test]
fn from_config_reads_the_files_and_writes_no_cache() {
    let tmp = project_with(&[(
        "a1_x.sql",
        "-- revision = \"a1\"\n\n-- migrate:upgrade\nSELECT 1;\n",
    )]);
    let migrator = Migrator::from_config(tmp.path().join("migrate.toml")).unwrap();
    assert_eq!(migrator.heads(), ["a1"]);
    assert!(!tmp.path().join("migrations/.retort-cache").exists());
}
