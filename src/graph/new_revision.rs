//! What a new revision file (`revision`, `merge`) may stand on: its parents, its dependencies
//! as the file records them, and whether an id or label is still free.

use super::resolve::{reword_heads, HeadsWording};
use super::target::RevisionRef;
use super::RevisionGraph;
use crate::error::{Error, Result};

impl RevisionGraph {
    /// The parents of a new revision from `--head` values or `merge` arguments, with Alembic's
    /// checks: no duplicates, and each parent a head unless `splice`. `base` gives a new root.
    pub fn new_revision_parents(&self, heads: &[String], splice: bool) -> Result<Vec<String>> {
        let parents = self
            .get_revisions_of(heads)
            .map_err(|e| reword_heads(e, HeadsWording::NewRevision))?;
        let parents: Vec<usize> = parents.into_iter().flatten().collect();
        let mut unique = parents.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != parents.len() {
            return Err(Error::DuplicateHeads);
        }
        if !splice {
            if let Some(&p) = parents.iter().find(|&&p| !self.rev(p).next().is_empty()) {
                return Err(Error::NotAHead {
                    revision: self.rev(p).id().to_string(),
                });
            }
        }
        Ok(self.ids_of(&parents))
    }

    /// `--depends-on` values as a new file records them: a branch label stays as written,
    /// anything else becomes the full revision id.
    pub fn normalize_new_depends_on(&self, deps: &[String]) -> Result<Vec<String>> {
        deps.iter()
            .map(|dep| {
                let rev = self
                    .get_revision(&RevisionRef::parse(dep))?
                    .ok_or_else(|| Error::UnknownRevision {
                        argument: dep.clone(),
                        detail: None,
                    })?;
                let rev = self.rev(rev);
                Ok(if rev.labels().contains(dep.as_str()) {
                    dep.clone()
                } else {
                    rev.id().to_string()
                })
            })
            .collect()
    }

    /// Whether `name` is taken as a revision id or branch label.
    pub fn is_taken(&self, name: &str) -> bool {
        self.by_id.contains_key(name) || self.by_label.contains_key(name)
    }
}
