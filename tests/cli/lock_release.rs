//! The release of the migration lock is checked: a lock lost during the run is said.

use retort::Dialect;

use crate::support::server::TestDatabase;
use crate::support::TestProject;

#[test]
fn a_lost_postgres_advisory_lock_is_reported_when_released() {
    let Some(db) = TestDatabase::create(Dialect::Postgresql, "lock_release") else {
        return;
    };
    let project = TestProject::new();
    // The revision ends retort's own lock session (the other session of this database with
    // application `retort`), which takes the advisory lock with it.
    project.file(
        "migrations/versions/a_rev.sql",
        "-- revision = \"a\"\n-- message = \"a\"\n\n-- migrate:upgrade\n\
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'retort' \
         AND pid <> pg_backend_pid();\n\n-- migrate:downgrade\nSELECT 1;\n",
    );
    let (code, _, stderr) = project.run(&["--url", &db.url, "upgrade", "head", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: releasing the migration lock failed:"),
        "{stderr}"
    );
    // Without the fault, no warning.
    let (code, _, stderr) = project.run(&["--url", &db.url, "downgrade", "base", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
