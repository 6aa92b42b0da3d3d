//! The command line, as clap sees it. Only what the user typed lives here; the commands resolve
//! it into `settings`.
//! Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::settings::{parse_seconds, Seconds, DEFAULT_MIGRATION_LOCK_WAIT};

/// retort: schema migrations as a graph of SQL revisions, in the spirit of Alembic.
#[derive(Debug, Parser)]
#[command(
    name = "retort",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Commands that read no config and open no database: `-c` and `--url` are accepted (they are
/// global) but mean nothing there, so their help leaves them out.
const WITHOUT_PROJECT: [&str; 3] = ["init", "completions", "man"];

/// The command line definition, as parsed and as printed in help, completions and the man page.
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command();
    // A subcommand that already has an argument keeps it when the global one is propagated:
    // a hidden copy leaves it out of that command's help.
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| ["config", "url"].contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().hide(true))
        .collect();
    for name in WITHOUT_PROJECT {
        command = command.mut_subcommand(name, |sub| sub.args(hidden.iter().cloned()));
    }
    command
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The config file.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        default_value = "migrate.toml"
    )]
    pub config: PathBuf,
    /// Database URL; overrides DATABASE_URL and the config file.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// The `[env.NAME]` of migrate.toml whose settings override `[migrate]`; default:
    /// RETORT_ENV, else `[migrate]` itself.
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Print nothing but data and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (full revision entries, statements as they run).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create migrate.toml, migrations/versions/ and the templates.
    ///
    /// Example: retort init myproject
    Init(InitArgs),
    /// Create a new revision file.
    ///
    /// Example: retort revision -m "add invoice table" --branch-label billing
    Revision(RevisionArgs),
    /// Create a merge revision of the given revisions.
    ///
    /// Example: retort merge heads -m "merge billing and main"
    Merge(MergeArgs),
    /// Move revisions onto another parent: rewrite their `down_revision`, nothing else.
    /// Refused for revisions a database has applied (`merge` is the answer for those).
    ///
    /// Example: retort rebase 3f9a2c1d7b8e --onto heads
    Rebase(RebaseArgs),
    /// Turn another tool's migration folder into a linear chain of revisions.
    ///
    /// Example: retort import flyway db/migration
    Import(ImportArgs),
    /// Apply revisions up to TARGET.
    ///
    /// Examples: retort upgrade heads; retort upgrade +1; retort upgrade heads --sql
    Upgrade(UpgradeArgs),
    /// Revert revisions down to TARGET.
    ///
    /// Examples: retort downgrade -1; retort downgrade base; retort downgrade ae10:base --sql
    Downgrade(DowngradeArgs),
    /// Set the version table to REV... without running migrations.
    ///
    /// Example: retort stamp heads
    Stamp(StampArgs),
    /// Show the database's current revision(s).
    ///
    /// Examples: retort current; retort current --verbose; retort current --json
    Current(ReadArgs),
    /// Show the graph's heads.
    ///
    /// Examples: retort heads --verbose; retort heads --resolve-dependencies
    Heads(HeadsArgs),
    /// Show branch points.
    ///
    /// Example: retort branches --verbose
    Branches(JsonArgs),
    /// List revisions, newest first.
    ///
    /// Example: retort history -r ae10:heads --verbose
    History(HistoryArgs),
    /// Show the revision(s) REV names.
    ///
    /// Example: retort show billing@head
    Show(ShowArgs),
    /// Current revisions, pending revisions, and whether the database is up to date.
    ///
    /// Examples: retort status; retort --url sqlite:///app.db status --json; retort status --exit-code
    Status(StatusArgs),
    /// Validate the graph and every file; with a database, detect edited applied revisions.
    ///
    /// Examples: retort check; retort check --no-db --json; retort check --strict
    Check(CheckArgs),
    /// Lint revision files for lock-risky and breaking DDL, judged with how retort runs them.
    ///
    /// Examples: retort lint; retort lint --all --server-version 15; retort lint --git-base origin/main --format sarif
    Lint(LintArgs),
    /// Print the revision graph as Graphviz dot or Mermaid.
    ///
    /// Examples: retort graph | dot -Tsvg > graph.svg; retort graph --format mermaid
    Graph(GraphArgs),
    /// Show the audit trail of applied upgrades, downgrades and stamps.
    ///
    /// Example: retort log -n 10
    Log(LogArgs),
    /// Accept the changed file of an applied revision: record it, with a reason, in the audit
    /// trail, so drift checks hold the file to its new SQL from then on.
    ///
    /// Example: retort accept ae1027a6acf --reason "reworded a comment inside a string"
    Accept(AcceptArgs),
    /// Back up the database now.
    ///
    /// Example: retort backup --json
    Backup(BackupArgs),
    /// List backups.
    ///
    /// Example: retort backups --json
    Backups(JsonArgs),
    /// Restore a backup (checked against its checksum first).
    ///
    /// Examples: retort restore --latest; retort restore backups/app_20261123_101502.db
    Restore(RestoreArgs),
    /// Integrity and referential checks of the live database.
    ///
    /// Example: retort verify --json
    Verify(ReadArgs),
    /// Print the live database's schema: text, `--json`, or `--sql` (canonical DDL).
    ///
    /// Examples: retort schema; retort schema --table users; retort schema --sql > schema.sql
    Schema(SchemaArgs),
    /// Compare the live schema with the one the applied revisions build (exit 1 on drift).
    ///
    /// Examples: retort drift; retort drift --json; retort drift --dev-url postgresql://…/dev
    Drift(DriftArgs),
    /// Test the migrations on a scratch database: each revision up, down (the schema must be
    /// restored), up again, its `-- migrate:test` queries; then the end result against
    /// `upgrade heads` from empty.
    ///
    /// Examples: retort test; retort test --junit report.xml; retort test --from ae10 --json
    Test(TestArgs),
    /// Print a shell completion script.
    ///
    /// Example: retort completions bash > /etc/bash_completion.d/retort
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    ///
    /// Example: retort man > /usr/local/share/man/man1/retort.1
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `current` and `verify`: `--json`, and `--fleet`.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// `--fleet NAME` and how its targets run.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// Run on every target of `[fleet.NAME]` in migrate.toml (see docs/fleets.md).
    #[arg(long, value_name = "NAME")]
    pub fleet: Option<String>,
    /// Targets of the fleet run at once.
    #[arg(long, value_name = "N", default_value_t = 4, requires = "fleet")]
    pub jobs: usize,
    /// Write the fleet run's manifest to PATH (commands that change databases write one to
    /// .retort/ by default).
    #[arg(long, value_name = "PATH", requires = "fleet")]
    pub manifest: Option<PathBuf>,
}

/// The staged rollout of a fleet run that changes databases.
#[derive(Debug, Args)]
pub(crate) struct RolloutArgs {
    /// Run N targets first; stop if any of them fails.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "fleet")]
    pub canary: usize,
    /// After the canary, run the rest in waves of N targets.
    #[arg(long, value_name = "N", requires = "fleet")]
    pub wave: Option<usize>,
    /// Start no new target once K targets have failed.
    #[arg(long = "max-failures", value_name = "K", requires = "fleet")]
    pub max_failures: Option<usize>,
    /// Continue the fleet run of this manifest: targets it records as done are skipped.
    #[arg(long, value_name = "MANIFEST", requires = "fleet")]
    pub resume: Option<PathBuf>,
    /// Print one JSON object per target of the fleet on stdout instead of the table.
    #[arg(long, requires = "fleet")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory to initialise.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RevisionArgs {
    /// The revision's message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Parent revision (default: the single head); `base` for a new root.
    #[arg(long)]
    pub head: Option<String>,
    /// Allow a parent that is not a head (starts a new branch).
    #[arg(long)]
    pub splice: bool,
    /// A branch label for the new revision.
    #[arg(long = "branch-label")]
    pub branch_label: Option<String>,
    /// A revision or label the new revision depends on (repeatable).
    #[arg(long = "depends-on")]
    pub depends_on: Vec<String>,
    /// Use this id instead of a random one.
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
    /// Write the file into this version location.
    #[arg(long = "version-path")]
    pub version_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Revisions to merge (`heads` for all heads).
    #[arg(required = true)]
    pub revisions: Vec<String>,
    /// The merge revision's message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// A branch label for the merge revision.
    #[arg(long = "branch-label")]
    pub branch_label: Option<String>,
    /// Use this id instead of a random one.
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The tool the folder was written for.
    #[arg(value_enum)]
    pub tool: crate::import::Tool,
    /// The folder of migrations.
    pub dir: PathBuf,
    /// `import alembic`: the alembic program that renders the SQL (default: `alembic` on PATH).
    #[arg(long, value_name = "PATH")]
    pub alembic: Option<PathBuf>,
    /// `import alembic`: a dialect to render the SQL for, repeatable (default: the database URL's).
    #[arg(long, value_enum)]
    pub dialect: Vec<DialectArg>,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RebaseArgs {
    /// Revisions to move (their descendants move with them).
    #[arg(required = true)]
    pub revisions: Vec<String>,
    /// The new parent: a revision, `label@head`, `head`, or `base` for a new root.
    #[arg(long)]
    pub onto: String,
    /// Move them without a database to check: you know no database has applied them.
    #[arg(long)]
    pub unchecked: bool,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by upgrade and downgrade.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Print the SQL instead of running it (offline mode; TARGET may be a `FROM:TO` range).
    #[arg(long)]
    pub sql: bool,
    /// Dialect for --sql when the URL does not say.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Connect, read the current state and print the plan; change nothing.
    #[arg(long = "dry-run", conflicts_with = "sql")]
    pub dry_run: bool,
    /// Write a JSON report of the run to PATH.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Do not back up the database first.
    #[arg(long = "no-backup")]
    pub no_backup: bool,
    /// Run even though an applied revision's file changed since it ran (see `retort accept`).
    #[arg(long = "allow-drift")]
    pub allow_drift: bool,
    #[command(flatten)]
    pub(crate) lock_wait: LockWaitArgs,
}

/// How long to wait for another runner's migration lock; `--lock-timeout` is its old name.
#[derive(Debug, Args)]
pub(crate) struct LockWaitArgs {
    /// Seconds to wait for another retort run's migration lock (not PostgreSQL's
    /// `lock_timeout`, which is set in migrate.toml or a revision's header).
    #[arg(
        long = "migration-lock-wait",
        value_name = "SECS",
        value_parser = parse_seconds,
        default_value_t = Seconds(DEFAULT_MIGRATION_LOCK_WAIT)
    )]
    migration_lock_wait: Seconds,
    /// The old name of `--migration-lock-wait`, kept working with a note.
    #[arg(
        long = "lock-timeout",
        value_name = "SECS",
        value_parser = parse_seconds,
        hide = true,
        conflicts_with = "migration_lock_wait"
    )]
    lock_timeout: Option<Seconds>,
}

impl LockWaitArgs {
    /// The wait, and the deprecation note to show when it was given by its old name.
    pub(crate) fn resolve(&self) -> (std::time::Duration, Option<&'static str>) {
        match &self.lock_timeout {
            Some(old) => (
                old.0,
                Some(
                    "`--lock-timeout` is now `--migration-lock-wait` (PostgreSQL's lock_timeout \
                     is set in migrate.toml); the old name will be removed",
                ),
            ),
            None => (self.migration_lock_wait.0, None),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct UpgradeArgs {
    /// Target: `heads`, `head`, a revision, `label@head`, `+N`, ...
    pub target: String,
    #[command(flatten)]
    pub run: RunArgs,
    /// Run the pending plan inside one transaction, report, and roll everything back.
    #[arg(long, conflicts_with = "sql")]
    pub rehearse: bool,
    /// Run `verify` (integrity and referential checks) after the upgrade.
    #[arg(long)]
    pub verify: bool,
    /// Lint the revisions the upgrade would run first: `deny` refuses on a finding, before any
    /// lock or change; `warn` prints the findings and goes on.
    #[arg(long, value_enum, value_name = "MODE")]
    pub lint: Option<LintMode>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub rollout: RolloutArgs,
    /// Refuse to run when the live schema differs from what the applied revisions build
    /// (checked under the lock, on a scratch database; see `retort drift`).
    #[arg(long = "require-no-drift", conflicts_with = "sql")]
    pub require_no_drift: bool,
    /// With --require-no-drift: an empty database to build the expected schema in.
    #[arg(long = "dev-url", requires = "require_no_drift")]
    pub dev_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DowngradeArgs {
    /// Target: a revision, `base`, `-N`, `label@-N`, ...
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StampArgs {
    /// Revisions to stamp (with --sql, each may be `FROM:TO`).
    #[arg(
        required_unless_present = "from",
        conflicts_with = "from",
        allow_negative_numbers = true
    )]
    pub revisions: Vec<String>,
    /// Adopt a database this tool migrated: stamp the imported revisions its history table
    /// says ran (see `retort import`).
    #[arg(long, value_enum, conflicts_with_all = ["purge", "sql"])]
    pub from: Option<crate::import::Tool>,
    /// With --from: say what would be stamped; change nothing.
    #[arg(long = "dry-run", requires = "from")]
    pub dry_run: bool,
    /// Delete every version row first.
    #[arg(long)]
    pub purge: bool,
    /// Print the SQL instead of running it (offline mode; each revision may be `FROM:TO`).
    #[arg(long)]
    pub sql: bool,
    /// Dialect for --sql when the URL does not say.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Do not back up the database first.
    #[arg(long = "no-backup")]
    pub no_backup: bool,
    #[command(flatten)]
    pub(crate) lock_wait: LockWaitArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HeadsArgs {
    /// Only heads with nothing depending on them.
    #[arg(long = "resolve-dependencies")]
    pub resolve_dependencies: bool,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Range `A:B`, `A:` or `:B`.
    #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
    pub rev_range: Option<String>,
    /// Mark the database's current revisions.
    #[arg(short = 'i', long = "indicate-current")]
    pub indicate_current: bool,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Any target form: a revision, `heads`, `label@head`, ...
    #[arg(allow_hyphen_values = true)]
    pub rev: String,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Validate files and graph only; do not connect to the database.
    #[arg(long = "no-db")]
    pub no_db: bool,
    /// Also fail (exit 1) on several heads and on a database that is not up to date.
    #[arg(long)]
    pub strict: bool,
    /// Only check that the graph has one head (a CI gate for parallel branches); reads no
    /// database.
    #[arg(long = "single-head", conflicts_with_all = ["no_db", "strict"])]
    pub single_head: bool,
    /// With --single-head: name the revisions this branch added since git REF and the
    /// `retort rebase` that moves them.
    #[arg(long = "git-base", value_name = "REF", requires = "single_head")]
    pub git_base: Option<String>,
    /// Also lint the unapplied revisions (`retort lint`): `deny` makes findings problems.
    #[arg(long, value_enum, value_name = "MODE")]
    pub lint: Option<LintMode>,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also compare the live schema with the one the applied revisions build on a scratch
    /// database (exit 1 on drift).
    #[arg(long, conflicts_with = "no_db")]
    pub schema: bool,
    /// Fail when the migrations, built from empty on a scratch database, no longer produce
    /// this file (`retort schema --sql` output); prints a unified diff.
    #[arg(long = "schema-file", value_name = "PATH", conflicts_with = "no_db")]
    pub schema_file: Option<PathBuf>,
    #[command(flatten)]
    pub scratch: ScratchArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Lint every revision, applied or not.
    #[arg(long, conflicts_with = "git_base")]
    pub all: bool,
    /// Lint the revisions whose files changed since this git reference (`git diff --name-only REF`).
    #[arg(long = "git-base", value_name = "REF")]
    pub git_base: Option<String>,
    /// The server version to judge for when no database answers, e.g. `15`, `8.0.36`, `mariadb-10.11`.
    #[arg(long = "server-version", value_name = "VERSION")]
    pub server_version: Option<String>,
    /// The dialect, when no database URL says.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Do not connect: lint every revision (or those of --git-base), for --server-version.
    #[arg(long = "no-db")]
    pub no_db: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Print a JSON document on stdout (the same as `--format json`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

/// What a finding of `--lint` does to `check` or `upgrade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintMode {
    /// A finding fails the command before it does anything else.
    Deny,
    /// Findings are printed as warnings.
    Warn,
}

/// Where a schema check builds the schema its revisions produce.
#[derive(Debug, Args)]
pub(crate) struct ScratchArgs {
    /// An empty database to build the expected schema in (default: `[schema] dev_url`, else
    /// in memory for SQLite, a temporary database on the same server otherwise).
    #[arg(long = "dev-url")]
    pub dev_url: Option<String>,
    #[command(flatten)]
    pub(crate) lock_wait: LockWaitArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the results as JUnit XML to PATH (for CI).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Build up to this revision first and test only the revisions after it.
    #[arg(long)]
    pub from: Option<String>,
    #[command(flatten)]
    pub scratch: ScratchArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub scratch: ScratchArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Print a JSON document on stdout.
    #[arg(long, conflicts_with = "sql")]
    pub json: bool,
    /// Print the schema as DDL in dependency order (the same database gives the same bytes).
    #[arg(long)]
    pub sql: bool,
    /// Only this table (with its triggers).
    #[arg(long)]
    pub table: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 when the database is not up to date (a CI gate).
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Show only the newest N entries.
    #[arg(short = 'n', long)]
    pub limit: Option<usize>,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AcceptArgs {
    /// The applied revision whose file changed.
    pub rev: String,
    /// Why the change is safe, recorded in the audit trail (required).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Print the backup's metadata as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file to restore.
    #[arg(conflicts_with = "latest", required_unless_present = "latest")]
    pub file: Option<PathBuf>,
    /// Restore the newest backup.
    #[arg(long)]
    pub latest: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgresql,
    Mysql,
}

impl From<DialectArg> for crate::config::Dialect {
    fn from(d: DialectArg) -> Self {
        match d {
            DialectArg::Sqlite => crate::config::Dialect::Sqlite,
            DialectArg::Postgresql => crate::config::Dialect::Postgresql,
            DialectArg::Mysql => crate::config::Dialect::Mysql,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every argument of every command says what it is for in `--help`.
    #[test]
    fn every_argument_has_help() {
        fn missing(command: &clap::Command, path: &str, out: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    out.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                missing(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut out = Vec::new();
        missing(&command(), "retort", &mut out);
        assert!(out.is_empty(), "arguments without help: {out:?}");
    }

    #[test]
    fn commands_without_a_project_hide_config_and_url() {
        let command = command();
        for sub in command.get_subcommands() {
            let hidden = |id: &str| {
                sub.get_arguments()
                    .find(|arg| arg.get_id() == id)
                    .is_some_and(|arg| arg.is_hide_set())
            };
            let expected = WITHOUT_PROJECT.contains(&sub.get_name());
            assert_eq!(hidden("config"), expected, "{}", sub.get_name());
            assert_eq!(hidden("url"), expected, "{}", sub.get_name());
        }
        assert!(!command.find_subcommand("man").unwrap().is_hide_set());
    }

    #[test]
    fn negative_relative_targets_parse_as_values() {
        let cli = Cli::try_parse_from(["retort", "downgrade", "-1"]).unwrap();
        match cli.command {
            Command::Downgrade(a) => assert_eq!(a.target, "-1"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
