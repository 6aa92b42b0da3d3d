//! `migrate.toml`: loading, `${VAR}` expansion, and the settings every command starts from.
//!
//! `Config::load` reads the file; parsing and expansion are pure (`Config::parse` takes the text
//! and an environment lookup) so they are unit-tested without disk or process environment.

pub(crate) mod fleet;
pub(crate) mod interpolate;
pub(crate) mod lock;
pub(crate) mod timeouts;
pub(crate) mod tls;
pub(crate) mod url;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet::FleetSource;
pub use lock::{LockConfig, LockKind};
pub use timeouts::{TimeoutOverrides, Timeouts};
pub use url::{DatabaseUrl, Dialect};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{ConfigProblem, Error, Result};

/// The resolved contents of `migrate.toml`. Paths are absolute (relative ones are taken from the
/// directory holding the config file). `Debug` hides the password of `database_url`.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// The config file itself.
    pub path: PathBuf,
    /// The directory holding the config file; relative paths are resolved against it.
    pub root: PathBuf,
    pub script_location: PathBuf,
    /// Where revision files live, in load order (default `<script_location>/versions`).
    pub version_locations: Vec<PathBuf>,
    pub recursive_version_locations: bool,
    /// The expanded `database_url`, if the file has one; a `${VAR}` that could not be expanded
    /// is kept as its problem, an error only when the URL is used ([`Config::database_url`]),
    /// so commands that need no database work without it.
    database_url: Option<std::result::Result<String, ConfigProblem>>,
    pub version_table: String,
    /// PostgreSQL schema of the version table.
    pub version_table_schema: Option<String>,
    /// Where the audit trail goes (`audit_table`).
    pub audit_table: AuditTable,
    /// Project overrides of the built-in templates.
    pub templates: Option<PathBuf>,
    pub transaction_per_migration: bool,
    /// `lock_timeout`, `statement_timeout`, `retries`, `retry_budget`.
    pub timeouts: Timeouts,
    /// `lock` and `lock_lease`: which migration lock PostgreSQL runs take.
    pub lock: LockConfig,
    pub backup: BackupConfig,
    /// `[lint] server_version`: the server version `retort lint` judges against when no
    /// database answers.
    pub lint_server_version: Option<String>,
    /// The `[env.NAME]` whose settings override `[migrate]` and `[backup]`; `None` is the
    /// top-level `[migrate]`, the default environment.
    pub environment: Option<String>,
    /// `[fleet.NAME]`: each fleet's source, or why it cannot be used (an error only when that
    /// fleet is asked for, like an unset `${VAR}` in `database_url`).
    fleets: BTreeMap<String, std::result::Result<FleetSource, ConfigProblem>>,
    pub schema: SchemaConfig,
}

/// `[schema]` in migrate.toml: what schema introspection leaves out and where drift checks
/// rebuild the expected schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaConfig {
    /// Globs (`tmp_*`) of object names left out of `schema`, drift checks and `test`.
    pub ignore: Vec<String>,
    /// An empty database to rebuild the expected schema in, instead of a temporary one.
    pub dev_url: Option<String>,
    /// A schema-per-tenant fleet's target: only this PostgreSQL schema is the database's
    /// (the other tenants' are not its objects); set by [`Config::in_schema`].
    pub(crate) only_schema: Option<String>,
}

/// `audit_table` in `[migrate]`: the table of the audit trail (every step with its checksum,
/// read by `log` and drift detection), or none.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AuditTable {
    /// `<version_table>_log`, the default (also `audit_table = true`).
    #[default]
    BesideVersionTable,
    /// `audit_table = "name"`.
    Named(String),
    /// `audit_table = false`: no audit trail is written, e.g. for a database shared with
    /// Alembic's autogenerate, which would otherwise see an unknown table.
    Off,
}

/// `[backup]` in migrate.toml.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupConfig {
    /// Default: true for SQLite, true for servers when a dump command is available.
    pub enabled: Option<bool>,
    /// Default: `backups/` beside the database file.
    pub dir: Option<PathBuf>,
    pub keep: Option<usize>,
    pub keep_days: Option<u64>,
    /// A dump command for PostgreSQL/MySQL; default `pg_dump` / `mysqldump` when on PATH.
    pub command: Option<String>,
    /// When false, a server migration goes on (with a warning) if no backup can be made.
    pub required: Option<bool>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("root", &self.root)
            .field("script_location", &self.script_location)
            .field("version_locations", &self.version_locations)
            .field(
                "recursive_version_locations",
                &self.recursive_version_locations,
            )
            .field(
                "database_url",
                &self
                    .database_url
                    .as_ref()
                    .map(|url| url.as_deref().map(url::redact)),
            )
            .field("version_table", &self.version_table)
            .field("version_table_schema", &self.version_table_schema)
            .field("audit_table", &self.audit_table)
            .field("templates", &self.templates)
            .field("transaction_per_migration", &self.transaction_per_migration)
            .field("timeouts", &self.timeouts)
            .field("lock", &self.lock)
            .field("backup", &self.backup)
            .field("lint_server_version", &self.lint_server_version)
            .field("environment", &self.environment)
            // Fleet sources hold URLs: their names say enough.
            .field("fleets", &self.fleets.keys().collect::<Vec<_>>())
            .field("schema.ignore", &self.schema.ignore)
            .field(
                "schema.dev_url",
                &self.schema.dev_url.as_deref().map(url::redact),
            )
            .finish()
    }
}

impl Config {
    /// Reads and parses `path`, expanding `${VAR}` from the process environment.
    pub fn load(path: &Path) -> Result<Config> {
        Config::load_in(path, &crate::env::ProcessEnv, None)
    }

    /// Reads and parses the config file `path`, which must exist, expanding `${VAR}` from `env`,
    /// with the settings of `[env.ENVIRONMENT]` when one is named.
    pub(crate) fn load_existing(
        path: &Path,
        env: &dyn crate::env::Env,
        environment: Option<&str>,
    ) -> Result<Config> {
        if !path.exists() {
            return Err(Error::MissingConfig {
                path: path.to_path_buf(),
            });
        }
        Config::load_in(path, env, environment)
    }

    fn load_in(
        path: &Path,
        env: &dyn crate::env::Env,
        environment: Option<&str>,
    ) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let root = std::path::absolute(dir).map_err(|e| Error::io("resolve", dir, e))?;
        Config::parse_in(path, &root, &text, &|name| env.var(name), environment)
    }

    /// Parses config text. `env` looks up variables for `${VAR}` expansion.
    pub fn parse(
        path: &Path,
        root: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        Config::parse_in(path, root, text, env, None)
    }

    /// Parses config text with the settings of `[env.ENVIRONMENT]` over the top-level ones.
    pub(crate) fn parse_in(
        path: &Path,
        root: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
        environment: Option<&str>,
    ) -> Result<Config> {
        // TOML and `${…}` errors quote the line or the value, which may hold a password.
        let error = |problem| Error::ConfigInvalid {
            path: path.to_path_buf(),
            problem,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let place = e.span().map(|span| {
                let (line, source) = line_at(text, span.start);
                (
                    line,
                    url::redact_text(&crate::error::clip(source, crate::error::QUOTED_CHARS)),
                )
            });
            error(ConfigProblem::Toml {
                place,
                detail: url::redact_text(&toml_error_message(&e)),
            })
        })?;
        let Some(mut migrate) = raw.migrate else {
            return Err(error(ConfigProblem::NoMigrateTable));
        };
        let mut backup = raw.backup;
        if let Some(name) = environment {
            let mut environments = raw.env.unwrap_or_default();
            let Some(chosen) = environments.remove(name) else {
                return Err(error(ConfigProblem::UnknownEnvironment {
                    name: name.to_string(),
                    defined: environments.into_keys().collect(),
                }));
            };
            chosen.apply(&mut migrate, &mut backup);
        }
        // Why a value cannot be expanded, placed at its key and line.
        let expand_or_problem =
            |key: &str, value: &Spanned<String>| -> std::result::Result<String, ConfigProblem> {
                interpolate::expand(value.get_ref(), env).map_err(|message| {
                    let (line, _) = line_at(text, value.span().start);
                    ConfigProblem::Interpolation {
                        line,
                        key: key.to_string(),
                        detail: url::redact_text(&message),
                    }
                })
            };
        let expand = |key: &str, value: &Spanned<String>| -> Result<String> {
            expand_or_problem(key, value).map_err(error)
        };
        let expand_path = |key: &str, value: &Spanned<String>| -> Result<PathBuf> {
            Ok(root.join(expand(key, value)?))
        };
        let optional_path = |key: &str, value: &Option<Spanned<String>>| {
            value.as_ref().map(|v| expand_path(key, v)).transpose()
        };
        let optional_string = |key: &str, value: &Option<Spanned<String>>| {
            value.as_ref().map(|v| expand(key, v)).transpose()
        };

        let script_location = match &migrate.script_location {
            Some(value) => expand_path("migrate.script_location", value)?,
            None => return Err(error(ConfigProblem::NoScriptLocation)),
        };
        let version_locations = match &migrate.version_locations {
            None => vec![script_location.join("versions")],
            Some(list) if list.is_empty() => {
                return Err(error(ConfigProblem::EmptyVersionLocations))
            }
            Some(list) => list
                .iter()
                .map(|v| expand_path("migrate.version_locations", v))
                .collect::<Result<_>>()?,
        };
        let version_table = match &migrate.version_table {
            None => DEFAULT_VERSION_TABLE.to_string(),
            Some(value) => {
                let name = expand("migrate.version_table", value)?;
                if name.trim().is_empty() {
                    let (line, _) = line_at(text, value.span().start);
                    return Err(error(ConfigProblem::EmptyVersionTable { line }));
                }
                name
            }
        };
        let audit_table = match &migrate.audit_table {
            None => AuditTable::default(),
            Some(value) => {
                let (line, _) = line_at(text, value.span().start);
                match value.get_ref() {
                    toml::Value::Boolean(true) => AuditTable::BesideVersionTable,
                    toml::Value::Boolean(false) => AuditTable::Off,
                    toml::Value::String(name) => {
                        let spanned = Spanned::new(value.span(), name.clone());
                        let name = expand("migrate.audit_table", &spanned)?;
                        if name.trim().is_empty() {
                            return Err(error(ConfigProblem::EmptyAuditTable { line }));
                        }
                        AuditTable::Named(name)
                    }
                    _ => return Err(error(ConfigProblem::AuditTableType { line })),
                }
            }
        };
        let duration = |key: &str, value: &Option<Spanned<String>>, default: Duration| {
            let Some(value) = value else {
                return Ok(default);
            };
            let written = expand(key, value)?;
            timeouts::parse_duration(&written).map_err(|detail| {
                let (line, _) = line_at(text, value.span().start);
                error(ConfigProblem::InvalidDuration {
                    line,
                    key: key.to_string(),
                    detail,
                })
            })
        };
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            lock_timeout: duration("lock_timeout", &migrate.lock_timeout, defaults.lock_timeout)?,
            statement_timeout: duration(
                "statement_timeout",
                &migrate.statement_timeout,
                defaults.statement_timeout,
            )?,
            retries: migrate.retries.unwrap_or(defaults.retries),
            retry_budget: duration("retry_budget", &migrate.retry_budget, defaults.retry_budget)?,
        };
        let lock = LockConfig {
            kind: match &migrate.lock {
                None => LockKind::default(),
                Some(value) => LockKind::parse(&expand("lock", value)?).map_err(|detail| {
                    let (line, _) = line_at(text, value.span().start);
                    error(ConfigProblem::InvalidLock { line, detail })
                })?,
            },
            lease: duration("lock_lease", &migrate.lock_lease, lock::DEFAULT_LEASE)?,
        };
        if let Some(value) = migrate
            .lock_lease
            .as_ref()
            .filter(|_| lock.lease < lock::MIN_LEASE)
        {
            let (line, _) = line_at(text, value.span().start);
            return Err(error(ConfigProblem::InvalidDuration {
                line,
                key: "lock_lease".into(),
                detail: format!(
                    "a lease of `{}` is too short; give at least `1s`",
                    value.get_ref()
                ),
            }));
        }
        let backup = match &backup {
            None => BackupConfig::default(),
            Some(b) => BackupConfig {
                enabled: b.enabled,
                dir: optional_path("backup.dir", &b.dir)?,
                keep: b.keep,
                keep_days: b.keep_days,
                command: optional_string("backup.command", &b.command)?,
                required: b.required,
            },
        };
        let schema = match &raw.schema {
            None => SchemaConfig::default(),
            Some(s) => SchemaConfig {
                ignore: s.ignore.clone().unwrap_or_default(),
                dev_url: optional_string("schema.dev_url", &s.dev_url)?
                    .filter(|url| !url.is_empty()),
                only_schema: None,
            },
        };
        Ok(Config {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
            script_location,
            version_locations,
            recursive_version_locations: migrate.recursive_version_locations.unwrap_or(false),
            // An empty URL (e.g. `${DATABASE_URL:-}`) means "not configured here".
            database_url: migrate
                .database_url
                .as_ref()
                .map(|value| expand_or_problem("migrate.database_url", value))
                .filter(|url| url.as_ref().map_or(true, |url| !url.is_empty())),
            version_table,
            version_table_schema: optional_string(
                "migrate.version_table_schema",
                &migrate.version_table_schema,
            )?
            .filter(|schema| !schema.is_empty()),
            audit_table,
            templates: optional_path("migrate.templates", &migrate.templates)?,
            transaction_per_migration: migrate.transaction_per_migration.unwrap_or(false),
            timeouts,
            lock,
            backup,
            lint_server_version: match &raw.lint {
                Some(lint) => optional_string("lint.server_version", &lint.server_version)?,
                None => None,
            },
            environment: environment.map(str::to_string),
            fleets: raw
                .fleet
                .unwrap_or_default()
                .into_iter()
                .map(|(name, fleet)| {
                    let (line, _) = line_at(text, fleet.span().start);
                    let source = fleet
                        .get_ref()
                        .resolve(&name, line, root, &expand_or_problem);
                    (name, source)
                })
                .collect(),
            schema,
        })
    }
}

impl Config {
    /// The expanded `database_url`, if the file has one; fails when it names a variable that is
    /// not set.
    pub fn database_url(&self) -> Result<Option<&str>> {
        match &self.database_url {
            None => Ok(None),
            Some(Ok(url)) => Ok(Some(url)),
            Some(Err(problem)) => Err(Error::ConfigInvalid {
                path: self.path.clone(),
                problem: problem.clone(),
            }),
        }
    }
}

impl Config {
    /// The source of the fleet `name`; fails naming the fleets defined when there is none.
    pub(crate) fn fleet(&self, name: &str) -> Result<&FleetSource> {
        let problem = match self.fleets.get(name) {
            Some(Ok(source)) => return Ok(source),
            Some(Err(problem)) => problem.clone(),
            None => ConfigProblem::UnknownFleet {
                name: name.to_string(),
                defined: self.fleets.keys().cloned().collect(),
            },
        };
        Err(Error::ConfigInvalid {
            path: self.path.clone(),
            problem,
        })
    }

    /// This config for one target of a PostgreSQL schema-per-tenant fleet: the version and
    /// audit tables live in `schema`, and schema introspection sees only that schema.
    pub(crate) fn in_schema(&self, schema: &str) -> Config {
        let mut config = Config {
            version_table_schema: Some(schema.to_string()),
            ..self.clone()
        };
        config.schema.only_schema = Some(schema.to_string());
        config
    }
}

/// The version table's name when `migrate.toml` does not give one.
pub(crate) const DEFAULT_VERSION_TABLE: &str = "retort_version";

/// toml's error message in the words of our documentation: TOML has keys, not serde's fields.
pub(crate) fn toml_error_message(error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    crate::error::clip(message, crate::error::QUOTED_CHARS).replacen(
        "unknown field",
        "unknown key",
        1,
    )
}

/// The 1-based line holding byte `offset` of `text`, and that line's text (trimmed).
fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let source = text.lines().nth(line - 1).unwrap_or("");
    (line, source.trim())
}

/// `migrate.toml` as TOML gives it; unknown keys and tables are errors naming the key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    migrate: Option<RawMigrate>,
    backup: Option<RawBackup>,
    lint: Option<RawLint>,
    env: Option<BTreeMap<String, RawEnvironment>>,
    fleet: Option<BTreeMap<String, Spanned<fleet::RawFleet>>>,
    schema: Option<RawSchema>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    ignore: Option<Vec<String>>,
    dev_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLint {
    server_version: Option<Spanned<String>>,
}

/// `[env.NAME]`: the keys of `[migrate]` and `[backup]` an environment may override.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    database_url: Option<Spanned<String>>,
    version_table: Option<Spanned<String>>,
    version_table_schema: Option<Spanned<String>>,
    audit_table: Option<Spanned<toml::Value>>,
    transaction_per_migration: Option<bool>,
    lock: Option<Spanned<String>>,
    lock_lease: Option<Spanned<String>>,
    backup: Option<RawBackup>,
}

impl RawEnvironment {
    /// Puts this environment's keys over the top-level ones, key by key.
    fn apply(self, migrate: &mut RawMigrate, backup: &mut Option<RawBackup>) {
        fn over<T>(base: &mut Option<T>, value: Option<T>) {
            if value.is_some() {
                *base = value;
            }
        }
        over(&mut migrate.database_url, self.database_url);
        over(&mut migrate.version_table, self.version_table);
        over(&mut migrate.version_table_schema, self.version_table_schema);
        over(&mut migrate.audit_table, self.audit_table);
        over(
            &mut migrate.transaction_per_migration,
            self.transaction_per_migration,
        );
        over(&mut migrate.lock, self.lock);
        over(&mut migrate.lock_lease, self.lock_lease);
        let Some(env) = self.backup else {
            return;
        };
        let base = backup.get_or_insert_with(RawBackup::default);
        over(&mut base.enabled, env.enabled);
        over(&mut base.dir, env.dir);
        over(&mut base.keep, env.keep);
        over(&mut base.keep_days, env.keep_days);
        over(&mut base.command, env.command);
        over(&mut base.required, env.required);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigrate {
    script_location: Option<Spanned<String>>,
    version_locations: Option<Vec<Spanned<String>>>,
    recursive_version_locations: Option<bool>,
    database_url: Option<Spanned<String>>,
    version_table: Option<Spanned<String>>,
    version_table_schema: Option<Spanned<String>>,
    /// A table name, or a boolean (see [`AuditTable`]).
    audit_table: Option<Spanned<toml::Value>>,
    templates: Option<Spanned<String>>,
    transaction_per_migration: Option<bool>,
    lock_timeout: Option<Spanned<String>>,
    statement_timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    retry_budget: Option<Spanned<String>>,
    lock: Option<Spanned<String>>,
    lock_lease: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    enabled: Option<bool>,
    dir: Option<Spanned<String>>,
    keep: Option<usize>,
    keep_days: Option<u64>,
    command: Option<Spanned<String>>,
    required: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "proj/migrate.toml";

    fn env(name: &str) -> Option<String> {
        match name {
            "DATABASE_URL" => Some("postgresql://app:pw@db/app".into()),
            "BACKUP_DIR" => Some("/var/backups".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new(PATH), Path::new("/proj"), text, &env)
    }

    fn failure(text: &str) -> String {
        match parse(text) {
            Err(Error::ConfigInvalid { path, problem }) => {
                assert_eq!(path, Path::new(PATH));
                problem.to_string()
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    /// The error of a `database_url` that cannot be expanded: only when it is used.
    fn url_failure(text: &str) -> String {
        match parse(text).expect("parses").database_url() {
            Err(Error::ConfigInvalid { path, problem }) => {
                assert_eq!(path, Path::new(PATH));
                problem.to_string()
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn debug_and_errors_hide_the_url_password() {
        let text = "[migrate]\nscript_location = \"m\"\ndatabase_url = \"postgresql://u:S3CRETpw@h/db?password=S3CRETpw\"\n";
        let debug = format!("{:?}", parse(text).unwrap());
        assert!(
            debug.contains("postgresql://u:***@h/db?password=***"),
            "{debug}"
        );
        assert!(!debug.contains("S3CRET"), "{debug}");
        let toml_error = failure(
            "[migrate]\nscript_location = \"m\"\ndatabase_url = \"mysql://u:S3CRETpw@h/db\" x\n",
        );
        for message in [
            toml_error,
            url_failure("[migrate]\nscript_location = \"m\"\ndatabase_url = \"mysql://u:S3CRETpw@h/${X\"\n"),
            url_failure("[migrate]\nscript_location = \"m\"\ndatabase_url = \"host=h password=S3CRETpw ${1}\"\n"),
        ] {
            assert!(message.starts_with("line 3"), "{message}");
            assert!(!message.contains("S3CRET"), "{message}");
        }
    }

    fn parse_env(text: &str, environment: &str) -> Result<Config> {
        Config::parse_in(
            Path::new(PATH),
            Path::new("/proj"),
            text,
            &env,
            Some(environment),
        )
    }

    const ENVIRONMENTS: &str = r#"
[migrate]
script_location = "m"
database_url = "sqlite:///dev.db"
version_table = "v"
[backup]
keep = 3
dir = "bk"
[env.prod]
database_url = "${DATABASE_URL}"
version_table_schema = "ops"
audit_table = false
backup = { required = true, keep = 10 }
[env.staging]
version_table = "staging_v"
"#;

    #[test]
    fn an_environment_overrides_the_top_level_key_by_key() {
        let default = parse(ENVIRONMENTS).unwrap();
        assert_eq!(default.environment, None);
        assert_eq!(default.database_url().unwrap(), Some("sqlite:///dev.db"));
        let prod = parse_env(ENVIRONMENTS, "prod").unwrap();
        assert_eq!(prod.environment.as_deref(), Some("prod"));
        assert_eq!(
            prod.database_url().unwrap(),
            Some("postgresql://app:pw@db/app")
        );
        assert_eq!(prod.version_table, "v", "not overridden: kept");
        assert_eq!(prod.version_table_schema.as_deref(), Some("ops"));
        assert_eq!(prod.audit_table, AuditTable::Off);
        assert_eq!(
            prod.backup,
            BackupConfig {
                keep: Some(10),
                required: Some(true),
                dir: Some("/proj/bk".into()),
                ..BackupConfig::default()
            }
        );
        let staging = parse_env(ENVIRONMENTS, "staging").unwrap();
        assert_eq!(staging.version_table, "staging_v");
        assert_eq!(staging.database_url().unwrap(), Some("sqlite:///dev.db"));
    }

    #[test]
    fn an_unknown_environment_lists_the_defined_ones() {
        let Err(Error::ConfigInvalid { problem, .. }) = parse_env(ENVIRONMENTS, "qa") else {
            panic!("qa is not defined");
        };
        assert_eq!(
            problem.to_string(),
            "no environment `qa` (from --env or RETORT_ENV); the environments defined are \
             `prod`, `staging`"
        );
        let Err(Error::ConfigInvalid { problem, .. }) =
            parse_env("[migrate]\nscript_location = \"m\"\n", "qa")
        else {
            panic!("qa is not defined");
        };
        assert!(problem
            .to_string()
            .contains("defines no environments; add a `[env.NAME]`"));
        assert!(
            failure("[migrate]\nscript_location = \"m\"\n[env.x]\nscript_location = \"y\"\n")
                .contains("unknown key `script_location`")
        );
    }

    #[test]
    fn fleets_have_exactly_one_source_and_fail_only_when_used() {
        let text = r#"
[migrate]
script_location = "m"
[fleet.files]
urls_file = "tenants.txt"
[fleet.glob]
sqlite_glob = "tenants/*.db"
[fleet.listed]
urls = ["${DATABASE_URL}", "sqlite:///a.db"]
[fleet.control]
query = { url = "${DATABASE_URL}", sql = "SELECT url FROM tenants" }
[fleet.schemas]
schemas = { url = "${DATABASE_URL}", glob = "tenant_*" }
[fleet.two]
urls = []
sqlite_glob = "x"
[fleet.unset]
urls = ["${NOPE}"]
[fleet.bad_schemas]
schemas = { url = "x", list = ["a"], sql = "SELECT 1" }
"#;
        let config = parse(text).unwrap();
        assert!(
            matches!(config.fleet("files").unwrap(), FleetSource::UrlsFile(p) if p == Path::new("/proj/tenants.txt"))
        );
        assert!(
            matches!(config.fleet("glob").unwrap(), FleetSource::SqliteGlob(p) if p == "/proj/tenants/*.db")
        );
        assert!(
            matches!(config.fleet("listed").unwrap(), FleetSource::Urls(u) if u[0] == "postgresql://app:pw@db/app")
        );
        assert!(matches!(
            config.fleet("control").unwrap(),
            FleetSource::Query { sql, .. } if sql == "SELECT url FROM tenants"
        ));
        assert!(matches!(
            config.fleet("schemas").unwrap(),
            FleetSource::Schemas { list: fleet::SchemaList::Glob(g), .. } if g == "tenant_*"
        ));
        let message = |name| config.fleet(name).unwrap_err().to_string();
        assert!(
            message("two").contains("line 14: fleet `two` needs exactly one of"),
            "{}",
            message("two")
        );
        assert!(
            message("two").contains("it has urls, sqlite_glob"),
            "{}",
            message("two")
        );
        assert!(message("unset").contains("NOPE"), "{}", message("unset"));
        assert!(message("bad_schemas").contains("exactly one of `sql`, `list` or `glob`"));
        assert!(message("nope").contains("the fleets defined are `bad_schemas`, `control`"));
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse("[migrate]\nscript_location = \"migrations\"\n").unwrap();
        assert_eq!(
            config,
            Config {
                path: PATH.into(),
                root: "/proj".into(),
                script_location: "/proj/migrations".into(),
                version_locations: vec!["/proj/migrations/versions".into()],
                recursive_version_locations: false,
                database_url: None,
                version_table: "retort_version".into(),
                version_table_schema: None,
                audit_table: AuditTable::default(),
                templates: None,
                transaction_per_migration: false,
                timeouts: Timeouts::default(),
                lock: LockConfig::default(),
                backup: BackupConfig::default(),
                lint_server_version: None,
                environment: None,
                fleets: BTreeMap::new(),
                schema: SchemaConfig::default(),
            }
        );
    }

    #[test]
    fn every_key_is_read_and_expanded() {
        let text = r#"
[migrate]
script_location = "db"
version_locations = ["db/versions", "/abs/plugins", "${BACKUP_DIR}/v"]
recursive_version_locations = true
database_url = "${DATABASE_URL:-sqlite:///app.db}"
version_table = "alembic_version"
version_table_schema = "ops"
templates = "tpl"
transaction_per_migration = true
lock_timeout = "500ms"
statement_timeout = "30min"
retries = 3
retry_budget = "1min"

[backup]
enabled = true
dir = "${BACKUP_DIR}"
keep = 5
keep_days = 30
command = "pg_dump \"$PGDB\" > $$HOME/x"
required = false
"#;
        let config = parse(text).unwrap();
        assert_eq!(config.script_location, Path::new("/proj/db"));
        assert_eq!(
            config.version_locations,
            [
                PathBuf::from("/proj/db/versions"),
                "/abs/plugins".into(),
                "/var/backups/v".into()
            ]
        );
        assert!(config.recursive_version_locations);
        assert_eq!(
            config.database_url().unwrap(),
            Some("postgresql://app:pw@db/app")
        );
        assert_eq!(config.version_table, "alembic_version");
        assert_eq!(config.version_table_schema.as_deref(), Some("ops"));
        assert_eq!(config.templates, Some("/proj/tpl".into()));
        assert!(config.transaction_per_migration);
        assert_eq!(
            config.timeouts,
            Timeouts {
                lock_timeout: Duration::from_millis(500),
                statement_timeout: Duration::from_secs(1800),
                retries: 3,
                retry_budget: Duration::from_secs(60),
            }
        );
        assert_eq!(
            config.backup,
            BackupConfig {
                enabled: Some(true),
                dir: Some("/var/backups".into()),
                keep: Some(5),
                keep_days: Some(30),
                command: Some("pg_dump \"$PGDB\" > $HOME/x".into()),
                required: Some(false),
            }
        );
    }

    #[test]
    fn a_timeout_that_is_not_a_duration_names_its_line_and_key() {
        let message = failure("[migrate]\nscript_location = \"m\"\nlock_timeout = \"5\"\n");
        assert_eq!(
            message,
            "line 3: `lock_timeout`: `5` has no unit; write e.g. `5ms` or `5s`"
        );
        let message = failure("[migrate]\nscript_location = \"m\"\n\nretry_budget = \"2 weeks\"\n");
        assert!(
            message.starts_with("line 4: `retry_budget`: unknown unit"),
            "{message}"
        );
    }

    #[test]
    fn the_lock_kind_and_lease_are_read_and_overridden_per_environment() {
        let text = r#"
[migrate]
script_location = "m"
lock = "advisory"
lock_lease = "2s"
[env.pooled]
lock = "table"
lock_lease = "1min"
[env.plain]
database_url = "sqlite:///x.db"
"#;
        let top = parse(text).unwrap();
        assert_eq!(
            top.lock,
            LockConfig {
                kind: LockKind::Advisory,
                lease: Duration::from_secs(2)
            }
        );
        let pooled = parse_env(text, "pooled").unwrap();
        assert_eq!(
            pooled.lock,
            LockConfig {
                kind: LockKind::Table,
                lease: Duration::from_secs(60)
            }
        );
        assert_eq!(parse_env(text, "plain").unwrap().lock, top.lock);
        let default = parse("[migrate]\nscript_location = \"m\"\n").unwrap();
        assert_eq!(default.lock.kind, LockKind::Auto);
        assert_eq!(default.lock.lease, Duration::from_secs(30));
    }

    #[test]
    fn a_bad_lock_kind_or_lease_names_its_line() {
        assert_eq!(
            failure("[migrate]\nscript_location = \"m\"\nlock = \"session\"\n"),
            "line 3: `lock`: `session` is not a lock kind; use `auto`, `advisory` or `table`"
        );
        assert_eq!(
            failure("[migrate]\nscript_location = \"m\"\n\nlock_lease = \"30\"\n"),
            "line 4: `lock_lease`: `30` has no unit; write e.g. `30ms` or `30s`"
        );
        assert_eq!(
            failure("[migrate]\nscript_location = \"m\"\nlock_lease = \"500ms\"\n"),
            "line 3: `lock_lease`: a lease of `500ms` is too short; give at least `1s`"
        );
    }

    #[test]
    fn url_default_applies_when_the_variable_is_unset() {
        let text =
            "[migrate]\nscript_location = \"m\"\ndatabase_url = \"${NOPE:-sqlite:///app.db}\"\n";
        assert_eq!(
            parse(text).unwrap().database_url().unwrap(),
            Some("sqlite:///app.db")
        );
        let text = "[migrate]\nscript_location = \"m\"\ndatabase_url = \"${NOPE:-}\"\n";
        assert_eq!(parse(text).unwrap().database_url().unwrap(), None);
    }

    #[test]
    fn unset_variable_names_variable_key_and_line() {
        let message =
            url_failure("[migrate]\nscript_location = \"m\"\n\ndatabase_url = \"${DB_URL}\"\n");
        assert_eq!(
            message,
            "line 4: `migrate.database_url`: environment variable `DB_URL` is not set; set it or give a default with `${DB_URL:-value}`"
        );
        let message = failure("[migrate]\nscript_location = \"m\"\n[backup]\ncommand = \"${X\"\n");
        assert!(
            message.starts_with("line 4: `backup.command`: unterminated"),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_and_tables_are_named_with_their_line() {
        let message = failure("[migrate]\nscript_location = \"m\"\nversion_tabel = \"x\"\n");
        assert!(
            message.starts_with(
                "line 3 (`version_tabel = \"x\"`): unknown key `version_tabel`, expected one of"
            ),
            "{message}"
        );
        let message = failure("[migrate]\nscript_location = \"m\"\n\n[alembic]\nx = 1\n");
        assert!(
            message.starts_with("line 4 (`[alembic]`): unknown key `alembic`"),
            "{message}"
        );
        let message = failure("[migrate]\nscript_location = \"m\"\n[backup]\nkeep_weeks = 1\n");
        assert!(message.contains("unknown key `keep_weeks`"), "{message}");
    }

    #[test]
    fn wrong_types_show_the_offending_line() {
        let message =
            failure("[migrate]\nscript_location = \"m\"\nrecursive_version_locations = \"yes\"\n");
        assert_eq!(
            message,
            "line 3 (`recursive_version_locations = \"yes\"`): invalid type: string \"yes\", expected a boolean"
        );
        let message = failure("[migrate]\nscript_location = \"m\"\n[backup]\nkeep = -1\n");
        assert!(
            message.starts_with("line 4 (`keep = -1`): invalid value"),
            "{message}"
        );
        let message = failure("[migrate]\nscript_location = 1\n");
        assert!(
            message.starts_with("line 2 (`script_location = 1`)"),
            "{message}"
        );
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let message = failure("[migrate]\nscript_location = \"m\n");
        assert!(message.starts_with("line 2 "), "{message}");
    }

    #[test]
    fn required_parts_are_demanded() {
        assert!(failure("").starts_with("no `[migrate]` table"));
        assert!(failure("[backup]\nkeep = 1\n").starts_with("no `[migrate]` table"));
        assert!(failure("[migrate]\nversion_table = \"v\"\n")
            .starts_with("`[migrate]` has no `script_location`"));
        assert!(
            failure("[migrate]\nscript_location = \"m\"\nversion_locations = []\n")
                .starts_with("`version_locations` is empty")
        );
        assert_eq!(
            failure("[migrate]\nscript_location = \"m\"\nversion_table = \"\"\n"),
            "line 3: `version_table` is empty"
        );
    }

    #[test]
    fn load_resolves_paths_against_the_config_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("migrate.toml");
        std::fs::write(&path, "[migrate]\nscript_location = \"migrations\"\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.root, tmp.path());
        assert_eq!(
            config.version_locations,
            [tmp.path().join("migrations/versions")]
        );
        let err = Config::load(&tmp.path().join("missing.toml")).unwrap_err();
        assert!(err.to_string().starts_with("cannot read config"), "{err}");
    }
}
