//! `retort lint`: lock-risky and breaking DDL in revision files, judged with what only the
//! runner knows: whether each revision runs in a transaction, the dialect, the server version,
//! and what earlier revisions created.
//!
//! `parse` turns statements into actions (sqlparser, with token rules for what it rejects),
//! `rules` holds the codes and decisions, `suppress` reads `retort:allow` directives, `version`
//! the server version, `output` the text, JSON and SARIF renderings. Pure: files in, report out.

pub(crate) mod output;
pub(crate) mod parse;
pub(crate) mod rules;
pub(crate) mod suppress;
pub(crate) mod version;

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use self::parse::{parse_statement, Action};
use self::rules::{bounds_lock_waits, check_action, takes_table_lock, Code, Context, Knowledge};
use self::version::ServerVersion;
use crate::config::{Dialect, Timeouts};
use crate::error::{Error, Result};
use crate::script::directive::Allow;
use crate::script::split::split_statements;
use crate::script::{Script, SectionKind};

/// A finding: where, which rule, what it found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Finding {
    #[serde(serialize_with = "code_id")]
    pub code: Code,
    pub revision: String,
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The statement was not parsed: this finding comes from token rules.
    pub parsed: bool,
    /// 1-based file line where the statement starts (a suppression goes right above it).
    #[serde(skip)]
    pub statement_line: usize,
}

/// A finding a `retort:allow` accepted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Allowed {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
    /// 1-based file line of the directive.
    pub allow_line: usize,
}

fn code_id<S: serde::Serializer>(code: &Code, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(code.id())
}

/// How to lint.
#[derive(Debug, Clone)]
pub(crate) struct LintOptions {
    pub dialect: Dialect,
    pub server: ServerVersion,
    /// The project's lock and statement timeouts (migrate.toml), which retort sets on every
    /// run unless they are zero.
    pub timeouts: Timeouts,
}

impl LintOptions {
    /// Whether retort bounds the lock waits of `script` itself: a lock or statement timeout
    /// from migrate.toml or the revision's header.
    fn timeouts_configured(&self, script: &Script) -> bool {
        let timeouts = self.timeouts.with(&script.timeouts);
        !timeouts.lock_timeout.is_zero() || !timeouts.statement_timeout.is_zero()
    }
}

/// What a lint found in the revisions it was asked about.
#[derive(Debug, Default, Serialize)]
pub(crate) struct LintResult {
    /// Findings no suppression covers, in file order: each fails the lint.
    pub findings: Vec<Finding>,
    pub allowed: Vec<Allowed>,
    /// RT000: statements the parser rejected (checked by token rules), for information.
    pub not_parsed: Vec<Finding>,
}

/// A revision to lint: reported on, or only read for what it creates.
pub(crate) struct Input<'a> {
    pub script: &'a Script,
    pub report: bool,
}

/// Lints `inputs`, given in upgrade order; only those with text are reported on, the others
/// only teach the rules the schema they leave behind.
pub(crate) fn lint(inputs: &[Input<'_>], options: &LintOptions) -> Result<LintResult> {
    // Splitting and parsing each revision is independent work; the rules then walk the
    // revisions in order, each learning from the ones before.
    let read = crate::parallel::map(inputs.iter().collect(), |input| {
        read_revision(input.script, options.dialect)
    })?;
    let mut knowledge = Knowledge::default();
    let mut result = LintResult::default();
    for (input, statements) in inputs.iter().zip(read) {
        let raw = lint_revision(input.script, &statements?, options, &mut knowledge);
        if input.report {
            apply_suppressions(input.script, raw, &mut result);
        }
    }
    Ok(result)
}

/// A lint and what it was judged against: what `retort lint --json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct LintReport {
    /// No finding is left unsuppressed.
    pub ok: bool,
    pub dialect: &'static str,
    pub server_version: ServerVersion,
    /// The revisions linted, in upgrade order.
    pub linted: Vec<String>,
    /// Revisions left out because the database already has them.
    pub skipped_applied: usize,
    /// What the reader should know about how the lint was judged (an assumed version, a
    /// database that could not be reached).
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub result: LintResult,
    /// The database's version rows, when one was read (a fleet's CURRENT column).
    #[serde(skip)]
    pub applied: Option<Vec<String>>,
}

/// A statement of the upgrade section, with its file position.
struct Located {
    line: usize,
    column: usize,
    statement_line: usize,
}

/// A statement of a revision's upgrade section, read: its file position and actions.
struct ReadStatement {
    line: usize,
    column: usize,
    parsed: parse::Parsed,
}

/// Splits and parses the upgrade section of `script` for `dialect`.
fn read_revision(script: &Script, dialect: Dialect) -> Result<Vec<ReadStatement>> {
    let Some(section) = script.sections.get(SectionKind::Upgrade, dialect) else {
        return Ok(Vec::new());
    };
    let statements = split_statements(&section.sql, dialect).map_err(|e| Error::Script {
        path: script.path.clone(),
        line: section.first_line + e.line - 1,
        problem: e.problem,
    })?;
    Ok(statements
        .iter()
        .map(|statement| ReadStatement {
            line: section.first_line + statement.line - 1,
            column: statement.column,
            parsed: parse_statement(&statement.sql, dialect),
        })
        .collect())
}

/// Every finding of one revision before suppressions, teaching `knowledge` what it creates.
fn lint_revision(
    script: &Script,
    statements: &[ReadStatement],
    options: &LintOptions,
    knowledge: &mut Knowledge,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |code: Code, message: String, at: &Located, parsed: bool| Finding {
        code,
        revision: script.meta.revision.clone(),
        path: script.path.clone(),
        line: at.line,
        column: at.column,
        message,
        parsed,
        statement_line: at.statement_line,
    };
    let mut created = HashSet::new();
    let mut set = HashSet::new();
    let mut foreign_key_checks_off = false;
    let mut first_lock: Option<(Located, bool)> = None;
    let mut locks_existing = false;
    let mut bulk_dml = Vec::new();
    for statement in statements {
        let parsed = &statement.parsed;
        let start = Located {
            line: statement.line,
            column: statement.column,
            statement_line: statement.line,
        };
        let is_parsed = parsed.not_parsed.is_none();
        if let Some(reason) = &parsed.not_parsed {
            findings.push(finding(
                Code::NotParsed,
                format!("not parsed ({reason}), checked by token rules"),
                &start,
                false,
            ));
        }
        let actions: Vec<Action> = parsed.actions.iter().map(|(_, a)| a.clone()).collect();
        for (pos, action) in &parsed.actions {
            let at = Located {
                line: start.line + pos.line - 1,
                column: if pos.line == 1 {
                    start.column + pos.column - 1
                } else {
                    pos.column
                },
                statement_line: start.line,
            };
            let ctx = Context {
                dialect: options.dialect,
                server: &options.server,
                transactional: script.transactional,
                created: &created,
                knowledge,
                foreign_key_checks_off,
            };
            for (code, message) in check_action(&ctx, action, &actions) {
                findings.push(finding(code, message, &at, is_parsed));
            }
            if takes_table_lock(action, &created) {
                locks_existing |=
                    !matches!(action, Action::DropIndex { .. } | Action::Reindex { .. });
                if first_lock.is_none() {
                    let bounded = bounds_lock_waits(options.timeouts_configured(script), &set);
                    first_lock = Some((at, bounded));
                }
            } else if let Action::WholeTableDml { table, verb } = action {
                if !created.contains(table) {
                    bulk_dml.push((at, *verb, table.clone()));
                }
            }
            learn(
                action,
                &mut created,
                &mut set,
                &mut foreign_key_checks_off,
                knowledge,
            );
        }
    }
    if let Some((at, false)) = &first_lock {
        if options.dialect != Dialect::Sqlite {
            findings.push(finding(
                Code::NoLockTimeout,
                "this revision changes an existing table with no lock timeout: set one before its first schema change".into(),
                at,
                true,
            ));
        }
    }
    if script.transactional && locks_existing && options.dialect == Dialect::Postgresql {
        for (at, verb, table) in &bulk_dml {
            findings.push(finding(
                Code::DdlWithBulkDml,
                format!("{verb} of every row of `{table}` in the same transaction as a schema change: the change's lock is held until the {verb} commits"),
                at,
                true,
            ));
        }
    }
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

/// What an action tells about the schema the revisions leave behind.
fn learn(
    action: &Action,
    created: &mut HashSet<String>,
    set: &mut HashSet<String>,
    foreign_key_checks_off: &mut bool,
    knowledge: &mut Knowledge,
) {
    match action {
        Action::CreateTable { table, columns } => {
            created.insert(table.clone());
            for (column, data_type) in columns {
                knowledge
                    .column_types
                    .insert((table.clone(), column.clone()), data_type.clone());
            }
        }
        Action::AddColumn {
            table,
            column,
            data_type,
            ..
        } if !data_type.is_empty() => {
            knowledge
                .column_types
                .insert((table.clone(), column.clone()), data_type.clone());
        }
        Action::ChangeType {
            table,
            column,
            new_type,
            ..
        } => {
            let key = (table.clone(), column.clone());
            match new_type.is_empty() {
                true => knowledge.column_types.remove(&key),
                false => knowledge.column_types.insert(key, new_type.clone()),
            };
        }
        Action::AddCheck {
            table,
            name,
            not_null_of: Some(column),
            not_valid,
        } => {
            let key = (table.clone(), column.clone());
            match (not_valid, name) {
                (false, _) => {
                    knowledge.proven_not_null.insert(key);
                }
                (true, Some(name)) => {
                    knowledge.unvalidated_checks.insert(name.clone(), key);
                }
                (true, None) => {}
            }
        }
        Action::ValidateConstraint { name, .. } => {
            if let Some(key) = knowledge.unvalidated_checks.remove(name) {
                knowledge.proven_not_null.insert(key);
            }
        }
        Action::SetVariable { name, value } => {
            let name = name.rsplit('.').next().unwrap_or(name).to_string();
            if name == "foreign_key_checks" {
                let value = value.trim_matches('\'').to_ascii_lowercase();
                *foreign_key_checks_off = value == "0" || value == "off" || value == "false";
            }
            set.insert(name);
        }
        _ => {}
    }
}

/// Sorts `raw` into findings and allowed ones by the file's directives, and adds the
/// directives' own faults (no reason, unknown code).
fn apply_suppressions(script: &Script, raw: Vec<Finding>, result: &mut LintResult) {
    let first_of_file = result.findings.len();
    // Directives above the first section marker are the header's: they cover the file.
    let body_start = [
        script.sections.upgrade.as_ref(),
        script.sections.downgrade.as_ref(),
        script.sections.verify.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.first_line)
    .chain(
        script
            .sections
            .dialect_specific
            .iter()
            .map(|(_, _, s)| s.first_line),
    )
    .min()
    .unwrap_or(usize::MAX);
    let directives: Vec<(&Allow, Vec<Code>)> = script
        .allows
        .iter()
        .map(|allow| {
            let (codes, unknown) = suppress::codes(allow);
            let finding = |code: Code, message: String| Finding {
                code,
                revision: script.meta.revision.clone(),
                path: script.path.clone(),
                line: allow.line,
                column: 1,
                message,
                parsed: true,
                statement_line: allow.line,
            };
            if allow.reason.is_none() {
                result.findings.push(finding(
                    Code::AllowWithoutReason,
                    "this `retort:allow` has no reason; a suppression must say why the finding is safe".into(),
                ));
            }
            for word in unknown {
                result.findings.push(finding(
                    Code::AllowUnknownRule,
                    format!("`retort:allow` names `{word}`, which is no rule"),
                ));
            }
            (allow, codes)
        })
        .collect();
    // The directive that covers a finding: the header's, or the one right above its statement.
    let covering = |finding: &Finding| -> Option<&Allow> {
        directives
            .iter()
            .find(|(allow, codes)| {
                allow.reason.is_some()
                    && codes.contains(&finding.code)
                    && (allow.line < body_start || allow.above_line == Some(finding.statement_line))
            })
            .map(|(allow, _)| *allow)
    };
    for finding in raw {
        if finding.code == Code::NotParsed {
            result.not_parsed.push(finding);
            continue;
        }
        match covering(&finding).filter(|_| finding.code.can_be_allowed()) {
            Some(allow) => result.allowed.push(Allowed {
                reason: allow.reason.clone().unwrap_or_default(),
                allow_line: allow.line,
                finding,
            }),
            None => result.findings.push(finding),
        }
    }
    result.findings[first_of_file..].sort_by_key(|f| (f.line, f.column));
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::lint::version::VersionSource;
    use crate::script::parse_revision;

    /// A project that sets no lock or statement timeout (`lock_timeout = "0"`).
    fn unbounded() -> Timeouts {
        Timeouts {
            lock_timeout: std::time::Duration::ZERO,
            statement_timeout: std::time::Duration::ZERO,
            ..Timeouts::default()
        }
    }

    fn lint_text(text: &str) -> LintResult {
        let script = parse_revision(Path::new("v/b_x.sql"), text).unwrap();
        let options = LintOptions {
            dialect: Dialect::Postgresql,
            server: ServerVersion::parse(Dialect::Postgresql, "15", VersionSource::Flag).unwrap(),
            timeouts: unbounded(),
        };
        lint(
            &[Input {
                script: &script,
                report: true,
            }],
            &options,
        )
        .unwrap()
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, usize)> {
        findings.iter().map(|f| (f.code.id(), f.line)).collect()
    }

    #[test]
    fn an_allow_covers_the_whole_statement_below_its_comment_block_only() {
        let result = lint_text(
            "-- revision = \"b\"\n\n-- migrate:upgrade\nSET lock_timeout = '1s';\n\
             -- retort:allow RT113,RT154 reason=\"backfilled in b0\"\n-- another comment\n\
             ALTER TABLE users\n  DROP COLUMN a,\n  ALTER COLUMN b SET NOT NULL;\n\
             -- retort:allow RT153 reason=\"a blank line ends the block\"\n\nDROP TABLE t;\n",
        );
        assert_eq!(codes(&result.findings), vec![("RT153", 12)]);
        assert_eq!(
            result
                .allowed
                .iter()
                .map(|a| (a.finding.code.id(), a.finding.line, a.allow_line))
                .collect::<Vec<_>>(),
            vec![("RT154", 8, 5), ("RT113", 9, 5)]
        );
    }

    #[test]
    fn what_earlier_revisions_created_is_known_to_later_ones() {
        let a = parse_revision(
            Path::new("v/a.sql"),
            "-- revision = \"a\"\n\n-- migrate:upgrade\nCREATE TABLE t (c VARCHAR(10));\n\
             ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\n",
        )
        .unwrap();
        let b_text = "-- revision = \"b\"\n-- down_revision = \"a\"\n\n-- migrate:upgrade\n\
             SET lock_timeout = '1s';\nALTER TABLE t VALIDATE CONSTRAINT c_nn;\n\
             ALTER TABLE t ALTER COLUMN c SET NOT NULL;\nALTER TABLE t ALTER COLUMN c TYPE TEXT;\n";
        let b = parse_revision(Path::new("v/b.sql"), b_text).unwrap();
        let options = LintOptions {
            dialect: Dialect::Postgresql,
            server: ServerVersion::parse(Dialect::Postgresql, "15", VersionSource::Flag).unwrap(),
            timeouts: unbounded(),
        };
        let inputs = [
            Input {
                script: &a,
                report: false,
            },
            Input {
                script: &b,
                report: true,
            },
        ];
        let result = lint(&inputs, &options).unwrap();
        assert_eq!(codes(&result.findings), vec![]);
        // Judged for PostgreSQL 11, the validated check does not spare the scan.
        let old = LintOptions {
            server: ServerVersion::parse(Dialect::Postgresql, "11", VersionSource::Flag).unwrap(),
            ..options
        };
        let result = lint(&inputs, &old).unwrap();
        assert_eq!(codes(&result.findings), vec![("RT113", 7)]);
    }
}
