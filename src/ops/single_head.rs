//! `check --single-head`: the CI gate for parallel branches. Two pull requests that each add a
//! revision on the same head leave two heads once both land; this finds that before the
//! second lands, names the revisions the branch added (from git) and the `rebase` that puts
//! them on the other head.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::graph::RevSet;
use crate::project::Project;

/// What `check --single-head` found.
#[derive(Debug, Serialize)]
pub(crate) struct SingleHeadOutcome {
    pub ok: bool,
    pub revisions: usize,
    pub heads: Vec<String>,
    /// The git ref the branch is compared with (`--git-base`).
    pub git_base: Option<String>,
    /// Revisions whose files the branch added since `git_base`, load order.
    pub added: Vec<String>,
    /// Why git could not say what the branch added.
    pub git_problem: Option<String>,
    /// The one command that leaves a single head, when there is one.
    pub fix: Option<String>,
}

/// Checks that `project` has one head; with `git_base`, which revisions the branch added
/// since then (files new in git) and the command that moves them onto the other head.
pub(crate) fn single_head(project: &Project, git_base: Option<&str>) -> SingleHeadOutcome {
    let graph = &project.graph;
    let heads = graph.head_indices();
    let mut outcome = SingleHeadOutcome {
        ok: heads.len() <= 1,
        revisions: graph.len(),
        heads: graph.ids_of(&heads),
        git_base: git_base.map(String::from),
        added: Vec::new(),
        git_problem: None,
        fix: None,
    };
    if outcome.ok {
        return outcome;
    }
    let Some(base) = git_base else {
        return outcome;
    };
    // The folder of migrate.toml: version locations may lie beside the script location.
    let dir = match project.config.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let added = match crate::git::added_files(dir, base) {
        Ok(files) => added_revisions(project, &files),
        Err(problem) => {
            outcome.git_problem = Some(problem);
            return outcome;
        }
    };
    outcome.added = graph.ids_of(&added);
    outcome.fix = fix(project, &added);
    outcome
}

/// The load indices of the revisions whose files are among `files` (canonical paths).
fn added_revisions(project: &Project, files: &BTreeSet<PathBuf>) -> Vec<usize> {
    let names: BTreeSet<&std::ffi::OsStr> = files.iter().filter_map(|f| f.file_name()).collect();
    project
        .scripts
        .iter()
        .enumerate()
        // Canonicalize only the few files whose names match: 10,000 `realpath` calls would
        // cost more than the rest of the check.
        .filter(|(_, s)| s.path.file_name().is_some_and(|n| names.contains(n)))
        .filter(|(_, s)| {
            let path = s.path.canonicalize().unwrap_or_else(|_| s.path.clone());
            files.contains(&path)
        })
        .map(|(i, _)| i)
        .collect()
}

/// `retort rebase ROOTS --onto HEAD`: the added revisions whose parents the branch did not add,
/// onto the one head that holds none of the branch's revisions. `None` when that is not one
/// head (the branch added nothing, or the other side has several heads itself).
fn fix(project: &Project, added: &[usize]) -> Option<String> {
    let graph = &project.graph;
    let mut set = RevSet::new(graph.len());
    for &i in added {
        set.insert(i);
    }
    let branch = graph.descendants(added);
    let others: Vec<usize> = graph
        .head_indices()
        .into_iter()
        .filter(|&h| !branch.contains(h))
        .collect();
    let [onto] = others.as_slice() else {
        return None;
    };
    let roots: Vec<&str> = added
        .iter()
        .filter(|&&i| !graph.rev(i).down().iter().any(|&p| set.contains(p)))
        .map(|&i| graph.rev(i).id())
        .collect();
    (!roots.is_empty()).then(|| {
        format!(
            "retort rebase {} --onto {}",
            roots.join(" "),
            graph.rev(*onto).id()
        )
    })
}
