//! How revisions are shown: Alembic's one-line (`_head_only`) and verbose (`log_entry`)
//! formats, and the JSON revision object (docs/json.md). Shared by every command listing revisions.

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::graph::RevisionInfo;
use crate::script::RevisionMeta;

/// A revision as it is shown: what its file declares, with the branch labels the graph
/// propagates to it (as Alembic shows them), where the file is, and what the graph derives.
/// Serialized, it is the revision object of `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct Shown<'a> {
    #[serde(flatten)]
    pub meta: RevisionMeta,
    #[serde(serialize_with = "display_path")]
    pub path: &'a Path,
    #[serde(flatten)]
    pub info: RevisionInfo,
}

/// A revision in `--json` output (docs/json.md#the-revision-object).
#[derive(Debug, Clone, Serialize)]
pub struct RevisionJson<'a> {
    #[serde(flatten)]
    pub shown: Shown<'a>,
    /// Present only where the command knows the database (`history -i`, `current`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_current: Option<bool>,
}

fn display_path<S: Serializer>(path: &&Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&path.display())
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

impl Shown<'_> {
    /// Alembic's `doc`: the message, or `empty message`.
    fn doc(&self) -> &str {
        self.meta.message.as_deref().unwrap_or("empty message")
    }

    /// `<base>` or the comma-joined `down_revision`s.
    fn down(&self) -> String {
        if self.meta.down_revisions.is_empty() {
            "<base>".into()
        } else {
            self.meta.down_revisions.join(", ")
        }
    }

    /// One line: `[<down> [(<deps>)] -> ]<rev>[ (<labels>)][ (head)|(effective head)][ (current)]
    /// [ (branchpoint)][ (mergepoint)][, <doc>]`.
    pub fn line(&self, parts: LineParts) -> String {
        let (meta, info) = (&self.meta, &self.info);
        let mut text = meta.revision.clone();
        if parts.parents {
            text = if meta.depends_on.is_empty() {
                format!("{} -> {text}", self.down())
            } else {
                format!("{} ({}) -> {text}", self.down(), meta.depends_on.join(", "))
            };
        }
        if parts.branches && !meta.branch_labels.is_empty() {
            text.push_str(&format!(" ({})", meta.branch_labels.join(", ")));
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
        let (meta, info) = (&self.meta, &self.info);
        let mut out = format!(
            "Rev: {}{}{}{}{}\n",
            meta.revision,
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
        if !meta.depends_on.is_empty() {
            out.push_str(&format!(
                "Also depends on: {}\n",
                meta.depends_on.join(", ")
            ));
        }
        if info.is_branch_point {
            out.push_str(&format!("Branches into: {}\n", info.children.join(", ")));
        }
        if !meta.branch_labels.is_empty() {
            out.push_str(&format!(
                "Branch names: {}\n",
                meta.branch_labels.join(", ")
            ));
        }
        out.push_str(&format!("Path: {}\n\n", self.path.display()));
        // Alembic prints the revision's docstring: message, then the id, parents and date.
        let mut doc = vec![self.doc().to_string(), String::new()];
        doc.push(format!("Revision ID: {}", meta.revision));
        doc.push(format!("Revises: {}", meta.down_revisions.join(", ")));
        if let Some(date) = &meta.create_date {
            doc.push(format!("Create Date: {date}"));
        }
        for line in doc {
            out.push_str(&format!("    {line}\n"));
        }
        out
    }
}
