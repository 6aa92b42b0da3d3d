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

use super::target::{ErrorWording, RevError, RevResult};
use super::RevisionGraph;
use crate::error::Result;

/// A step before its version-table effect is worked out (Alembic `RevisionStep`/`StampStep`).
enum PendingStep {
    Revision {
        rev: usize,
        upgrade: bool,
    },
    Stamp {
        from: Vec<String>,
        to: Vec<String>,
        upgrade: bool,
        branch_move: bool,
    },
}

/// The version rows while a plan is simulated (Alembic `HeadMaintainer`), in insertion order
/// so that every choice Alembic leaves to set order is deterministic here.
struct HeadMaintainer {
    heads: Vec<String>,
    ops: Vec<VersionOp>,
}

impl HeadMaintainer {
    fn insert(&mut self, revision: &str) -> RevResult<()> {
        if self.heads.iter().any(|h| h == revision) {
            return Err(RevError::Revision(format!(
                "version row '{revision}' is already present; the version table does not match the revision graph"
            )));
        }
        self.heads.push(revision.to_string());
        self.ops.push(VersionOp::Insert {
            revision: revision.to_string(),
        });
        Ok(())
    }

    fn delete(&mut self, revision: &str) -> RevResult<()> {
        let Some(pos) = self.heads.iter().position(|h| h == revision) else {
            return Err(RevError::Revision(format!(
                "version row '{revision}' is not present; the version table does not match the revision graph"
            )));
        };
        self.heads.remove(pos);
        self.ops.push(VersionOp::Delete {
            revision: revision.to_string(),
        });
        Ok(())
    }

    fn update(&mut self, from: &str, to: &str) -> RevResult<()> {
        let Some(pos) = self.heads.iter().position(|h| h == from) else {
            return Err(RevError::Revision(format!(
                "cannot move version row '{from}' to '{to}': '{from}' is not present; the version table does not match the revision graph"
            )));
        };
        if self.heads.iter().any(|h| h == to) {
            return Err(RevError::Revision(format!(
                "cannot move version row '{from}' to '{to}': '{to}' is already present"
            )));
        }
        self.heads[pos] = to.to_string();
        self.ops.push(VersionOp::Update {
            from: from.to_string(),
            to: to.to_string(),
        });
        Ok(())
    }

    fn has(&self, revision: &str) -> bool {
        self.heads.iter().any(|h| h == revision)
    }
}

impl RevisionGraph {
    fn id(&self, i: usize) -> String {
        self.rev(i).id.clone()
    }

    fn ids_of(&self, v: &[usize]) -> Vec<String> {
        v.iter().map(|&i| self.id(i)).collect()
    }

    /// `normalized_down` minus what the other current heads already imply
    /// (Alembic `_unmerge_to_revisions`). Parents that are ancestors of another parent are
    /// dropped in every case: Alembic does so only when no other head exists (its fix for
    /// #1373) and otherwise writes a row and its ancestor, which blocks every later upgrade.
    fn unmerge_targets(&self, rev: usize, heads: &[String]) -> Vec<usize> {
        let down = &self.rev(rev).normalized_down;
        let others: Vec<usize> = heads
            .iter()
            .filter(|h| **h != self.rev(rev).id)
            .filter_map(|h| self.index_of(h))
            .collect();
        let implied = self.ancestors(&others);
        down.iter()
            .copied()
            .filter(|&d| others.is_empty() || !implied.contains(d))
            .filter(|&d| {
                !down
                    .iter()
                    .any(|&o| o != d && self.ancestors(&[o]).contains(d))
            })
            .collect()
    }

    /// Applies one step's effect on the version rows (Alembic `HeadMaintainer.update_to_step`).
    fn maintain(&self, hm: &mut HeadMaintainer, step: &PendingStep) -> RevResult<()> {
        match step {
            PendingStep::Revision { rev, upgrade: true } => {
                let id = self.id(*rev);
                let down = self.ids_of(&self.rev(*rev).normalized_down);
                let present: Vec<&String> = down.iter().filter(|d| hm.has(d)).collect();
                if present.is_empty() {
                    hm.insert(&id)
                } else if down.len() > 1 && present.len() > 1 {
                    let others: Vec<usize> = hm
                        .heads
                        .iter()
                        .filter(|h| !down.contains(h))
                        .filter_map(|h| self.index_of(h))
                        .collect();
                    let implied = self.ancestors(&others);
                    let from: Vec<String> = self
                        .rev(*rev)
                        .normalized_down
                        .iter()
                        .filter(|&&d| others.is_empty() || !implied.contains(d))
                        .map(|&d| self.id(d))
                        .filter(|d| hm.has(d))
                        .collect();
                    let Some((last, rest)) = from.split_last() else {
                        return Err(RevError::Revision(format!(
                            "cannot merge into '{id}': no parent row is present"
                        )));
                    };
                    for d in rest {
                        hm.delete(d)?;
                    }
                    hm.update(last, &id)
                } else if down.len() == 1 {
                    hm.update(&down[0], &id)
                } else {
                    let from = present[0].clone();
                    hm.update(&from, &id)
                }
            }
            PendingStep::Revision {
                rev,
                upgrade: false,
            } => {
                let id = self.id(*rev);
                let down = &self.rev(*rev).normalized_down;
                if hm.has(&id) {
                    let targets = self.unmerge_targets(*rev, &hm.heads);
                    if down.is_empty() || targets.is_empty() {
                        return hm.delete(&id);
                    }
                    if down.len() > 1 {
                        let targets = self.ids_of(&targets);
                        let (last, rest) = targets.split_last().expect("targets is not empty");
                        for t in rest {
                            hm.insert(t)?;
                        }
                        return hm.update(&id, last);
                    }
                }
                let to = if down.len() == 1 {
                    self.id(down[0])
                } else {
                    let present: Vec<String> = self
                        .ids_of(down)
                        .into_iter()
                        .filter(|d| hm.has(d))
                        .collect();
                    match present.as_slice() {
                        [one] => one.clone(),
                        _ => {
                            return Err(RevError::Revision(format!(
                                "can't downgrade '{id}': its down revision in the version table is ambiguous"
                            )))
                        }
                    }
                };
                hm.update(&id, &to)
            }
            PendingStep::Stamp {
                from,
                to,
                upgrade,
                branch_move,
            } => {
                if !upgrade && *branch_move {
                    return hm.delete(&from[0]);
                }
                let from_missing = from.iter().any(|f| !hm.has(f));
                let to_missing = to.iter().any(|t| !hm.has(t));
                if *upgrade && (*branch_move || from_missing) && to_missing {
                    return hm.insert(&to[0]);
                }
                if from.len() > 1 {
                    let (last, rest) = from.split_last().expect("from has several rows");
                    for f in rest {
                        hm.delete(f)?;
                    }
                    return hm.update(last, &to[0]);
                }
                hm.update(&from[0], &to[0])
            }
        }
    }

    /// Turns ordered pending steps into steps with their version-table effect.
    fn finish_plan(
        &self,
        rows: &[String],
        pending: Vec<PendingStep>,
        purge: bool,
    ) -> RevResult<Plan> {
        let mut hm = HeadMaintainer {
            heads: if purge { Vec::new() } else { rows.to_vec() },
            ops: Vec::new(),
        };
        let mut steps = Vec::with_capacity(pending.len());
        for p in pending {
            let empty_before = hm.heads.is_empty();
            self.maintain(&mut hm, &p)?;
            let (kind, revision, from, to) = match &p {
                PendingStep::Revision { rev, upgrade } => {
                    let r = self.rev(*rev);
                    let down = self.ids_of(&r.down);
                    if *upgrade {
                        (
                            StepKind::Upgrade,
                            Some(r.id.clone()),
                            down,
                            vec![r.id.clone()],
                        )
                    } else {
                        (
                            StepKind::Downgrade,
                            Some(r.id.clone()),
                            vec![r.id.clone()],
                            down,
                        )
                    }
                }
                PendingStep::Stamp { from, to, .. } => {
                    (StepKind::Stamp, None, from.clone(), to.clone())
                }
            };
            let mut heads_after = hm.heads.clone();
            heads_after.sort();
            steps.push(Step {
                kind,
                revision,
                from,
                to,
                version_table_empty_before: empty_before,
                ops: std::mem::take(&mut hm.ops),
                heads_after,
            });
        }
        Ok(Plan {
            purge,
            heads_before: rows.to_vec(),
            steps,
        })
    }

    /// The steps that bring a database at version rows `rows` up to `target`.
    /// A target at or below the current revisions is a no-op, as in Alembic.
    pub fn plan_upgrade(&self, rows: &[String], target: &str) -> Result<Plan> {
        let wording = ErrorWording {
            ancestor: Some(
                "Destination {end} is not a valid upgrade target from current head(s)".into(),
            ),
            end: Some(target.to_string()),
            ..ErrorWording::default()
        };
        let plan = || -> RevResult<Plan> {
            let current = self.resolve_rows(rows)?;
            let (needs, targets) = self.collect_upgrade(&current, target)?;
            let mut order = self.topological_sort(&needs, &targets);
            order.reverse();
            let pending = order
                .into_iter()
                .map(|rev| PendingStep::Revision { rev, upgrade: true })
                .collect();
            self.finish_plan(rows, pending, false)
        };
        plan().map_err(|e| e.into_error(&wording))
    }

    /// The steps that bring a database at version rows `rows` down to `target`.
    pub fn plan_downgrade(&self, rows: &[String], target: &str) -> Result<Plan> {
        let wording = ErrorWording {
            ancestor: Some(
                "Destination {end} is not a valid downgrade target from current head(s)".into(),
            ),
            end: Some(target.to_string()),
            ..ErrorWording::default()
        };
        let plan = || -> RevResult<Plan> {
            let current = self.resolve_rows(rows)?;
            let drop = self.collect_downgrade(&current, target)?;
            let order = self.topological_sort(&drop, &current);
            let pending = order
                .into_iter()
                .map(|rev| PendingStep::Revision {
                    rev,
                    upgrade: false,
                })
                .collect();
            self.finish_plan(rows, pending, false)
        };
        plan().map_err(|e| e.into_error(&wording))
    }

    /// The version-table changes that make a database at `rows` record `targets`, running no
    /// migration (Alembic `_stamp_revs`). With `purge`, every row is deleted first and unknown
    /// rows are no error.
    pub fn plan_stamp(&self, rows: &[String], targets: &[String], purge: bool) -> Result<Plan> {
        let wording = ErrorWording {
            multiple_heads: Some(
                "Multiple heads are present; please specify a single target revision".into(),
            ),
            ..ErrorWording::default()
        };
        let plan = || -> RevResult<Plan> {
            let heads = if purge {
                Vec::new()
            } else {
                self.resolve_rows(rows)?
            };
            let base = vec!["base".to_string()];
            let targets = if targets.is_empty() { &base } else { targets };
            let mut filtered: Vec<usize> = Vec::new();
            for t in targets.iter().filter(|t| !t.is_empty()) {
                for h in self.filter_for_lineage(&heads, t, true)? {
                    if !filtered.contains(&h) {
                        filtered.push(h);
                    }
                }
            }
            let mut dests = self.get_revisions_of(targets)?;
            if dests.is_empty() {
                dests.push(None);
            }
            let filtered_ids = self.ids_of(&filtered);
            let mut pending = Vec::new();
            for dest in dests {
                let Some(dest) = dest else {
                    for h in &filtered_ids {
                        pending.push(PendingStep::Stamp {
                            from: vec![h.clone()],
                            to: Vec::new(),
                            upgrade: false,
                            branch_move: true,
                        });
                    }
                    continue;
                };
                if filtered.contains(&dest) {
                    continue;
                }
                let to = vec![self.id(dest)];
                let above = self.descendants(&[dest]);
                let below = self.ancestors(&[dest]);
                if filtered.iter().any(|&h| above.contains(h)) {
                    pending.push(PendingStep::Stamp {
                        from: filtered_ids.clone(),
                        to,
                        upgrade: false,
                        branch_move: false,
                    });
                } else if filtered.iter().any(|&h| below.contains(h)) {
                    pending.push(PendingStep::Stamp {
                        from: filtered_ids.clone(),
                        to,
                        upgrade: true,
                        branch_move: false,
                    });
                } else {
                    pending.push(PendingStep::Stamp {
                        from: Vec::new(),
                        to,
                        upgrade: true,
                        branch_move: true,
                    });
                }
            }
            self.finish_plan(rows, pending, purge)
        };
        plan().map_err(|e| e.into_error(&wording))
    }
}
