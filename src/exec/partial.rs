//! Statements and the transaction around a step: which statements end it by themselves, and
//! what a failed step left behind where it could not be rolled back (MySQL/MariaDB commit DDL
//! implicitly, and a `transactional = false` revision runs each statement on its own).
//!
//! The failure message must say which statements already took effect and which did not, so
//! the user knows what to undo by hand before running again.

use crate::config::Dialect;

/// Whether `sql` ends the open transaction on `dialect` by itself, committing everything
/// before it. MySQL's list: <https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html>
/// (MariaDB's is the same for these statements). `CREATE TEMPORARY TABLE` and
/// `DROP TEMPORARY TABLE` are the exceptions that do not commit.
pub fn commits_implicitly(dialect: Dialect, sql: &str) -> bool {
    if dialect != Dialect::Mysql {
        return false;
    }
    let words: Vec<String> = leading_words(sql, 2);
    let first = words.first().map(String::as_str).unwrap_or_default();
    let second = words.get(1).map(String::as_str).unwrap_or_default();
    match first {
        "CREATE" | "DROP" => second != "TEMPORARY",
        "ALTER" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "ANALYZE" | "OPTIMIZE"
        | "REPAIR" | "CACHE" | "FLUSH" | "RESET" | "INSTALL" | "UNINSTALL" | "BEGIN" | "COMMIT"
        | "UNLOCK" => true,
        "LOCK" => second == "TABLES" || second == "TABLE",
        "START" => second == "TRANSACTION",
        _ => false,
    }
}

/// Whether `sql` starts, ends or abandons a transaction itself (`BEGIN`, `COMMIT`, `END`,
/// `ROLLBACK`, `START TRANSACTION`, PostgreSQL's `ABORT`). Inside a revision that retort runs in
/// a transaction, such a statement would commit part of the revision apart from its version
/// row. `ROLLBACK TO SAVEPOINT` stays inside the transaction and is allowed.
pub fn controls_transaction(sql: &str) -> bool {
    let words = leading_words(sql, 2);
    let second = words.get(1).map(String::as_str).unwrap_or_default();
    match words.first().map(String::as_str).unwrap_or_default() {
        "BEGIN" | "COMMIT" | "END" | "ABORT" => true,
        "ROLLBACK" => second != "TO",
        "START" => second == "TRANSACTION",
        _ => false,
    }
}

/// The first `n` words of `sql`, upper-cased, after leading comments.
pub(super) fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--").or_else(|| rest.strip_prefix('#')) {
            rest = after
                .split_once('\n')
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else if rest.starts_with("/*") && !rest.starts_with("/*!") {
            rest = rest
                .split_once("*/")
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else {
            break;
        }
    }
    rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The statements of a failed step that stay applied: all of them before the failure when the
/// step ran outside a transaction, else those up to the last implicit commit. MySQL commits
/// *before* running such a statement, so a failing `CREATE TABLE` still commits what preceded
/// it; the executor starts a new transaction after each implicit commit, so what follows the
/// commit is rolled back. Returns 0-based indexes, in order.
pub fn applied_before_failure(
    dialect: Dialect,
    transactional: bool,
    statements: &[&str],
    failed: usize,
) -> Vec<usize> {
    let failed = failed.min(statements.len());
    if !transactional {
        return (0..failed).collect();
    }
    let through_failure = &statements[..(failed + 1).min(statements.len())];
    match through_failure
        .iter()
        .rposition(|sql| commits_implicitly(dialect, sql))
    {
        Some(commit) if commit == failed => (0..failed).collect(),
        Some(commit) => (0..=commit).collect(),
        None => Vec::new(),
    }
}

/// A paragraph for the failure message: which statements took effect, and what to do. `None`
/// when nothing stayed applied (the step rolled back whole).
pub fn describe_applied(
    dialect: Dialect,
    transactional: bool,
    statements: &[(&str, usize)],
    failed: usize,
) -> Option<String> {
    let texts: Vec<&str> = statements.iter().map(|(sql, _)| *sql).collect();
    let applied = applied_before_failure(dialect, transactional, &texts, failed);
    if applied.is_empty() {
        return None;
    }
    let why = if transactional {
        "MySQL/MariaDB commit DDL implicitly, so these statements took effect and stay applied"
    } else {
        "the revision is not transactional (`transactional = false`), so these statements took effect and stay applied"
    };
    let mut text = format!("{why}:");
    for &index in &applied {
        let (sql, line) = statements[index];
        text.push_str(&format!(
            "\n    statement {} (line {line}): {}",
            index + 1,
            abbreviate(sql)
        ));
    }
    let rolled_back: Vec<String> = (applied.len()..failed)
        .map(|i| (i + 1).to_string())
        .collect();
    match rolled_back.as_slice() {
        [] => {}
        [one] => text.push_str(&format!("\n  statement {one} was rolled back")),
        many => text.push_str(&format!(
            "\n  statements {} were rolled back",
            many.join(", ")
        )),
    }
    if failed < statements.len() {
        text.push_str(&format!(
            "\n  statement {} failed; the statements after it did not run",
            failed + 1
        ));
    }
    Some(text)
}

/// One line of a statement for messages.
fn abbreviate(sql: &str) -> String {
    let line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_ddl_commits_and_temporary_tables_do_not() {
        for sql in [
            "CREATE TABLE t (id INT)",
            "  -- note\n alter table t add c int",
            "DROP INDEX i ON t",
            "RENAME TABLE a TO b",
            "TRUNCATE t",
            "LOCK TABLES t WRITE",
        ] {
            assert!(commits_implicitly(Dialect::Mysql, sql), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "CREATE TEMPORARY TABLE tmp (id INT)",
            "UPDATE t SET a = 1",
            "/*!40101 SET NAMES utf8 */",
        ] {
            assert!(!commits_implicitly(Dialect::Mysql, sql), "{sql}");
        }
        assert!(!commits_implicitly(
            Dialect::Postgresql,
            "CREATE TABLE t (id int)"
        ));
    }

    #[test]
    fn transaction_control_statements_are_recognised() {
        for sql in [
            "BEGIN",
            "begin transaction",
            "COMMIT",
            "END",
            "ROLLBACK",
            "-- done\nCOMMIT WORK",
            "START TRANSACTION",
        ] {
            assert!(controls_transaction(sql), "{sql}");
        }
        for sql in [
            "ROLLBACK TO SAVEPOINT s",
            "SAVEPOINT s",
            "START SLAVE",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END",
            "ENDPOINT",
        ] {
            assert!(!controls_transaction(sql), "{sql}");
        }
    }

    #[test]
    fn applied_statements_end_at_the_last_implicit_commit() {
        let statements = [
            "INSERT INTO a VALUES (1)",
            "CREATE TABLE b (id INT)",
            "INSERT INTO b VALUES (1)",
            "INSERT INTO nope VALUES (1)",
        ];
        assert_eq!(
            applied_before_failure(Dialect::Mysql, true, &statements, 3),
            [0, 1]
        );
        assert_eq!(
            applied_before_failure(Dialect::Postgresql, true, &statements, 3),
            Vec::<usize>::new()
        );
        assert_eq!(
            applied_before_failure(Dialect::Postgresql, false, &statements, 3),
            [0, 1, 2]
        );
        // A failing DDL statement still committed what came before it.
        let statements = ["INSERT INTO a VALUES (1)", "CREATE TABLE a (id INT)"];
        assert_eq!(
            applied_before_failure(Dialect::Mysql, true, &statements, 1),
            [0]
        );
    }

    #[test]
    fn description_lists_applied_rolled_back_and_failed_statements() {
        let statements = [
            ("CREATE TABLE b (id INT)", 9),
            ("INSERT INTO b VALUES (1)", 10),
            ("INSERT INTO nope VALUES (1)", 11),
        ];
        let text = describe_applied(Dialect::Mysql, true, &statements, 2).unwrap();
        assert_eq!(
            text,
            "MySQL/MariaDB commit DDL implicitly, so these statements took effect and stay applied:\n    \
             statement 1 (line 9): CREATE TABLE b (id INT)\n  \
             statement 2 was rolled back\n  \
             statement 3 failed; the statements after it did not run"
        );
        assert_eq!(
            describe_applied(Dialect::Postgresql, true, &statements, 2),
            None
        );
    }
}
