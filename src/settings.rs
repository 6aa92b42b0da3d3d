//! What the user asked for, resolved: command-line flags, the process environment and
//! `migrate.toml` turned into typed settings the operations in `ops` take.
//!
//! Every read of the process environment goes through [`Env`] (clippy's `disallowed-methods`
//! keeps it so), which lets tests resolve settings from a map instead of the real environment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, DatabaseUrl, Dialect};
pub(crate) use crate::env::{Env, ProcessEnv};
use crate::error::{Error, Result};
use crate::report::StepKind;

/// How long a run waits for another runner's migration lock by default.
pub const DEFAULT_MIGRATION_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Whether the revision cache is used: unless `RETORT_NO_CACHE` is set to anything but empty
/// or `0`.
pub(crate) fn cache_enabled(env: &dyn Env) -> bool {
    !env.var_os("RETORT_NO_CACHE")
        .is_some_and(|v| !v.is_empty() && v != "0")
}

/// The operating system's user, for the audit trail when the database has no notion of one.
pub(crate) fn os_user(env: &dyn Env) -> Option<String> {
    env.var("USER")
        .or_else(|| env.var("USERNAME"))
        .filter(|u| !u.is_empty())
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty
/// string (<https://no-color.org>).
fn use_color(terminal: bool, env: &dyn Env) -> bool {
    terminal && env.var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Where the database URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlSource {
    /// `--url`.
    Flag,
    /// The `DATABASE_URL` environment variable.
    Environment,
    /// `database_url` in `migrate.toml`.
    ConfigFile,
}

/// A database URL and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedUrl {
    pub(crate) url: DatabaseUrl,
    pub(crate) source: UrlSource,
}

impl ResolvedUrl {
    /// Parses `raw` from `source`. A relative SQLite path in the config file is taken from the
    /// file's directory (as its other paths are); one in `--url` or `DATABASE_URL` from the
    /// working directory, as Alembic and every command-line path argument do.
    fn parse(raw: &str, source: UrlSource, config: &Config) -> Result<ResolvedUrl> {
        let url = DatabaseUrl::parse(raw)?;
        let url = match source {
            // The config path as given: `../migrate.toml` gives `../app.db`, so messages keep
            // the paths the user typed.
            UrlSource::ConfigFile => url.relative_to(config.path.parent().unwrap_or(Path::new(""))),
            UrlSource::Flag | UrlSource::Environment => url,
        };
        Ok(ResolvedUrl { url, source })
    }
}

/// The URL by precedence: `flag` (`--url`), then `DATABASE_URL` from `env`, then the config
/// file's `database_url`. `None` when none is set. The file's URL is expanded only when it is
/// the one chosen, so an unset `${VAR}` there fails only commands that use it.
pub(crate) fn choose_url(
    flag: Option<&str>,
    env: &dyn Env,
    config: &Config,
) -> Result<Option<ResolvedUrl>> {
    choose(flag, env.var("DATABASE_URL"), config)
}

fn choose(
    flag: Option<&str>,
    environment: Option<String>,
    config: &Config,
) -> Result<Option<ResolvedUrl>> {
    let chosen = match (flag, environment.filter(|u| !u.is_empty())) {
        (Some(url), _) => Some((url.to_string(), UrlSource::Flag)),
        (None, Some(url)) => Some((url, UrlSource::Environment)),
        (None, None) => config
            .database_url()?
            .map(|url| (url.to_string(), UrlSource::ConfigFile)),
    };
    chosen
        .map(|(raw, source)| ResolvedUrl::parse(&raw, source, config))
        .transpose()
}

/// The config file of a run: `-c PATH` as given; else the nearest `migrate.toml` in `cwd` or
/// one of its parents, as cargo finds `Cargo.toml` (`migrate.toml` itself when there is none,
/// for the error to name, and for `init`).
pub(crate) fn find_config(flag: Option<PathBuf>, cwd: &Path) -> PathBuf {
    let name = Path::new(CONFIG_FILE_NAME);
    flag.or_else(|| {
        // In the working directory, the relative name keeps messages as they were.
        if cwd.join(name).is_file() {
            return Some(name.to_path_buf());
        }
        cwd.ancestors()
            .skip(1)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
    .unwrap_or_else(|| name.to_path_buf())
}

/// The config file's name, looked for when `-c` is not given.
pub(crate) const CONFIG_FILE_NAME: &str = "migrate.toml";

/// How much a command prints besides data and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verbosity {
    /// `-q`: data and errors only.
    Quiet,
    Default,
    /// `-v`: full entries, statements as they run.
    Verbose,
}

impl Verbosity {
    /// `-q` wins over `-v`.
    pub(crate) fn from_flags(quiet: bool, verbose: bool) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            (false, false) => Verbosity::Default,
        }
    }
}

/// What the printer shows and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputSettings {
    pub(crate) verbosity: Verbosity,
    /// Colour on stderr: a terminal without `NO_COLOR`.
    pub(crate) color: bool,
    /// A progress bar on stderr: a terminal and not `-q`, whatever `NO_COLOR` says.
    pub(crate) progress: bool,
}

impl OutputSettings {
    /// The decisions for `verbosity`; `stderr_terminal` is whether stderr is a terminal.
    pub(crate) fn resolve(
        verbosity: Verbosity,
        env: &dyn Env,
        stderr_terminal: bool,
    ) -> OutputSettings {
        OutputSettings {
            verbosity,
            color: use_color(stderr_terminal, env),
            progress: stderr_terminal && verbosity != Verbosity::Quiet,
        }
    }
}

/// The options every command shares, resolved.
#[derive(Debug, Clone)]
pub(crate) struct GlobalSettings {
    pub(crate) config_path: PathBuf,
    /// `--url`, kept apart from the environment's so the precedence is applied in one place.
    url_flag: Option<String>,
    /// `DATABASE_URL`, read once.
    url_env: Option<String>,
    /// The `[env.NAME]` of migrate.toml: `--env`, else `RETORT_ENV`; `None` is `[migrate]`.
    pub(crate) environment: Option<String>,
    pub(crate) output: OutputSettings,
    /// The revision cache (off with `RETORT_NO_CACHE`).
    pub(crate) cache: bool,
    /// The operating system's user, for the audit trail.
    pub(crate) user: Option<String>,
}

impl GlobalSettings {
    /// Resolves the global flags against `env`; `stderr_terminal` is whether stderr is a
    /// terminal.
    pub(crate) fn resolve(
        config_path: PathBuf,
        url_flag: Option<String>,
        env_flag: Option<String>,
        verbosity: Verbosity,
        env: &dyn Env,
        stderr_terminal: bool,
    ) -> GlobalSettings {
        GlobalSettings {
            config_path,
            url_flag,
            url_env: env.var("DATABASE_URL"),
            environment: chosen_environment(env_flag, env),
            output: OutputSettings::resolve(verbosity, env, stderr_terminal),
            cache: cache_enabled(env),
            user: os_user(env),
        }
    }

    /// Whether `--url` was given (a fleet refuses it: its targets name the databases).
    pub(crate) fn url_flag_given(&self) -> bool {
        self.url_flag.is_some()
    }

    /// The database URL of `config` with this run's precedence.
    pub(crate) fn database_url(&self, config: &Config) -> Result<ResolvedUrl> {
        choose(self.url_flag.as_deref(), self.url_env.clone(), config)?.ok_or_else(|| {
            Error::NoDatabaseUrl {
                path: config.path.clone(),
            }
        })
    }
}

/// The environment of a run: `--env`, else `RETORT_ENV`; empty means the default one.
pub(crate) fn chosen_environment(flag: Option<String>, env: &dyn Env) -> Option<String> {
    flag.or_else(|| env.var("RETORT_ENV"))
        .filter(|name| !name.is_empty())
}

/// The database a schema check builds in: `--dev-url`, else `[schema] dev_url` (a relative
/// SQLite path taken from the config file's directory); `None`: a scratch database.
pub(crate) fn dev_url(flag: Option<&str>, config: &Config) -> Result<Option<DatabaseUrl>> {
    match (flag, &config.schema.dev_url) {
        (Some(flag), _) => DatabaseUrl::parse(flag).map(Some),
        (None, Some(url)) => Ok(Some(DatabaseUrl::parse(url)?.relative_to(&config.root))),
        (None, None) => Ok(None),
    }
}

/// A number of seconds on the command line (`--migration-lock-wait 0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seconds(pub(crate) Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// The clap value parser of a number of seconds.
pub(crate) fn parse_seconds(text: &str) -> std::result::Result<Seconds, String> {
    let seconds: f64 = text.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(seconds)
        .map(Seconds)
        .map_err(|_| "not a number of seconds".to_string())
}

/// What a run does: the online form of the `upgrade`, `downgrade` and `stamp` commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Apply revisions up to a target (`heads`, `head`, a revision, `label@head`, `+N`, ...).
    Upgrade(String),
    /// Revert revisions down to a target (a revision, `base`, `-N`, `label@-N`, ...).
    Downgrade(String),
    /// Set the version table to `targets` without running any revision; `purge` deletes every
    /// version row first (the way out when the table names revisions no file defines).
    Stamp {
        /// The revisions to stamp (any target form: `heads`, a revision, `base`, ...).
        targets: Vec<String>,
        /// Delete every version row first.
        purge: bool,
    },
}

impl Operation {
    /// The kind of step the operation runs.
    pub(crate) fn kind(&self) -> StepKind {
        match self {
            Operation::Upgrade(_) => StepKind::Upgrade,
            Operation::Downgrade(_) => StepKind::Downgrade,
            Operation::Stamp { .. } => StepKind::Stamp,
        }
    }

    /// The target(s) as given, space-separated (for backups and reports).
    pub(crate) fn target_text(&self) -> String {
        match self {
            Operation::Upgrade(target) | Operation::Downgrade(target) => target.clone(),
            Operation::Stamp { targets, .. } => targets.join(" "),
        }
    }
}

/// How an online or offline run goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Change the database.
    Run,
    /// Read the state, print the plan, change nothing.
    DryRun,
    /// Run everything in one transaction and roll it back.
    Rehearse,
    /// Render the SQL from the version rows `from` names (empty: base) to the operation's
    /// targets.
    Offline {
        from: String,
        /// `--dialect`; else the URL's.
        dialect: Option<Dialect>,
    },
}

/// What `upgrade`, `downgrade` and `stamp` were asked for, before it is resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunFlags {
    pub(crate) sql: bool,
    pub(crate) dialect: Option<Dialect>,
    pub(crate) dry_run: bool,
    pub(crate) rehearse: bool,
    pub(crate) report: Option<PathBuf>,
    pub(crate) no_backup: bool,
    pub(crate) allow_drift: bool,
    pub(crate) migration_lock_wait: Option<Duration>,
    pub(crate) verify: bool,
    pub(crate) purge: bool,
    /// `--require-no-drift`, with its `--dev-url` if any.
    pub(crate) require_no_drift: Option<Option<String>>,
}

/// A run of `upgrade`, `downgrade` or `stamp`, resolved.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    /// What to do; offline, its targets are the `TO` of a `FROM:TO`.
    pub(crate) operation: Operation,
    pub(crate) mode: Mode,
    /// `--migration-lock-wait`.
    pub(crate) migration_lock_wait: Duration,
    /// `--no-backup`.
    pub(crate) no_backup: bool,
    /// `--allow-drift`: run although an applied revision's file changed since it ran.
    pub(crate) allow_drift: bool,
    /// `--report PATH`: a JSON document of the run.
    pub(crate) report: Option<PathBuf>,
    /// `--verify`: integrity checks after the run.
    pub(crate) verify: bool,
    /// `--require-no-drift`, with its `--dev-url` if any.
    pub(crate) require_no_drift: Option<Option<String>>,
}

impl RunSettings {
    /// `upgrade TARGET`: `FROM:TO` only offline.
    pub(crate) fn upgrade(target: &str, flags: RunFlags) -> Result<RunSettings> {
        let (from, to) = match target.split_once(':') {
            Some((from, to)) if flags.sql => (from, to),
            _ if flags.sql => ("", target),
            _ => {
                reject_range(target, "upgrade")?;
                ("", target)
            }
        };
        Ok(RunSettings::new(
            Operation::Upgrade(to.to_string()),
            from,
            flags,
        ))
    }

    /// `downgrade TARGET`: offline it must be `FROM:TO`.
    pub(crate) fn downgrade(target: &str, flags: RunFlags) -> Result<RunSettings> {
        let (from, to) = if flags.sql {
            target
                .split_once(':')
                .ok_or(Error::OfflineDowngradeNeedsRange)?
        } else {
            reject_range(target, "downgrade")?;
            ("", target)
        };
        Ok(RunSettings::new(
            Operation::Downgrade(to.to_string()),
            from,
            flags,
        ))
    }

    /// `stamp REV...`: offline each may be `FROM:TO`, all with the same FROM (as Alembic).
    pub(crate) fn stamp(revisions: &[String], flags: RunFlags) -> Result<RunSettings> {
        if !flags.sql && revisions.iter().any(|r| r.contains(':')) {
            return Err(Error::StampRangeNeedsSql);
        }
        let mut start: Option<&str> = None;
        let mut targets = Vec::with_capacity(revisions.len());
        for revision in revisions {
            match revision.split_once(':') {
                Some((from, to)) => {
                    if start.is_some_and(|s| s != from) {
                        return Err(Error::StampRangesFromSeveral);
                    }
                    start = Some(from);
                    targets.push(to.to_string());
                }
                None => targets.push(revision.clone()),
            }
        }
        let operation = Operation::Stamp {
            targets,
            purge: flags.purge,
        };
        Ok(RunSettings::new(
            operation,
            start.unwrap_or_default(),
            flags,
        ))
    }

    /// The settings of `operation`; `from` is the start of an offline run.
    fn new(operation: Operation, from: &str, flags: RunFlags) -> RunSettings {
        let mode = if flags.sql {
            Mode::Offline {
                from: from.to_string(),
                dialect: flags.dialect,
            }
        } else if flags.rehearse {
            Mode::Rehearse
        } else if flags.dry_run {
            Mode::DryRun
        } else {
            Mode::Run
        };
        RunSettings {
            operation,
            mode,
            migration_lock_wait: flags
                .migration_lock_wait
                .unwrap_or(DEFAULT_MIGRATION_LOCK_WAIT),
            no_backup: flags.no_backup,
            allow_drift: flags.allow_drift,
            report: flags.report,
            verify: flags.verify,
            require_no_drift: flags.require_no_drift,
        }
    }
}

fn reject_range(target: &str, command: &'static str) -> Result<()> {
    match target.rsplit_once(':') {
        Some((_, to)) => Err(Error::RangeNeedsSql {
            command,
            to: to.to_string(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(database_url: Option<&str>) -> Config {
        let text = match database_url {
            Some(url) => format!("[migrate]\nscript_location = \"m\"\ndatabase_url = \"{url}\"\n"),
            None => "[migrate]\nscript_location = \"m\"\n".to_string(),
        };
        Config::parse(
            std::path::Path::new("migrate.toml"),
            std::path::Path::new("."),
            &text,
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn url_precedence_is_flag_then_environment_then_file() {
        let file = config(Some("sqlite:///file.db"));
        let env = HashMap::from([("DATABASE_URL", "sqlite:///env.db")]);
        let chosen = |flag, env: &dyn Env, config| {
            let resolved = choose_url(flag, env, config).unwrap().unwrap();
            (resolved.url.to_string(), resolved.source)
        };
        assert_eq!(
            chosen(Some("sqlite:///flag.db"), &env, &file),
            ("sqlite:///flag.db".to_string(), UrlSource::Flag)
        );
        assert_eq!(
            chosen(None, &env, &file),
            ("sqlite:///env.db".to_string(), UrlSource::Environment)
        );
        let empty = HashMap::from([("DATABASE_URL", "")]);
        assert_eq!(
            chosen(None, &empty, &file),
            ("sqlite:///file.db".to_string(), UrlSource::ConfigFile)
        );
        assert!(choose_url(None, &empty, &config(None)).unwrap().is_none());
    }

    #[test]
    fn an_unset_variable_in_the_file_fails_only_when_its_url_is_chosen() {
        let file = config(Some("${RETORT_UNIT_UNSET}"));
        let env = HashMap::from([("DATABASE_URL", "sqlite:///env.db")]);
        assert!(choose_url(Some("sqlite://"), &HashMap::new(), &file).is_ok());
        assert!(choose_url(None, &env, &file).is_ok());
        assert!(matches!(
            choose_url(None, &HashMap::new(), &file),
            Err(Error::ConfigInvalid { .. })
        ));
    }

    #[test]
    fn relative_sqlite_paths_of_the_file_are_taken_from_its_directory() {
        let text = "[migrate]\nscript_location = \"m\"\ndatabase_url = \"sqlite:///app.db\"\n";
        let file = Config::parse(
            Path::new("proj/migrate.toml"),
            Path::new("/abs/proj"),
            text,
            &|_| None,
        )
        .unwrap();
        let path = |flag| {
            choose_url(flag, &HashMap::new(), &file)
                .unwrap()
                .unwrap()
                .url
                .sqlite_path()
        };
        assert_eq!(path(None), Some(PathBuf::from("proj/app.db")));
        assert_eq!(
            path(Some("sqlite:///app.db")),
            Some(PathBuf::from("app.db"))
        );
        assert_eq!(
            path(Some("sqlite:////var/app.db")),
            Some(PathBuf::from("/var/app.db"))
        );
    }

    #[test]
    fn the_config_file_is_found_in_the_working_directory_or_above() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let name = PathBuf::from(CONFIG_FILE_NAME);
        assert_eq!(
            find_config(None, &sub),
            name,
            "none: the name, for the error"
        );
        std::fs::write(tmp.path().join(CONFIG_FILE_NAME), "").unwrap();
        assert_eq!(find_config(None, &sub), tmp.path().join(CONFIG_FILE_NAME));
        assert_eq!(find_config(None, tmp.path()), name);
        assert_eq!(
            find_config(Some("x.toml".into()), &sub),
            PathBuf::from("x.toml")
        );
    }

    #[test]
    fn global_settings_come_from_the_environment_given() {
        let env = HashMap::from([
            ("NO_COLOR", "1"),
            ("RETORT_NO_CACHE", "1"),
            ("USERNAME", "ada"),
        ]);
        let settings =
            GlobalSettings::resolve("m.toml".into(), None, None, Verbosity::Default, &env, true);
        assert!(!settings.output.color);
        assert!(
            settings.output.progress,
            "NO_COLOR must not turn off progress"
        );
        assert!(!settings.cache);
        assert_eq!(settings.user.as_deref(), Some("ada"));
        let quiet = GlobalSettings::resolve(
            "m.toml".into(),
            None,
            None,
            Verbosity::Quiet,
            &HashMap::new(),
            true,
        );
        assert!(quiet.output.color && !quiet.output.progress && quiet.cache);
        assert!(
            !GlobalSettings::resolve(
                "m.toml".into(),
                None,
                None,
                Verbosity::Default,
                &HashMap::from([("NO_COLOR", "")]),
                false
            )
            .output
            .progress
        );
        assert!(
            cache_enabled(&HashMap::from([("RETORT_NO_CACHE", "0")])),
            "`0` leaves the cache on"
        );
    }

    #[test]
    fn the_default_migration_lock_wait_prints_as_clap_shows_it() {
        assert_eq!(Seconds(DEFAULT_MIGRATION_LOCK_WAIT).to_string(), "60");
        assert_eq!(
            parse_seconds("0.5"),
            Ok(Seconds(Duration::from_millis(500)))
        );
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn run_modes_and_offline_ranges() {
        let sql = RunFlags {
            sql: true,
            ..RunFlags::default()
        };
        let offline = |from: &str| Mode::Offline {
            from: from.into(),
            dialect: None,
        };
        let up = RunSettings::upgrade("a:b", sql.clone()).unwrap();
        assert_eq!(
            (up.operation, up.mode),
            (Operation::Upgrade("b".into()), offline("a"))
        );
        assert!(RunSettings::downgrade("base", sql.clone()).is_err());
        assert!(RunSettings::upgrade("a:b", RunFlags::default()).is_err());
        let stamp = RunSettings::stamp(&["x:b".into(), "c".into()], sql.clone()).unwrap();
        let targets = vec!["b".to_string(), "c".to_string()];
        assert_eq!(
            (stamp.operation, stamp.mode),
            (
                Operation::Stamp {
                    targets,
                    purge: false
                },
                offline("x")
            )
        );
        assert!(RunSettings::stamp(&["x:b".into(), "y:c".into()], sql).is_err());
        let dry = RunFlags {
            dry_run: true,
            ..RunFlags::default()
        };
        assert_eq!(
            RunSettings::upgrade("heads", dry).unwrap().mode,
            Mode::DryRun
        );
        let up = RunSettings::upgrade("heads", RunFlags::default()).unwrap();
        assert_eq!(
            (up.mode, up.migration_lock_wait),
            (Mode::Run, DEFAULT_MIGRATION_LOCK_WAIT)
        );
    }
}
