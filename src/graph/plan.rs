//! The planner: from the version rows of a database and a target, the ordered steps to run and
//! each step's effect on the version table, exactly as Alembic's `HeadMaintainer` maintains
//! `alembic_version`. Pure: no I/O.

use super::resolve::{reword_heads, HeadsWording};
use super::target::{parse_target, Target};
use super::{RevSet, RevisionGraph};
use crate::error::{Error, Result};
use crate::report::StepKind;

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
    /// Whether running it changes the database: a step, or a purge that deletes rows
    /// (`stamp --purge base` plans no step but empties the version table).
    pub fn changes_database(&self) -> bool {
        !self.steps.is_empty() || (self.purge && !self.heads_before.is_empty())
    }

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
struct HeadMaintainer<'g> {
    graph: &'g RevisionGraph,
    heads: Vec<String>,
    ops: Vec<VersionOp>,
}

impl HeadMaintainer<'_> {
    /// Applies one step's effect on the version rows (Alembic `HeadMaintainer.update_to_step`).
    fn apply(&mut self, step: &PendingStep) -> Result<()> {
        match step {
            PendingStep::Revision { rev, upgrade: true } => self.apply_upgrade(*rev),
            PendingStep::Revision {
                rev,
                upgrade: false,
            } => self.apply_downgrade(*rev),
            PendingStep::Stamp {
                from,
                to,
                upgrade,
                branch_move,
            } => self.apply_stamp(from, to, *upgrade, *branch_move),
        }
    }

    /// Upgrading `rev`: a new row for a new root or branch, else its parent's row moves up
    /// (a merge first drops the rows of all parents but one).
    fn apply_upgrade(&mut self, rev: usize) -> Result<()> {
        let graph = self.graph;
        let id = graph.rev(rev).id();
        let down = graph.ids_of(graph.rev(rev).normalized_down());
        let present: Vec<&String> = down.iter().filter(|d| self.has(d)).collect();
        if present.is_empty() {
            return self.insert(id);
        }
        if down.len() > 1 && present.len() > 1 {
            return self.merge_into(rev);
        }
        let from = if down.len() == 1 {
            down[0].clone()
        } else {
            present[0].clone()
        };
        self.update(&from, id)
    }

    /// A merge whose parents have several rows: the rows the other heads do not already imply
    /// collapse into one for `rev`.
    fn merge_into(&mut self, rev: usize) -> Result<()> {
        let graph = self.graph;
        let normalized_down = graph.rev(rev).normalized_down();
        let down = graph.ids_of(normalized_down);
        let others: Vec<usize> = self
            .heads
            .iter()
            .filter(|h| !down.contains(h))
            .filter_map(|h| graph.index_of(h))
            .collect();
        let implied = graph.ancestors(&others);
        let from: Vec<String> = normalized_down
            .iter()
            .filter(|&&d| others.is_empty() || !implied.contains(d))
            .map(|&d| graph.rev(d).id().to_string())
            .filter(|d| self.has(d))
            .collect();
        let id = graph.rev(rev).id();
        let Some((last, rest)) = from.split_last() else {
            return Err(Error::MergeWithoutParentRow {
                revision: id.to_string(),
            });
        };
        for d in rest {
            self.delete(d)?;
        }
        self.update(last, id)
    }

    /// Downgrading `rev`: its row goes away at a root, splits back into its parents' rows at
    /// a merge, else moves down to its parent.
    fn apply_downgrade(&mut self, rev: usize) -> Result<()> {
        let graph = self.graph;
        let id = graph.rev(rev).id();
        let down = graph.rev(rev).normalized_down();
        if self.has(id) {
            let targets = graph.ids_of(&graph.unmerge_targets(rev, &self.heads));
            let Some((last, rest)) = targets.split_last().filter(|_| !down.is_empty()) else {
                return self.delete(id);
            };
            if down.len() > 1 {
                for t in rest {
                    self.insert(t)?;
                }
                return self.update(id, last);
            }
        }
        let to = if down.len() == 1 {
            graph.rev(down[0]).id().to_string()
        } else {
            let present: Vec<String> = graph
                .ids_of(down)
                .into_iter()
                .filter(|d| self.has(d))
                .collect();
            match present.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(Error::AmbiguousDownRevisionRow {
                        revision: id.to_string(),
                    })
                }
            }
        };
        self.update(id, &to)
    }

    /// A stamp from rows `from` to `to`, running nothing (Alembic `StampStep`).
    fn apply_stamp(
        &mut self,
        from: &[String],
        to: &[String],
        upgrade: bool,
        branch_move: bool,
    ) -> Result<()> {
        if !upgrade && branch_move {
            return self.delete(&from[0]);
        }
        let from_missing = from.iter().any(|f| !self.has(f));
        let to_missing = to.iter().any(|t| !self.has(t));
        if upgrade && (branch_move || from_missing) && to_missing {
            return self.insert(&to[0]);
        }
        match from {
            // Only a target named twice gets here without rows to move: the earlier step
            // already recorded it.
            [] => Ok(()),
            [one] => self.update(one, &to[0]),
            [rest @ .., last] => {
                for f in rest {
                    self.delete(f)?;
                }
                self.update(last, &to[0])
            }
        }
    }

    fn insert(&mut self, revision: &str) -> Result<()> {
        if self.has(revision) {
            return Err(Error::VersionRowPresent {
                revision: revision.to_string(),
            });
        }
        self.heads.push(revision.to_string());
        self.ops.push(VersionOp::Insert {
            revision: revision.to_string(),
        });
        Ok(())
    }

    fn delete(&mut self, revision: &str) -> Result<()> {
        let Some(pos) = self.heads.iter().position(|h| h == revision) else {
            return Err(Error::VersionRowAbsent {
                revision: revision.to_string(),
            });
        };
        self.heads.remove(pos);
        self.ops.push(VersionOp::Delete {
            revision: revision.to_string(),
        });
        Ok(())
    }

    fn update(&mut self, from: &str, to: &str) -> Result<()> {
        let Some(pos) = self.heads.iter().position(|h| h == from) else {
            return Err(Error::VersionRowMoveFromAbsent {
                from: from.to_string(),
                to: to.to_string(),
            });
        };
        if self.has(to) {
            return Err(Error::VersionRowMoveOntoPresent {
                from: from.to_string(),
                to: to.to_string(),
            });
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
    /// `normalized_down` minus what the other current heads already imply
    /// (Alembic `_unmerge_to_revisions`). Parents that are ancestors of another parent are
    /// dropped in every case: Alembic does so only when no other head exists (its fix for
    /// #1373) and otherwise writes a row and its ancestor, which blocks every later upgrade.
    fn unmerge_targets(&self, rev: usize, heads: &[String]) -> Vec<usize> {
        let down = self.rev(rev).normalized_down();
        let others: Vec<usize> = heads
            .iter()
            .filter(|h| *h != self.rev(rev).id())
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

    /// Turns ordered pending steps into steps with their version-table effect.
    fn finish_plan(&self, rows: &[String], pending: Vec<PendingStep>, purge: bool) -> Result<Plan> {
        let mut hm = HeadMaintainer {
            graph: self,
            heads: if purge { Vec::new() } else { rows.to_vec() },
            ops: Vec::new(),
        };
        let mut steps = Vec::with_capacity(pending.len());
        for p in pending {
            let empty_before = hm.heads.is_empty();
            hm.apply(&p)?;
            let (kind, revision, from, to) = match &p {
                PendingStep::Revision { rev, upgrade } => {
                    let id = self.rev(*rev).id().to_string();
                    let down = self.ids_of(self.rev(*rev).down());
                    if *upgrade {
                        (StepKind::Upgrade, Some(id.clone()), down, vec![id])
                    } else {
                        (StepKind::Downgrade, Some(id.clone()), vec![id], down)
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
        self.plan_upgrade_to(rows, &parse_target(target))
            .map_err(|e| reword_heads(e, HeadsWording::Given(target)))
    }

    fn plan_upgrade_to(&self, rows: &[String], target: &Target<'_>) -> Result<Plan> {
        let current = self.resolve_rows(rows)?;
        let (needs, targets) = self.collect_upgrade(&current, target)?;
        let mut order = self.topological_sort(&needs, &targets);
        order.reverse();
        let pending = order
            .into_iter()
            .map(|rev| PendingStep::Revision { rev, upgrade: true })
            .collect();
        self.finish_plan(rows, pending, false)
    }

    /// The steps that bring a database at version rows `rows` down to `target`.
    pub fn plan_downgrade(&self, rows: &[String], target: &str) -> Result<Plan> {
        self.plan_downgrade_to(rows, &parse_target(target))
            .map_err(|e| reword_heads(e, HeadsWording::Given(target)))
    }

    fn plan_downgrade_to(&self, rows: &[String], target: &Target<'_>) -> Result<Plan> {
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
    }

    /// The version-table changes that make a database at `rows` record `targets`, running no
    /// migration (Alembic `_stamp_revs`). With `purge`, every row is deleted first and unknown
    /// rows are no error.
    pub fn plan_stamp(&self, rows: &[String], targets: &[String], purge: bool) -> Result<Plan> {
        self.stamp_plan(rows, targets, purge)
            .map_err(|e| reword_heads(e, HeadsWording::Stamp))
    }

    fn stamp_plan(&self, rows: &[String], targets: &[String], purge: bool) -> Result<Plan> {
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
        for &dest in &dests {
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
            let to = vec![self.rev(dest).id().to_string()];
            let above = self.descendants(&[dest]);
            let below = self.ancestors(&[dest]);
            pending.push(if filtered.iter().any(|&h| above.contains(h)) {
                PendingStep::Stamp {
                    from: filtered_ids.clone(),
                    to,
                    upgrade: false,
                    branch_move: false,
                }
            } else if filtered.iter().any(|&h| below.contains(h)) {
                PendingStep::Stamp {
                    from: filtered_ids.clone(),
                    to,
                    upgrade: true,
                    branch_move: false,
                }
            } else {
                PendingStep::Stamp {
                    from: Vec::new(),
                    to,
                    upgrade: true,
                    branch_move: true,
                }
            });
        }
        let plan = self.finish_plan(rows, pending, purge)?;
        self.keep_stamp_promise(plan, &heads, &filtered, &dests)
    }

    /// Alembic's stamp moves every row that shares lineage with a target, so a row on a
    /// branch the target keeps can be deleted with nothing left implying it (a head reached
    /// through `depends_on` beside a merge): the next upgrade re-runs that branch. Where
    /// Alembic's rows imply less than [`Self::stamp_promise`], the plan becomes one stamp step
    /// to the rows that describe exactly the promised state; otherwise Alembic's plan stands.
    fn keep_stamp_promise(
        &self,
        plan: Plan,
        heads: &[usize],
        filtered: &[usize],
        dests: &[Option<usize>],
    ) -> Result<Plan> {
        let promise = self.stamp_promise(heads, filtered, dests);
        let after: Vec<usize> = plan
            .heads_after()
            .iter()
            .filter_map(|h| self.index_of(h))
            .collect();
        let implied = self.ancestors(&after);
        if promise.iter().all(|r| implied.contains(r)) {
            return Ok(plan);
        }
        let target = self.ids_of(&self.tips(&promise));
        let before = self.ids_of(heads);
        let gone: Vec<String> = before
            .iter()
            .filter(|h| !target.contains(h))
            .cloned()
            .collect();
        let new: Vec<String> = target
            .iter()
            .filter(|t| !before.contains(t))
            .cloned()
            .collect();
        let mut hm = HeadMaintainer {
            graph: self,
            heads: before.clone(),
            ops: Vec::new(),
        };
        for (from, to) in gone.iter().zip(&new) {
            hm.update(from, to)?;
        }
        for revision in gone.iter().skip(new.len()) {
            hm.delete(revision)?;
        }
        for revision in new.iter().skip(gone.len()) {
            hm.insert(revision)?;
        }
        let mut heads_after = hm.heads;
        heads_after.sort();
        Ok(Plan {
            steps: vec![Step {
                kind: StepKind::Stamp,
                revision: None,
                from: gone,
                to: new,
                version_table_empty_before: before.is_empty(),
                ops: hm.ops,
                heads_after,
            }],
            ..plan
        })
    }

    /// What a stamp from rows `heads` to `dests` promises is applied afterwards: every target
    /// and its ancestors, plus what the rows imply that the stamp does not move. Alembic moves
    /// the rows sharing lineage with a target (`filtered`) once some target lies above or below
    /// them or is `base` (a `None` dest); every other row stays.
    pub(crate) fn stamp_promise(
        &self,
        heads: &[usize],
        filtered: &[usize],
        dests: &[Option<usize>],
    ) -> RevSet {
        let moves_filtered = dests.iter().any(|d| match d {
            None => true,
            Some(d) => {
                !filtered.contains(d)
                    && filtered
                        .iter()
                        .any(|&h| self.shares_lineage(h, &[*d], true))
            }
        });
        let kept: Vec<usize> = heads
            .iter()
            .copied()
            .filter(|h| !moves_filtered || !filtered.contains(h))
            .chain(dests.iter().flatten().copied())
            .collect();
        self.ancestors(&kept)
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::tests::graph;

    #[test]
    fn a_stamp_target_named_twice_is_recorded_once() {
        let g = graph(&[("a", &[], &[], &[]), ("b", &["a"], &[], &[])]);
        let twice = ["b".to_string(), "b".to_string()];
        for purge in [false, true] {
            let plan = g.plan_stamp(&[], &twice, purge).unwrap();
            assert_eq!(plan.heads_after(), vec!["b"]);
        }
    }
}
