//! A runner SIGKILLed in the middle of a `transactional = false` revision, after one of its
//! statements took effect: the rerun must name the interrupted revision and the statements
//! that may have taken effect, and never say they were rolled back (issue 11, item 4).

use retort::Dialect;

use crate::support::server::{kill_upgrade_once_table_exists, TestDatabase};
use crate::support::TestProject;

/// The statement that keeps the revision busy long enough to be killed in it.
fn sleep_statement(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgresql => "SELECT pg_sleep(30);",
        _ => "SELECT SLEEP(30);",
    }
}

/// Ends the killed runner's server session, which would otherwise sleep on holding the
/// migration lock until its statement ends (the server notices a dead client only then).
fn end_other_sessions(db: &TestDatabase) {
    let mut conn = db.connect();
    match db.dialect {
        Dialect::Postgresql => {
            conn.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .unwrap();
        }
        _ => {
            let sessions = conn
                .query(
                    "SELECT id FROM information_schema.processlist \
                     WHERE db = DATABASE() AND id <> CONNECTION_ID()",
                )
                .unwrap();
            for session in sessions {
                let id = session[0].as_text().unwrap();
                // The session may have ended meanwhile.
                let _ = conn.execute(&format!("KILL {id}"));
            }
        }
    }
}

fn killed_nontransactional_run_is_named(dialect: Dialect) {
    let Some(db) = TestDatabase::create(dialect, &format!("killed_nontx_{dialect}")) else {
        return;
    };
    let p = TestProject::new();
    p.revision("aaa", &[], "");
    p.file(
        "migrations/versions/bbb_rev.sql",
        &format!(
            "-- revision = \"bbb\"\n-- down_revision = \"aaa\"\n-- transactional = false\n\
             -- migrate:upgrade\nCREATE TABLE t_bbb (id INTEGER PRIMARY KEY);\n{}\n\
             INSERT INTO t_bbb VALUES (1);\n",
            sleep_statement(dialect)
        ),
    );
    // Killed once bbb's first statement took effect.
    let mut conn = db.connect();
    kill_upgrade_once_table_exists(&p, &db.url, conn.as_mut(), "t_bbb");
    end_other_sessions(&db);

    let run = |args: &[&str]| {
        let mut all = vec!["--url", db.url.as_str()];
        all.extend_from_slice(args);
        p.run(&all)
    };
    let (code, _, stderr) = run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("revision `bbb` was interrupted: an upgrade started at "),
        "{stderr}"
    );
    // Outside a transaction every statement may have run; none was rolled back.
    assert!(
        stderr.contains(&format!(
            "these statements may have taken effect:\n    \
             statement 1 (line 5): CREATE TABLE t_bbb (id INTEGER PRIMARY KEY)\n    \
             statement 2 (line 6): {}\n    \
             statement 3 (line 7): INSERT INTO t_bbb VALUES (1)",
            sleep_statement(dialect).trim_end_matches(';')
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("rolled back"), "{stderr}");
    assert!(!stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("`retort stamp bbb`"), "{stderr}");
    // The version table still says aaa, and reading commands work.
    let (code, stdout, stderr) = run(&["current"]);
    assert_eq!((code, stdout.trim()), (0, "aaa"), "{stderr}");
    let (code, stdout, stderr) = run(&["log"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("started"), "{stdout}");
}

#[cfg(feature = "postgres")]
#[test]
fn postgresql_rerun_after_a_killed_nontransactional_revision_names_it() {
    killed_nontransactional_run_is_named(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn mariadb_rerun_after_a_killed_nontransactional_revision_names_it() {
    killed_nontransactional_run_is_named(Dialect::Mysql);
}
