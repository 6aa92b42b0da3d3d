//! Offline (`--sql`) scripts: the per-dialect templates `templates/offline/<dialect>.sql.j2`,
//! compiled in, and overridable by a project's `templates =` directory under the same name.

use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::config::Dialect;
use crate::error::{Error, Result};
use crate::exec::offline::OfflineScript;

/// The built-in offline templates, by dialect.
pub const OFFLINE_TEMPLATES: [(Dialect, &str); 3] = [
    (
        Dialect::Sqlite,
        include_str!("../../templates/offline/sqlite.sql.j2"),
    ),
    (
        Dialect::Postgresql,
        include_str!("../../templates/offline/postgresql.sql.j2"),
    ),
    (
        Dialect::Mysql,
        include_str!("../../templates/offline/mysql.sql.j2"),
    ),
];

/// The template's name, also its path below a templates directory.
pub fn offline_template_name(dialect: Dialect) -> String {
    format!("offline/{}.sql.j2", dialect.name())
}

/// Renders `script` with the project's override of the dialect's template if `templates` holds
/// one, else with the built-in template.
pub fn render_offline(
    dialect: Dialect,
    templates: Option<&Path>,
    script: &OfflineScript,
) -> Result<String> {
    let name = offline_template_name(dialect);
    let source = match templates.map(|dir| dir.join(&name)).filter(|p| p.is_file()) {
        Some(path) => {
            std::fs::read_to_string(&path).map_err(|e| Error::io("read template", path, e))?
        }
        None => OFFLINE_TEMPLATES
            .iter()
            .find(|(d, _)| *d == dialect)
            .map(|(_, text)| (*text).to_string())
            .unwrap_or_default(),
    };
    let fail = |e: minijinja::Error| Error::Template {
        name: name.clone(),
        message: e.to_string(),
    };
    let mut env = Environment::new();
    // SQL is not HTML; a typo in a template must fail, not print nothing.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_template_owned(name.clone(), source).map_err(fail)?;
    env.get_template(&name)
        .and_then(|t| t.render(script))
        .map_err(fail)
}
