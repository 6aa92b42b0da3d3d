//! Templates: the built-in ones (compiled in) and project overrides, rendered with minijinja.

pub(crate) mod offline;

use std::path::Path;

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::script::RevisionMeta;

/// Every built-in template by name. `retort init` copies each into a project's `templates/`, and
/// a project's `templates =` directory overrides them by the same names.
pub(crate) const BUILTIN_TEMPLATES: &[(&str, &str)] = &[(
    "revision.sql.j2",
    include_str!("../../templates/revision.sql.j2"),
)];

/// Every built-in template as (path below a templates directory, text): the general ones and
/// the per-dialect offline ones. `retort init` copies exactly these.
pub fn builtin_templates() -> impl Iterator<Item = (String, &'static str)> {
    let general = BUILTIN_TEMPLATES
        .iter()
        .map(|(name, source)| ((*name).to_string(), *source));
    let offline = offline::OFFLINE_TEMPLATES
        .iter()
        .map(|(dialect, source)| (offline::offline_template_name(*dialect), *source));
    general.chain(offline)
}

/// The template of a new revision file.
pub(crate) const REVISION_TEMPLATE: &str = "revision.sql.j2";

/// The environment every template renders in: strict about undefined variables (a typo fails
/// instead of printing nothing), no HTML escaping (this is SQL), block tags on lines of their own
/// leave no blank lines, and the `toml` filter for header values.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("toml", toml_filter);
    // Built-ins load lazily through the loader, so templates added explicitly (project
    // overrides) take precedence and a broken one only fails when it is used.
    env.set_loader(|name| Ok(builtin_source(name).map(str::to_string)));
    env
}

/// The built-in template named `name` (a path below a templates directory).
fn builtin_source(name: &str) -> Option<&'static str> {
    builtin_templates()
        .find(|(builtin, _)| builtin == name)
        .map(|(_, source)| source)
}

/// Adds the templates of a project's `templates =` directory that override built-in ones (any
/// of [`builtin_templates`], by the same path), compiled now so a broken one fails early.
pub(crate) fn add_overrides(env: &mut Environment<'static>, dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::TemplateDirectoryMissing {
            dir: dir.to_path_buf(),
        });
    }
    for (name, _) in builtin_templates() {
        let path = dir.join(&name);
        if !path.is_file() {
            continue;
        }
        let source =
            std::fs::read_to_string(&path).map_err(|e| Error::io("read template", &path, e))?;
        env.add_template_owned(name, source)
            .map_err(|e| template_error(&path.display().to_string(), &e))?;
    }
    Ok(())
}

/// The text of a new revision file; `revision.create_date` is always given.
pub(crate) fn render_revision(env: &Environment<'_>, revision: &RevisionMeta) -> Result<String> {
    render_template(env, REVISION_TEMPLATE, revision)
}

/// Renders the template `name` of `env` with `context`.
fn render_template(env: &Environment<'_>, name: &str, context: impl Serialize) -> Result<String> {
    env.get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|e| template_error(name, &e))
}

fn template_error(name: &str, error: &minijinja::Error) -> Error {
    Error::TemplateFailed {
        name: name.to_string(),
        detail: error.to_string(),
        line: error.line(),
    }
}

/// `{{ value | toml }}`: a string, boolean or array of strings as a single-line TOML value, so a
/// header line stays one line whatever a message contains.
fn toml_filter(value: Value) -> std::result::Result<String, minijinja::Error> {
    if let Some(text) = value.as_str() {
        return Ok(toml_string(text));
    }
    match value.kind() {
        ValueKind::Bool => Ok(value.is_true().to_string()),
        ValueKind::Seq => {
            let items = value
                .try_iter()?
                .map(toml_filter)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(format!("[{}]", items.join(", ")))
        }
        kind => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("the `toml` filter renders strings, booleans and lists, not {kind}"),
        )),
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::parse_revision;
    use proptest::prelude::*;

    fn new_revision() -> RevisionMeta {
        RevisionMeta {
            revision: "4f2a9c1b7d3e".into(),
            down_revisions: vec!["1975ea83b712".into()],
            branch_labels: vec!["billing".into()],
            depends_on: vec!["55af2cb1c267".into()],
            message: Some("add invoice table".into()),
            create_date: Some("2026-11-23T10:15:02Z".into()),
        }
    }

    fn round_trip(new: &RevisionMeta) -> crate::script::Script {
        let text = render_revision(&environment(), new).unwrap();
        let script = parse_revision(Path::new("v/x.sql"), &text).unwrap();
        assert_eq!(&script.meta, new);
        assert!(script.transactional);
        script
    }

    #[test]
    fn new_revision_has_the_spec_layout() {
        let text = render_revision(&environment(), &new_revision()).unwrap();
        assert_eq!(
            text,
            "-- revision = \"4f2a9c1b7d3e\"\n\
             -- down_revision = \"1975ea83b712\"\n\
             -- branch_labels = [\"billing\"]\n\
             -- depends_on = [\"55af2cb1c267\"]\n\
             -- message = \"add invoice table\"\n\
             -- create_date = \"2026-11-23T10:15:02Z\"\n\
             \n\
             -- migrate:upgrade\n\
             -- The SQL that applies this revision.\n\
             \n\
             -- migrate:downgrade\n\
             -- The SQL that reverts it. Delete this section if the revision cannot be reverted.\n"
        );
    }

    #[test]
    fn round_trips_through_the_parser() {
        let script = round_trip(&new_revision());
        assert!(script.sections.upgrade.is_some());
        assert!(script.sections.is_reversible());
    }

    #[test]
    fn base_and_merge_revisions_round_trip() {
        let base = RevisionMeta {
            down_revisions: vec![],
            branch_labels: vec![],
            depends_on: vec![],
            message: None,
            ..new_revision()
        };
        let text = render_revision(&environment(), &base).unwrap();
        assert!(text.contains("-- down_revision = \"\"\n"), "{text}");
        assert!(!text.contains("message"), "{text}");
        round_trip(&base);
        let merge = RevisionMeta {
            down_revisions: vec!["aaa".into(), "bbb".into()],
            ..new_revision()
        };
        let text = render_revision(&environment(), &merge).unwrap();
        assert!(
            text.contains("-- down_revision = [\"aaa\", \"bbb\"]\n"),
            "{text}"
        );
        round_trip(&merge);
    }

    #[test]
    fn toml_filter_escapes_and_rejects_other_values() {
        assert_eq!(
            toml_string("a \"q\" \\ \n\t\u{1}é"),
            "\"a \\\"q\\\" \\\\ \\n\\t\\u0001é\""
        );
        let env = environment();
        let render = |source: &str, ctx: Value| env.render_str(source, ctx);
        assert_eq!(
            render(
                "{{ x | toml }}",
                minijinja::context! { x => vec!["a", "b\""] }
            )
            .unwrap(),
            "[\"a\", \"b\\\"\"]"
        );
        assert_eq!(
            render("{{ x | toml }}", minijinja::context! { x => true }).unwrap(),
            "true"
        );
        let err = render("{{ x | toml }}", minijinja::context! { x => 3 }).unwrap_err();
        assert!(err.to_string().contains("not number"), "{err}");
    }

    #[test]
    fn undefined_variables_are_errors() {
        let err = environment()
            .render_str("{{ mesage }}", minijinja::context! {})
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError);
    }

    #[test]
    fn every_builtin_template_compiles() {
        let env = environment();
        for (name, _) in builtin_templates() {
            env.get_template(&name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn builtin_templates_include_every_offline_dialect() {
        let names: Vec<String> = builtin_templates().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "revision.sql.j2",
                "offline/sqlite.sql.j2",
                "offline/postgresql.sql.j2",
                "offline/mysql.sql.j2"
            ]
        );
    }

    #[test]
    fn project_overrides_replace_builtins_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = environment();
        add_overrides(&mut env, tmp.path()).unwrap();
        assert!(render_revision(&env, &new_revision())
            .unwrap()
            .starts_with("-- revision"));

        std::fs::write(
            tmp.path().join(REVISION_TEMPLATE),
            "-- revision = {{ revision | toml }}\n\n-- migrate:upgrade\n-- custom\n",
        )
        .unwrap();
        let mut env = environment();
        add_overrides(&mut env, tmp.path()).unwrap();
        let text = render_revision(&env, &new_revision()).unwrap();
        assert_eq!(
            text,
            "-- revision = \"4f2a9c1b7d3e\"\n\n-- migrate:upgrade\n-- custom\n"
        );

        let err = add_overrides(&mut environment(), &tmp.path().join("nope")).unwrap_err();
        assert!(
            err.to_string().contains("nope`: no such directory"),
            "{err}"
        );

        std::fs::write(tmp.path().join(REVISION_TEMPLATE), "{% if %}").unwrap();
        let err = add_overrides(&mut environment(), tmp.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("template `"), "{text}");
        assert!(text.contains("revision.sql.j2"), "{text}");
    }

    proptest! {
        #[test]
        fn any_message_and_labels_round_trip(
            message in proptest::option::of("\\PC{0,40}|[\"\\\\\n\t\r\u{0}-\u{1f}]{0,10}"),
            labels in proptest::collection::vec("[a-z][a-z0-9_]{0,10}", 0..3),
            parents in proptest::collection::vec("[0-9a-f]{12}", 0..3),
        ) {
            let mut parents = parents;
            parents.sort();
            parents.dedup();
            let new = RevisionMeta {
                down_revisions: parents,
                branch_labels: labels,
                message,
                ..new_revision()
            };
            round_trip(&new);
        }
    }
}
