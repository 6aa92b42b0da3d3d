//! Which names a revision id or branch label may take: not a word the target grammar reserves,
//! not a label that shadows a revision id, not a label the grammar reads as syntax. New
//! revisions are refused such names; `check` reports them in existing files, which still load
//! (Alembic loads them too).

use std::path::PathBuf;

use super::target::{parse_target, Symbol, Target};
use super::RevisionGraph;
use crate::error::{Error, LabelSyntax, NameKind, Result};

/// The words targets give a meaning of their own (`current` at the command level).
const RESERVED: [&str; 4] = ["head", "heads", "base", "current"];

fn reserved(kind: NameKind, name: &str) -> Option<Error> {
    RESERVED.contains(&name).then(|| Error::ReservedName {
        kind,
        name: name.to_string(),
    })
}

/// Why no target can name `label` (not a reserved word), by the grammar itself: the label
/// alone and `label@head` must parse back to the label.
fn label_syntax(label: &str) -> Option<LabelSyntax> {
    let alone = matches!(parse_target(label),
        Target::Revisions(r) if r.branch.is_none() && r.symbol == Symbol::Name(label));
    let qualified = format!("{label}@head");
    let as_branch = matches!(parse_target(&qualified),
        Target::Revisions(r) if r.branch == Some(label) && r.symbol == Symbol::Head);
    if label.contains(':') {
        Some(LabelSyntax::Colon)
    } else if label.contains('@') {
        Some(LabelSyntax::At)
    } else if !(alone && as_branch) {
        Some(LabelSyntax::Relative)
    } else {
        None
    }
}

impl RevisionGraph {
    /// The first revision id that `label` is a proper prefix of, load order.
    fn shadowed_by(&self, label: &str) -> Option<&str> {
        self.ids()
            .find(|id| id.len() > label.len() && id.starts_with(label))
    }

    /// Refuses a reserved id for a new revision, or one that an existing label is a prefix of.
    pub(crate) fn check_new_revision_id(&self, id: &str) -> Result<()> {
        if let Some(e) = reserved(NameKind::RevisionId, id) {
            return Err(e);
        }
        match self
            .label_order
            .iter()
            .find(|l| id.len() > l.len() && id.starts_with(l.as_str()))
        {
            Some(label) => Err(Error::LabelShadowsRevision {
                label: label.clone(),
                revision: id.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses a new branch label that is reserved, that no target could name, or that is a
    /// prefix of a revision id (`new_id` is the new revision's own).
    pub(crate) fn check_new_label(&self, label: &str, new_id: &str) -> Result<()> {
        if let Some(e) = reserved(NameKind::BranchLabel, label) {
            return Err(e);
        }
        if let Some(syntax) = label_syntax(label) {
            return Err(Error::UntargetableLabel {
                label: label.to_string(),
                syntax,
            });
        }
        let revision = self
            .shadowed_by(label)
            .or((new_id.len() > label.len() && new_id.starts_with(label)).then_some(new_id));
        match revision {
            Some(revision) => Err(Error::LabelShadowsRevision {
                label: label.to_string(),
                revision: revision.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Reserved ids and labels and shadowing labels in the files, each with the file that
    /// declares it (`check` problems: such a name changes what a target means).
    pub fn name_problems(&self) -> Vec<(PathBuf, Error)> {
        let mut found = Vec::new();
        for rev in &self.revs {
            if let Some(e) = reserved(NameKind::RevisionId, &rev.id) {
                found.push((rev.path.clone(), e));
            }
            for label in &rev.declared_labels {
                let problem = reserved(NameKind::BranchLabel, label).or_else(|| {
                    self.shadowed_by(label)
                        .map(|revision| Error::LabelShadowsRevision {
                            label: label.clone(),
                            revision: revision.to_string(),
                        })
                });
                found.extend(problem.map(|e| (rev.path.clone(), e)));
            }
        }
        found
    }

    /// Labels in the files that no target can name (`check` warnings: they still work in
    /// `depends_on`), each with the file that declares it.
    pub fn untargetable_labels(&self) -> Vec<(PathBuf, Error)> {
        self.revs
            .iter()
            .flat_map(|rev| {
                rev.declared_labels.iter().filter_map(|label| {
                    let syntax = (!RESERVED.contains(&label.as_str()))
                        .then(|| label_syntax(label))
                        .flatten();
                    syntax.map(|syntax| {
                        (
                            rev.path.clone(),
                            Error::UntargetableLabel {
                                label: label.clone(),
                                syntax,
                            },
                        )
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::graph;

    const E: &[&str] = &[];

    #[test]
    fn labels_are_untargetable_exactly_where_alembics_grammar_reads_syntax() {
        for label in [
            "core-plugin",
            "my-core-2",
            "core+plugin",
            "v1.2",
            "a b",
            "billing",
        ] {
            assert_eq!(label_syntax(label), None, "{label}");
        }
        for (label, syntax) in [
            ("a:b", LabelSyntax::Colon),
            ("a@b", LabelSyntax::At),
            // `release-2` alone is `release` minus 2; `release-2@head` too, as `re.match`
            // ignores what follows the number.
            ("release-2", LabelSyntax::Relative),
            ("x+1", LabelSyntax::Relative),
            ("-3", LabelSyntax::Relative),
            ("+1z", LabelSyntax::Relative),
        ] {
            assert_eq!(label_syntax(label), Some(syntax), "{label}");
        }
    }

    #[test]
    fn reserved_and_shadowing_names_are_refused_for_new_revisions() {
        let g = graph(&[("abcd1234", E, &["core-plugin"], E)]);
        for word in RESERVED {
            let e = g.check_new_revision_id(word).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::ReservedName {
                        kind: NameKind::RevisionId,
                        ..
                    }
                ),
                "{e}"
            );
            let e = g.check_new_label(word, "ffff").unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::ReservedName {
                        kind: NameKind::BranchLabel,
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = g.check_new_label("abcd", "ffff").unwrap_err();
        assert_eq!(
            e.to_string(),
            "branch label `abcd` is a prefix of revision id `abcd1234`: in a target, `abcd` \
             names the label's revision, never `abcd1234`"
        );
        // The new revision's own id counts too, and an id an existing label is a prefix of.
        assert!(g.check_new_label("ffff", "ffff0001").is_err());
        assert!(g.check_new_revision_id("core").is_ok());
        let g = graph(&[("a1", E, &["core"], E)]);
        assert!(g.check_new_revision_id("core1").is_err());
        assert!(g.check_new_label("release-2", "ffff").is_err());
        g.check_new_label("core-plugin", "ffff").unwrap();
    }

    #[test]
    fn existing_files_with_such_names_load_and_are_reported() {
        let g = graph(&[
            ("base", E, E, E),
            ("abcd1234", &["base"], &["heads", "abcd"], E),
            ("ffff", &["abcd1234"], &["release-2", "core-plugin"], E),
        ]);
        let problems: Vec<String> = g
            .name_problems()
            .iter()
            .map(|(_, e)| e.to_string())
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("revision id `base` is a reserved word"));
        assert!(problems[1].starts_with("branch label `heads` is a reserved word"));
        assert!(problems[2].starts_with("branch label `abcd` is a prefix"));
        let untargetable = g.untargetable_labels();
        assert_eq!(untargetable.len(), 1);
        assert_eq!(untargetable[0].0, PathBuf::from("versions/ffff.sql"));
    }
}
