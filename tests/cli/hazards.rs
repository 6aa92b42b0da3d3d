//! Hostile inputs and unclear failures (issue 11, items 22 and 23): special files and huge files
//! in a versions folder, huge lines quoted in messages, and errors that must name their cause.

use std::time::Duration;

use crate::support::TestProject;

/// A project with one good revision `aa01`.
fn project() -> TestProject {
    let p = TestProject::new();
    p.revision("aa01", &[], "");
    p
}

/// `retort ARGS` with a deadline, so a hang fails the test instead of stalling the suite.
fn run_bounded(p: &TestProject, args: &[&str]) -> (i32, String) {
    let out = p
        .retort()
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run retort");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_fifo_or_device_named_sql_is_skipped_with_a_warning() {
    let p = project();
    let versions = p.path().join("migrations/versions");
    let fifo = versions.join("bb01_fifo.sql");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", versions.join("cc01_dev.sql")).unwrap();
    // A link to a regular file is a revision like any other.
    let real = p.file(
        "elsewhere/dd01_real.sql",
        "-- revision = \"dd01\"\n-- down_revision = \"aa01\"\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    std::os::unix::fs::symlink(real, versions.join("dd01_link.sql")).unwrap();
    let (code, stderr) = run_bounded(&p, &["heads"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("bb01_fifo.sql: skipped: a FIFO, not a regular file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cc01_dev.sql: skipped: a device, not a regular file"),
        "{stderr}"
    );
    let (code, stdout, _) = p.run(&["heads"]);
    assert_eq!((code, stdout.as_str()), (0, "dd01 (head)\n"));
}

#[test]
fn an_oversized_revision_file_is_refused_unread_naming_size_and_limit() {
    let p = project();
    let big = p.path().join("migrations/versions/bb01_dump.sql");
    // Sparse: refused from its size alone, so the test never writes 65 MiB.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    for use_cache in [true, false] {
        let mut cmd = p.retort();
        if !use_cache {
            cmd.env("RETORT_NO_CACHE", "1");
        }
        let out = cmd
            .arg("heads")
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("bb01_dump.sql` is 68157440 bytes, over the limit of 64 MiB (67108864 bytes); it was not read"),
            "{stderr}"
        );
    }
}

#[test]
fn a_huge_header_line_is_quoted_cut_short() {
    let p = project();
    for (name, value) in [
        ("bb01", "[".repeat(100_000)),
        ("bb02", format!("\"{}", "a".repeat(400_000))),
    ] {
        p.file(
            &format!("migrations/versions/{name}_x.sql"),
            &format!("-- revision = \"{name}\"\n-- x = {value}\n\n-- migrate:upgrade\nSELECT 1;\n"),
        );
        let (code, stderr) = run_bounded(&p, &["heads"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("invalid header"), "{stderr}");
        assert!(stderr.contains("… ("), "{stderr}");
        assert!(
            stderr.lines().all(|line| line.len() < 1000),
            "a line of {} bytes",
            stderr.lines().map(str::len).max().unwrap_or(0)
        );
        std::fs::remove_file(p.path().join(format!("migrations/versions/{name}_x.sql"))).unwrap();
    }
}

#[test]
fn a_failing_huge_statement_is_quoted_cut_short() {
    let p = project();
    let values = vec!["(1)"; 200_000].join(", ");
    p.file(
        "migrations/versions/bb01_x.sql",
        &format!("-- revision = \"bb01\"\n-- down_revision = \"aa01\"\n\n-- migrate:upgrade\nINSERT INTO missing VALUES {values};\n"),
    );
    let (code, stderr) = run_bounded(&p, &["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no such table: missing"), "{stderr}");
    assert!(
        stderr.contains("INSERT INTO missing VALUES (1), (1)"),
        "{stderr}"
    );
    assert!(stderr.len() < 10_000, "{} bytes of stderr", stderr.len());
}

#[test]
fn a_huge_database_url_is_quoted_cut_short() {
    let p = project();
    let url = format!("postgresql://u:secret@{}/db", "h".repeat(100_000));
    let (code, stderr) = run_bounded(&p, &["current", "--url", &url]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
    assert!(stderr.len() < 10_000, "{} bytes of stderr", stderr.len());
}

/// A file system mounted for one test (a small tmpfs, or a read-only view of a folder),
/// unmounted when dropped. Mounting needs root: `None` (the test says it is skipped) otherwise.
struct Mount {
    at: std::path::PathBuf,
}

impl Mount {
    fn run(args: &[&str]) -> bool {
        std::process::Command::new("mount")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A tmpfs of `size` (`mount -o size=`) at `at`.
    fn tmpfs(at: &std::path::Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let at_text = at.to_str().unwrap();
        Self::run(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size}"),
            "tmpfs",
            at_text,
        ])
        .then(|| Mount {
            at: at.to_path_buf(),
        })
    }

    /// `from` seen read-only at `at`.
    fn read_only(from: &std::path::Path, at: &std::path::Path) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let (from, at_text) = (from.to_str().unwrap(), at.to_str().unwrap());
        if !Self::run(&["--bind", from, at_text]) {
            return None;
        }
        let mount = Mount {
            at: at.to_path_buf(),
        };
        Self::run(&["-o", "remount,bind,ro", at_text]).then_some(mount)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.at).status();
    }
}

const MOUNT_NEEDS_ROOT: &str = "mounting a file system needs root";

/// Says on the terminal that `test` passes without running: libtest swallows a passing test's
/// `eprintln!`, not a write to the stderr handle itself.
fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {test} passes without running: {why}"
    );
}

/// A project whose database lives in `dir` (given as an absolute path).
fn project_with_database_in(dir: &std::path::Path) -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrate.toml",
        &format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///{}/app.db\"\n\n[backup]\ndir = \"backups\"\n",
            dir.display()
        ),
    );
    p
}

#[test]
fn a_full_disk_at_commit_names_the_revision() {
    let scratch = TestProject::new();
    let Some(disk) = Mount::tmpfs(&scratch.path().join("disk"), "64k") else {
        return skipped("a_full_disk_at_commit_names_the_revision", MOUNT_NEEDS_ROOT);
    };
    let p2 = project_with_database_in(&disk.at);
    // About 200 KB of rows: SQLite keeps them in its page cache until the commit writes them.
    p2.file(
        "migrations/versions/aa01_fill.sql",
        "-- revision = \"aa01\"\n\n-- migrate:upgrade\nCREATE TABLE t (x TEXT);\n\
         WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000) \
         INSERT INTO t SELECT hex(randomblob(100)) FROM c;\n",
    );
    let (code, _, stderr) = p2.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: cannot commit revision `aa01`: database or disk is full"),
        "{stderr}"
    );
}

#[test]
fn a_full_disk_during_a_backup_gives_the_real_cause() {
    let p = TestProject::new();
    p.revision("aa01", &[], "");
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let Some(_disk) = Mount::tmpfs(&p.path().join("backups"), "8k") else {
        return skipped(
            "a_full_disk_during_a_backup_gives_the_real_cause",
            MOUNT_NEEDS_ROOT,
        );
    };
    p.file("migrate.toml", "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n\n[backup]\ndir = \"backups\"\n");
    let (code, _, stderr) = p.run(&["backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("not an error"), "{stderr}");
    assert!(stderr.contains("database is full"), "{stderr}");
}

#[test]
fn verify_and_backup_read_a_read_only_database() {
    let p = TestProject::new();
    let data = p.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let writer = project_with_database_in(&data);
    writer.revision("aa01", &[], "");
    let (code, _, stderr) = writer.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    let Some(view) = Mount::read_only(&data, &p.path().join("ro")) else {
        return skipped(
            "verify_and_backup_read_a_read_only_database",
            MOUNT_NEEDS_ROOT,
        );
    };
    let reader = project_with_database_in(&view.at);
    reader.revision("aa01", &[], "");
    for command in ["verify", "backup"] {
        let (code, _, stderr) = reader.run(&[command]);
        assert_eq!(code, 0, "{command}: {stderr}");
    }
}

/// Whether the tests run as root (`/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn a_read_only_directory_is_named_instead_of_the_statement() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // Root writes anywhere: the run drops to `nobody`, a user whose directory is read-only.
    if !running_as_root() {
        return skipped(
            "a_read_only_directory_is_named_instead_of_the_statement",
            "it needs root",
        );
    }
    let p = TestProject::new();
    let data = p.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let p2 = project_with_database_in(&data);
    p2.revision("aa01", &[], "");
    let (code, _, stderr) = p2.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    p2.revision("bb01", &["aa01"], "");
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(p.path(), 0o755);
    mode(p2.path(), 0o755);
    mode(&data.join("app.db"), 0o666);
    let as_nobody = |args: &[&str]| {
        mode(&data, 0o555);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("retort"))
            .args(args)
            .current_dir(p2.path())
            .env("RETORT_NO_CACHE", "1")
            .env_remove("DATABASE_URL")
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        mode(&data, 0o755);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "its directory `{}` cannot be written, and SQLite creates the database's journal \
                 there (`-journal`, or `-wal` and `-shm` in WAL mode)",
                data.display()
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("fix the statement"), "{stderr}");
    };
    // Rollback-journal mode: the first change needs the journal.
    as_nobody(&["upgrade", "heads", "--no-backup"]);
    // WAL mode: even reading needs the WAL index.
    let wal =
        crate::support::server::connect(&format!("sqlite:///{}", data.join("app.db").display()))
            .query("PRAGMA journal_mode = WAL");
    assert!(wal.is_ok(), "{wal:?}");
    as_nobody(&["current"]);
}

/// A project whose database is `url`, with one revision `aa01`.
fn server_project(url: &str, extra_config: &str) -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrate.toml",
        &format!(
            "[migrate]\nscript_location = \"migrations\"\ndatabase_url = \"{url}\"\n{extra_config}"
        ),
    );
    p.revision("aa01", &[], "");
    p
}

#[test]
fn a_version_table_name_the_engine_would_cut_is_refused_naming_the_limit() {
    use crate::support::server::TestDatabase;
    use retort::Dialect;
    for (dialect, name_length, want) in [
        // 63 bytes fit PostgreSQL, but the audit table `<name>_log` is cut to the same 63.
        (
            Dialect::Postgresql,
            63,
            "is 67 bytes long, over PostgreSQL's limit of 63 bytes for identifiers",
        ),
        (
            Dialect::Mysql,
            64,
            "is 68 characters long, over MySQL's limit of 64 characters for identifiers",
        ),
    ] {
        let Some(db) = TestDatabase::create(dialect, "long_version_table") else {
            continue;
        };
        let table = "v".repeat(name_length);
        let p = server_project(&db.url, &format!("version_table = \"{table}\"\n"));
        let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&format!("the table name `{table}_log` {want}")),
            "{stderr}"
        );
        assert!(stderr.contains("shorten `version_table`"), "{stderr}");
        // A name that fits runs.
        let p = server_project(
            &db.url,
            &format!("version_table = \"{}\"\n", &table[..name_length - 4]),
        );
        let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
        assert_eq!(code, 0, "{stderr}");
    }
}

#[test]
fn a_runner_waiting_for_the_postgresql_lock_names_the_session_holding_it() {
    use crate::support::server::TestDatabase;
    let Some(db) = TestDatabase::create(retort::Dialect::Postgresql, "lock_holder") else {
        return;
    };
    // A session that holds the migration lock and sits idle, as a killed runner's does
    // until the server notices.
    let mut holder = db.connect();
    assert!(holder
        .try_lock("retort:retort_version", Duration::from_secs(1))
        .unwrap());
    let p = server_project(&db.url, "");
    let (code, _, stderr) = p.run(&[
        "upgrade",
        "heads",
        "--no-backup",
        "--migration-lock-wait",
        "1",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let waiting = stderr
        .lines()
        .find(|line| line.starts_with("waiting for the database lock held by "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        waiting.starts_with("waiting for the database lock held by PostgreSQL session ")
            && waiting.contains(", idle since ")
            && waiting.ends_with("s ago)…"),
        "{waiting}"
    );
    holder.unlock("retort:retort_version").unwrap();
}

#[test]
fn a_nul_byte_in_a_statement_is_named_as_the_cause() {
    let p = project();
    p.file(
        "migrations/versions/bb01_x.sql",
        "-- revision = \"bb01\"\n-- down_revision = \"aa01\"\n\n-- migrate:upgrade\n\0SELECT 1;\n",
    );
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("not an error"), "{stderr}");
    assert!(
        stderr.contains(
            "failed at statement 1 (line 5): the statement holds a NUL byte (at character 1), \
             where SQLite would stop reading it"
        ),
        "{stderr}"
    );
}
