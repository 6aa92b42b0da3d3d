//! Data-safety regressions of issue 11 through the real binary: a revision cache edited so its
//! SQL differs from the file (item 9), and commands after a runner killed mid-revision in both
//! SQLite journal modes (item 2).

use std::path::PathBuf;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use crate::support::TestProject;

/// What these tests need beyond the shared project helpers.
trait ProjectExt {
    fn db(&self) -> PathBuf;
    /// Writes revision `id` (child of `parent`) whose upgrade is `up`.
    fn revision_with(&self, id: &str, parent: Option<&str>, up: &str);
    /// Runs retort with `args`, which must succeed; returns (stdout, stderr).
    fn ok(&self, args: &[&str]) -> (String, String);
    fn tables(&self) -> Vec<String>;
}

impl ProjectExt for TestProject {
    fn db(&self) -> PathBuf {
        self.path().join("app.db")
    }

    fn revision_with(&self, id: &str, parent: Option<&str>, up: &str) {
        let parent = parent.map_or_else(String::new, |p| format!("-- down_revision = \"{p}\"\n"));
        self.file(
            &format!("migrations/versions/{id}_rev.sql"),
            &format!("-- revision = \"{id}\"\n{parent}\n-- migrate:upgrade\n{up}\n"),
        );
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.retort().args(args).output().expect("run retort");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(
            out.status.success(),
            "retort {args:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        (text(&out.stdout), text(&out.stderr))
    }

    fn tables(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.db()).expect("open app.db");
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
fn wait_for(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

#[test]
fn an_edited_revision_cache_does_not_change_the_sql_upgrade_runs() {
    let p = TestProject::new();
    p.revision_with("a1", None, "CREATE TABLE from_file (x INTEGER);");
    let cache = p.path().join("migrations/.retort-cache/revisions.bin");
    let holds = |text: &[u8]| {
        std::fs::read(&cache).is_ok_and(|bytes| bytes.windows(text.len()).any(|w| w == text))
    };
    // A file written in the file system's current clock tick is not stored yet.
    let stored = wait_for(5, || {
        p.ok(&["heads"]);
        holds(b"from_file")
    });
    assert!(stored, "the cache never stored a1");

    // Same length, so the entry still decodes: only a check of the entry can tell.
    let bytes = std::fs::read(&cache).unwrap();
    let at = bytes
        .windows(9)
        .position(|w| w == b"from_file")
        .expect("the SQL in the cache");
    let mut edited = bytes.clone();
    edited[at..at + 9].copy_from_slice(b"from_bin_");
    std::fs::write(&cache, edited).unwrap();

    p.ok(&["upgrade", "heads"]);
    let tables = p.tables();
    assert!(
        tables.iter().any(|t| t == "from_file"),
        "the file's SQL did not run: {tables:?}"
    );
    assert!(
        !tables.iter().any(|t| t == "from_bin_"),
        "the cache's SQL ran: {tables:?}"
    );
    p.ok(&["check"]);
    assert!(
        !holds(b"from_bin_"),
        "the damaged entry stayed in the cache"
    );
}

/// SQLite's rollback-journal header; it is written (making the journal hot) once the writer
/// syncs the journal before touching the database file.
const JOURNAL_MAGIC: [u8; 4] = [0xd9, 0xd5, 0x05, 0xf9];

/// A project at `a1` in `journal_mode`, whose runner was SIGKILLed in the middle of `b2` after
/// `b2` had written to the database file (`DELETE`) or to the write-ahead log (`WAL`).
fn killed_mid_revision(journal_mode: &str) -> TestProject {
    let p = TestProject::new();
    rusqlite::Connection::open(p.db())
        .unwrap()
        .query_row(&format!("PRAGMA journal_mode = {journal_mode}"), [], |_| {
            Ok(())
        })
        .unwrap();
    p.revision_with("a1", None, "CREATE TABLE one (x INTEGER);");
    // More than the page cache holds, so pages reach the file, then a count that never ends
    // in the life of the test.
    p.revision_with(
        "b2",
        Some("a1"),
        "CREATE TABLE big (x BLOB);\n\
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) \
         INSERT INTO big SELECT randomblob(1000) FROM c;\n\
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000000000) \
         SELECT count(*) FROM c;",
    );
    p.ok(&["upgrade", "a1"]);
    let mut runner = StdCommand::new(assert_cmd::cargo::cargo_bin("retort"))
        .args(["-q", "upgrade", "heads"])
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .spawn()
        .expect("spawn retort");
    let db = p.db().display().to_string();
    let journal = PathBuf::from(format!("{db}-journal"));
    let wal = PathBuf::from(format!("{db}-wal"));
    let written = wait_for(120, || match journal_mode {
        "WAL" => std::fs::metadata(&wal).is_ok_and(|m| m.len() > 1_000_000),
        _ => std::fs::read(&journal).is_ok_and(|bytes| bytes.starts_with(&JOURNAL_MAGIC)),
    });
    let running = runner.try_wait().expect("try_wait").is_none();
    runner.kill().expect("SIGKILL");
    runner.wait().expect("reap");
    assert!(written && running, "b2 never got to write before the kill");
    match journal_mode {
        "WAL" => assert!(wal.exists(), "the kill left no write-ahead log"),
        _ => assert!(journal.exists(), "the kill left no journal"),
    }
    p
}

const RECOVERED: &str = "recovered an interrupted transaction from `";

/// Runs `command` (`current` or `status`), which must succeed and show the database at `a1`
/// with `b2` pending; returns its stderr.
fn shows_a1(p: &TestProject, command: &str) -> String {
    let (stdout, stderr) = p.ok(&[command]);
    let expected = match command {
        "current" => "a1\n",
        _ => "Current revision(s):\n  a1\nPending revision(s): 1\n",
    };
    assert!(stdout.starts_with(expected), "{command}: {stdout}");
    stderr
}

/// `a1` ran, `b2` (killed) left no table behind.
fn assert_killed_revision_left_nothing(p: &TestProject) {
    let tables = p.tables();
    assert!(
        tables.iter().any(|t| t == "one") && !tables.iter().any(|t| t == "big"),
        "{tables:?}"
    );
}

#[test]
fn current_and_status_recover_a_hot_journal_left_by_a_killed_runner() {
    for (first, second) in [("current", "status"), ("status", "current")] {
        let p = killed_mid_revision("DELETE");
        let stderr = shows_a1(&p, first);
        // Named as the URL names the database.
        assert!(
            stderr.contains(&format!(
                "{RECOVERED}app.db-journal` (rolled back by SQLite)"
            )),
            "{first}: {stderr}"
        );
        assert!(
            !p.path().join("app.db-journal").exists(),
            "{first} did not roll the journal back"
        );
        let stderr = shows_a1(&p, second);
        assert!(!stderr.contains(RECOVERED), "recovered twice: {stderr}");
        assert_killed_revision_left_nothing(&p);
    }
}

#[test]
fn current_and_status_read_a_database_whose_wal_runner_was_killed() {
    let p = killed_mid_revision("WAL");
    for command in ["current", "status"] {
        let stderr = shows_a1(&p, command);
        // Nothing to roll back in WAL mode: the unfinished transaction's frames are never read.
        assert!(!stderr.contains(RECOVERED), "{command}: {stderr}");
    }
    assert_killed_revision_left_nothing(&p);
}
