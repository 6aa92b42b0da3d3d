//! `${VAR}` and `${VAR:-default}` expansion, against a lookup function (no process access here).

use crate::error::Result;

/// Expands every `${VAR}` / `${VAR:-default}` in `text`. An unset `${VAR}` without default is an
/// error naming the variable; `$$` is a literal `$`.
pub fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let _ = (text, env);
    Err(crate::error::Error::Internal(
        "expand: not built yet".into(),
    ))
}
