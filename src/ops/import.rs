//! `import TOOL DIR`: another tool's migration folder as a linear chain of retort revisions in
//! the project's version location. Ids come from the source versions, so a second import finds
//! the first one's files and writes nothing; existing files are never overwritten. Everything is
//! converted and checked before anything is written, and the files are written into a temporary
//! folder beside the version location and moved into place only then.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Config, Dialect};
use crate::error::{Error, Result};
use crate::import::alembic::{self, AlembicRevision};
use crate::import::alembic_offline::{Offline, Sections};
use crate::import::{read_folder, revision_file, Tool};
use crate::project::Project;
use crate::script::{self, id};

/// One source migration and the revision it is.
#[derive(Debug, Serialize)]
pub(crate) struct Imported {
    pub version: String,
    pub revision: String,
    pub path: PathBuf,
    /// The source files it came from.
    pub sources: Vec<PathBuf>,
    /// `true`: written now; `false`: already imported, left alone.
    pub written: bool,
    pub reversible: bool,
    pub transactional: bool,
    /// What the source accepted and retort does not express, or changed on the way.
    pub notes: Vec<String>,
}

/// What `import` did.
#[derive(Debug, Serialize)]
pub(crate) struct ImportOutcome {
    pub tool: Tool,
    pub revisions: Vec<Imported>,
    /// Source files not imported, and why.
    pub skipped: Vec<Skipped>,
    /// Why an Alembic import left all the SQL for the user (no alembic, no dialect, no
    /// alembic.ini); `None` when Alembic was asked, or for other tools.
    pub sql_note: Option<String>,
}

/// One dialect's upgrade and downgrade SQL of a revision, or why Alembic gave none.
type DialectSql<'a> = (Dialect, [std::result::Result<&'a str, String>; 2]);

/// Where an Alembic import's SQL comes from: the `alembic` program (`--alembic`, else on
/// `PATH`; `None`: not found) and the dialects to render (`--dialect`, else the URL's).
#[derive(Debug, Default)]
pub(crate) struct AlembicSql {
    pub program: Option<PathBuf>,
    pub dialects: Vec<Dialect>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

impl ImportOutcome {
    pub(crate) fn written(&self) -> usize {
        self.revisions.iter().filter(|r| r.written).count()
    }
}

/// Imports the migrations of `dir`, written for `tool`, into the version location of `config`;
/// an Alembic folder's SQL is rendered as `alembic` says.
pub(crate) fn import(
    config: Config,
    tool: Tool,
    dir: &Path,
    alembic: AlembicSql,
) -> Result<ImportOutcome> {
    let project = Project::load(config)?;
    let versions = match project.config.version_locations.first() {
        Some(dir) => dir.clone(),
        None => return Err(Error::VersionPathNeeded),
    };
    let mut staged = Staged {
        project: &project,
        versions: &versions,
        revisions: Vec::new(),
        new_files: Vec::new(),
    };
    let mut sql_note = None;
    let skipped = match tool.source() {
        Some(source) => {
            let folder = read_folder(source, dir)?;
            let mut parent: Option<String> = None;
            for m in &folder.migrations {
                let revision = tool.revision_id(&m.version);
                let parents: Vec<String> = parent.iter().cloned().collect();
                let text = revision_file(&revision, parent.as_deref(), m);
                let (path, written) =
                    staged.add(&revision, &parents, &m.message, &m.files[0], text)?;
                staged.revisions.push(Imported {
                    version: m.version.to_string(),
                    revision: revision.clone(),
                    path,
                    sources: m.files.clone(),
                    written,
                    reversible: m.down.is_some(),
                    transactional: m.transactional,
                    notes: m.notes.clone(),
                });
                parent = Some(revision);
            }
            folder.skipped
        }
        None => {
            let revisions = alembic::read_versions(dir)?;
            let new = revisions
                .iter()
                .any(|r| project.script(&r.revision).is_none());
            let rendered = match new {
                true => render(&alembic, dir, &revisions),
                false => Ok(Vec::new()),
            };
            let rendered = rendered.unwrap_or_else(|note| {
                sql_note = Some(note);
                Vec::new()
            });
            for r in revisions {
                let sql: Vec<DialectSql> = rendered
                    .iter()
                    .map(|(dialect, [up, down])| {
                        (*dialect, [up.get(&r.revision), down.get(&r.revision)])
                    })
                    .collect();
                let notes = alembic_notes(&r.revision, &sql);
                let text = alembic_revision_file(&r, &sql);
                let (path, written) =
                    staged.add(&r.revision, &r.down_revisions, &r.message, &r.path, text)?;
                staged.revisions.push(Imported {
                    version: r.revision.clone(),
                    revision: r.revision,
                    path,
                    sources: vec![r.path],
                    written,
                    reversible: true,
                    transactional: true,
                    notes: if written { notes } else { Vec::new() },
                });
            }
            Vec::new()
        }
    };
    if !staged.new_files.is_empty() {
        write_all(&versions, &staged.new_files)?;
    }
    Ok(ImportOutcome {
        tool,
        revisions: staged.revisions,
        skipped: skipped
            .into_iter()
            .map(|(path, reason)| Skipped { path, reason })
            .collect(),
        sql_note,
    })
}

/// The revisions converted so far and the files still to write.
struct Staged<'p> {
    project: &'p Project,
    versions: &'p Path,
    revisions: Vec<Imported>,
    new_files: Vec<(PathBuf, String)>,
}

impl Staged<'_> {
    /// Stages `text` as revision `revision` on `parents` (from `source`), unless the project
    /// has it already on the same parents: its path, and whether it is new.
    fn add(
        &mut self,
        revision: &str,
        parents: &[String],
        message: &str,
        source: &Path,
        text: String,
    ) -> Result<(PathBuf, bool)> {
        let conflict = |detail: String| Error::ImportConflict {
            source_file: source.to_path_buf(),
            revision: revision.to_string(),
            detail,
        };
        id::validate(revision).map_err(|e| conflict(e.to_string()))?;
        if let Some(existing) = self.project.script(revision) {
            if existing.meta.down_revisions != parents {
                return Err(conflict(format!(
                    "`{}` already has that id on another parent",
                    existing.path.display()
                )));
            }
            return Ok((existing.path.clone(), false));
        }
        let slug = crate::ops::revision::slug(message);
        let name = match slug.is_empty() {
            true => format!("{revision}.sql"),
            false => format!("{revision}_{slug}.sql"),
        };
        let path = self.versions.join(&name);
        if path.exists() {
            return Err(conflict(format!("`{}` exists", path.display())));
        }
        // What retort will read back: any problem is the source file's.
        script::parse_revision(&path, &text)
            .map_err(|e| crate::import::bad_source(source, format!("as a revision file: {e}")))?;
        self.new_files.push((path.clone(), text));
        Ok((path, true))
    }
}

/// Each dialect's upgrade and downgrade SQL of the Alembic revisions of `dir`, from Alembic's
/// offline mode; `Err`: why Alembic was not asked, for the user.
fn render(
    alembic: &AlembicSql,
    dir: &Path,
    revisions: &[AlembicRevision],
) -> std::result::Result<Vec<(Dialect, [Sections; 2])>, String> {
    const LEFT: &str = "the SQL of every revision is left for you to write";
    let Some(program) = &alembic.program else {
        return Err(format!(
            "alembic was not found on PATH, so {LEFT}; install Alembic (`pip install alembic`) or pass --alembic PATH to fill it from Alembic's offline mode"
        ));
    };
    if alembic.dialects.is_empty() {
        return Err(format!(
            "no dialect to render the SQL for, so {LEFT}; pass --dialect sqlite|postgresql|mysql or set the project's database_url"
        ));
    }
    let offline = Offline::new(program, dir).map_err(|why| format!("{why}, so {LEFT}"))?;
    alembic
        .dialects
        .iter()
        .map(|&dialect| Ok((dialect, offline.render(dialect, revisions)?)))
        .collect::<std::result::Result<_, String>>()
        .map_err(|why: String| format!("{why} ({}), so {LEFT}", offline.ini().display()))
}

/// What a revision's file says where Alembic gave no SQL.
fn alembic_notes(revision: &str, sql: &[DialectSql]) -> Vec<String> {
    if sql.is_empty() {
        return vec![
            "its SQL is left for you to write: the upgrade and downgrade sections hold a placeholder comment".into(),
        ];
    }
    let mut notes = Vec::new();
    for (dialect, sections) in sql {
        for (direction, section) in ["upgrade", "downgrade"].iter().zip(sections) {
            if let Err(why) = section {
                notes.push(format!(
                    "revision {revision}: Alembic's offline mode gave no {dialect} {direction} SQL ({why}); that section holds a placeholder for you to fill"
                ));
            }
        }
    }
    notes
}

/// The retort revision file for Alembic revision `r`: its graph, and per dialect of `sql` its
/// upgrade and downgrade sections (a placeholder where Alembic gave none); without dialects,
/// generic placeholder sections.
fn alembic_revision_file(r: &AlembicRevision, sql: &[DialectSql]) -> String {
    let toml = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &[String]| match items {
        [one] => toml(one),
        _ => {
            let items: Vec<String> = items.iter().map(|s| toml(s)).collect();
            format!("[{}]", items.join(", "))
        }
    };
    let mut text = format!(
        "-- revision = {}\n-- down_revision = {}\n",
        toml(&r.revision),
        match r.down_revisions.is_empty() {
            true => toml(""),
            false => list(&r.down_revisions),
        }
    );
    if !r.branch_labels.is_empty() {
        text.push_str(&format!("-- branch_labels = {}\n", list(&r.branch_labels)));
    }
    if !r.depends_on.is_empty() {
        text.push_str(&format!("-- depends_on = {}\n", list(&r.depends_on)));
    }
    text.push_str(&format!("-- message = {}\n", toml(&r.message)));
    let from = r.path.file_name().unwrap_or_default().to_string_lossy();
    let placeholder = |direction: &str| format!("-- TODO: the SQL of {direction}() in {from}\n");
    if sql.is_empty() {
        text.push_str(&format!(
            "\n-- migrate:upgrade\n{}\n-- migrate:downgrade\n{}",
            placeholder("upgrade"),
            placeholder("downgrade")
        ));
        return text;
    }
    let dialects: Vec<&str> = sql.iter().map(|(d, _)| d.name()).collect();
    text.push_str(&format!(
        "\n-- The SQL of {from} as Alembic's offline mode (`alembic upgrade --sql`, `alembic downgrade --sql`) renders it for {}.\n",
        dialects.join(", ")
    ));
    for (dialect, sections) in sql {
        for (direction, section) in ["upgrade", "downgrade"].iter().zip(sections) {
            text.push_str(&format!("\n-- migrate:{direction} {dialect}\n"));
            match section {
                Ok("") => {}
                Ok(sql) => {
                    text.push_str(sql);
                    text.push('\n');
                }
                Err(_) => text.push_str(&placeholder(direction)),
            }
        }
    }
    text
}

/// Writes `files` (all in `versions`) into a temporary folder beside `versions`, then links
/// each into place; a name taken meanwhile is an error, never overwritten.
fn write_all(versions: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    std::fs::create_dir_all(versions).map_err(|e| Error::io("create directory", versions, e))?;
    let parent = versions.parent().unwrap_or(versions);
    let temp = parent.join(format!(".retort-import-{}", std::process::id()));
    std::fs::create_dir_all(&temp).map_err(|e| Error::io("create directory", &temp, e))?;
    let result = (|| {
        let mut staged = Vec::new();
        for (path, text) in files {
            let name = path.file_name().unwrap_or_default();
            let staged_path = temp.join(name);
            std::fs::write(&staged_path, text)
                .map_err(|e| Error::io("write revision file", &staged_path, e))?;
            staged.push((staged_path, path));
        }
        for (staged_path, path) in staged {
            // A hard link fails on a taken name, where a rename would replace the file.
            std::fs::hard_link(&staged_path, path)
                .map_err(|e| Error::io("write revision file", path, e))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&temp);
    result
}
