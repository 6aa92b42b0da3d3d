//! Backups are taken under the migration lock (issue 11, item 6): concurrent runners with
//! backups on all succeed, each revision runs once, and there is one backup per runner that
//! changed something, holding exactly the version rows it started from.

use std::collections::BTreeSet;
use std::path::Path;

use retort::Dialect;

use crate::support::server::TestDatabase;
use crate::support::TestProject;

const RUNNERS: usize = 8;
/// Applied before the race, so the database has content to back up.
const FIRST: &str = "aaaa0001";
/// Applied by the race, in this order.
const RACED: [&str; 3] = ["bbbb0002", "cccc0003", "dddd0004"];

/// A chain `FIRST -> RACED...` in a project on `database_url` (SQLite when `None`), with
/// `FIRST` applied.
fn raced_project(database_url: Option<&str>) -> TestProject {
    let p = TestProject::new();
    if let Some(url) = database_url {
        p.file(
            "migrate.toml",
            &format!("[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n"),
        );
    }
    p.revision(FIRST, &[], "");
    let (code, _, stderr) = p.run(&["upgrade", FIRST, "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let mut down = FIRST;
    for id in RACED {
        p.revision(id, &[down], "");
        down = id;
    }
    p
}

/// Runs `args` in `RUNNERS` processes at once; returns each one's (exit code, stderr).
fn race(p: &TestProject, args: &[&str]) -> Vec<(i32, String)> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..RUNNERS)
            .map(|_| {
                scope.spawn(|| {
                    let out = p.retort().args(args).output().expect("run retort");
                    (
                        out.status.code().unwrap_or(-1),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                    )
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

fn json(p: &TestProject, args: &[&str]) -> Vec<serde_json::Value> {
    let out = p.retort().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap()
}

/// The revisions whose table `t_<id>` a backup holds, as `found` tells.
fn revision_tables(found: &dyn Fn(&str) -> bool) -> Vec<String> {
    std::iter::once(FIRST)
        .chain(RACED)
        .filter(|id| found(&format!("t_{id}")))
        .map(String::from)
        .collect()
}

/// Races `RUNNERS` upgrades to heads and checks what the issue asks; `dump_tables` lists the
/// revision tables a backup file holds.
fn check_race(p: &TestProject, dump_tables: &dyn Fn(&Path) -> Vec<String>) -> usize {
    for (code, stderr) in race(p, &["upgrade", "heads", "--migration-lock-wait", "120"]) {
        assert_eq!(code, 0, "{stderr}");
    }
    // Each revision ran once.
    let log = json(p, &["log", "--json"]);
    let upgrades: Vec<&str> = log
        .iter()
        .rev()
        .filter(|e| e["direction"] == "upgrade")
        .map(|e| {
            assert_eq!(e["outcome"], "success", "{e}");
            e["revision"].as_str().unwrap()
        })
        .collect();
    let mut expected = vec![FIRST];
    expected.extend(RACED);
    assert_eq!(upgrades, expected);
    // One backup per runner that changed something: each holds the rows its first step started
    // from (distinct ones, as no two runners can start from the same rows), and what it holds
    // is the schema of those rows.
    let starts: BTreeSet<Vec<String>> = log
        .iter()
        .filter(|e| e["direction"] == "upgrade" && e["revision"] != FIRST)
        .map(|e| strings(&e["heads_before"]))
        .collect();
    let backups = json(p, &["backups", "--json"]);
    assert!(!backups.is_empty());
    let mut seen = BTreeSet::new();
    for backup in &backups {
        let rows = strings(&backup["version_rows"]);
        assert!(starts.contains(&rows), "{backup} is no runner's start");
        assert!(seen.insert(rows.clone()), "two backups of {rows:?}");
        let [at] = rows.as_slice() else {
            panic!("{rows:?}")
        };
        let applied = expected.iter().position(|id| id == at).unwrap();
        let path = Path::new(backup["backup_path"].as_str().unwrap());
        assert_eq!(dump_tables(path), expected[..=applied], "{backup}");
    }
    backups.len()
}

#[cfg(feature = "sqlite")]
#[test]
fn concurrent_sqlite_upgrades_back_up_each_change_once_under_the_lock() {
    let p = raced_project(None);
    check_race(&p, &|path| {
        let conn = rusqlite::Connection::open(path).unwrap();
        revision_tables(&|name| {
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
                == 1
        })
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn concurrent_retention_tolerates_backups_another_runner_deleted() {
    let p = TestProject::new();
    p.revision(FIRST, &[], "");
    assert_eq!(p.run(&["upgrade", FIRST]).0, 0);
    let config = std::fs::read_to_string(p.path().join("migrate.toml")).unwrap();
    p.file("migrate.toml", &format!("{config}[backup]\nkeep = 1\n"));
    for _ in 0..3 {
        for (code, stderr) in race(&p, &["backup"]) {
            assert_eq!(code, 0, "{stderr}");
        }
    }
    // They took turns: the last one kept its own and deleted the rest.
    assert_eq!(json(&p, &["backups", "--json"]).len(), 1);
}

/// The race on a server: the session lock covers the whole run, so exactly one runner changes
/// the database and makes the one backup: with the real dump tool when installed, else with a
/// command that reads the schema through the database's client.
fn server_race(dialect: Dialect) {
    let Some(db) = TestDatabase::create(dialect, &format!("backup_race_{dialect}")) else {
        return;
    };
    let p = raced_project(Some(&db.url));
    let (tool, dump, schema) = match dialect {
        Dialect::Postgresql => (
            "pg_dump",
            "pg_dump",
            "psql -Atc 'SELECT tablename FROM pg_tables'",
        ),
        _ => (
            "mysqldump",
            r#"mysqldump -h \"$RETORT_DB_HOST\" -P \"$RETORT_DB_PORT\" -u \"$RETORT_DB_USER\" \"$RETORT_DB_NAME\""#,
            r#"mysql -h \"$RETORT_DB_HOST\" -P \"$RETORT_DB_PORT\" -u \"$RETORT_DB_USER\" -N -e 'SHOW TABLES' \"$RETORT_DB_NAME\""#,
        ),
    };
    let installed = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|out| out.status.success());
    let command = if installed { dump } else { schema };
    let config = std::fs::read_to_string(p.path().join("migrate.toml")).unwrap();
    p.file(
        "migrate.toml",
        &format!("{config}[backup]\ncommand = \"{command}\"\n"),
    );
    let made = check_race(&p, &|path| {
        let dump = std::fs::read_to_string(path).unwrap();
        revision_tables(&|name| {
            dump.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == name)
        })
    });
    assert_eq!(made, 1);
}

#[cfg(feature = "postgres")]
#[test]
fn concurrent_postgresql_upgrades_back_up_once_under_the_lock() {
    server_race(Dialect::Postgresql);
}

#[cfg(feature = "mysql")]
#[test]
fn concurrent_mariadb_upgrades_back_up_once_under_the_lock() {
    server_race(Dialect::Mysql);
}
