//! `retort init` through the real binary, and the revision files of the demo project.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn retort(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("retort").unwrap();
    cmd.current_dir(dir).env_clear().env("NO_COLOR", "1");
    cmd
}

#[test]
fn init_creates_config_versions_and_templates() {
    let tmp = tempfile::tempdir().unwrap();
    let output = retort(tmp.path()).args(["init", "proj"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @r"
    Creating directory proj ...  done
    Creating directory proj/migrations ...  done
    Creating directory proj/migrations/versions ...  done
    Generating proj/migrate.toml ...  done
    Creating directory proj/templates ...  done
    Generating proj/templates/revision.sql.j2 ...  done
    Creating directory proj/templates/offline ...  done
    Generating proj/templates/offline/sqlite.sql.j2 ...  done
    Generating proj/templates/offline/postgresql.sql.j2 ...  done
    Generating proj/templates/offline/mysql.sql.j2 ...  done
    Please edit configuration/connection settings in 'proj/migrate.toml' before proceeding.
    ");
    let proj = tmp.path().join("proj");
    assert!(proj.join("migrations/versions").is_dir());
    let config = std::fs::read_to_string(proj.join("migrate.toml")).unwrap();
    assert!(config.contains("script_location = \"migrations\""));
    assert!(config.contains("database_url = \"${DATABASE_URL:-sqlite:///app.db}\""));
    assert!(config.contains("version_table = \"retort_version\""));
    for (name, source) in retort::__test_support::builtin_templates() {
        let copied = std::fs::read_to_string(proj.join("templates").join(&name)).unwrap();
        assert_eq!(copied, source, "{name}");
    }
}

#[test]
fn init_defaults_to_the_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path()).arg("init").assert().success().stdout("");
    assert!(tmp.path().join("migrate.toml").is_file());
    assert!(tmp.path().join("migrations/versions").is_dir());
    assert!(tmp.path().join("templates/revision.sql.j2").is_file());
}

#[test]
fn quiet_init_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path())
        .args(["-q", "init"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn init_refuses_to_overwrite_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path()).arg("init").assert().success();
    std::fs::write(tmp.path().join("migrate.toml"), "# mine\n").unwrap();
    retort(tmp.path())
        .arg("init")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "./migrate.toml: already exists; `retort init` never overwrites a file",
        ));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("migrate.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn an_existing_template_blocks_init_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("templates")).unwrap();
    std::fs::write(tmp.path().join("templates/revision.sql.j2"), "mine").unwrap();
    retort(tmp.path())
        .arg("init")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "templates/revision.sql.j2: already exists",
        ));
    assert!(!tmp.path().join("migrate.toml").exists());
    assert!(!tmp.path().join("migrations").exists());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("templates/revision.sql.j2")).unwrap(),
        "mine"
    );
}

#[test]
fn an_existing_empty_versions_directory_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("migrations/versions")).unwrap();
    retort(tmp.path()).arg("init").assert().success();
    assert!(tmp.path().join("migrate.toml").is_file());
}

#[test]
fn a_file_where_the_versions_directory_goes_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("migrations")).unwrap();
    std::fs::write(tmp.path().join("migrations/versions"), "").unwrap();
    retort(tmp.path())
        .arg("init")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exists and is not a directory"));
    assert!(!tmp.path().join("migrate.toml").exists());
}

#[test]
fn the_initialised_project_loads() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path()).arg("init").assert().success();
    let config = retort::__test_support::Config::load(&tmp.path().join("migrate.toml")).unwrap();
    let (scripts, warnings) = retort::__test_support::scan(
        &config.version_locations,
        config.recursive_version_locations,
        None,
    )
    .unwrap();
    assert!(scripts.is_empty() && warnings.is_empty());
}

#[test]
fn init_below_a_file_fails_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    retort(tmp.path())
        .args(["init", "file/sub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: cannot create directory `file/sub`",
        ));
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path()).args(["init", "a", "b"]).assert().code(2);
}

/// The demo project at the repository root, loaded as `retort` loads it.
fn demo_scripts() -> Vec<retort::__test_support::Script> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = retort::__test_support::Config::parse(
        &root.join("migrate.toml"),
        root,
        &std::fs::read_to_string(root.join("migrate.toml")).unwrap(),
        &|_| None,
    )
    .unwrap();
    assert_eq!(config.database_url().unwrap(), Some("sqlite:///demo.db"));
    assert_eq!(config.version_table, "retort_version");
    let (scripts, warnings) =
        retort::__test_support::scan(&config.version_locations, false, None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    scripts
}

#[test]
fn demo_project_has_a_branch_a_label_a_merge_and_a_verify() {
    let scripts = demo_scripts();
    assert!(scripts.len() >= 6);
    let ids: Vec<&str> = scripts.iter().map(|s| s.meta.revision.as_str()).collect();
    for script in &scripts {
        assert_eq!(script.meta.revision.len(), 12);
        assert!(script.meta.revision.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(script.meta.message.is_some() && script.meta.create_date.is_some());
        assert!(script.sections.is_reversible(), "{}", script.meta.revision);
        for parent in &script.meta.down_revisions {
            assert!(ids.contains(&parent.as_str()), "{parent}");
        }
    }
    let bases = scripts
        .iter()
        .filter(|s| s.meta.down_revisions.is_empty())
        .count();
    assert_eq!(bases, 1);
    assert!(scripts.iter().any(|s| s.meta.down_revisions.len() == 2));
    assert!(scripts.iter().any(|s| s.meta.branch_labels == ["billing"]));
    assert!(scripts.iter().any(|s| s.sections.verify.is_some()));
    assert!(scripts
        .iter()
        .any(|s| !s.sections.dialect_specific.is_empty()));
    let children_of = |id: &str| {
        scripts
            .iter()
            .filter(|s| s.meta.down_revisions.iter().any(|p| p == id))
            .count()
    };
    assert!(ids.iter().any(|id| children_of(id) == 2), "a branch point");
}

#[test]
fn demo_project_builds_a_graph_with_one_head() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = retort::__test_support::Config::load(&root.join("migrate.toml")).unwrap();
    let project = retort::__test_support::Project::load(config).unwrap();
    assert_eq!(project.graph().heads(), ["75ebff62a8fc"]);
    assert_eq!(project.graph().bases(), ["3568e282dfe1"]);
    assert_eq!(project.graph().branch_points(), ["3ad4dd9b8938"]);
}

/// The demo's SQL runs on SQLite up, down to base, and up again (parents before children).
#[cfg(feature = "sqlite")]
#[test]
fn demo_project_sql_runs_on_sqlite_both_ways() {
    use retort::__test_support::SectionKind;
    use retort::Dialect;

    let scripts = demo_scripts();
    let mut order: Vec<&retort::__test_support::Script> = Vec::new();
    while order.len() < scripts.len() {
        let ready = scripts
            .iter()
            .find(|s| {
                !order.iter().any(|o| o.meta.revision == s.meta.revision)
                    && s.meta
                        .down_revisions
                        .iter()
                        .all(|p| order.iter().any(|o| &o.meta.revision == p))
            })
            .expect("the demo history is a DAG");
        order.push(ready);
    }
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let run = |script: &retort::__test_support::Script, kind: SectionKind| {
        if let Some(section) = script.sections.get(kind, Dialect::Sqlite) {
            db.execute_batch(&section.sql)
                .unwrap_or_else(|e| panic!("{} {kind:?}: {e}", script.meta.revision));
        }
    };
    for _ in 0..2 {
        for script in &order {
            run(script, SectionKind::Upgrade);
            if let Some(verify) = script.sections.get(SectionKind::Verify, Dialect::Sqlite) {
                let ok: bool = db.query_row(&verify.sql, [], |row| row.get(0)).unwrap();
                assert!(ok, "verify of {}", script.meta.revision);
            }
        }
        for script in order.iter().rev() {
            run(script, SectionKind::Downgrade);
        }
        let tables: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }
}

/// Every way a revision file can be malformed, with the message a user sees, in one reviewable
/// snapshot.
#[test]
fn malformed_revision_file_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "bad_toml_value",
            "-- revision = \"ab\"\n-- message = 'unterminated\n",
        ),
        ("unknown_key", "-- revision = \"ab\"\n-- parent = \"cd\"\n"),
        (
            "missing_revision",
            "-- message = \"m\"\n\n-- migrate:upgrade\n",
        ),
        (
            "wrong_type",
            "-- revision = \"ab\"\n-- down_revision = 12\n",
        ),
        ("invalid_id", "-- revision = \"ab-cd\"\n"),
        (
            "self_reference",
            "-- revision = \"ab\"\n-- down_revision = \"ab\"\n",
        ),
        (
            "prose_in_header",
            "-- revision = \"ab\"\n-- Creates the invoice table.\n",
        ),
        (
            "key_after_blank_line",
            "-- revision = \"ab\"\n\n-- down_revision = \"cd\"\n-- migrate:upgrade\n",
        ),
        (
            "sql_before_marker",
            "-- revision = \"ab\"\n\nCREATE TABLE t (id INT);\n",
        ),
        (
            "unknown_section",
            "-- revision = \"ab\"\n\n-- migrate:up\nSELECT 1;\n",
        ),
        (
            "unknown_dialect",
            "-- revision = \"ab\"\n\n-- migrate:upgrade oracle\n",
        ),
        (
            "duplicate_section",
            "-- revision = \"ab\"\n\n-- migrate:upgrade\nA;\n-- migrate:upgrade\nB;\n",
        ),
        (
            "no_upgrade",
            "-- revision = \"ab\"\n\n-- migrate:downgrade\nDROP TABLE t;\n",
        ),
    ];
    let report: String = cases
        .iter()
        .map(|(name, text)| {
            let path = Path::new("versions").join(format!("ab_{name}.sql"));
            let err = retort::__test_support::parse_revision(&path, text).unwrap_err();
            format!("{err}\n")
        })
        .collect();
    insta::assert_snapshot!(report);
}

#[test]
fn a_malformed_file_stops_graph_commands_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    retort(tmp.path()).args(["-q", "init"]).assert().success();
    std::fs::write(
        tmp.path().join("migrations/versions/ab_bad.sql"),
        "-- revision = \"ab\"\n-- colour = \"red\"\n\n-- migrate:upgrade\n",
    )
    .unwrap();
    retort(tmp.path())
        .arg("heads")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "migrations/versions/ab_bad.sql:2: invalid header: unknown key `colour`",
        ));
}

#[test]
fn a_config_error_names_the_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("migrate.toml"),
        "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"${RETORT_TEST_UNSET}\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("migrations/versions")).unwrap();
    // Only a command that uses the file's URL expands it (`heads` needs no database).
    retort(tmp.path())
        .arg("current")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "migrate.toml: line 3: `migrate.database_url`: environment variable \
             `RETORT_TEST_UNSET` is not set",
        ));
}
