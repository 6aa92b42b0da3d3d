//! The files a branch added, asked of `git` as a subprocess (no git library: three short
//! commands answer it, and CI machines that run `check --single-head` have git).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why git could not say which files a branch added.
pub(crate) type GitProblem = String;

/// The files added since `base` in the repository holding `dir`, as absolute canonical paths:
/// those added by commits since the merge base of `base` and `HEAD`
/// (`git diff --diff-filter=A base...HEAD`), those staged as new, and untracked files that are
/// not ignored.
pub(crate) fn added_files(dir: &Path, base: &str) -> Result<BTreeSet<PathBuf>, GitProblem> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let range = format!("{base}...HEAD");
    let committed = git(
        dir,
        &["diff", "--name-only", "--diff-filter=A", "-z", &range, "--"],
    )?;
    let staged = git(
        dir,
        &[
            "diff",
            "--name-only",
            "--diff-filter=A",
            "-z",
            "--cached",
            "HEAD",
            "--",
        ],
    )?;
    let untracked = git(
        dir,
        &[
            "ls-files",
            "--others",
            "--exclude-standard",
            "--full-name",
            "-z",
        ],
    )?;
    Ok([committed, staged, untracked]
        .iter()
        .flat_map(|out| out.split('\0'))
        .filter(|name| !name.is_empty())
        .map(|name| {
            let path = top.join(name);
            path.canonicalize().unwrap_or(path)
        })
        .collect())
}

/// Runs `git -C dir args`; its stdout, or what went wrong in a sentence.
fn git(dir: &Path, args: &[&str]) -> Result<String, GitProblem> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `git` ({e}); is git installed?"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(format!("`git {}` failed: {first}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
