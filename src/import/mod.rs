//! Reading the migration folders of other tools (Flyway, dbmate, goose, golang-migrate, sqlx,
//! a folder of numbered `.sql` files) as one ordered list of [`SourceMigration`]s, one file
//! per tool behind [`SourceTool`]; turning that list into retort revision files is
//! [`revision_file`]'s (one linear chain, ids from the source versions). Alembic's folder is a
//! graph with its own ids: [`alembic`] reads it.

pub(crate) mod alembic;
pub(crate) mod alembic_offline;
mod dbmate;
mod flyway;
mod golang_migrate;
mod goose;
pub(crate) mod history;
mod numbered;
mod sqlx;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A tool whose migration folder retort can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Tool {
    Flyway,
    Dbmate,
    Goose,
    GolangMigrate,
    Sqlx,
    Numbered,
    Alembic,
}

impl Tool {
    /// The reader of this tool's folders; `None` for Alembic, whose folder is a graph.
    pub(crate) fn source(self) -> Option<&'static dyn SourceTool> {
        Some(match self {
            Tool::Flyway => &flyway::Flyway,
            Tool::Dbmate => &dbmate::Dbmate,
            Tool::Goose => &goose::Goose,
            Tool::GolangMigrate => &golang_migrate::GolangMigrate,
            Tool::Sqlx => &sqlx::Sqlx,
            Tool::Numbered => &numbered::Numbered,
            Tool::Alembic => return None,
        })
    }

    /// The tool's name as typed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Numbered => "numbered",
            Tool::Alembic => "alembic",
        }
    }

    /// How the tool repairs a failed or dirty history.
    pub(crate) fn repair_hint(self) -> &'static str {
        match self {
            Tool::Flyway => "`flyway repair`",
            Tool::GolangMigrate => "`migrate force VERSION`",
            Tool::Sqlx => "delete the failed row of _sqlx_migrations after fixing the schema",
            Tool::Dbmate | Tool::Goose | Tool::Numbered | Tool::Alembic => {
                "rerun the failed migration"
            }
        }
    }

    /// The first part of the ids of revisions imported from this tool.
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::GolangMigrate => "migrate",
            Tool::Sqlx => "sqlx",
            Tool::Numbered => "n",
            // Unused: Alembic revisions keep their own ids.
            Tool::Alembic => "alembic",
        }
    }

    /// The retort revision id of source version `version` (as the tool's history table
    /// stores it): deterministic, so a second import finds what the first wrote.
    pub(crate) fn revision_id(self, version: &Version) -> String {
        let parts: Vec<String> = version.0.iter().map(u64::to_string).collect();
        format!("{}_{}", self.id_prefix(), parts.join("_"))
    }
}

impl Tool {
    /// The source version of a revision id this tool's import wrote (see [`Tool::revision_id`]).
    pub(crate) fn version_of_id(self, id: &str) -> Option<Version> {
        let rest = id.strip_prefix(self.id_prefix())?.strip_prefix('_')?;
        let parts = rest
            .split('_')
            .map(|p| p.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        Some(Version(parts))
    }
}

/// A version as the tools order them: numeric parts (Flyway's `1.2.10` is `[1, 2, 10]`;
/// the others have one part). Leading zeros do not count, as in the tools.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub Vec<u64>);

impl Version {
    /// Digits only, e.g. `0042` or `20240101120000`.
    pub(crate) fn parse_number(text: &str) -> Option<Version> {
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| text.parse().ok().map(|n| Version(vec![n])))?
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// One migration of the source folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceMigration {
    pub version: Version,
    /// The description, from the file name.
    pub message: String,
    pub up: String,
    /// `None`: the source has no down migration, so the revision is irreversible.
    pub down: Option<String>,
    pub transactional: bool,
    /// The files it came from (up first).
    pub files: Vec<PathBuf>,
    /// What the source tool accepted and retort cannot express, or changed on the way.
    pub notes: Vec<String>,
}

/// What a folder holds besides its migrations: files skipped with a reason.
#[derive(Debug, Default)]
pub(crate) struct SourceFolder {
    pub migrations: Vec<SourceMigration>,
    /// `(file, why it was not imported)`.
    pub skipped: Vec<(PathBuf, String)>,
    /// Down migrations read before their up migration (Flyway's `U` files): `finish` joins them.
    pub undo: Vec<(Version, PathBuf, String)>,
}

/// One tool's way of laying out and writing migrations.
pub(crate) trait SourceTool: Sync {
    /// Reads one file of `dir` into `folder` (files are offered in name order). A file that
    /// is not the tool's is left alone; one that is and cannot be read is an error naming it.
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()>;

    /// Completes `folder` once every file was read.
    fn finish(&self, _folder: &mut SourceFolder) -> Result<()> {
        Ok(())
    }

    /// Whether versions must be consecutive (1, 2, 3, …).
    fn forbids_gaps(&self) -> bool {
        false
    }
}

/// Every migration of `dir` in the order the tool applies them; refuses duplicate versions and,
/// where the tool does, gaps.
pub(crate) fn read_folder(source: &dyn SourceTool, dir: &Path) -> Result<SourceFolder> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read folder", dir, e))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) if !name.starts_with('.') => names.push((name, path)),
            Ok(_) => {}
            Err(_) => return Err(bad_source(&path, "the file name is not UTF-8")),
        }
    }
    names.sort();
    let mut folder = SourceFolder::default();
    for (name, path) in &names {
        source.read_file(path, name, &mut folder)?;
    }
    source.finish(&mut folder)?;
    if let Some(m) = folder
        .migrations
        .iter()
        .find(|m| m.up.is_empty() && m.files.len() == 1 && m.down.is_some())
    {
        return Err(bad_source(
            &m.files[0],
            "a down migration without its up migration",
        ));
    }
    folder.migrations.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in folder.migrations.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(Error::ImportDuplicateVersion {
                version: pair[1].version.to_string(),
                first: pair[0].files[0].clone(),
                second: pair[1].files[0].clone(),
            });
        }
        if source.forbids_gaps() {
            let (a, b) = (&pair[0].version.0, &pair[1].version.0);
            if a.len() == 1 && b.len() == 1 && b[0] != a[0] + 1 {
                return Err(Error::ImportGap {
                    after: pair[0].version.to_string(),
                    next: pair[1].files[0].clone(),
                });
            }
        }
    }
    Ok(folder)
}

/// A source file retort cannot read, and why.
pub(crate) fn bad_source(path: &Path, detail: impl Into<String>) -> Error {
    Error::ImportBadSource {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// The text of a source file.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| bad_source(path, "it is not UTF-8"))?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(String::from)
        .unwrap_or(text))
}

/// `stem`'s version and description: `<digits>_<description>` (`split_at_underscore`) or
/// `<digits><anything>` (the leading digits); `None` when it does not start so. A file that
/// does not is the tool's business only if it is named like its migrations: skipped, with
/// `expected` (the name pattern) as the reason.
pub(crate) fn versioned_name<'s>(
    stem: &'s str,
    split_at_underscore: bool,
    path: &Path,
    expected: &str,
    folder: &mut SourceFolder,
) -> Option<(Version, &'s str)> {
    let parsed = match split_at_underscore {
        true => stem
            .split_once('_')
            .and_then(|(v, d)| Some((Version::parse_number(v)?, d))),
        false => {
            let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
            Version::parse_number(&stem[..digits])
                .map(|v| (v, stem[digits..].trim_start_matches(['_', '-'])))
        }
    };
    if parsed.is_none() {
        folder
            .skipped
            .push((path.to_path_buf(), format!("not named `{expected}`")));
    }
    parsed
}

/// A description from a file name: underscores are spaces, as the tools show them.
pub(crate) fn description(raw: &str) -> String {
    raw.replace('_', " ").trim().to_string()
}

/// Adds `migration` built from an up file and, if one, a separate down file: the two halves of
/// one version (golang-migrate, sqlx) meet here whichever comes first.
pub(crate) fn add_half(
    folder: &mut SourceFolder,
    version: Version,
    message: String,
    path: &Path,
    sql: String,
    is_up: bool,
) -> Result<()> {
    let existing = folder
        .migrations
        .iter_mut()
        .find(|m| m.version == version && m.message == message);
    match existing {
        Some(m) if is_up && m.up.is_empty() && m.files.iter().all(|f| f != path) => {
            m.up = sql;
            m.files.insert(0, path.to_path_buf());
        }
        Some(m) if !is_up && m.down.is_none() => {
            m.down = Some(sql);
            m.files.push(path.to_path_buf());
        }
        Some(m) => {
            return Err(Error::ImportDuplicateVersion {
                version: version.to_string(),
                first: m.files[0].clone(),
                second: path.to_path_buf(),
            })
        }
        None => folder.migrations.push(SourceMigration {
            version,
            message,
            up: if is_up { sql.clone() } else { String::new() },
            down: (!is_up).then_some(sql),
            transactional: true,
            files: vec![path.to_path_buf()],
            notes: Vec::new(),
        }),
    }
    Ok(())
}

/// The retort revision file for `migration`, on `parent` (`None`: a base).
pub(crate) fn revision_file(id: &str, parent: Option<&str>, migration: &SourceMigration) -> String {
    let toml = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!(
        "-- revision = {}\n-- down_revision = {}\n-- message = {}\n",
        toml(id),
        toml(parent.unwrap_or("")),
        toml(&migration.message)
    );
    if !migration.transactional {
        text.push_str("-- transactional = false\n");
    }
    let body = |sql: &str| {
        let sql = sql.trim_matches('\n');
        match sql.is_empty() {
            true => String::new(),
            false => format!("{sql}\n"),
        }
    };
    text.push_str(&format!("\n-- migrate:upgrade\n{}", body(&migration.up)));
    if let Some(down) = &migration.down {
        text.push_str(&format!("\n-- migrate:downgrade\n{}", body(down)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flyway_versions_compare_as_flyway_does() {
        let v = |t: &str| flyway::parse_version(t).unwrap();
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1_2"), v("1.2"));
        assert!(v("1.10") > v("1.9"));
        assert!(v("2") > v("1.999"));
        assert_eq!(flyway::parse_version("1.a"), None);
        assert_eq!(Tool::Flyway.revision_id(&v("2024.01.5")), "flyway_2024_1_5");
    }

    #[test]
    fn numbers_ignore_leading_zeros_and_need_digits() {
        assert_eq!(Version::parse_number("0042"), Some(Version(vec![42])));
        assert_eq!(Version::parse_number(""), None);
        assert_eq!(Version::parse_number("4a"), None);
        assert_eq!(Version::parse_number("99999999999999999999999"), None);
    }
}
