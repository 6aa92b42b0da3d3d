//! `init`: a new project's migrate.toml, `migrations/versions/` and the built-in templates.
//! Nothing is overwritten: every target is checked before anything is written.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::render::builtin_templates;

/// The config `init` writes. It must parse with `Config::parse` (tested below).
const CONFIG_TEMPLATE: &str = r#"# retort configuration. Relative paths are taken from this file's directory.

[migrate]
script_location = "migrations"             # revisions live in <script_location>/versions
# version_locations = ["migrations/versions", "plugins/versions"]   # several, in load order
# recursive_version_locations = false     # also scan subfolders of each version location
database_url = "${DATABASE_URL:-sqlite:///app.db}"  # ${VAR} and ${VAR:-default} are expanded
version_table = "retort_version"           # "alembic_version" adopts an Alembic-managed database
# version_table_schema = "public"          # PostgreSQL schema of the version table
templates = "templates"                    # the (editable) copies `revision` and `--sql` render; remove for the built-in ones
# transaction_per_migration = true

# [backup]                                 # a backup before upgrade/downgrade/stamp (SQLite file or server dump)
# enabled = true
# dir = "backups"                          # default: backups/ beside the SQLite file, or beside this file
# keep = 10                                # newest N of this database; default: 10 server dumps, all SQLite backups
# keep_days = 30                           # and none older than this; default: no age limit
# command = "pg_dump --format=custom"      # dump command for PostgreSQL/MySQL; default: pg_dump, mysqldump
# required = true                          # no dump possible: refuse to migrate (false: warn and go on)
"#;

/// One thing `init` created, in the order it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Created {
    Directory(PathBuf),
    File(PathBuf),
}

/// What `init` created.
#[derive(Debug)]
pub(crate) struct InitOutcome {
    pub created: Vec<Created>,
    /// The new `migrate.toml`.
    pub config: PathBuf,
}

/// Creates a project in `dir`.
pub(crate) fn init(dir: &Path) -> Result<InitOutcome> {
    let config = dir.join("migrate.toml");
    let versions = dir.join("migrations").join("versions");
    let templates: Vec<(PathBuf, &str)> = builtin_templates()
        .map(|(name, source)| (dir.join("templates").join(name), source))
        .collect();

    for path in std::iter::once(config.as_path()).chain(templates.iter().map(|(p, _)| p.as_path()))
    {
        if path.exists() {
            return Err(Error::InitTargetExists {
                path: path.to_path_buf(),
            });
        }
    }
    if versions.exists() && !versions.is_dir() {
        return Err(Error::InitVersionsNotADirectory { path: versions });
    }

    let mut created = Vec::new();
    create_dir(&versions, &mut created)?;
    write_new(&config, CONFIG_TEMPLATE, &mut created)?;
    for (path, source) in &templates {
        if let Some(parent) = path.parent() {
            create_dir(parent, &mut created)?;
        }
        write_new(path, source, &mut created)?;
    }
    Ok(InitOutcome { created, config })
}

/// Creates `path` and its missing parents, each noted as Alembic's `init` reports it.
fn create_dir(path: &Path, created: &mut Vec<Created>) -> Result<()> {
    let mut missing: Vec<&Path> = path.ancestors().take_while(|p| !p.exists()).collect();
    missing.retain(|p| !p.as_os_str().is_empty());
    for dir in missing.into_iter().rev() {
        std::fs::create_dir(dir).map_err(|e| Error::io("create directory", dir, e))?;
        created.push(Created::Directory(dir.to_path_buf()));
    }
    Ok(())
}

/// Writes a file that must not exist yet (guards against a race with the check above).
fn write_new(path: &Path, text: &str, created: &mut Vec<Created>) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))?;
    created.push(Created::File(path.to_path_buf()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_written_config_parses_with_the_documented_defaults() {
        let config = Config::parse(
            Path::new("migrate.toml"),
            Path::new("/p"),
            CONFIG_TEMPLATE,
            &|_| None,
        )
        .unwrap();
        assert_eq!(config.script_location, Path::new("/p/migrations"));
        assert_eq!(
            config.version_locations,
            [PathBuf::from("/p/migrations/versions")]
        );
        assert_eq!(config.database_url().unwrap(), Some("sqlite:///app.db"));
        assert_eq!(config.version_table, "retort_version");
        assert_eq!(config.templates, Some("/p/templates".into()));
    }

    #[test]
    fn every_commented_key_is_a_real_key() {
        let uncommented: String = CONFIG_TEMPLATE
            .lines()
            .map(|line| line.strip_prefix("# ").unwrap_or(line))
            .filter(|line| line.contains('=') || line.starts_with('['))
            .map(|line| format!("{line}\n"))
            .collect();
        let config = Config::parse(
            Path::new("migrate.toml"),
            Path::new("/p"),
            &uncommented,
            &|_| None,
        )
        .unwrap();
        assert_eq!(config.version_locations.len(), 2);
        assert_eq!(config.backup.keep, Some(10));
        assert_eq!(config.templates, Some("/p/templates".into()));
    }
}
