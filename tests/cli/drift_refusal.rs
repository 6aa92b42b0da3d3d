//! A revision edited after it ran (issue 11, item 7): `status` says so, `upgrade` and
//! `downgrade` refuse unless `--allow-drift`, and `accept REV --reason` records the change in the
//! audit trail for that one revision, after which drift checks take the new SQL as applied.

use retort::Dialect;

use crate::support::server::TestDatabase;
use crate::support::TestProject;

/// `aaaa0001 -> bbbb0002` applied on `database_url` (SQLite when `None`), then both files
/// edited and `cccc0003` added.
fn drifted_project(database_url: Option<&str>) -> TestProject {
    let p = TestProject::new();
    if let Some(url) = database_url {
        p.file(
            "migrate.toml",
            &format!("[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n"),
        );
    }
    let a = p.revision("aaaa0001", &[], "");
    let b = p.revision("bbbb0002", &["aaaa0001"], "");
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    for file in [a, b] {
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replace("PRIMARY KEY);", "PRIMARY KEY, note TEXT);"),
        )
        .unwrap();
    }
    p.revision("cccc0003", &["bbbb0002"], "");
    p
}

/// What the issue asks, on the project of [`drifted_project`].
fn refuse_then_accept(p: &TestProject) {
    let (code, stdout, stderr) = p.run(&["status"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Changed since applied: 2 revision(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("revision `bbbb0002`"), "{stdout}");

    for run in [
        &["upgrade", "heads", "--no-backup"][..],
        &["downgrade", "base", "--no-backup"],
    ] {
        let (code, _, stderr) = p.run(run);
        assert_eq!(code, 1, "{run:?}: {stderr}");
        assert!(
            stderr.contains("revision `aaaa0001` ([TMP]/migrations/versions/aaaa0001_rev.sql) changed since it was applied"),
            "{stderr}"
        );
        assert!(stderr.contains("revision `bbbb0002`"), "{stderr}");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
        assert!(stderr.contains("`--allow-drift`"), "{stderr}");
        assert!(
            stderr.contains("`retort accept aaaa0001 --reason"),
            "{stderr}"
        );
    }
    assert_eq!(p.run(&["current"]).1.trim(), "bbbb0002");

    // A reason is required, and only an applied, changed revision can be accepted.
    let (code, _, stderr) = p.run(&["accept", "bbbb0002", "--reason", " "]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("a reason is required"), "{stderr}");
    assert_eq!(p.run(&["accept", "bbbb0002"]).0, 2);
    let (code, _, stderr) = p.run(&["accept", "cccc0003", "--reason", "x"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`cccc0003` is not applied"), "{stderr}");

    // Accepting one revision leaves the other drifted.
    let (code, _, stderr) = p.run(&["accept", "bbbb0002", "--reason", "added a note column"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("accepted revision `bbbb0002`"), "{stderr}");
    let (code, _, stderr) = p.run(&["accept", "bbbb0002", "--reason", "again"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("has not changed since it was applied"),
        "{stderr}"
    );
    let (code, stdout, _) = p.run(&["check"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("`aaaa0001`") && !stdout.contains("`bbbb0002`"),
        "{stdout}"
    );
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("`bbbb0002`"), "{stderr}");

    // The accept row holds both checksums, the reason and is shown by `log`.
    let out = p.retort().args(["log", "--json"]).output().unwrap();
    let log: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let accept = &log[0];
    assert_eq!(accept["direction"], "accept");
    assert_eq!(accept["revision"], "bbbb0002");
    let applied = log
        .iter()
        .find(|e| e["direction"] == "upgrade" && e["revision"] == "bbbb0002")
        .unwrap();
    let note = accept["error"].as_str().unwrap();
    assert!(
        note.contains(applied["checksum"].as_str().unwrap())
            && note.contains("added a note column"),
        "{note}"
    );
    assert_ne!(accept["checksum"], applied["checksum"]);
    let (_, stdout, _) = p.run(&["log"]);
    assert!(
        stdout.lines().any(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            columns.get(1..3) == Some(&["accept", "bbbb0002"][..])
        }),
        "{stdout}"
    );
    assert!(stdout.contains("accepted: was sha256:"), "{stdout}");

    // `--allow-drift` runs anyway; accepting the other one clears the way.
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup", "--allow-drift"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(p.run(&["accept", "aaaa0001", "--reason", "same"]).0, 0);
    let (code, stdout, _) = p.run(&["status"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("Changed since applied"), "{stdout}");
    let (code, _, stderr) = p.run(&["downgrade", "base", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_runs_refuse_drift_until_accepted() {
    refuse_then_accept(&drifted_project(None));
}

fn on_server(dialect: Dialect) {
    if let Some(db) = TestDatabase::create(dialect, &format!("drift_refusal_{dialect}")) {
        refuse_then_accept(&drifted_project(Some(&db.url)));
    }
}

#[cfg(feature = "postgres")]
#[test]
fn postgresql_runs_refuse_drift_until_accepted() {
    on_server(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn mariadb_runs_refuse_drift_until_accepted() {
    on_server(Dialect::Mysql);
}

#[cfg(feature = "sqlite")]
#[test]
fn accept_of_an_unknown_revision_or_a_missing_database_says_so() {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    let (code, _, stderr) = p.run(&["accept", "aaaa0001", "--reason", "x"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`aaaa0001` is not applied"), "{stderr}");
    assert!(!p.path().join("app.db").exists());
    let (code, _, stderr) = p.run(&["accept", "ffff", "--reason", "x"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Can't locate revision identified by 'ffff'"),
        "{stderr}"
    );
}
