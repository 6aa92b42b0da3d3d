//! `rebase REV... --onto TARGET`: moves revisions that no database has applied onto another
//! parent by rewriting their `down_revision` value, and nothing else in their files. For
//! revisions some database has applied, `merge` is the answer: their place in the graph is
//! history.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::DatabaseUrl;
use crate::db::version_table::{read_audit, read_heads, Direction};
use crate::db::{self, Connection};
use crate::error::{Error, Result};
use crate::graph::{RevSet, RevisionGraph};
use crate::ops::audit::version_table;
use crate::project::Project;
use crate::report::Outcome;
use crate::script::header::{down_revision_slot, DownRevisionSlot};
use crate::script::{self, Script};

/// The database whose applied revisions may not move.
pub(crate) enum AppliedCheck<'u> {
    Url(&'u DatabaseUrl),
    /// No URL is set.
    NoUrl,
}

/// One revision `rebase` re-parented.
#[derive(Debug, Serialize)]
pub(crate) struct Moved {
    pub revision: String,
    pub path: PathBuf,
    /// The parents it had.
    pub from: Vec<String>,
    /// The parent it has now; `None` for a base.
    pub onto: Option<String>,
}

/// What `rebase` did.
#[derive(Debug, Serialize)]
pub(crate) struct RebaseOutcome {
    pub moved: Vec<Moved>,
    /// Revisions already on the target, left alone.
    pub unchanged: Vec<String>,
    /// Why no database was checked for applied revisions (`--unchecked`).
    pub not_checked: Option<String>,
}

/// Re-parents each of `revisions` onto `onto` (`base` for a new root): their files' one
/// `down_revision` value is rewritten. Refuses merges, cycles, and revisions the database at
/// `database` has applied (with their descendants, which move along); when that database
/// cannot be read, refuses unless `unchecked`. Writes nothing unless every file can move.
pub(crate) fn rebase(
    project: &Project,
    revisions: &[String],
    onto: &str,
    database: AppliedCheck<'_>,
    unchecked: bool,
) -> Result<RebaseOutcome> {
    let graph = &project.graph;
    let target = match onto {
        "base" => None,
        _ => Some(graph.resolve_one(onto)?),
    };
    let mut moving = Vec::new();
    for rev in revisions {
        let index = graph.resolve_one(rev)?;
        if !moving.contains(&index) {
            moving.push(index);
        }
    }
    let mut not_checked = None;
    let applied = match applied(project, database) {
        Ok(applied) => Some(applied),
        Err(reason) if unchecked => {
            not_checked = Some(reason);
            None
        }
        Err(reason) => return Err(Error::RebaseUnchecked { reason }),
    };
    if let Some(applied) = &applied {
        // Descendants move with a revision: one applied below a moving revision pins it.
        let carried = graph.descendants(&moving);
        let pinned = carried.iter().find(|&i| applied.contains(i));
        if let Some(i) = pinned {
            return Err(Error::RebaseApplied {
                revision: graph.rev(i).id().to_string(),
            });
        }
    }
    let onto_id = target.map(|t| graph.rev(t).id().to_string());
    let mut outcome = RebaseOutcome {
        moved: Vec::new(),
        unchanged: Vec::new(),
        not_checked,
    };
    let mut scripts: Vec<_> = project.scripts.as_ref().clone();
    let mut writes = Vec::new();
    for &i in &moving {
        let script = &project.scripts[i];
        let from = script.meta.down_revisions.clone();
        if from.len() > 1 {
            return Err(Error::RebaseMerge {
                revision: script.meta.revision.clone(),
                parents: from,
            });
        }
        if from.first() == onto_id.as_ref() {
            outcome.unchanged.push(script.meta.revision.clone());
            continue;
        }
        let text = rewrite(script, onto_id.as_deref())?;
        scripts[i] = script::parse_revision(&script.path, &text)?;
        writes.push((script.path.clone(), text));
        outcome.moved.push(Moved {
            revision: script.meta.revision.clone(),
            path: script.path.clone(),
            from,
            onto: onto_id.clone(),
        });
    }
    // The graph the files would make: a cycle (onto a revision that moves along) is refused
    // with the circle it would draw.
    RevisionGraph::build(&scripts).map_err(|e| match e {
        Error::Cycle { .. } => Error::RebaseCycle {
            onto: onto.to_string(),
            cycle: Box::new(e),
        },
        other => other,
    })?;
    for (path, text) in writes {
        write_replacing(&path, &text)?;
    }
    Ok(outcome)
}

/// The file of `script` with its `down_revision` value set to `onto` (`""` for a base).
fn rewrite(script: &Script, onto: Option<&str>) -> Result<String> {
    let text = std::fs::read_to_string(&script.path)
        .map_err(|e| Error::io("read revision file", &script.path, e))?;
    let value = format!("\"{}\"", onto.unwrap_or(""));
    let slot = down_revision_slot(&text).ok_or_else(|| Error::RebaseUnreadableHeader {
        path: script.path.clone(),
    })?;
    Ok(match slot {
        DownRevisionSlot::Value(range) => {
            format!("{}{value}{}", &text[..range.start], &text[range.end..])
        }
        DownRevisionSlot::NewLine(at) => {
            // The file's own line ending.
            let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
            format!(
                "{}-- down_revision = {value}{eol}{}",
                &text[..at],
                &text[at..]
            )
        }
    })
}

/// Replaces `path` with `text` through a hidden temporary file in the same folder (which scans
/// skip), so a killed run leaves the old file or the new one, never half of one.
fn write_replacing(path: &std::path::Path, text: &str) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.rebase-{}", std::process::id()));
    let written = std::fs::write(&temp, text).and_then(|()| {
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the file's permissions; failing to is no reason to stop.
            let _ = std::fs::set_permissions(&temp, meta.permissions());
        }
        std::fs::rename(&temp, path)
    });
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io("replace revision file", path, e)
    })
}

/// The revisions the database has applied: those at or below its version rows, and those
/// whose last successful upgrade or downgrade in its audit trail is an upgrade. `Err` says why
/// it cannot tell.
fn applied(project: &Project, database: AppliedCheck<'_>) -> std::result::Result<RevSet, String> {
    let AppliedCheck::Url(url) = database else {
        return Err("no database URL is set".into());
    };
    let graph = &project.graph;
    let conn = match db::connect_existing(url) {
        Ok(Some(conn)) => conn,
        // A database that does not exist yet has applied nothing.
        Ok(None) => return Ok(RevSet::new(graph.len())),
        Err(e) => return Err(format!("database `{url}` cannot be reached: {e}")),
    };
    applied_in(project, conn).map_err(|e| format!("database `{url}` cannot be read: {e}"))
}

fn applied_in(project: &Project, mut conn: Box<dyn Connection>) -> Result<RevSet> {
    let graph = &project.graph;
    let table = version_table(&project.config, conn.dialect())?;
    let rows = read_heads(conn.as_mut(), &table)?;
    let known: Vec<usize> = rows.iter().filter_map(|r| graph.index_of(r)).collect();
    let mut applied = graph.ancestors(&known);
    if let Some(audit) = table.audit() {
        let mut last: HashMap<String, Direction> = HashMap::new();
        for entry in read_audit(conn.as_mut(), &audit)? {
            if entry.outcome == Outcome::Success
                && matches!(entry.direction, Direction::Upgrade | Direction::Downgrade)
            {
                last.insert(entry.revision, entry.direction);
            }
        }
        for (revision, direction) in last {
            if let (Direction::Upgrade, Some(i)) = (direction, graph.index_of(&revision)) {
                applied.insert(i);
            }
        }
    }
    Ok(applied)
}
