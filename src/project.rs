//! A loaded project: config, every revision file, and the graph built from them.

use crate::config::Config;
use crate::display::{RevisionJson, Shown};
use crate::error::{Error, Result};
use std::sync::Arc;

use crate::graph::RevisionGraph;
use crate::script::{self, RevisionMeta, Script, Warning};

/// Fails unless `script_location` exists: a misspelt path must not read as an empty project
/// (which `revision` would then create), as in Alembic.
pub(crate) fn require_script_location(config: &Config) -> Result<()> {
    if config.script_location.is_dir() {
        Ok(())
    } else {
        Err(Error::ScriptLocationMissing {
            path: config.script_location.clone(),
        })
    }
}

/// Everything the graph commands need, loaded once. Cloning shares the files and the graph
/// (a fleet gives each schema-per-tenant target its own config over the same history).
#[derive(Debug, Clone)]
pub struct Project {
    pub(crate) config: Config,
    /// In load order; `scripts[i]` is the graph's revision `i`.
    pub(crate) scripts: Arc<Vec<Script>>,
    pub(crate) graph: Arc<RevisionGraph>,
    pub(crate) warnings: Vec<Warning>,
    /// The command line's cache folder (revisions, expected schemas); `None` writes nothing.
    pub(crate) cache: Option<std::path::PathBuf>,
}

impl Project {
    /// The revision graph built from the files.
    pub fn graph(&self) -> &RevisionGraph {
        &self.graph
    }

    /// Scans the version locations and builds and validates the graph. Reads every file and
    /// writes nothing.
    pub fn load(config: Config) -> Result<Project> {
        Project::scan(config, None)
    }

    /// Like [`Project::load`], through the revision cache in `script_location` (see
    /// [`script::cache`]): the command line's way, where every command loads the history again.
    pub fn load_cached(config: Config) -> Result<Project> {
        let cache = script::cache::dir_for(&config.script_location);
        Project::scan(config, cache.as_deref())
    }

    fn scan(config: Config, cache: Option<&std::path::Path>) -> Result<Project> {
        require_script_location(&config)?;
        let (scripts, warnings) = script::scan(
            &config.version_locations,
            config.recursive_version_locations,
            cache,
        )?;
        let mut project = Project::from_scripts(config, scripts, warnings)?;
        project.cache = cache.map(std::path::Path::to_path_buf);
        Ok(project)
    }

    /// Builds and validates the graph of revision files already parsed, in load order.
    pub fn from_scripts(
        config: Config,
        scripts: Vec<Script>,
        warnings: Vec<Warning>,
    ) -> Result<Project> {
        let graph = RevisionGraph::build(&scripts)?;
        Ok(Project {
            config,
            scripts: Arc::new(scripts),
            graph: Arc::new(graph),
            warnings,
            cache: None,
        })
    }

    /// The script of a (full) revision id.
    pub fn script(&self, id: &str) -> Option<&Script> {
        self.graph.index_of(id).map(|i| &self.scripts[i])
    }

    /// The display view of a revision (full id); `None` for an unknown id.
    pub fn shown(&self, id: &str) -> Option<Shown<'_>> {
        let info = self.graph.info(id)?;
        let script = self.script(id)?;
        Some(Shown {
            meta: RevisionMeta {
                branch_labels: info.branch_labels.clone(),
                ..script.meta.clone()
            },
            path: &script.path,
            info,
        })
    }

    /// The JSON object of a revision; `current` is set where the database is known.
    pub fn revision_json(&self, id: &str, current: Option<bool>) -> Option<RevisionJson<'_>> {
        Some(RevisionJson {
            shown: self.shown(id)?,
            is_current: current,
        })
    }
}
