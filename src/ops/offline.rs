//! Offline runs (`--sql`): plan from the version rows a `FROM` names and render the SQL script
//! instead of running it.

use super::audit::version_table;
use crate::config::Dialect;
use crate::error::{Error, Result};
use crate::exec::offline::run_offline;
use crate::exec::{PreparedStep, Progress};
use crate::graph::Plan;
use crate::project::Project;
use crate::settings::Operation;

/// A rendered script and the `Running upgrade A -> B` line of each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfflineRun {
    pub(crate) script: String,
    pub(crate) running_lines: Vec<String>,
}

/// The plan of `operation` from the version rows `from` names (empty: an empty version table)
/// to the operation's targets. A purging stamp cannot be rendered.
pub(crate) fn plan(project: &Project, operation: &Operation, from: &str) -> Result<Plan> {
    let graph = &project.graph;
    let rows = graph.offline_start(from)?;
    match operation {
        Operation::Upgrade(target) => graph.plan_upgrade(&rows, target),
        Operation::Downgrade(target) => graph.plan_downgrade(&rows, target),
        Operation::Stamp { purge: true, .. } => Err(Error::PurgeWithSql),
        Operation::Stamp { targets, .. } => graph.plan_stamp(&rows, targets, false),
    }
}

/// Renders `plan` as the SQL script for `dialect`.
pub(crate) fn render(project: &Project, plan: Plan, dialect: Dialect) -> Result<OfflineRun> {
    let config = &project.config;
    let mut lines = RunningLines::default();
    let script = run_offline(
        plan,
        &project.scripts,
        version_table(config, dialect)?,
        config.transaction_per_migration,
        config.templates.as_deref(),
        &mut lines,
    )?;
    Ok(OfflineRun {
        script,
        running_lines: lines.0,
    })
}

/// Collects the `Running ...` lines, for the caller to print in one go once the script is
/// rendered: a write per line costs more than rendering on a history of thousands.
#[derive(Default)]
struct RunningLines(Vec<String>);

impl Progress for RunningLines {
    fn step_started(&mut self, step: &PreparedStep, _index: usize, _total: usize) {
        self.0.push(step.running_line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migrator;

    fn project() -> Project {
        Migrator::from_sources(&[(
            "a1.sql",
            "-- revision = \"a1\"\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n",
        )])
        .unwrap()
        .into_project()
    }

    #[test]
    fn a_stamp_renders_from_its_start_and_a_purging_one_is_refused() {
        let project = project();
        let stamp = |purge| Operation::Stamp {
            targets: vec!["a1".into()],
            purge,
        };
        let stamped = plan(&project, &stamp(false), "").unwrap();
        let run = render(&project, stamped, Dialect::Sqlite).unwrap();
        assert_eq!(run.running_lines, ["Running stamp_revision  -> a1"]);
        assert!(
            run.script.contains("INSERT INTO retort_version"),
            "{}",
            run.script
        );
        let purging = plan(&project, &stamp(true), "").unwrap_err();
        assert!(matches!(purging, Error::PurgeWithSql), "{purging:?}");
    }
}
