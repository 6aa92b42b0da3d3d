//! `revision` and `merge`: a new revision file from the template, on the parents asked for.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::Project;
use crate::render;
use crate::script::{id, RevisionMeta};

/// What `revision` and `merge` ask for.
#[derive(Debug)]
pub(crate) struct RevisionRequest {
    /// The parents as typed: `head`, ids, branch labels, `heads`.
    pub parents: Vec<String>,
    /// Whether a parent may be a revision that is not a head.
    pub splice: bool,
    pub message: Option<String>,
    pub branch_label: Option<String>,
    /// As typed: ids or branch labels.
    pub depends_on: Vec<String>,
    pub rev_id: Option<String>,
    pub version_path: Option<PathBuf>,
}

/// Renders and writes the new revision file; returns its path. Nothing is written when the
/// request does not fit the project.
pub(crate) fn create(project: &Project, request: RevisionRequest) -> Result<PathBuf> {
    let parents = project
        .graph
        .new_revision_parents(&request.parents, request.splice)?;
    let depends_on = project
        .graph
        .normalize_new_depends_on(&request.depends_on)?;
    let revision = match request.rev_id {
        Some(given) => given,
        None => generate_id(project, request.branch_label.as_deref()),
    };
    id::validate(&revision)?;
    if project.graph.is_taken(&revision) {
        return Err(Error::RevisionIdTaken { id: revision });
    }
    project.graph.check_new_revision_id(&revision)?;
    if let Some(label) = &request.branch_label {
        if project.graph.is_taken(label) || *label == revision {
            return Err(Error::NewBranchLabelTaken {
                label: label.clone(),
            });
        }
        project.graph.check_new_label(label, &revision)?;
    }
    let dir = version_dir(project, &parents, request.version_path.as_deref())?;
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
        &RevisionMeta {
            revision,
            down_revisions: parents,
            branch_labels: request.branch_label.into_iter().collect(),
            depends_on,
            message: request.message,
            create_date: Some(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
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
    Ok(path)
}

/// A random id that no label shadows, the new one included: a label is refused when it is a
/// prefix of an id, which a random id should never cause. After many tries (labels covering
/// every first character), the last id is left for the checks to refuse.
fn generate_id(project: &Project, label: Option<&str>) -> String {
    let fits = |id: &str| {
        !project.graph.is_taken(id)
            && project.graph.check_new_revision_id(id).is_ok()
            && !label.is_some_and(|l| id.starts_with(l))
    };
    let mut revision = id::generate();
    for _ in 0..1000 {
        if fits(&revision) {
            break;
        }
        revision = id::generate();
    }
    revision
}

/// The version location for a new file: the one asked for (must be one of the locations), the
/// only location, or the one holding the first parent (Alembic's rule).
fn version_dir(project: &Project, parents: &[String], requested: Option<&Path>) -> Result<PathBuf> {
    let locations = &project.config.version_locations;
    if let Some(requested) = requested {
        let wanted = absolute(requested);
        return locations
            .iter()
            .find(|l| absolute(l) == wanted)
            .cloned()
            .ok_or_else(|| Error::UnknownVersionPath {
                path: requested.to_path_buf(),
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
        .ok_or(Error::VersionPathNeeded)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Alembic's slug: the message's words joined by `_`, lower-case, cut at 40 characters on a
/// word boundary (then ending in `_`).
pub(crate) fn slug(message: &str) -> String {
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
