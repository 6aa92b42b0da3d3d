//! `revision`: a new revision file from the template, on the current head or `--head`.

use std::path::{Path, PathBuf};

use super::Context;
use crate::cli::args::RevisionArgs;
use crate::error::{Error, Result};
use crate::project::Project;
use crate::render::{self, NewRevision};
use crate::script::id;

/// What `revision` and `merge` ask for.
pub(super) struct Request {
    pub(super) parents: Vec<String>,
    pub(super) message: Option<String>,
    pub(super) branch_label: Option<String>,
    pub(super) depends_on: Vec<String>,
    pub(super) rev_id: Option<String>,
    pub(super) version_path: Option<PathBuf>,
}

pub(super) fn run(ctx: &Context, args: RevisionArgs) -> Result<u8> {
    let project = ctx.project()?;
    let head = args.head.unwrap_or_else(|| "head".to_string());
    let parents = project.graph.new_revision_parents(&[head], args.splice)?;
    let depends_on = project.graph.normalize_new_depends_on(&args.depends_on)?;
    write_revision(
        ctx,
        &project,
        Request {
            parents,
            message: args.message,
            branch_label: args.branch_label,
            depends_on,
            rev_id: args.rev_id,
            version_path: args.version_path,
        },
    )
}

/// Renders and writes a new revision file; prints its path on stdout.
pub(super) fn write_revision(ctx: &Context, project: &Project, request: Request) -> Result<u8> {
    let revision = match request.rev_id {
        Some(given) => given,
        None => id::generate(),
    };
    id::validate(&revision)?;
    if project.graph.is_taken(&revision) {
        return Err(Error::Usage {
            message: format!("revision id `{revision}` is already used in this project"),
        });
    }
    if let Some(label) = &request.branch_label {
        id::validate(label).map_err(|_| Error::Usage {
            message: format!("branch label `{label}` must be letters, digits and `_`"),
        })?;
        if project.graph.is_taken(label) {
            return Err(Error::Usage {
                message: format!(
                    "branch label `{label}` is already used as a revision id or branch label"
                ),
            });
        }
    }
    let dir = version_dir(project, &request.parents, request.version_path.as_deref())?;
    let path = dir.join(format!(
        "{revision}_{}.sql",
        slug(request.message.as_deref().unwrap_or(""))
    ));
    let mut env = render::environment();
    if let Some(templates) = &project.config.templates {
        render::add_overrides(&mut env, templates)?;
    }
    let text = render::render_revision(
        &env,
        &NewRevision {
            revision,
            down_revisions: request.parents,
            branch_labels: request.branch_label.into_iter().collect(),
            depends_on: request.depends_on,
            message: request.message,
            create_date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        },
    )?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    // `create_new`: never overwrite a file that appeared since the scan.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| Error::io("write revision file", &path, e))?;
    ctx.printer
        .status(format!("Generating {} ...  done", path.display()));
    ctx.printer.data(path.display());
    Ok(0)
}

/// The version location for a new file: `--version-path` (must be one of the locations), the
/// only location, or the one holding the first parent (Alembic's rule).
fn version_dir(project: &Project, parents: &[String], requested: Option<&Path>) -> Result<PathBuf> {
    let locations = &project.config.version_locations;
    if let Some(requested) = requested {
        let wanted = absolute(requested);
        return locations
            .iter()
            .find(|l| absolute(l) == wanted)
            .cloned()
            .ok_or_else(|| Error::Usage {
                message: format!(
                    "Path {} is not represented in current version locations",
                    requested.display()
                ),
            });
    }
    if let [only] = locations.as_slice() {
        return Ok(only.clone());
    }
    parents
        .iter()
        .filter_map(|p| project.script(p))
        .filter_map(|s| s.path.parent())
        .next()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::Usage {
            message: "Multiple version locations present, please specify --version-path".into(),
        })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Alembic's slug: the message's words joined by `_`, lower-case, cut at 40 characters on a
/// word boundary (then ending in `_`).
fn slug(message: &str) -> String {
    let words: Vec<String> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let slug = words.join("_");
    if slug.chars().count() <= 40 {
        return slug;
    }
    let cut: String = slug.chars().take(40).collect();
    match cut.rsplit_once('_') {
        Some((head, _)) => format!("{head}_"),
        None => format!("{cut}_"),
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slug_matches_alembic() {
        assert_eq!(slug("add invoice table"), "add_invoice_table");
        assert_eq!(
            slug("Add a column!! to  it; with punctuation & stuff"),
            "add_a_column_to_it_with_punctuation_"
        );
        assert_eq!(slug(""), "");
    }
}
