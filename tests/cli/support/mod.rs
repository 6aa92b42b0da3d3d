//! Shared helpers for integration tests: temp projects and the real `retort` binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub(crate) mod private;
pub(crate) mod server;

/// A temp directory with `migrate.toml` and `migrations/versions/`.
pub(crate) struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    /// A project whose database is `app.db` inside the temp directory.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("migrations/versions")).expect("versions dir");
        std::fs::write(
            dir.path().join("migrate.toml"),
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n",
        )
        .expect("config");
        TestProject { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a revision `id` with parents, extra header lines and one table per revision.
    pub(crate) fn revision(&self, id: &str, down: &[&str], extra_header: &str) -> PathBuf {
        let down = down_revision_header(down);
        let text = format!(
            "-- revision = \"{id}\"\n\
             {down}{extra_header}-- message = \"rev {id}\"\n\n\
             -- migrate:upgrade\n\
             CREATE TABLE t_{id} (id INTEGER PRIMARY KEY);\n\n\
             -- migrate:downgrade\n\
             DROP TABLE t_{id};\n"
        );
        self.file(&format!("migrations/versions/{id}_rev.sql"), &text)
    }

    pub(crate) fn file(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// `retort` in this project, with a clean environment.
    pub(crate) fn retort(&self) -> Command {
        let mut cmd = Command::cargo_bin("retort").expect("retort binary");
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("RETORT_NO_CACHE")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs retort with `args`; returns (exit code, stdout, stderr) with the temp path as `[TMP]`.
    pub(crate) fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.retort().args(args).output().expect("run retort");
        let clean = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.path().display().to_string(), "[TMP]")
        };
        (
            out.status.code().unwrap_or(-1),
            clean(&out.stdout),
            clean(&out.stderr),
        )
    }

    /// Like `run`, formatted as one snapshot-friendly text.
    pub(crate) fn snapshot(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        format!("exit: {code}\n----- stdout -----\n{stdout}----- stderr -----\n{stderr}")
    }
}

/// The `-- down_revision` header line for these parents; none for a root.
pub(crate) fn down_revision_header(parents: &[&str]) -> String {
    match parents {
        [] => String::new(),
        [one] => format!("-- down_revision = \"{one}\"\n"),
        many => format!(
            "-- down_revision = [{}]\n",
            many.iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// BR with labels (docs/alembic-compatibility.md#example-graphs): `a -> b -> {c1 -> d1, c2 -> d2}`.
pub(crate) fn branched_project() -> TestProject {
    let p = TestProject::new();
    p.revision("aaaa0001", &[], "");
    p.revision("bbbb0002", &["aaaa0001"], "");
    p.revision("cccc0003", &["bbbb0002"], "-- branch_labels = [\"left\"]\n");
    p.revision("dddd0004", &["cccc0003"], "");
    p.revision(
        "eeee0005",
        &["bbbb0002"],
        "-- branch_labels = [\"right\"]\n",
    );
    p.revision("ffff0006", &["eeee0005"], "");
    p
}
