//! golang-migrate: `<version>_<title>.up.<ext>` and `<version>_<title>.down.<ext>` pairs
//! (`.sql` here). golang-migrate runs a file as it is, without a transaction of its own; retort
//! runs a revision in one, so a file wrapped in its own `BEGIN; … COMMIT;` loses the wrapper.

use std::path::Path;

use super::{add_half, description, read_text, versioned_name, SourceFolder, SourceTool};
use crate::error::Result;

pub(super) struct GolangMigrate;

impl SourceTool for GolangMigrate {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let (stem, is_up) = match (name.strip_suffix(".up.sql"), name.strip_suffix(".down.sql")) {
            (Some(stem), _) => (stem, true),
            (None, Some(stem)) => (stem, false),
            _ => {
                if name.ends_with(".sql") {
                    folder.skipped.push((
                        path.to_path_buf(),
                        "not a golang-migrate name (`<version>_<title>.up.sql` or `.down.sql`)"
                            .into(),
                    ));
                }
                return Ok(());
            }
        };
        let expected = "<version>_<title>.up.sql";
        let Some((version, title)) = versioned_name(stem, true, path, expected, folder) else {
            return Ok(());
        };
        let (sql, unwrapped) = without_own_transaction(&read_text(path)?);
        add_half(folder, version, description(title), path, sql, is_up)?;
        if unwrapped {
            if let Some(m) = folder
                .migrations
                .iter_mut()
                .find(|m| m.files.iter().any(|f| f == path))
            {
                let which = if is_up { "up" } else { "down" };
                m.notes.push(format!("its {which} file's own `BEGIN;` and `COMMIT;` were removed: retort runs the revision in a transaction"));
            }
        }
        Ok(())
    }
}

/// `sql` without a `BEGIN;` first statement and `COMMIT;` last statement (each alone on its
/// line), and whether it had them.
fn without_own_transaction(sql: &str) -> (String, bool) {
    let lines: Vec<&str> = sql.lines().collect();
    let is = |line: &str, words: &[&str]| {
        let line = line
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_ascii_uppercase();
        words.contains(&line.as_str())
    };
    let code = |line: &&str| !line.trim().is_empty() && !line.trim().starts_with("--");
    let first = lines.iter().position(code);
    let last = lines.iter().rposition(code);
    match (first, last) {
        (Some(f), Some(l))
            if f < l
                && is(
                    lines[f],
                    &["BEGIN", "BEGIN TRANSACTION", "START TRANSACTION"],
                )
                && is(lines[l], &["COMMIT", "END"]) =>
        {
            let mut kept: Vec<&str> = lines[..f].to_vec();
            kept.extend_from_slice(&lines[f + 1..l]);
            kept.extend_from_slice(&lines[l + 1..]);
            (kept.join("\n") + "\n", true)
        }
        _ => (sql.to_string(), false),
    }
}
