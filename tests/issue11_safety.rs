//! Data-safety regressions of issue 11 through the real binary: a revision cache edited so its
//! SQL differs from the file (item 9).
#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// A temp directory with `migrate.toml` (database `app.db` beside it) and
/// `migrations/versions/`.
struct TestProject {
    dir: tempfile::TempDir,
}

impl TestProject {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("migrations/versions")).expect("versions dir");
        std::fs::write(
            dir.path().join("migrate.toml"),
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n",
        )
        .expect("config");
        TestProject { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.path().join("app.db")
    }

    /// Writes revision `id` (child of `parent`) whose upgrade is `up`.
    fn revision(&self, id: &str, parent: Option<&str>, up: &str) {
        let parent = parent.map_or_else(String::new, |p| format!("-- down_revision = \"{p}\"\n"));
        let text = format!("-- revision = \"{id}\"\n{parent}\n-- migrate:upgrade\n{up}\n");
        std::fs::write(
            self.path()
                .join(format!("migrations/versions/{id}_rev.sql")),
            text,
        )
        .expect("revision file");
    }

    /// `retort` in this project, with a clean environment.
    fn retort(&self) -> Command {
        let mut cmd = Command::cargo_bin("retort").expect("retort binary");
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("RETORT_NO_CACHE")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs retort with `args`, which must succeed; returns (stdout, stderr).
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
    p.revision("a1", None, "CREATE TABLE from_file (x INTEGER);");
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
