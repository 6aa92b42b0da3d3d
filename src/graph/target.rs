//! The target grammar and its resolution, with Alembic's semantics: ids and unique prefixes,
//! branch labels, `head`, `heads`, `base`, `label@head`, `label@rev`, relative `+N`/`-N`,
//! `REV+N`, `label@-N`. Errors are raised in Alembic's categories (`RevError`) and reworded
//! per command the way `alembic.command` does (`Can't locate revision identified by ...`).

use std::sync::OnceLock;

use regex::Regex;

use super::RevisionGraph;
use crate::error::Error;

/// Alembic's failure categories; commands turn them into user messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RevError {
    /// An identifier does not resolve; `argument` is the token at fault, `detail` the reason.
    Resolution { argument: String, detail: String },
    /// `head` (or `label@head`) names several heads.
    MultipleHeads {
        heads: Vec<String>,
        argument: String,
    },
    /// Anything else, with Alembic's message.
    Revision(String),
    /// A range whose ends are not on one line of descent.
    RangeNotAncestor { lower: String, upper: String },
}

pub(crate) type RevResult<T> = std::result::Result<T, RevError>;

/// How each command words `RevError`s (Alembic `_catch_revision_errors`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorWording {
    /// Replaces the range message, e.g. `Destination {end} is not a valid downgrade target ...`.
    pub(crate) ancestor: Option<String>,
    /// Replaces the multiple-heads message (stamp, revision).
    pub(crate) multiple_heads: Option<String>,
    pub(crate) start: Option<String>,
    pub(crate) end: Option<String>,
}

impl RevError {
    pub(crate) fn into_error(self, wording: &ErrorWording) -> Error {
        match self {
            RevError::Resolution { argument, detail } => Error::Resolution {
                message: format!("Can't locate revision identified by '{argument}'"),
                hint: Some(detail),
            },
            RevError::MultipleHeads { heads, argument } => {
                let head_arg = wording.end.clone().unwrap_or(argument);
                let message = wording.multiple_heads.clone().unwrap_or_else(|| {
                    format!(
                        "Multiple head revisions are present for given argument '{head_arg}'; please specify a specific target revision, '<branchname>@{head_arg}' to narrow to a specific head, or 'heads' for all heads"
                    )
                });
                Error::Resolution {
                    message,
                    hint: Some(format!(
                        "the heads are {}; use `heads` for all of them or `<label>@head` for one branch",
                        heads.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            RevError::Revision(message) => {
                let hint = (message == "Ambiguous walk").then(|| {
                    "a relative step cannot choose between the parents of a merge or the branches of a branch point; name the revision to go to, or use `<label>@-N`".to_string()
                });
                Error::Resolution { message, hint }
            }
            RevError::RangeNotAncestor { lower, upper } => {
                let start = wording.start.clone().unwrap_or(lower);
                let end = wording.end.clone().unwrap_or(upper);
                let message = match &wording.ancestor {
                    Some(template) => template.replace("{start}", &start).replace("{end}", &end),
                    None => format!(
                        "Requested range {start}:{end} does not refer to ancestor/descendant revisions along the same branch"
                    ),
                };
                Error::resolution(message)
            }
        }
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

/// A relative target `[label@][symbol](+|-)N`, matched at the start only (as `re.match`).
pub(crate) struct Relative<'a> {
    pub(crate) branch_label: Option<&'a str>,
    pub(crate) symbol: Option<&'a str>,
    /// The signed number as written, e.g. `-2`.
    pub(crate) relative_text: &'a str,
    pub(crate) relative: i64,
}

pub(crate) fn parse_relative(target: &str) -> Option<Relative<'_>> {
    static RELATIVE: OnceLock<Regex> = OnceLock::new();
    let re = RELATIVE.get_or_init(|| {
        Regex::new(r"^(?:(.+?)@)?(\w+)?([+-]\d+)").expect("the relative-target pattern is valid")
    });
    let caps = re.captures(target)?;
    let relative_text = caps.get(3)?.as_str();
    // An absurdly long number can only overshoot; saturate instead of failing to parse.
    let relative = relative_text
        .parse::<i64>()
        .unwrap_or(if relative_text.starts_with('-') {
            i64::MIN / 2
        } else {
            i64::MAX / 2
        });
    Some(Relative {
        branch_label: caps.get(1).map(|m| m.as_str()),
        symbol: caps.get(2).map(|m| m.as_str()),
        relative_text,
        relative,
    })
}

/// `relative` as Alembic prints it in "didn't produce %d migrations".
fn abs_count(relative: i64) -> i64 {
    relative.abs()
}

impl RevisionGraph {
    /// Splits `label@id` and expands `head`, `heads`, `base` (Alembic `_resolve_revision_number`).
    /// Returns the identifiers (unresolved strings) and the branch label.
    pub(crate) fn resolve_revision_number<'a>(
        &'a self,
        id: &'a str,
    ) -> RevResult<(Vec<String>, Option<&'a str>)> {
        let (branch_label, id) = match id.split_once('@') {
            Some((label, rest)) => (Some(label), rest),
            None => (None, id),
        };
        match id {
            "heads" => {
                let heads = match branch_label {
                    Some(label) => self
                        .filter_for_lineage(&self.head_indices(), label, false)?
                        .into_iter()
                        .map(|i| self.revs[i].id.clone())
                        .collect(),
                    None => self.real_heads().into_iter().map(String::from).collect(),
                };
                Ok((heads, branch_label))
            }
            "head" => Ok((
                self.current_head(branch_label)?
                    .map(|h| vec![self.revs[h].id.clone()])
                    .unwrap_or_default(),
                branch_label,
            )),
            "base" | "" => Ok((Vec::new(), branch_label)),
            other => Ok((vec![other.to_string()], branch_label)),
        }
    }

    /// The single versioned head, optionally within a branch (Alembic `get_current_head`).
    fn current_head(&self, branch_label: Option<&str>) -> RevResult<Option<usize>> {
        let mut heads = self.head_indices();
        if let Some(label) = branch_label {
            heads = self.filter_for_lineage(&heads, label, false)?;
        }
        if heads.len() > 1 {
            return Err(RevError::MultipleHeads {
                heads: heads.iter().map(|&h| self.revs[h].id.clone()).collect(),
                argument: match branch_label {
                    Some(label) => format!("{label}@head"),
                    None => "head".into(),
                },
            });
        }
        Ok(heads.first().copied())
    }

    /// All revisions an identifier names (Alembic `get_revisions`); `None` entries stand for
    /// base (a relative walk that went below a root).
    pub(crate) fn get_revisions(&self, id: &str) -> RevResult<Vec<Option<usize>>> {
        let (resolved, branch_label) = self.resolve_revision_number(id)?;
        if let [single] = resolved.as_slice() {
            if let Ok(steps) = single.parse::<i64>() {
                if steps < 0 {
                    // `-N` (and `label@-N`): walk down from each real head.
                    let mut heads = self.real_head_indices();
                    if let Some(label) = branch_label {
                        heads.retain(|&h| self.revs[h].labels.contains(label));
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
            }
        }
        resolved
            .iter()
            .map(|r| self.revision_for_ident(Some(r), branch_label))
            .collect()
    }

    /// Several identifiers at once (a tuple in Alembic).
    pub(crate) fn get_revisions_of(&self, ids: &[String]) -> RevResult<Vec<Option<usize>>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.get_revisions(id)?);
        }
        Ok(out)
    }

    /// Exactly one revision or base (Alembic `get_revision`).
    pub(crate) fn get_revision(&self, id: &str) -> RevResult<Option<usize>> {
        let (resolved, branch_label) = self.resolve_revision_number(id)?;
        if resolved.len() > 1 {
            return Err(RevError::MultipleHeads {
                heads: resolved,
                argument: id.to_string(),
            });
        }
        self.revision_for_ident(resolved.first().map(String::as_str), branch_label)
    }

    /// The revision a branch qualifier names: a label, a revision id, or a prefix
    /// (Alembic `_resolve_branch`).
    pub(crate) fn resolve_branch(&self, label: &str) -> RevResult<usize> {
        if let Some(&i) = self.by_label.get(label).or_else(|| self.by_id.get(label)) {
            return Ok(i);
        }
        match self.revision_for_ident(Some(label), None) {
            Ok(Some(i)) => Ok(i),
            Ok(None) | Err(_) => Err(RevError::Resolution {
                argument: label.to_string(),
                detail: format!("No such branch: '{label}'"),
            }),
        }
    }

    /// One identifier: exact id or label, else a unique prefix (of any key longer than three
    /// characters), constrained to `branch`'s lineage (Alembic `_revision_for_ident`).
    pub(crate) fn revision_for_ident(
        &self,
        ident: Option<&str>,
        branch: Option<&str>,
    ) -> RevResult<Option<usize>> {
        let branch_rev = match branch {
            Some(label) if !label.is_empty() => Some(self.resolve_branch(label)?),
            _ => None,
        };
        let Some(ident) = ident.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let revision = match self.by_id.get(ident).or_else(|| self.by_label.get(ident)) {
            Some(&i) => i,
            None => {
                let mut candidates: Vec<usize> = Vec::new();
                let mut keys: Vec<&str> = Vec::new();
                let ids = self
                    .revs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.id.as_str(), i));
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
                        return Err(RevError::Resolution {
                            argument: ident.to_string(),
                            detail: format!(
                                "No such revision or branch '{ident}'{}",
                                if ident.len() < 4 {
                                    "; please ensure at least four characters are present for partial revision identifier matches"
                                } else {
                                    ""
                                }
                            ),
                        })
                    }
                    [one] => *one,
                    _ => {
                        let listed: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
                        return Err(RevError::Resolution {
                            argument: ident.to_string(),
                            detail: format!(
                                "Multiple revisions start with '{ident}': {}",
                                listed.join(", ")
                            ),
                        });
                    }
                }
            }
        };
        if let (Some(label), Some(b)) = (branch, branch_rev) {
            if !self.shares_lineage(revision, &[b], false) {
                return Err(RevError::Resolution {
                    argument: ident.to_string(),
                    detail: format!(
                        "Revision {} is not a member of branch '{label}'",
                        self.revs[revision].id
                    ),
                });
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
    ) -> RevResult<Vec<usize>> {
        let (ids, branch_label) = self.resolve_revision_number(check_against)?;
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
    ) -> RevResult<Option<Pos>> {
        let mut current = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<Pos> = if steps > 0 {
                let up: Vec<usize> = match current {
                    Pos::Null => self.base_indices(),
                    Pos::Rev(i) => self.revs[i].next.clone(),
                    Pos::Base => return Err(RevError::Revision("Walked too far".into())),
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
                    Pos::Rev(i) if self.revs[i].down.is_empty() => vec![Pos::Base],
                    Pos::Rev(i) => self.revs[i].down.iter().map(|&d| Pos::Rev(d)).collect(),
                }
            };
            match children.as_slice() {
                [] => return Ok(if no_overwalk { None } else { Some(current) }),
                [one] => current = *one,
                _ => return Err(RevError::Revision("Ambiguous walk".into())),
            }
        }
        Ok(Some(current))
    }

    fn pos_of(&self, id: Option<usize>) -> Pos {
        id.map_or(Pos::Null, Pos::Rev)
    }

    /// The revision a downgrade goes to, and the branch it is limited to
    /// (Alembic `_parse_downgrade_target`). `None` means base.
    pub(crate) fn parse_downgrade_target(
        &self,
        current: &[usize],
        target: &str,
        assert_relative_length: bool,
    ) -> RevResult<(Option<String>, Option<usize>)> {
        let too_short = |rel: &Relative<'_>| {
            RevError::Revision(format!(
                "Relative revision {} didn't produce {} migrations",
                rel.relative_text,
                abs_count(rel.relative)
            ))
        };
        if let Some(rel) = parse_relative(target) {
            let branch_label = rel.branch_label.map(String::from);
            if rel.relative >= 0 {
                let Some(symbol) = rel.symbol else {
                    return Err(too_short(&rel));
                };
                let start = self.pos_of(self.get_revision(symbol)?);
                let rev = self.walk(
                    start,
                    rel.relative,
                    rel.branch_label,
                    assert_relative_length,
                )?;
                return match rev {
                    None => Err(RevError::Revision("Walked too far".into())),
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
                            [one] => (self.revs[*one].id.clone(), branch_label),
                            _ => {
                                return Err(RevError::Revision(format!(
                                    "Not a valid downgrade target from current heads: branch '{label}' has {} current revisions",
                                    on_branch.len()
                                )))
                            }
                        }
                    }
                    None => {
                        let Some(&first) = current.first() else {
                            return Err(too_short(&rel));
                        };
                        // Several current heads: Alembic warns and uses the first row, limited
                        // to its own branch.
                        let id = self.revs[first].id.clone();
                        (id.clone(), Some(id))
                    }
                },
            };
            let start_ident = match &branch_label {
                None => symbol.clone(),
                Some(label) => format!("{label}@{symbol}"),
            };
            let start = self.pos_of(self.get_revision(&start_ident)?);
            let rev = self.walk(start, rel.relative, None, assert_relative_length)?;
            return match rev {
                None if relative_to_current => Err(too_short(&rel)),
                None => Err(RevError::Revision("Walked too far".into())),
                Some(pos) => Ok((branch_label, pos.rev())),
            };
        }
        // Absolute: `label@symbol` or `symbol`.
        let (branch_label, symbol) = match target.rsplit_once('@') {
            Some((label, symbol)) if !label.is_empty() => (Some(label.to_string()), symbol),
            Some((_, symbol)) => (None, symbol),
            None => (None, target),
        };
        Ok((branch_label, self.get_revision(symbol)?))
    }

    /// The revisions an upgrade goes to (Alembic `_parse_upgrade_target`).
    pub(crate) fn parse_upgrade_target(
        &self,
        current: &[usize],
        target: &str,
        assert_relative_length: bool,
    ) -> RevResult<Vec<Option<usize>>> {
        let Some(rel) = parse_relative(target) else {
            return self.get_revisions(target);
        };
        let too_short = || {
            RevError::Revision(format!(
                "Relative revision {} didn't produce {} migrations",
                rel.relative_text,
                abs_count(rel.relative)
            ))
        };
        if rel.relative > 0 {
            let Some(symbol) = rel.symbol else {
                let mut starts: Vec<Pos> = if current.is_empty() {
                    vec![Pos::Null]
                } else {
                    current.iter().map(|&c| Pos::Rev(c)).collect()
                };
                if let Some(label) = rel.branch_label {
                    let on_branch = self.filter_for_lineage(current, label, false)?;
                    starts = if on_branch.is_empty() {
                        // The branch is not a current head: start at the tips of what is
                        // applied on it (the branch point), or at base.
                        let applied: Vec<usize> = self.ancestors(current).iter().collect();
                        let active = self.filter_for_lineage(&applied, label, false)?;
                        let tips: Vec<usize> = active
                            .iter()
                            .copied()
                            .filter(|&a| {
                                !active
                                    .iter()
                                    .any(|&b| self.revs[b].normalized_down.contains(&a))
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
                    return Err(RevError::Revision(
                        "Ambiguous upgrade from multiple current revisions".into(),
                    ));
                }
                let rev = self.walk(
                    starts[0],
                    rel.relative,
                    rel.branch_label,
                    assert_relative_length,
                )?;
                return match rev {
                    None => Err(too_short()),
                    Some(pos) => Ok(vec![pos.rev()]),
                };
            };
            let start = self.pos_of(self.get_revision(symbol)?);
            return match self.walk(
                start,
                rel.relative,
                rel.branch_label,
                assert_relative_length,
            )? {
                // Alembic fails here with an AssertionError; say what happened instead.
                None => Err(RevError::Revision("Walked too far".into())),
                Some(pos) => Ok(vec![pos.rev()]),
            };
        }
        let Some(symbol) = rel.symbol else {
            return Err(too_short());
        };
        let start_ident = match rel.branch_label {
            None => symbol.to_string(),
            Some(label) => format!("{label}@{symbol}"),
        };
        let start = self.pos_of(self.get_revision(&start_ident)?);
        match self.walk(start, rel.relative, None, assert_relative_length)? {
            None => Err(RevError::Revision("Walked too far".into())),
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
            .filter(|&r| !self.revs[r].next.iter().any(|&c| all.contains(c)))
            .collect()
    }

    /// Resolves version rows (full ids) to revisions; an unknown row fails like Alembic.
    pub(crate) fn resolve_rows(&self, rows: &[String]) -> RevResult<Vec<usize>> {
        rows.iter()
            .filter_map(|r| self.revision_for_ident(Some(r), None).transpose())
            .collect()
    }

    /// Resolves any target form to the revisions it names (`show`), load-independent order as
    /// Alembic returns them. `base` names nothing.
    pub fn resolve(&self, target: &str) -> crate::error::Result<Vec<String>> {
        let revs = self
            .get_revisions(target)
            .map_err(|e| e.into_error(&ErrorWording::default()))?;
        Ok(revs
            .into_iter()
            .flatten()
            .map(|i| self.revs[i].id.clone())
            .collect())
    }

    /// The effective current revisions for version rows (`current`), load order; an unknown
    /// row is an error.
    pub fn current(&self, rows: &[String]) -> crate::error::Result<Vec<String>> {
        let resolved = self
            .resolve_rows(rows)
            .map_err(|e| e.into_error(&ErrorWording::default()))?;
        Ok(self
            .all_current(&resolved)
            .into_iter()
            .map(|i| self.revs[i].id.clone())
            .collect())
    }

    /// The version rows an offline (`--sql`) run starts from, given the `FROM` of `FROM:TO`.
    pub fn offline_start(&self, start: &str) -> crate::error::Result<Vec<String>> {
        if start.is_empty() || start == "base" {
            return Ok(Vec::new());
        }
        let rev = self
            .get_revision(start)
            .map_err(|e| e.into_error(&ErrorWording::default()))?;
        Ok(rev
            .map(|i| vec![self.revs[i].id.clone()])
            .unwrap_or_default())
    }
}

impl RevisionGraph {
    /// The parents of a new revision from `--head` values or `merge` arguments, with Alembic's
    /// checks: no duplicates, and each parent a head unless `splice`. `base` gives a new root.
    pub fn new_revision_parents(
        &self,
        heads: &[String],
        splice: bool,
    ) -> crate::error::Result<Vec<String>> {
        let wording = ErrorWording {
            multiple_heads: Some(
                "Multiple heads are present; please specify the head revision on which the new revision should be based, or perform a merge."
                    .into(),
            ),
            ..ErrorWording::default()
        };
        let parents = self
            .get_revisions_of(heads)
            .map_err(|e| e.into_error(&wording))?;
        let parents: Vec<usize> = parents.into_iter().flatten().collect();
        let mut unique = parents.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != parents.len() {
            return Err(Error::resolution("Duplicate head revisions specified"));
        }
        if !splice {
            if let Some(&p) = parents.iter().find(|&&p| !self.revs[p].next.is_empty()) {
                return Err(Error::resolution(format!(
                    "Revision {} is not a head revision; please specify --splice to create a new branch from this revision",
                    self.revs[p].id
                )));
            }
        }
        Ok(parents
            .into_iter()
            .map(|p| self.revs[p].id.clone())
            .collect())
    }

    /// `--depends-on` values as a new file records them: a branch label stays as written,
    /// anything else becomes the full revision id.
    pub fn normalize_new_depends_on(&self, deps: &[String]) -> crate::error::Result<Vec<String>> {
        deps.iter()
            .map(|dep| {
                let rev = self
                    .get_revision(dep)
                    .map_err(|e| e.into_error(&ErrorWording::default()))?
                    .ok_or_else(|| {
                        Error::resolution(format!("Can't locate revision identified by '{dep}'"))
                    })?;
                Ok(if self.revs[rev].labels.contains(dep.as_str()) {
                    dep.clone()
                } else {
                    self.revs[rev].id.clone()
                })
            })
            .collect()
    }

    /// Whether `name` is taken as a revision id or branch label.
    pub fn is_taken(&self, name: &str) -> bool {
        self.by_id.contains_key(name) || self.by_label.contains_key(name)
    }
}

impl RevisionGraph {
    /// Whether `ancestor` lies below `of` (through `down_revision` or dependencies); both are
    /// full ids. A revision is not its own ancestor.
    pub fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        match (self.index_of(ancestor), self.index_of(of)) {
            (Some(a), Some(o)) if a != o => self.ancestors(&[o]).contains(a),
            _ => false,
        }
    }
}
