//! Resolution of targets on the graph, with Alembic's semantics (`RevisionMap.get_revisions`,
//! `_walk`, `_parse_upgrade_target`, ...) and its error texts (`Can't locate revision
//! identified by ...`), reworded per command the way `alembic.command` does.

use super::target::{Relative, RevisionRef, Symbol, Target};
use super::RevisionGraph;
use crate::error::{Error, Result, Unresolved};

/// How a command words "several heads" (Alembic `_catch_revision_errors`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeadsWording<'a> {
    /// Name this argument, the command's own, rather than the part of it that failed.
    Given(&'a str),
    Stamp,
    NewRevision,
}

/// Rewords a [`Error::MultipleHeads`] for the command; any other error stays as it is.
pub(crate) fn reword_heads(error: Error, wording: HeadsWording<'_>) -> Error {
    let Error::MultipleHeads { heads, .. } = error else {
        return error;
    };
    match wording {
        HeadsWording::Given(given) => Error::MultipleHeads {
            argument: given.to_string(),
            heads,
            offline_start: false,
        },
        HeadsWording::Stamp => Error::MultipleHeadsToStamp { heads },
        HeadsWording::NewRevision => Error::MultipleHeadsForNewRevision {
            heads,
            merge: false,
        },
    }
}

/// A position in a walk: below every base (`None` in Alembic), the `base` symbol, or a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pos {
    Null,
    Base,
    Rev(usize),
}

impl Pos {
    pub(crate) fn rev(self) -> Option<usize> {
        match self {
            Pos::Rev(i) => Some(i),
            _ => None,
        }
    }
}

impl Relative<'_> {
    /// The error of a relative target that ran out of revisions.
    fn too_short(&self) -> Error {
        Error::RelativeTooFar {
            relative: self.relative_text.to_string(),
            steps: self.relative.abs(),
        }
    }
}

impl RevisionGraph {
    /// The identifiers a reference expands to (unresolved strings: `head`, `heads` become ids,
    /// `base` nothing) and its branch label (Alembic `_resolve_revision_number`).
    pub(crate) fn resolve_revision_number<'a>(
        &'a self,
        reference: &RevisionRef<'a>,
    ) -> Result<(Vec<String>, Option<&'a str>)> {
        let branch_label = reference.branch;
        let ids = match reference.symbol {
            Symbol::Heads => match branch_label {
                Some(label) => self
                    .filter_for_lineage(&self.head_indices(), label, false)?
                    .into_iter()
                    .map(|i| self.rev(i).id().to_string())
                    .collect(),
                None => self.real_heads().into_iter().map(String::from).collect(),
            },
            Symbol::Head => self
                .current_head(branch_label)?
                .map(|h| vec![self.rev(h).id().to_string()])
                .unwrap_or_default(),
            Symbol::Base => Vec::new(),
            Symbol::BelowHeads { text, .. } | Symbol::Name(text) => vec![text.to_string()],
        };
        Ok((ids, branch_label))
    }

    /// The single versioned head, optionally within a branch (Alembic `get_current_head`).
    fn current_head(&self, branch_label: Option<&str>) -> Result<Option<usize>> {
        let mut heads = self.head_indices();
        if let Some(label) = branch_label {
            heads = self.filter_for_lineage(&heads, label, false)?;
        }
        if heads.len() > 1 {
            return Err(Error::MultipleHeads {
                argument: match branch_label {
                    Some(label) => format!("{label}@head"),
                    None => "head".into(),
                },
                heads: self.ids_of(&heads),
                offline_start: false,
            });
        }
        Ok(heads.first().copied())
    }

    /// All revisions a reference names (Alembic `get_revisions`); `None` entries stand for
    /// base (a relative walk that went below a root).
    pub(crate) fn get_revisions(&self, reference: &RevisionRef<'_>) -> Result<Vec<Option<usize>>> {
        if let Symbol::BelowHeads { steps, .. } = reference.symbol {
            // `-N` (and `label@-N`): walk down from each real head.
            let mut heads = self.real_head_indices();
            if let Some(label) = reference.branch {
                heads.retain(|&h| self.rev(h).labels().contains(label));
            }
            return heads
                .into_iter()
                .map(|h| {
                    Ok(self
                        .walk(Pos::Rev(h), steps, None, true)?
                        .and_then(Pos::rev))
                })
                .collect();
        }
        let (resolved, branch_label) = self.resolve_revision_number(reference)?;
        resolved
            .iter()
            .map(|r| self.revision_for_ident(Some(r), branch_label))
            .collect()
    }

    /// Several references at once (a tuple in Alembic).
    pub(crate) fn get_revisions_of(&self, references: &[String]) -> Result<Vec<Option<usize>>> {
        let mut out = Vec::new();
        for reference in references {
            out.extend(self.get_revisions(&RevisionRef::parse(reference))?);
        }
        Ok(out)
    }

    /// Exactly one revision for `text` (an id, a prefix, a label, `label@head`); `base` or
    /// nothing is an unknown revision.
    pub(crate) fn resolve_one(&self, text: &str) -> Result<usize> {
        self.get_revision(&RevisionRef::parse(text))?
            .ok_or_else(|| Error::UnknownRevision {
                argument: text.to_string(),
                detail: None,
            })
    }

    /// Exactly one revision or base (Alembic `get_revision`).
    pub(crate) fn get_revision(&self, reference: &RevisionRef<'_>) -> Result<Option<usize>> {
        let (resolved, branch_label) = self.resolve_revision_number(reference)?;
        if resolved.len() > 1 {
            return Err(Error::MultipleHeads {
                argument: reference.text.to_string(),
                heads: resolved,
                offline_start: false,
            });
        }
        self.revision_for_ident(resolved.first().map(String::as_str), branch_label)
    }

    /// The revision a branch qualifier names: a label, a revision id, or a prefix
    /// (Alembic `_resolve_branch`).
    pub(crate) fn resolve_branch(&self, label: &str) -> Result<usize> {
        if let Some(&i) = self.by_label.get(label).or_else(|| self.by_id.get(label)) {
            return Ok(i);
        }
        match self.revision_for_ident(Some(label), None) {
            Ok(Some(i)) => Ok(i),
            Ok(None) | Err(_) => Err(Error::UnknownRevision {
                argument: label.to_string(),
                detail: Some(Unresolved::NoSuchBranch {
                    branch: label.to_string(),
                }),
            }),
        }
    }

    /// One identifier: exact id or label, else a unique prefix (of any key longer than three
    /// characters), constrained to `branch`'s lineage (Alembic `_revision_for_ident`).
    pub(crate) fn revision_for_ident(
        &self,
        ident: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Option<usize>> {
        let branch_rev = match branch {
            Some(label) if !label.is_empty() => Some(self.resolve_branch(label)?),
            _ => None,
        };
        let Some(ident) = ident.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let unresolved = |detail| Error::UnknownRevision {
            argument: ident.to_string(),
            detail: Some(detail),
        };
        let revision = match self.by_id.get(ident).or_else(|| self.by_label.get(ident)) {
            Some(&i) => i,
            None => {
                let mut candidates: Vec<usize> = Vec::new();
                let mut keys: Vec<&str> = Vec::new();
                let ids = self.revs.iter().enumerate().map(|(i, r)| (r.id(), i));
                let labels = self
                    .label_order
                    .iter()
                    .map(|l| (l.as_str(), self.by_label[l]));
                for (key, i) in ids.chain(labels) {
                    if key.len() > 3 && key.starts_with(ident) {
                        candidates.push(i);
                        keys.push(key);
                    }
                }
                if let (Some(label), Some(_)) = (branch, branch_rev) {
                    let keep = self.filter_for_lineage(&candidates, label, false)?;
                    let (c, k): (Vec<usize>, Vec<&str>) = candidates
                        .iter()
                        .zip(&keys)
                        .filter(|(c, _)| keep.contains(c))
                        .map(|(c, k)| (*c, *k))
                        .unzip();
                    candidates = c;
                    keys = k;
                }
                match candidates.as_slice() {
                    [] => {
                        return Err(unresolved(Unresolved::NoSuchRevision {
                            ident: ident.to_string(),
                        }))
                    }
                    [one] => *one,
                    _ => {
                        return Err(unresolved(Unresolved::AmbiguousPrefix {
                            prefix: ident.to_string(),
                            candidates: keys.iter().map(|k| k.to_string()).collect(),
                        }))
                    }
                }
            }
        };
        if let (Some(label), Some(b)) = (branch, branch_rev) {
            if !self.shares_lineage(revision, &[b], false) {
                return Err(unresolved(Unresolved::NotOnBranch {
                    revision: self.rev(revision).id().to_string(),
                    branch: label.to_string(),
                }));
            }
        }
        Ok(Some(revision))
    }

    /// Keeps the targets that are an ancestor or descendant of what `check_against` names
    /// (Alembic `filter_for_lineage`).
    pub(crate) fn filter_for_lineage(
        &self,
        targets: &[usize],
        check_against: &str,
        include_dependencies: bool,
    ) -> Result<Vec<usize>> {
        let (ids, branch_label) =
            self.resolve_revision_number(&RevisionRef::parse(check_against))?;
        let mut shares: Vec<usize> = Vec::new();
        if let Some(label) = branch_label.filter(|l| !l.is_empty()) {
            if let Some(i) = self.revision_for_ident(Some(label), None)? {
                shares.push(i);
            }
        }
        for id in &ids {
            if let Some(i) = self.revision_for_ident(Some(id), None)? {
                shares.push(i);
            }
        }
        if shares.is_empty() && branch_label.is_none() && ids.is_empty() {
            return Ok(targets.to_vec());
        }
        Ok(targets
            .iter()
            .copied()
            .filter(|&t| self.shares_lineage(t, &shares, include_dependencies))
            .collect())
    }

    /// Whether `target` is an ancestor or descendant of (or equal to) any of `against`.
    pub(crate) fn shares_lineage(
        &self,
        target: usize,
        against: &[usize],
        include_dependencies: bool,
    ) -> bool {
        if against.is_empty() {
            return true;
        }
        let (up, down) = if include_dependencies {
            (self.ancestors(&[target]), self.descendants(&[target]))
        } else {
            (
                self.versioned_ancestors_set(&[target]),
                self.versioned_descendants(&[target]),
            )
        };
        against.iter().any(|&a| up.contains(a) || down.contains(a))
    }

    /// Walks `steps` up (positive) or down (negative) the tree (Alembic `_walk`). Returns
    /// `None` when the walk leaves the tree and `no_overwalk` is set.
    pub(crate) fn walk(
        &self,
        start: Pos,
        steps: i64,
        branch_label: Option<&str>,
        no_overwalk: bool,
    ) -> Result<Option<Pos>> {
        let mut current = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<Pos> = if steps > 0 {
                let up: Vec<usize> = match current {
                    Pos::Null => self.base_indices(),
                    Pos::Rev(i) => self.rev(i).next().to_vec(),
                    Pos::Base => return Err(Error::WalkedTooFar),
                };
                let up = match branch_label {
                    Some(label) => self.filter_for_lineage(&up, label, false)?,
                    None => up,
                };
                up.into_iter().map(Pos::Rev).collect()
            } else {
                match current {
                    Pos::Base => Vec::new(),
                    Pos::Null => self.head_indices().into_iter().map(Pos::Rev).collect(),
                    Pos::Rev(i) if self.rev(i).down().is_empty() => vec![Pos::Base],
                    Pos::Rev(i) => self.rev(i).down().iter().map(|&d| Pos::Rev(d)).collect(),
                }
            };
            match children.as_slice() {
                [] => return Ok(if no_overwalk { None } else { Some(current) }),
                [one] => current = *one,
                _ => return Err(Error::AmbiguousWalk { steps }),
            }
        }
        Ok(Some(current))
    }

    fn pos_of(&self, id: Option<usize>) -> Pos {
        id.map_or(Pos::Null, Pos::Rev)
    }

    /// The start of a relative walk named `label@symbol`, or `symbol` without a label.
    fn relative_start(&self, label: Option<&str>, symbol: &str) -> Result<Pos> {
        let ident = match label {
            None => symbol.to_string(),
            Some(label) => format!("{label}@{symbol}"),
        };
        Ok(self.pos_of(self.get_revision(&RevisionRef::parse(&ident))?))
    }

    /// The revision a downgrade goes to, and the branch it is limited to
    /// (Alembic `_parse_downgrade_target`). `None` means base.
    pub(crate) fn parse_downgrade_target(
        &self,
        current: &[usize],
        target: &Target<'_>,
        assert_relative_length: bool,
    ) -> Result<(Option<String>, Option<usize>)> {
        let rel = match target {
            Target::Relative(rel) => rel,
            Target::Revisions(reference) => {
                // Alembic splits a downgrade destination at the last `@` (`rpartition`).
                let (branch_label, symbol) = match reference.text.rsplit_once('@') {
                    Some((label, symbol)) if !label.is_empty() => (Some(label.to_string()), symbol),
                    Some((_, symbol)) => (None, symbol),
                    None => (None, reference.text),
                };
                return Ok((
                    branch_label,
                    self.get_revision(&RevisionRef::parse(symbol))?,
                ));
            }
        };
        let branch_label = rel.branch_label.map(String::from);
        if rel.relative >= 0 {
            let Some(symbol) = rel.symbol else {
                return Err(rel.too_short());
            };
            let start = self.relative_start(None, symbol)?;
            let rev = self.walk(
                start,
                rel.relative,
                rel.branch_label,
                assert_relative_length,
            )?;
            return match rev {
                None => Err(Error::WalkedTooFar),
                Some(pos) => Ok((branch_label, pos.rev())),
            };
        }
        let relative_to_current = rel.symbol.is_none();
        let (symbol, branch_label) = match rel.symbol {
            Some(symbol) => (symbol.to_string(), branch_label),
            None => match rel.branch_label {
                Some(label) => {
                    let mut on_branch = self.filter_for_lineage(current, label, false)?;
                    if on_branch.is_empty() {
                        // The branch's head may be consumed by a dependency: look at the
                        // effective current heads instead.
                        let all_current = self.all_current(current);
                        on_branch = self.filter_for_lineage(&all_current, label, false)?;
                    }
                    match on_branch.as_slice() {
                        [one] => (self.rev(*one).id().to_string(), branch_label),
                        _ => {
                            return Err(Error::BranchCurrentNotSingle {
                                branch: label.to_string(),
                                count: on_branch.len(),
                            })
                        }
                    }
                }
                None => {
                    let Some(&first) = current.first() else {
                        return Err(rel.too_short());
                    };
                    // Several current heads: Alembic warns and uses the first row, limited
                    // to its own branch.
                    let id = self.rev(first).id().to_string();
                    (id.clone(), Some(id))
                }
            },
        };
        let start = self.relative_start(branch_label.as_deref(), &symbol)?;
        let rev = self.walk(start, rel.relative, None, assert_relative_length)?;
        match rev {
            None if relative_to_current => Err(rel.too_short()),
            None => Err(Error::WalkedTooFar),
            Some(pos) => Ok((branch_label, pos.rev())),
        }
    }

    /// The revisions an upgrade goes to (Alembic `_parse_upgrade_target`).
    pub(crate) fn parse_upgrade_target(
        &self,
        current: &[usize],
        target: &Target<'_>,
        assert_relative_length: bool,
    ) -> Result<Vec<Option<usize>>> {
        let rel = match target {
            Target::Relative(rel) => rel,
            Target::Revisions(reference) => return self.get_revisions(reference),
        };
        if rel.relative > 0 {
            let Some(symbol) = rel.symbol else {
                return self.upgrade_from_current(current, rel, assert_relative_length);
            };
            let start = self.relative_start(None, symbol)?;
            return match self.walk(
                start,
                rel.relative,
                rel.branch_label,
                assert_relative_length,
            )? {
                // Alembic fails here with an AssertionError; say what happened instead.
                None => Err(Error::WalkedTooFar),
                Some(pos) => Ok(vec![pos.rev()]),
            };
        }
        let Some(symbol) = rel.symbol else {
            return Err(rel.too_short());
        };
        let start = self.relative_start(rel.branch_label, symbol)?;
        match self.walk(start, rel.relative, None, assert_relative_length)? {
            None => Err(Error::WalkedTooFar),
            Some(pos) => Ok(vec![pos.rev()]),
        }
    }

    /// `+N` or `label@+N`: up from the current revisions (of the branch).
    fn upgrade_from_current(
        &self,
        current: &[usize],
        rel: &Relative<'_>,
        assert_relative_length: bool,
    ) -> Result<Vec<Option<usize>>> {
        let mut starts: Vec<Pos> = if current.is_empty() {
            vec![Pos::Null]
        } else {
            current.iter().map(|&c| Pos::Rev(c)).collect()
        };
        if let Some(label) = rel.branch_label {
            let on_branch = self.filter_for_lineage(current, label, false)?;
            starts = if on_branch.is_empty() {
                // The branch is not a current head: start at the tips of what is applied on
                // it (the branch point), or at base.
                let applied: Vec<usize> = self.ancestors(current).iter().collect();
                let active = self.filter_for_lineage(&applied, label, false)?;
                let tips: Vec<usize> = active
                    .iter()
                    .copied()
                    .filter(|&a| {
                        !active
                            .iter()
                            .any(|&b| self.rev(b).normalized_down().contains(&a))
                    })
                    .collect();
                if tips.is_empty() {
                    vec![Pos::Null]
                } else {
                    tips.into_iter().map(Pos::Rev).collect()
                }
            } else {
                on_branch.into_iter().map(Pos::Rev).collect()
            };
        }
        if starts.len() > 1 {
            return Err(Error::AmbiguousUpgrade);
        }
        let rev = self.walk(
            starts[0],
            rel.relative,
            rel.branch_label,
            assert_relative_length,
        )?;
        match rev {
            None => Err(rel.too_short()),
            Some(pos) => Ok(vec![pos.rev()]),
        }
    }

    /// The current revisions as a user sees them: version rows plus what dependencies imply,
    /// reduced to the tips (Alembic `_get_all_current`). Load order.
    pub(crate) fn all_current(&self, rows: &[usize]) -> Vec<usize> {
        // The set is closed under ancestors, so a revision has a descendant in it exactly when
        // one of its children is in it.
        let all = self.ancestors(rows);
        all.iter()
            .filter(|&r| !self.rev(r).next().iter().any(|&c| all.contains(c)))
            .collect()
    }

    /// Resolves version rows (full ids) to revisions; an unknown row fails like Alembic.
    pub(crate) fn resolve_rows(&self, rows: &[String]) -> Result<Vec<usize>> {
        rows.iter()
            .filter_map(|r| self.revision_for_ident(Some(r), None).transpose())
            .collect()
    }

    /// Resolves any target form to the revisions it names (`show`), load-independent order as
    /// Alembic returns them. `base` names nothing.
    pub fn resolve(&self, target: &str) -> Result<Vec<String>> {
        let revs = self.get_revisions(&RevisionRef::parse(target))?;
        Ok(revs
            .into_iter()
            .flatten()
            .map(|i| self.rev(i).id().to_string())
            .collect())
    }

    /// The effective current revisions for version rows (`current`), load order; an unknown
    /// row is an error.
    pub fn current(&self, rows: &[String]) -> Result<Vec<String>> {
        let resolved = self.resolve_rows(rows)?;
        Ok(self.ids_of(&self.all_current(&resolved)))
    }

    /// The version rows an offline (`--sql`) run starts from, given the `FROM` of `FROM:TO`.
    pub fn offline_start(&self, start: &str) -> Result<Vec<String>> {
        if start.is_empty() || start == "base" {
            return Ok(Vec::new());
        }
        let rev = self
            .get_revision(&RevisionRef::parse(start))
            .map_err(|error| match error {
                Error::MultipleHeads {
                    argument, heads, ..
                } => Error::MultipleHeads {
                    argument,
                    heads,
                    offline_start: true,
                },
                other => other,
            })?;
        Ok(rev
            .map(|i| vec![self.rev(i).id().to_string()])
            .unwrap_or_default())
    }
}
