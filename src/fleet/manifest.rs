//! The manifest of a fleet run: which target is at which revision and what happened, replaced
//! atomically (temporary file, fsync, rename, fsync of the folder) as targets finish, so a
//! killed run leaves the last complete one. `--resume` reads it back: targets it records as
//! done are skipped, every other one runs again, where its own lock and version table decide
//! what is left to do.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::TargetRecord;
use crate::error::{Error, Result};

/// The manifest document (docs/fleets.md describes it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Manifest {
    pub(crate) fleet: String,
    /// The command and its argument (`upgrade heads`).
    pub(crate) command: String,
    /// `--env`, if any.
    pub(crate) environment: Option<String>,
    pub(crate) started_at: String,
    pub(crate) updated_at: String,
    /// `running` while the run goes on (or when it was killed), then `finished` or `stopped`.
    pub(crate) state: String,
    pub(crate) targets: Vec<TargetRecord>,
}

impl Manifest {
    pub(crate) fn new(fleet: &str, command: String, environment: Option<String>) -> Manifest {
        let now = now();
        Manifest {
            fleet: fleet.to_string(),
            command,
            environment,
            started_at: now.clone(),
            updated_at: now,
            state: "running".into(),
            targets: Vec::new(),
        }
    }

    /// Reads the manifest of an earlier run of the same command on the same fleet.
    pub(crate) fn resume(path: &Path, expected: &Manifest) -> Result<Manifest> {
        let unusable = |detail: String| Error::ManifestUnusable {
            path: path.to_path_buf(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| unusable(e.to_string()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| unusable(format!("not a manifest: {e}")))?;
        let same = |what: &str, was: &str, is: &str| {
            if was == is {
                Ok(())
            } else {
                Err(unusable(format!(
                    "it is of {what} `{was}`, this run's is `{is}`"
                )))
            }
        };
        same("fleet", &manifest.fleet, &expected.fleet)?;
        same("command", &manifest.command, &expected.command)?;
        same(
            "environment",
            manifest.environment.as_deref().unwrap_or("(default)"),
            expected.environment.as_deref().unwrap_or("(default)"),
        )?;
        Ok(manifest)
    }

    /// The record of `target` if the manifest says the command is done there.
    pub(crate) fn done(&self, target: &str) -> Option<&TargetRecord> {
        self.targets
            .iter()
            .find(|r| r.target == target && r.outcome.is_done())
    }

    /// Writes the manifest to `path`, replacing the last one atomically.
    pub(crate) fn write(&mut self, path: &Path) -> Result<()> {
        self.updated_at = now();
        let failed = |e: std::io::Error| Error::io("write the fleet manifest", path, e);
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("cannot encode the manifest: {e}")))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        temp.write_all(text.as_bytes())
            .and_then(|()| temp.write_all(b"\n"))
            .and_then(|()| temp.as_file().sync_all())
            .map_err(failed)?;
        temp.persist(path).map_err(|e| failed(e.error))?;
        // The rename is durable once the folder is synced (not possible on every platform).
        if let Ok(folder) = std::fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

/// The default manifest of a run: `.retort/fleet-<name>-<UTC time>.json` beside migrate.toml.
/// The folder is made with a `.gitignore` of its own, so run records stay out of git in any
/// project (`init` writes no `.gitignore` to add it to).
pub(crate) fn default_path(root: &Path, fleet: &str) -> Result<PathBuf> {
    let dir = root.join(".retort");
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let failed = |e| Error::io("write the fleet manifest", &ignore, e);
        std::fs::create_dir_all(&dir).map_err(failed)?;
        std::fs::write(&ignore, "# Created by retort: fleet run manifests.\n*\n")
            .map_err(failed)?;
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    Ok(dir.join(format!("fleet-{fleet}-{stamp}.json")))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::TargetOutcome;

    fn record(target: &str, outcome: TargetOutcome) -> TargetRecord {
        TargetRecord {
            target: target.into(),
            outcome,
            before: vec![],
            after: vec!["b2".into()],
            steps: 2,
            pending: None,
            duration_ms: 3,
            error: None,
            detail: None,
        }
    }

    #[test]
    fn a_written_manifest_resumes_the_same_run_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/m.json");
        let mut manifest = Manifest::new("tenants", "upgrade heads".into(), None);
        manifest.targets = vec![
            record("a", TargetOutcome::Migrated),
            record("b", TargetOutcome::Failed),
        ];
        manifest.write(&path).unwrap();
        manifest.write(&path).unwrap();
        let leftovers = std::fs::read_dir(dir.path().join("sub")).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file was renamed");
        let expected = Manifest::new("tenants", "upgrade heads".into(), None);
        let read = Manifest::resume(&path, &expected).unwrap();
        assert_eq!(read, manifest);
        assert!(read.done("a").is_some());
        assert!(read.done("b").is_none(), "a failed target runs again");
        let other = Manifest::new("tenants", "downgrade base".into(), None);
        let err = Manifest::resume(&path, &other).unwrap_err().to_string();
        assert!(err.contains("it is of command `upgrade heads`"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(Manifest::resume(&path, &expected).is_err());
    }
}
