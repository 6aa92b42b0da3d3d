//! One file per command; each is a thin layer that loads the project, calls the graph, planner,
//! executor or backend, and prints through the `Printer`. No SQL or graph logic lives here.

mod backup;
mod branches;
mod check;
mod current;
mod graph;
mod heads;
mod history;
mod init;
mod log;
mod merge;
mod revision;
mod show;
mod stamp;
mod status;
mod upgrade;
mod verify;

use std::path::PathBuf;

use crate::cli::args::{Command, GlobalArgs};
use crate::config::{Config, DatabaseUrl};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::project::Project;

/// What every command gets: the global options and the printer.
pub struct Context {
    pub config_path: PathBuf,
    pub url_override: Option<String>,
    pub printer: Printer,
}

impl Context {
    pub fn new(global: &GlobalArgs, printer: Printer) -> Self {
        Context {
            config_path: global.config.clone(),
            url_override: global.url.clone(),
            printer,
        }
    }

    /// Loads `migrate.toml`.
    pub fn config(&self) -> Result<Config> {
        if !self.config_path.exists() {
            return Err(Error::Config {
                path: self.config_path.clone(),
                message: "no such config file; run `retort init` to create one, or pass `-c PATH`"
                    .into(),
            });
        }
        Config::load(&self.config_path)
    }

    /// Loads the config, every revision file and the graph; prints load warnings.
    pub fn project(&self) -> Result<Project> {
        let project = Project::load(self.config()?)?;
        for warning in &project.warnings {
            self.printer
                .warn(format!("{}: {}", warning.path.display(), warning.message));
        }
        Ok(project)
    }

    /// The database URL: `--url`, then `DATABASE_URL`, then the config file.
    pub fn database_url(&self, config: &Config) -> Result<DatabaseUrl> {
        let raw = self
            .url_override
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
            .or_else(|| config.database_url.clone())
            .ok_or_else(|| Error::Config {
                path: config.path.clone(),
                message: "no database URL: set `database_url`, DATABASE_URL or pass `--url`".into(),
            })?;
        DatabaseUrl::parse(&raw)
    }

    /// Prints revisions as a JSON array, or one formatted block each (`verbose` is `-v`).
    pub fn print_revisions(
        &self,
        project: &Project,
        ids: &[String],
        json: bool,
        format: impl Fn(&crate::display::Shown<'_>, bool) -> String,
    ) {
        if json {
            let docs: Vec<_> = ids
                .iter()
                .filter_map(|id| project.revision_json(id, None))
                .collect();
            self.printer.json(&docs);
            return;
        }
        let verbose = self.printer.verbose;
        self.printer.data_lines(
            ids.iter()
                .filter_map(|id| project.shown(id))
                .map(|shown| format(&shown, verbose)),
        );
    }

    /// `check` with a database: version rows the graph does not know, and drift (applied
    /// revisions whose SQL changed since they ran). Read-only; skipped with a warning when no
    /// database URL is configured or the database does not exist yet.
    pub fn check_database(
        &self,
        project: &Project,
        problems: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let Ok(url) = self.database_url(&project.config) else {
            warnings.push("no database URL: drift was not checked".into());
            return Ok(());
        };
        let Some(mut conn) = crate::db::connect_existing(&url)? else {
            warnings.push(format!(
                "database `{url}` does not exist yet: nothing applied to check"
            ));
            return Ok(());
        };
        let table = upgrade::version_table(&project.config, url.dialect());
        let rows = crate::db::version_table::read_heads(conn.as_mut(), &table)?;
        if let Err(e) = project.graph.current(&rows) {
            problems.push(format!("the version table of `{url}`: {e}"));
        }
        for d in crate::exec::drift::drift(conn.as_mut(), project, &table)? {
            problems.push(format!(
                "revision `{}` ({}) changed since it was applied at {}: checksum {} then, {} now",
                d.revision,
                d.path.display(),
                d.applied_at,
                d.applied_checksum,
                d.current_checksum
            ));
        }
        Ok(())
    }
}

/// Runs one command; returns the exit status for a run that did not fail.
pub fn run(ctx: &Context, command: Command) -> Result<u8> {
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Revision(args) => revision::run(ctx, args),
        Command::Merge(args) => merge::run(ctx, args),
        Command::Upgrade(args) => upgrade::run_upgrade(ctx, args),
        Command::Downgrade(args) => upgrade::run_downgrade(ctx, args),
        Command::Stamp(args) => stamp::run(ctx, args),
        Command::Current(args) => current::run(ctx, args),
        Command::Heads(args) => heads::run(ctx, args),
        Command::Branches(args) => branches::run(ctx, args),
        Command::History(args) => history::run(ctx, args),
        Command::Show(args) => show::run(ctx, args),
        Command::Status(args) => status::run(ctx, args),
        Command::Check(args) => check::run(ctx, args),
        Command::Graph(args) => graph::run(ctx, args),
        Command::Log(args) => log::run(ctx, args),
        Command::Backup(args) => backup::run_backup(ctx, args),
        Command::Backups(args) => backup::run_list(ctx, args),
        Command::Restore(args) => backup::run_restore(ctx, args),
        Command::Verify(args) => verify::run(ctx, args),
        Command::Completions(_) | Command::Man => {
            Err(Error::Internal("completions/man: not built yet".into()))
        }
    }
}
