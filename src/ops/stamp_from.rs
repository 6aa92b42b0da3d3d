//! `stamp --from TOOL`: adopting a database another tool migrated. Its history table says
//! which versions ran; the revisions `import` wrote for them are a linear chain, so what to
//! stamp is the newest of them, once the history is clean and a prefix of the chain.

use serde::Serialize;

use crate::config::DatabaseUrl;
use crate::db;
use crate::error::{Error, Result};
use crate::import::{history, Tool, Version};
use crate::project::Project;

/// What `stamp --from` would stamp.
#[derive(Debug, Serialize)]
pub(crate) struct StampFromPlan {
    pub tool: Tool,
    /// The history table read; `None` when the database has none (nothing to adopt).
    pub table: Option<&'static str>,
    /// The imported revisions the history applied, in order.
    pub applied: Vec<String>,
    /// The revision to stamp: the last of `applied`.
    pub revision: Option<String>,
}

/// Reads `tool`'s history in the database at `url` and matches it with the revisions imported
/// from that tool. Refuses a failed or dirty history, versions the import does not have, and a
/// history that skipped a version below one it applied.
pub(crate) fn plan(project: &Project, url: &DatabaseUrl, tool: Tool) -> Result<StampFromPlan> {
    let mut conn = db::connect_existing(url)?.ok_or_else(|| Error::StampFromNoDatabase {
        url: url.to_string(),
    })?;
    let (table, found) = history::read(conn.as_mut(), tool)?;
    let mut plan = StampFromPlan {
        tool,
        table: found.as_ref().map(|_| table),
        applied: Vec::new(),
        revision: None,
    };
    let Some(found) = found else {
        return Ok(plan);
    };
    // The imported chain, in version order.
    let mut chain: Vec<(Version, &str)> = project
        .graph
        .ids()
        .filter_map(|id| Some((tool.version_of_id(id)?, id)))
        .collect();
    chain.sort();
    let unknown: Vec<String> = found
        .applied
        .iter()
        .chain(found.current.iter())
        .filter(|v| !chain.iter().any(|(c, _)| c == *v))
        .map(Version::to_string)
        .collect();
    if !unknown.is_empty() {
        return Err(Error::HistoryUnknownVersions {
            table: table.into(),
            versions: unknown,
        });
    }
    let up_to = found.current.as_ref().or(found.baseline.as_ref());
    let is_applied =
        |v: &Version| found.applied.contains(v) || up_to.is_some_and(|limit| v <= limit);
    let Some(last) = chain.iter().rposition(|(v, _)| is_applied(v)) else {
        return Ok(plan);
    };
    if let Some((missing, _)) = chain[..last].iter().find(|(v, _)| !is_applied(v)) {
        return Err(Error::HistoryOutOfOrder {
            table: table.into(),
            applied: chain[last].0.to_string(),
            missing: missing.to_string(),
        });
    }
    plan.applied = chain[..=last]
        .iter()
        .map(|(_, id)| id.to_string())
        .collect();
    plan.revision = plan.applied.last().cloned();
    Ok(plan)
}
