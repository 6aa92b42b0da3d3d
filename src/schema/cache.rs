//! Expected schemas kept from earlier builds, so that a repeated drift check of a database
//! whose applied revisions have not changed reads two catalogs instead of rebuilding hundreds
//! of tables on a scratch database (on PostgreSQL that rebuild costs what the server takes
//! to create them, seconds for a few hundred tables).
//!
//! An entry is used only for the same database (URL without password) and dev database, the
//! same server version, the same filter, the same retort binary, and the same statements
//! built in the same order: the upgrade section and transaction flag of every revision the
//! build runs. Anything else, a changed revision included, is a miss and a rebuild. Entries
//! live beside the revision cache in `<script_location>/.retort-cache/` (the command line's
//! cache, off with `RETORT_NO_CACHE=1`); each file carries a checksum of its content, so a
//! damaged one is a miss, and a cache that cannot be read or written never fails a command.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Schema;
use super::Filter;
use crate::config::Dialect;
use crate::error::Result;
use crate::project::Project;
use crate::script::checksum::hex;
use crate::script::SectionKind;

/// Bumped whenever the stored model changes shape.
const FORMAT: &str = "retort expected schema 1";
/// Entries kept; older ones are removed when a new one is stored.
const KEPT: usize = 16;

/// What one file holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct Built {
    pub schema: Schema,
    /// Where it was built (`the temporary database …`), for messages.
    pub built_in: String,
}

/// Where one expected schema is stored, for one set of build inputs.
pub(crate) struct Entry {
    path: PathBuf,
}

/// What the expected schema depends on besides the revisions: where it is built and for whom.
pub(crate) struct Inputs<'a> {
    /// The database checked and the dev database, as shown (no password).
    pub database: &'a str,
    pub dev_database: Option<&'a str>,
    /// The server's own version string.
    pub server_version: &'a str,
    pub dialect: Dialect,
    pub filter: &'a Filter,
}

impl Entry {
    /// The entry for building `heads`, one after the other from empty as
    /// [`crate::ops::schema::build`] does; `None` without a cache folder or a known binary.
    pub(crate) fn for_build(
        project: &Project,
        heads: &[String],
        inputs: &Inputs<'_>,
    ) -> Result<Option<Entry>> {
        let (Some(dir), Some(writer)) = (&project.cache, crate::script::cache::writer_stamp())
        else {
            return Ok(None);
        };
        let mut hasher = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part(FORMAT.as_bytes());
        part(format!("{writer:?}").as_bytes());
        part(inputs.database.as_bytes());
        part(inputs.dev_database.unwrap_or_default().as_bytes());
        part(inputs.server_version.as_bytes());
        part(inputs.dialect.name().as_bytes());
        part(format!("{:?}", inputs.filter).as_bytes());
        let mut at = Vec::new();
        for head in heads {
            let plan = project.graph.plan_upgrade(&at, head)?;
            for step in &plan.steps {
                let Some((revision, script)) = step
                    .revision
                    .as_deref()
                    .and_then(|r| Some((r, project.script(r)?)))
                else {
                    continue;
                };
                part(revision.as_bytes());
                part(&[u8::from(script.transactional)]);
                let section = script.sections.get(SectionKind::Upgrade, inputs.dialect);
                part(
                    section
                        .map(|s| s.sql.as_str())
                        .unwrap_or_default()
                        .as_bytes(),
                );
            }
            at = plan.heads_after();
        }
        let name = hex(&hasher.finalize()[..16]);
        Ok(Some(Entry {
            path: dir.join(format!("schema-{name}.json")),
        }))
    }

    /// The stored build, if there is one and it is intact.
    pub(crate) fn load(&self) -> Option<Built> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let (sum, body) = text.split_once('\n')?;
        (sum == checksum(body)).then(|| serde_json::from_str(body).ok())?
    }

    /// Stores `built`, replacing the file whole; best effort.
    pub(crate) fn store(&self, built: &Built) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let Ok(body) = serde_json::to_string(built) else {
            return;
        };
        if crate::script::cache::prepare_dir(dir).is_err() {
            return;
        }
        let temp = self
            .path
            .with_extension(format!("{}.tmp", std::process::id()));
        let written = std::fs::write(&temp, format!("{}\n{body}", checksum(&body)))
            .and_then(|()| std::fs::rename(&temp, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
            return;
        }
        prune(dir);
        crate::script::cache::remove_abandoned(dir, "schema-");
    }

    /// The file, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn checksum(body: &str) -> String {
    hex(&Sha256::digest(body.as_bytes()))
}

/// Removes all but the newest [`KEPT`] entries.
fn prune(dir: &Path) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("schema-") && name.ends_with(".json")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, path) in entries.into_iter().skip(KEPT) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(table: &str) -> Built {
        let mut schema = Schema::default();
        schema.tables.insert(table.into(), Default::default());
        Built {
            schema,
            built_in: "an in-memory SQLite database".into(),
        }
    }

    #[test]
    fn a_stored_build_loads_back_and_a_damaged_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            path: dir.path().join("cache/schema-ab.json"),
        };
        assert!(entry.load().is_none());
        entry.store(&built("t"));
        let loaded = entry.load().unwrap();
        assert!(loaded.schema.tables.contains_key("t"));
        assert_eq!(loaded.built_in, "an in-memory SQLite database");
        // A temporary file a killed run left two hours ago goes with the next store.
        let abandoned = dir.path().join("cache/schema-cd.123.tmp");
        std::fs::write(&abandoned, "").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&abandoned)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        entry.store(&built("t"));
        assert!(!abandoned.exists());
        // One changed byte of the body: the checksum no longer matches.
        let text = std::fs::read_to_string(entry.path()).unwrap();
        std::fs::write(entry.path(), text.replacen("\"t\"", "\"u\"", 1)).unwrap();
        assert!(entry.load().is_none());
    }

    #[test]
    fn only_the_newest_builds_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..KEPT + 3 {
            let entry = Entry {
                path: dir.path().join(format!("schema-{i:02}.json")),
            };
            entry.store(&built("t"));
            let at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(i as u64);
            std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap()
                .set_modified(at)
                .unwrap();
        }
        prune(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("schema-"))
            .collect();
        left.sort();
        assert_eq!(left.len(), KEPT);
        assert_eq!(left[0], "schema-03.json");
    }
}
