//! `check --single-head [--git-base REF]`: the CI gate for two branches that each add a
//! revision on the same head, on real git repositories.

use std::process::Command;

use crate::support::TestProject;

/// Runs git in the project; panics with its stderr on failure (test setup only).
fn git(p: &TestProject, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(p.path())
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `main` has a -> b -> c; the branch `feature` forked at b and added d (committed) and e
/// (untracked), so the project has the heads c and e.
pub(crate) fn diverged() -> TestProject {
    let p = TestProject::new();
    git(&p, &["init", "-q", "-b", "main"]);
    p.revision("a0001", &[], "");
    p.revision("b0002", &["a0001"], "");
    git(&p, &["add", "."]);
    git(&p, &["commit", "-qm", "base"]);
    git(&p, &["checkout", "-qb", "feature"]);
    p.revision("d0004", &["b0002"], "");
    git(&p, &["add", "."]);
    git(&p, &["commit", "-qm", "feature"]);
    git(&p, &["checkout", "-q", "main"]);
    p.revision("c0003", &["b0002"], "");
    git(&p, &["add", "."]);
    git(&p, &["commit", "-qm", "main moved on"]);
    git(&p, &["checkout", "-q", "feature"]);
    git(&p, &["merge", "-q", "--no-edit", "main"]);
    p.revision("e0005", &["d0004"], "");
    p
}

#[test]
fn one_head_passes() {
    let p = TestProject::new();
    p.revision("a0001", &[], "");
    p.revision("b0002", &["a0001"], "");
    let (code, out, _) = p.run(&["check", "--single-head"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "ok: 2 revision(s), one head\n");
}

#[test]
fn several_heads_name_the_branch_revisions_and_the_fix() {
    let p = diverged();
    insta::assert_snapshot!(p.snapshot(&["check", "--single-head", "--git-base", "main"]));
}

#[test]
fn json_names_the_added_revisions() {
    let p = diverged();
    let (code, out, _) = p.run(&["check", "--single-head", "--git-base", "main", "--json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["heads"], serde_json::json!(["c0003", "e0005"]));
    assert_eq!(doc["added"], serde_json::json!(["d0004", "e0005"]));
    assert_eq!(doc["fix"], "retort rebase d0004 --onto c0003");
}

#[test]
fn without_git_base_or_git_it_still_fails_and_says_why() {
    let p = crate::support::branched_project();
    let (code, out, _) = p.run(&["check", "--single-head"]);
    assert_eq!(code, 1);
    assert!(out.contains("2 heads (dddd0004, ffff0006)"), "{out}");
    assert!(out.contains("--git-base REF"), "{out}");
    // Not a git repository: said, not guessed.
    let (code, out, _) = p.run(&["check", "--single-head", "--git-base", "main"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "cannot tell which revisions this branch added: `git ls-files --others --exclude-standard -z` failed: fatal: not a git repository"
        ),
        "{out}"
    );
}

#[test]
fn heads_that_came_from_the_base_are_not_blamed_on_the_branch() {
    let p = crate::support::branched_project();
    git(&p, &["init", "-q", "-b", "main"]);
    git(&p, &["add", "."]);
    git(&p, &["commit", "-qm", "two heads on main"]);
    let (code, out, _) = p.run(&["check", "--single-head", "--git-base", "main"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("this branch added no revision file since `main`"),
        "{out}"
    );
}
