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
