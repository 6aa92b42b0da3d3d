//! The offline sink: collects a plan's calls into an [`OfflineScript`], which
//! `render::offline` prints as a SQL script (`--sql`) exactly as Alembic's offline mode does.
//!
//! It receives the same calls as the live sink; what it leaves out is deliberate: `verify`
//! queries (a script cannot act on their answer) and the audit table (Alembic's output has no
//! such statements, and a DBA running the script keeps their own record).

use std::path::Path;

use super::partial::{self, TxEffect};
use super::{run, PreparedStep, Progress, RunInput, Sink};
use crate::db::version_table::{AuditEntry, VersionTable};
use crate::db::DbError;
use crate::error::{Error, Result};
use crate::graph::{Plan, VersionOp};
use crate::render;
use crate::render::offline::{OfflineScript, OfflineStep};
use crate::script::Script;

/// Collects the calls of a run into an [`OfflineScript`].
pub(crate) struct OfflineSink {
    table: VersionTable,
    script: OfflineScript,
}

impl OfflineSink {
    pub(crate) fn new(table: VersionTable, transaction_per_migration: bool) -> Self {
        OfflineSink {
            script: OfflineScript {
                dialect: table.dialect,
                version_table_ddl: table.create_sql(),
                transaction_per_migration,
                steps: Vec::new(),
            },
            table,
        }
    }

    fn current(&mut self) -> Result<&mut OfflineStep, DbError> {
        self.script
            .steps
            .last_mut()
            .ok_or_else(|| DbError::new("offline sink: a statement came before its step"))
    }

    /// The collected script.
    pub(crate) fn into_script(self) -> OfflineScript {
        self.script
    }
}

impl Sink for OfflineSink {
    fn set_timeouts(&mut self, _step: &PreparedStep) -> Result<()> {
        Ok(())
    }

    fn can_retry(&self) -> bool {
        false
    }

    fn blocker(&mut self) -> Option<String> {
        None
    }

    fn purge(&mut self) -> Result<()> {
        Err(Error::PurgeWithSql)
    }

    fn begin_step(&mut self, step: &PreparedStep) -> Result<Option<Vec<String>>> {
        self.script.steps.push(OfflineStep {
            create_version_table: step.step.version_table_empty_before,
            kind: step.step.kind.running_name(),
            from: step.step.from.join(", "),
            to: step.step.to.join(", "),
            transactional: step.transactional,
            statements: Vec::new(),
            version_statements: Vec::new(),
        });
        Ok(None)
    }

    fn record_start(&mut self, _step: &PreparedStep, _entry: &AuditEntry) -> Result<()> {
        Ok(())
    }

    fn abandon_step(&mut self) -> Result<()> {
        self.script.steps.pop();
        Ok(())
    }

    fn execute(&mut self, sql: &str) -> Result<TxEffect, DbError> {
        self.current()?.statements.push(sql.to_string());
        Ok(partial::classify(self.table.dialect, sql))
    }

    fn failed_statement(&mut self, sql: &str) -> TxEffect {
        partial::classify(self.table.dialect, sql)
    }

    fn verify(&mut self, _sql: &str) -> Result<bool, DbError> {
        Ok(true)
    }

    fn version_op(&mut self, op: &VersionOp) -> Result<()> {
        let sql = match op {
            VersionOp::Insert { revision } => self.table.insert_sql(revision),
            VersionOp::Update { from, to } => self.table.update_sql(from, to),
            VersionOp::Delete { revision } => self.table.delete_sql(revision),
        };
        self.current()
            .map_err(|e| Error::Internal(e.message))?
            .version_statements
            .push(sql);
        Ok(())
    }

    fn finish_step(&mut self, _step: &PreparedStep, _entry: &AuditEntry) -> Result<()> {
        Ok(())
    }

    fn fail_step(&mut self, _step: &PreparedStep, _entry: &AuditEntry) -> Result<()> {
        Ok(())
    }
}

/// Renders `plan` as the offline SQL script for `table`'s dialect. `templates` is the project's
/// override directory (`templates =` in migrate.toml), searched for `offline/<dialect>.sql.j2`.
pub(crate) fn run_offline(
    plan: Plan,
    scripts: &[Script],
    table: VersionTable,
    transaction_per_migration: bool,
    templates: Option<&Path>,
    progress: &mut dyn Progress,
) -> Result<String> {
    let dialect = table.dialect;
    let mut sink = OfflineSink::new(table, transaction_per_migration);
    let input = RunInput {
        plan,
        scripts,
        dialect,
        replan: None,
        applied_by: None,
        // Timeouts are set by a live run; the script leaves them to whoever runs it.
        timeouts: crate::config::Timeouts::default(),
    };
    run(input, &mut sink, progress).map_err(Error::without_report)?;
    let mut env = render::environment();
    if let Some(dir) = templates {
        render::add_overrides(&mut env, dir)?;
    }
    render::offline::render(&env, &sink.into_script())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{chain_plan, down_plan, script};
    use super::super::Silent;
    use super::*;
    use crate::config::Dialect;

    fn scripts() -> Vec<Script> {
        vec![
            script(
                "1975ea83b712",
                &[],
                "CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)",
                Some("DROP TABLE account"),
            ),
            script(
                "ae1027a6acf",
                &["1975ea83b712"],
                "ALTER TABLE account ADD COLUMN last_transaction_date TIMESTAMP",
                Some("ALTER TABLE account DROP COLUMN last_transaction_date"),
            ),
        ]
    }

    fn render(dialect: Dialect, plan: Plan, per_migration: bool) -> String {
        let table = VersionTable::new(dialect, None, "alembic_version");
        run_offline(plan, &scripts(), table, per_migration, None, &mut Silent).unwrap()
    }

    const DDL: &str = "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n";

    #[test]
    fn sqlite_upgrade_matches_alembic() {
        let out = render(
            Dialect::Sqlite,
            chain_plan(None, &["1975ea83b712", "ae1027a6acf"]),
            false,
        );
        let want = format!(
            "{DDL}-- Running upgrade  -> 1975ea83b712\n\nCREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\n\nINSERT INTO alembic_version (version_num) VALUES ('1975ea83b712');\n\n-- Running upgrade 1975ea83b712 -> ae1027a6acf\n\nALTER TABLE account ADD COLUMN last_transaction_date TIMESTAMP;\n\nUPDATE alembic_version SET version_num='ae1027a6acf' WHERE alembic_version.version_num = '1975ea83b712';\n\n"
        );
        assert_eq!(out, want);
        // MySQL prints the same (docs/alembic-compatibility.md#offline-sql-output).
        let mysql = render(
            Dialect::Mysql,
            chain_plan(None, &["1975ea83b712", "ae1027a6acf"]),
            true,
        );
        assert_eq!(mysql, want);
    }

    #[test]
    fn postgresql_wraps_the_run_in_one_transaction() {
        let out = render(
            Dialect::Postgresql,
            down_plan(&[
                ("ae1027a6acf", Some("1975ea83b712")),
                ("1975ea83b712", None),
            ]),
            false,
        );
        assert_eq!(
            out,
            "BEGIN;\n\n-- Running downgrade ae1027a6acf -> 1975ea83b712\n\nALTER TABLE account DROP COLUMN last_transaction_date;\n\nUPDATE alembic_version SET version_num='1975ea83b712' WHERE alembic_version.version_num = 'ae1027a6acf';\n\n-- Running downgrade 1975ea83b712 -> \n\nDROP TABLE account;\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = '1975ea83b712';\n\nCOMMIT;\n\n"
        );
    }

    #[test]
    fn postgresql_transaction_per_migration_wraps_each_step() {
        let out = render(
            Dialect::Postgresql,
            chain_plan(None, &["1975ea83b712", "ae1027a6acf"]),
            true,
        );
        assert_eq!(
            out,
            format!("BEGIN;\n\n{DDL}-- Running upgrade  -> 1975ea83b712\n\nCREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\n\nINSERT INTO alembic_version (version_num) VALUES ('1975ea83b712');\n\nCOMMIT;\n\nBEGIN;\n\n-- Running upgrade 1975ea83b712 -> ae1027a6acf\n\nALTER TABLE account ADD COLUMN last_transaction_date TIMESTAMP;\n\nUPDATE alembic_version SET version_num='ae1027a6acf' WHERE alembic_version.version_num = '1975ea83b712';\n\nCOMMIT;\n\n")
        );
    }

    #[test]
    fn empty_plan_renders_nothing_for_sqlite() {
        assert_eq!(render(Dialect::Sqlite, chain_plan(None, &[]), false), "");
    }

    #[test]
    fn postgresql_non_transactional_step_leaves_the_run_transaction() {
        let mut scripts = scripts();
        scripts[1].transactional = false;
        scripts[1].sections.upgrade.as_mut().unwrap().sql =
            "CREATE INDEX CONCURRENTLY ix ON account (name)".into();
        let table = VersionTable::new(Dialect::Postgresql, None, "v");
        let plan = chain_plan(Some("1975ea83b712"), &["ae1027a6acf"]);
        let out = run_offline(
            plan.clone(),
            &scripts,
            table.clone(),
            false,
            None,
            &mut Silent,
        )
        .unwrap();
        assert_eq!(
            out,
            "BEGIN;\n\n-- Running upgrade 1975ea83b712 -> ae1027a6acf\n\nCOMMIT;\n\nCREATE INDEX CONCURRENTLY ix ON account (name);\n\nBEGIN;\n\nUPDATE v SET version_num='ae1027a6acf' WHERE v.version_num = '1975ea83b712';\n\nCOMMIT;\n\n"
        );
        let per_step = run_offline(plan, &scripts, table, true, None, &mut Silent).unwrap();
        assert!(!per_step.contains("BEGIN;"), "{per_step}");
    }
}
