//! Which revisions a command touches and in what order, exactly as Alembic chooses: its
//! topological sort breaks ties by load order, so sibling branches are upgraded last-loaded
//! first (docs/alembic-compatibility.md#upgrade-and-downgrade-order): the order Alembic users know.

use std::collections::{BinaryHeap, HashSet};

use super::resolve::{reword_heads, HeadsWording};
use super::target::{parse_target, RevisionRef, Target};
use super::{RevSet, RevisionGraph};
use crate::error::{Error, Result};

/// The ancestors of one revision, found lazily: the topological sort only asks whether a given
/// candidate is among them, and candidates descend as the sort proceeds, so the search expands
/// in decreasing rank only as far as the lowest candidate asked about. On a history that forks
/// and merges every few dozen revisions this visits the region between fork and merge instead
/// of the whole graph below every merge.
struct LazyAncestors {
    /// Found but not yet expanded, highest rank first.
    frontier: BinaryHeap<(usize, usize)>,
    found: HashSet<usize>,
}

impl LazyAncestors {
    fn new(graph: &RevisionGraph, start: usize) -> Self {
        LazyAncestors {
            frontier: BinaryHeap::from([(graph.rev(start).rank(), start)]),
            found: HashSet::from([start]),
        }
    }

    /// Whether `rev` is the start or one of its ancestors.
    fn contains(&mut self, graph: &RevisionGraph, rev: usize) -> bool {
        let floor = graph.rev(rev).rank();
        // Every path from the start down to `rev` passes only through higher ranks.
        while let Some(&(rank, next)) = self.frontier.peek() {
            if rank <= floor {
                break;
            }
            self.frontier.pop();
            for &parent in graph.rev(next).normalized_down() {
                if self.found.insert(parent) {
                    self.frontier.push((graph.rev(parent).rank(), parent));
                }
            }
        }
        self.found.contains(&rev)
    }
}

impl RevisionGraph {
    /// Newest-first order of `todo`, walking down from `heads` (Alembic `_topological_sort`).
    ///
    /// Alembic keeps, per branch being walked, the full ancestor set of the revision the branch
    /// last restarted from, and asks whether the candidate lies in another branch's set. The
    /// candidate is always still to do and emitted revisions never come back, so a lazy search
    /// from the same revision answers the same question.
    pub(crate) fn topological_sort(&self, todo: &RevSet, heads: &[usize]) -> Vec<usize> {
        let mut todo = todo.clone();
        let mut current: Vec<usize> = heads
            .iter()
            .copied()
            .filter(|&h| todo.contains(h))
            .collect();
        current.sort_unstable();
        current.dedup();
        let mut ancestors: Vec<LazyAncestors> = current
            .iter()
            .map(|&h| LazyAncestors::new(self, h))
            .collect();
        let mut out = Vec::new();
        let mut idx = 0;
        while !current.is_empty() {
            let candidate = current[idx];
            // Another branch still needs this revision: finish that branch first.
            if let Some(other) =
                (0..ancestors.len()).find(|&j| j != idx && ancestors[j].contains(self, candidate))
            {
                idx = other;
                continue;
            }
            if todo.contains(candidate) {
                out.push(candidate);
                todo.remove(candidate);
            }
            let rev = self.rev(candidate);
            let to_add: Vec<usize> = rev
                .normalized_down()
                .iter()
                .copied()
                .filter(|&r| todo.contains(r) && !current.contains(&r))
                .collect();
            if to_add.is_empty() {
                current.remove(idx);
                ancestors.remove(idx);
                idx = idx.saturating_sub(1);
            } else if !rev.has_normalized_deps() && rev.down().len() == 1 {
                // A plain step down keeps the branch's search: the emitted candidate is
                // never asked about again.
                current[idx] = to_add[0];
            } else {
                current[idx] = to_add[0];
                ancestors[idx] = LazyAncestors::new(self, to_add[0]);
                for &extra in &to_add[1..] {
                    current.push(extra);
                    ancestors.push(LazyAncestors::new(self, extra));
                }
            }
        }
        out
    }

    /// Ancestors of `starts`, failing when one start is an ancestor of another
    /// (Alembic `_get_ancestor_nodes(check=True)`).
    fn ancestors_checked(&self, starts: &[usize]) -> Result<RevSet> {
        for &s in starts {
            let mut below = self.ancestors(&[s]);
            below.remove(s);
            let overlaps: Vec<usize> = starts
                .iter()
                .copied()
                .filter(|&o| o != s && below.contains(o))
                .collect();
            if !overlaps.is_empty() {
                return Err(Error::OverlappingRevisions {
                    revision: self.rev(s).id().to_string(),
                    others: self.ids_of(&overlaps),
                });
            }
        }
        Ok(self.ancestors(starts))
    }

    /// Revisions to apply to reach `targets` from `current`, and the targets
    /// (Alembic `_collect_upgrade_revisions` with `implicit_base=True`).
    pub(crate) fn collect_upgrade(
        &self,
        current: &[usize],
        target: &Target<'_>,
    ) -> Result<(RevSet, Vec<usize>)> {
        let targets: Vec<usize> = self
            .parse_upgrade_target(current, target, true)?
            .into_iter()
            .flatten()
            .collect();
        let required = self.ancestors_checked(&targets)?;
        let have = self.ancestors_checked(current)?;
        let mut needs = required;
        for h in have.iter() {
            needs.remove(h);
        }
        Ok((needs, targets))
    }

    /// Revisions to revert to reach `target` from `current`
    /// (Alembic `_collect_downgrade_revisions`).
    pub(crate) fn collect_downgrade(
        &self,
        current: &[usize],
        target: &Target<'_>,
    ) -> Result<RevSet> {
        let (branch_label, target_rev) = self.parse_downgrade_target(current, target, true)?;
        let mut roots: Vec<usize> = match target_rev {
            None => self.base_indices(),
            Some(t) => self.rev(t).next().to_vec(),
        };
        if let Some(label) = branch_label.as_deref() {
            if roots.len() > 1 {
                let branch = self.resolve_branch(label)?;
                let on_branch = self.versioned_ancestors_set(&[branch]);
                roots.retain(|&r| on_branch.contains(r));
                if roots.is_empty() {
                    return Err(Error::DowngradeTargetOffBranch);
                }
            }
        }
        let mut drop = self.descendants(&roots);
        let active = self.ancestors(current);
        for i in 0..self.len() {
            if drop.contains(i) && !active.contains(i) {
                drop.remove(i);
            }
        }
        if let Some(t) = target_rev {
            if drop.is_empty() && !current.contains(&t) {
                return Err(Error::NotADowngradeTarget {
                    target: target.text().to_string(),
                });
            }
        }
        Ok(drop)
    }

    /// Revisions between `lower` and `upper`, both included, newest first
    /// (Alembic `walk_revisions` / `iterate_revisions(inclusive=True, implicit_base=False)`).
    fn walk_range(&self, lower_end: RangeEnd<'_>, upper_end: RangeEnd<'_>) -> Result<Vec<usize>> {
        let (lower, upper) = (lower_end.text, upper_end.text);
        let lower_ref = RevisionRef::parse(lower);
        let mut lower_revs: Vec<Option<usize>> = match lower_end.rows {
            Some(rows) => rows.iter().copied().map(Some).collect(),
            None => self.get_revisions(&lower_ref)?,
        };
        let lower_ids: Vec<usize> = lower_revs.iter().flatten().copied().collect();
        let mut targets: Vec<usize> = match upper_end.rows {
            Some(rows) => rows.to_vec(),
            None => self
                .parse_upgrade_target(&lower_ids, &parse_target(upper), false)?
                .into_iter()
                .flatten()
                .collect(),
        };
        if let Some(branch) = lower_ref.branch.filter(|_| lower_end.rows.is_none()) {
            // `label@x:` limits the range to that branch.
            let label = match self.get_revision(&RevisionRef::parse(branch))? {
                Some(r) if self.rev(r).id() == branch => {
                    self.rev(r).labels().iter().next().cloned()
                }
                _ => Some(branch.to_string()),
            };
            if let Some(label) = label {
                targets.retain(|&t| self.rev(t).labels().contains(&label));
            }
        }
        let required = self.ancestors_checked(&targets)?;
        if lower_revs.iter().flatten().any(|&r| !required.contains(r)) {
            return Err(Error::RangeNotAncestor {
                lower: lower.to_string(),
                upper: upper.to_string(),
            });
        }
        if matches!(lower_revs.first(), Some(None)) {
            // A relative lower bound walks down from the upper end.
            let upper_revs: Vec<usize> = match upper_end.rows {
                Some(rows) => rows.to_vec(),
                None => self
                    .get_revisions(&RevisionRef::parse(upper))?
                    .into_iter()
                    .flatten()
                    .collect(),
            };
            let (_, rev) = self.parse_downgrade_target(&upper_revs, &parse_target(lower), false)?;
            lower_revs = rev.map(Some).into_iter().collect();
        }
        let lower_set: Vec<usize> = lower_revs.iter().flatten().copied().collect();
        let have = self.ancestors_checked(&lower_set)?;
        let mut needs = required;
        for h in have.iter() {
            needs.remove(h);
        }
        for &l in &lower_set {
            needs.insert(l);
        }
        if !lower_set.is_empty() {
            let above = self.versioned_descendants(&lower_set);
            for i in 0..self.len() {
                if needs.contains(i) && !above.contains(i) {
                    needs.remove(i);
                }
            }
        }
        // Where a target is reached from the range only through `depends_on`, it is not among
        // the revisions to list and nothing would start the walk (Alembic fails an assertion):
        // the walk also starts from the tips of what is to be listed.
        let mut starts = targets;
        starts.extend(self.tips(&needs));
        Ok(self.topological_sort(&needs, &starts))
    }

    /// `history`: the revisions of a range (`A:B`, `A:`, `:B`; `None` for all), newest first.
    pub fn history(&self, range: Option<&str>) -> Result<Vec<String>> {
        self.history_at(range, None)
    }

    /// [`history`](Self::history) given the database's version rows (read by the caller):
    /// an end written `current` stands for all of them, as in Alembic. Without rows, `current`
    /// is looked up as a name like any other.
    pub fn history_at(
        &self,
        range: Option<&str>,
        current: Option<&[String]>,
    ) -> Result<Vec<String>> {
        let (lower, upper) = match range {
            None => ("base", "heads"),
            Some(r) => {
                let Some((l, u)) = r.split_once(':') else {
                    return Err(Error::HistoryRangeSyntax);
                };
                (
                    if l.is_empty() { "base" } else { l },
                    if u.is_empty() { "heads" } else { u },
                )
            }
        };
        let rows = current.map(|rows| self.resolve_rows(rows)).transpose()?;
        // As Alembic 1.20 does: one end only stands for the rows, the upper one when both are
        // `current` (the lower is then looked up as a name, and fails); and an empty database's
        // rows (its empty tuple) fall back to that end's default, so on an empty database
        // `:current` and `base:current` list everything, as `current:` does.
        let rows = rows.as_deref();
        let lower_end = RangeEnd::of(lower, lower == CURRENT && upper != CURRENT, "base", rows);
        let upper_end = RangeEnd::of(upper, upper == CURRENT, "heads", rows);
        // Alembic names the upper end in a "several heads" error, whichever end failed.
        let order = self
            .walk_range(lower_end, upper_end)
            .map_err(|e| reword_heads(e, HeadsWording::Given(upper)))?;
        Ok(self.ids_of(&order))
    }

    /// What a `show` argument names: the revisions of any target, or, given the database's
    /// version rows, exactly those rows for `current` (Alembic `show current`).
    pub fn show(&self, target: &str, current: Option<&[String]>) -> Result<Vec<String>> {
        match current {
            Some(rows) if target == CURRENT => Ok(self.ids_of(&self.resolve_rows(rows)?)),
            _ => self.resolve(target),
        }
    }
}

/// The keyword for the database's current revisions in `history` ranges and `show`.
pub(crate) const CURRENT: &str = "current";

/// One end of a history range: as written, and the version rows it stands for when it is
/// `current` and the rows were read.
#[derive(Clone, Copy)]
struct RangeEnd<'a> {
    text: &'a str,
    rows: Option<&'a [usize]>,
}

impl<'a> RangeEnd<'a> {
    /// The end written `text`; when it is `substituted` by the version rows `rows` (if read),
    /// no rows mean the end's `default`.
    fn of(
        text: &'a str,
        substituted: bool,
        default: &'a str,
        rows: Option<&'a [usize]>,
    ) -> RangeEnd<'a> {
        match rows {
            Some([]) if substituted => RangeEnd {
                text: default,
                rows: None,
            },
            Some(rows) if substituted => RangeEnd {
                text,
                rows: Some(rows),
            },
            _ => RangeEnd { text, rows: None },
        }
    }
}
