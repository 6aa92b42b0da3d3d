//! A loaded project: config, every revision file, and the graph built from them.

use crate::config::Config;
use crate::error::Result;
use crate::graph::{RevisionGraph, RevisionSpec};
use crate::script::{self, Script, Warning};

/// Everything the graph commands need, loaded once.
#[derive(Debug)]
pub struct Project {
    pub config: Config,
    /// In load order; `scripts[i]` is the graph's revision `i`.
    pub scripts: Vec<Script>,
    pub graph: RevisionGraph,
    pub warnings: Vec<Warning>,
}

impl Project {
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
        let (scripts, warnings) = script::scan(
            &config.version_locations,
            config.recursive_version_locations,
            cache,
        )?;
        Project::from_scripts(config, scripts, warnings)
    }

    /// Builds and validates the graph of revision files already parsed, in load order.
    pub fn from_scripts(
        config: Config,
        scripts: Vec<Script>,
        warnings: Vec<Warning>,
    ) -> Result<Project> {
        let specs: Vec<RevisionSpec> = scripts.iter().map(RevisionSpec::from).collect();
        let graph = RevisionGraph::build(&specs)?;
        Ok(Project {
            config,
            scripts,
            graph,
            warnings,
        })
    }

    /// The script of a (full) revision id.
    pub fn script(&self, id: &str) -> Option<&Script> {
        self.graph.index_of(id).map(|i| &self.scripts[i])
    }
}

impl From<&Script> for RevisionSpec {
    fn from(s: &Script) -> Self {
        RevisionSpec {
            id: s.revision.clone(),
            down_revisions: s.down_revisions.clone(),
            branch_labels: s.branch_labels.clone(),
            depends_on: s.depends_on.clone(),
            path: s.path.clone(),
        }
    }
}
