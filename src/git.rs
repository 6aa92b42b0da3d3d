//! The files a branch added or changed, asked of `git` as a subprocess (no git library: a few
//! short commands answer it, and CI machines that run `check --single-head` or `lint
//! --git-base` have git).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why git could not say which files a branch added.
pub(crate) type GitProblem = String;

/// The files added since `base` under `dir` (a folder of a git work tree), as absolute
/// canonical paths: those added by commits since the merge base of `base` and `HEAD`
/// (`git diff --diff-filter=A base...HEAD`), those staged as new, and untracked files that are
/// not ignored.
pub(crate) fn added_files(dir: &Path, base: &str) -> Result<BTreeSet<PathBuf>, GitProblem> {
    let range = format!("{base}...HEAD");
    // `--relative`: paths relative to `dir`, and only those under it, as `ls-files` gives them.
    let diff = ["diff", "--name-only", "--relative", "--diff-filter=A", "-z"];
    let committed: Vec<&str> = diff.iter().copied().chain([range.as_str(), "--"]).collect();
    let staged: Vec<&str> = diff
        .iter()
        .copied()
        .chain(["--cached", "HEAD", "--"])
        .collect();
    let untracked = ["ls-files", "--others", "--exclude-standard", "-z"];
    // `ls-files` first: outside a repository its error is the plain one.
    listed_files(dir, &[&untracked, committed.as_slice(), staged.as_slice()])
}

/// The files changed since `reference` in the git checkout holding `dir`, as absolute
/// canonical paths: `git diff --name-only REF` (commits since, staged and unstaged changes)
/// and new untracked files that are not ignored, anywhere in the work tree.
pub(crate) fn changed_files(dir: &Path, reference: &str) -> Result<BTreeSet<PathBuf>, GitProblem> {
    let show_top = ["rev-parse", "--show-toplevel"];
    let top = PathBuf::from(finish(&show_top, spawn(dir, &show_top)?)?.trim_end_matches('\n'));
    let diff = ["diff", "--name-only", "-z", reference, "--"];
    let untracked = ["ls-files", "--others", "--exclude-standard", "-z"];
    listed_files(&top, &[&diff, &untracked])
}

/// The files the `-z` listings of `commands` name, relative to `dir`, as absolute canonical
/// paths. The commands run at once: on a large repository each takes milliseconds that a CI
/// gate should not add up.
fn listed_files(dir: &Path, commands: &[&[&str]]) -> Result<BTreeSet<PathBuf>, GitProblem> {
    let running: Vec<_> = commands.iter().map(|args| spawn(dir, args)).collect();
    let mut files = BTreeSet::new();
    for (args, child) in commands.iter().zip(running) {
        let out = finish(args, child?)?;
        files.extend(out.split('\0').filter(|n| !n.is_empty()).map(|name| {
            let path = dir.join(name);
            path.canonicalize().unwrap_or(path)
        }));
    }
    Ok(files)
}

/// Starts `git -C dir args`.
fn spawn(dir: &Path, args: &[&str]) -> Result<std::process::Child, GitProblem> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `git` ({e}); is git installed?"))
}

/// The stdout of a `git args` started by [`spawn`], or what went wrong in a sentence.
fn finish(args: &[&str], child: std::process::Child) -> Result<String, GitProblem> {
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`git {}` failed: {e}", args.join(" ")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(format!("`git {}` failed: {first}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
