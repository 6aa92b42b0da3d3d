//! Graph, resolver and planner tests. The scenarios and expected version-table statements are
//! the ones recorded from running Alembic 1.20 (docs/alembic-compatibility.md), plus scenarios
//! of Alembic's tests/test_revision.py and test_version_traversal.py.

use super::*;
use crate::report::StepKind;
use crate::script::{RevisionMeta, Sections};

/// `(id, down_revisions, branch_labels, depends_on)`.
pub(crate) type Spec<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);

/// A graph from specs in load order.
pub(crate) fn graph(specs: &[Spec<'_>]) -> RevisionGraph {
    try_graph(specs).unwrap_or_else(|e| panic!("graph should build: {e}"))
}

pub(crate) fn try_graph(specs: &[Spec<'_>]) -> Result<RevisionGraph> {
    let scripts: Vec<Script> = specs
        .iter()
        .map(|(id, down, labels, deps)| Script {
            meta: RevisionMeta {
                revision: id.to_string(),
                down_revisions: down.iter().map(|s| s.to_string()).collect(),
                branch_labels: labels.iter().map(|s| s.to_string()).collect(),
                depends_on: deps.iter().map(|s| s.to_string()).collect(),
                ..RevisionMeta::default()
            },
            transactional: true,
            timeouts: Default::default(),
            allows: Vec::new(),
            path: PathBuf::from(format!("versions/{id}.sql")),
            sections: Sections::default(),
        })
        .collect();
    RevisionGraph::build(&scripts)
}

fn rows(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| s.to_string()).collect()
}

/// Version-table statements in the reference's notation: `INSERT a`, `UPDATE a->b`, `DELETE a`.
fn dml(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .flat_map(|s| &s.ops)
        .map(|op| match op {
            VersionOp::Insert { revision } => format!("INSERT {revision}"),
            VersionOp::Update { from, to } => format!("UPDATE {from}->{to}"),
            VersionOp::Delete { revision } => format!("DELETE {revision}"),
        })
        .collect()
}

/// Migration functions run, in the reference's notation: `up:a`, `down:a`.
fn runs(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| {
            let prefix = match s.kind {
                StepKind::Upgrade => "up",
                StepKind::Downgrade => "down",
                StepKind::Stamp => return None,
            };
            Some(format!(
                "{prefix}:{}",
                s.revision.as_deref().unwrap_or_default()
            ))
        })
        .collect()
}

const E: &[&str] = &[];

/// `a -> b -> {c1 -> d1, c2 -> d2}`, labels c1branch/c2branch.
fn br() -> RevisionGraph {
    graph(&[
        ("a", E, E, E),
        ("b", &["a"], E, E),
        ("c1", &["b"], &["c1branch"], E),
        ("d1", &["c1"], E, E),
        ("c2", &["b"], &["c2branch"], E),
        ("d2", &["c2"], E, E),
    ])
}

/// BR plus `e(d1, d2) -> f`.
fn merged() -> RevisionGraph {
    graph(&[
        ("a", E, E, E),
        ("b", &["a"], E, E),
        ("c1", &["b"], &["c1branch"], E),
        ("d1", &["c1"], E, E),
        ("c2", &["b"], &["c2branch"], E),
        ("d2", &["c2"], E, E),
        ("e", &["d1", "d2"], E, E),
        ("f", &["e"], E, E),
    ])
}

/// `a1 -> a2 -> a3`, `b1 -> b2 (depends a2) -> b3`.
fn cur() -> RevisionGraph {
    graph(&[
        ("a1", E, E, E),
        ("a2", &["a1"], E, E),
        ("a3", &["a2"], E, E),
        ("b1", E, E, E),
        ("b2", &["b1"], E, &["a2"]),
        ("b3", &["b2"], E, E),
    ])
}

// ---- structure ----

#[test]
fn heads_bases_and_branch_points() {
    let g = merged();
    assert_eq!(g.heads(), vec!["f"]);
    assert_eq!(g.bases(), vec!["a"]);
    assert_eq!(g.branch_points(), vec!["b"]);
    let e = g.info("e").unwrap();
    assert!(e.is_merge && !e.is_head && !e.is_branch_point);
    let parents: Vec<&str> = g
        .edges()
        .into_iter()
        .filter(|(child, _, kind)| *child == "e" && *kind == EdgeKind::DownRevision)
        .map(|(_, parent, _)| parent)
        .collect();
    assert_eq!(parents, ["d1", "d2"]);
    assert_eq!(br().heads(), vec!["d1", "d2"]);
}

#[test]
fn dependency_makes_effective_head() {
    // a1; b1 (down None, depends_on a1): heads = [a1, b1], real heads = [b1].
    let g = graph(&[("a1", E, E, E), ("b1", E, E, &["a1"])]);
    assert_eq!(g.heads(), vec!["a1", "b1"]);
    assert_eq!(g.real_heads(), vec!["b1"]);
    assert!(g.info("a1").unwrap().is_effective_head);
}

#[test]
fn labels_propagate_like_alembic() {
    // Label on `e` in d -> e -> x -> f gives d the label too (d is a root, not a branch point).
    let g = graph(&[
        ("d", E, E, E),
        ("e", &["d"], &["lbl"], E),
        ("x", &["e"], E, E),
        ("f", &["x"], E, E),
    ]);
    for id in ["d", "e", "x", "f"] {
        assert!(
            g.info(id)
                .unwrap()
                .branch_labels
                .contains(&"lbl".to_string()),
            "{id}"
        );
    }
    // Label on c in a -> b -> {c -> d, e} labels only c and d.
    let g = graph(&[
        ("a", E, E, E),
        ("b", &["a"], E, E),
        ("c", &["b"], &["lbl"], E),
        ("d", &["c"], E, E),
        ("e", &["b"], E, E),
    ]);
    let labelled: Vec<&str> = g
        .ids()
        .filter(|id| !g.info(id).unwrap().branch_labels.is_empty())
        .collect();
    assert_eq!(labelled, vec!["c", "d"]);
    // In MERGED, c2branch reaches the merge and beyond: `c2branch@head` is f.
    let g = merged();
    for id in ["c2", "d2", "e", "f"] {
        assert!(
            g.info(id)
                .unwrap()
                .branch_labels
                .contains(&"c2branch".to_string()),
            "{id}"
        );
    }
    assert_eq!(g.resolve("c2branch@head").unwrap(), vec!["f"]);
}

// ---- validation ----

#[test]
fn duplicate_ids_name_both_files() {
    let err = try_graph(&[("a", E, E, E), ("a", E, E, E)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("revision `a` is declared twice"), "{err}");
    assert_eq!(err.matches("versions/a.sql").count(), 2, "{err}");
}

#[test]
fn missing_parent_and_dependency_are_errors() {
    let err = try_graph(&[("b", &["zzzz"], E, E)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("down_revision `zzzz`") && err.contains("versions/b.sql"),
        "{err}"
    );
    let err = try_graph(&[("a", E, E, E), ("b", E, E, &["nope"])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("depends on `nope`"), "{err}");
}

#[test]
fn cycles_print_the_whole_circle() {
    let err = try_graph(&[
        ("base1", E, E, E),
        ("a", &["c"], E, E),
        ("b", &["a"], E, E),
        ("c", &["b"], E, E),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Cycle is detected in revisions: "),
        "{text}"
    );
    let circle: Vec<&str> = text
        .trim_start_matches("Cycle is detected in revisions: ")
        .split(" -> ")
        .collect();
    assert_eq!(circle.len(), 4, "{text}");
    assert_eq!(circle.first(), circle.last());
    let mut members = circle[..3].to_vec();
    members.sort_unstable();
    assert_eq!(members, vec!["a", "b", "c"]);
    let err = try_graph(&[("a", E, E, &["b"]), ("b", &["a"], E, E)])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("Dependency cycle is detected"), "{err}");
    let err = try_graph(&[("a", &["a"], E, E)]).unwrap_err().to_string();
    assert!(
        err.contains("Self-loop is detected in revisions (a)"),
        "{err}"
    );
    let err = try_graph(&[("a", E, E, &["a"])]).unwrap_err().to_string();
    assert!(err.contains("Dependency self-loop"), "{err}");
}

#[test]
fn duplicate_label_is_an_error() {
    let err = try_graph(&[("a", E, &["x"], E), ("b", &["a"], &["x"], E)])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Branch name 'x' in revision b already used by revision a"),
        "{err}"
    );
    let err = try_graph(&[("aaaa", E, E, E), ("b", &["aaaa"], &["aaaa"], E)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("Branch name 'aaaa'"), "{err}");
}

#[test]
fn depends_on_accepts_prefix_and_label_and_rejects_ambiguity() {
    let g = graph(&[
        ("aaaa1111", E, &["lib"], E),
        ("bbbb", E, E, &["aaaa"]),
        ("cccc", E, E, &["lib"]),
    ]);
    assert_eq!(g.real_heads(), vec!["bbbb", "cccc"]);
    let err = try_graph(&[
        ("abcd1", E, E, E),
        ("abcd2", E, E, E),
        ("x", E, E, &["abcd"]),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("'abcd1', 'abcd2'"), "{err}");
}

// ---- resolution ----

#[test]
fn prefixes_labels_and_symbols_resolve() {
    let g = graph(&[
        ("aaaa1111", E, E, E),
        ("bbbb2222", &["aaaa1111"], E, E),
        ("cccc1111", &["bbbb2222"], &["c1branch"], E),
        ("cccc2222", &["bbbb2222"], &["c2branch"], E),
    ]);
    assert_eq!(g.resolve("bbbb").unwrap(), vec!["bbbb2222"]);
    // The length rule applies to the candidate, not the query.
    assert_eq!(g.resolve("a").unwrap(), vec!["aaaa1111"]);
    assert_eq!(g.resolve("c1branch").unwrap(), vec!["cccc1111"]);
    assert_eq!(g.resolve("heads").unwrap(), vec!["cccc1111", "cccc2222"]);
    assert_eq!(g.resolve("c2branch@head").unwrap(), vec!["cccc2222"]);
    assert!(g.resolve("base").unwrap().is_empty());
    let err = g.resolve("cccc").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Can't locate revision identified by 'cccc'"
    );
    assert!(err.hint().unwrap().contains("'cccc1111', 'cccc2222'"));
    let err = g.resolve("zz").unwrap_err();
    assert_eq!(err.to_string(), "Can't locate revision identified by 'zz'");
    assert!(err.hint().unwrap().contains("at least four characters"));
    let err = g.resolve("c2branch@cccc1111").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Can't locate revision identified by 'cccc1111'"
    );
    assert!(err
        .hint()
        .unwrap()
        .contains("is not a member of branch 'c2branch'"));
    let err = g.resolve("nobranch@head").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Can't locate revision identified by 'nobranch'"
    );
}

#[test]
fn head_with_several_heads_names_them() {
    let err = br().plan_upgrade(&[], "head").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads"
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("`d1`") && hint.contains("`d2`"), "{hint}");
}

#[test]
fn relative_targets_parse_like_alembics_regex() {
    let r = target::parse_relative("c2branch@head-1").unwrap();
    assert_eq!(
        (r.branch_label, r.symbol, r.relative),
        (Some("c2branch"), Some("head"), -1)
    );
    let r = target::parse_relative("+1xyz").unwrap();
    assert_eq!((r.branch_label, r.symbol, r.relative), (None, None, 1));
    let r = target::parse_relative("ae10+2").unwrap();
    assert_eq!((r.symbol, r.relative), (Some("ae10"), 2));
    assert!(target::parse_relative("ae1027a6acf").is_none());
    assert!(target::parse_relative("heads").is_none());
}

// ---- upgrade (docs/alembic-compatibility.md#version-row-maintenance) ----

#[test]
fn upgrade_heads_from_empty_branch_point_inserts_second_branch() {
    let plan = br().plan_upgrade(&[], "heads").unwrap();
    assert_eq!(
        runs(&plan),
        vec!["up:a", "up:b", "up:c2", "up:d2", "up:c1", "up:d1"]
    );
    assert_eq!(
        dml(&plan),
        vec![
            "INSERT a",
            "UPDATE a->b",
            "UPDATE b->c2",
            "UPDATE c2->d2",
            "INSERT c1",
            "UPDATE c1->d1"
        ]
    );
    assert_eq!(plan.heads_after(), vec!["d1", "d2"]);
    assert!(plan.steps[0].version_table_empty_before);
    assert!(!plan.steps[1].version_table_empty_before);
}

#[test]
fn upgrade_through_merge_deletes_all_but_last_parent() {
    let plan = merged().plan_upgrade(&rows(&["b"]), "f").unwrap();
    assert_eq!(
        dml(&plan),
        vec![
            "UPDATE b->c2",
            "UPDATE c2->d2",
            "INSERT c1",
            "UPDATE c1->d1",
            "DELETE d1",
            "UPDATE d2->e",
            "UPDATE e->f"
        ]
    );
    assert_eq!(plan.heads_after(), vec!["f"]);
    let e_step = &plan.steps[4];
    assert_eq!(
        (e_step.from.clone(), e_step.to.clone()),
        (rows(&["d1", "d2"]), rows(&["e"]))
    );
}

#[test]
fn upgrade_to_other_branch_inserts_row() {
    let plan = br().plan_upgrade(&rows(&["d1"]), "c2").unwrap();
    assert_eq!(dml(&plan), vec!["INSERT c2"]);
    assert_eq!(plan.heads_after(), vec!["c2", "d1"]);
}

#[test]
fn upgrade_to_applied_revision_is_a_silent_no_op() {
    let plan = br().plan_upgrade(&rows(&["d1", "d2"]), "b").unwrap();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.heads_after(), vec!["d1", "d2"]);
}

#[test]
fn forest_upgrades_last_loaded_tree_first() {
    let g = graph(&[
        ("a1", E, E, E),
        ("b1", &["a1"], E, E),
        ("a2", E, E, E),
        ("b2", &["a2"], E, E),
    ]);
    let plan = g.plan_upgrade(&[], "heads").unwrap();
    assert_eq!(runs(&plan), vec!["up:a2", "up:b2", "up:a1", "up:b1"]);
    let stamp = g.plan_stamp(&[], &rows(&["heads"]), false).unwrap();
    assert_eq!(dml(&stamp), vec!["INSERT b1", "INSERT b2"]);
}

#[test]
fn dependency_is_consumed_like_a_merge_parent() {
    let g = cur();
    let plan = g.plan_upgrade(&[], "b2").unwrap();
    assert_eq!(runs(&plan), vec!["up:a1", "up:a2", "up:b1", "up:b2"]);
    assert_eq!(
        dml(&plan),
        vec![
            "INSERT a1",
            "UPDATE a1->a2",
            "INSERT b1",
            "DELETE b1",
            "UPDATE a2->b2"
        ]
    );
    let plan = g.plan_upgrade(&[], "heads").unwrap();
    assert_eq!(
        runs(&plan),
        vec!["up:a1", "up:a2", "up:b1", "up:b2", "up:b3", "up:a3"]
    );
    assert_eq!(dml(&plan)[5..], ["UPDATE b2->b3", "INSERT a3"]);
    assert_eq!(plan.heads_after(), vec!["a3", "b3"]);
    // The step's `-- Running` line shows versioned parents only.
    assert_eq!(plan.steps[3].from, vec!["b1"]);
    // `current` shows what the rows imply: stamping b2 makes a2 current too.
    assert_eq!(g.current(&rows(&["b2"])).unwrap(), vec!["a2", "b2"]);
}

#[test]
fn relative_upgrades() {
    let g = br();
    assert_eq!(
        runs(&g.plan_upgrade(&[], "+2").unwrap()),
        vec!["up:a", "up:b"]
    );
    assert_eq!(
        runs(&g.plan_upgrade(&rows(&["b"]), "c1branch@+1").unwrap()),
        vec!["up:c1"]
    );
    assert_eq!(
        runs(&g.plan_upgrade(&rows(&["c1"]), "c2branch@+2").unwrap()),
        vec!["up:c2", "up:d2"]
    );
    let err = g.plan_upgrade(&rows(&["b"]), "+1").unwrap_err();
    assert_eq!(err.to_string(), "Ambiguous walk");
    assert!(err.hint().unwrap().contains("name the revision to go to"));
    let err = g
        .plan_upgrade(&rows(&["d1", "d2"]), "+1")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Ambiguous upgrade from multiple current revisions");
    let err = g
        .plan_upgrade(&rows(&["c1"]), "+5")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Relative revision +5 didn't produce 5 migrations");
    let err = g.plan_upgrade(&[], "-1").unwrap_err().to_string();
    assert_eq!(err, "Relative revision -1 didn't produce 1 migrations");
    assert_eq!(
        runs(&g.plan_upgrade(&[], "d2-1").unwrap()),
        vec!["up:a", "up:b", "up:c2"]
    );
}

#[test]
fn overlapping_rows_are_reported() {
    let err = br()
        .plan_upgrade(&rows(&["a", "b"]), "heads")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Requested revision b overlaps with other requested revisions a"
    );
}

#[test]
fn unknown_version_row_is_reported() {
    let err = br()
        .plan_upgrade(&rows(&["zzzz"]), "heads")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Can't locate revision identified by 'zzzz'");
}

// ---- downgrade ----

#[test]
fn downgrade_through_merge_unmerges() {
    let plan = merged().plan_downgrade(&rows(&["f"]), "b").unwrap();
    assert_eq!(
        runs(&plan),
        vec!["down:f", "down:e", "down:d1", "down:c1", "down:d2", "down:c2"]
    );
    assert_eq!(
        dml(&plan),
        vec![
            "UPDATE f->e",
            "INSERT d1",
            "UPDATE e->d2",
            "UPDATE d1->c1",
            "DELETE c1",
            "UPDATE d2->c2",
            "UPDATE c2->b"
        ]
    );
    assert_eq!(plan.heads_after(), vec!["b"]);
}

#[test]
fn downgrade_one_branch_to_branch_point() {
    let plan = br()
        .plan_downgrade(&rows(&["c1", "d2"]), "c1branch@b")
        .unwrap();
    assert_eq!(dml(&plan), vec!["DELETE c1"]);
    assert_eq!(plan.heads_after(), vec!["d2"]);
}

#[test]
fn downgrade_minus_one_with_several_heads_uses_first_row() {
    let plan = br().plan_downgrade(&rows(&["d2", "d1"]), "-1").unwrap();
    assert_eq!(dml(&plan), vec!["UPDATE d2->c2"]);
    assert_eq!(plan.heads_after(), vec!["c2", "d1"]);
}

#[test]
fn downgrade_keeps_revisions_still_implied_by_dependencies() {
    let g = graph(&[
        ("a1", E, E, E),
        ("b1", &["a1"], E, E),
        ("c1", &["b1"], E, E),
        ("d1", &["c1"], E, E),
        ("a2", E, E, E),
        ("b2", &["a2"], E, E),
        ("c2", &["b2"], E, &["c1"]),
    ]);
    let plan = g.plan_downgrade(&rows(&["c2", "d1"]), "c1").unwrap();
    assert_eq!(runs(&plan), vec!["down:d1"]);
    assert_eq!(dml(&plan), vec!["DELETE d1"]);
    assert_eq!(plan.heads_after(), vec!["c2"]);
}

#[test]
fn downgrade_base_empties_and_errors_are_alembics() {
    let g = br();
    let plan = g.plan_downgrade(&rows(&["d1", "d2"]), "base").unwrap();
    assert!(plan.heads_after().is_empty());
    assert_eq!(plan.steps.len(), 6);
    assert!(g.plan_downgrade(&[], "base").unwrap().steps.is_empty());
    // Downgrading to the current head is a silent no-op.
    assert!(g
        .plan_downgrade(&rows(&["c1"]), "c1")
        .unwrap()
        .steps
        .is_empty());
    let err = g
        .plan_downgrade(&rows(&["c1"]), "d2")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Destination d2 is not a valid downgrade target from current head(s)"
    );
    let err = g
        .plan_downgrade(&rows(&["b"]), "+1")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Relative revision +1 didn't produce 1 migrations");
    let err = g
        .plan_downgrade(&rows(&["b"]), "-3")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Relative revision -3 didn't produce 3 migrations");
    let err = g
        .plan_downgrade(&rows(&["b"]), "a-2")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Walked too far");
}

// ---- stamp (docs/alembic-compatibility.md#stamp) ----

#[test]
fn stamp_scenarios() {
    let g = merged();
    let stamp = |current: &[&str], targets: &[&str]| {
        dml(&g.plan_stamp(&rows(current), &rows(targets), false).unwrap())
    };
    assert_eq!(
        stamp(&["d1", "c2"], &["b"]),
        vec!["DELETE d1", "UPDATE c2->b"]
    );
    assert_eq!(stamp(&["d1", "c2"], &["c1branch@base"]), vec!["DELETE d1"]);
    assert_eq!(
        stamp(&["d1", "c2"], &["e"]),
        vec!["DELETE d1", "UPDATE c2->e"]
    );
    assert_eq!(
        stamp(&["d1", "d2"], &["base"]),
        vec!["DELETE d1", "DELETE d2"]
    );
    assert_eq!(
        stamp(&["b"], &["c1", "c2"]),
        vec!["UPDATE b->c1", "INSERT c2"]
    );
    assert_eq!(stamp(&[], &["heads"]), vec!["INSERT f"]);
    assert!(stamp(&[], &["base"]).is_empty());
    let g = br();
    assert_eq!(
        dml(&g
            .plan_stamp(&rows(&["d1", "c2"]), &rows(&["c2branch@head"]), false)
            .unwrap()),
        vec!["UPDATE c2->d2"]
    );
    let err = g
        .plan_stamp(&[], &rows(&["head"]), false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Multiple heads are present; please specify a single target revision"
    );
}

/// Issue 11 item 8: base `a`; `a -> b (billing) -> c`; base `m` (main); `d` merges `c` and
/// `m`; `d -> e`; `a -> f -> g` with `g` depending on `main`. Alembic's `stamp heads` from
/// `[e, f]` moves both rows and keeps only `g`'s lineage, forgetting `b`..`e`.
#[test]
fn stamp_heads_never_forgets_an_applied_branch() {
    let g = graph(&[
        ("a", E, E, E),
        ("b", &["a"], &["billing"], E),
        ("c", &["b"], E, E),
        ("m", E, &["main"], E),
        ("d", &["c", "m"], E, E),
        ("e", &["d"], E, E),
        ("f", &["a"], E, E),
        ("g", &["f"], E, &["main"]),
    ]);
    let plan = g
        .plan_stamp(&rows(&["e", "f"]), &rows(&["heads"]), false)
        .unwrap();
    assert_eq!(plan.heads_after(), vec!["e", "g"]);
    assert_eq!(dml(&plan), vec!["UPDATE f->g"]);
    assert!(g
        .plan_upgrade(&plan.heads_after(), "heads")
        .unwrap()
        .steps
        .is_empty());
    // Where Alembic forgets nothing, its statements stand.
    let plan = g.plan_stamp(&rows(&["e"]), &rows(&["g"]), false).unwrap();
    assert_eq!(dml(&plan), vec!["INSERT g"]);
}

/// Naming two revisions on one line: Alembic moves the named upper row down to the lower one,
/// forgetting the upper; retort keeps the rows that imply both.
#[test]
fn stamp_of_two_revisions_on_one_line_keeps_the_upper() {
    let g = br();
    let plan = g
        .plan_stamp(&rows(&["d2"]), &rows(&["a", "d2"]), false)
        .unwrap();
    assert!(dml(&plan).is_empty());
    assert_eq!(plan.heads_after(), vec!["d2"]);
}

#[test]
fn stamp_purge_ignores_unknown_rows() {
    let g = br();
    assert!(g
        .plan_stamp(&rows(&["zzzz"]), &rows(&["a"]), false)
        .is_err());
    let plan = g.plan_stamp(&rows(&["zzzz"]), &rows(&["a"]), true).unwrap();
    assert!(plan.purge);
    assert_eq!(dml(&plan), vec!["INSERT a"]);
}

// ---- history ----

#[test]
fn history_is_reverse_upgrade_order_and_ranges_work() {
    let g = br();
    assert_eq!(
        g.history(None).unwrap(),
        vec!["d1", "c1", "d2", "c2", "b", "a"]
    );
    assert_eq!(g.history(Some("b:d2")).unwrap(), vec!["d2", "c2", "b"]);
    assert_eq!(g.history(Some(":c1")).unwrap(), vec!["c1", "b", "a"]);
    assert_eq!(g.history(Some("c2:")).unwrap(), vec!["d2", "c2"]);
    let err = g.history(Some("d1:d2")).unwrap_err().to_string();
    assert_eq!(
        err,
        "Requested range d1:d2 does not refer to ancestor/descendant revisions along the same branch"
    );
    assert!(g.history(Some("nocolon")).is_err());
}

#[test]
fn current_in_history_and_show_stands_for_the_rows_given() {
    let g = br();
    let at = |range, current: &[&str]| g.history_at(Some(range), Some(&rows(current))).unwrap();
    assert_eq!(at("current:", &["c1"]), vec!["d1", "c1"]);
    assert_eq!(at(":current", &["c1"]), vec!["c1", "b", "a"]);
    assert_eq!(at("current:", &["c1", "c2"]), vec!["d1", "c1", "d2", "c2"]);
    assert_eq!(
        at(":current", &["c1", "d2"]),
        vec!["c1", "d2", "c2", "b", "a"]
    );
    assert_eq!(at("current:", &[]), g.history(None).unwrap());
    // As in Alembic, no rows fall back to the end's default (`:current` is `base:heads`), and
    // of `current:current` only the upper end stands for the rows.
    assert_eq!(at(":current", &[]), g.history(None).unwrap());
    assert!(g
        .history_at(Some("current:current"), Some(&rows(&["c1"])))
        .is_err());
    assert_eq!(at("b:current", &["c1"]), vec!["c1", "b"]);
    // Unread rows leave `current` a name, which no revision has.
    assert!(g.history(Some("current:")).is_err());
    assert_eq!(
        g.show("current", Some(&rows(&["d1", "c2"]))).unwrap(),
        ["d1", "c2"]
    );
    assert!(g.show("current", None).is_err());
    assert!(g.show("current", Some(&rows(&["zzzz"]))).is_err());
}

/// `history -r X:` where the only head above `X` is reached through `depends_on`: Alembic fails
/// an assertion; retort lists `X` and its descendants, as the range means elsewhere.
#[test]
fn history_from_a_revision_whose_head_is_a_dependent_lists_its_line() {
    let g = graph(&[
        ("a", E, E, E),
        ("x", &["a"], E, E),
        ("x2", &["x"], E, E),
        ("y", E, E, &["x2"]),
    ]);
    assert_eq!(g.history(Some("x:")).unwrap(), vec!["x2", "x"]);
    assert_eq!(g.history(Some("a:")).unwrap(), vec!["x2", "x", "a"]);
    assert_eq!(g.history(None).unwrap(), vec!["y", "x2", "x", "a"]);
}

/// Labels with `-` resolve as Alembic resolves them (issue 11 item 16).
#[test]
fn labels_with_dashes_resolve_in_every_form() {
    let g = graph(&[
        ("a", E, &["core-plugin"], E),
        ("b", &["a"], E, E),
        ("c", &["b"], E, E),
        ("p", E, &["other-plugin"], &["core-plugin"]),
    ]);
    assert_eq!(g.resolve("core-plugin@head").unwrap(), vec!["c"]);
    assert_eq!(g.resolve("core-plugin").unwrap(), vec!["a"]);
    assert_eq!(
        g.plan_upgrade(&[], "core-plugin@head")
            .unwrap()
            .heads_after(),
        vec!["c"]
    );
    assert_eq!(
        dml(&g.plan_downgrade(&rows(&["c"]), "core-plugin@-1").unwrap()),
        vec!["UPDATE c->b"]
    );
    assert_eq!(
        g.plan_upgrade(&rows(&["a"]), "core-plugin@+1")
            .unwrap()
            .heads_after(),
        vec!["b"]
    );
    assert_eq!(
        g.history(Some("core-plugin@base:")).unwrap(),
        vec!["c", "b", "a"]
    );
    // `p` depends on the label's declaring revision, `a`.
    assert_eq!(
        runs(&g.plan_upgrade(&[], "p").unwrap()),
        vec!["up:a", "up:p"]
    );
}

// ---- properties over random DAGs ----

mod properties {
    use super::*;
    use crate::script::{RevisionMeta, Sections};
    use proptest::prelude::*;

    /// A tiny deterministic generator so that a failing seed reproduces exactly.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A random DAG: each node has 0 (a base), 1 or 2 parents among earlier nodes (merge
    /// parents never on one line of descent), sometimes a dependency on an earlier node, and
    /// the load order is shuffled.
    fn random_graph(seed: u64, n: usize) -> RevisionGraph {
        let mut rng = Rng(seed | 1);
        let mut parents: Vec<Vec<usize>> = Vec::new();
        let mut deps: Vec<Vec<usize>> = Vec::new();
        let mut ancestors: Vec<Vec<bool>> = Vec::new();
        for i in 0..n {
            let mut p = Vec::new();
            if i > 0 && rng.below(6) != 0 {
                p.push(rng.below(i));
                if i > 2 && rng.below(4) == 0 {
                    let q = rng.below(i);
                    if q != p[0] && !ancestors[p[0]][q] && !ancestors[q][p[0]] {
                        p.push(q);
                    }
                }
            }
            let mut d = Vec::new();
            if i > 1 && rng.below(5) == 0 {
                let q = rng.below(i);
                if !p.contains(&q) {
                    d.push(q);
                }
            }
            let mut anc = vec![false; n];
            anc[i] = true;
            for &x in p.iter().chain(&d) {
                for (j, a) in ancestors[x].iter().enumerate() {
                    anc[j] |= *a;
                }
            }
            ancestors.push(anc);
            parents.push(p);
            deps.push(d);
        }
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let name = |i: usize| format!("r{i:02}x{:x}", (seed >> (i % 32)) & 0xff);
        let scripts: Vec<Script> = order
            .iter()
            .map(|&i| Script {
                meta: RevisionMeta {
                    revision: name(i),
                    down_revisions: parents[i].iter().map(|&p| name(p)).collect(),
                    depends_on: deps[i].iter().map(|&d| name(d)).collect(),
                    ..RevisionMeta::default()
                },
                transactional: true,
                timeouts: Default::default(),
                allows: Vec::new(),
                path: PathBuf::from(format!("{}.sql", name(i))),
                sections: Sections::default(),
            })
            .collect();
        RevisionGraph::build(&scripts).expect("generated graphs are valid")
    }

    fn applied_order(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .filter_map(|s| s.revision.clone())
            .collect()
    }

    /// Every revision appears once, after all of its parents and dependencies.
    fn assert_respects_edges(g: &RevisionGraph, order: &[String]) {
        let mut seen = std::collections::HashSet::new();
        for id in order {
            assert!(seen.insert(id.clone()), "{id} applied twice");
            let i = g.index_of(id).unwrap();
            for &p in g.rev(i).down.iter().chain(&g.rev(i).deps) {
                assert!(
                    seen.contains(&g.rev(p).id),
                    "{id} applied before its parent {}",
                    g.rev(p).id
                );
            }
        }
    }

    fn real_heads_sorted(g: &RevisionGraph) -> Vec<String> {
        let mut heads: Vec<String> = g.real_heads().into_iter().map(String::from).collect();
        heads.sort();
        heads
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn upgrade_heads_applies_everything_once_in_order(seed in any::<u64>(), n in 1usize..28) {
            let g = random_graph(seed, n);
            let plan = g.plan_upgrade(&[], "heads").unwrap();
            let order = applied_order(&plan);
            prop_assert_eq!(order.len(), g.len());
            assert_respects_edges(&g, &order);
            prop_assert_eq!(plan.heads_after(), real_heads_sorted(&g));
            let again = g.plan_upgrade(&plan.heads_after(), "heads").unwrap();
            prop_assert!(again.steps.is_empty());
        }

        #[test]
        fn partial_upgrade_then_heads_applies_the_rest(seed in any::<u64>(), n in 2usize..28, pick in any::<usize>()) {
            let g = random_graph(seed, n);
            let target = g.rev(pick % g.len()).id.clone();
            let first = g.plan_upgrade(&[], &target).unwrap();
            let rest = g.plan_upgrade(&first.heads_after(), "heads").unwrap();
            let mut order = applied_order(&first);
            order.extend(applied_order(&rest));
            prop_assert_eq!(order.len(), g.len());
            assert_respects_edges(&g, &order);
            prop_assert_eq!(rest.heads_after(), real_heads_sorted(&g));
        }

        #[test]
        fn downgrade_base_empties_the_table(seed in any::<u64>(), n in 1usize..28) {
            let g = random_graph(seed, n);
            let up = g.plan_upgrade(&[], "heads").unwrap();
            let down = g.plan_downgrade(&up.heads_after(), "base").unwrap();
            let mut order = applied_order(&down);
            prop_assert_eq!(order.len(), g.len());
            order.reverse();
            assert_respects_edges(&g, &order);
            prop_assert!(down.heads_after().is_empty());
        }

        #[test]
        fn downgrade_then_upgrade_round_trips(seed in any::<u64>(), n in 2usize..28, pick in any::<usize>()) {
            let g = random_graph(seed, n);
            let up = g.plan_upgrade(&[], "heads").unwrap();
            let target = g.rev(pick % g.len()).id.clone();
            let down = match g.plan_downgrade(&up.heads_after(), &target) {
                Ok(plan) => plan,
                Err(e) => {
                    // Alembic drops what stands on the target's `down_revision` children; a target
                    // without such children that is not itself a version row (its row consumed by
                    // a dependent) is refused. Nothing else may fail.
                    let t = g.index_of(&target).unwrap();
                    prop_assert!(g.rev(t).next.is_empty(), "{}", e);
                    prop_assert!(!up.heads_after().contains(&target));
                    return Ok(());
                }
            };
            // The target and its ancestors stay applied.
            let reverted: std::collections::HashSet<String> = applied_order(&down).into_iter().collect();
            let t = g.index_of(&target).unwrap();
            for a in g.ancestors(&[t]).iter() {
                prop_assert!(!reverted.contains(&g.rev(a).id), "downgrade to {} reverted its ancestor {}", target, g.rev(a).id);
            }
            let back = g.plan_upgrade(&down.heads_after(), "heads").unwrap();
            let reapplied: std::collections::HashSet<String> = applied_order(&back).into_iter().collect();
            prop_assert_eq!(reapplied, reverted);
            prop_assert_eq!(back.heads_after(), real_heads_sorted(&g));
        }

        /// Any target text, however odd, ends in a plan or an error: never a panic.
        #[test]
        fn arbitrary_targets_never_panic(
            target in "([a-z0-9@:+\\-]|head|heads|base|lbl|c1|d2){0,12}",
            rows in proptest::sample::subsequence(vec!["a", "b", "c1", "d1", "c2", "d2", "e", "f"], 0..3),
        ) {
            let g = graph(&[
                ("a", E, E, E),
                ("b", &["a"], E, E),
                ("c1", &["b"], &["lbl"], E),
                ("d1", &["c1"], E, E),
                ("c2", &["b"], E, &["c1"]),
                ("d2", &["c2"], E, E),
                ("e", &["d1", "d2"], E, E),
                ("f", &["e"], E, E),
            ]);
            let rows: Vec<String> = rows.into_iter().map(String::from).collect();
            let _ = g.plan_upgrade(&rows, &target);
            let _ = g.plan_downgrade(&rows, &target);
            let _ = g.plan_stamp(&rows, std::slice::from_ref(&target), false);
            let _ = g.resolve(&target);
            let _ = g.history(Some(&target));
            let _ = g.offline_start(&target);
            let _ = g.new_revision_parents(std::slice::from_ref(&target), true);
        }

        /// After any stamp from any partly upgraded state, the rows imply every target and
        /// its ancestors; `stamp heads` then leaves `upgrade heads` nothing to run.
        #[test]
        fn a_stamp_implies_what_it_promises(
            seed in any::<u64>(),
            n in 2usize..28,
            picks in proptest::collection::vec(any::<usize>(), 1..4),
        ) {
            let g = random_graph(seed, n);
            let mut rows: Vec<String> = Vec::new();
            for &pick in &picks[1..] {
                let target = g.rev(pick % g.len()).id.clone();
                rows = g.plan_upgrade(&rows, &target).unwrap().heads_after();
            }
            let target = g.rev(picks[0] % g.len()).id.clone();
            for targets in [vec![target], vec!["heads".to_string()]] {
                let plan = g.plan_stamp(&rows, &targets, false).unwrap();
                let after: Vec<usize> =
                    plan.heads_after().iter().filter_map(|h| g.index_of(h)).collect();
                let implied = g.ancestors(&after);
                let heads = g.resolve_rows(&rows).unwrap();
                let mut filtered = Vec::new();
                for t in &targets {
                    filtered.extend(g.filter_for_lineage(&heads, t, true).unwrap());
                }
                let dests = g.get_revisions_of(&targets).unwrap();
                let promise = g.stamp_promise(&heads, &filtered, &dests);
                for r in promise.iter() {
                    prop_assert!(implied.contains(r), "stamp {:?} from {:?} forgot {}", targets, rows, g.rev(r).id);
                }
            }
            let stamped = g.plan_stamp(&rows, &["heads".to_string()], false).unwrap();
            let upgrade = g.plan_upgrade(&stamped.heads_after(), "heads").unwrap();
            prop_assert!(upgrade.steps.is_empty());
        }

        #[test]
        fn stamp_heads_matches_upgrade_heads(seed in any::<u64>(), n in 1usize..28) {
            let g = random_graph(seed, n);
            let stamp = g.plan_stamp(&[], &["heads".to_string()], false).unwrap();
            prop_assert_eq!(stamp.heads_after(), real_heads_sorted(&g));
        }
    }
}

#[test]
fn unmerge_never_writes_a_row_and_its_ancestor() {
    // m merges c and d and also depends on b, which is already d's parent. Downgrading m while
    // another head (x) exists must restore rows c and d only; Alembic also writes b here.
    let g = graph(&[
        ("a", E, E, E),
        ("b", &["a"], E, E),
        ("c", &["a"], E, E),
        ("d", &["b"], E, E),
        ("m", &["c", "d"], E, &["b"]),
        ("x", &["a"], E, E),
    ]);
    let up = g.plan_upgrade(&[], "heads").unwrap();
    assert_eq!(up.heads_after(), vec!["m", "x"]);
    let down = g.plan_downgrade(&up.heads_after(), "d").unwrap();
    assert_eq!(dml(&down), vec!["INSERT c", "UPDATE m->d"]);
    assert_eq!(down.heads_after(), vec!["c", "d", "x"]);
    assert!(g.plan_upgrade(&down.heads_after(), "heads").is_ok());
}
