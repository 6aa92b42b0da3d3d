//! One file per command; each resolves its settings, calls one operation (`ops`) or a query of
//! the `Migrator` or graph, and prints the outcome through the `Printer`. No SQL, graph, backup,
//! lock or verify logic lives here.

mod accept;
mod backup;
mod branches;
mod check;
mod current;
mod drift;
mod fleet;
mod graph;
mod heads;
mod history;
mod import;
mod init;
mod lint;
mod log;
mod merge;
mod rebase;
mod revision;
mod schema;
mod show;
mod stamp;
mod status;
mod test;
mod upgrade;
mod verify;

use crate::cli::args::Command;
use crate::cli::doc;
use crate::config::{Config, DatabaseUrl};
use crate::error::Result;
use crate::migrator::Migrator;
use crate::ops;
use crate::output::Printer;
use crate::project::Project;
use crate::settings::{GlobalSettings, ProcessEnv, ResolvedUrl, UrlSource, Verbosity};

/// What every command gets: the global settings and the printer.
pub(crate) struct Context {
    pub(crate) settings: GlobalSettings,
    pub(crate) printer: Printer,
}

impl Context {
    pub(crate) fn new(settings: GlobalSettings, printer: Printer) -> Self {
        Context { settings, printer }
    }

    /// Loads `migrate.toml`.
    pub(crate) fn config(&self) -> Result<Config> {
        Config::load_existing(
            &self.settings.config_path,
            &ProcessEnv,
            self.settings.environment.as_deref(),
        )
    }

    /// Loads the config, every revision file and the graph; prints load warnings.
    pub(crate) fn project(&self) -> Result<Project> {
        let config = self.config()?;
        let project = if self.settings.cache {
            Project::load_cached(config)?
        } else {
            Project::load(config)?
        };
        for warning in &project.warnings {
            self.printer
                .warn(format!("{}: {}", warning.path.display(), warning.message));
        }
        Ok(project)
    }

    /// The database URL: `--url`, then `DATABASE_URL`, then the config file.
    pub(crate) fn database_url(&self, config: &Config) -> Result<DatabaseUrl> {
        Ok(self.settings.database_url(config)?.url)
    }

    /// The database URL, named on stderr (see [`Context::announce`]): for a command that changes
    /// the database.
    pub(crate) fn name_database(&self, config: &Config) -> Result<DatabaseUrl> {
        let resolved = self.settings.database_url(config)?;
        self.announce(config, &resolved)?;
        Ok(resolved.url)
    }

    /// Names the database a command is about to change, on stderr: the masked URL, the engine
    /// and version it reports, and the setting the URL came from. `-q` skips the line and the
    /// query.
    pub(crate) fn announce(&self, config: &Config, resolved: &ResolvedUrl) -> Result<()> {
        if self.settings.output.verbosity == Verbosity::Quiet {
            return Ok(());
        }
        let server = ops::identity::server_description(&resolved.url)?;
        let from = match resolved.source {
            UrlSource::Flag => "--url".to_string(),
            UrlSource::Environment => "DATABASE_URL".to_string(),
            UrlSource::ConfigFile => config.path.display().to_string(),
        };
        self.printer.status(format!(
            "database: {} ({server}, from {from})",
            resolved.url
        ));
        Ok(())
    }

    /// The library's view of `project` on the command's database (the online commands are thin
    /// layers over it).
    pub(crate) fn migrator(&self, project: Project) -> Result<Migrator> {
        let url = self.database_url(&project.config)?;
        Ok(Migrator::from_project(project)
            .with_database_url(url)
            .with_os_user(self.settings.user.clone()))
    }

    /// Prints revisions as a JSON array, or one formatted block each (`verbose` is `-v`).
    pub(crate) fn print_revisions(
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
        let verbose = self.printer.is_verbose();
        self.printer.data_lines(
            ids.iter()
                .filter_map(|id| project.shown(id))
                .map(|shown| format(&shown, verbose)),
        );
    }
}

/// Runs one command; returns the exit status for a run that did not fail.
pub(crate) fn run(ctx: &Context, command: Command) -> Result<u8> {
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Revision(args) => revision::run(ctx, args),
        Command::Merge(args) => merge::run(ctx, args),
        Command::Rebase(args) => rebase::run(ctx, args),
        Command::Import(args) => import::run(ctx, args),
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
        Command::Lint(args) => lint::run(ctx, args),
        Command::Graph(args) => graph::run(ctx, args),
        Command::Log(args) => log::run(ctx, args),
        Command::Accept(args) => accept::run(ctx, args),
        Command::Backup(args) => backup::run_backup(ctx, args),
        Command::Backups(args) => backup::run_list(ctx, args),
        Command::Restore(args) => backup::run_restore(ctx, args),
        Command::Verify(args) => verify::run(ctx, args),
        Command::Schema(args) => schema::run(ctx, args),
        Command::Drift(args) => drift::run(ctx, args),
        Command::Test(args) => test::run(ctx, args),
        Command::Completions(args) => {
            ctx.printer.data_raw(&doc::completions(args.shell));
            Ok(0)
        }
        Command::Man => {
            ctx.printer.data_raw(&doc::man()?);
            Ok(0)
        }
    }
}
