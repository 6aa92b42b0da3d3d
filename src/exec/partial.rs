//! Statements and the transaction around a step: which statements end it by themselves, and
//! what a failed or interrupted step left behind where it could not be rolled back (MySQL/MariaDB
//! commit DDL implicitly, and a `transactional = false` revision runs each statement on its own).
//!
//! The failure message must say which statements already took effect, which did not, and which
//! retort cannot know about ("may have taken effect", never "rolled back"), so the user knows
//! what to undo by hand before running again.

use crate::config::Dialect;

/// What a statement does to the open transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxEffect {
    /// Ends it with a commit (MySQL's implicit commit): what ran before it took effect.
    Commits,
    /// Leaves it open: the statement commits or rolls back with the rest of the step.
    Stays,
    /// Nobody can tell from the text: a procedure call, an executable comment that is not DDL,
    /// a statement retort does not recognise.
    Unknown,
}

/// What `sql` does to an open transaction on `dialect`, from its text alone. MySQL's list:
/// <https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html> (MariaDB's is the same for
/// these statements). Statements that commit only sometimes (`SET autocommit = 1` when it was
/// 0, `UNLOCK TABLES` after `LOCK TABLES`, `LOAD DATA` into NDB) are `Unknown`: the live sink
/// asks the server.
pub(crate) fn classify(dialect: Dialect, sql: &str) -> TxEffect {
    if dialect != Dialect::Mysql {
        return TxEffect::Stays;
    }
    let sql = strip_leading_comments(sql);
    if let Some(content) = executable_comment(sql) {
        // Only content read as DDL is known to commit; anything else may do anything.
        return match classify(dialect, &content) {
            TxEffect::Commits => TxEffect::Commits,
            _ => TxEffect::Unknown,
        };
    }
    let words = leading_words(sql, 4);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or_default();
    match word(0) {
        // MariaDB's `CREATE OR REPLACE TEMPORARY TABLE` does not commit either.
        "CREATE" if word(1) == "OR" && word(2) == "REPLACE" => temporary_or_ddl(word(3)),
        "CREATE" | "DROP" => temporary_or_ddl(word(1)),
        "ALTER" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "ANALYZE" | "OPTIMIZE"
        | "REPAIR" | "CACHE" | "FLUSH" | "RESET" | "INSTALL" | "UNINSTALL" | "BEGIN" | "COMMIT"
        | "CHANGE" => TxEffect::Commits,
        "CHECK" if word(1) == "TABLE" => TxEffect::Commits,
        "LOCK" if word(1) == "TABLES" || word(1) == "TABLE" => TxEffect::Commits,
        "LOAD" if word(1) == "INDEX" => TxEffect::Commits,
        // `START TRANSACTION`, and replication control (`START SLAVE`, `STOP REPLICA`).
        "START" | "STOP" => TxEffect::Commits,
        "SET" if word(1) == "PASSWORD" => TxEffect::Commits,
        // `SET autocommit = 1` commits only when autocommit was off; `SET STATEMENT … FOR`
        // runs another statement.
        "SET" if mentions(sql, "AUTOCOMMIT") || word(1) == "STATEMENT" => TxEffect::Unknown,
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "WITH" | "VALUES" | "TABLE"
        | "DO" | "SET" | "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "SHOW" | "EXPLAIN" | "DESCRIBE"
        | "DESC" | "HANDLER" | "CHECKSUM" => TxEffect::Stays,
        _ => TxEffect::Unknown,
    }
}

/// `CREATE`/`DROP` followed by `word`: a temporary table stays in the transaction.
fn temporary_or_ddl(word: &str) -> TxEffect {
    if word == "TEMPORARY" {
        TxEffect::Stays
    } else {
        TxEffect::Commits
    }
}

/// Whether the statement runs other statements the server chooses (`CALL`, `EXECUTE` of a
/// prepared statement): they may commit and start a transaction again, so even an open
/// transaction afterwards does not prove that nothing was committed.
pub(crate) fn runs_other_statements(sql: &str) -> bool {
    let sql = strip_leading_comments(sql);
    let sql = executable_comment(sql).unwrap_or_else(|| sql.to_string());
    matches!(
        leading_words(&sql, 1).first().map(String::as_str),
        Some("CALL" | "EXECUTE")
    )
}

/// The text of a statement written as MySQL executable comments (`/*!50000 CREATE TABLE … */`,
/// MariaDB's `/*M!100100 … */`), markers removed; `None` when `sql` does not start with one.
fn executable_comment(sql: &str) -> Option<String> {
    if !(sql.starts_with("/*!") || sql.starts_with("/*M!")) {
        return None;
    }
    let mut content = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find("/*") {
        content.push_str(&rest[..start]);
        let inner = &rest[start + 2..];
        let (comment, tail) = inner.split_once("*/").unwrap_or((inner, ""));
        if let Some(body) = comment
            .strip_prefix('!')
            .or_else(|| comment.strip_prefix("M!"))
        {
            content.push(' ');
            content.push_str(body.trim_start_matches(|c: char| c.is_ascii_digit()));
        }
        content.push(' ');
        rest = tail;
    }
    content.push_str(rest);
    Some(content)
}

/// Whether `word` (upper case) appears as a word of `sql`.
fn mentions(sql: &str, word: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether `sql` starts, ends or abandons a transaction itself (`BEGIN`, `COMMIT`, `END`,
/// `ROLLBACK`, `START TRANSACTION`, PostgreSQL's `ABORT`). Inside a revision that retort runs in
/// a transaction, such a statement would commit part of the revision apart from its version
/// row. `ROLLBACK TO SAVEPOINT` stays inside the transaction and is allowed.
pub(crate) fn controls_transaction(sql: &str) -> bool {
    let words = leading_words(strip_leading_comments(sql), 2);
    let second = words.get(1).map(String::as_str).unwrap_or_default();
    match words.first().map(String::as_str).unwrap_or_default() {
        "BEGIN" | "COMMIT" | "END" | "ABORT" => true,
        "ROLLBACK" => second != "TO",
        "START" => second == "TRANSACTION",
        _ => false,
    }
}

/// `sql` after its leading comments (executable comments `/*!…*/` are not comments).
pub(super) fn strip_leading_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--").or_else(|| rest.strip_prefix('#')) {
            rest = after
                .split_once('\n')
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else if rest.starts_with("/*") && !rest.starts_with("/*!") && !rest.starts_with("/*M!") {
            rest = rest
                .split_once("*/")
                .map_or("", |(_, tail)| tail)
                .trim_start();
        } else {
            return rest;
        }
    }
}

/// The first `n` words of `sql`, upper-cased.
pub(super) fn leading_words(sql: &str, n: usize) -> Vec<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// What became of a statement that ran before a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    TookEffect,
    /// An unknown statement after the last known commit: it, or what preceded it, may have
    /// committed.
    MayHaveTakenEffect,
    RolledBack,
}

/// The fate of each statement before the failing one, from what each did to the transaction
/// (`effects`, one per statement that ran) and what the failing statement did (`failed`; for a
/// failed verify query, `Stays`). Outside a transaction everything that ran took effect. MySQL
/// commits *before* running DDL, so a failing `CREATE TABLE` still commits what preceded it.
pub(crate) fn fates(transactional: bool, effects: &[TxEffect], failed: TxEffect) -> Vec<Fate> {
    if !transactional {
        return vec![Fate::TookEffect; effects.len()];
    }
    let through_failure: Vec<TxEffect> = effects.iter().copied().chain([failed]).collect();
    let safe_until = through_failure
        .iter()
        .rposition(|e| *e == TxEffect::Commits)
        .map_or(0, |commit| commit + 1);
    let unknown_after = through_failure[safe_until..].contains(&TxEffect::Unknown);
    (0..effects.len())
        .map(|index| match index {
            index if index < safe_until => Fate::TookEffect,
            _ if unknown_after => Fate::MayHaveTakenEffect,
            _ => Fate::RolledBack,
        })
        .collect()
}

/// A paragraph for the failure message: which statements took effect, which may have, which
/// were rolled back, and the failing one. `None` when the step rolled back whole.
/// `statements` are the step's (text, line); `effects` and `failed` as for [`fates`].
pub(crate) fn describe_applied(
    transactional: bool,
    statements: &[(&str, usize)],
    effects: &[TxEffect],
    failed: TxEffect,
) -> Option<String> {
    let fates = fates(transactional, effects, failed);
    let failed_in_part = transactional && failed == TxEffect::Unknown;
    if !failed_in_part && fates.iter().all(|fate| *fate == Fate::RolledBack) {
        return None;
    }
    let listed = |fate: Fate| -> String {
        fates
            .iter()
            .enumerate()
            .filter(|(_, f)| **f == fate)
            .map(|(index, _)| statement_line(index, statements[index]))
            .collect()
    };
    let mut text = String::new();
    let took_effect = listed(Fate::TookEffect);
    if !took_effect.is_empty() {
        text.push_str(if transactional {
            "MySQL/MariaDB committed the transaction implicitly (at DDL or a similar statement), so these statements took effect and stay applied:"
        } else {
            "the revision is not transactional (`transactional = false`), so these statements took effect and stay applied:"
        });
        text.push_str(&took_effect);
    }
    let may = listed(Fate::MayHaveTakenEffect);
    if !may.is_empty() {
        if !text.is_empty() {
            text.push_str("\n  ");
        }
        text.push_str(
            "retort cannot tell whether the server committed these statements, so they may have \
             taken effect:",
        );
        text.push_str(&may);
    }
    let rolled_back: Vec<String> = fates
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == Fate::RolledBack)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    match rolled_back.as_slice() {
        [] => {}
        [one] => text.push_str(&format!("\n  statement {one} was rolled back")),
        many => text.push_str(&format!(
            "\n  statements {} were rolled back",
            many.join(", ")
        )),
    }
    if effects.len() < statements.len() {
        let number = effects.len() + 1;
        if text.is_empty() {
            text.push_str(&format!("statement {number} failed"));
        } else {
            text.push_str(&format!("\n  statement {number} failed"));
        }
        if failed_in_part {
            text.push_str(" and may have taken effect in part");
        }
        text.push_str("; the statements after it did not run");
    }
    Some(text)
}

/// `\n    statement N (line L): SQL` for a list in a message.
fn statement_line(index: usize, (sql, line): (&str, usize)) -> String {
    format!(
        "\n    statement {} (line {line}): {}",
        index + 1,
        abbreviate(sql)
    )
}

/// The statements of an interrupted step (a run that died in it) that may have taken effect:
/// all of them outside a transaction; else every statement up to the last that commits or may
/// commit, since the run may have got past it. What follows it was rolled back with the session.
pub(crate) fn possibly_applied(
    dialect: Dialect,
    transactional: bool,
    statements: &[&str],
) -> usize {
    if !transactional {
        return statements.len();
    }
    statements
        .iter()
        .rposition(|sql| classify(dialect, sql) != TxEffect::Stays)
        .map_or(0, |last| last + 1)
}

/// One line of a statement for messages.
pub(crate) fn abbreviate(sql: &str) -> String {
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
    use TxEffect::{Commits, Stays, Unknown};

    #[test]
    fn mysql_statements_are_classified_by_what_they_do_to_the_transaction() {
        let commits = [
            "CREATE TABLE t (id INT)",
            "  -- note\n alter table t add c int",
            "DROP INDEX i ON t",
            "RENAME TABLE a TO b",
            "TRUNCATE t",
            "LOCK TABLES t WRITE",
            "CREATE OR REPLACE TABLE t (id INT)",
            "/*!50000 CREATE TABLE t (id INT) */",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50001 VIEW v AS SELECT 1 */",
            "CHECK TABLE t",
            "ANALYZE TABLE t",
            "OPTIMIZE TABLE t",
            "REPAIR TABLE t",
            "CREATE USER u",
            "ALTER USER u IDENTIFIED BY 'x'",
            "DROP USER u",
            "GRANT SELECT ON t TO u",
            "SET PASSWORD FOR u = PASSWORD('x')",
            "LOAD INDEX INTO CACHE t",
            "START SLAVE",
        ];
        let stays = [
            "INSERT INTO t VALUES (1)",
            "CREATE TEMPORARY TABLE tmp (id INT)",
            "CREATE OR REPLACE TEMPORARY TABLE tmp (id INT)",
            "DROP TEMPORARY TABLE tmp",
            "UPDATE t SET a = 1",
            "SET NAMES utf8",
            "SELECT SLEEP(1)",
        ];
        let unknown = [
            "CALL make_tables()",
            "EXECUTE stmt",
            "/*!40101 SET NAMES utf8 */",
            "SET autocommit = 1",
            "SET @a = 1, AUTOCOMMIT = 1",
            "UNLOCK TABLES",
            "LOAD DATA INFILE 'x' INTO TABLE t",
            "XA START 'x'",
            "FROBNICATE",
        ];
        for (expected, statements) in [
            (Commits, &commits[..]),
            (Stays, &stays[..]),
            (Unknown, &unknown[..]),
        ] {
            for sql in statements {
                assert_eq!(classify(Dialect::Mysql, sql), expected, "{sql}");
            }
        }
        assert_eq!(
            classify(Dialect::Postgresql, "CREATE TABLE t (id int)"),
            Stays
        );
        assert!(runs_other_statements("CALL p()"));
        assert!(runs_other_statements("/*!50000 CALL p() */"));
        assert!(!runs_other_statements("CHECK TABLE t"));
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
    fn fates_end_at_the_last_commit_and_are_uncertain_after_an_unknown_statement() {
        use Fate::{MayHaveTakenEffect as May, RolledBack, TookEffect};
        assert_eq!(
            fates(true, &[Stays, Commits, Stays], Stays),
            [TookEffect, TookEffect, RolledBack]
        );
        assert_eq!(
            fates(true, &[Stays, Stays], Stays),
            [RolledBack, RolledBack]
        );
        assert_eq!(
            fates(false, &[Stays, Stays], Stays),
            [TookEffect, TookEffect]
        );
        // A failing DDL statement still committed what came before it.
        assert_eq!(fates(true, &[Stays], Commits), [TookEffect]);
        // An unknown statement makes everything after the last known commit uncertain.
        assert_eq!(
            fates(true, &[Commits, Stays, Unknown, Stays], Stays),
            [TookEffect, May, May, May]
        );
        assert_eq!(fates(true, &[Stays], Unknown), [May]);
        // A known commit after the unknown statement settles it.
        assert_eq!(
            fates(true, &[Unknown, Commits, Stays], Stays),
            [TookEffect, TookEffect, RolledBack]
        );
    }

    #[test]
    fn description_lists_applied_uncertain_rolled_back_and_failed_statements() {
        let statements = [
            ("CREATE TABLE b (id INT)", 9),
            ("INSERT INTO b VALUES (1)", 10),
            ("INSERT INTO nope VALUES (1)", 11),
        ];
        let text = describe_applied(true, &statements, &[Commits, Stays], Stays).unwrap();
        assert_eq!(
            text,
            "MySQL/MariaDB committed the transaction implicitly (at DDL or a similar statement), so \
             these statements took effect and stay applied:\n    \
             statement 1 (line 9): CREATE TABLE b (id INT)\n  \
             statement 2 was rolled back\n  \
             statement 3 failed; the statements after it did not run"
        );
        let text = describe_applied(true, &statements, &[Commits, Unknown], Unknown).unwrap();
        assert_eq!(
            text,
            "MySQL/MariaDB committed the transaction implicitly (at DDL or a similar statement), so \
             these statements took effect and stay applied:\n    \
             statement 1 (line 9): CREATE TABLE b (id INT)\n  \
             retort cannot tell whether the server committed these statements, so they may have \
             taken effect:\n    \
             statement 2 (line 10): INSERT INTO b VALUES (1)\n  \
             statement 3 failed and may have taken effect in part; the statements after it did not run"
        );
        assert_eq!(
            describe_applied(true, &statements, &[Stays, Stays], Stays),
            None
        );
    }

    #[test]
    fn an_interrupted_step_may_have_applied_up_to_its_last_commit() {
        let statements = [
            "CREATE TABLE a (id INT)",
            "SELECT SLEEP(5)",
            "INSERT INTO a VALUES (1)",
        ];
        assert_eq!(possibly_applied(Dialect::Mysql, true, &statements), 1);
        assert_eq!(possibly_applied(Dialect::Mysql, false, &statements), 3);
        assert_eq!(possibly_applied(Dialect::Mysql, true, &statements[1..]), 0);
        assert_eq!(
            possibly_applied(Dialect::Mysql, true, &["CALL p()", "SELECT 1"]),
            1
        );
    }
}
