//! Flyway: `V<version>__<description>.sql` versioned migrations (version parts separated by `.`
//! or `_`), `U<version>__…` undo migrations (the down section), `R__…` repeatable and
//! `B<version>__…` baseline migrations (not imported: retort has neither), and a
//! `<file>.conf` beside a migration whose `executeInTransaction=false` runs it outside a
//! transaction.

use std::path::Path;

use super::{
    bad_source, description, read_text, SourceFolder, SourceMigration, SourceTool, Version,
};
use crate::error::Result;

pub(super) struct Flyway;

impl SourceTool for Flyway {
    fn read_file(&self, path: &Path, name: &str, folder: &mut SourceFolder) -> Result<()> {
        if let Some(migration) = name.strip_suffix(".conf") {
            return read_conf(path, migration, folder);
        }
        if !name.ends_with(".sql") {
            return Ok(());
        }
        let kind = name.chars().next().unwrap_or(' ');
        if name.starts_with("R__") {
            folder.skipped.push((
                path.to_path_buf(),
                "repeatable migrations (`R__`) are not supported: retort runs each revision once; \
                 fold its SQL into a new revision"
                    .into(),
            ));
            return Ok(());
        }
        let Some((version, desc)) = name[1..]
            .strip_suffix(".sql")
            .and_then(|n| n.split_once("__"))
        else {
            folder.skipped.push((
                path.to_path_buf(),
                "not a Flyway migration name (`V<version>__<description>.sql`)".into(),
            ));
            return Ok(());
        };
        let parsed = parse_version(version)
            .ok_or_else(|| bad_source(path, format!("`{version}` is not a Flyway version")));
        match kind {
            'V' => {
                let sql = read_text(path)?;
                let mut notes = Vec::new();
                if sql.contains("${") {
                    notes.push(
                        "holds `${…}`, a Flyway placeholder: retort does not substitute placeholders"
                            .into(),
                    );
                }
                folder.migrations.push(SourceMigration {
                    version: parsed?,
                    message: description(desc),
                    up: sql,
                    down: None,
                    transactional: true,
                    files: vec![path.to_path_buf()],
                    notes,
                });
            }
            // Undo files sort before versioned ones (`U` < `V`): kept until their migration is read.
            'U' => folder.undo.push((parsed?, path.to_path_buf(), read_text(path)?)),
            'B' => folder.skipped.push((
                path.to_path_buf(),
                "baseline migrations (`B`) are not imported: the versioned migrations they stand for are"
                    .into(),
            )),
            _ => folder.skipped.push((
                path.to_path_buf(),
                "not a Flyway migration name (`V<version>__<description>.sql`)".into(),
            )),
        }
        Ok(())
    }

    fn finish(&self, folder: &mut SourceFolder) -> Result<()> {
        for (version, path, sql) in std::mem::take(&mut folder.undo) {
            let Some(m) = folder.migrations.iter_mut().find(|m| m.version == version) else {
                return Err(bad_source(
                    &path,
                    format!(
                        "an undo migration for version {version}, which no `V{version}__` file has"
                    ),
                ));
            };
            if m.down.is_some() {
                return Err(bad_source(
                    &path,
                    format!("a second undo migration for version {version}"),
                ));
            }
            m.down = Some(sql);
            m.files.push(path);
        }
        Ok(())
    }
}

/// `1`, `1.2`, `1_2_10`, `2024.01.05.1200`. Trailing zero parts do not count (`1.0` is `1`),
/// as Flyway compares versions.
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    let mut parts = text
        .split(['.', '_'])
        .map(|part| Version::parse_number(part).map(|v| v.0[0]))
        .collect::<Option<Vec<u64>>>()?;
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(Version(parts))
}

/// `V1__x.sql.conf`: Flyway's per-script settings; `executeInTransaction=false` is the one
/// retort maps.
fn read_conf(path: &Path, migration: &str, folder: &mut SourceFolder) -> Result<()> {
    let text = read_text(path)?;
    for line in text.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(m) = folder
            .migrations
            .iter_mut()
            .find(|m| m.files[0].file_name().is_some_and(|n| n == migration))
        else {
            return Ok(());
        };
        match (key.trim(), value.trim()) {
            ("executeInTransaction", "false") => m.transactional = false,
            ("executeInTransaction", _) => {}
            (other, _) => m.notes.push(format!(
                "`{other}` in its .conf file has no retort equivalent; ignored"
            )),
        }
    }
    Ok(())
}
