//! The revision graph (Alembic's `RevisionMap`): heads, bases, branch points, merges, labels,
//! dependencies, validation, target resolution and the planner. Pure: no I/O, no database.
//!
//! Revisions are numbered in load order; `Rev` keeps the derived relations Alembic computes
//! (`nextrev`, normalized dependencies, propagated labels). petgraph holds the same edges for
//! cycle detection and for `graph` output; callers speak in revision ids, never in indices.

mod names;
mod new_revision;
mod order;
pub(crate) mod plan;
mod resolve;
mod target;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, Result};
use crate::script::Script;

pub(crate) use order::CURRENT;
pub(crate) use plan::{Plan, Step, VersionOp};

/// Kinds of edge, child → parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    DownRevision,
    DependsOn,
}

/// One revision and the relations Alembic derives for it. Indices are load positions.
/// `build` fills the fields; the other graph files read them through the accessors.
#[derive(Debug, Clone)]
pub(crate) struct Rev {
    id: String,
    path: PathBuf,
    /// `down_revision`, in file order (`_versioned_down_revisions`).
    down: Vec<usize>,
    /// `depends_on` as written.
    depends_on_declared: Vec<String>,
    /// `depends_on` resolved to revisions (`_resolved_dependencies`).
    deps: Vec<usize>,
    /// `down` + dependencies not already implied by a versioned ancestor
    /// (`_normalized_down_revisions`): the "from" side of version-table bookkeeping.
    normalized_down: Vec<usize>,
    /// Children by `down_revision` (`nextrev`), load order.
    next: Vec<usize>,
    /// Children by `down_revision` or dependency (`_all_nextrev`), load order.
    all_next: Vec<usize>,
    /// Labels declared in this file.
    declared_labels: Vec<String>,
    /// Labels after propagation along the branch.
    labels: BTreeSet<String>,
    /// Position in a topological order (every ancestor ranks lower): bounds ancestor searches.
    rank: usize,
}

impl Rev {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// `down_revision`, in file order.
    pub(crate) fn down(&self) -> &[usize] {
        &self.down
    }

    /// `down_revision` plus the dependencies no versioned ancestor implies.
    pub(crate) fn normalized_down(&self) -> &[usize] {
        &self.normalized_down
    }

    /// Children by `down_revision`, load order.
    pub(crate) fn next(&self) -> &[usize] {
        &self.next
    }

    /// Labels after propagation along the branch.
    pub(crate) fn labels(&self) -> &BTreeSet<String> {
        &self.labels
    }

    /// Position in a topological order: every ancestor ranks lower.
    pub(crate) fn rank(&self) -> usize {
        self.rank
    }

    pub(crate) fn has_normalized_deps(&self) -> bool {
        self.normalized_down.len() > self.down.len()
    }
}

/// The validated revision graph. Revision `i` is the `i`-th script given to `build` (load order).
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    revs: Vec<Rev>,
    by_id: HashMap<String, usize>,
    /// Branch label → the revision that declares it.
    by_label: HashMap<String, usize>,
    /// Labels in the order of their declaring revisions (prefix candidates after ids).
    label_order: Vec<String>,
    dag: DiGraph<usize, EdgeKind>,
}

/// What the graph derives about one revision, for display and JSON (beside the revision's
/// [`RevisionMeta`](crate::script::RevisionMeta), which says what the file declares).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevisionInfo {
    /// The labels the file declares and those propagated along its branch (Alembic's
    /// `branch_labels`). Not serialized here: JSON shows them in the revision's header fields.
    #[serde(skip)]
    pub branch_labels: Vec<String>,
    pub is_head: bool,
    /// Head by `down_revision` but something depends on it (Alembic's "effective head").
    pub is_effective_head: bool,
    pub is_base: bool,
    pub is_merge: bool,
    pub is_branch_point: bool,
    /// Revisions whose `down_revision` names this one.
    pub children: Vec<String>,
}

/// A set of revisions as a bitmap over load indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevSet(Vec<bool>);

impl RevSet {
    pub(crate) fn new(len: usize) -> Self {
        RevSet(vec![false; len])
    }
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0[i]
    }
    /// Returns true when `i` was not in the set.
    pub(crate) fn insert(&mut self, i: usize) -> bool {
        !std::mem::replace(&mut self.0[i], true)
    }
    pub(crate) fn remove(&mut self, i: usize) {
        self.0[i] = false;
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, &b)| b)
            .map(|(i, _)| i)
    }
    pub(crate) fn is_empty(&self) -> bool {
        !self.0.iter().any(|&b| b)
    }
}

impl RevisionGraph {
    /// Builds and validates the graph: duplicate ids, missing parents or dependencies, cycles,
    /// label clashes. Scripts must be in load order.
    pub fn build(scripts: &[Script]) -> Result<RevisionGraph> {
        let mut by_id: HashMap<String, usize> = HashMap::with_capacity(scripts.len());
        for (i, script) in scripts.iter().enumerate() {
            let spec = &script.meta;
            if let Some(&first) = by_id.get(&spec.revision) {
                return Err(Error::DuplicateRevision {
                    revision: spec.revision.clone(),
                    first: scripts[first].path.clone(),
                    second: script.path.clone(),
                });
            }
            by_id.insert(spec.revision.clone(), i);
        }

        let mut revs = Vec::with_capacity(scripts.len());
        for script in scripts {
            let spec = &script.meta;
            if spec.down_revisions.contains(&spec.revision) {
                return Err(Error::SelfLoop {
                    revision: spec.revision.clone(),
                    path: script.path.clone(),
                });
            }
            let mut down = Vec::with_capacity(spec.down_revisions.len());
            for parent in &spec.down_revisions {
                let Some(&p) = by_id.get(parent) else {
                    return Err(Error::MissingDownRevision {
                        revision: spec.revision.clone(),
                        path: script.path.clone(),
                        parent: parent.clone(),
                    });
                };
                if !down.contains(&p) {
                    down.push(p);
                }
            }
            revs.push(Rev {
                id: spec.revision.clone(),
                path: script.path.clone(),
                down,
                depends_on_declared: spec.depends_on.clone(),
                deps: Vec::new(),
                normalized_down: Vec::new(),
                next: Vec::new(),
                all_next: Vec::new(),
                declared_labels: spec.branch_labels.clone(),
                labels: BTreeSet::new(),
                rank: 0,
            });
        }

        let mut graph = RevisionGraph {
            revs,
            by_id,
            by_label: HashMap::new(),
            label_order: Vec::new(),
            dag: DiGraph::new(),
        };
        graph.map_branch_labels()?;
        graph.resolve_dependencies()?;
        graph.link_children();
        graph.detect_cycles()?;
        graph.normalize_dependencies();
        graph.rank_topologically();
        graph.propagate_labels();
        Ok(graph)
    }

    /// Labels share the key space of revision ids (Alembic `_map_branch_labels`).
    fn map_branch_labels(&mut self) -> Result<()> {
        for i in 0..self.revs.len() {
            for label in self.revs[i].declared_labels.clone() {
                let clash = self
                    .by_id
                    .get(&label)
                    .or_else(|| self.by_label.get(&label))
                    .copied();
                if let Some(other) = clash {
                    return Err(Error::BranchLabelTaken {
                        label,
                        revision: self.revs[i].id.clone(),
                        path: self.revs[i].path.clone(),
                        other: self.revs[other].id.clone(),
                        other_path: self.revs[other].path.clone(),
                    });
                }
                self.by_label.insert(label.clone(), i);
                self.label_order.push(label);
            }
        }
        Ok(())
    }

    /// `depends_on` entries name a revision id, a branch label (its declaring revision) or a
    /// unique prefix of a revision id.
    fn resolve_dependencies(&mut self) -> Result<()> {
        for i in 0..self.revs.len() {
            let mut deps = Vec::new();
            for dep in &self.revs[i].depends_on_declared {
                let resolved = match self.by_id.get(dep).or_else(|| self.by_label.get(dep)) {
                    Some(&d) => d,
                    None => {
                        let candidates: Vec<usize> = if dep.len() >= 4 {
                            (0..self.revs.len())
                                .filter(|&r| self.revs[r].id.starts_with(dep.as_str()))
                                .collect()
                        } else {
                            Vec::new()
                        };
                        match candidates.as_slice() {
                            [one] => *one,
                            [] => {
                                return Err(Error::UnknownDependency {
                                    revision: self.revs[i].id.clone(),
                                    path: self.revs[i].path.clone(),
                                    dependency: dep.clone(),
                                })
                            }
                            many => {
                                return Err(Error::AmbiguousDependency {
                                    revision: self.revs[i].id.clone(),
                                    path: self.revs[i].path.clone(),
                                    dependency: dep.clone(),
                                    candidates: self.ids_of(many),
                                })
                            }
                        }
                    }
                };
                if resolved == i {
                    return Err(Error::DependencySelfLoop {
                        revision: self.revs[i].id.clone(),
                        path: self.revs[i].path.clone(),
                    });
                }
                if !deps.contains(&resolved) {
                    deps.push(resolved);
                }
            }
            self.revs[i].deps = deps;
        }
        Ok(())
    }

    fn link_children(&mut self) {
        for i in 0..self.revs.len() {
            self.dag.add_node(i);
        }
        for i in 0..self.revs.len() {
            for p in self.revs[i].down.clone() {
                self.revs[p].next.push(i);
                self.revs[p].all_next.push(i);
                self.dag
                    .add_edge(NodeIndex::new(i), NodeIndex::new(p), EdgeKind::DownRevision);
            }
            for d in self.revs[i].deps.clone() {
                if !self.revs[i].down.contains(&d) {
                    self.revs[d].all_next.push(i);
                }
                self.dag
                    .add_edge(NodeIndex::new(i), NodeIndex::new(d), EdgeKind::DependsOn);
            }
        }
    }

    /// Reports the first cycle found with its whole circle, e.g. `a -> b -> c -> a`.
    fn detect_cycles(&self) -> Result<()> {
        for scc in petgraph::algo::tarjan_scc(&self.dag) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<usize> = scc.iter().map(|n| self.dag[*n]).collect();
            let circle = self.circle_within(&members);
            let via_dependency = circle
                .windows(2)
                .any(|w| !self.revs[w[0]].down.contains(&w[1]));
            let files = circle[..circle.len() - 1]
                .iter()
                .map(|&i| self.revs[i].path.clone())
                .collect();
            return Err(Error::Cycle {
                path: self.ids_of(&circle),
                files,
                via_dependency,
            });
        }
        Ok(())
    }

    /// A closed walk through `members` (a strongly connected set), starting at its lowest index.
    fn circle_within(&self, members: &BTreeSet<usize>) -> Vec<usize> {
        let start = *members.iter().next().unwrap_or(&0);
        let mut path = vec![start];
        let mut seen = BTreeSet::from([start]);
        let mut current = start;
        loop {
            let parents = self.revs[current]
                .down
                .iter()
                .chain(&self.revs[current].deps);
            let members_up: Vec<usize> = parents.copied().filter(|p| members.contains(p)).collect();
            if members_up.contains(&start) {
                path.push(start);
                return path;
            }
            match members_up.iter().find(|p| !seen.contains(p)) {
                Some(&next) => {
                    seen.insert(next);
                    path.push(next);
                    current = next;
                }
                None => {
                    // Every way on was visited: close the walk at the first repeat.
                    if let Some(&p) = members_up.first() {
                        path.push(p);
                    }
                    return path;
                }
            }
        }
    }

    /// Drops dependencies already implied by a versioned ancestor's dependencies
    /// (Alembic `_normalize_depends_on`).
    fn normalize_dependencies(&mut self) {
        for i in 0..self.revs.len() {
            if self.revs[i].deps.is_empty() {
                self.revs[i].normalized_down = self.revs[i].down.clone();
                continue;
            }
            let mut implied = RevSet::new(self.revs.len());
            for a in self.versioned_ancestors(i) {
                if a != i {
                    for &d in &self.revs[a].deps {
                        implied.insert(d);
                    }
                }
            }
            let mut normalized = self.revs[i].down.clone();
            for &d in &self.revs[i].deps {
                if !implied.contains(d) && !normalized.contains(&d) {
                    normalized.push(d);
                }
            }
            self.revs[i].normalized_down = normalized;
        }
    }

    /// Numbers revisions so that every ancestor (by `normalized_down`) ranks lower than its
    /// descendants (Kahn's algorithm; the graph is acyclic by now).
    fn rank_topologically(&mut self) {
        let mut waiting: Vec<usize> = self.revs.iter().map(|r| r.normalized_down.len()).collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.revs.len()];
        for (i, rev) in self.revs.iter().enumerate() {
            for &p in &rev.normalized_down {
                children[p].push(i);
            }
        }
        let mut ready: Vec<usize> = (0..self.revs.len()).filter(|&i| waiting[i] == 0).collect();
        let mut rank = 0;
        while let Some(i) = ready.pop() {
            self.revs[i].rank = rank;
            rank += 1;
            for &c in &children[i] {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    ready.push(c);
                }
            }
        }
    }

    /// Labels spread to every versioned descendant, and down from the branch's tip through
    /// revisions that are neither branch points nor merges (Alembic `_add_branches`).
    fn propagate_labels(&mut self) {
        for i in 0..self.revs.len() {
            if self.revs[i].declared_labels.is_empty() {
                continue;
            }
            let labels = self.revs[i].declared_labels.clone();
            let descendants = self.dfs_order(&[i], |r| &r.next);
            for &d in &descendants {
                self.revs[d].labels.extend(labels.iter().cloned());
            }
            let mut node = descendants.last().copied();
            while let Some(n) = node {
                let rev = &self.revs[n];
                if rev.all_next.len() > 1 || rev.down.len() > 1 {
                    break;
                }
                let down = rev.down.first().copied();
                self.revs[n].labels.extend(labels.iter().cloned());
                node = down;
            }
        }
    }

    /// Depth-first visit order from `starts` along `edges` (Alembic `_iterate_related_revisions`).
    fn dfs_order(&self, starts: &[usize], edges: impl Fn(&Rev) -> &Vec<usize>) -> Vec<usize> {
        let mut seen = RevSet::new(self.revs.len());
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for &s in starts {
            stack.push(s);
            while let Some(r) = stack.pop() {
                if !seen.insert(r) {
                    continue;
                }
                stack.extend(edges(&self.revs[r]).iter().copied());
                out.push(r);
            }
        }
        out
    }

    fn related(&self, starts: &[usize], edges: impl Fn(&Rev) -> &Vec<usize>) -> RevSet {
        let mut seen = RevSet::new(self.revs.len());
        let mut stack: Vec<usize> = starts.to_vec();
        while let Some(r) = stack.pop() {
            if seen.insert(r) {
                stack.extend(edges(&self.revs[r]).iter().copied());
            }
        }
        seen
    }

    /// `starts` and their ancestors by `down_revision` and (normalized) dependencies.
    pub(crate) fn ancestors(&self, starts: &[usize]) -> RevSet {
        self.related(starts, |r| &r.normalized_down)
    }

    /// The members of `set` below no other member, load order. Where `set` holds the ancestors
    /// of its members, these are the fewest revisions whose ancestors are `set`.
    pub(crate) fn tips(&self, set: &RevSet) -> Vec<usize> {
        set.iter()
            .filter(|&r| !self.revs[r].all_next.iter().any(|&c| set.contains(c)))
            .collect()
    }

    /// `starts` and their ancestors by `down_revision` only.
    pub(crate) fn versioned_ancestors_set(&self, starts: &[usize]) -> RevSet {
        self.related(starts, |r| &r.down)
    }

    fn versioned_ancestors(&self, start: usize) -> Vec<usize> {
        self.versioned_ancestors_set(&[start]).iter().collect()
    }

    /// `starts` and their descendants by `down_revision` and dependencies.
    pub(crate) fn descendants(&self, starts: &[usize]) -> RevSet {
        self.related(starts, |r| &r.all_next)
    }

    /// `starts` and their descendants by `down_revision` only.
    pub(crate) fn versioned_descendants(&self, starts: &[usize]) -> RevSet {
        self.related(starts, |r| &r.next)
    }

    pub(crate) fn rev(&self, i: usize) -> &Rev {
        &self.revs[i]
    }

    /// The ids of revisions, in the order given.
    pub(crate) fn ids_of(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| self.revs[i].id.clone()).collect()
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.revs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    /// The load index of a full revision id.
    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Whether `ancestor` lies below `of` (through `down_revision` or dependencies); both are
    /// full ids. A revision is not its own ancestor.
    pub fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        match (self.index_of(ancestor), self.index_of(of)) {
            (Some(a), Some(o)) if a != o => self.ancestors(&[o]).contains(a),
            _ => false,
        }
    }

    /// Revision ids in load order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.revs.iter().map(|r| r.id.as_str())
    }

    /// Heads by `down_revision` (Alembic `get_heads()`, the `heads` command), load order.
    pub fn heads(&self) -> Vec<&str> {
        self.revs
            .iter()
            .filter(|r| r.next.is_empty())
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Heads that nothing depends on either (the `heads` target, `--resolve-dependencies`).
    pub fn real_heads(&self) -> Vec<&str> {
        self.real_head_indices()
            .into_iter()
            .map(|i| self.revs[i].id.as_str())
            .collect()
    }

    pub(crate) fn real_head_indices(&self) -> Vec<usize> {
        (0..self.revs.len())
            .filter(|&i| self.revs[i].all_next.is_empty())
            .collect()
    }

    pub(crate) fn head_indices(&self) -> Vec<usize> {
        (0..self.revs.len())
            .filter(|&i| self.revs[i].next.is_empty())
            .collect()
    }

    pub(crate) fn base_indices(&self) -> Vec<usize> {
        (0..self.revs.len())
            .filter(|&i| self.revs[i].down.is_empty())
            .collect()
    }

    /// Revisions without `down_revision`, load order.
    pub fn bases(&self) -> Vec<&str> {
        self.base_indices()
            .into_iter()
            .map(|i| self.revs[i].id.as_str())
            .collect()
    }

    /// Revisions with more than one child by `down_revision`, load order.
    pub fn branch_points(&self) -> Vec<&str> {
        self.revs
            .iter()
            .filter(|r| r.next.len() > 1)
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Everything known about one revision (full id).
    pub fn info(&self, id: &str) -> Option<RevisionInfo> {
        let i = self.index_of(id)?;
        let r = &self.revs[i];
        let ids = |v: &[usize]| {
            v.iter()
                .map(|&j| self.revs[j].id.clone())
                .collect::<Vec<_>>()
        };
        Some(RevisionInfo {
            branch_labels: r.labels.iter().cloned().collect(),
            is_head: r.all_next.is_empty(),
            is_effective_head: r.next.is_empty() && !r.all_next.is_empty(),
            is_base: r.down.is_empty(),
            is_merge: r.down.len() > 1,
            is_branch_point: r.next.len() > 1,
            children: ids(&r.next),
        })
    }

    /// Every edge as (child, parent, kind), in load order of the child.
    pub fn edges(&self) -> Vec<(&str, &str, EdgeKind)> {
        self.dag
            .raw_edges()
            .iter()
            .map(|e| {
                (
                    self.revs[self.dag[e.source()]].id.as_str(),
                    self.revs[self.dag[e.target()]].id.as_str(),
                    e.weight,
                )
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
