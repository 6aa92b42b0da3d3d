//! `${VAR}` and `${VAR:-default}` expansion, against a lookup function (no process access here).

/// Expands every `${VAR}` / `${VAR:-default}` in `text`. An unset `${VAR}` without default is an
/// error naming the variable; `$$` is a literal `$`. A `$` followed by anything else is kept as is,
/// so shell commands such as `pg_dump "$DB"` survive. The error is a message for the caller to
/// place (it knows the file and key).
pub(crate) fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}').ok_or_else(|| {
                format!(
                    "unterminated `${{` in `{text}`; write `${{VAR}}`, or `$$` for a literal `$`"
                )
            })?;
            out.push_str(&substitute(&inner[..close], env)?);
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one `${...}` body: `VAR` or `VAR:-default`. As in the shell, `:-` also replaces
/// a variable that is set but empty.
fn substitute(body: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`${{{body}}}` is not a variable reference; write `${{NAME}}` or `${{NAME:-default}}`"
        ));
    }
    match (env(name), default) {
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_string()),
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set; set it or give a default with `${{{name}:-value}}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/me".into()),
            "DB_USER" => Some("app".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn ok(text: &str) -> String {
        expand(text, &env).unwrap()
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("sqlite:///app.db"), "sqlite:///app.db");
        assert_eq!(ok("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn variables_are_substituted() {
        assert_eq!(ok("${HOME}/db"), "/home/me/db");
        assert_eq!(
            ok("postgresql://${DB_USER}@h/${DB_USER}"),
            "postgresql://app@h/app"
        );
    }

    #[test]
    fn defaults_apply_to_unset_and_empty_variables() {
        assert_eq!(ok("${NOPE:-sqlite:///app.db}"), "sqlite:///app.db");
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${HOME:-x}"), "/home/me");
        assert_eq!(ok("${NOPE:-}"), "");
        assert_eq!(ok("${NOPE:-a:-b}"), "a:-b");
    }

    #[test]
    fn dollars() {
        assert_eq!(ok("cost $$5"), "cost $5");
        assert_eq!(ok("$$${HOME}"), "$/home/me");
        assert_eq!(ok("pg_dump \"$DB\" $"), "pg_dump \"$DB\" $");
        assert_eq!(ok("$$$$"), "$$");
    }

    #[test]
    fn unset_variable_without_default_is_named() {
        assert_eq!(
            expand("x${DATABASE_URL}", &env).unwrap_err(),
            "environment variable `DATABASE_URL` is not set; set it or give a default with `${DATABASE_URL:-value}`"
        );
        assert_eq!(ok("${EMPTY}"), "");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(expand("${HOME", &env)
            .unwrap_err()
            .starts_with("unterminated `${`"));
        for bad in ["${}", "${1X}", "${A-B}", "${A:B}", "${ HOME }"] {
            let err = expand(bad, &env).unwrap_err();
            assert!(err.contains("is not a variable reference"), "{bad}: {err}");
        }
    }
}
