//! `current [--verbose] [--json]`: the database's current revision(s). Read-only: a missing
//! database file or version table means base and is never created.

use std::path::PathBuf;

use super::upgrade::{check_rows_known, version_table};
use super::Context;
use crate::cli::args::JsonArgs;
use crate::db::{self, version_table::read_heads};
use crate::error::Result;
use crate::project::Project;

/// A revision as the JSON documents show it (SPEC, Commands).
#[derive(Debug, serde::Serialize)]
pub(super) struct RevisionJson {
    #[serde(flatten)]
    info: crate::graph::RevisionInfo,
    message: Option<String>,
    path: Option<PathBuf>,
}

/// The JSON object of revision `id` (a full id of the graph).
pub(super) fn revision_json(project: &Project, id: &str) -> Option<RevisionJson> {
    let info = project.graph.info(id)?;
    let script = project.script(id);
    Some(RevisionJson {
        info,
        message: script.and_then(|s| s.message.clone()),
        path: script.map(|s| s.path.clone()),
    })
}

/// Alembic's `current` line: `<rev>[ (head)|(effective head)][ (branchpoint)][ (mergepoint)]`.
pub(super) fn current_line(project: &Project, id: &str) -> String {
    let mut line = id.to_string();
    if let Some(info) = project.graph.info(id) {
        if info.is_head {
            line.push_str(" (head)");
        } else if info.is_effective_head {
            line.push_str(" (effective head)");
        }
        if info.is_branch_point {
            line.push_str(" (branchpoint)");
        }
        if info.is_merge {
            line.push_str(" (mergepoint)");
        }
    }
    line
}

/// Alembic's verbose `log_entry` block (ALEMBIC-REFERENCE §5.1).
fn verbose_entry(project: &Project, id: &str) -> String {
    let Some(info) = project.graph.info(id) else {
        return id.to_string();
    };
    let mut text = format!("Rev: {id}");
    for (flag, label) in [
        (info.is_head, " (head)"),
        (info.is_branch_point, " (branchpoint)"),
        (info.is_merge, " (mergepoint)"),
    ] {
        if flag {
            text.push_str(label);
        }
    }
    text.push('\n');
    if info.down_revisions.len() > 1 {
        text.push_str(&format!("Merges: {}\n", info.down_revisions.join(", ")));
    } else {
        let parent = info
            .down_revisions
            .first()
            .cloned()
            .unwrap_or_else(|| "<base>".into());
        text.push_str(&format!("Parent: {parent}\n"));
    }
    if !info.depends_on.is_empty() {
        text.push_str(&format!(
            "Also depends on: {}\n",
            info.depends_on.join(", ")
        ));
    }
    if info.is_branch_point {
        text.push_str(&format!("Branches into: {}\n", info.children.join(", ")));
    }
    if !info.branch_labels.is_empty() {
        text.push_str(&format!(
            "Branch names: {}\n",
            info.branch_labels.join(", ")
        ));
    }
    if let Some(script) = project.script(id) {
        text.push_str(&format!("Path: {}\n", script.path.display()));
        text.push('\n');
        for line in script.message.as_deref().unwrap_or_default().lines() {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text
}

/// The version rows of the project's database, read without creating anything.
pub(super) fn read_rows(ctx: &Context, project: &Project) -> Result<Vec<String>> {
    let url = ctx.database_url(&project.config)?;
    let rows = match db::connect_existing(&url)? {
        Some(mut conn) => read_heads(
            conn.as_mut(),
            &version_table(&project.config, url.dialect()),
        )?,
        None => Vec::new(),
    };
    check_rows_known(project, &rows)?;
    Ok(rows)
}

pub(super) fn run(ctx: &Context, args: JsonArgs) -> Result<u8> {
    let project = ctx.project()?;
    let rows = read_rows(ctx, &project)?;
    let current = project.graph.current(&rows)?;
    let printer = &ctx.printer;
    if args.json {
        let revisions: Vec<_> = current
            .iter()
            .filter_map(|id| revision_json(&project, id))
            .collect();
        printer.json(&revisions);
        return Ok(0);
    }
    if printer.verbose {
        let url = ctx.database_url(&project.config)?;
        printer.data(format!("Current revision(s) for {url}:"));
        for id in &current {
            printer.data(verbose_entry(&project, id));
        }
    } else {
        for id in &current {
            printer.data(current_line(&project, id));
        }
    }
    Ok(0)
}
