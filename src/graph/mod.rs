//! The revision graph (Alembic's `RevisionMap`): heads, bases, branch points, merges, labels,
//! dependencies, validation, target resolution and the planner. Pure: no I/O, no database.
//!
//! petgraph holds the edges; callers speak in revision ids and never see node indices.

pub mod plan;
pub mod target;

pub use plan::{Plan, Step, StepKind, VersionOp};

use std::path::PathBuf;

use crate::error::{Error, Result};

/// What the graph needs of a revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSpec {
    pub id: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    /// As written: ids, unique prefixes or branch labels.
    pub depends_on: Vec<String>,
    /// Only for messages.
    pub path: PathBuf,
}

/// The validated revision graph. Revision `i` is the `i`-th spec given to `build` (load order).
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    ids: Vec<String>,
}

impl RevisionGraph {
    /// Builds and validates the graph: duplicate ids, missing parents or dependencies, cycles,
    /// label clashes. Specs must be in load order.
    pub fn build(specs: &[RevisionSpec]) -> Result<RevisionGraph> {
        let _ = specs;
        Err(Error::Internal(
            "RevisionGraph::build: not built yet".into(),
        ))
    }

    /// The load index of a full revision id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }
}
