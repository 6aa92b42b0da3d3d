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
