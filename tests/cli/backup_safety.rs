//! Backups and restores that other processes, killed runs or other databases could fool:
//! restore against a live writer in every SQLite journal mode, what `backups` lists and flags,
//! what a killed dump leaves behind, and what a missing dump tool says.
#![cfg(feature = "sqlite")]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command as Process, Stdio};

use crate::support::TestProject;

/// An application in another process: a python3 sqlite3 connection in `journal_mode` that has
/// run `BEGIN IMMEDIATE` and an INSERT, and commits when told.
struct Writer {
    child: Child,
    stdin: ChildStdin,
}

impl Writer {
    fn hold(db: &Path, journal_mode: &str) -> Writer {
        let script = format!(
            r#"
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode={journal_mode}")
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO state VALUES ('application commit')")
print("held", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("committed", flush=True)
"#
        );
        let mut child = Process::new("python3")
            .arg("-c")
            .arg(script)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take().unwrap();
        let mut writer = Writer { child, stdin };
        assert_eq!(writer.line(), "held");
        writer
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        BufReader::new(self.child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        line.trim().to_string()
    }

    fn commit(mut self) {
        writeln!(self.stdin).unwrap();
        assert_eq!(self.line(), "committed");
        assert!(self.child.wait().unwrap().success());
    }
}

fn states(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM state ORDER BY rowid")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn sqlite_project(journal_mode: &str) -> TestProject {
    let p = TestProject::new();
    let conn = rusqlite::Connection::open(p.path().join("app.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode={journal_mode};
         CREATE TABLE state (name TEXT NOT NULL);
         INSERT INTO state VALUES ('backed up');"
    ))
    .unwrap();
    p
}

#[test]
fn restore_refuses_while_another_process_holds_the_write_lock_in_every_journal_mode() {
    for mode in ["DELETE", "TRUNCATE", "PERSIST", "WAL"] {
        let p = sqlite_project(mode);
        let db = p.path().join("app.db");
        p.retort().arg("backup").assert().success();
        let writer = Writer::hold(&db, mode);

        let (code, _, stderr) = p.run(&["restore", "--latest"]);
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(stderr.contains("app.db"), "{mode}: {stderr}");
        assert!(stderr.contains("nothing was restored"), "{mode}: {stderr}");
        assert!(!stderr.contains("verified"), "{mode}: {stderr}");
        assert!(stderr.contains("hint:"), "{mode}: {stderr}");

        // The application's commit lands in the database retort left in place.
        writer.commit();
        assert_eq!(
            states(&db),
            ["backed up", "application commit"],
            "{mode}: the application's commit was lost"
        );

        // Without the writer the restore goes ahead.
        let (code, _, stderr) = p.run(&["restore", "--latest"]);
        assert_eq!(code, 0, "{mode}: {stderr}");
        assert_eq!(states(&db), ["backed up"], "{mode}");
    }
}

fn backups_json(p: &TestProject, args: &[&str]) -> Vec<serde_json::Value> {
    let out = p
        .retort()
        .args(args)
        .args(["backups", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    listed.as_array().unwrap().clone()
}

#[test]
fn backups_lists_only_this_databases_files() {
    let p = sqlite_project("DELETE");
    std::fs::copy(p.path().join("app.db"), p.path().join("other.db")).unwrap();
    p.retort().arg("backup").assert().success();
    p.retort()
        .args(["--url", "sqlite:///other.db", "backup"])
        .assert()
        .success();

    let listed = backups_json(&p, &[]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let original = listed[0]["original_path"].as_str().unwrap();
    assert!(original.ends_with("/app.db"), "{original}");
    let other = backups_json(&p, &["--url", "sqlite:///other.db"]);
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0]["original_path"]
        .as_str()
        .unwrap()
        .ends_with("/other.db"));
}

#[test]
fn backups_flags_files_whose_size_or_checksum_no_longer_match() {
    let p = sqlite_project("DELETE");
    for _ in 0..3 {
        p.retort().arg("backup").assert().success();
    }
    let listed = backups_json(&p, &[]);
    assert!(listed
        .iter()
        .all(|b| b["intact"] == true && b["problem"].is_null()));
    let path = |i: usize| listed[i]["backup_path"].as_str().unwrap().to_string();
    // One grows, one keeps its size with a byte changed, one is left alone.
    let mut grown = std::fs::OpenOptions::new()
        .append(true)
        .open(path(0))
        .unwrap();
    grown.write_all(b"appended").unwrap();
    let mut bytes = std::fs::read(path(1)).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(path(1), bytes).unwrap();

    let listed = backups_json(&p, &[]);
    assert_eq!(listed[0]["intact"], false);
    assert!(
        listed[0]["problem"]
            .as_str()
            .unwrap()
            .contains("bytes, metadata says"),
        "{listed:?}"
    );
    assert_eq!(listed[1]["intact"], false);
    assert!(listed[1]["problem"].as_str().unwrap().contains("SHA-256"));
    assert_eq!(listed[2]["intact"], true);

    let (code, stdout, _) = p.run(&["backups"]);
    assert_eq!(code, 0);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("CHANGED: "), "{stdout}");
    assert!(lines[1].contains("CHANGED: SHA-256"), "{stdout}");
    assert!(!lines[2].contains("CHANGED"), "{stdout}");
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod servers {
    use super::*;
    use crate::support::server::TestDatabase;
    use retort::Dialect;

    /// A project with `[backup]` lines and a version table (so no run has nothing to do).
    fn server_project(db: &TestDatabase, backup_config: &str) -> TestProject {
        let p = TestProject::new();
        p.file(
            "migrate.toml",
            &format!(
                "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{}\"\n{backup_config}",
                db.url
            ),
        );
        p.revision("a1", &[], "");
        p
    }

    fn visible_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn all_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn each_server(test: &str, body: impl Fn(&TestDatabase)) {
        for dialect in [Dialect::Postgresql, Dialect::Mysql] {
            if let Some(db) = TestDatabase::create(dialect, test) {
                body(&db);
            }
        }
    }

    #[test]
    fn a_missing_dump_tool_says_how_to_go_on() {
        each_server("missing_dump_tool", |db| {
            let p = server_project(db, "");
            let out = p
                .retort()
                .args(["upgrade", "head"])
                .env("PATH", "/nonexistent")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("nothing was changed"), "{stderr}");
            for way in ["`--no-backup`", "`required = false`", "install `"] {
                assert!(stderr.contains(way), "{way} missing: {stderr}");
            }
            let client = match db.dialect {
                Dialect::Postgresql => "postgresql-client",
                _ => "mariadb-client",
            };
            assert!(stderr.contains(client), "{stderr}");
        });
    }

    #[test]
    fn server_dumps_keep_ten_by_default_as_the_generated_config_says() {
        let init = TestProject::new();
        std::fs::remove_file(init.path().join("migrate.toml")).unwrap();
        init.retort().arg("init").assert().success();
        let generated = std::fs::read_to_string(init.path().join("migrate.toml")).unwrap();
        let keep_line = generated
            .lines()
            .find(|l| l.starts_with("# keep ="))
            .unwrap();
        assert!(
            keep_line.contains("default: 10 server dumps"),
            "{keep_line}"
        );

        each_server("dumps_kept", |db| {
            let p = server_project(db, "[backup]\ncommand = \"printf dump\"\n");
            for _ in 0..12 {
                p.retort().arg("backup").assert().success();
            }
            assert_eq!(backups_json(&p, &[]).len(), 10);
            assert_eq!(visible_files(&p.path().join("backups")).len(), 20);
        });
    }

    #[test]
    fn a_killed_dump_leaves_nothing_that_looks_like_a_backup() {
        each_server("killed_dump", |db| {
            // The dump command kills retort (its parent) half way through the dump.
            let p = server_project(
                db,
                "[backup]\ncommand = \"printf 'half a dump'; kill -9 $PPID; sleep 1\"\n",
            );
            let out = p.retort().arg("backup").output().unwrap();
            assert_eq!(out.status.code(), None, "retort was not killed: {out:?}");
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let dir = p.path().join("backups");
            assert_eq!(visible_files(&dir), Vec::<String>::new());
            assert!(backups_json(&p, &[]).is_empty());

            // The next backup removes the leftover and is the only one listed.
            p.file(
                "migrate.toml",
                &format!(
                    "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{}\"\n\
                     [backup]\ncommand = \"printf 'a whole dump'\"\n",
                    db.url
                ),
            );
            p.retort().arg("backup").assert().success();
            let files = all_files(&dir);
            assert_eq!(files.len(), 2, "{files:?}");
            assert!(files.iter().all(|f| !f.starts_with('.')), "{files:?}");
            let listed = backups_json(&p, &[]);
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0]["intact"], true);
        });
    }
}
