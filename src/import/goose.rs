//! goose: `<version>_<name>.sql` with `-- +goose Up` and `-- +goose Down` annotations,
//! `-- +goose StatementBegin` / `StatementEnd` around statements holding semicolons (retort's
//! splitter finds those itself: the annotations are dropped), and `-- +goose NO TRANSACTION`.
//! Go migrations (`.go`) cannot be imported.

use std::path::Path;

use super::dbmate::is_comment_or_blank;
use super::{
    bad_source, description, read_text, versioned_name, SourceFolder, SourceMigration, SourceTool,
};
use crate::error::Result;

pub(super) struct Goose;

impl SourceTool for Goose {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let (stem, go) = match (name.strip_suffix(".sql"), name.strip_suffix(".go")) {
            (Some(stem), _) => (stem, false),
            (None, Some(stem)) => (stem, true),
            _ => return Ok(()),
        };
        let expected = "<version>_<name>.sql";
        let Some((version, desc)) = versioned_name(stem, true, path, expected, folder) else {
            return Ok(());
        };
        if go {
            return Err(bad_source(
                path,
                "a Go migration: retort imports SQL migrations only; rewrite it as SQL",
            ));
        }
        let text = read_text(path)?;
        let mut up: Option<String> = None;
        let mut down: Option<String> = None;
        let mut in_down = false;
        let mut transactional = true;
        let mut notes = Vec::new();
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let annotation = line
                .trim()
                .strip_prefix("--")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix("+goose"));
            if let Some(rest) = annotation {
                match rest.trim().to_ascii_uppercase().as_str() {
                    "UP" if up.is_none() => {
                        up = Some(String::new());
                        in_down = false;
                    }
                    "DOWN" if down.is_none() => {
                        down = Some(String::new());
                        in_down = true;
                    }
                    "STATEMENTBEGIN" | "STATEMENTEND" => {}
                    "NO TRANSACTION" => transactional = false,
                    "ENVSUB ON" | "ENVSUB OFF" => notes.push(format!(
                        "line {}: `+goose ENVSUB` substitutes environment variables, which retort does not",
                        n + 1
                    )),
                    other => {
                        return Err(bad_source(path, format!("line {}: unknown or repeated goose annotation `+goose {other}`", n + 1)))
                    }
                }
                continue;
            }
            let current = if in_down { &mut down } else { &mut up };
            match current {
                Some(sql) => sql.push_str(line),
                None if is_comment_or_blank(line) => {}
                None => {
                    return Err(bad_source(
                        path,
                        format!("line {}: SQL before `-- +goose Up`", n + 1),
                    ))
                }
            }
        }
        let Some(up) = up else {
            return Err(bad_source(path, "it has no `-- +goose Up` annotation"));
        };
        folder.migrations.push(SourceMigration {
            version,
            message: description(desc),
            up,
            down,
            transactional,
            files: vec![path.to_path_buf()],
            notes,
        });
        Ok(())
    }
}
