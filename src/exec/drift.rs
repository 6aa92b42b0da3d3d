//! Drift: applied revisions whose SQL changed since they ran. The audit trail keeps the
//! checksum of the SQL each step ran (see [`crate::script::checksum`]); a revision is applied
//! when its last successful upgrade or downgrade row is an upgrade.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::db::version_table::{read_audit, Outcome, VersionTable};
use crate::db::Connection;
use crate::error::Result;
use crate::graph::StepKind;
use crate::project::Project;
use crate::script::checksum::{checksum, section_statements};
use crate::script::{Script, SectionKind};

/// An applied revision whose file no longer holds the SQL that ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    pub revision: String,
    pub path: PathBuf,
    /// The checksum recorded when it was applied.
    pub applied_checksum: String,
    /// The checksum of the file's upgrade SQL now.
    pub current_checksum: String,
    /// When it was applied (RFC 3339).
    pub applied_at: String,
}

/// Every drifted revision of `project`, in the order they were applied. `table` is the version
/// table; the audit table beside it is read, never created.
pub fn drift(
    conn: &mut dyn Connection,
    project: &Project,
    table: &VersionTable,
) -> Result<Vec<Drift>> {
    drift_in(conn, &project.scripts, table)
}

/// [`drift`] over plain scripts.
pub fn drift_in(
    conn: &mut dyn Connection,
    scripts: &[Script],
    table: &VersionTable,
) -> Result<Vec<Drift>> {
    let audit = read_audit(conn, &table.audit())?;
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in audit.iter().enumerate() {
        if entry.outcome == Outcome::Success && entry.direction != StepKind::Stamp {
            last.insert(entry.revision.as_str(), i);
        }
    }
    let mut applied: Vec<usize> = last
        .values()
        .copied()
        .filter(|&i| audit[i].direction == StepKind::Upgrade)
        .collect();
    applied.sort_unstable();
    let dialect = conn.dialect();
    let mut drifted = Vec::new();
    for i in applied {
        let entry = &audit[i];
        let (Some(recorded), Some(script)) = (
            &entry.checksum,
            scripts.iter().find(|s| s.revision == entry.revision),
        ) else {
            continue;
        };
        let statements = section_statements(script, SectionKind::Upgrade, dialect)?;
        let now = checksum(statements.iter().map(|s| s.sql.as_str()));
        if &now != recorded {
            drifted.push(Drift {
                revision: entry.revision.clone(),
                path: script.path.clone(),
                applied_checksum: recorded.clone(),
                current_checksum: now,
                applied_at: entry.started_at.clone(),
            });
        }
    }
    Ok(drifted)
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::super::live::{run_live, LiveOptions};
    use super::super::tests::{chain_plan, script};
    use super::super::Silent;
    use super::*;
    use crate::config::Dialect;
    use crate::db::sqlite::SqliteConnection;

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
            lock_timeout: std::time::Duration::from_secs(1),
            rehearse: false,
            os_user: None,
        };
        let plan = chain_plan(None, &["a", "b"]);
        let plan_from = |_: &[String]| Ok(plan.clone());
        run_live(&mut conn, &options, &scripts, &plan_from, &mut Silent)
            .unwrap()
            .into_result()
            .unwrap();
        assert!(drift_in(&mut conn, &scripts, &table).unwrap().is_empty());
        // A comment or line-ending change is not drift; a changed statement is.
        scripts[0].sections.upgrade.as_mut().unwrap().sql =
            "-- note\r\nCREATE TABLE t1 (x INTEGER);\r\n".into();
        assert!(drift_in(&mut conn, &scripts, &table).unwrap().is_empty());
        scripts[1].sections.upgrade.as_mut().unwrap().sql = "CREATE TABLE t2 (y TEXT)".into();
        let found = drift_in(&mut conn, &scripts, &table).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].revision, "b");
        assert_eq!(found[0].path, PathBuf::from("versions/b_x.sql"));
    }
}
