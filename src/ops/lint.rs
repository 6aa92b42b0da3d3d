//! `lint`: which revisions to lint (those the database has not applied, all, or those git says
//! changed), the dialect and server version to judge them for, then `lint::lint`. Read-only: it
//! reads the version table, takes no lock and changes nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::{DatabaseUrl, Dialect};
use crate::db::version_table::read_heads;
use crate::db::{self, Connection};
use crate::error::{Error, Result};
use crate::lint::version::{ServerVersion, VersionSource};
use crate::lint::{self, Input, LintOptions, LintReport};
use crate::ops::audit::version_table;
use crate::ops::check::pending;
use crate::project::Project;

/// Which revisions to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Those the database has not applied (every one when no database answers).
    Unapplied,
    All,
    /// Those whose files changed since this git reference (committed, staged, unstaged or new).
    ChangedSince(String),
    /// These (the upgrade a `--lint` gate is about to run).
    Revisions(HashSet<String>),
}

/// The database a lint reads (applied revisions, server version).
pub(crate) enum LintDatabase<'a> {
    None,
    /// Read when it answers; else every revision counts as unapplied, with a note.
    Url(&'a DatabaseUrl),
    /// A fleet's target: what is unapplied is this database's, so one that does not answer
    /// is an error (on the target's row), not a note.
    Target(&'a DatabaseUrl),
}

/// How to lint, as the command line resolved it.
pub(crate) struct LintSettings<'a> {
    pub selection: Selection,
    /// `--dialect`; else the database URL's.
    pub dialect: Option<Dialect>,
    /// `--server-version`, as written.
    pub server_version: Option<String>,
    pub database: LintDatabase<'a>,
}

/// Lints the revisions of `project` that `settings` selects.
pub(crate) fn lint(project: &Project, settings: LintSettings<'_>) -> Result<LintReport> {
    let mut notes = Vec::new();
    let url_dialect = match &settings.database {
        LintDatabase::Url(url) | LintDatabase::Target(url) => Some(url.dialect()),
        LintDatabase::None => None,
    };
    let dialect = settings
        .dialect
        .or(url_dialect)
        .ok_or(Error::LintDialectUnknown)?;
    let mut opened: Box<dyn Connection>;
    let conn: Option<&mut dyn Connection> = match settings.database {
        LintDatabase::None => None,
        LintDatabase::Target(url) => match db::connect_existing(url)? {
            Some(conn) => {
                opened = conn;
                Some(opened.as_mut())
            }
            None => {
                notes.push(format!(
                    "database `{url}` does not exist yet: no revision is applied"
                ));
                None
            }
        },
        LintDatabase::Url(url) => match db::connect_existing(url) {
            Ok(Some(conn)) => {
                opened = conn;
                Some(opened.as_mut())
            }
            Ok(None) => {
                notes.push(format!(
                    "database `{url}` does not exist yet: no revision is applied"
                ));
                None
            }
            Err(error) => {
                notes.push(format!(
                    "database `{url}` could not be reached ({error}): every revision counts as unapplied"
                ));
                None
            }
        },
    };
    let (server, rows) = match conn {
        Some(conn) if conn.dialect() == dialect => {
            let server = conn
                .server_version()
                .ok()
                .and_then(|v| ServerVersion::parse(dialect, &v, VersionSource::Database));
            let table = version_table(&project.config, dialect)?;
            (server, Some(read_heads(conn, &table)?))
        }
        _ => (None, None),
    };
    let server = match server {
        Some(server) => server,
        None => given_version(
            project,
            dialect,
            settings.server_version.as_deref(),
            &mut notes,
        )?,
    };
    let order = pending(project, &[])?;
    let selected: HashSet<String> = match &settings.selection {
        Selection::All => order.iter().cloned().collect(),
        Selection::Unapplied => match &rows {
            Some(rows) => pending(project, rows)?.into_iter().collect(),
            None => order.iter().cloned().collect(),
        },
        Selection::Revisions(ids) => ids.clone(),
        Selection::ChangedSince(reference) => {
            let changed =
                crate::git::changed_files(&project.config.root, reference).map_err(|detail| {
                    Error::LintGitFailed {
                        reference: reference.to_string(),
                        detail,
                    }
                })?;
            project
                .scripts
                .iter()
                .filter(|s| changed.contains(&canonical(&s.path)))
                .map(|s| s.meta.revision.clone())
                .collect()
        }
    };
    let by_id: std::collections::HashMap<&str, &crate::script::Script> = project
        .scripts
        .iter()
        .map(|s| (s.meta.revision.as_str(), s))
        .collect();
    let inputs: Vec<Input<'_>> = order
        .iter()
        .filter_map(|id| by_id.get(id.as_str()))
        .map(|script| Input {
            script,
            report: selected.contains(&script.meta.revision),
        })
        .collect();
    let linted: Vec<String> = inputs
        .iter()
        .filter(|i| i.report)
        .map(|i| i.script.meta.revision.clone())
        .collect();
    let options = LintOptions {
        dialect,
        server,
        timeouts: project.config.timeouts,
    };
    let result = lint::lint(&inputs, &options)?;
    let skipped_applied = match (&settings.selection, &rows) {
        (Selection::Unapplied, Some(_)) => order.len() - linted.len(),
        _ => 0,
    };
    Ok(LintReport {
        ok: result.findings.is_empty(),
        dialect: dialect.name(),
        server_version: server,
        linted,
        skipped_applied,
        notes,
        result,
        applied: rows,
    })
}

/// The server version the user gave (`--server-version`, then `[lint] server_version`), else
/// the assumed one, with a note saying so.
fn given_version(
    project: &Project,
    dialect: Dialect,
    flag: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<ServerVersion> {
    let given = flag
        .map(|v| (v, VersionSource::Flag, "--server-version"))
        .or_else(|| {
            project
                .config
                .lint_server_version
                .as_deref()
                .map(|v| (v, VersionSource::Config, "[lint] server_version"))
        });
    match given {
        Some((value, source, from)) => {
            ServerVersion::parse(dialect, value, source).ok_or_else(|| {
                Error::LintServerVersionInvalid {
                    value: value.to_string(),
                    from,
                }
            })
        }
        None => {
            let assumed = ServerVersion::assumed(dialect);
            if dialect != Dialect::Sqlite {
                notes.push(format!(
                    "no database answered and no server version was given: judged for {assumed}, the oldest the rules know; pass `--server-version` or set `[lint] server_version`"
                ));
            }
            Ok(assumed)
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
