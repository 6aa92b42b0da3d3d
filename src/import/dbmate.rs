//! dbmate: `<version>_<name>.sql` (the version is the leading digits, usually a timestamp),
//! one file per migration with a `-- migrate:up` and an optional `-- migrate:down` block; an
//! option `transaction:false` on a block's marker runs it outside a transaction.

use std::path::Path;

use super::{
    bad_source, description, read_text, versioned_name, SourceFolder, SourceMigration, SourceTool,
};
use crate::error::Result;

pub(super) struct Dbmate;

impl SourceTool for Dbmate {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        let Some(stem) = name.strip_suffix(".sql") else {
            return Ok(());
        };
        let expected = "<version>_<name>.sql";
        let Some((version, desc)) = versioned_name(stem, false, path, expected, folder) else {
            return Ok(());
        };
        let text = read_text(path)?;
        let mut up: Option<(String, bool)> = None;
        let mut down: Option<(String, bool)> = None;
        let mut in_down = false;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let marker = line
                .trim()
                .strip_prefix("--")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix("migrate:"));
            if let Some(rest) = marker {
                let mut words = rest.split_whitespace();
                let kind = words.next().unwrap_or("");
                let mut transactional = true;
                for option in words {
                    match option {
                        "transaction:false" => transactional = false,
                        "transaction:true" => {}
                        other => {
                            return Err(bad_source(
                                path,
                                format!("line {}: unknown dbmate option `{other}`", n + 1),
                            ))
                        }
                    }
                }
                let slot = match kind {
                    "up" => &mut up,
                    "down" => &mut down,
                    other => {
                        return Err(bad_source(
                            path,
                            format!("line {}: unknown dbmate block `migrate:{other}`", n + 1),
                        ))
                    }
                };
                if slot.is_some() {
                    return Err(bad_source(
                        path,
                        format!("line {}: a second `migrate:{kind}` block", n + 1),
                    ));
                }
                *slot = Some((String::new(), transactional));
                in_down = kind == "down";
                continue;
            }
            let current = if in_down { &mut down } else { &mut up };
            match current {
                Some((sql, _)) => sql.push_str(line),
                None if is_comment_or_blank(line) => {}
                None => {
                    return Err(bad_source(
                        path,
                        format!("line {}: SQL before the `-- migrate:up` block", n + 1),
                    ))
                }
            }
        }
        let Some((up_sql, up_tx)) = up else {
            return Err(bad_source(path, "it has no `-- migrate:up` block"));
        };
        // dbmate refuses such a file too; an empty down block is its way to say "nothing".
        if down.is_none() {
            return Err(bad_source(path, "it has no `-- migrate:down` block, which dbmate requires (an empty one reverts nothing)"));
        }
        let mut notes = Vec::new();
        let down_tx = down.as_ref().is_none_or(|(_, tx)| *tx);
        if up_tx != down_tx {
            notes.push(format!(
                "its up block runs {} a transaction and its down block {}: a retort revision has one setting, so both run {}",
                if up_tx { "in" } else { "outside" },
                if down_tx { "in one" } else { "outside one" },
                if up_tx { "in one" } else { "outside one" }
            ));
        }
        folder.migrations.push(SourceMigration {
            version,
            message: description(desc),
            up: up_sql,
            down: down.map(|(sql, _)| sql),
            transactional: up_tx,
            files: vec![path.to_path_buf()],
            notes,
        });
        Ok(())
    }
}

/// A line of only a `--` comment or blanks.
pub(super) fn is_comment_or_blank(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with("--")
}
