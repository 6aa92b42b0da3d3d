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

use clap::CommandFactory;

use crate::cli::args::{Cli, Command, GlobalArgs, Shell};
use crate::config::{Config, DatabaseUrl};
use crate::error::{Error, Result};
use crate::migrator::{resolve_url, Migrator};
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
        let project = Project::load_cached(self.config()?)?;
        for warning in &project.warnings {
            self.printer
                .warn(format!("{}: {}", warning.path.display(), warning.message));
        }
        Ok(project)
    }

    /// The database URL: `--url`, then `DATABASE_URL`, then the config file.
    pub fn database_url(&self, config: &Config) -> Result<DatabaseUrl> {
        let raw =
            resolve_url(self.url_override.as_deref(), config).ok_or_else(|| Error::Config {
                path: config.path.clone(),
                message: "no database URL: set `database_url`, DATABASE_URL or pass `--url`".into(),
            })?;
        DatabaseUrl::parse(&raw)
    }

    /// The library's view of `project` on the command's database (the online commands are thin
    /// layers over it).
    pub fn migrator(&self, project: Project) -> Result<Migrator> {
        let url = self.database_url(&project.config)?;
        Ok(Migrator::from_project(project).with_database_url(url))
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
        Command::Completions(args) => completions(ctx, args.shell),
        Command::Man => man(ctx),
    }
}

/// `completions bash|zsh|fish`: the completion script generated from the clap definitions.
fn completions(ctx: &Context, shell: Shell) -> Result<u8> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "retort", &mut script);
    ctx.printer.data_raw(&String::from_utf8_lossy(&script));
    Ok(0)
}

/// `man`: the man page (roff) generated from the clap definitions, every subcommand included.
fn man(ctx: &Context) -> Result<u8> {
    let command = Cli::command();
    let mut page = Vec::new();
    let render_error =
        |e: std::io::Error| Error::Internal(format!("cannot render the man page: {e}"));
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(render_error)?;
    // clap_mangen lists subcommands by name only; each gets its own section with its options.
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("retort {}", sub.get_name());
        page.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name));
        man.render_synopsis_section(&mut page)
            .map_err(render_error)?;
        man.render_description_section(&mut page)
            .map_err(render_error)?;
        man.render_options_section(&mut page)
            .map_err(render_error)?;
    }
    ctx.printer.data_raw(&String::from_utf8_lossy(&page));
    Ok(0)
}
