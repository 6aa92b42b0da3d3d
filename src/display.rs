//! How revisions are shown: Alembic's one-line (`_head_only`) and verbose (`log_entry`)
//! formats, and the JSON revision object (docs/json.md). Shared by every command listing revisions.

use std::path::Path;

use serde::Serialize;

use crate::graph::RevisionInfo;
use crate::project::Project;

/// A revision in `--json` output (docs/json.md#the-revision-object).
#[derive(Debug, Clone, Serialize)]
pub struct RevisionJson {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: Option<String>,
    pub create_date: Option<String>,
    pub path: String,
    pub is_head: bool,
    pub is_effective_head: bool,
    pub is_base: bool,
    pub is_merge: bool,
    pub is_branch_point: bool,
    pub children: Vec<String>,
    /// Present only where the command knows the database (`history -i`, `current`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_current: Option<bool>,
}

/// Which parts of the one-line format to show (Alembic `_head_only` flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineParts {
    pub branches: bool,
    pub doc: bool,
    pub parents: bool,
    pub tree_indicators: bool,
    pub current: bool,
}

/// A revision as the display functions need it.
pub struct Shown<'a> {
    pub info: RevisionInfo,
    pub message: Option<&'a str>,
    pub create_date: Option<&'a str>,
    pub path: &'a Path,
}

impl Project {
    /// The display view of a revision (full id); `None` for an unknown id.
    pub fn shown(&self, id: &str) -> Option<Shown<'_>> {
        let info = self.graph.info(id)?;
        let script = self.script(id)?;
        Some(Shown {
            info,
            message: script.message.as_deref(),
            create_date: script.create_date.as_deref(),
            path: &script.path,
        })
    }

    /// The JSON object of a revision; `current` is set where the database is known.
    pub fn revision_json(&self, id: &str, current: Option<bool>) -> Option<RevisionJson> {
        let shown = self.shown(id)?;
        let info = shown.info;
        Some(RevisionJson {
            revision: info.revision,
            down_revisions: info.down_revisions,
            branch_labels: info.branch_labels,
            depends_on: info.depends_on,
            message: shown.message.map(String::from),
            create_date: shown.create_date.map(String::from),
            path: shown.path.display().to_string(),
            is_head: info.is_head,
            is_effective_head: info.is_effective_head,
            is_base: info.is_base,
            is_merge: info.is_merge,
            is_branch_point: info.is_branch_point,
            children: info.children,
            is_current: current,
        })
    }
}

impl Shown<'_> {
    /// Alembic's `doc`: the message, or `empty message`.
    fn doc(&self) -> &str {
        self.message.unwrap_or("empty message")
    }

    /// `<base>` or the comma-joined `down_revision`s.
    fn down(&self) -> String {
        if self.info.down_revisions.is_empty() {
            "<base>".into()
        } else {
            self.info.down_revisions.join(", ")
        }
    }

    /// One line: `[<down> [(<deps>)] -> ]<rev>[ (<labels>)][ (head)|(effective head)][ (current)]
    /// [ (branchpoint)][ (mergepoint)][, <doc>]`.
    pub fn line(&self, parts: LineParts) -> String {
        let info = &self.info;
        let mut text = info.revision.clone();
        if parts.parents {
            text = if info.depends_on.is_empty() {
                format!("{} -> {text}", self.down())
            } else {
                format!("{} ({}) -> {text}", self.down(), info.depends_on.join(", "))
            };
        }
        if parts.branches && !info.branch_labels.is_empty() {
            text.push_str(&format!(" ({})", info.branch_labels.join(", ")));
        }
        if info.is_head {
            text.push_str(" (head)");
        }
        if info.is_effective_head {
            text.push_str(" (effective head)");
        }
        if parts.current {
            text.push_str(" (current)");
        }
        if parts.tree_indicators {
            if info.is_branch_point {
                text.push_str(" (branchpoint)");
            }
            if info.is_merge {
                text.push_str(" (mergepoint)");
            }
        }
        if parts.doc {
            text.push_str(&format!(", {}", self.doc()));
        }
        text
    }

    /// The verbose entry (Alembic `log_entry`), ending with an empty line.
    pub fn entry(&self, current: bool) -> String {
        let info = &self.info;
        let mut out = format!(
            "Rev: {}{}{}{}{}\n",
            info.revision,
            if info.children.is_empty() {
                " (head)"
            } else {
                ""
            },
            if info.is_branch_point {
                " (branchpoint)"
            } else {
                ""
            },
            if info.is_merge { " (mergepoint)" } else { "" },
            if current { " (current)" } else { "" },
        );
        if info.is_merge {
            out.push_str(&format!("Merges: {}\n", self.down()));
        } else {
            out.push_str(&format!("Parent: {}\n", self.down()));
        }
        if !info.depends_on.is_empty() {
            out.push_str(&format!(
                "Also depends on: {}\n",
                info.depends_on.join(", ")
            ));
        }
        if info.is_branch_point {
            out.push_str(&format!("Branches into: {}\n", info.children.join(", ")));
        }
        if !info.branch_labels.is_empty() {
            out.push_str(&format!(
                "Branch names: {}\n",
                info.branch_labels.join(", ")
            ));
        }
        out.push_str(&format!("Path: {}\n\n", self.path.display()));
        // Alembic prints the revision's docstring: message, then the id, parents and date.
        let mut doc = vec![self.doc().to_string(), String::new()];
        doc.push(format!("Revision ID: {}", info.revision));
        doc.push(format!("Revises: {}", info.down_revisions.join(", ")));
        if let Some(date) = self.create_date {
            doc.push(format!("Create Date: {date}"));
        }
        for line in doc {
            out.push_str(&format!("    {line}\n"));
        }
        out
    }
}
