//! The body of a revision file: `-- migrate:upgrade|downgrade|verify|test [dialect]` sections.

use std::path::Path;

use super::header::{looks_like_header_key, marker_rest};
use super::{Section, SectionKind, Sections};
use crate::config::Dialect;
use crate::error::{Error, Result, ScriptProblem};

/// A section marker line, parsed.
#[derive(Clone, Copy)]
struct Marker {
    kind: SectionKind,
    dialect: Option<Dialect>,
    /// 1-based file line of the marker.
    line: usize,
}

impl SectionKind {
    /// The word used in `-- migrate:<kind>` markers.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Upgrade => "upgrade",
            SectionKind::Downgrade => "downgrade",
            SectionKind::Verify => "verify",
            SectionKind::Test => "test",
        }
    }
}

/// Parses the sections from line index `body_start` (0-based) on.
pub(crate) fn parse_body(path: &Path, text: &str, body_start: usize) -> Result<Sections> {
    let error = |line: usize, problem: ScriptProblem| Error::Script {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut sections = Sections::default();
    let mut seen: Vec<Marker> = Vec::new();
    let mut current: Option<(Marker, Vec<&str>)> = None;

    for (index, line) in lines.iter().enumerate().skip(body_start) {
        let line_no = index + 1;
        match marker_rest(line) {
            Some(rest) => {
                let marker = parse_marker(rest, line_no).map_err(|m| error(line_no, m))?;
                if let Some(first) = seen
                    .iter()
                    .find(|m| m.kind == marker.kind && m.dialect == marker.dialect)
                {
                    return Err(error(
                        line_no,
                        ScriptProblem::DuplicateSection {
                            marker: marker_text(marker.kind, marker.dialect),
                            first_line: first.line,
                        },
                    ));
                }
                if let Some((done, sql)) = current.take() {
                    store(&mut sections, done, &sql);
                }
                seen.push(marker);
                current = Some((marker, Vec::new()));
            }
            None => match &mut current {
                Some((_, sql)) => sql.push(line),
                None => {
                    if let Some(key) = looks_like_header_key(line) {
                        // A blank line inside the header ends it early; the rest would be
                        // silently ignored (e.g. a `down_revision` turning the file into a base).
                        return Err(error(line_no, ScriptProblem::KeyAfterHeader { key }));
                    }
                    if !is_blank_or_comment(line) {
                        return Err(error(line_no, ScriptProblem::SqlBeforeFirstSection));
                    }
                }
            },
        }
    }
    if let Some((done, sql)) = current.take() {
        store(&mut sections, done, &sql);
    }

    if !seen.iter().any(|m| m.kind == SectionKind::Upgrade) {
        // Point at the first section there is (the upgrade belongs before it), else the body.
        let line = seen
            .first()
            .map_or((body_start + 1).min(lines.len()).max(1), |m| m.line);
        return Err(error(line, ScriptProblem::NoUpgradeSection));
    }
    Ok(sections)
}

fn parse_marker(rest: &str, line: usize) -> Result<Marker, ScriptProblem> {
    let mut words = rest.split_whitespace();
    let kind = match words.next() {
        Some("upgrade") => SectionKind::Upgrade,
        Some("downgrade") => SectionKind::Downgrade,
        Some("verify") => SectionKind::Verify,
        Some("test") => SectionKind::Test,
        other => {
            return Err(ScriptProblem::UnknownSection {
                kind: other.unwrap_or("").into(),
            })
        }
    };
    let dialect = match words.next() {
        None => None,
        Some(name) => {
            Some(
                Dialect::from_name(name).ok_or_else(|| ScriptProblem::UnknownDialect {
                    dialect: name.into(),
                    kind: kind.name(),
                })?,
            )
        }
    };
    if let Some(extra) = words.next() {
        return Err(ScriptProblem::MarkerTrailingText {
            extra: extra.into(),
            marker: marker_text(kind, dialect),
        });
    }
    Ok(Marker {
        kind,
        dialect,
        line,
    })
}

fn marker_text(kind: SectionKind, dialect: Option<Dialect>) -> String {
    match dialect {
        Some(d) => format!("-- migrate:{} {d}", kind.name()),
        None => format!("-- migrate:{}", kind.name()),
    }
}

fn is_blank_or_comment(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with("--")
}

fn store(sections: &mut Sections, marker: Marker, lines: &[&str]) {
    let section = Section {
        sql: lines.join("\n").trim_end().to_string(),
        first_line: marker.line + 1,
    };
    match (marker.dialect, marker.kind) {
        (Some(dialect), kind) => sections.dialect_specific.push((kind, dialect, section)),
        (None, SectionKind::Upgrade) => sections.upgrade = Some(section),
        (None, SectionKind::Downgrade) => sections.downgrade = Some(section),
        (None, SectionKind::Verify) => sections.verify = Some(section),
        (None, SectionKind::Test) => sections.test = Some(section),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sections> {
        parse_body(Path::new("v/abc.sql"), text, 0)
    }

    fn failure(text: &str) -> (usize, String) {
        crate::script::tests::script_error(parse(text), "v/abc.sql")
    }

    #[test]
    fn a_test_section_is_its_own_kind_also_per_dialect() {
        let sections = parse(
            "-- migrate:upgrade\nCREATE TABLE t (a INT);\n-- migrate:test\nSELECT count(*) = 0 FROM t;\n-- migrate:test sqlite\nSELECT 1;",
        )
        .unwrap();
        assert_eq!(
            sections
                .test
                .as_ref()
                .map(|s| (s.sql.as_str(), s.first_line)),
            Some(("SELECT count(*) = 0 FROM t;", 4))
        );
        assert_eq!(
            sections
                .get(SectionKind::Test, Dialect::Sqlite)
                .map(|s| s.sql.as_str()),
            Some("SELECT 1;")
        );
        let (line, message) =
            failure("-- migrate:upgrade\nSELECT 1;\n-- migrate:test\n-- migrate:test\n");
        assert_eq!(line, 4, "{message}");
    }

    #[test]
    fn generic_sections_keep_sql_verbatim_with_file_lines() {
        let text = "-- revision = \"a\"\n\n-- migrate:upgrade\nCREATE TABLE t (\n  id INT\n);\n\n\n-- migrate:downgrade\n  DROP TABLE t;  \n-- migrate:verify\nSELECT 1;";
        let sections = parse_body(Path::new("x.sql"), text, 1).unwrap();
        assert_eq!(
            sections.upgrade,
            Some(Section {
                sql: "CREATE TABLE t (\n  id INT\n);".into(),
                first_line: 4
            })
        );
        assert_eq!(
            sections.downgrade,
            Some(Section {
                sql: "  DROP TABLE t;".into(),
                first_line: 10
            })
        );
        assert_eq!(sections.verify.as_ref().unwrap().sql, "SELECT 1;");
        assert_eq!(sections.verify.as_ref().unwrap().first_line, 12);
        assert!(sections.dialect_specific.is_empty());
    }

    #[test]
    fn empty_sections_and_irreversible_revisions() {
        let sections = parse("-- migrate:upgrade\n").unwrap();
        assert_eq!(sections.upgrade.unwrap().sql, "");
        assert!(sections.downgrade.is_none());
        let sections = parse("-- migrate:upgrade\nSELECT 1;\n").unwrap();
        assert!(!sections.is_reversible());
    }

    #[test]
    fn dialect_sections_replace_the_generic_one() {
        let text = "-- migrate:upgrade\nA;\n-- migrate:upgrade postgresql\nB;\n-- migrate:upgrade   mariadb  \nC;\n-- migrate:downgrade sqlite\nD;";
        let sections = parse(text).unwrap();
        assert_eq!(
            sections
                .get(SectionKind::Upgrade, Dialect::Sqlite)
                .unwrap()
                .sql,
            "A;"
        );
        assert_eq!(
            sections
                .get(SectionKind::Upgrade, Dialect::Postgresql)
                .unwrap()
                .sql,
            "B;"
        );
        let mysql = sections.get(SectionKind::Upgrade, Dialect::Mysql).unwrap();
        assert_eq!((mysql.sql.as_str(), mysql.first_line), ("C;", 6));
        assert!(sections
            .get(SectionKind::Downgrade, Dialect::Mysql)
            .is_none());
        assert!(sections.is_reversible());
    }

    #[test]
    fn markers_tolerate_spacing() {
        let sections = parse("--migrate:upgrade\nA;\n  --   migrate:downgrade\t\nB;").unwrap();
        assert_eq!(sections.upgrade.unwrap().sql, "A;");
        assert_eq!(sections.downgrade.unwrap().sql, "B;");
    }

    #[test]
    fn comments_and_blank_lines_before_the_first_marker_are_fine() {
        let sections = parse("\n-- a note about this revision\n\n-- migrate:upgrade\nA;").unwrap();
        assert_eq!(sections.upgrade.unwrap().first_line, 5);
    }

    #[test]
    fn sql_before_the_first_marker_is_an_error() {
        let (line, message) = failure("-- note\nCREATE TABLE t (id INT);\n-- migrate:upgrade\n");
        assert_eq!(line, 2);
        assert!(
            message.starts_with("SQL before the first `-- migrate:upgrade` marker"),
            "{message}"
        );
    }

    #[test]
    fn header_keys_after_a_blank_line_are_an_error() {
        let text = "-- revision = \"a\"\n\n-- down_revision = \"b\"\n\n-- migrate:upgrade\n";
        let (line, message) = crate::script::tests::script_error(
            parse_body(Path::new("v/abc.sql"), text, 1),
            "v/abc.sql",
        );
        assert_eq!(line, 3);
        assert!(
            message.starts_with("`down_revision` is set after the header ended"),
            "{message}"
        );
        // Prose mentioning a key is fine; so is a key-like line inside a section.
        parse("-- the message = short\n-- migrate:upgrade\n-- revision = 3\n").unwrap();
    }

    #[test]
    fn unknown_kind_or_dialect_is_named() {
        let (line, message) = failure("-- migrate:upgrade\nA;\n-- migrate:rollback\n");
        assert_eq!(line, 3);
        assert!(
            message.starts_with("unknown section `-- migrate:rollback`"),
            "{message}"
        );
        let (line, message) = failure("-- migrate:upgrade oracle\n");
        assert_eq!(line, 1);
        assert_eq!(
            message,
            "unknown dialect `oracle` in `-- migrate:upgrade`; expected `sqlite`, `postgresql` or `mysql`"
        );
        let (_, message) = failure("-- migrate:\n");
        assert!(
            message.starts_with("unknown section `-- migrate:`"),
            "{message}"
        );
        let (_, message) = failure("-- migrate:upgrade sqlite extra\n");
        assert!(
            message.starts_with("unexpected `extra` after `-- migrate:upgrade sqlite`"),
            "{message}"
        );
    }

    #[test]
    fn duplicate_sections_name_both_lines() {
        let (line, message) = failure("-- migrate:upgrade\nA;\n\n-- migrate:upgrade\nB;\n");
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "second `-- migrate:upgrade` section (the first is at line 1); put all of its SQL in one section"
        );
        let (line, message) = failure(
            "-- migrate:upgrade\n-- migrate:upgrade postgres\n-- migrate:verify\n-- migrate:upgrade postgresql\n",
        );
        assert_eq!(line, 4);
        assert!(
            message.contains("`-- migrate:upgrade postgresql`"),
            "{message}"
        );
        assert!(message.contains("line 2"), "{message}");
        // The generic and a dialect section of one kind are not duplicates.
        parse("-- migrate:verify\n-- migrate:verify mysql\n-- migrate:upgrade").unwrap();
    }

    #[test]
    fn a_file_without_upgrade_is_an_error() {
        let (line, message) = failure("-- migrate:downgrade\nDROP TABLE t;\n");
        assert_eq!(line, 1);
        assert!(
            message.starts_with("no `-- migrate:upgrade` section"),
            "{message}"
        );
        let (_, message) = failure("");
        assert!(
            message.starts_with("no `-- migrate:upgrade` section"),
            "{message}"
        );
        // A dialect-only upgrade counts: the revision does nothing on other dialects.
        parse("-- migrate:upgrade postgresql\nCREATE EXTENSION x;").unwrap();
    }
}
