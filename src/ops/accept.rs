//! `accept REV --reason`: records in the audit trail that an applied revision's changed file is
//! intended, so drift checks hold that file to its new checksum from then on.

use crate::config::url::SqliteFile;
use crate::config::DatabaseUrl;
use crate::config::Dialect;
use crate::db::version_table::{
    ensure_audit_details, read_heads, AuditDetails, AuditEntry, Direction, VersionTable,
};
use crate::db::{self, Connection, DbError};
use crate::error::{Error, Result};
use crate::ops::audit::version_table;
use crate::ops::check::applied_checksums;
use crate::project::Project;
use crate::report::Outcome;
use crate::script::checksum::{checksum, section_statements};
use crate::script::SectionKind;

/// What `accept` recorded.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Accepted {
    pub revision: String,
    pub path: std::path::PathBuf,
    pub previous_checksum: String,
    pub checksum: String,
    pub accepted_by: Option<String>,
    pub reason: String,
}

/// Accepts the changed file of the applied revision `argument` (any form naming one revision)
/// on the database of `url`, for `reason`. `os_user` is recorded when the database has no user.
pub(crate) fn accept(
    project: &Project,
    url: &DatabaseUrl,
    argument: &str,
    reason: &str,
    os_user: Option<String>,
) -> Result<Accepted> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::AcceptReasonEmpty);
    }
    let revision = match project.graph.resolve(argument)?.as_slice() {
        [one] => one.clone(),
        many => {
            return Err(Error::AcceptNeedsOneRevision {
                argument: argument.to_string(),
                revisions: many.to_vec(),
            })
        }
    };
    if let Some(SqliteFile::Missing(_)) = url.sqlite_file() {
        return Err(Error::AcceptNotApplied { revision });
    }
    let timeout = crate::settings::DEFAULT_MIGRATION_LOCK_WAIT;
    let table = version_table(&project.config, url.dialect())?;
    let lock = db::LockOptions::of(project.config.lock, &table);
    let mut conn = db::connect_for_run(url, timeout, &lock)?;
    let Some(audit) = table.audit() else {
        return Err(Error::AuditTrailOff {
            path: project.config.path.clone(),
        });
    };
    // Under the migration lock, so an audit table of before the `details` column gets it
    // from one session only.
    let key = table.lock_key();
    conn.lock(&key, timeout).map_err(|cause| {
        if cause.is_lock_timeout {
            Error::LockTimeout {
                waited: timeout,
                cause,
            }
        } else {
            Error::LockFailed { cause }
        }
    })?;
    let result = accept_locked(
        conn.as_mut(),
        project,
        &table,
        &audit,
        revision,
        reason,
        os_user,
    );
    // Releasing is best effort: the session ends right after, which releases it too.
    let _ = conn.unlock(&key);
    result
}

/// [`accept`] under the migration lock, in one transaction: the drift seen is the drift
/// accepted, even with a runner about.
fn accept_locked(
    conn: &mut dyn Connection,
    project: &Project,
    table: &VersionTable,
    audit: &VersionTable,
    revision: String,
    reason: &str,
    os_user: Option<String>,
) -> Result<Accepted> {
    let write_failed = |cause: DbError| Error::AuditWriteFailed {
        table: audit.display_name(),
        cause,
    };
    conn.begin().map_err(write_failed)?;
    let result = upgrade_audit_table(conn, audit)
        .map_err(write_failed)
        .and_then(|()| record(conn, project, table, audit, revision, reason, os_user));
    match result {
        Ok(accepted) => {
            conn.commit().map_err(write_failed)?;
            Ok(accepted)
        }
        Err(error) => {
            let _ = conn.rollback();
            Err(error)
        }
    }
}

/// Adds the `details` column to an existing audit table of before it, in the transaction
/// just begun.
fn upgrade_audit_table(conn: &mut dyn Connection, audit: &VersionTable) -> Result<(), DbError> {
    if !conn.table_exists(audit.schema.as_deref(), &audit.name)? {
        return Ok(());
    }
    let altered = ensure_audit_details(conn, audit)?;
    // MySQL's ALTER TABLE committed the transaction just begun (it held nothing yet).
    if altered.is_some() && conn.dialect() == Dialect::Mysql {
        conn.begin()?;
    }
    Ok(())
}

fn record(
    conn: &mut dyn Connection,
    project: &Project,
    table: &VersionTable,
    audit: &VersionTable,
    revision: String,
    reason: &str,
    os_user: Option<String>,
) -> Result<Accepted> {
    let Some(applied) = applied_checksums(conn, audit)?
        .into_iter()
        .find(|applied| applied.revision == revision)
    else {
        return Err(Error::AcceptNotApplied { revision });
    };
    let script = project
        .scripts
        .iter()
        .find(|s| s.meta.revision == revision)
        .ok_or_else(|| {
            Error::Internal(format!("the graph names `{revision}`, which has no file"))
        })?;
    let statements = section_statements(script, SectionKind::Upgrade, conn.dialect())?;
    let checksum = checksum(statements.iter().map(|s| s.sql.as_str()));
    if checksum == applied.checksum {
        return Err(Error::AcceptNotDrifted {
            revision,
            path: script.path.clone(),
            checksum,
        });
    }
    let rows = read_heads(conn, table)?;
    let accepted_by = conn.current_user().or(os_user);
    let entry = AuditEntry {
        id: 0,
        revision: revision.clone(),
        direction: Direction::Accept,
        heads_before: rows.clone(),
        heads_after: rows,
        checksum: Some(checksum.clone()),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: 0,
        outcome: Outcome::Success,
        error: Some(format!("was {}; {reason}", applied.checksum)),
        applied_by: accepted_by.clone(),
        details: AuditDetails {
            statements: AuditDetails::of_statements(
                statements.iter().map(|s| (s.sql.as_str(), s.line)),
            ),
            ..AuditDetails::default()
        },
    };
    conn.execute(&audit.insert_audit_sql(&entry))
        .map_err(|cause| Error::AuditWriteFailed {
            table: audit.display_name(),
            cause,
        })?;
    Ok(Accepted {
        revision,
        path: script.path.clone(),
        previous_checksum: applied.checksum,
        checksum,
        accepted_by,
        reason: reason.to_string(),
    })
}
