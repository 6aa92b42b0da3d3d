//! What a run does and did: the direction of a step, how it ended, the report of a run and the
//! row counts around it. A leaf module (it imports nothing of the crate), so that `Error` can
//! carry a run's report.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Upgrade,
    Downgrade,
    Stamp,
}

impl StepKind {
    /// The command's name, as the audit trail and `--report` record it (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Upgrade => "upgrade",
            StepKind::Downgrade => "downgrade",
            StepKind::Stamp => "stamp",
        }
    }

    /// The kind a stored [`name`](Self::name) stands for.
    pub fn from_name(name: &str) -> Option<StepKind> {
        [StepKind::Upgrade, StepKind::Downgrade, StepKind::Stamp]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// The word Alembic prints in `-- Running <name> A -> B`.
    pub fn running_name(self) -> &'static str {
        match self {
            StepKind::Upgrade => "upgrade",
            StepKind::Downgrade => "downgrade",
            StepKind::Stamp => "stamp_revision",
        }
    }
}

/// How a step ended, as the audit trail, `--report` and `--rehearse` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Recorded before the step runs; stays so when the run dies before it can record more.
    Started,
    Success,
    Failed,
}

impl Outcome {
    /// The stored and serialised name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome a stored name stands for.
    pub fn from_name(name: &str) -> Option<Outcome> {
        [Outcome::Started, Outcome::Success, Outcome::Failed]
            .into_iter()
            .find(|outcome| outcome.name() == name)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Compares with the stored name (`"success"`, ...), as read back from the audit table.
impl PartialEq<&str> for Outcome {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// What happened to one step, for progress output, `--report` and `--rehearse`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    pub revision: String,
    pub kind: StepKind,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub message: Option<String>,
    pub path: Option<PathBuf>,
    pub started_at: String,
    pub duration_ms: i64,
    pub checksum: Option<String>,
    /// `success` or `failed`.
    pub outcome: Outcome,
    pub error: Option<String>,
    /// The attempts that lost a lock conflict before the last one (all of them when the
    /// retries ran out); empty when the step ran once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

/// One attempt of a revision that lost a lock conflict, for the retry line and the audit row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    /// 1 for the first run of the revision.
    pub attempt: u32,
    /// `lock timeout` or `deadlock`.
    pub cause: String,
    /// The file line of the statement that lost.
    pub line: usize,
    /// How long the attempt ran before it lost, in milliseconds.
    pub ran_ms: u64,
    /// How long retort waited before the next attempt (0 for the last).
    pub backoff_ms: u64,
    /// The session that held the lock, as the server described it.
    pub blocker: Option<String>,
}

/// The steps of a run. A run that fails is an `Error::MigrationFailed` holding its report,
/// whose `steps` end with the failed step.
#[derive(Debug, Default, serde::Serialize)]
pub struct RunReport {
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    pub steps: Vec<StepReport>,
    /// Each table's row count before the first step and after the last (a rehearsal's before
    /// its rollback), when the run was asked to count (`--report`, `--rehearse`) and changed
    /// something.
    pub row_counts: Option<RowCounts>,
}

/// Exact row counts of every table introspection lists, by table name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    pub before: BTreeMap<String, u64>,
    pub after: BTreeMap<String, u64>,
}

impl RowCounts {
    /// One line per table whose count changed, appeared or disappeared, by table name.
    pub fn changes(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> =
            self.before.keys().chain(self.after.keys()).collect();
        names
            .into_iter()
            .filter_map(|name| match (self.before.get(name), self.after.get(name)) {
                (Some(before), Some(after)) if before == after => None,
                (Some(before), Some(after)) => Some(format!(
                    "rows: {name} {before} -> {after} ({:+})",
                    i128::from(*after) - i128::from(*before)
                )),
                (None, Some(after)) => Some(format!("new table {name}: {after} rows")),
                (Some(before), None) => Some(format!("dropped table {name}: had {before} rows")),
                (None, None) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_changed_new_and_dropped_tables_only() {
        let counts = |pairs: &[(&str, u64)]| {
            pairs
                .iter()
                .map(|(name, n)| (name.to_string(), *n))
                .collect()
        };
        let row_counts = RowCounts {
            before: counts(&[("kept", 3), ("legacy", 15), ("orders", 1200), ("users", 2)]),
            after: counts(&[("invoices", 0), ("kept", 3), ("orders", 0), ("users", 5)]),
        };
        assert_eq!(
            row_counts.changes(),
            [
                "new table invoices: 0 rows",
                "dropped table legacy: had 15 rows",
                "rows: orders 1200 -> 0 (-1200)",
                "rows: users 2 -> 5 (+3)",
            ]
        );
    }
}
