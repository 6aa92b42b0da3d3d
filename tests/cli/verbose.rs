//! `-v` on online runs: each statement as it ran, with its file line and time, on stderr.

use crate::support::TestProject;

/// The `-v` statement lines of `stderr` as (file line, statement as shown); each must carry a
/// time in milliseconds.
pub(crate) fn statement_lines(stderr: &str) -> Vec<(usize, String)> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("  line ")?;
            let (file_line, rest) = rest.split_once(" (")?;
            let (ms, statement) = rest.split_once(" ms): ")?;
            assert!(ms.parse::<u128>().is_ok(), "no time in {line:?}");
            Some((file_line.parse().ok()?, statement.to_string()))
        })
        .collect()
}

fn project() -> TestProject {
    let p = TestProject::new();
    p.file(
        "migrations/versions/r1_rev.sql",
        "-- revision = \"r1\"\n\n\
         -- migrate:upgrade\n\
         CREATE TABLE a (\n  id INTEGER\n);\n\
         INSERT INTO a VALUES (1);\n\n\
         -- migrate:downgrade\n\
         DROP TABLE a;\n",
    );
    p
}

#[test]
fn verbose_upgrade_and_downgrade_show_each_statement_with_its_line_and_time() {
    let p = project();
    let (code, stdout, stderr) = p.run(&["-v", "upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        statement_lines(&stderr),
        [
            (4, "CREATE TABLE a ( …".to_string()),
            (7, "INSERT INTO a VALUES (1)".to_string())
        ],
        "{stderr}"
    );
    let running = stderr.find("Running upgrade").expect("running line");
    assert!(
        running < stderr.find("  line 4 (").expect("statement"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("line 4"),
        "statements go to stderr: {stdout}"
    );

    let (code, _, stderr) = p.run(&["--verbose", "downgrade", "base", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        statement_lines(&stderr),
        [(10, "DROP TABLE a".to_string())],
        "{stderr}"
    );
}

#[test]
fn without_verbose_no_statement_is_shown() {
    let p = project();
    let (code, _, stderr) = p.run(&["upgrade", "heads", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Running upgrade"), "{stderr}");
    assert!(statement_lines(&stderr).is_empty(), "{stderr}");
    assert!(!stderr.contains("CREATE TABLE"), "{stderr}");
    let (code, _, stderr) = p.run(&["downgrade", "base", "--no-backup"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("DROP TABLE"), "{stderr}");
}
