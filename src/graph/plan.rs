//! The planner: from the version rows of a database and a target, the ordered steps to run and
//! each step's effect on the version table, exactly as Alembic's `HeadMaintainer` maintains
//! `alembic_version`. Pure: no I/O.

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Upgrade,
    Downgrade,
    Stamp,
}

impl StepKind {
    /// The word Alembic prints in `-- Running <name> A -> B`.
    pub fn running_name(self) -> &'static str {
        match self {
            StepKind::Upgrade => "upgrade",
            StepKind::Downgrade => "downgrade",
            StepKind::Stamp => "stamp_revision",
        }
    }
}

/// One change to the version table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum VersionOp {
    Insert { revision: String },
    Update { from: String, to: String },
    Delete { revision: String },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub kind: StepKind,
    /// The revision whose SQL runs; `None` for a stamp.
    pub revision: Option<String>,
    /// `-- Running <kind> <from> -> <to>`: versioned revisions only (dependencies not shown).
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// The version rows are empty when this step starts (offline mode emits the DDL here).
    pub version_table_empty_before: bool,
    pub ops: Vec<VersionOp>,
    /// The version rows after this step, sorted.
    pub heads_after: Vec<String>,
}

/// The ordered steps of one command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// `stamp --purge`: delete every version row before the steps.
    pub purge: bool,
    /// The version rows the plan starts from, as given.
    pub heads_before: Vec<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    /// The version rows once every step ran, sorted.
    pub fn heads_after(&self) -> Vec<String> {
        match self.steps.last() {
            Some(step) => step.heads_after.clone(),
            None if self.purge => Vec::new(),
            None => {
                let mut heads = self.heads_before.clone();
                heads.sort();
                heads
            }
        }
    }
}
