//! `check`: every revision file and the graph, all problems at once; against a database, also
//! version rows no file defines and applied revisions whose SQL changed since they ran (drift).
//! Read-only.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{Config, DatabaseUrl};
use crate::db::audit_details::StatementChecksum;
use crate::db::version_table::{read_audit, read_heads, AuditEntry, Direction, VersionTable};
use crate::db::{self, Connection};
use crate::error::{Drift, Error, Result};
use crate::ops::audit::version_table;
use crate::ops::schema::{check_schema_file, DriftReport, SchemaFileCheck};
use crate::ops::statement_diff::statement_changes;
use crate::output::error_paragraph;
use crate::project::Project;
use crate::report::Outcome;
use crate::report::StepKind;
use crate::script::checksum::{checksum, section_statements};
use crate::script::{self, Script, SectionKind};

/// What `check` found.
#[derive(Debug, Default, Serialize)]
pub(crate) struct CheckOutcome {
    pub ok: bool,
    pub revisions: usize,
    pub heads: Vec<String>,
    /// Faults that make commands fail: bad files, graph errors, drift.
    pub problems: Vec<String>,
    /// Worth knowing, not wrong: several heads, irreversible revisions, file-name mismatches.
    pub warnings: Vec<String>,
    /// `--schema`: the database's schema against the one its applied revisions build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<DriftReport>,
    /// `--schema-file`: the file against what the migrations build from empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_file: Option<SchemaFileCheck>,
}

/// `check --schema`: where to build the expected schema, and how long to wait for the lock.
pub(crate) struct SchemaCheck<'a> {
    /// `--schema`: compare the live schema.
    pub live: bool,
    /// `--schema-file PATH`: compare the file with what the migrations build.
    pub file: Option<&'a std::path::Path>,
    pub dev_url: Option<&'a DatabaseUrl>,
    pub lock_timeout: std::time::Duration,
}

/// The database `check` compares the files with.
pub(crate) enum CheckDatabase<'c> {
    /// None asked for: the files only.
    Skipped,
    /// Asked for, but no URL is set (a warning says drift was not checked).
    Unset,
    Url(&'c DatabaseUrl),
    Connection(&'c mut dyn Connection),
}

/// Problems and warnings about a loaded project and its database.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// Scans every revision file of `config` (a bad file is a problem, not a stop), builds the
/// graph and, when the files are sound, checks `database` against them. `strict` (a CI gate)
/// makes several heads and a database that is not up to date problems.
pub(crate) fn check(
    config: Config,
    database: CheckDatabase<'_>,
    strict: bool,
    schema: Option<SchemaCheck<'_>>,
) -> Result<CheckOutcome> {
    crate::project::require_script_location(&config)?;
    let scan = script::scan_all(
        &config.version_locations,
        config.recursive_version_locations,
        script::cache::dir_for(&config.script_location).as_deref(),
    )?;
    // Files are named `<revision>_<slug>.sql`: what an unreadable one would have declared.
    let unreadable: Vec<String> = scan
        .errors
        .iter()
        .filter_map(Error::revision_file)
        .filter_map(|path| path.file_name()?.to_str().map(String::from))
        .collect();
    let declared_by_unreadable = |revision: &str| {
        unreadable.iter().any(|name| {
            name.strip_prefix(revision)
                .is_some_and(|rest| rest.starts_with('_') || rest == ".sql")
        })
    };
    let mut outcome = CheckOutcome {
        revisions: scan.scripts.len() + scan.errors.len(),
        problems: scan.errors.iter().map(problem).collect(),
        warnings: scan
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.path.display(), w.message))
            .collect(),
        ..CheckOutcome::default()
    };
    match Project::from_scripts(config, scan.scripts, Vec::new()) {
        Ok(project) => {
            outcome.heads = project
                .graph
                .heads()
                .into_iter()
                .map(String::from)
                .collect();
            // Against a database only when the files are sound: drift of a broken project
            // would say nothing.
            let database = if outcome.problems.is_empty() {
                database
            } else {
                CheckDatabase::Skipped
            };
            let url = match &database {
                CheckDatabase::Url(url) => Some(*url),
                _ => None,
            };
            let found = findings(&project, database, strict)?;
            outcome.problems.extend(found.problems);
            outcome.warnings.extend(found.warnings);
            let schema = schema.filter(|_| outcome.problems.is_empty());
            if let (Some(url), Some(schema)) = (url, &schema) {
                if let Some(path) = schema.file {
                    let file = check_schema_file(
                        &project,
                        url,
                        schema.dev_url,
                        path,
                        schema.lock_timeout,
                    )?;
                    if !file.ok {
                        outcome.problems.push(problem(&Error::SchemaFileDiffers {
                            path: path.to_path_buf(),
                        }));
                    }
                    outcome.schema_file = Some(file);
                }
            }
            if let (Some(url), Some(schema)) = (url, schema.filter(|s| s.live)) {
                let report =
                    crate::ops::schema::drift(&project, url, schema.dev_url, schema.lock_timeout)?;
                outcome.problems.extend(
                    report
                        .differences
                        .iter()
                        .map(|d| format!("schema drift: {d}")),
                );
                outcome.schema = Some(report);
            }
        }
        // The file that could not be read, reported above, is the missing parent.
        Err(Error::MissingDownRevision { parent, .. }) if declared_by_unreadable(&parent) => {}
        Err(e) => outcome.problems.push(problem(&e)),
    }
    outcome.ok = outcome.problems.is_empty();
    Ok(outcome)
}

/// An error as a problem line, rendered as every error is.
fn problem(err: &Error) -> String {
    error_paragraph(err, "hint:")
}

/// The findings about a valid project: its graph's warnings and, for a database, version rows
/// no file defines and drift. What `Migrator::check` reports. `strict`: several heads and
/// pending revisions are problems.
pub(crate) fn findings(
    project: &Project,
    database: CheckDatabase<'_>,
    strict: bool,
) -> Result<Findings> {
    let located = |(path, err): &(PathBuf, Error)| format!("{}: {}", path.display(), problem(err));
    let mut found = Findings {
        problems: project.graph.name_problems().iter().map(located).collect(),
        warnings: irreversible_warnings(project),
    };
    found
        .warnings
        .extend(project.graph.untargetable_labels().iter().map(located));
    if let Some(heads) = several_heads(project) {
        match strict {
            true => found.problems.push(heads),
            false => found.warnings.insert(0, heads),
        }
    }
    // A gate on pending revisions: what `upgrade heads` would run from `rows`.
    let gate_pending = |found: &mut Findings, rows: &[String]| -> Result<()> {
        let pending = pending(project, rows)?;
        if strict && !pending.is_empty() {
            found
                .problems
                .push(problem(&Error::NotUpToDate { pending }));
        }
        Ok(())
    };
    let mut opened: Box<dyn Connection>;
    let (conn, shown): (&mut dyn Connection, String) = match database {
        CheckDatabase::Skipped => return Ok(found),
        CheckDatabase::Unset => {
            found
                .warnings
                .push("no database URL: drift was not checked".into());
            return Ok(found);
        }
        CheckDatabase::Url(url) => match db::connect_existing(url)? {
            Some(conn) => {
                opened = conn;
                (opened.as_mut(), format!("`{url}`"))
            }
            None => {
                found.warnings.push(format!(
                    "database `{url}` does not exist yet: nothing applied to check"
                ));
                gate_pending(&mut found, &[])?;
                return Ok(found);
            }
        },
        CheckDatabase::Connection(conn) => (conn, "the database".to_string()),
    };
    let table = version_table(&project.config, conn.dialect())?;
    let rows = read_heads(conn, &table)?;
    match project.graph.current(&rows) {
        Ok(_) => gate_pending(&mut found, &rows)?,
        Err(e) => found
            .problems
            .push(format!("the version table of {shown}: {e}")),
    }
    let Some(audit) = table.audit() else {
        found.warnings.push(
            "drift detection needs the audit table, which `audit_table = false` turns off".into(),
        );
        return Ok(found);
    };
    for d in drift(conn, &project.scripts, &audit)? {
        found.problems.push(d.to_string());
    }
    Ok(found)
}

/// The status of the database of `url` and its drifted revisions, read on one session
/// without creating anything (a fleet's `status` asks it of every target, where a second
/// connection per target would be most of the time).
pub(crate) fn status_and_drift(
    project: &Project,
    url: &DatabaseUrl,
) -> Result<(crate::migrator::Status, Vec<Drift>)> {
    let table = version_table(&project.config, url.dialect())?;
    let (rows, drifted) = match db::connect_existing(url)? {
        Some(mut conn) => {
            let rows = read_heads(conn.as_mut(), &table)?;
            crate::migrator::check_rows_known(project, &rows)?;
            let drifted = match table.audit() {
                Some(audit) => drift(conn.as_mut(), &project.scripts, &audit)?,
                None => Vec::new(),
            };
            (rows, drifted)
        }
        None => (Vec::new(), Vec::new()),
    };
    let pending = pending(project, &rows)?;
    let status = crate::migrator::Status {
        current: project.graph.current(&rows)?,
        heads: project
            .graph
            .real_heads()
            .into_iter()
            .map(String::from)
            .collect(),
        up_to_date: pending.is_empty(),
        pending,
    };
    Ok((status, drifted))
}

/// The revisions `upgrade heads` would apply to a database at version rows `rows`, in order.
pub(crate) fn pending(project: &Project, rows: &[String]) -> Result<Vec<String>> {
    let plan = project.graph.plan_upgrade(rows, "heads")?;
    Ok(plan
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Upgrade)
        .filter_map(|s| s.revision.clone())
        .collect())
}

/// A graph with several heads, worth a warning (a problem under `check --strict`).
fn several_heads(project: &Project) -> Option<String> {
    let heads = project.graph.heads();
    (heads.len() > 1).then(|| {
        format!(
            "{} heads ({}): `upgrade head` will fail; merge them with `retort merge heads` or target `heads`",
            heads.len(),
            heads.join(", ")
        )
    })
}

/// Revisions without a downgrade section, worth a warning.
fn irreversible_warnings(project: &Project) -> Vec<String> {
    project
        .scripts
        .iter()
        .filter(|script| !script.sections.is_reversible())
        .map(|script| {
            format!(
                "revision `{}` ({}) has no downgrade section: downgrades through it are refused",
                script.meta.revision,
                script.path.display()
            )
        })
        .collect()
}

/// Every drifted revision among `scripts`, in the order they were applied. The audit trail
/// keeps the checksum of the SQL each step ran (see [`checksum`]); a revision is applied when
/// its last successful upgrade or downgrade row is an upgrade, and an `accept` row after that
/// upgrade replaces the checksum it ran with. `audit` is the audit table, read, never created.
pub(crate) fn drift(
    conn: &mut dyn Connection,
    scripts: &[Script],
    audit: &VersionTable,
) -> Result<Vec<Drift>> {
    let dialect = conn.dialect();
    let mut drifted = Vec::new();
    for applied in applied_checksums(conn, audit)? {
        let Some(script) = scripts.iter().find(|s| s.meta.revision == applied.revision) else {
            continue;
        };
        let statements = section_statements(script, SectionKind::Upgrade, dialect)?;
        let now = checksum(statements.iter().map(|s| s.sql.as_str()));
        if now != applied.checksum {
            drifted.push(Drift {
                statements: applied
                    .statements
                    .as_deref()
                    .map(|recorded| statement_changes(recorded, &statements)),
                revision: applied.revision,
                path: script.path.clone(),
                applied_checksum: applied.checksum,
                current_checksum: now,
                applied_at: applied.applied_at,
            });
        }
    }
    Ok(drifted)
}

/// An applied revision and the checksum its file is held to.
#[derive(Debug)]
pub(crate) struct AppliedChecksum {
    pub revision: String,
    /// Of the SQL that ran, or of the last `accept`.
    pub checksum: String,
    pub applied_at: String,
    /// The statements of the row that recorded `checksum`; `None` when that row predates
    /// statement checksums.
    pub statements: Option<Vec<StatementChecksum>>,
}

/// Every applied revision with a recorded checksum, in the order they were applied.
pub(crate) fn applied_checksums(
    conn: &mut dyn Connection,
    audit: &VersionTable,
) -> Result<Vec<AppliedChecksum>> {
    let audit = read_audit(conn, audit)?;
    // Per revision: the index of its last successful upgrade or downgrade, and the checksum
    // it is held to.
    // it is held to (of that row or of a later `accept` row).
    let mut last: HashMap<&str, (usize, &AuditEntry)> = HashMap::new();
    for (i, entry) in audit.iter().enumerate() {
        if entry.outcome != Outcome::Success {
            continue;
        }
        match entry.direction {
            Direction::Upgrade | Direction::Downgrade => {
                last.insert(&entry.revision, (i, entry));
            }
            Direction::Accept => {
                if let Some((_, held_to)) = last.get_mut(entry.revision.as_str()) {
                    *held_to = entry;
                }
            }
            Direction::Stamp => {}
        }
    }
    let mut applied: Vec<(usize, &AuditEntry, &str)> = last
        .into_values()
        .filter(|&(i, _)| audit[i].direction == Direction::Upgrade)
        .filter_map(|(i, held_to)| Some((i, held_to, held_to.checksum.as_deref()?)))
        .collect();
    applied.sort_unstable_by_key(|&(i, _, _)| i);
    Ok(applied
        .into_iter()
        .map(|(i, held_to, checksum)| AppliedChecksum {
            revision: audit[i].revision.clone(),
            checksum: checksum.to_string(),
            applied_at: audit[i].started_at.clone(),
            statements: recorded_statements(held_to, checksum),
        })
        .collect())
}

/// The statements `entry` recorded; an empty section records none, which its checksum tells
/// apart from a row of before statement checksums.
fn recorded_statements(entry: &AuditEntry, checksum: &str) -> Option<Vec<StatementChecksum>> {
    let statements = &entry.details.statements;
    (!statements.is_empty() || checksum == self::checksum([])).then(|| statements.clone())
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Dialect;
    use crate::db::sqlite::SqliteConnection;
    use crate::exec::live::{run_live, LiveOptions};
    use crate::exec::tests::{chain_plan, script};
    use crate::exec::Silent;

    #[test]
    fn an_edited_applied_revision_is_reported_with_its_file() {
        let table = VersionTable::new(Dialect::Sqlite, None, "retort_version");
        let mut scripts = vec![
            script("a", &[], "CREATE TABLE t1 (x INTEGER)", None),
            script("b", &["a"], "CREATE TABLE t2 (x INTEGER)", None),
        ];
        let mut conn = SqliteConnection::open_path(None, true).unwrap();
        let options = LiveOptions {
            table: table.clone(),
            migration_lock_wait: std::time::Duration::from_secs(1),
            timeouts: crate::config::Timeouts::default(),
            rehearse: false,
            os_user: None,
            close_interrupted: false,
            count_rows: None,
        };
        let plan = chain_plan(None, &["a", "b"]);
        let plan_from = |_: &[String]| Ok(plan.clone());
        run_live(&mut conn, &options, &scripts, &plan_from, None, &mut Silent).unwrap();
        let audit = table.audit().unwrap();
        assert!(drift(&mut conn, &scripts, &audit).unwrap().is_empty());
        // A comment or line-ending change is not drift; a changed statement is.
        scripts[0].sections.upgrade.as_mut().unwrap().sql =
            "-- note\r\nCREATE TABLE t1 (x INTEGER);\r\n".into();
        assert!(drift(&mut conn, &scripts, &audit).unwrap().is_empty());
        scripts[1].sections.upgrade.as_mut().unwrap().sql = "CREATE TABLE t2 (y TEXT)".into();
        let found = drift(&mut conn, &scripts, &audit).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].revision, "b");
        assert_eq!(found[0].path, PathBuf::from("versions/b_x.sql"));
    }
}
